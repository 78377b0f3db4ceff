"""Patient administration end to end against the running server: an integration (fhirpy and
requests) sets up a unit's appointment book, eight clerks book one slot at the same moment,
an unidentified patient is admitted and later merged into the real record, and the cashier
takes fees until the frikort. Booking confirmations leave through the notification outbox."""
import concurrent.futures
import datetime
import json
import os
import time
import zoneinfo

import requests
from fhirpy import SyncFHIRClient

from conftest import born_and_sex, swedish_today


def parameters(**values):
    return {"resourceType": "Parameters", "parameter": [{"name": name, "valueString": str(value)} for name, value in values.items()]}


def operation(server, path, **values):
    response = requests.post(f"{server.base}/{path}", json=parameters(**values), headers={"Content-Type": "application/fhir+json"}, timeout=30)
    return response


def part(body, name):
    return next(p for p in body["parameter"] if p["name"] == name)


def setup_unit(server, unit):
    client = SyncFHIRClient(server.base)
    client.resource("Organization", id=unit, name=f"Mottagning {unit}", active=True).save()
    schedule = client.resource("Schedule", id=f"schedule-{unit}", active=True,
                               meta={"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": unit}]},
                               actor=[{"display": "Dr Test"}])
    schedule.save()
    tomorrow = swedish_today() + datetime.timedelta(days=1)
    generated = operation(server, f"Schedule/schedule-{unit}/$generate-slots", **{
        "from": tomorrow.isoformat(), "to": (tomorrow + datetime.timedelta(days=6)).isoformat(), "weekdays": "1,2,3,4,5,6,7",
        "start": "08:00", "end": "12:00", "minutes": "20", "visitType": "lakarbesok"})
    assert generated.status_code == 200, generated.text
    assert part(generated.json(), "created")["valueInteger"] == 7 * 12
    return client


def register(client, personnummer, family, email=None):
    born, sex = born_and_sex(personnummer)
    patient = client.resource("Patient", name=[{"family": family, "given": ["Test"]}], birthDate=born, gender=sex,
                              identifier=[{"system": "urn:oid:1.2.752.129.2.1.3.1", "value": personnummer}],
                              telecom=[{"system": "email", "value": email}] if email else [])
    patient.save()
    return patient


def test_eight_clerks_one_slot_exactly_one_booking(server):
    client = setup_unit(server, "e2e-unit-a")
    patient = register(client, "197505052386", "Bokad", email="bokad@example.invalid")
    free = requests.get(f"{server.base}/Slot/$find", params={"unit": "e2e-unit-a", "_count": "1"}).json()
    slot = free["entry"][0]["resource"]["id"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: operation(server, "Appointment/$book", slot=slot, patient=patient.id), range(8)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * 7, [answer.text for answer in answers]
    refused = next(answer for answer in answers if answer.status_code == 409).json()
    assert refused["resourceType"] == "OperationOutcome" and "slot" in refused["issue"][0]["diagnostics"]
    booked = requests.get(f"{server.base}/Appointment", params={"slot": f"Slot/{slot}"}).json()
    assert len(booked["entry"]) == 1
    # A meeting blocks the first hour: the booked time stays and is named; lifting the block frees the rest again.
    tomorrow = swedish_today() + datetime.timedelta(days=1)
    sweden = zoneinfo.ZoneInfo("Europe/Stockholm")
    period = {"start": datetime.datetime(tomorrow.year, tomorrow.month, tomorrow.day, 8, tzinfo=sweden).isoformat(),
              "end": datetime.datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=sweden).isoformat()}
    blocked = operation(server, "Schedule/schedule-e2e-unit-a/$block-time", reason="APT-möte", **period)
    assert blocked.status_code == 200, blocked.text
    assert part(blocked.json(), "blocked")["valueInteger"] == 2 and part(blocked.json(), "bookedSlot")["valueReference"]["reference"] == f"Slot/{slot}"
    unblocked = operation(server, "Schedule/schedule-e2e-unit-a/$unblock-time", **period)
    assert unblocked.status_code == 200, unblocked.text
    assert part(unblocked.json(), "unblocked")["valueInteger"] == 2
    assert requests.get(f"{server.base}/Slot/{slot}").json()["status"] == "busy"
    backwards = operation(server, "Schedule/schedule-e2e-unit-a/$unblock-time", start=period["end"], end=period["start"])
    assert backwards.status_code == 400 and backwards.json()["issue"][0]["expression"] == ["end"]
    # The confirmation leaves through the outbox to the configured sender (a file by default).
    deadline = time.time() + 20
    confirmations = []
    while time.time() < deadline and not confirmations:
        path = os.path.join(server.folder, "data", "notifications.jsonl")
        if os.path.exists(path):
            sent = [json.loads(line) for line in open(path) if patient.id in line]
            confirmations = [message for message in sent if message["kind"] == "bokning"]
        time.sleep(0.5)
    assert len(confirmations) == 1, "one booking, one confirmation"
    assert confirmations[0]["address"] == "bokad@example.invalid" and "Bokningsbekräftelse" in confirmations[0]["text"]


