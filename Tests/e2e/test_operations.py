"""Issue 29: running Kärna for a region, tried as an operator would. Kärna behind Debian's PgBouncer in
transaction mode (the refusal without the pooler setting names it; with it, migrate, seed and serve work);
TLS to PostgreSQL with verify-full against a CA, and a wrong CA refused; a production start on a pipe whose
banner arrives while it runs (line-buffered), with no demo data and JSON log lines."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

from conftest import KARNA, ROOT, Server, free_port

ADMIN_URL = os.environ.get("KARNA_E2E_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not ADMIN_URL, reason="KARNA_E2E_POSTGRES_URL is not set: the PostgreSQL operations checks are skipped")


def karna(*arguments, env=None, timeout=300):
    return subprocess.run([KARNA, *arguments], capture_output=True, text=True, timeout=timeout, env=dict(os.environ, **(env or {})))


def fresh_database():
    name = "ops_" + uuid.uuid4().hex[:10]
    subprocess.run(["psql", ADMIN_URL, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@needs_postgres
@pytest.mark.skipif(shutil.which("pgbouncer") is None and not os.path.exists("/usr/sbin/pgbouncer"), reason="pgbouncer is not installed")
def test_behind_pgbouncer_in_transaction_mode():
    direct = fresh_database()
    started = subprocess.run([os.path.join(ROOT, "scripts", "start-pgbouncer.sh"), direct, "8"], capture_output=True, text=True, check=True)
    pooled, folder = started.stdout.split()
    try:
        # Without the setting PgBouncer refuses the planner's startup parameter: the message says so, and what to set.
        refused = karna("migrate", "--database-url", pooled, timeout=60)
        assert refused.returncode != 0
        assert "unsupported startup parameter: jit" in refused.stderr and "database-pooler" in refused.stderr, refused.stderr
        settings = {"KARNA_DATABASE_POOLER": "pgbouncer"}
        assert karna("migrate", "--database-url", pooled, env=settings, timeout=120).returncode == 0
        with tempfile.TemporaryDirectory() as data:
            seeded = karna("seed", "--patients", "20", "--database-url", pooled, env=dict(settings, KARNA_DEMO_CREDENTIALS=os.path.join(data, "demo.json")))
            assert seeded.returncode == 0, seeded.stderr[-2000:]
            server = Server("postgresql", data, extra_env=settings, url=pooled)
            try:
                headers = {"Authorization": "Bearer " + server.token, "Content-Type": "application/fhir+json"}
                created = requests.post(server.base + "/Patient", headers=headers, timeout=30, data=json.dumps(
                    {"resourceType": "Patient", "name": [{"family": "Poolsson", "given": ["Berit"]}], "gender": "female", "birthDate": "1970-01-01"}))
                assert created.status_code == 201, created.text
                identifier = created.json()["id"]
                # Many short transactions through few server connections: each answer is the one asked for.
                for _ in range(30):
                    read = requests.get(f"{server.base}/Patient/{identifier}", headers=headers, timeout=30)
                    assert read.status_code == 200 and read.json()["name"][0]["family"] == "Poolsson"
                found = requests.get(server.base + "/Patient", params={"family": "Poolsson"}, headers=headers, timeout=30).json()
                assert found["total"] == 1 if "total" in found else len(found.get("entry", [])) == 1
                ready = requests.get(server.root + "/health/ready", timeout=10)
                assert ready.status_code == 200 and "database: ok" in ready.text, ready.text
                assert "karna_db_pool_wait" in requests.get(server.root + "/metrics", timeout=10).text
            finally:
                server.stop()
    finally:
        subprocess.run([os.path.join(ROOT, "scripts", "start-pgbouncer.sh"), "--stop", folder], check=False)


def certificate_authority(folder, host="127.0.0.1"):
    """A CA and a server certificate for `host`, as a region's PKI would issue them (made with `cryptography`)."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Karna test CA")).issuer_name(name("Karna test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(name(host)).issuer_name(ca.subject).public_key(key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = {kind: os.path.join(folder, kind + ".pem") for kind in ("ca", "server", "key")}
    with open(paths["ca"], "wb") as handle:
        handle.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["server"], "wb") as handle:
        handle.write(server.public_bytes(serialization.Encoding.PEM))
    with open(paths["key"], "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(paths["key"], 0o600)
    return paths


@needs_postgres
def test_tls_to_postgresql_verify_full():
    folder = tempfile.mkdtemp(prefix="karna-tls-")
    os.chmod(folder, 0o755)
    paths = certificate_authority(folder)
    if os.getuid() == 0:
        shutil.chown(paths["key"], "postgres", "postgres")
    options = f"-c ssl=on -c ssl_cert_file={paths['server']} -c ssl_key_file={paths['key']}"
    started = subprocess.run([os.path.join(ROOT, "scripts", "start-throwaway-postgres.sh")], capture_output=True, text=True, check=True,
                             env=dict(os.environ, KARNA_PG_OPTIONS=options))
    url, pg_folder = started.stdout.split()
    try:
        verified = f"{url}?sslmode=verify-full&sslrootcert={paths['ca']}"
        done = karna("migrate", "--database-url", verified, timeout=120)
        assert done.returncode == 0, done.stderr
        # A CA that did not sign the server's certificate: refused, saying it is the certificate.
        other = certificate_authority(tempfile.mkdtemp(prefix="karna-tls-other-"))
        refused = karna("migrate", "--database-url", f"{url}?sslmode=verify-full&sslrootcert={other['ca']}", timeout=60)
        assert refused.returncode != 0 and "cannot connect to PostgreSQL" in refused.stderr, refused.stderr
        assert "certificate" in refused.stderr.lower() or "handshake" in refused.stderr.lower(), refused.stderr
        missing = karna("migrate", "--database-url", f"{url}?sslmode=verify-full", timeout=60)
        assert missing.returncode != 0 and "sslrootcert" in missing.stderr, missing.stderr
        # The server's connections while it runs are encrypted (psql itself connects without TLS here).
        with tempfile.TemporaryDirectory() as data:
            server = Server("postgresql", data, url=verified)
            try:
                requests.get(server.base + "/Patient", headers={"Authorization": "Bearer " + server.token}, timeout=30)
                plain = url + "?sslmode=disable"
                count = subprocess.run(["psql", plain, "-At", "-c", "SELECT count(*) FROM pg_stat_ssl WHERE ssl"], capture_output=True, text=True, check=True)
                assert int(count.stdout.strip()) >= 1
            finally:
                server.stop()
    finally:
        subprocess.run([os.path.join(ROOT, "scripts", "start-throwaway-postgres.sh"), "--stop", pg_folder], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def test_production_start_on_a_pipe():
    with tempfile.TemporaryDirectory() as data:
        env = dict(os.environ, KARNA_PRODUCTION="on", KARNA_LOG_FORMAT="json", KARNA_DEMO_CREDENTIALS=os.path.join(data, "demo.json"))
        process = subprocess.Popen([KARNA, "serve", "--port", str(free_port()),
                                    "--database-url", "sqlite:" + os.path.join(data, "k.sqlite")],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=data)
        lines = []
        try:
            deadline = time.time() + 60
            # The banner and the log reach the pipe while the server runs, a line at a time.
            while time.time() < deadline and not any("Server started" in line for line in lines):
                line = process.stdout.readline()
                if not line:
                    break
                lines.append(line)
            assert process.poll() is None, "".join(lines)
        finally:
            process.terminate()
            process.wait(timeout=20)
        text = "".join(lines)
        assert any(line.startswith("Kärna ") and "production" in line for line in lines), text
        assert "No accounts yet" in text and "Demo logins" not in text, text
        logged = [json.loads(line) for line in lines if line.startswith("{")]
        assert logged and all("time" in entry and "level" in entry for entry in logged), text
        assert not os.path.exists(os.path.join(data, "demo.json")), "a production start wrote demo credentials"
