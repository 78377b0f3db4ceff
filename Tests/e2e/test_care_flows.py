"""Care flows in Chromium against `karna serve`, each page checked by axe-core as it loads: an unidentified patient
arrives at the emergency department, is triaged with the colour shown live as the fields are filled, and appears
on the tracking board; a triage saved by another client appears on the open board without a reload (and the time
it took is printed); the doctor decides admission and the ward admits the patient from its own page; vital signs
give a NEWS2 on the chart and on the ward's overview; a day-surgery patient cannot be discharged until the
criteria are recorded, and tomorrow's follow-up call is on the unit's list."""
import time

import requests

from conftest import backends, swedish_today  # noqa: F401
from test_access import bearer, login
from test_prescribing import patient_with_contact, personnummer, system
from test_webapp import browser, log_in, shot, wait_for  # noqa: F401  (the shared Chromium with axe-core checks)

EMERGENCY = "hosp-1-ward-1"
WARD = "hosp-1-ward-2"


def patient(server, serial, family):
    number = personnummer(serial)
    answer = requests.post(server.base + "/Patient", headers=system(server), json={
        "resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.752.129.2.1.3.1", "value": number}],
        "name": [{"family": family, "given": ["Test"]}], "birthDate": f"{number[:4]}-{number[4:6]}-{number[6:8]}"})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], number


