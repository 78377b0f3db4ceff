"""A CDS Hooks 2.0 client, written from the specification (https://cds-hooks.hl7.org/2.0/), drives Kärna's
decision-support services over HTTP: discovery, each hook, the cards' required shape, feedback, and a
regression suite of known drug pairs against the shipped synthetic interaction table."""
import datetime
import uuid

import pytest
import requests

ATC = "http://www.whocc.no/atc"
INDICATORS = {"info", "warning", "critical"}

# Known pairs of the shipped synthetic table (Sources/Medication/DecisionSupportData/lakemedelskontroll.json):
# (already ordinated, being ordered, the interaction card's indicator, or None for no interaction card).
KNOWN_PAIRS = [
    ("B01AA03", "M01AE01", "critical"),  # warfarin + NSAID, class D
    ("B01AA03", "B01AF02", "critical"),  # two anticoagulants, class D
    ("B01AF02", "M01AE01", "warning"),   # apixaban + NSAID, class C
    ("L04AD01", "C09AA05", "warning"),   # ciklosporin + ACE inhibitor, class C
    ("N06AB06", "M01AE01", "warning"),   # sertralin + ibuprofen, class C
    ("B01AA03", "N02BE01", "info"),      # warfarin + paracetamol, class B
    ("C07AB02", "C08CA01", None),        # metoprolol + amlodipin: not in the table
]


class CDSClient:
    """What a CDS client does, per the specification's sections Discovery, Calling a CDS Service and Feedback."""

    def __init__(self, server):
        self.server = server
        self.root = server.base[: -len("/fhir")] + "/cds-services"
        self.headers = {"Authorization": "Bearer " + server.token, "Content-Type": "application/json"}

    def discover(self):
        response = requests.get(self.root, headers={"Accept": "application/json"})
        assert response.status_code == 200, response.text
        services = response.json()["services"]
        for service in services:
            # Required by the specification: hook, description, id; prefetch keys map to FHIR query templates.
            assert service["hook"] and service["description"] and service["id"], service
            for template in service.get("prefetch", {}).values():
                assert "{{context.patientId}}" in template
        return services

    def call(self, service, patient_id, drafts, selections=None):
        context = {"userId": "Practitioner/e2e", "patientId": patient_id,
                   "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": d} for d in drafts]}}
        if selections is not None:
            context["selections"] = selections
        request = {"hookInstance": str(uuid.uuid4()), "hook": service["hook"], "fhirServer": self.server.base,
                   "fhirAuthorization": {"access_token": self.server.token, "token_type": "Bearer", "expires_in": 300,
                                         "scope": "system/*.read", "subject": "karna-e2e"},
                   "context": context}
        response = requests.post(f"{self.root}/{service['id']}", json=request, headers=self.headers)
        assert response.status_code == 200, response.text
        cards = response.json()["cards"]
        for card in cards:
            # Card attributes the specification requires, and the ones Kärna promises (uuid for feedback).
            assert len(card["summary"]) < 140 and card["indicator"] in INDICATORS, card
            assert card["source"]["label"], card
            assert card["uuid"], card
            for reason in card.get("overrideReasons", []):
                assert reason["code"] and reason["system"] and reason["display"], reason
        return cards

    def feedback(self, service, card, outcome, reason=None, comment=None):
        item = {"card": card["uuid"], "outcome": outcome,
                "outcomeTimestamp": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")}
        if outcome == "overridden":
            item["overrideReason"] = {"reason": reason, "userComment": comment} if reason else {"userComment": comment}
        return requests.post(f"{self.root}/{service['id']}/feedback", json={"feedback": [item]}, headers=self.headers)


def draft(atc, name, id=None):
    return {"resourceType": "MedicationRequest", "id": id or "draft-" + uuid.uuid4().hex[:8], "status": "draft", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc}], "text": name}}


def new_patient(server, atc_list):
    patient = requests.post(server.base + "/Patient", json={"resourceType": "Patient", "name": [{"family": "Hookström"}]}).json()
    for atc in atc_list:
        order = {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                 "subject": {"reference": f"Patient/{patient['id']}"},
                 "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc}], "text": atc},
                 "authoredOn": "2026-12-01", "reasonCode": [{"text": "Känd sjukdom"}],
                 "dosageInstruction": [{"text": "Enligt schema", "route": {"text": "Oralt"},
                                        "timing": {"repeat": {"boundsPeriod": {"start": "2026-12-01"}}}}]}
        created = requests.post(server.base + "/MedicationRequest", json=order)
        assert created.status_code == 201, created.text
    return patient["id"]


