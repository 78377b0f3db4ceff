"""Imaging with a real PACS: Debian's Orthanc with its DICOMweb plugin (Tests/Support/pacs.py), started by the
test. An imaging order becomes an ImagingStudy with its accession number; the modality's images (pydicom's test
CT, given that accession number) are stored in Orthanc; Kärna finds the study by QIDO-RS and reads its series with
WADO-RS metadata; the chart links to it and retrieves it (WADO-RS) through Kärna; the radiology report arrives as
ORU^R01 from the RIS, and as a FHIR DiagnosticReport, and is signed like a lab result."""
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import ROOT, Server, backends, free_port
from test_access import bearer, login
from test_prescribing import patient_with_contact, personnummer, system
from test_webapp import browser, log_in, wait_for as page_wait  # noqa: F401  (the shared Chromium with axe-core checks)

sys.path.insert(0, os.path.join(ROOT, "Tests", "Support"))
import lab_simulator  # noqa: E402
import pacs as pacs_support  # noqa: E402

pytestmark = pytest.mark.skipif(not pacs_support.available() and not os.environ.get("KARNA_E2E_REQUIRE_BROWSER"),
                                reason="Orthanc with DICOMweb is not installed (apt-get install orthanc orthanc-dicomweb)")


@pytest.fixture(scope="module", params=backends())
def imaging(request):
    pacs = pacs_support.PACS()
    with tempfile.TemporaryDirectory() as folder:
        mllp = free_port()
        server = Server(request.param, folder, extra_env={"KARNA_MLLP_PORT": str(mllp), "KARNA_DICOMWEB_URL": pacs.dicomweb})
        server.mllp_port = mllp
        try:
            yield server, pacs
        finally:
            server.stop()
            pacs.stop()


def order_imaging(server, doctor, patient, code="RTG-THORAX", name="Röntgen lungor"):
    answer = requests.post(f"{server.base}/Patient/{patient}/$order-lab", headers=doctor, json={"resourceType": "Parameters", "parameter": [
        {"name": "kind", "valueCode": "bild"}, {"name": "code", "valueCode": code}, {"name": "display", "valueString": name}]})
    assert answer.status_code == 201, answer.text
    order = answer.json()
    accession = next(i["value"] for i in order["identifier"] if i["system"].endswith("bestallningsnummer"))
    return order["id"], accession


def study_of(server, order_id):
    bundle = requests.get(f"{server.base}/ImagingStudy", params={"based-on": f"ServiceRequest/{order_id}"}, headers=system(server)).json()
    return bundle["entry"][0]["resource"]


