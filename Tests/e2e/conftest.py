"""Starts a real `karna serve` for the end-to-end suite, on SQLite and (when
KARNA_E2E_POSTGRES_URL names a server) on PostgreSQL."""
import os
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KARNA = os.environ.get("KARNA_BIN", os.path.join(ROOT, ".build", "debug", "karna"))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared"))


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


class Server:
    def __init__(self, backend, folder):
        self.backend = backend
        self.folder = folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/fhir"
        self.database_url = database_url(backend, folder)
        self.log = open(os.path.join(folder, "server.log"), "w")
        self.process = subprocess.Popen(
            [KARNA, "serve", "--port", str(self.port), "--database-url", self.database_url],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=folder)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(self.base + "/metadata", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("karna serve did not answer within 60 s; see " + self.log.name)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="module", params=backends())
def server(request):
    if not os.path.exists(KARNA):
        pytest.fail(f"{KARNA} is missing: run `swift build` first (or set KARNA_BIN)")
    with tempfile.TemporaryDirectory() as folder:
        instance = Server(request.param, folder)
        yield instance
        instance.stop()
