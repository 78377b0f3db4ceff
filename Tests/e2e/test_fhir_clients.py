"""Real FHIR client libraries from PyPI (fhirclient, fhirpy) drive the running
server, and fhir.resources validates what it returns.

fhir.resources validates with its R4B models, which are close to R4 for the
resources used here; where they differ it is noted at the check."""
import uuid

import pytest
import requests
from fhir.resources.R4B.bundle import Bundle as R4BBundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement as R4BCapabilityStatement
from fhir.resources.R4B.observation import Observation as R4BObservation
from fhir.resources.R4B.operationdefinition import OperationDefinition as R4BOperationDefinition
from fhir.resources.R4B.operationoutcome import OperationOutcome as R4BOperationOutcome
from fhir.resources.R4B.patient import Patient as R4BPatient
from fhirclient import client as smart_client
from fhirclient.models.humanname import HumanName
from fhirclient.models.identifier import Identifier
from fhirclient.models.patient import Patient
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome as FhirpyOutcome

PNR_SYSTEM = "urn:oid:1.2.752.129.2.1.3.1"


def test_capability_statement_is_valid_fhir(server):
    body = requests.get(server.base + "/metadata").json()
    statement = R4BCapabilityStatement.model_validate(body)
    assert statement.fhirVersion == "4.0.1"
    patient = next(r for r in statement.rest[0].resource if r.type == "Patient")
    assert {i.code for i in patient.interaction} >= {"read", "vread", "update", "delete", "create", "history-instance"}


def test_every_advertised_operation_has_a_valid_definition(server):
    # Issue 21: the statement lists the server's operations; each definition it links is served and is valid R4.
    body = requests.get(server.base + "/metadata").json()
    links = [op["definition"] for r in body["rest"][0]["resource"] for op in r.get("operation", [])]
    links += [op["definition"] for op in body["rest"][0].get("operation", [])]
    assert len(links) > 80
    for link in links:
        assert link.startswith(server.base + "/OperationDefinition/"), link
        response = requests.get(link)
        assert response.status_code == 200, (link, response.text)
        definition = R4BOperationDefinition.model_validate(response.json())
        assert definition.url == link
    observation = next(r for r in body["rest"][0]["resource"] if r["type"] == "Observation")
    assert {"code", "patient", "date", "value-quantity"} <= {p["name"] for p in observation["searchParam"]}


def test_fhirclient_creates_reads_updates_and_searches(server):
    smart = smart_client.FHIRClient(settings={"app_id": "karna-e2e", "api_base": server.base})
    patient = Patient()
    patient.name = [HumanName({"family": "Öberg", "given": ["Åsa"]})]
    patient.identifier = [Identifier({"system": PNR_SYSTEM, "value": "191212121212"})]
    patient.gender = "male"
    created = patient.create(smart.server)
    new_id = created["id"]
    R4BPatient.model_validate(created)

    read = Patient.read(new_id, smart.server)
    assert read.name[0].family == "Öberg"
    assert read.meta.versionId == "1"

    read.gender = "other"
    updated = read.update(smart.server)
    assert updated["meta"]["versionId"] == "2"

    found = Patient.where(struct={"identifier": f"{PNR_SYSTEM}|191212121212"}).perform_resources(smart.server)
    assert [p.id for p in found] == [new_id]


def test_fhirpy_round_trip_with_history_and_delete(server):
    client = SyncFHIRClient(server.base)
    marker = str(uuid.uuid4())
    observation = client.resource(
        "Observation",
        status="final",
        identifier=[{"system": "urn:e2e", "value": marker}],
        code={"coding": [{"system": "http://loinc.org", "code": "4548-4"}], "text": "HbA1c"},
        valueQuantity={"value": 48, "unit": "mmol/mol", "system": "http://unitsofmeasure.org", "code": "mmol/mol"},
        note=[{"text": "Inget avvikande. Ingen åtgärd."}],
    )
    observation.save()
    assert observation.id
    R4BObservation.model_validate(observation.serialize())

    fetched = client.reference("Observation", observation.id).to_resource()
    assert fetched["note"][0]["text"] == "Inget avvikande. Ingen åtgärd."
    assert fetched["valueQuantity"]["value"] == 48

    found = client.resources("Observation").search(identifier=f"urn:e2e|{marker}").fetch()
    assert [o.id for o in found] == [observation.id]

    fetched["status"] = "amended"
    fetched.save()
    history = requests.get(f"{server.base}/Observation/{observation.id}/_history").json()
    R4BBundle.model_validate(history)
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"2"', 'W/"1"']

    fetched.delete()
    gone = requests.get(f"{server.base}/Observation/{observation.id}")
    assert gone.status_code == 410
    R4BOperationOutcome.model_validate(gone.json())
    assert requests.get(f"{server.base}/Observation/{observation.id}/_history/1").status_code == 200


