"""Clinical documentation end to end against the running server: a physician logs in through
the real login form, writes a note with its sökord, is stopped signing it incomplete, signs it,
cannot overwrite it, corrects it and reads the earlier version back with fhirpy; a secretary's
transcription waits in the physician's unsigned list; diagnoses, an allergy and the chart overview;
terminology type-ahead; and `karna terminology import` loads a release file into the database."""
import datetime
import os
import subprocess

import requests
from fhirpy import SyncFHIRClient

from conftest import KARNA
from test_access import bearer, login

UNIT = "vc-karnstad"


def section(code, text):
    return {"name": "section", "part": [{"name": "code", "valueCode": code}, {"name": "text", "valueString": text}]}


def params(*items, **values):
    return {"resourceType": "Parameters",
            "parameter": [{"name": k, "valueString": str(v)} for k, v in values.items()] + list(items)}


def names(body):
    return [p["name"] for p in body.get("parameter", [])]


def patient_with_contact(server, family):
    """A patient and an ongoing care contact at the vårdcentral, as patient administration leaves them."""
    client = SyncFHIRClient(server.base)
    patient = client.resource("Patient", name=[{"family": family, "given": ["Test"]}], birthDate="1960-01-01")
    patient.save()
    start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    encounter = client.resource("Encounter", status="in-progress", subject={"reference": f"Patient/{patient.id}"},
                                meta={"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": UNIT}]},
                                **{"class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}},
                                period={"start": start}, serviceProvider={"reference": f"Organization/{UNIT}"})
    encounter.save()
    return patient.id, encounter.id


def test_a_note_is_written_signed_corrected_and_its_history_kept(server):
    patient, encounter = patient_with_contact(server, "Journalsson")
    doctor = bearer(login(server, "lakare", unit="demo-lakare-uppdrag-1"))
    base = server.base

    draft = requests.post(f"{base}/Composition/$write-note", headers=doctor, json=params(
        section("kontaktorsak", "Hosta i två veckor"), section("status", "Lungor: ronki bilateralt"),
        template="lakaranteckning-besok", patient=patient, encounter=encounter))
    assert draft.status_code == 201, draft.text
    note = draft.json()
    assert note["status"] == "preliminary" and note["author"][0]["display"].endswith("Läkare")

    incomplete = requests.post(f"{base}/Composition/{note['id']}/$sign", headers=doctor, json=params())
    assert incomplete.status_code == 409 and "Bedömning" in incomplete.json()["issue"][0]["diagnostics"]
    assert requests.post(f"{base}/Composition/{note['id']}/$save-draft", headers=doctor,
                         json=params(section("bedomning", "Akut bronkit"))).status_code == 200
    signed = requests.post(f"{base}/Composition/{note['id']}/$sign", headers=doctor, json=params())
    assert signed.status_code == 200 and signed.json()["status"] == "final"

    # A signed note cannot be overwritten, not even by a plain PUT from an integration.
    overwrite = dict(signed.json(), section=signed.json()["section"][:1])
    refused = requests.put(f"{base}/Composition/{note['id']}", headers=doctor, json=overwrite)
    assert refused.status_code == 409 and "never overwritten" in refused.text

    corrected = requests.post(f"{base}/Composition/{note['id']}/$correct", headers=doctor, json=params(
        section("status", "Lungor: ronki höger basalt"), reason="Fel sida angiven"))
    assert corrected.status_code == 200 and corrected.json()["status"] == "amended"
    versions = requests.get(f"{base}/Composition/{note['id']}/$versions", headers=doctor).json()
    activities = [next(x["valueString"] for x in v["part"] if x["name"] == "activity") for v in versions["parameter"]]
    assert activities == ["rattelse", "signering", "utkast", "utkast"]

    # The earlier signed version is still there, read with a FHIR client library.
    client = SyncFHIRClient(base, authorization=doctor["Authorization"])
    earlier = client.reference("Composition", note["id"]).to_resource()
    assert earlier["status"] == "amended"
    history = requests.get(f"{base}/Composition/{note['id']}/_history/3", headers=doctor).json()
    assert history["status"] == "final" and "ronki bilateralt" in str(history["section"])

    journal = requests.get(f"{base}/Patient/{patient}/$journal", headers=doctor, params={"sokord": "status", "text": "höger"}).json()
    assert journal["total"] == 1 and len(journal["entry"][0]["resource"]["section"]) == 1

    # Diagnoses, an allergy and the overview the chart opens with.
    diagnoses = requests.post(f"{base}/Encounter/{encounter}/$register-diagnoses", headers=doctor,
                              params={"main": "J06.9", "secondary": "R05.9", "procedure": "XS100"})
    assert diagnoses.status_code == 200, diagnoses.text
    unknown = requests.post(f"{base}/Encounter/{encounter}/$register-diagnoses", headers=doctor, params={"main": "J06.99"})
    assert unknown.status_code == 400 and "J06.99" in unknown.text
    allergy = requests.post(f"{base}/AllergyIntolerance/$record", headers=doctor,
                            params={"patient": patient, "substance": "J01CE02", "reaction": "Urtikaria", "criticality": "high"})
    assert allergy.status_code == 201, allergy.text
    overview = requests.get(f"{base}/Patient/{patient}/$overview", headers=doctor).json()
    # The visit's diagnoses are a part of their own, not active problems.
    assert {"patient", "allergy", "visitDiagnosis", "note", "currentContact"} <= set(names(overview))
    assert "problem" not in set(names(overview))


