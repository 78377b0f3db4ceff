"""Lab results over HL7 v2 end to end: `karna serve --mllp-port` with the lab simulator
(Tests/Support/lab_simulator.py — a test component built on hl7apy) on the other end of a real MLLP socket.
A doctor orders over FHIR; the lab's ORU^R01 arrives split across writes and several to a write; ACK AA comes
only for what is stored, AE with ERR for what is wrong; a result for no order goes to the unmatched list; a
kill -9 between receipt and ACK loses nothing, and the resend is stored once; the doctor opens and signs."""
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from conftest import ROOT, Server, backends, free_port
from test_access import bearer, login
from test_prescribing import patient_with_contact, personnummer, system

sys.path.insert(0, os.path.join(ROOT, "Tests", "Support"))
import lab_simulator  # noqa: E402

POTASSIUM = ("NM", "K^Kalium^L", "4,2", "mmol/L", "3.5-4.6", "", "F")


@pytest.fixture(scope="module", params=backends())
def lab(request):
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        # The lab's order port is the simulator's; the imaging channel has no order route (a misconfiguration to test).
        simulator = lab_simulator.Lab(results_to=port)
        with open(os.path.join(ROOT, "Sources", "Results", "ResultsData", "lab-channels.json")) as handle:
            channels = json.load(handle)
        channels["channels"][0]["orders"].update(port=simulator.port, charset="UNICODE UTF-8")
        del channels["channels"][1]["orders"]
        channel_file = os.path.join(folder, "channels.json")
        with open(channel_file, "w") as handle:
            json.dump(channels, handle)
        server = Server(request.param, folder, extra_env={"KARNA_MLLP_PORT": str(port), "KARNA_LAB_CHANNELS_FILE": channel_file,
                                                          "KARNA_ORDER_UNDELIVERED_SECONDS": "5", "KARNA_MLLP_TIMEOUT_SECONDS": "1"})
        server.mllp_port = port
        server.simulator = simulator
        wait_for_mllp(port)
        try:
            yield server
        finally:
            server.stop()
            simulator.stop()


def wait_for_mllp(port):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens for MLLP on {port}")


def order(server, doctor, patient, code="NPU03230", kind="lab"):
    answer = requests.post(f"{server.base}/Patient/{patient}/$order-lab", headers=doctor, json={
        "resourceType": "Parameters", "parameter": [{"name": "code", "valueCode": code}, {"name": "kind", "valueCode": kind},
                                                    {"name": "display", "valueString": "P—Kalium"}]})
    assert answer.status_code == 201, answer.text
    placer = next(i["value"] for i in answer.json()["identifier"] if i["system"].endswith("bestallningsnummer"))
    return answer.json()["id"], placer


def observations(server, patient):
    bundle = requests.get(f"{server.base}/Observation", params={"patient": patient}, headers=system(server)).json()
    return [entry["resource"] for entry in bundle.get("entry", [])]


