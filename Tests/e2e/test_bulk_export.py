"""Bulk Data $export against `karna serve`, by a backend service as the Bulk Data Access IG (v2) has it: registered
with its public key (`karna client add`), it takes a token by the client-credentials grant with a signed JWT assertion
(SMART Backend Services, system/*.rs), kicks off an export with `Prefer: respond-async`, polls the status URL (too soon
is 429 with Retry-After, which it then honours), reads the manifest and downloads each NDJSON file with its token; every
line validates as a FHIR resource (fhir.resources). `_since` gives only what changed after it, and what was deleted since as
the manifest's `deleted` Bundles; DELETE cancels a job."""
import base64
import datetime
import json
import os
import subprocess
import time
import uuid

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fhir.resources.R4B import get_fhir_model_class

from conftest import KARNA, backends  # noqa: F401

CLIENT = "dataplattform"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class BackendService:
    """The region's data platform: an EC P-256 key pair, its public half registered with the server."""

    def __init__(self, server):
        self.server = server
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "kid": "dp-1", "use": "sig", "alg": "ES256",
               "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big"))}
        path = os.path.join(server.folder, "dataplattform-jwks.json")
        with open(path, "w") as handle:
            json.dump({"keys": [jwk]}, handle)
        added = subprocess.run([KARNA, "client", "add", "--database-url", server.database_url, "--id", CLIENT, "--name", "Regionens dataplattform",
                                "--jwks", path, "--scope", "system/*.rs", "--replace"], cwd=server.folder, env=server.env, capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stdout + added.stderr

    def assertion(self):
        now = int(time.time())
        header = b64url(json.dumps({"alg": "ES256", "kid": "dp-1", "typ": "JWT"}).encode())
        claims = b64url(json.dumps({"iss": CLIENT, "sub": CLIENT, "aud": self.server.root + "/auth/token", "jti": str(uuid.uuid4()),
                                    "iat": now, "exp": now + 300}).encode())
        der = self.key.sign(f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{header}.{claims}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def token(self):
        response = requests.post(self.server.root + "/auth/token", data={
            "grant_type": "client_credentials", "scope": "system/*.rs",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": self.assertion()}, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["scope"] == "system/*.rs"
        return response.json()["access_token"]


def kick_off(server, token, path):
    response = requests.get(server.base + path, headers={"Authorization": "Bearer " + token, "Accept": "application/fhir+json",
                                                          "Prefer": "respond-async"}, timeout=10)
    assert response.status_code == 202, response.text
    return response.headers["Content-Location"]


def wait_for_manifest(token, status_url, expect_429=False):
    """Polls as the IG says: a 202 carries X-Progress, a 429 says how long to wait; a client honouring Retry-After finishes."""
    headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
    first = requests.get(status_url, headers=headers, timeout=10)
    assert first.status_code in (200, 202), first.text
    if expect_429:
        again = requests.get(status_url, headers=headers, timeout=10)
        assert again.status_code == 429, again.text
        assert int(again.headers["Retry-After"]) > 0
        assert again.json()["issue"][0]["code"] == "throttled"
    response = first
    deadline = time.time() + 120
    while response.status_code != 200:
        assert time.time() < deadline, "the export did not finish in two minutes"
        time.sleep(int(response.headers.get("Retry-After", "1")))
        response = requests.get(status_url, headers=headers, timeout=10)
        assert response.status_code in (200, 202), response.text
        if response.status_code == 202:
            assert "patients exported" in response.headers["X-Progress"]
    assert "Expires" in response.headers
    return response.json()


def download(token, manifest):
    """Each output file, line by line, validated as FHIR: type → ids."""
    found = {}
    for output in manifest["output"]:
        response = requests.get(output["url"], headers={"Authorization": "Bearer " + token, "Accept": "application/fhir+ndjson"}, timeout=60)
        assert response.status_code == 200 and response.headers["Content-Type"] == "application/fhir+ndjson"
        lines = response.text.splitlines()
        assert len(lines) == output["count"]
        for line in lines:
            resource = json.loads(line)
            assert resource["resourceType"] == output["type"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            found.setdefault(output["type"], set()).add(resource["id"])
    # Without the token, nothing (requiresAccessToken).
    if manifest["output"]:
        assert requests.get(manifest["output"][0]["url"], headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    return found


def create(server, resource):
    response = requests.post(f"{server.base}/{resource['resourceType']}", json=resource,
                             headers={"Authorization": "Bearer " + server.token, "Content-Type": "application/fhir+json"}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_data_platform_exports_the_patients_with_a_signed_assertion_polls_and_downloads(server):
    service = BackendService(server)
    token = service.token()
    patient = create(server, {"resourceType": "Patient", "name": [{"family": "Bulkexport", "given": ["Petra"]}], "birthDate": "1961-04-01", "gender": "female"})
    observation = create(server, {"resourceType": "Observation", "status": "final", "code": {"text": "Puls"}, "subject": {"reference": f"Patient/{patient}"},
                                  "valueQuantity": {"value": 72, "unit": "/min"}})

    status_url = kick_off(server, token, "/Patient/$export?_type=Patient,Observation")
    manifest = wait_for_manifest(token, status_url, expect_429=True)
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].startswith(server.base + "/Patient/$export")
    assert {o["type"] for o in manifest["output"]} <= {"Patient", "Observation"}
    files = download(token, manifest)
    assert patient in files["Patient"] and observation in files["Observation"]

    # _since: only what changed after the first export began.
    since = manifest["transactionTime"]
    time.sleep(0.05)
    later = create(server, {"resourceType": "Observation", "status": "final", "code": {"text": "Blodtryck"}, "subject": {"reference": f"Patient/{patient}"}})
    assert requests.delete(f"{server.base}/Observation/{observation}", headers={"Authorization": "Bearer " + server.token}, timeout=10).status_code == 200
    since_manifest = wait_for_manifest(token, kick_off(server, token, f"/Patient/$export?_type=Patient,Observation&_since={requests.utils.quote(since)}"))
    changed = download(token, since_manifest)
    assert changed.get("Observation") == {later}
    assert patient not in changed.get("Patient", set())
    # The deletion since, as the IG's `deleted`: transaction Bundles of DELETE entries.
    [deleted] = since_manifest["deleted"]
    bundles = [json.loads(line) for line in requests.get(deleted["url"], headers={"Authorization": "Bearer " + token}, timeout=10).text.splitlines()]
    assert [e["request"] for b in bundles for e in b["entry"]] == [{"method": "DELETE", "url": f"Observation/{observation}"}]
    get_fhir_model_class("Bundle").model_validate(bundles[0])

    # Cancel: DELETE answers 202 and the job is gone.
    cancelled = kick_off(server, token, "/$export")
    assert requests.delete(cancelled, headers={"Authorization": "Bearer " + token}, timeout=10).status_code == 202
    time.sleep(2)
    assert requests.get(cancelled, headers={"Authorization": "Bearer " + token}, timeout=10).status_code == 404
    print(f"exported {sum(o['count'] for o in manifest['output'])} resources in {len(manifest['output'])} files on {server.backend}")


def test_a_user_or_a_client_without_the_key_gets_no_export(server):
    # A token of the system client with a secret works for $export too, but only a system client: a forged assertion is refused.
    service = BackendService(server)
    forged = service.assertion()[:-4] + "AAAA"
    refused = requests.post(server.root + "/auth/token", data={"grant_type": "client_credentials", "scope": "system/*.rs",
                                                               "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                                               "client_assertion": forged}, timeout=10)
    assert refused.status_code in (400, 401), refused.text
    without = requests.get(server.base + "/Patient/$export", headers={"Prefer": "respond-async", "Authorization": "Bearer none"}, timeout=10)
    assert without.status_code == 401


def test_the_data_platform_gets_the_omop_export_as_one_duckdb_file(server):
    """`$omop-export?format=duckdb` as a job: polled like `$export`, one output — the DuckDB database with the official DDL
    and primary keys — downloaded with the token and opened by DuckDB (PyPI) as a researcher would."""
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (pip install -r Tests/e2e/requirements.txt)")
    service = BackendService(server)
    token = service.token()
    for family in ["Omopsson", "Duckdal"]:
        create(server, {"resourceType": "Patient", "name": [{"family": family, "given": ["Ebba"]}], "birthDate": "1972-09-30", "gender": "female"})
    patients = requests.get(server.base + "/Patient?_summary=count", headers={"Authorization": "Bearer " + server.token}, timeout=10).json()["total"]
    manifest = wait_for_manifest(token, kick_off(server, token, "/$omop-export?format=duckdb&pseudonymise=true"))
    [output] = manifest["output"]
    assert output["type"] == "duckdb" and output["url"].endswith("/omop.duckdb") and output["count"] == patients
    response = requests.get(output["url"], headers={"Authorization": "Bearer " + token}, timeout=60)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/octet-stream"
    path = os.path.join(server.folder, "downloaded-omop.duckdb")
    with open(path, "wb") as handle:
        handle.write(response.content)
    database = duckdb.connect(path, read_only=True)
    assert database.execute("SELECT count(*) FROM person").fetchone()[0] == patients
    assert database.execute("SELECT count(*) FROM person WHERE person_source_value IS NOT NULL").fetchone()[0] == 0
    keys = {row[0] for row in database.execute("SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'").fetchall()}
    assert {"person", "observation_period", "visit_occurrence", "measurement"} <= keys
    database.close()
    assert requests.get(output["url"], headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