def operation(server, headers, path, **parameters):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": name, ("valueBoolean" if isinstance(value, bool) else "valueString"): value} for name, value in parameters.items()]}
    answer = requests.post(f"{server.base}/{path}", headers=headers, json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def test_the_emergency_department_from_an_unknown_arrival_to_the_ward(server, browser):
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    log_in(browser, server, "sjukskoterska", "uppdrag-3")
    # Arrival of a patient nobody knows: a reservnummer in the same step.
    browser.get(server.root + "/akut/ankomst")
    browser.find_element(By.ID, "arrival-unidentified").click()
    browser.find_element(By.ID, "arrival-birth-year").send_keys("1960")
    browser.find_element(By.ID, "arrival-note").send_keys("Tatuering vänster underarm")
    browser.find_element(By.ID, "mode-ambulans").click()
    browser.find_element(By.ID, "arrival-complaint").send_keys("Medvetandesänkt")
    browser.find_element(By.CSS_SELECTOR, "#arrival-form button[type=submit]").click()
    wait_for(browser, lambda d: "Ankomsten är registrerad" in d.page_source, "the visit after arrival")
    visit = browser.current_url.split("/akut/besok/")[1].split("?")[0]
    assert "Reservnummer" in browser.page_source and "Ej triagerad" in browser.page_source
    # The colour follows the fields as they are typed, before anything is saved.
    browser.find_element(By.ID, "triage-respiratoryRate").send_keys("18")
    browser.find_element(By.ID, "triage-pulse").send_keys("88")
    wait_for(browser, lambda d: "Prioritet: Grön" in d.find_element(By.ID, "live-colour").text, "green for normal values")
    browser.find_element(By.ID, "triage-pulse").clear()
    browser.find_element(By.ID, "triage-pulse").send_keys("135")
    wait_for(browser, lambda d: "Prioritet: Röd" in d.find_element(By.ID, "live-colour").text, "red for a pulse above 130")
    shot(browser, server, "triage")
    browser.find_element(By.CSS_SELECTOR, "#triage-form button[type=submit]").click()
    wait_for(browser, lambda d: "Triage sparad: Röd." in d.page_source, "the triage saved")

    # The board, left open: a triage another client saves appears on it without a reload.
    browser.get(server.root + "/akut")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#board tbody tr")) == 1, "the board with the one patient")
    browser.execute_script("window.notReloaded = true;")
    other, _ = patient(server, 301, "Tavlesson")
    nurse = system(server)
    arrived = operation(server, nurse, "Encounter/$ed-arrive", patient=other, unit=EMERGENCY, arrivalMode="egen", complaint="Buksmärta")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#board tbody tr")) == 2, "the new arrival on the open board")
    started = time.monotonic()
    operation(server, nurse, f"Encounter/{arrived['id']}/$ed-triage", respiratoryRate="16", pulse="80", complaint="006", level="orange")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"#visit-{arrived['id']}[data-colour=orange]"), "the other client's triage on the board")
    print(f"triage saved by another client shown on the open board after {time.monotonic() - started:.2f} s")
    assert browser.execute_script("return window.notReloaded === true;"), "the board was reloaded"
    # Red first, then orange.
    rows = browser.find_elements(By.CSS_SELECTOR, "#board tbody tr")
    assert [row.get_attribute("data-colour") for row in rows] == ["rod", "orange"]
    # A target passed turns its minutes red at that moment, in the browser (here: the stay target moved to now).
    browser.execute_script(f"document.querySelector('#visit-{visit} [data-due]').setAttribute('data-due', String(Date.now() + 1000));")
    wait_for(browser, lambda d: "breached" in d.find_element(By.CSS_SELECTOR, f"#visit-{visit} [data-due]").get_attribute("class"), "the breach colouring")
    shot(browser, server, "tracking-board")

    # The doctor takes the patient and decides admission; the ward admits from its own page.
    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-3")
    browser.get(f"{server.root}/akut/besok/{visit}")
    browser.find_element(By.CSS_SELECTOR, "#doctor-form button[type=submit]").click()
    wait_for(browser, lambda d: "Du är ansvarig läkare." in d.page_source, "the doctor responsible")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/beslut'] button").click()
    wait_for(browser, lambda d: "Patienten är klar för beslut." in d.page_source, "ready for decision")
    browser.find_element(By.ID, "disposition-inlaggning").click()
    browser.find_element(By.CSS_SELECTOR, f"#leave-ward option[value='{WARD}']").click()
    browser.find_element(By.ID, "leave-note").send_keys("Observation, misstänkt intoxikation")
    browser.find_element(By.CSS_SELECTOR, "#leave-form button[type=submit]").click()
    wait_for(browser, lambda d: "Vårdplats är beställd" in d.page_source, "the admission decided")
    assert f"visit-{visit}" not in browser.page_source
    doctor = bearer(login(server, "lakare", unit="uppdrag-3"))
    reserve = requests.get(f"{server.base}/Encounter/{visit}", headers=doctor).json()["subject"]["reference"].split("/")[1]
    number = next(i["value"] for i in requests.get(f"{server.base}/Patient/{reserve}", headers=doctor).json()["identifier"])
    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-2")
    browser.get(server.root + "/avdelning")
    # The bed request from the emergency department is on the ward's page until the patient is admitted.
    requests_panel = browser.find_element(By.XPATH, "//section[h2[@id='h-bed-requests']]")
    assert number in requests_panel.text.replace("-", "") or reserve in requests_panel.get_attribute("innerHTML")
    free = browser.find_element(By.CSS_SELECTOR, "details:not(.actions)")
    free.find_element(By.TAG_NAME, "summary").click()
    free.find_element(By.CSS_SELECTOR, "input[name=patient]").send_keys(number)
    free.find_element(By.CSS_SELECTOR, "select[name=source] option[value=akuten]").click()
    free.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, lambda d: "Inskriven:" in d.page_source, "the patient admitted on the ward")
    assert browser.execute_script("return document.getElementById('h-bed-requests') === null;"), "the met bed request is still listed"

    # Vital signs on the chart: NEWS2 and its response; the ward's NEWS2 overview.
    browser.get(f"{server.root}/patienter/{reserve}/vitalparametrar")
    for field, value in [("respiratoryRate", "24"), ("spo2", "94"), ("oxygenFlow", "2"), ("temperature", "38,5"), ("systolic", "105"),
                         ("diastolic", "60"), ("pulse", "115")]:
        browser.find_element(By.ID, f"vital-{field}").send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "#vital-consciousness option[value=A]").click()
    browser.find_element(By.CSS_SELECTOR, "#vitals-form button[type=submit]").click()
    wait_for(browser, lambda d: "NEWS2 9 – responsnivå hög" in d.page_source, "the NEWS2 of the saved set")
    shot(browser, server, "news2")
    browser.get(server.root + "/avdelning/news2")
    wait_for(browser, lambda d: d.find_elements(By.XPATH, f"//table[@id='ward-news2']//tr[td/a[@href='/patienter/{reserve}/vitalparametrar']]/td[2][contains(., '9')]"),
             "the patient's NEWS2 on the ward overview")
    browser.get(server.root + "/akut/ledtider")
    assert "Tid till triage (TTT)" in browser.page_source
    checked = set(browser.axe_checks.checked)
    # (axe's page key reads "news2" as an id: /avdelning/{id}.)
    assert {"/akut", "/akut/ankomst", "/akut/besok/{id}", "/patienter/{id}/vitalparametrar", "/avdelning/{id}", "/akut/ledtider"} <= checked, checked


