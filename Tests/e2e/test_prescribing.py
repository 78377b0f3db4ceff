"""Prescribing to Nationella läkemedelslistan end to end: `karna serve --nll-url` against the NLL-simulator
(Tests/Support/nll_simulator.py — a test component, not E-hälsomyndighetens NLL) over real HTTP. A doctor
logged in through the login form prescribes, renews and ends prescriptions; NLL down leaves the prescription
"ej skickad" with its owner until the server's outbox sends it once; a stale version is a conflict; a
patient on reservnummer is sent as a contained Patient; NLL's list is read on an åtkomsttyp."""
import datetime
import os
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from conftest import ROOT, Server, backends, born_and_sex, free_port
from test_access import bearer, login

UNIT = "vc-karnstad"
NPL = "http://electronichealth.se/fhir/NamingSystem/nplid"


def personnummer(serial):
    """A valid personnummer born 1975-05-05 with the given three-digit serial (Luhn check digit computed)."""
    nine = f"750505{serial:03d}"
    total = sum((d * 2 if i % 2 == 0 else d) // 10 + (d * 2 if i % 2 == 0 else d) % 10 for i, d in enumerate(map(int, nine)))
    return "19" + nine + str((10 - total % 10) % 10)


class Simulator:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, os.path.join(ROOT, "Tests", "Support", "nll_simulator.py"), "--port", str(self.port)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert b"NLL-simulator" in self.process.stdout.readline()

    def control(self, name, **body):
        response = requests.post(f"{self.url}/_simulator/{name}", json=body, timeout=5)
        assert response.status_code < 300, response.text
        return response.json()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module", params=backends())
def nll(request):
    simulator = Simulator()
    with tempfile.TemporaryDirectory() as folder:
        server = Server(request.param, folder, extra_env={"KARNA_NLL_URL": simulator.url, "KARNA_NLL_TIMEOUT_SECONDS": "2",
                                                         "KARNA_NLL_UNSENT_ALARM_MINUTES": "1"})
        try:
            yield server, simulator
        finally:
            server.stop()
            simulator.stop()


def system(server):
    return {"Authorization": "Bearer " + server.token, "Content-Type": "application/fhir+json"}


def patient_with_contact(server, identifier):
    """A patient (by personnummer, or the reservnummer registration gives) and an ongoing contact at the vårdcentral."""
    if identifier:
        born, sex = born_and_sex(identifier)
        patient = requests.post(server.base + "/Patient", headers=system(server), json={
            "resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.752.129.2.1.3.1", "value": identifier}],
            "name": [{"family": "Recept", "given": ["Test"]}], "birthDate": born, "gender": sex})
    else:
        patient = requests.post(server.base + "/Patient/$register-unidentified", headers=system(server),
                                json={"resourceType": "Parameters", "parameter": [{"name": "gender", "valueString": "female"}]})
    assert patient.status_code == 201, patient.text
    patient_id = patient.json()["id"]
    start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    encounter = requests.post(server.base + "/Encounter", headers=system(server), json={
        "resourceType": "Encounter", "status": "in-progress", "subject": {"reference": f"Patient/{patient_id}"},
        "meta": {"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": UNIT}]},
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "period": {"start": start}, "serviceProvider": {"reference": f"Organization/{UNIT}"}})
    assert encounter.status_code == 201, encounter.text
    return patient_id


