"""Starts a real `karna serve` for the end-to-end suite, on SQLite and (when
KARNA_E2E_POSTGRES_URL names a server) on PostgreSQL."""
import datetime
import json
import os
import socket
import subprocess
import tempfile
import time
import uuid
import zoneinfo

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KARNA = os.environ.get("KARNA_BIN", os.path.join(ROOT, ".build", "debug", "karna"))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared"))


def born_and_sex(personnummer):
    """The birth date and administrative sex a personnummer or samordningsnummer states: the server refuses a
    Patient whose birthDate or gender disagrees with its number."""
    digits = "".join(c for c in personnummer if c.isdigit())
    day = int(digits[6:8])
    day = day - 60 if day > 60 else day
    return f"{digits[0:4]}-{digits[4:6]}-{day:02d}", "male" if int(digits[10]) % 2 == 1 else "female"


def swedish_today():
    """Today where Kärna's users are: the server's days (the book, vårdgaranti) are Swedish local time, not the machine's (UTC here)."""
    return datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Stockholm")).date()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def backends():
    found = ["sqlite"]
    if os.environ.get("KARNA_E2E_POSTGRES_URL"):
        found.append("postgresql")
    return found


def database_url(backend, folder):
    if backend == "sqlite":
        return "sqlite:" + os.path.join(folder, "karna.sqlite")
    # A fresh database per run on the throwaway server .ci/run started.
    admin = os.environ["KARNA_E2E_POSTGRES_URL"]
    name = "e2e_" + uuid.uuid4().hex[:10]
    subprocess.run(["psql", admin, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return admin.rsplit("/", 1)[0] + "/" + name


CLIENT_ID = "karna-e2e-system"
CLIENT_SECRET = "e2e-" + uuid.uuid4().hex


class Server:
    def __init__(self, backend, folder, extra_env=None, url=None):
        self.backend = backend
        self.folder = folder
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.base = f"{self.root}/fhir"
        self.database_url = url or database_url(backend, folder)
        self.log = open(os.path.join(folder, "server.log"), "w")
        self.env = dict(os.environ, KARNA_BOOTSTRAP_CLIENT_ID=CLIENT_ID, KARNA_BOOTSTRAP_CLIENT_SECRET=CLIENT_SECRET,
                        KARNA_PASSWORD_COST="10", KARNA_OUTBOX_SECONDS="1",
                        # The Synthea read-back reads 41,542 resources as fast as four threads can: far past any one
                        # client's API limit. The limits themselves are tested in the Swift suite (LiveServerTests).
                        KARNA_RATE_API="10000000", **(extra_env or {}))
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            [KARNA, "serve", "--port", str(self.port), "--database-url", self.database_url],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.folder, env=self.env)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                # It stopped at start (a setting it refuses): say why, from its log.
                self.log.flush()
                with open(self.log.name) as written:
                    said = written.read()[-2000:]
                self.log.close()
                raise RuntimeError(f"karna serve stopped at start (exit {self.process.returncode}): {said}")
            try:
                if requests.get(self.base + "/metadata", timeout=2).status_code == 200:
                    self.token = self.system_token()
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("karna serve did not answer within 60 s; see " + self.log.name)

    def crash_and_restart(self):
        """kill -9, as a power cut would, then start again on the same database and ports."""
        self.process.kill()
        self.process.wait(timeout=20)
        self.start()

    def system_token(self, scope="system/*.cruds"):
        """A bearer token by the client-credentials grant, as an integration gets one."""
        response = requests.post(self.root + "/auth/token", data={"grant_type": "client_credentials", "scope": scope},
                                 auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def credentials(self):
        """The demo users the first start created (written to the server's data folder)."""
        with open(os.path.join(self.folder, "data", "demo-credentials.json")) as handle:
            return json.load(handle)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`-n 2 --dist loadgroup`, as .ci/run runs the suite) a module's tests on one backend run on
    one worker, so that backend's server starts once a module (some 25 s on the debug build), not once a test.

    First among the hooks: xdist's worker names each item's group from its marks in its own hook, and one that ran
    before this one saw no group — every test was then scheduled alone, and the servers started three times over."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("server", callspec.params.get("nll", callspec.params.get("lab", callspec.params.get("imaging")))) if callspec is not None else None
        if backend is not None:
            item.add_marker(pytest.mark.xdist_group(f"{backend}-{item.module.__name__}"))


@pytest.fixture(scope="module", params=backends())
def server(request):
    if not os.path.exists(KARNA):
        pytest.fail(f"{KARNA} is missing: run `swift build` first (or set KARNA_BIN)")
    with tempfile.TemporaryDirectory() as folder:
        instance = Server(request.param, folder)
        # The FHIR client libraries below speak through `requests`: every request to this server's
        # FHIR base carries the system client's bearer token unless the test sets its own Authorization.
        original = requests.Session.request

        def with_token(session, method, url, *args, **kwargs):
            if str(url).startswith(instance.base):
                headers = dict(kwargs.pop("headers", None) or {})
                if not any(name.lower() == "authorization" for name in headers):
                    headers["Authorization"] = "Bearer " + instance.token
                kwargs["headers"] = headers
            return original(session, method, url, *args, **kwargs)

        requests.Session.request = with_token
        try:
            yield instance
        finally:
            requests.Session.request = original
            instance.stop()
