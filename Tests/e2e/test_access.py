"""Login, tokens and the Patientdatalag rules end to end: a browser-like client logs in
through the real login form (password + TOTP, then the assignment), gets SMART tokens with
PKCE, is stopped without a care relationship, registers one, uses nödåtkomst for another
provider's record, and the logggranskare finds it. `karna audit verify` catches tampering."""
import base64
import hashlib
import hmac
import html.parser
import os
import secrets
import struct
import subprocess
import tempfile
import time
import urllib.parse

import pytest
import requests

from conftest import KARNA, database_url

APP = "karna-demo-app"
REDIRECT = "http://127.0.0.1/callback"
_last_step = {}


def totp(secret, account):
    """RFC 6238 code for the next step this account has not used (a code works once).

    The server accepts one step either side of now, so a later step waits until it is in reach."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    step = max(int(time.time() // 30), _last_step.get(account, 0) + 1)
    while step > int(time.time() // 30) + 1:
        time.sleep(1)
    _last_step[account] = step
    mac = hmac.new(key, struct.pack(">Q", step), "sha1").digest()
    offset = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


class Form(html.parser.HTMLParser):
    """The fields of the page's form, as a browser would submit them."""

    def __init__(self, text):
        super().__init__()
        self.fields, self.radios, self.action = {}, [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")
        if tag == "input" and attrs.get("type") == "radio":
            self.radios.append(attrs["value"])


def login(server, username, unit=None, scope="openid fhirUser user/*.cruds offline_access"):
    """The SMART authorization-code flow with PKCE through the login form; returns the token response."""
    user = next(u for u in server.credentials()["users"] if u["username"] == username)
    browser = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    page = browser.get(server.root + "/auth/authorize", params={
        "response_type": "code", "client_id": APP, "redirect_uri": REDIRECT, "scope": scope, "state": "s1",
        "aud": server.base, "code_challenge": challenge, "code_challenge_method": "S256"})
    assert page.status_code == 200 and 'lang="sv"' in page.text
    form = Form(page.text)
    fields = dict(form.fields, username=username, password=user["password"], code=totp(user["totpSecret"], (server.root, username)))
    answer = browser.post(form.action, data=fields, allow_redirects=False)
    if answer.status_code == 200 and "Välj medarbetaruppdrag" in answer.text:
        choice = Form(answer.text)
        chosen = next((value for value in choice.radios if unit and unit in value), choice.radios[0])
        answer = browser.post(choice.action, data=dict(choice.fields, assignment=chosen), allow_redirects=False)
    assert answer.status_code == 302, answer.text[:500]
    assert "karna_session" in answer.headers.get("Set-Cookie", "") and "HttpOnly" in answer.headers["Set-Cookie"]
    query = urllib.parse.parse_qs(urllib.parse.urlparse(answer.headers["Location"]).query)
    assert query["state"] == ["s1"]
    token = requests.post(server.root + "/auth/token", data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT, "client_id": APP,
        "code_verifier": verifier})
    assert token.status_code == 200, token.text
    # A code works once.
    again = requests.post(server.root + "/auth/token", data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT, "client_id": APP, "code_verifier": verifier})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    return token.json()


def bearer(token):
    return {"Authorization": "Bearer " + token["access_token"], "Content-Type": "application/fhir+json"}