def draft(**extensions):
    return {"resourceType": "MedicationRequest",
            "medicationCodeableConcept": {"coding": [{"system": NPL, "code": "19990101000079"}], "text": "Ramipril Kärna kapsel 5 mg"},
            "reasonCode": [{"text": "Hypertoni"}],
            "dosageInstruction": [{"sequence": 1, "route": {"text": "Oralt"},
                                   "timing": {"repeat": {"boundsPeriod": {"start": "2026-12-06"}, "when": ["MORN"]}},
                                   "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "kapsel"}}]}],
            "dispenseRequest": {"numberOfRepeatsAllowed": 2, "quantity": {"value": 100, "unit": "kapsel"},
                                "validityPeriod": {"start": "2026-12-06", "end": "2027-12-05"}},
            "extension": [{"url": "https://karna.se/fhir/StructureDefinition/behandlingsandamal", "valueString": "mot förhöjt blodtryck"},
                          {"url": "https://karna.se/fhir/StructureDefinition/senaste-uppfoljning", "valueDate": "2027-06-01"}]
                         + [{"url": url, "valueString": value} for url, value in extensions.items()]}


def prescribe(server, doctor, patient_id, resource):
    return requests.post(f"{server.base}/Patient/{patient_id}/$prescribe", headers=doctor,
                         json={"resourceType": "Parameters", "parameter": [{"name": "prescription", "resource": resource}]})


def values(body, name):
    return [p for p in body.get("parameter", []) if p["name"] == name]


def test_prescribe_renew_end_and_a_stale_version_against_the_nll_simulator(nll):
    server, simulator = nll
    doctor = bearer(login(server, "lakare", unit="demo-lakare-uppdrag-1"))
    patient = patient_with_contact(server, personnummer(101))
    answer = prescribe(server, doctor, patient, draft())
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert values(body, "sent")[0]["valueBoolean"] is True and values(body, "sendState")[0]["valueString"] == "skickad"
    prescription = values(body, "prescription")[0]["resource"]
    text = prescription["dosageInstruction"][0]["patientInstruction"]
    assert text.split("\n") == ["Mot förhöjt blodtryck.", "1 kapsel morgon.", "Administreringssätt: oralt."]
    nll_id = next(i["value"] for i in prescription["identifier"] if i["system"] == "https://karna.se/fhir/NamingSystem/nll-forskrivning")
    # Every call to NLL carried the headers, x-provenance naming the doctor as author and enterer.
    call = simulator.control("calls")["calls"][-1]
    assert {"authorization", "x-purpose", "x-request-id", "x-context-id", "x-org-info", "x-user-agent", "x-provenance"} <= set(call["headers"])

    renewed = requests.post(f"{server.base}/MedicationRequest/{prescription['id']}/$renew", headers=doctor,
                            json={"resourceType": "Parameters", "parameter": []})
    assert renewed.status_code == 201, renewed.text
    second = values(renewed.json(), "prescription")[0]["resource"]
    assert second["priorPrescription"]["reference"] == f"MedicationRequest/{prescription['id']}"
    assert second["groupIdentifier"] == prescription["groupIdentifier"]

    # NLL's list on the user's own prescriptions shows both, each linked to its journal ordination.
    listed = requests.get(f"{server.base}/Patient/{patient}/$national-medication-list", headers=doctor, params={"access": "EGNA"})
    assert listed.status_code == 200, listed.text
    journals = {p["name"]: p for row in values(listed.json(), "row") for p in row["part"] if p["name"] == "journal"}
    rows = values(listed.json(), "row")
    assert len(rows) == 2 and all(any(p["name"] == "journal" for p in row["part"]) for row in rows), journals

    # Another system changed the first prescription in NLL: ending it here is a conflict and changes nothing.
    simulator.control("change", id=nll_id)
    stale = requests.post(f"{server.base}/MedicationRequest/{prescription['id']}/$stop-prescription", headers=doctor, params={"reason": "biverkan"})
    assert stale.status_code == 409 and "ändrats i Nationella läkemedelslistan" in stale.text, stale.text
    assert requests.get(f"{server.base}/MedicationRequest/{prescription['id']}", headers=doctor).json()["status"] == "active"
    # Makulera takes its own reasons; the second one is withdrawn in NLL too.
    wrong = requests.post(f"{server.base}/MedicationRequest/{second['id']}/$cancel-prescription", headers=doctor, params={"reason": "biverkan"})
    assert wrong.status_code == 400 and "makuleringsorsak" in wrong.text
    cancelled = requests.post(f"{server.base}/MedicationRequest/{second['id']}/$cancel-prescription", headers=doctor, params={"reason": "dubbelforskrivning"})
    assert cancelled.status_code == 200, cancelled.text
    assert values(cancelled.json(), "prescription")[0]["resource"]["status"] == "cancelled"


def test_nll_down_leaves_it_unsent_with_its_owner_until_the_outbox_sends_it_once(nll):
    server, simulator = nll
    doctor = bearer(login(server, "lakare", unit="demo-lakare-uppdrag-1"))
    patient = patient_with_contact(server, personnummer(202))
    simulator.control("fault", mode="down")
    try:
        answer = prescribe(server, doctor, patient, draft())
        assert answer.status_code == 201, answer.text
        assert values(answer.json(), "sent")[0]["valueBoolean"] is False
        assert any("ej skickat" in w["valueString"] for w in values(answer.json(), "warning"))
        prescription = values(answer.json(), "prescription")[0]["resource"]
        unsent = requests.get(f"{server.base}/MedicationRequest/$unsent-prescriptions", headers=doctor).json()
        assert [p["valueReference"]["reference"] for u in values(unsent, "unsent") for p in u["part"] if p["name"] == "prescription"] \
            == [f"MedicationRequest/{prescription['id']}"]
        reserve = requests.get(f"{server.base}/MedicationRequest/{prescription['id']}/$reserve-prescription", headers=doctor)
        assert reserve.status_code == 200 and reserve.text.startswith("RESERVRECEPT — ej skickat"), reserve.text
        # The operator sees NLL down in the metrics.
        assert 'karna_channel_reachable{channel="nll"} 0' in requests.get(f"{server.root}/metrics").text
    finally:
        simulator.control("fault", mode="none")
    # The server's outbox (every second here) sends it once NLL answers again.
    deadline = time.time() + 20
    while time.time() < deadline:
        state = requests.get(f"{server.base}/MedicationRequest/{prescription['id']}", headers=doctor).json()
        if any(t["code"] == "skickad" for t in state["meta"].get("tag", []) if t["system"] == "https://karna.se/fhir/CodeSystem/nll-status"):
            break
        time.sleep(0.5)
    else:
        pytest.fail("the outbox did not send the prescription within 20 s")
    assert 'karna_channel_reachable{channel="nll"} 1' in requests.get(f"{server.root}/metrics").text
    posts = [c for c in simulator.control("calls")["calls"] if c["method"] == "POST" and c["path"] == "/MedicationRequest"
             and c["headers"].get("x-request-id") == state.get("_request_id", c["headers"].get("x-request-id"))]
    assert posts
    listed = requests.get(f"{server.base}/Patient/{patient}/$national-medication-list", headers=doctor, params={"access": "EGNA"}).json()
    linked = [p["valueReference"]["reference"] for row in values(listed, "row") for p in row["part"] if p["name"] == "journal"]
    assert linked.count(f"MedicationRequest/{prescription['id']}") == 1


def test_a_patient_on_reservnummer_gets_the_prescription_at_a_named_pharmacy(nll):
    server, simulator = nll
    doctor = bearer(login(server, "lakare", unit="demo-lakare-uppdrag-1"))
    patient = patient_with_contact(server, None)
    refused = prescribe(server, doctor, patient, draft())
    assert refused.status_code == 400 and "mottagande apotek" in refused.text, refused.text
    answer = prescribe(server, doctor, patient, draft(**{"https://karna.se/fhir/StructureDefinition/mottagande-apotek": "7350045511119"}))
    assert answer.status_code == 201 and values(answer.json(), "sent")[0]["valueBoolean"] is True, answer.text
    prescription = values(answer.json(), "prescription")[0]["resource"]
    sent = next(c for c in reversed(simulator.control("calls")["calls"]) if c["method"] == "POST")
    assert sent["path"] == "/MedicationRequest"
    ended = requests.post(f"{server.base}/MedicationRequest/{prescription['id']}/$stop-prescription", headers=doctor, params={"reason": "behandling-klar"})
    assert ended.status_code == 200 and values(ended.json(), "sent")[0]["valueBoolean"] is True, ended.text
    # NLL's list cannot be read without a personnummer: the journal keeps the NLL id instead.
    listed = requests.get(f"{server.base}/Patient/{patient}/$national-medication-list", headers=doctor, params={"access": "SAMTYCKE"})
    assert listed.status_code == 400 and "personnummer" in listed.text


from test_webapp import browser, log_in, wait_for  # noqa: E402,F401  (the shared Chromium with axe-core checks)


def fill_prescription(driver, purpose):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.find_element(By.ID, "product").send_keys("ramipril")

    def offered(d):
        return d.execute_script("return Array.from(document.querySelectorAll('#product-list option')).map(function (o) { return o.value; })")
    wait_for(driver, lambda d: any(value.startswith("19990101000079") for value in offered(d)), "the catalogue's suggestions")
    product = driver.find_element(By.ID, "product")
    product.clear()
    product.send_keys(next(value for value in offered(driver) if value.startswith("19990101000079")))
    driver.find_element(By.ID, "dose").send_keys("1")
    driver.find_element(By.ID, "unit").send_keys("kapsel")
    Select(driver.find_element(By.ID, "route")).select_by_visible_text("Oralt")
    driver.find_element(By.CSS_SELECTOR, "input[name=when_MORN]").click()
    driver.find_element(By.ID, "purpose").send_keys(purpose)
    driver.find_element(By.ID, "reason").send_keys("Hypertoni")
    driver.find_element(By.ID, "quantity").send_keys("100")
    driver.find_element(By.ID, "quantityUnit").send_keys("kapsel")


def test_a_doctor_prescribes_in_the_browser_reads_nll_on_consent_and_prints_a_reserve_prescription(nll, browser):
    """The e-recept form with type-ahead and the patient text before signing, NLL's list behind the åtkomsttyp
    dialogue, and — NLL down — the ej skickade list with the reservrecept; every page checked by axe-core."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    server, simulator = nll
    patient = patient_with_contact(server, personnummer(303))
    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-1")
    browser.get(f"{server.root}/patienter/{patient}/lakemedel")
    browser.find_element(By.LINK_TEXT, "Nytt e-recept").click()
    wait_for(browser, lambda d: d.title.startswith("Nytt e-recept"), "the prescription form")
    fill_prescription(browser, "mot förhöjt blodtryck")
    # The patient text follows the typing, before any button.
    wait_for(browser, lambda d: d.find_element(By.ID, "live-text").text.split("\n") == ["Mot förhöjt blodtryck.", "1 kapsel morgon.", "Administreringssätt: oralt."],
             "the live patient text")
    # Another dosage type says itself as it is chosen; back to the times, the text is the times' again.
    def choose(kind):
        # Scrolled to the middle: the page is scrolled past it, and the sticky patient banner covers the top.
        radio = browser.find_element(By.CSS_SELECTOR, f"input[name=dosageKind][value={kind}]")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", radio)
        radio.click()
    choose("intervall")
    browser.find_element(By.ID, "intervalValue").send_keys("8")
    wait_for(browser, lambda d: "1 kapsel var 8:e timme." in d.find_element(By.ID, "live-text").text.split("\n"), "the interval's patient text")
    choose("tillfalle")
    wait_for(browser, lambda d: "1 kapsel morgon." in d.find_element(By.ID, "live-text").text.split("\n"), "the times' patient text again")
    browser.find_element(By.CSS_SELECTOR, "button[value=kontrollera]").click()
    wait_for(browser, lambda d: "Doseringsanvisning till patienten" in d.page_source, "the patient text before signing")
    text = browser.find_element(By.ID, "patient-text").text
    assert text.split("\n") == ["Mot förhöjt blodtryck.", "1 kapsel morgon.", "Administreringssätt: oralt."], text
    browser.find_element(By.CSS_SELECTOR, "button[value=signera]").click()
    wait_for(browser, lambda d: "Receptet är skickat till Nationella läkemedelslistan." in d.page_source, "NLL's list after signing")
    assert "Ramipril Kärna" in browser.page_source and "Förskrivning" in browser.page_source and "Aktiv" in browser.page_source

    Select(browser.find_element(By.ID, "atkomst")).select_by_visible_text("Samtycke")
    browser.find_element(By.ID, "show-list").click()
    wait_for(browser, lambda d: "atkomst=SAMTYCKE" in d.current_url and 'id="access-name">Samtycke<' in d.page_source, "the list read on consent")

    simulator.control("fault", mode="error500")
    try:
        browser.get(f"{server.root}/patienter/{patient}/recept/ny")
        wait_for(browser, lambda d: d.title.startswith("Nytt e-recept"), "the prescription form again")
        fill_prescription(browser, "mot högt blodtryck")
        browser.find_element(By.CSS_SELECTOR, "button[value=signera]").click()
        wait_for(browser, lambda d: "EJ SKICKAT" in d.page_source, "the unsent notice")
        browser.find_element(By.LINK_TEXT, "Ej skickade recept").click()
        wait_for(browser, lambda d: d.title.startswith("Ej skickade recept"), "the prescriber's ej skickade list")
        assert "Nationella läkemedelslistan svarar inte." in browser.page_source
        browser.find_element(By.LINK_TEXT, "Skriv ut reservrecept").click()
        wait_for(browser, lambda d: d.title.startswith("Reservrecept"), "the reserve prescription")
        assert "RESERVRECEPT — ej skickat till Nationella läkemedelslistan" in browser.find_element(By.ID, "reservrecept").text
    finally:
        simulator.control("fault", mode="none")


def test_a_doctor_renews_replaces_ends_and_cancels_from_nlls_list_in_the_browser(nll, browser):
    """From NLL's list in Chromium: Förnya (a new prescription in the chain, sent), Ersätt by a product of another ATC
    code (refused, saying why), Avsluta and Makulera, each with its own reasons — each answer said on the list, each
    change in the journal and in NLL; every page checked by axe-core."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    server, simulator = nll
    doctor = bearer(login(server, "lakare", unit="demo-lakare-uppdrag-1"))
    patient = patient_with_contact(server, personnummer(305))
    answer = prescribe(server, doctor, patient, draft())
    assert answer.status_code == 201, answer.text
    first = values(answer.json(), "prescription")[0]["resource"]["id"]

    def read(id):
        return requests.get(f"{server.base}/MedicationRequest/{id}", headers=doctor).json()

    def act(id, action):
        form = browser.find_element(By.CSS_SELECTOR, f"form[action='/recept/{id}/{action}']")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", form)
        return form

    def said(text):
        def notice(d):
            # The list before the click has a notice too, gone stale once the answer's page loads.
            try:
                found = d.find_elements(By.ID, "notice")
                return found[0].text if found else ""
            except StaleElementReferenceException:
                return ""
        try:
            wait_for(browser, lambda d: text in notice(d), text)
        except Exception:
            raise AssertionError(f"expected {text!r} on the list, it says {notice(browser)!r}")

    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-1")
    browser.get(f"{server.root}/patienter/{patient}/nll")
    wait_for(browser, lambda d: d.title.startswith("Nationella läkemedelslistan"), "NLL's list")

    # Förnya: a new prescription that names the first as its prior one, in the same chain, sent to NLL.
    # Only this patient's: the server's outbox may be sending the previous test's unsent prescription meanwhile.
    def posts_for_patient():
        return len([c for c in simulator.control("calls")["calls"] if c["method"] == "POST" and c.get("patient") == personnummer(305)])
    posts = posts_for_patient()
    act(first, "fornya").find_element(By.TAG_NAME, "button").click()
    said("Receptet är förnyat och skickat.")
    renewed = requests.get(f"{server.base}/MedicationRequest", headers=doctor,
                           params={"subject": f"Patient/{patient}", "status": "active"}).json()
    second = next(e["resource"] for e in renewed["entry"] if e["resource"].get("priorPrescription", {}).get("reference") == f"MedicationRequest/{first}")
    assert second["groupIdentifier"] == read(first)["groupIdentifier"]
    assert posts_for_patient() == posts + 1, "the renewal was sent once"

    # Ersätt by paracetamol (another ATC code than ramipril's complete one): refused, the prescription unchanged.
    replace = act(second["id"], "ersatt")
    replace.find_element(By.NAME, "product").send_keys("19990101000017")
    replace.find_element(By.TAG_NAME, "button").click()
    said("Ersättning måste ha samma ATC-kod (C09AA05).")
    assert read(second["id"])["status"] == "active"

    # Avsluta and makulera each take their own reasons, and each reaches NLL.
    stop = act(first, "avsluta")
    Select(stop.find_element(By.NAME, "reason")).select_by_index(0)
    stop.find_element(By.TAG_NAME, "button").click()
    said("Receptet är avslutat i Nationella läkemedelslistan.")
    assert read(first)["status"] == "stopped"
    cancel = act(second["id"], "makulera")
    cancelling = [o.text for o in Select(cancel.find_element(By.NAME, "reason")).options]
    stopping = [o.text for o in Select(browser.find_element(By.ID, f"stop-{second['id']}")).options]
    assert cancelling and stopping and cancelling != stopping, (cancelling, stopping)
    Select(cancel.find_element(By.NAME, "reason")).select_by_index(0)
    cancel.find_element(By.TAG_NAME, "button").click()
    said("Receptet är makulerat i Nationella läkemedelslistan.")
    assert read(second["id"])["status"] == "cancelled"
    # Nothing active is left to act on.
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action$='/fornya']")