def test_day_surgery_is_not_discharged_before_its_criteria_and_the_follow_up_call_is_listed(server, browser):
    from selenium.webdriver.common.by import By

    patient_id = patient_with_contact(server, personnummer(302))
    browser.delete_all_cookies()
    log_in(browser, server, "sjukskoterska", "uppdrag-2")
    # Booked from the chart's action, for today.
    browser.get(f"{server.root}/patienter/{patient_id}/dagkirurgi")
    browser.find_element(By.ID, "booking-date").clear()
    browser.execute_script("document.getElementById('booking-date').value = arguments[0];", swedish_today().isoformat())
    browser.find_element(By.ID, "booking-procedure").send_keys("Knäartroskopi")
    browser.find_element(By.CSS_SELECTOR, "#day-surgery-booking button[type=submit]").click()
    wait_for(browser, lambda d: "Dagkirurgin är bokad." in d.page_source, "the booking")
    browser.find_element(By.XPATH, "//li[contains(., 'Knäartroskopi')]/a[starts-with(@href, '/dagkirurgi/')]").click()
    wait_for(browser, lambda d: "Dagkirurgi: Knäartroskopi" in d.page_source, "the day-surgery visit")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/ankomst'] button").click()
    wait_for(browser, lambda d: "Patienten är på plats." in d.page_source, "arrived")
    for item in browser.find_elements(By.CSS_SELECTOR, "#preop-form input[type=checkbox]"):
        item.click()
    browser.find_element(By.CSS_SELECTOR, "#preop-form button[type=submit]").click()
    wait_for(browser, lambda d: "Checklistan är uppdaterad." in d.page_source, "the checklist saved")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/skriv-ut'] button").click()
    wait_for(browser, lambda d: "Patienten kan inte skrivas ut förrän alla kriterier är uppfyllda" in d.page_source, "discharge refused")
    for item in browser.find_elements(By.CSS_SELECTOR, "#discharge-criteria-form input[type=checkbox]"):
        item.click()
    browser.find_element(By.CSS_SELECTOR, "#discharge-criteria-form button[type=submit]").click()
    wait_for(browser, lambda d: "0 kriterier återstår." in d.page_source, "every criterion recorded")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/skriv-ut'] button").click()
    wait_for(browser, lambda d: "Telefonuppföljning i morgon ligger på enhetens lista." in d.page_source, "discharged")
    assert browser.find_elements(By.XPATH, f"//li[starts-with(@id, 'follow-up-')][a[@href='/patienter/{patient_id}']]")
    checked = set(browser.axe_checks.checked)
    assert "/dagkirurgi/{id}" in checked and any(key.startswith("/dagkirurgi?") for key in checked), checked