def test_an_imaging_order_finds_its_study_in_the_pacs_and_the_report_is_signed(imaging, browser):
    from selenium.webdriver.common.by import By

    server, pacs = imaging
    doctor = bearer(login(server, "lakare", unit="demo-lakare-uppdrag-1"))
    pnr = personnummer(401)
    patient = patient_with_contact(server, pnr)
    order_id, accession = order_imaging(server, doctor, patient)
    study = study_of(server, order_id)
    assert study["status"] == "registered" and study["endpoint"][0]["reference"] == "Endpoint/pacs"
    assert any(i["value"] == accession and i["type"]["coding"][0]["code"] == "ACSN" for i in study["identifier"])
    endpoint = requests.get(f"{server.base}/Endpoint/pacs", headers=system(server)).json()
    assert endpoint["address"] == pacs.dicomweb and endpoint["connectionType"]["code"] == "dicom-wado-rs"

    # The modality sends the images to the PACS with the order's accession number; QIDO-RS finds them there …
    uid = pacs.store(accession, description="Lungor")
    assert pacs.qido(accession)[0]["0020000D"]["Value"] == [uid]
    # … and Kärna, asked (or its job, each outbox run), records the study: UID, series, instances. Asked several
    # times at once — as a clinician's click races the outbox job — every answer is the study, none a 412.
    def refresh(_):
        return requests.post(f"{server.base}/ImagingStudy/{study['id']}/$refresh", headers=doctor, json={"resourceType": "Parameters"})
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(refresh, range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers if a.status_code != 200]
    found = answers[0].json()
    assert found["status"] == "available" and found["numberOfInstances"] == 1 and found["numberOfSeries"] == 1
    assert {"system": "urn:dicom:uid", "value": "urn:oid:" + uid} in found["identifier"]
    assert found["series"][0]["modality"]["code"] == "CT"

    # The radiology report from the RIS (ORU^R01), its text kept exactly, linked to the study and signed.
    text = lab_simulator.oru("RIS-1", accession, pnr=pnr, application="RIS",
                             analyses=(("TX", "RTG-THORAX^Röntgen lungor^L", "Ingen blödning. Inga infiltrat.", "", "", "", "F"),))
    assert lab_simulator.send(server.mllp_port, [lab_simulator.encode(text)])[0][:2] == ("AA", "RIS-1")
    reports = requests.get(f"{server.base}/DiagnosticReport", params={"based-on": f"ServiceRequest/{order_id}"}, headers=system(server)).json()
    report = reports["entry"][0]["resource"]
    assert report["imagingStudy"][0]["reference"] == f"ImagingStudy/{study['id']}"
    observation = requests.get(f"{server.base}/{report['result'][0]['reference']}", headers=system(server)).json()
    assert observation["valueString"] == "Ingen blödning. Inga infiltrat."

    # In the browser: the chart's link to the study, its series from the PACS, and the study retrieved through Kärna.
    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-1")
    browser.get(f"{server.root}/provsvar/{report['id']}")
    assert "Ingen blödning." in browser.page_source
    browser.find_element(By.LINK_TEXT, "Bilder").click()
    page_wait(browser, lambda d: "Serier i bildarkivet" in d.page_source, "the study's series")
    assert "CT" in browser.find_element(By.TAG_NAME, "table").text
    fetched = browser.execute_async_script("""
        var done = arguments[arguments.length - 1];
        fetch(document.getElementById('retrieve').href).then(function (r) {
            return r.arrayBuffer().then(function (b) { done([r.status, r.headers.get('content-type'), b.byteLength]); });
        }).catch(function (e) { done([0, String(e), 0]); });""")
    assert fetched[0] == 200 and fetched[1].startswith("multipart/related") and fetched[2] > 1000, fetched
    browser.get(f"{server.root}/provsvar/{report['id']}")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/vidimera'] button").click()
    page_wait(browser, lambda d: "Svaret är vidimerat." in d.page_source, "the report signed")

    # A second examination's report as a FHIR DiagnosticReport; a final one without text is refused.
    second, _ = order_imaging(server, doctor, patient, code="DT-SKALLE", name="DT skalle")
    empty = requests.post(f"{server.base}/DiagnosticReport/$submit-report", headers=system(server), json={"resourceType": "Parameters", "parameter": [
        {"name": "report", "resource": {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "DT skalle"},
                                        "basedOn": [{"reference": f"ServiceRequest/{second}"}]}}]})
    assert empty.status_code == 409 and "must have its text" in empty.text, empty.text
    submitted = requests.post(f"{server.base}/DiagnosticReport/$submit-report", headers=system(server), json={"resourceType": "Parameters", "parameter": [
        {"name": "report", "resource": {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "DT skalle"},
                                        "basedOn": [{"reference": f"ServiceRequest/{second}"}], "conclusion": "Ingen blödning."}}]})
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["conclusion"] == "Ingen blödning." and submitted.json()["subject"]["reference"] == f"Patient/{patient}"
    inbox = requests.get(f"{server.base}/Task/$sign-off-inbox", headers=doctor).json()
    assert any(e["resource"]["focus"]["reference"] == f"DiagnosticReport/{submitted.json()['id']}" for e in inbox.get("entry", []))