def test_a_transcription_waits_for_the_responsible_physician(server):
    patient, encounter = patient_with_contact(server, "Dikterad")
    secretary = bearer(login(server, "sekreterare"))
    written = requests.post(f"{server.base}/Composition/$write-note", headers=secretary, json=params(
        section("kontaktorsak", "Diktat"), section("status", "Opåverkad"), section("bedomning", "Frisk"),
        template="lakaranteckning-besok", patient=patient, encounter=encounter, responsible="demo-lakare-uppdrag-1"))
    assert written.status_code == 201, written.text
    refused = requests.post(f"{server.base}/Composition/{written.json()['id']}/$sign", headers=secretary, json=params())
    assert refused.status_code == 403
    doctor = bearer(login(server, "lakare", unit="demo-lakare-uppdrag-1"))
    unsigned = requests.get(f"{server.base}/Composition/$unsigned", headers=doctor).json()
    mine = [p for p in unsigned["parameter"] if any(x["name"] == "note" and x["resource"]["id"] == written.json()["id"] for x in p["part"])]
    assert mine and any(x["name"] == "mustSign" and x["valueBoolean"] for x in mine[0]["part"])
    assert requests.post(f"{server.base}/Composition/{written.json()['id']}/$sign", headers=doctor, json=params()).status_code == 200


def test_terminology_type_ahead_and_release_import(server, tmp_path):
    headers = {"Authorization": "Bearer " + server.token}
    expanded = requests.get(f"{server.base}/ValueSet/$expand", headers=headers,
                            params={"url": "https://karna.se/fhir/ValueSet/diagnoser", "filter": "förmaksfli", "count": 5}).json()
    assert [c["code"] for c in expanded["expansion"]["contains"]] == ["I48", "I48.9"]
    lookup = requests.get(f"{server.base}/CodeSystem/$lookup", headers=headers,
                          params={"system": "urn:oid:1.2.752.116.1.1.1.1.3", "code": "I48.9"}).json()
    assert any(p.get("valueString") == "Förmaksflimmer och förmaksfladder, ospecificerat" for p in lookup["parameter"])

    # A KVÅ release file in Latin-1 with semicolons, as older Socialstyrelsen exports are.
    release = tmp_path / "kva.csv"
    release.write_bytes("Kod;Text\nXS100;Samtal\nDT016;Inläggning av kateter i urinblåsa\nQQ001;Ny åtgärd\n".encode("latin-1"))
    env = dict(os.environ, KARNA_DATABASE_URL=server.database_url, KARNA_DEMO_CREDENTIALS=str(tmp_path / "creds.json"))
    result = subprocess.run([KARNA, "terminology", "import", str(release), "--format", "kva", "--version", "2026"],
                            capture_output=True, text=True, env=env, cwd=server.folder, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 codes" in result.stdout
    stored = SyncFHIRClient(server.base, authorization="Bearer " + server.token).reference("CodeSystem", "kva").to_resource()
    assert stored["version"] == "2026" and [c["code"] for c in stored["concept"]] == ["XS100", "DT016", "QQ001"]
    wrong = subprocess.run([KARNA, "terminology", "import", str(release), "--format", "npu"], capture_output=True, text=True, env=env,
                           cwd=server.folder, timeout=120)
    assert wrong.returncode != 0 and "no npu codes found" in (wrong.stdout + wrong.stderr)