def test_results_arrive_split_and_together_are_acked_after_storing_and_errors_name_the_field(lab):
    lab.simulator.send_results = False  # the test sends the results itself
    doctor = bearer(login(lab, "lakare", unit="demo-lakare-uppdrag-1"))
    patient = patient_with_contact(lab, personnummer(201))
    _, placer = order(lab, doctor, patient)
    pnr = personnummer(201)
    # Split into 7-byte writes: the frame is whole only at its end block.
    text = lab_simulator.oru("E2E-1", placer, pnr=pnr, analyses=(POTASSIUM,), charset="8859/1", report_notes=("Provet centrifugerat, åäöÅÄÖ µ ±",))
    acks = lab_simulator.send(lab.mllp_port, [lab_simulator.encode(text, "8859/1")], mode="split")
    assert acks[0][:2] == ("AA", "E2E-1"), acks
    stored = observations(lab, patient)
    assert len(stored) == 1 and stored[0]["valueQuantity"]["value"] == 4.2
    assert {c["code"] for c in stored[0]["code"]["coding"]} == {"NPU03230", "K"}
    report = requests.get(f"{lab.base}/DiagnosticReport", params={"patient": patient}, headers=system(lab)).json()["entry"][0]["resource"]
    assert report["conclusion"] == "Provet centrifugerat, åäöÅÄÖ µ ±"

    # Three frames in one write: a correction, a result for no order, and one with a bad value; three ACKs in order.
    corrected = lab_simulator.oru("E2E-2", placer, pnr=pnr, analyses=(("NM", "K^Kalium^L", "3.9", "mmol/L", "3.5-4.6", "", "C"),))
    unmatched = lab_simulator.oru("E2E-3", placer + "-9", pnr=pnr, analyses=(POTASSIUM,))
    bad = lab_simulator.oru("E2E-4", placer, pnr=pnr, analyses=(("NM", "K^Kalium^L", "hög", "mmol/L", "", "", "F"),))
    acks = lab_simulator.send(lab.mllp_port, [lab_simulator.encode(t) for t in (corrected, unmatched, bad)], mode="together")
    assert [a[:2] for a in acks] == [("AA", "E2E-2"), ("AA", "E2E-3"), ("AE", "E2E-4")], acks
    assert acks[2][2] == "OBX^1^5" and "not a number" in acks[2][3]
    stored = observations(lab, patient)
    assert len(stored) == 1 and stored[0]["status"] == "corrected" and stored[0]["valueQuantity"]["value"] == 3.9
    assert stored[0]["meta"]["versionId"] == "2"
    old = requests.get(f"{lab.base}/Observation/{stored[0]['id']}/_history/1", headers=system(lab)).json()
    assert old["valueQuantity"]["value"] == 4.2
    listed = requests.get(f"{lab.base}/Task/$unmatched-results", headers=system(lab)).json()
    tasks = [e["resource"] for e in listed.get("entry", [])]
    assert any(placer + "-9" in t["description"] and t["owner"]["reference"] == "Organization/hosp-1" for t in tasks), tasks
    # Matched by hand over FHIR, by the order's beställningsnummer: the entry closes and names the report it filed.
    entry = next(t for t in tasks if placer + "-9" in t["description"])
    matched = requests.post(f"{lab.base}/Task/{entry['id']}/$match-result", headers=system(lab), json={
        "resourceType": "Parameters", "parameter": [{"name": "placer", "valueString": placer}]})
    assert matched.status_code == 200 and matched.json()["entry"][0]["resource"]["resourceType"] == "DiagnosticReport", matched.text
    closed = requests.get(f"{lab.base}/Task/{entry['id']}", headers=system(lab)).json()
    assert closed["status"] == "completed" and closed["output"][0]["valueReference"]["reference"].startswith("DiagnosticReport/"), closed

    # The doctor opens the result, then signs it.
    refused = requests.post(f"{lab.base}/DiagnosticReport/{report['id']}/$sign-result", headers=doctor, json={"resourceType": "Parameters"})
    assert refused.status_code == 409 and "Öppna svaret" in refused.text, refused.text
    opened = requests.post(f"{lab.base}/DiagnosticReport/{report['id']}/$open-result", headers=doctor, json={"resourceType": "Parameters"})
    assert opened.status_code == 200, opened.text
    signed = requests.post(f"{lab.base}/DiagnosticReport/{report['id']}/$sign-result", headers=doctor, json={"resourceType": "Parameters"})
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "completed"


def test_kill_9_between_receipt_and_ack_loses_nothing_and_the_resend_is_stored_once(lab):
    lab.simulator.send_results = False
    doctor = bearer(login(lab, "lakare", unit="demo-lakare-uppdrag-1"))
    pnr = personnummer(202)
    patient = patient_with_contact(lab, pnr)
    _, first = order(lab, doctor, patient)
    _, second = order(lab, doctor, patient)
    # 1: stored, then the server dies before the lab reads the ACK; the lab resends after the restart.
    message = lab_simulator.encode(lab_simulator.oru("E2E-K1", first, pnr=pnr, analyses=(POTASSIUM,)))
    lab_simulator.send(lab.mllp_port, [message], read=False)
    deadline = time.time() + 20
    while not observations(lab, patient) and time.time() < deadline:
        time.sleep(0.1)
    assert len(observations(lab, patient)) == 1
    lab.crash_and_restart()
    wait_for_mllp(lab.mllp_port)
    acks = lab_simulator.send(lab.mllp_port, [message])
    assert acks[0][:2] == ("AA", "E2E-K1")
    # 2: the server dies the moment the message is written (before or during the commit: a commit is whole).
    message = lab_simulator.encode(lab_simulator.oru("E2E-K2", second, pnr=pnr, analyses=(POTASSIUM,)))
    lab_simulator.send(lab.mllp_port, [message], read=False)
    lab.crash_and_restart()
    wait_for_mllp(lab.mllp_port)
    acks = lab_simulator.send(lab.mllp_port, [message])
    assert acks[0][:2] == ("AA", "E2E-K2"), acks
    stored = observations(lab, patient)
    assert len(stored) == 2, [o["id"] for o in stored]
    assert all(o["meta"]["versionId"] == "1" for o in stored)
    reports = requests.get(f"{lab.base}/DiagnosticReport", params={"patient": patient}, headers=system(lab)).json()
    assert len(reports.get("entry", [])) == 2