def test_invalid_resources_are_refused_with_outcome(server):
    client = SyncFHIRClient(server.base)
    with pytest.raises(FhirpyOutcome) as refused:
        client.resource("Patient", gender="female", birthDate="1980-02-30").save()
    assert "birthDate" in str(refused.value)
    response = requests.post(server.base + "/Patient", data=b'{"resourceType":"Patient",', headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 400
    outcome = R4BOperationOutcome.model_validate(response.json())
    assert "line 1" in outcome.issue[0].diagnostics


def test_transaction_through_requests_is_atomic(server):
    patient_url = "urn:uuid:" + str(uuid.uuid4())
    bundle = {
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            {"fullUrl": patient_url, "resource": {"resourceType": "Patient", "name": [{"family": "Ek"}]},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "Vikt"},
                          "subject": {"reference": patient_url}},
             "request": {"method": "POST", "url": "Observation"}},
        ],
    }
    response = requests.post(server.base, json=bundle, headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 200
    result = R4BBundle.model_validate(response.json())
    assert result.type == "transaction-response"
    observation_location = result.entry[1].response.location
    observation = requests.get(f"{server.base}/{'/'.join(observation_location.split('/')[:2])}").json()
    assert observation["subject"]["reference"] == "/".join(result.entry[0].response.location.split("/")[:2])

    bundle["entry"][1]["resource"]["status"] = "not-a-status-code with spaces  "
    before = requests.get(server.base + "/Patient/_history?_count=1000").json().get("entry", [])
    failed = requests.post(server.base, json=bundle, headers={"Content-Type": "application/fhir+json"})
    assert failed.status_code == 400
    assert failed.json()["issue"][0]["expression"][0].startswith("Bundle.entry[1]")
    after = requests.get(server.base + "/Patient/_history?_count=1000").json().get("entry", [])
    assert len(after) == len(before)


def test_clients_search_page_and_include(server):
    """fhirpy and fhirclient search with modifiers, prefixes, chains and _include, and follow next links to the end."""
    client = SyncFHIRClient(server.base)
    marker = uuid.uuid4().hex[:8]
    clinic = client.resource("Organization", name=f"Vårdcentralen {marker}")
    clinic.save()
    ids = []
    for n, (given, born) in enumerate([("Åsa", "1950-01-02"), ("Asa", "1960-03-04"), ("José", "1970-05-06"), ("Örjan", "1980-07-08"), ("Eva", "1990-09-10")]):
        patient = client.resource("Patient", name=[{"family": f"Test{marker}", "given": [given]}], birthDate=born,
                                  managingOrganization={"reference": f"Organization/{clinic.id}"})
        patient.save()
        ids.append(patient.id)
        client.resource("Observation", status="final", code={"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                        subject={"reference": f"Patient/{patient.id}"},
                        valueQuantity={"value": 60 + n * 5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}).save()

    family = f"Test{marker}"
    assert [p["name"][0]["given"][0] for p in client.resources("Patient").search(family=family, given="åsa").fetch()] == ["Åsa"]
    assert [p["name"][0]["given"][0] for p in client.resources("Patient").search(family=family, given="jose").fetch()] == ["José"]
    born_after = client.resources("Patient").search(family=family, birthdate__ge="1970").fetch()
    assert sorted(p["birthDate"] for p in born_after) == ["1970-05-06", "1980-07-08", "1990-09-10"]
    heavy = client.resources("Observation").search(**{"value-quantity": "gt70", "subject:Patient.family": family}).fetch()
    assert len(heavy) == 2

    # Paging: fhirpy's fetch_all follows the next links; Swedish order puts Ö after Z.
    everyone = client.resources("Patient").search(family=family).sort("given").limit(2).fetch_all()
    assert [p["name"][0]["given"][0] for p in everyone] == ["Asa", "Eva", "José", "Åsa", "Örjan"]

    smart = smart_client.FHIRClient(settings={"app_id": "karna-e2e", "api_base": server.base})
    bundle = requests.get(f"{server.base}/Observation", params={"subject:Patient.organization": f"Organization/{clinic.id}",
                                                                "_include": "Observation:subject", "_count": 2,
                                                                "_total": "accurate"}).json()
    R4BBundle.model_validate(bundle)
    assert bundle["total"] == 5
    assert any(e["search"]["mode"] == "include" for e in bundle["entry"])
    found = Patient.where(struct={"family": family, "_sort": "-birthdate"}).perform_resources(smart.server)
    assert [p.birthDate.isostring for p in found][:2] == ["1990-09-10", "1980-07-08"]

    strict = requests.get(f"{server.base}/Patient", params={"family": family, "shoe-size": "44"}, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
    assert "shoe-size" in R4BOperationOutcome.model_validate(strict.json()).issue[0].diagnostics


def test_validate_patch_and_xml_through_real_clients(server):
    # Issue 22: $validate, PATCH and XML are advertised, and work through fhirpy, requests and fhir.resources.
    statement = requests.get(server.base + "/metadata").json()
    assert "application/fhir+xml" in statement["format"]
    patient_entry = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert "patch" in {i["code"] for i in patient_entry["interaction"]}
    assert "validate" in {o["name"] for o in patient_entry["operation"]}

    client = SyncFHIRClient(server.base)
    # $validate: an invalid code is reported, nothing is stored.
    outcome = client.resources("Patient").execute("$validate", data={"resourceType": "Patient", "gender": "mannen"})
    parsed = R4BOperationOutcome.model_validate(outcome)
    assert any(issue.severity == "error" and "administrative-gender" in issue.diagnostics for issue in parsed.issue)

    # PATCH through fhirpy (a merge patch), then a JSON Patch with If-Match through requests.
    patient = client.resource("Patient", gender="female", birthDate="1970-03-04")
    patient.save()
    patched = client.patch("Patient", patient.id, active=True)
    assert patched["active"] is True and patched["meta"]["versionId"] == "2"
    json_patch = requests.patch(f"{server.base}/Patient/{patient.id}", json=[{"op": "replace", "path": "/birthDate", "value": "1971-03-04"}],
                                headers={"Content-Type": "application/json-patch+json", "If-Match": 'W/"2"', "Prefer": "return=representation"})
    assert json_patch.status_code == 200, json_patch.text
    stale = requests.patch(f"{server.base}/Patient/{patient.id}", json=[{"op": "remove", "path": "/active"}],
                           headers={"Content-Type": "application/json-patch+json", "If-Match": 'W/"2"'})
    assert stale.status_code == 412

    # XML: fhir.resources writes the resource as XML, the server stores it, and answers XML that fhir.resources reads.
    xml_body = R4BPatient.model_validate({"resourceType": "Patient", "gender": "other", "name": [{"family": "Öberg", "given": ["Åsa"]}]}).model_dump_xml()
    created = requests.post(server.base + "/Patient", data=xml_body,
                            headers={"Content-Type": "application/fhir+xml", "Accept": "application/fhir+xml"})
    assert created.status_code == 201, created.text
    assert created.headers["Content-Type"].startswith("application/fhir+xml")
    read_back = R4BPatient.model_validate_xml(created.content)
    assert read_back.name[0].family == "Öberg" and read_back.gender == "other"
    as_json = requests.get(f"{server.base}/Patient/{read_back.id}").json()
    assert as_json["name"][0]["given"] == ["Åsa"]
    searched = requests.get(f"{server.base}/Patient", params={"_id": read_back.id, "_format": "xml"})
    assert R4BBundle.model_validate_xml(searched.content).total == 1
