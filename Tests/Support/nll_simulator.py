#!/usr/bin/env python3
"""NLL-SIMULATOR — a test component, NOT E-hälsomyndighetens Nationella läkemedelslistan.

A small stand-in for NLL's FHIR R4 REST API, so that Kärna's real NLL client can be exercised over HTTP
where NLL cannot be reached: MedicationRequest (förskrivning, the NLLMedicationRequest profile's shape as
Kärna sends it), MedicationDispense (uttag), Basic (medlistinfo, spärr). It checks the headers NLL
requires and answers as NLL documents (OperationOutcome), keeps versions (If-Match conflicts), carries out
a call once per x-request-id, and takes injected faults. Everything under /_simulator/ exists only here —
among it /_simulator/idp/token, a stand-in for the region's identity provider's RFC 8693 token exchange (the
user's token for one issued for NLL), so that Kärna's exchange client is exercised over HTTP too.

    python3 Tests/Support/nll_simulator.py --port 8091
"""
import argparse, base64, hashlib, json, os, sys, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

ACCESS_TYPES = {"EGNA", "SAMTYCKE", "BARN", "DOSSAMTYCKE", "FORMODAT_SAMTYCKE", "NODATKOMST"}
PURPOSES = {"VARD", "EXPEDIERING", "UPPFOLJNING"}
BASE = "http://electronichealth.se/fhir/StructureDefinition/"
NPL = {"http://electronichealth.se/fhir/NamingSystem/nplid", "http://electronichealth.se/fhir/NamingSystem/nplpackid"}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.requests = {}       # id -> resource (latest version)
        self.owner = {}          # id -> care provider that registered it (x-org-info)
        self.locked = set()      # ids under the patient's spärr
        self.dispenses = []
        self.special = {}        # patient -> särskilda läkemedel last 24 months
        self.seen = {}           # x-request-id -> (status, body, headers)
        self.calls = []
        self.fault = {"mode": "none", "delay": 0.0}
        self.refused_prescribers = set()
        self.exchanges = []      # the token exchanges the identity-provider stand-in answered
        self.idp = {"client": "karna", "secret": "idp-hemlighet", "refuse": False, "expires_in": 300}


STATE = State()


def outcome(code, text):
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}


