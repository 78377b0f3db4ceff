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