def test_unauthenticated_requests_are_refused(server):
    response = requests.get(server.base + "/Patient", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"
    smart = requests.get(server.base + "/.well-known/smart-configuration").json()
    assert "S256" in smart["code_challenge_methods_supported"] and smart["token_endpoint"].endswith("/auth/token")


def test_login_form_refuses_a_wrong_code_and_keeps_the_username(server):
    user = next(u for u in server.credentials()["users"] if u["username"] == "kassa")
    browser = requests.Session()
    page = browser.get(server.root + "/auth/authorize", params={
        "response_type": "code", "client_id": APP, "redirect_uri": REDIRECT, "scope": "openid", "state": "x",
        "code_challenge": "abc" * 15, "code_challenge_method": "S256"})
    form = Form(page.text)
    answer = browser.post(form.action, data=dict(form.fields, username="kassa", password=user["password"], code="000000"))
    assert answer.status_code == 401
    assert "Fel engångskod" in answer.text and 'value="kassa"' in answer.text
    # A form without its CSRF cookie is refused.
    forged = requests.post(form.action, data=dict(form.fields, username="kassa", password=user["password"], code="000000"))
    assert forged.status_code == 403


def test_care_relationship_consent_and_emergency_access(server):
    system = {"Authorization": "Bearer " + server.token, "Content-Type": "application/fhir+json"}
    patient = requests.post(server.base + "/Patient", headers=system, json={
        "resourceType": "Patient", "name": [{"family": "Åkesson", "given": ["Britt"]}]}).json()
    pid = patient["id"]

    def observation(unit):
        return {"resourceType": "Observation", "status": "final", "code": {"text": "puls"},
                "meta": {"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": unit}]},
                "subject": {"reference": f"Patient/{pid}"}, "valueQuantity": {"value": 71, "unit": "/min"}}
    own = requests.post(server.base + "/Observation", headers=system, json=observation("vc-karnstad")).json()["id"]
    other = requests.post(server.base + "/Observation", headers=system, json=observation("privat-karnvard-vc")).json()["id"]

    doctor = login(server, "lakare", unit="uppdrag-1")
    assert doctor["scope"].startswith("openid") and "refresh_token" in doctor and "id_token" in doctor
    headers = bearer(doctor)
    denied = requests.get(f"{server.base}/Observation/{own}", headers=headers)
    assert denied.status_code == 403 and "vårdrelation" in denied.text
    # The patient's own registration is directory data: the doctor can find the patient.
    assert requests.get(f"{server.base}/Patient/{pid}", headers=headers).status_code == 200
    assert requests.get(f"{server.base}/Observation", params={"subject": f"Patient/{pid}"}, headers=headers).json().get("entry") is None

    registered = requests.post(f"{server.base}/Patient/{pid}/$care-relationship", headers=headers, json={
        "resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": "Telefonkontakt, patienten ringer om provsvar"}]})
    assert registered.status_code == 200, registered.text
    assert requests.get(f"{server.base}/Observation/{own}", headers=headers).status_code == 200
    found = requests.get(f"{server.base}/Observation", params={"subject": f"Patient/{pid}", "_total": "accurate"}, headers=headers).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [own] and found["total"] == 1

    # Another provider's record: refused, then opened by nödåtkomst with a mandatory reason.
    assert requests.get(f"{server.base}/Observation/{other}", headers=headers).status_code == 403
    no_reason = requests.post(f"{server.base}/Patient/{pid}/$emergency-access", headers=headers,
                              json={"resourceType": "Parameters", "parameter": []})
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    opened = requests.post(f"{server.base}/Patient/{pid}/$emergency-access", headers=headers, json={
        "resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": "Medvetslös, behöver tidigare provsvar"}]})
    assert opened.status_code == 200
    assert requests.get(f"{server.base}/Observation/{other}", headers=headers).status_code == 200

    # The logggranskare finds the emergency access in the review queue and decides.
    reviewer = bearer(login(server, "logggranskare"))
    queue = requests.get(server.base + "/AuditEvent/$review-queue", params={"flag": "emergency-access"}, headers=reviewer).json()
    mine = [e["resource"] for e in queue.get("entry", []) if e["resource"]["agent"][0]["who"]["reference"] == "Practitioner/demo-lakare"]
    assert mine, queue
    # The queue pages: one record a page, the next link goes on after it (oldest first), no record twice.
    first = requests.get(server.base + "/AuditEvent/$review-queue", params={"_count": "1"}, headers=reviewer).json()
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = requests.get(following, headers=reviewer).json()
    assert len(first["entry"]) == 1 and len(second["entry"]) == 1
    assert int(second["entry"][0]["resource"]["id"]) > int(first["entry"][0]["resource"]["id"])
    bad_cursor = requests.get(server.base + "/AuditEvent/$review-queue", params={"_cursor": "x"}, headers=reviewer)
    assert bad_cursor.status_code == 400 and "_cursor" in bad_cursor.text
    decided = requests.post(f"{server.base}/AuditEvent/{mine[0]['id']}/$review", headers=reviewer, json={
        "resourceType": "Parameters", "parameter": [{"name": "verdict", "valueCode": "justified"}, {"name": "comment", "valueString": "Akutfall"}]})
    assert decided.status_code == 200
    log = requests.get(server.base + "/AuditEvent", params={"patient": pid}, headers=reviewer).json()
    assert any(e["resource"]["outcome"] == "4" for e in log["entry"]), "the refused read is in the log"
    # The doctor may not read the log.
    assert requests.get(server.base + "/AuditEvent", params={"patient": pid}, headers=headers).status_code == 403

    # Refresh rotates; revocation ends the access token.
    refreshed = requests.post(server.root + "/auth/token", data={"grant_type": "refresh_token", "refresh_token": doctor["refresh_token"],
                                                                 "client_id": APP})
    assert refreshed.status_code == 200
    reused = requests.post(server.root + "/auth/token", data={"grant_type": "refresh_token", "refresh_token": doctor["refresh_token"],
                                                              "client_id": APP})
    assert reused.status_code == 400
    fresh = refreshed.json()
    assert requests.post(server.root + "/auth/revoke", data={"token": fresh["access_token"]}).status_code == 200
    assert requests.get(f"{server.base}/Patient/{pid}", headers=bearer(fresh)).status_code == 401


def test_client_credentials_refuse_a_wrong_secret(server):
    wrong = requests.post(server.root + "/auth/token", data={"grant_type": "client_credentials", "scope": "system/*.rs"},
                          auth=("karna-e2e-system", "wrong-secret-0000000000"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


@pytest.mark.parametrize("backend", ["sqlite"] + (["postgresql"] if os.environ.get("KARNA_E2E_POSTGRES_URL") else []))
def test_audit_verify_catches_a_record_changed_in_the_database(backend):
    with tempfile.TemporaryDirectory() as folder:
        url = database_url(backend, folder)
        env = dict(os.environ, KARNA_PASSWORD_COST="10")
        seeded = subprocess.run([KARNA, "seed", "--patients", "3", "--database-url", url], cwd=folder, env=env, capture_output=True, text=True)
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        intact = subprocess.run([KARNA, "audit", "verify", "--database-url", url], cwd=folder, capture_output=True, text=True)
        assert intact.returncode == 0 and "intact" in intact.stdout, intact.stdout + intact.stderr
        tamper = ["DROP TRIGGER audit_log_no_update" + ("" if backend == "sqlite" else " ON audit_log"),
                  "UPDATE audit_log SET actor = 'Practitioner/someone-else' WHERE seq = 2"]
        if backend == "sqlite":
            import sqlite3
            with sqlite3.connect(url[len("sqlite:"):]) as db:
                for statement in tamper:
                    db.execute(statement)
        else:
            tamper[0] = "DROP TRIGGER audit_log_append_only ON audit_log"
            for statement in tamper:
                subprocess.run(["psql", url, "-q", "-c", statement], check=True)
        broken = subprocess.run([KARNA, "audit", "verify", "--database-url", url], cwd=folder, capture_output=True, text=True)
        assert broken.returncode == 1
        assert "audit record 2" in broken.stdout, broken.stdout