def patient_of(resource):
    subject = resource.get("subject", {})
    if "identifier" in subject:
        return subject["identifier"].get("value")
    if subject.get("reference", "").startswith("#"):
        for c in resource.get("contained", []):
            if c.get("resourceType") == "Patient":
                return "contained:" + c.get("id", "")
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=None, headers=None):
        # What was answered is kept before it is written: a caller that gave up (a closed connection) does not
        # change what NLL did.
        self.last = (status, body, headers or {})
        data = json.dumps(body).encode() if body is not None else b""
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        return self.last

    def body(self):
        return json.loads(self.raw) if self.raw else None

    # The simulator's own control surface (tests and demos only).
    def control(self, method, path, query):
        if path == "/_simulator/reset":
            with STATE.lock:
                STATE.reset()
            return self.answer(200, {"reset": True})
        if path == "/_simulator/idp/token":
            return self.token_exchange()
        if path == "/_simulator/idp":
            STATE.idp.update(self.body() or {})
            return self.answer(200, {"idp": STATE.idp, "exchanges": STATE.exchanges})
        if path == "/_simulator/calls":
            return self.answer(200, {"calls": STATE.calls})
        if path == "/_simulator/fault":
            STATE.fault = {"mode": "none", "delay": 0.0, **(self.body() or {})}
            return self.answer(200, STATE.fault)
        if path == "/_simulator/refuse-prescriber":
            STATE.refused_prescribers.add((self.body() or {}).get("code", ""))
            return self.answer(200, {"refused": sorted(STATE.refused_prescribers)})
        if path == "/_simulator/lock":
            STATE.locked.add((self.body() or {}).get("id", ""))
            return self.answer(200, {"locked": sorted(STATE.locked)})
        if path == "/_simulator/special":
            b = self.body() or {}
            STATE.special[b.get("patient")] = bool(b.get("value", True))
            return self.answer(200, b)
        if path == "/_simulator/prescription":
            # Another prescriber's prescription registered directly (as another system would).
            b = self.body() or {}
            return self.create(b, b.pop("_owner", "annan-vardgivare"))
        if path == "/_simulator/change":
            # Someone else changes a prescription: its version moves on.
            b = self.body() or {}
            with STATE.lock:
                r = STATE.requests.get(b.get("id"))
                if not r:
                    return self.answer(404, outcome("not-found", "no such prescription"))
                r["meta"]["versionId"] = str(int(r["meta"]["versionId"]) + 1)
                r.setdefault("note", []).append({"text": b.get("note", "ändrad av annan förskrivare")})
            return self.answer(200, r)
        if path == "/_simulator/dispense":
            b = self.body() or {}
            with STATE.lock:
                r = STATE.requests.get(b.get("prescription"))
                if not r:
                    return self.answer(404, outcome("not-found", "no such prescription"))
                d = {"resourceType": "MedicationDispense", "id": str(uuid.uuid4()), "status": "completed",
                     "subject": r.get("subject"), "authorizingPrescription": [{"reference": "MedicationRequest/" + r["id"]}],
                     "medicationCodeableConcept": r.get("medicationCodeableConcept"),
                     "quantity": {"value": b.get("quantity", 1), "unit": r.get("dispenseRequest", {}).get("quantity", {}).get("unit", "")},
                     "whenHandedOver": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                STATE.dispenses.append(d)
            return self.answer(201, d)
        return self.answer(404, outcome("not-found", "unknown simulator control " + path))

    def check_headers(self, method):
        h = {k.lower(): v for k, v in self.headers.items()}
        auth = h.get("authorization", "")
        if not auth.startswith("Bearer ") or len(auth) < 8:
            return 401, "authorization: a bearer token is required"
        for name in ("x-purpose", "x-request-id", "x-context-id", "x-org-info", "x-user-agent"):
            if not h.get(name):
                return 400, f"{name} is required"
        if h["x-purpose"] not in PURPOSES:
            return 400, f"x-purpose '{h['x-purpose']}' is not a purpose NLL knows"
        if method == "GET":
            if h.get("x-access") not in ACCESS_TYPES:
                return 400, "x-access is required for reads: one of " + ", ".join(sorted(ACCESS_TYPES))
        else:
            try:
                prov = json.loads(base64.b64decode(h.get("x-provenance", "")))
            except Exception:
                return 400, "x-provenance must be a base64-encoded JSON Provenance"
            roles = {a.get("type", {}).get("coding", [{}])[0].get("code") for a in prov.get("agent", [])}
            if prov.get("resourceType") != "Provenance" or not {"author", "enterer"} <= roles:
                return 400, "x-provenance must name the author and the enterer"
        return None

    def token_exchange(self):
        """RFC 8693 as the region's identity provider would answer it: client authentication (Basic), the grant
        type, a subject token and an audience; the token issued is derived from the subject, so a test can tell
        whose it is."""
        form = {k: v[0] for k, v in parse_qs(self.raw.decode("utf-8")).items()}
        expected = "Basic " + base64.b64encode(f"{STATE.idp['client']}:{STATE.idp['secret']}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self.answer(401, {"error": "invalid_client", "error_description": "unknown client or wrong secret"})
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange":
            return self.answer(400, {"error": "unsupported_grant_type"})
        if not form.get("subject_token") or form.get("subject_token_type") != "urn:ietf:params:oauth:token-type:access_token" or not form.get("audience"):
            return self.answer(400, {"error": "invalid_request", "error_description": "subject_token, its type and audience are required"})
        if STATE.idp.get("refuse"):
            return self.answer(400, {"error": "invalid_grant", "error_description": "the subject token has expired"})
        issued = "nll-" + hashlib.sha256(form["subject_token"].encode()).hexdigest()[:16]
        STATE.exchanges.append({"subject_token": form["subject_token"], "audience": form["audience"], "issued": issued})
        return self.answer(200, {"access_token": issued, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                                 "token_type": "Bearer", "expires_in": STATE.idp["expires_in"]})

    def handle_any(self, method):
        # The whole request is read first, whatever the answer: a body left unread would be taken as the
        # next request on the kept-alive connection.
        length = int(self.headers.get("Content-Length") or 0)
        self.raw = self.rfile.read(length) if length else b""
        url = urlparse(self.path)
        path, query = url.path, parse_qs(url.query)
        if path.startswith("/_simulator/"):
            return self.control(method, path, query)
        h = {k.lower(): v for k, v in self.headers.items()}
        call = {"method": method, "path": path, "headers": {k: v for k, v in h.items() if k.startswith("x-") or k in ("authorization", "if-match")}}
        # Whose prescription a write is about, so a test can count its own calls while the server's outbox sends
        # an earlier test's.
        if method in ("POST", "PUT") and self.raw:
            try:
                call["patient"] = patient_of(json.loads(self.raw))
            except (ValueError, AttributeError):
                pass
        STATE.calls.append(call)
        fault = STATE.fault
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
        if fault.get("mode") == "down":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault.get("mode") == "error500":
            return self.answer(500, outcome("exception", "NLL-simulator: injected internal error"))
        problem = self.check_headers(method)
        if problem:
            return self.answer(problem[0], outcome("security" if problem[0] == 401 else "required", problem[1]))
        request_id = h["x-request-id"]
        if method == "GET":
            return self.route(method, path, query, h)
        # A request id is carried out once: a repeat waits for the first (still in flight, perhaps after its
        # caller gave up) and gets the same answer. A first call that failed (5xx) leaves nothing: a retry is new.
        with STATE.lock:
            entry = STATE.seen.get(request_id)
            if entry is None:
                entry = STATE.seen[request_id] = threading.Event()
                first = True
            else:
                first = False
        if not first:
            if isinstance(entry, threading.Event):
                entry.wait(30)
                entry = STATE.seen.get(request_id)
            if entry is None or isinstance(entry, threading.Event):
                return self.answer(503, outcome("transient", "NLL-simulator: the same x-request-id is still being processed; try again"))
            return self.answer(*entry)
        self.last = None
        try:
            return self.route(method, path, query, h)
        finally:
            with STATE.lock:
                if self.last is not None and self.last[0] < 500:
                    STATE.seen[request_id] = self.last
                else:
                    STATE.seen.pop(request_id, None)
            entry.set()

    def route(self, method, path, query, h):
        parts = [p for p in path.split("/") if p]
        if parts == ["MedicationRequest"] and method == "POST":
            return self.create(self.body(), h["x-org-info"].split("/")[0])
        if parts == ["MedicationRequest"] and method == "GET":
            return self.search_requests(query, h)
        if len(parts) == 2 and parts[0] == "MedicationRequest" and method == "PUT":
            return self.update(parts[1], self.body(), h)
        if len(parts) == 2 and parts[0] == "MedicationRequest" and method == "GET":
            r = STATE.requests.get(parts[1])
            return self.answer(200, r, {"ETag": f'W/"{r["meta"]["versionId"]}"'}) if r else self.answer(404, outcome("not-found", "no such prescription"))
        if parts == ["MedicationDispense"] and method == "GET":
            patient = query.get("patient", [""])[0]
            visible = {rid for rid in self.visible(patient, h)}
            found = [d for d in STATE.dispenses if d["authorizingPrescription"][0]["reference"].split("/")[1] in visible]
            return self.answer(200, bundle(found))
        if parts == ["Basic"] and method == "GET" and query.get("code") == ["medlistinfo"]:
            patient = query.get("patient", [""])[0]
            info = {"resourceType": "Basic", "id": "medlistinfo-" + patient, "code": {"text": "medlistinfo"},
                    "extension": [{"url": BASE + "NLLSpecialDrugs24Months", "valueBoolean": STATE.special.get(patient, False)}]}
            if h.get("x-access") != "EGNA":
                locked = any(patient_of(r) == patient for i, r in STATE.requests.items() if i in STATE.locked)
                info["extension"].append({"url": BASE + "NLLLockedPrescriptionExists", "valueBoolean": locked})
            return self.answer(200, bundle([info]))
        return self.answer(404, outcome("not-supported", f"{method} {path} is not part of the simulated NLL"))

    def visible(self, patient, h):
        own = h["x-org-info"].split("/")[0]
        for rid, r in STATE.requests.items():
            if patient_of(r) != patient:
                continue
            if h.get("x-access") == "EGNA" and STATE.owner.get(rid) != own:
                continue
            if h.get("x-access") != "EGNA" and rid in STATE.locked:
                continue
            yield rid

    def search_requests(self, query, h):
        patient = query.get("patient", [""])[0]
        return self.answer(200, bundle([STATE.requests[i] for i in self.visible(patient, h)]))

    def validate(self, r):
        if not r or r.get("resourceType") != "MedicationRequest":
            return "the body must be a MedicationRequest"
        codings = [c for c in r.get("medicationCodeableConcept", {}).get("coding", []) if c.get("system") in NPL]
        if len(codings) != 1 and not (len(codings) == 2 and {c["system"] for c in codings} == NPL):
            return "MedicationRequest.medicationCodeableConcept: exactly one product by NPL-id or NPL-pack-id"
        prescriber = next((c for c in r.get("contained", []) if c.get("resourceType") == "Practitioner"), None)
        code = next((i.get("value") for i in (prescriber or {}).get("identifier", []) if i.get("system", "").endswith("forskrivarkod")), None)
        if not code:
            return "MedicationRequest.requester: a contained Practitioner with förskrivarkod"
        if code in STATE.refused_prescribers:
            return "REFUSED:Förskrivaren (förskrivarkod " + code + ") saknar behörighet att förskriva artikeln"
        if not r.get("dosageInstruction") or not r["dosageInstruction"][0].get("patientInstruction"):
            return "MedicationRequest.dosageInstruction.patientInstruction is required"
        if patient_of(r) is None:
            return "MedicationRequest.subject: a personnummer or a contained Patient"
        if patient_of(r).startswith("contained:") and not any(e.get("url") == BASE + "NLLReceivingPharmacy" for e in r.get("extension", [])):
            return "a prescription for a contained Patient names the receiving pharmacy (NLLReceivingPharmacy)"
        return None

    def create(self, r, owner):
        problem = self.validate(r)
        if problem:
            if problem.startswith("REFUSED:"):
                return self.answer(422, outcome("business-rule", problem[8:]))
            return self.answer(400, outcome("invalid", problem))
        with STATE.lock:
            rid = str(uuid.uuid4())
            r["id"] = rid
            r["meta"] = {"versionId": "1", "profile": [BASE + "NLLMedicationRequest"]}
            STATE.requests[rid] = r
            STATE.owner[rid] = owner
        return self.answer(201, r, {"ETag": 'W/"1"', "Location": f"MedicationRequest/{rid}/_history/1"})

    def update(self, rid, r, h):
        with STATE.lock:
            current = STATE.requests.get(rid)
            if not current:
                return self.answer(404, outcome("not-found", "no such prescription"))
            match = h.get("if-match", "").replace("W/", "").strip('"')
            if match != current["meta"]["versionId"]:
                return self.answer(412, outcome("conflict", f"version {match or '(none)'} is not the current version {current['meta']['versionId']}"))
            problem = self.validate(r)
            if problem:
                return self.answer(400, outcome("invalid", problem))
            r["id"] = rid
            r["meta"] = {"versionId": str(int(current["meta"]["versionId"]) + 1), "profile": current["meta"].get("profile", [])}
            STATE.requests[rid] = r
        return self.answer(200, r, {"ETag": f'W/"{r["meta"]["versionId"]}"'})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")


def bundle(resources):
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources), "entry": [{"resource": r} for r in resources]}


def main():
    parser = argparse.ArgumentParser(description="NLL-simulator (test component, not E-hälsomyndighetens NLL)")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--exit-with-stdin", action="store_true", help="exit when standard input closes (the test that started it ended)")
    args = parser.parse_args()
    if args.exit_with_stdin:
        def watch():
            while sys.stdin.buffer.read(1):
                pass
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"NLL-simulator (testkomponent, inte Nationella läkemedelslistan) på http://{args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