def state(server, order_id):
    order = requests.get(f"{server.base}/ServiceRequest/{order_id}", headers=system(server)).json()
    tags = {t["system"]: t["code"] for t in order.get("meta", {}).get("tag", [])}
    problem = next((e["valueString"] for e in order.get("extension", []) if e["url"].endswith("leveransproblem")), "")
    return tags.get("https://karna.se/fhir/CodeSystem/bestallning-leverans"), problem, order


def wait_for(predicate, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_an_order_reaches_the_lab_as_oml_and_its_result_comes_back_or_it_is_listed_as_ej_levererad(lab):
    doctor = bearer(login(lab, "lakare", unit="demo-lakare-uppdrag-1"))
    pnr = personnummer(203)
    patient = patient_with_contact(lab, pnr)
    simulator = lab.simulator
    simulator.send_results = True

    # Delivered: the lab takes the OML^O21 (AA) and answers with the result over Kärna's MLLP port.
    simulator.answer = "AA"
    delivered, placer = order(lab, doctor, patient)
    assert wait_for(lambda: state(lab, delivered)[0] == "skickad"), state(lab, delivered)
    received = [o for o in simulator.orders if o.orc.orc_2.value == placer]
    assert received and received[0].msh.msh_9.value.startswith("OML^O21") and received[0].orc.orc_1.value == "NW"
    assert received[0].pid.pid_3.value.split("^")[0] == pnr
    # The specimen to draw, as the channel's instructions give it (SPM-2 the placer number, SPM-4 the kind, SPM-27 the tube).
    assert received[0].spm.spm_2.value == placer and received[0].spm.spm_4.value.startswith("PLAS^Plasma")
    assert "Litiumheparinrör" in received[0].spm.spm_27.value
    assert wait_for(lambda: observations(lab, patient)), "the lab's result did not come back"
    assert wait_for(lambda: state(lab, delivered)[2]["status"] == "completed")

    # Refused by the lab (AR): ej levererad at once, with the lab's words, on the requester's list.
    simulator.answer = "AR"
    refused, _ = order(lab, doctor, patient)
    assert wait_for(lambda: state(lab, refused)[0] == "ej-levererad"), state(lab, refused)
    assert "Remissen saknar provtagningstid" in state(lab, refused)[1]
    # An error answer (AE) is the same for the requester.
    simulator.answer = "AE"
    errored, _ = order(lab, doctor, patient)
    assert wait_for(lambda: state(lab, errored)[0] == "ej-levererad"), state(lab, errored)

    # No route: the imaging channel takes no orders here, so an imaging order is ej levererad the moment it is made.
    unrouted, _ = order(lab, doctor, patient, code="RTG-THORAX", kind="bild")
    assert state(lab, unrouted)[0] == "ej-levererad" and "Ingen kanal" in state(lab, unrouted)[1]

    # A lab that does not answer, or answers for another message: retried, and listed once it waited the limit (5 s here).
    simulator.answer = "silent"
    silent, _ = order(lab, doctor, patient)
    simulator.answer = "wrong-ack"
    confused, _ = order(lab, doctor, patient)
    def listed():
        answer = requests.get(f"{lab.base}/ServiceRequest/$undelivered-orders", headers=doctor).json()
        return {e["resource"]["id"] for e in answer.get("entry", [])}
    assert wait_for(lambda: {refused, errored, unrouted, silent, confused} <= listed(), seconds=30), listed()
    assert delivered not in listed()
    assert wait_for(lambda: "kunde inte nås" in state(lab, silent)[1], seconds=30), state(lab, silent)
    assert state(lab, silent)[0] == "ej-skickad", "an unreachable lab's order is still retried"

    # Put right (the lab answers again): sending again delivers it, and it leaves the list.
    simulator.answer = "AA"
    again = requests.post(f"{lab.base}/ServiceRequest/{refused}/$send-order", headers=doctor, json={"resourceType": "Parameters"})
    assert again.status_code == 200, again.text
    assert state(lab, refused)[0] == "skickad"
    assert refused not in listed()


def cancellation_state(server, order_id):
    order = state(server, order_id)[2]
    tags = {t["system"]: t["code"] for t in order.get("meta", {}).get("tag", [])}
    return order["status"], tags.get("https://karna.se/fhir/CodeSystem/bestallning-makulering")


def test_a_cancelled_order_reaches_the_lab_as_orc_ca_and_one_the_lab_refuses_is_listed_for_the_requester(lab):
    doctor = bearer(login(lab, "lakare", unit="demo-lakare-uppdrag-1"))
    patient = patient_with_contact(lab, personnummer(207))
    simulator = lab.simulator
    simulator.answer, simulator.send_results = "AA", False

    def cancel(order_id, reason="dubblett", note=None):
        parameters = [{"name": "reason", "valueCode": reason}] + ([{"name": "note", "valueString": note}] if note else [])
        return requests.post(f"{lab.base}/ServiceRequest/{order_id}/$cancel-order", headers=doctor,
                             json={"resourceType": "Parameters", "parameter": parameters})

    try:
        # Sent, then cancelled: the lab receives OML^O21 with ORC-1 CA and the same placer number, and takes it.
        taken, placer = order(lab, doctor, patient)
        assert wait_for(lambda: state(lab, taken)[0] == "skickad"), state(lab, taken)
        bad = cancel(taken, reason="tråkig")
        assert bad.status_code == 400 and "reason must be one of" in bad.text, bad.text
        answer = cancel(taken, note="Tagen på akuten")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "revoked"
        assert wait_for(lambda: cancellation_state(lab, taken) == ("revoked", "skickad")), cancellation_state(lab, taken)
        cancels = [o for o in simulator.orders if o.orc.orc_2.value == placer and o.orc.orc_1.value == "CA"]
        assert len(cancels) == 1 and cancels[0].msh.msh_9.value.startswith("OML^O21")
        assert placer in simulator.cancelled

        # The lab has already analysed it: the cancellation is refused, and the requester's list says so and what to do.
        analysed, analysed_placer = order(lab, doctor, patient)
        assert wait_for(lambda: state(lab, analysed)[0] == "skickad")
        simulator.answered.add(analysed_placer)
        assert cancel(analysed, reason="ej-indicerad").status_code == 200
        assert wait_for(lambda: cancellation_state(lab, analysed)[1] == "ej-levererad"), cancellation_state(lab, analysed)
        listed = requests.get(f"{lab.base}/ServiceRequest/$undelivered-orders", headers=doctor).json()
        entry = next(e["resource"] for e in listed.get("entry", []) if e["resource"]["id"] == analysed)
        problem = next(e["valueString"] for e in entry["extension"] if e["url"].endswith("leveransproblem"))
        assert "tog inte emot makuleringen (AR): Provet är redan analyserat" in problem and "Ring labbet" in problem, problem

        # Answered orders cannot be cancelled at all.
        simulator.send_results = True
        answered, _ = order(lab, doctor, patient)
        assert wait_for(lambda: state(lab, answered)[2]["status"] == "completed", seconds=30)
        refused = cancel(answered)
        assert refused.status_code == 409 and "cannot be cancelled" in refused.text, refused.text
    finally:
        simulator.answer, simulator.send_results = "AA", True


from test_webapp import browser, log_in, wait_for as page_wait  # noqa: E402,F401  (the shared Chromium with axe-core checks)


def test_a_doctor_orders_in_the_browser_acknowledges_the_critical_value_and_signs_the_result(lab, browser):
    """The order form on the Provsvar tab, the lab's critical answer coming back over MLLP, the cumulative table
    and trend, the critical value acknowledged with its read-back, the result opened and signed, the unmatched
    and undelivered lists; every page checked by axe-core."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    simulator = lab.simulator
    simulator.answer, simulator.send_results, simulator.value = "AA", True, "6,4"
    pnr = personnummer(204)
    patient = patient_with_contact(lab, pnr)
    browser.delete_all_cookies()
    log_in(browser, lab, "lakare", "uppdrag-1")
    browser.get(f"{lab.root}/patienter/{patient}/provsvar")
    browser.find_element(By.LINK_TEXT, "Beställ prov").click()
    page_wait(browser, lambda d: d.title.startswith("Beställ prov"), "the order form")
    Select(browser.find_element(By.ID, "order-code")).select_by_value("NPU03230")
    browser.find_element(By.ID, "priority-urgent").click()
    browser.find_element(By.CSS_SELECTOR, "form[action$='/bestall'] button[type=submit]").click()
    page_wait(browser, lambda d: "är registrerad med beställningsnummer" in d.page_source, "the order registered")

    # The lab takes the order and answers 6,4: critical by the lab's list.
    def answered(d):
        d.get(f"{lab.root}/patienter/{patient}/provsvar")
        return "6,4" in d.page_source
    page_wait(browser, answered, "the lab's answer in the cumulative table")
    table = browser.find_element(By.CSS_SELECTOR, "table.cumulative").text
    assert "Kritiskt högt" in table and "3.5-4.6" in table, table
    browser.find_element(By.LINK_TEXT, "Kalium").click()
    page_wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.trend"), "the trend")
    assert "Trend: Kalium" in browser.page_source

    browser.get(f"{lab.root}/provsvar")
    page_wait(browser, lambda d: "Larmvärden att kvittera" in d.page_source, "the critical value to acknowledge")
    # (Orders an earlier test left retrying may have been answered 6,4 too: this patient's alarm is the one taken.)
    alarm = browser.find_element(By.XPATH, f"//li[a[@href='/patienter/{patient}/provsvar']]//form[starts-with(@action, '/larm/')]")
    action = alarm.get_dom_attribute("action")
    alarm.find_element(By.CSS_SELECTOR, "input[name=readBack]").send_keys("Kalium 6,4")
    alarm.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    def gone(d):
        actions = d.execute_script("return Array.from(document.querySelectorAll(\"form[action^='/larm/']\")).map(function (f) { return f.getAttribute('action'); })")
        return d.current_url.endswith("/provsvar") and action not in actions
    page_wait(browser, gone, "the acknowledged alarm gone")
    browser.find_element(By.XPATH, f"//tr[td/a[@href='/patienter/{patient}/provsvar']]//a[text()='Kalium']").click()
    page_wait(browser, lambda d: "Vidimering" in d.page_source, "the result opened")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/vidimera'] button").click()
    page_wait(browser, lambda d: "Svaret är vidimerat." in d.page_source, "the result signed")

    # A result for no order on the unmatched list; the undelivered list (a refused order on it).
    lab_simulator.send(lab.mllp_port, [lab_simulator.encode(lab_simulator.oru("E2E-W1", "99999999-0001", pnr=pnr, analyses=(POTASSIUM,)))])
    browser.get(f"{lab.root}/provsvar/omatchade")
    assert "ingen beställning har beställningsnumret 99999999-0001" in browser.page_source
    simulator.answer = "AR"
    doctor = bearer(login(lab, "lakare", unit="demo-lakare-uppdrag-1"))
    order(lab, doctor, patient)
    def listed(d):
        d.get(f"{lab.root}/bestallningar/ej-levererade")
        return "Remissen saknar provtagningstid" in d.page_source
    page_wait(browser, listed, "the refused order on the ej levererad list")
    simulator.answer = "AA"

    # An order sent to the lab, cancelled on the Provsvar tab: the reason chosen, the lab told.
    simulator.send_results = False
    sent, placer = order(lab, doctor, patient)
    assert wait_for(lambda: state(lab, sent)[0] == "skickad")
    browser.get(f"{lab.root}/patienter/{patient}/provsvar")
    row = browser.find_element(By.XPATH, f"//tr[td[text()='{placer}']]")
    row.find_element(By.TAG_NAME, "summary").click()
    Select(row.find_element(By.CSS_SELECTOR, "select[name=reason]")).select_by_value("fel-analys")
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    page_wait(browser, lambda d: f"({placer}) är makulerad. Labbet har beställningen och meddelas" in d.page_source, "the order cancelled")
    assert wait_for(lambda: placer in simulator.cancelled), "the lab did not get the cancellation"
    simulator.send_results = True
    checked = set(browser.axe_checks.checked)
    assert {"/patienter/{id}/provsvar", "/patienter/{id}/bestall", "/provsvar", "/provsvar/{id}", "/provsvar/omatchade", "/bestallningar/ej-levererade"} <= checked, checked


def make_certificates(folder):
    """A lab CA with a server certificate for localhost and a lab's client certificate, and a stranger's
    self-signed client certificate, made with the openssl command line."""
    def run(*arguments):
        subprocess.run(["openssl", *arguments], check=True, capture_output=True, cwd=folder)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Region Test CA")
    for name, extension in (("server", "subjectAltName=DNS:localhost,IP:127.0.0.1"), ("lab", "extendedKeyUsage=clientAuth")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        with open(os.path.join(folder, f"{name}.ext"), "w") as handle:
            handle.write(extension + "\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
            "-extfile", f"{name}.ext")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "stranger.key", "-out", "stranger.pem", "-days", "2", "-subj", "/CN=stranger")
    return {name: os.path.join(folder, name) for name in os.listdir(folder)}


def test_mllp_over_tls_takes_a_lab_with_a_certificate_of_the_region_and_nothing_else(tmp_path):
    """With a certificate, a key and a client CA the MLLP port speaks TLS only: the lab's certificate gets its
    ACK; plain TCP, a client without a certificate and one with a stranger's certificate get none."""
    files = make_certificates(str(tmp_path))
    port = free_port()
    server = Server("sqlite", str(tmp_path), extra_env={
        "KARNA_MLLP_PORT": str(port), "KARNA_MLLP_TLS_CERTIFICATE": files["server.pem"], "KARNA_MLLP_TLS_KEY": files["server.key"],
        "KARNA_MLLP_TLS_CLIENT_CA": files["ca.pem"]})
    try:
        wait_for_mllp(port)
        message = [lab_simulator.encode(lab_simulator.oru("TLS-1", "ingen-sadan-bestallning", pnr=personnummer(230), analyses=(POTASSIUM,)))]

        def client(certificate=None):
            context = ssl.create_default_context(cafile=files["ca.pem"])
            if certificate:
                context.load_cert_chain(files[f"{certificate}.pem"], files[f"{certificate}.key"])
            return context
        acks = lab_simulator.send(port, message, tls=client("lab"))
        assert acks[0][:2] == ("AA", "TLS-1"), acks
        for refused in (None, client(), client("stranger")):
            with pytest.raises((ConnectionError, ssl.SSLError, OSError)):
                lab_simulator.send(port, message, tls=refused)
        # Only the lab's message reached the unmatched list.
        listed = requests.get(f"{server.base}/Task/$unmatched-results", headers=system(server)).json()
        assert sum("ingen-sadan-bestallning" in e["resource"]["description"] for e in listed.get("entry", [])) == 1, listed
    finally:
        server.stop()


def test_a_tls_setting_without_its_partner_stops_the_start_and_names_it(tmp_path):
    files = make_certificates(str(tmp_path))
    with pytest.raises(RuntimeError) as stopped:
        Server("sqlite", str(tmp_path), extra_env={"KARNA_MLLP_PORT": str(free_port()), "KARNA_MLLP_TLS_CERTIFICATE": files["server.pem"]})
    assert "needs both mllp-tls-certificate and mllp-tls-key" in str(stopped.value), stopped.value


def test_orders_go_to_a_lab_over_tls_verified_both_ways_and_a_lab_whose_certificate_is_not_trusted_gets_none(tmp_path):
    """A channel whose order route has `tls`: Kärna verifies the lab's certificate against the region's CA and
    shows its own client certificate, which the lab (hl7apy over Python's ssl) requires. A route trusting
    another CA never sends: the order is listed as ej levererad with the TLS failure named."""
    folder = str(tmp_path)
    files = make_certificates(folder)
    lab_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    lab_tls.load_cert_chain(files["server.pem"], files["server.key"])
    lab_tls.verify_mode = ssl.CERT_REQUIRED
    lab_tls.load_verify_locations(files["ca.pem"])
    simulator = lab_simulator.Lab(tls=lab_tls)
    simulator.send_results = False
    with open(os.path.join(ROOT, "Sources", "Results", "ResultsData", "lab-channels.json")) as handle:
        channels = json.load(handle)
    # Relative paths are read from the channel file's folder.
    channels["channels"][0]["orders"].update(port=simulator.port, charset="UNICODE UTF-8",
                                             tls={"ca": "ca.pem", "certificate": "lab.pem", "key": "lab.key"})
    channels["channels"][1]["orders"].update(port=simulator.port, tls={"ca": files["stranger.pem"], "certificate": "lab.pem", "key": "lab.key"})
    channel_file = os.path.join(folder, "channels.json")
    with open(channel_file, "w") as handle:
        json.dump(channels, handle)
    server = Server("sqlite", folder, extra_env={"KARNA_LAB_CHANNELS_FILE": channel_file, "KARNA_ORDER_UNDELIVERED_SECONDS": "5",
                                                 "KARNA_MLLP_TIMEOUT_SECONDS": "2"})
    try:
        doctor = bearer(login(server, "lakare", unit="demo-lakare-uppdrag-1"))
        patient = patient_with_contact(server, personnummer(231))
        trusted, placer = order(server, doctor, patient)
        assert wait_for(lambda: state(server, trusted)[0] == "skickad"), state(server, trusted)
        assert [o.orc.orc_1.value for o in simulator.orders if o.orc.orc_2.value == placer] == ["NW"]

        untrusted, _ = order(server, doctor, patient, code="RTG-THORAX", kind="bild")
        def listed():
            answer = requests.get(f"{server.base}/ServiceRequest/$undelivered-orders", headers=doctor).json()
            return {e["resource"]["id"] for e in answer.get("entry", [])}
        assert wait_for(lambda: untrusted in listed(), seconds=30), listed()
        assert wait_for(lambda: "TLS with the lab failed" in state(server, untrusted)[1], seconds=30), state(server, untrusted)[1]
        assert len(simulator.orders) == 1, "nothing reached the lab over the untrusted route"
    finally:
        server.stop()
        simulator.stop()


def test_a_lab_on_orm_o01_gets_the_specimen_in_obr_15_and_obr_9(tmp_path):
    """A lab that takes the older ORM^O01 (no SPM segment) reads what to draw where that message has it: OBR-15 the
    specimen source (the HL7 0487 kind, its words, the tube as the additive) and OBR-9 the volume — as hl7apy reads them."""
    folder = str(tmp_path)
    simulator = lab_simulator.Lab()
    simulator.send_results = False
    with open(os.path.join(ROOT, "Sources", "Results", "ResultsData", "lab-channels.json")) as handle:
        channels = json.load(handle)
    channels["channels"][0]["orders"].update(port=simulator.port, message="ORM^O01", charset="UNICODE UTF-8")
    del channels["channels"][1]["orders"]
    channel_file = os.path.join(folder, "channels.json")
    with open(channel_file, "w") as handle:
        json.dump(channels, handle)
    server = Server("sqlite", folder, extra_env={"KARNA_LAB_CHANNELS_FILE": channel_file})
    try:
        doctor = bearer(login(server, "lakare", unit="demo-lakare-uppdrag-1"))
        patient = patient_with_contact(server, personnummer(233))
        placed, placer = order(server, doctor, patient)
        assert wait_for(lambda: state(server, placed)[0] == "skickad"), state(server, placed)
        received = [o for o in simulator.orders if o.orc.orc_2.value == placer]
        assert received and received[0].msh.msh_9.value.startswith("ORM^O01") and not received[0].children.get("SPM")
        obr = received[0].obr
        kind, additive = obr.obr_15.value.split("^")[:2]
        assert kind.split("&") == ["PLAS", "Plasma", "HL70487"], obr.obr_15.value
        assert additive.split("&")[1] == "Litiumheparinrör med gel, ljusgrön propp", obr.obr_15.value
        assert obr.obr_9.value == "3.5^mL", obr.obr_9.value
    finally:
        server.stop()
        simulator.stop()


def test_a_channel_file_whose_tls_files_are_missing_stops_the_start_and_names_the_channel(tmp_path):
    with open(os.path.join(ROOT, "Sources", "Results", "ResultsData", "lab-channels.json")) as handle:
        channels = json.load(handle)
    channels["channels"][0]["orders"]["tls"] = {"ca": "no-such-ca.pem"}
    channel_file = os.path.join(str(tmp_path), "channels.json")
    with open(channel_file, "w") as handle:
        json.dump(channels, handle)
    with pytest.raises(RuntimeError) as stopped:
        Server("sqlite", str(tmp_path), extra_env={"KARNA_LAB_CHANNELS_FILE": channel_file})
    assert "channel klinkem, orders, tls: ca" in str(stopped.value) and "no-such-ca.pem" in str(stopped.value), stopped.value