def test_unidentified_patient_admitted_merged_and_paid_until_frikort(server):
    client = setup_unit(server, "e2e-unit-b")
    client.resource("Organization", id="e2e-ward", name="Avdelning E2E", active=True).save()
    unknown = operation(server, "Patient/$register-unidentified", gender="male")
    assert unknown.status_code == 201, unknown.text
    reserve = unknown.json()["identifier"][0]["value"]
    admitted = operation(server, "Encounter/$admit", patient=unknown.json()["id"], ward="e2e-ward", admitSource="direktinlaggning")
    assert admitted.status_code == 201, admitted.text
    stay = admitted.json()["id"]
    assert operation(server, f"Encounter/{stay}/$discharge", destination="hem").json()["status"] == "finished"

    # A planned admission for a day ahead (a past day is refused at plannedDate); it starts on the day.
    yesterday, in_three_days = swedish_today() - datetime.timedelta(days=1), swedish_today() + datetime.timedelta(days=3)
    refused = operation(server, "Encounter/$admit", patient=unknown.json()["id"], ward="e2e-ward", planned="true", plannedDate=yesterday.isoformat(),
                        admitSource="planerad")
    assert refused.status_code == 400 and refused.json()["issue"][0]["expression"] == ["plannedDate"], refused.text
    planned = operation(server, "Encounter/$admit", patient=unknown.json()["id"], ward="e2e-ward", planned="true", plannedDate=in_three_days.isoformat(),
                        admitSource="planerad", reason="Höftprotes")
    assert planned.status_code == 201, planned.text
    assert planned.json()["status"] == "planned" and planned.json()["period"]["start"] == in_three_days.isoformat()
    started = operation(server, f"Encounter/{planned.json()['id']}/$start")
    assert started.status_code == 200 and started.json()["status"] == "in-progress", started.text
    assert operation(server, f"Encounter/{planned.json()['id']}/$discharge", destination="hem").json()["status"] == "finished"

    real = register(client, "197505052378", "Identifierad")
    merged = operation(server, f"Patient/{unknown.json()['id']}/$merge", target=real.id, reason="Identifierad av anhörig")
    assert merged.status_code == 200, merged.text
    assert requests.get(f"{server.base}/Encounter/{stay}").json()["subject"]["reference"] == f"Patient/{real.id}"
    found = requests.get(f"{server.base}/Patient/$find", params={"q": reserve[:8] + "-" + reserve[8:]}).json()
    assert real.id in [entry["resource"]["id"] for entry in found["entry"]]

    charged = []
    for _ in range(9):
        contact = operation(server, "Encounter/$register-contact", patient=real.id, visitType="lakarbesok", unit="e2e-unit-b", started="true")
        assert contact.status_code == 201, contact.text
        paid = operation(server, f"Encounter/{contact.json()['id']}/$pay", method="kontant")
        assert paid.status_code == 200, paid.text
        charged.append(part(paid.json(), "charged")["valueInteger"])
    assert charged == [200] * 7 + [50, 0]
    status = requests.get(f"{server.base}/Patient/{real.id}/$fee-status").json()
    assert part(status, "paid")["valueInteger"] == 1450 and part(status, "frikort")["valueString"].startswith("FK-")
    report = requests.get(f"{server.base}/Organization/e2e-unit-b/$daily-report").json()
    assert part(report, "total")["valueInteger"] == 1450