def test_discovery_call_and_feedback_follow_cds_hooks_2(server):
    client = CDSClient(server)
    services = {s["hook"]: s for s in client.discover()}
    assert set(services) == {"order-select", "order-sign"}
    patient = new_patient(server, ["B01AA03"])
    cards = client.call(services["order-sign"], patient, [draft("M01AE01", "Ibuprofen")])
    critical = next(c for c in cards if c["indicator"] == "critical")
    assert critical["summary"] == "Interaktion D: Ibuprofen och B01AA03"
    assert "inte kliniskt innehåll" in critical["source"]["label"]
    # A critical card is not overridden without a reason; with one, the decision is stored and final.
    refused = client.feedback(services["order-sign"], critical, "overridden")
    assert refused.status_code == 400 and "reason" in refused.text
    recorded = client.feedback(services["order-sign"], critical, "overridden", reason=critical["overrideReasons"][0], comment="Kort kur")
    assert recorded.status_code == 200, recorded.text
    issue = requests.get(f"{server.base}/DetectedIssue/{critical['uuid']}").json()
    assert issue["status"] == "final"
    assert issue["mitigation"][0]["action"]["coding"][0]["code"] == "overridden"
    # order-select checks only what is selected.
    selected = draft("C07AB02", "Metoprolol")
    assert client.call(services["order-select"], patient, [draft("M01AE01", "Ibuprofen"), selected],
                       selections=[f"MedicationRequest/{selected['id']}"]) == []


@pytest.mark.parametrize("ordinated,ordered,expected", KNOWN_PAIRS)
def test_known_interaction_pairs(server, ordinated, ordered, expected):
    client = CDSClient(server)
    sign = next(s for s in client.discover() if s["hook"] == "order-sign")
    patient = new_patient(server, [ordinated])
    cards = client.call(sign, patient, [draft(ordered, ordered)])
    interactions = [c["indicator"] for c in cards if c["source"].get("topic", {}).get("code") == "interaktion"]
    assert interactions == ([expected] if expected else []), cards


def test_drug_catalogue_import_total_then_delta_and_type_ahead(server, tmp_path):
    """`karna drugs import` reads the NPL export as published (a zip), then a delta folder; a second import
    writes nothing; an older export is refused; the API's type-ahead offers no withdrawn product."""
    import os
    import pathlib
    import subprocess
    import zipfile

    from conftest import KARNA

    repo = pathlib.Path(__file__).resolve().parents[2]
    total_folder = repo / "Sources/Terminology/Shipped/npl/20261201_Total_NPL"
    total = tmp_path / "20261201_Total_NPL.zip"
    with zipfile.ZipFile(total, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(total_folder.rglob("*.xml")):
            archive.write(file, file.relative_to(total_folder).as_posix())
    env = dict(os.environ, KARNA_DATABASE_URL=server.database_url, KARNA_DEMO_CREDENTIALS=str(tmp_path / "creds.json"))

    def drugs(*args):
        return subprocess.run([KARNA, "drugs", *args], capture_output=True, text=True, env=env, cwd=server.folder, timeout=120)

    first = drugs("import", str(total))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "20 added" in first.stdout and "19 orderable" in first.stdout
    again = drugs("import", str(total))
    assert again.returncode == 0 and "nothing written" in again.stdout, again.stdout + again.stderr
    delta = drugs("import", str(repo / "Tests/TerminologyTests/Fixtures/npl/20261203_Delta_NPL"))
    assert delta.returncode == 0 and "1 added, 1 changed, 1 no longer orderable" in delta.stdout, delta.stdout + delta.stderr
    older = drugs("import", str(total))
    assert older.returncode != 0 and "older" in (older.stdout + older.stderr)

    headers = {"Authorization": "Bearer " + server.token}
    stored = requests.get(f"{server.base}/CodeSystem/npl", headers=headers).json()
    assert stored["version"] == "2026-12-03" and stored["count"] == 21
    warfarin = next(c for c in stored["concept"] if c["code"] == "19990101000048")
    assert {"code": "inactive", "valueBoolean": True} in warfarin["property"]
    assert any(p["code"] == "atc" and p["valueString"] == "B01AA03" for p in warfarin["property"])

    # The running server's catalogue (the shipped sample until a restart) answers type-ahead by substance.
    expanded = requests.get(f"{server.base}/ValueSet/$expand", headers=headers, params={
        "url": "https://karna.se/fhir/ValueSet/lakemedelsprodukter", "filter": "morfin"}).json()
    assert [c["code"] for c in expanded["expansion"]["contains"]] == ["19990101000116"]
    found = drugs("search", "parac")
    assert found.returncode == 0 and "3 orderable products" in found.stdout, found.stdout + found.stderr
