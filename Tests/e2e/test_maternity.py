"""Maternity care in Chromium against `karna serve`, each page checked by axe-core as it loads: the midwife registers a
pregnancy, sees it late on her unit's worklist, records the week-25 visit whose SF-mått falls below the reference band
(the task it raises is shown with the gravidogram and its table), assesses the risk; the same midwife on the delivery
ward admits her, charts the partogram and registers the birth; the register sheets read from what was stored, and the
Graviditetsregistret extract of the day is the same bytes twice."""
import datetime

import requests

from conftest import backends, swedish_today  # noqa: F401
from test_prescribing import patient_with_contact, personnummer, system
from test_webapp import browser, log_in, shot, wait_for  # noqa: F401  (the shared Chromium with axe-core checks)

DELIVERY = "hosp-1-ward-5"


def test_a_pregnancy_from_registration_to_the_birth(server, browser):
    from selenium.webdriver.common.by import By

    number = personnummer(642)
    patient = patient_with_contact(server, number)
    browser.delete_all_cookies()
    log_in(browser, server, "barnmorska", "uppdrag-1")
    # Registration, 25 weeks after the last period.
    browser.get(f"{server.root}/patienter/{patient}/graviditet")
    wait_for(browser, lambda d: "Ingen pågående graviditet är inskriven." in d.page_source, "the registration form")
    lmp = (swedish_today() - datetime.timedelta(weeks=25)).isoformat()
    browser.execute_script("document.getElementById('preg-lmp').value = arguments[0];", lmp)
    browser.find_element(By.ID, "preg-gravidity").clear()
    browser.find_element(By.ID, "preg-gravidity").send_keys("1")
    browser.find_element(By.ID, "preg-previous").send_keys("Missfall 2021")
    browser.find_element(By.CSS_SELECTOR, "#pregnancy-form button[type=submit]").click()
    wait_for(browser, lambda d: "Graviditeten är inskriven" in d.page_source, "the pregnancy overview")
    assert "v 25+0" in browser.find_element(By.ID, "gestational-age").text
    # The unit's worklist: her registration visit is late and AUDIT is missing.
    browser.get(server.root + "/mvc")
    wait_for(browser, lambda d: d.find_elements(By.ID, "worklist"), "the worklist")
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#worklist tbody tr") if "Recept, Test" in r.text)
    assert "Inskrivning (besök 1 och 2)" in row.text and "AUDIT" in row.text, row.text
    shot(browser, server, "mvc-worklist")
    # The week-25 visit: an SF-mått of 17 cm is far below the band and raises the ultrasound task.
    browser.get(f"{server.root}/patienter/{patient}/graviditet")
    browser.find_element(By.ID, "record-visit").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "visit-form"), "the visit form")
    browser.get(browser.current_url.split("?")[0] + "?visit=v25")
    wait_for(browser, lambda d: d.find_elements(By.ID, "item-sf"), "the week-25 visit")
    browser.find_element(By.ID, "item-sf").send_keys("17")
    browser.find_element(By.ID, "item-blodtryck").send_keys("118/74")
    browser.find_element(By.ID, "item-vikt").send_keys("71")
    browser.find_element(By.CSS_SELECTOR, "#visit-form button[type=submit]").click()
    wait_for(browser, lambda d: "Besöket är registrerat." in d.page_source, "the visit saved")
    notice = browser.find_element(By.ID, "notice").text
    assert "Första SF-måttet under −2 SD" in notice and "Remiss för tillväxtultraljud" in notice, notice
    assert "Remiss för tillväxtultraljud" in browser.find_element(By.ID, "tasks").text
    # The gravidogram: the picture and, beside it, the same values as a table.
    assert browser.find_elements(By.CSS_SELECTOR, "svg[aria-labelledby=gravidogram-sf-title]")
    table = browser.find_element(By.ID, "table-sf").text
    assert "25+0" in table and "17" in table, table
    assert "DEMONSTRATION" in browser.find_element(By.ID, "demo-curves").text
    browser.execute_script("document.getElementById('h-gravidogram').scrollIntoView();")
    shot(browser, server, "gravidogram")
    # Risk: her age and the chosen factor, with an individual care plan.
    browser.find_element(By.ID, "factor-tidigare-komplikation").click()
    browser.find_element(By.CSS_SELECTOR, "#risk-form button[type=submit]").click()
    wait_for(browser, lambda d: "Riskbedömningen är sparad" in d.page_source, "the risk assessment")
    reasons = browser.find_element(By.ID, "risk-reasons").text
    assert "40 år eller äldre" in reasons and "Komplicerad tidigare graviditet" in reasons, reasons

    # The delivery ward: the same midwife under her other assignment.
    browser.delete_all_cookies()
    log_in(browser, server, "barnmorska", "uppdrag-2")
    browser.get(f"{server.root}/forlossning/ny?patient={patient}")
    wait_for(browser, lambda d: d.find_elements(By.ID, "admission-form"), "the admission form")
    browser.find_element(By.CSS_SELECTOR, "#admission-form button[type=submit]").click()
    wait_for(browser, lambda d: "graviditeten är kopplad" in d.page_source, "the partogram after admission")
    browser.find_element(By.ID, "part-cervix").send_keys("12")
    browser.find_element(By.CSS_SELECTOR, "#partogram-form button[type=submit]").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "error"), "the value refused")
    assert "Öppning (cervix) ska vara 0–10 cm." in browser.find_element(By.ID, "error").text
    browser.find_element(By.ID, "part-cervix").clear()
    browser.find_element(By.ID, "part-cervix").send_keys("5")
    browser.find_element(By.ID, "part-fosterljud").send_keys("142")
    browser.find_element(By.CSS_SELECTOR, "#partogram-form button[type=submit]").click()
    wait_for(browser, lambda d: "Sparat." in d.page_source, "the partogram values saved")
    assert "Enligt förväntat" in browser.find_element(By.ID, "partogram-table").text
    assert browser.find_elements(By.CSS_SELECTOR, "svg[aria-labelledby=partogram-title]")
    browser.execute_script("document.getElementById('h-partogram').scrollIntoView();")
    shot(browser, server, "partogram")
    for field, value in [("birth-weight", "3520"), ("birth-length", "51"), ("birth-head", "35"), ("birth-apgar1", "8"), ("birth-apgar5", "10")]:
        browser.find_element(By.ID, field).send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "#birth-form button[type=submit]").click()
    wait_for(browser, lambda d: "Barnet är registrerat med reservnummer" in d.page_source, "the birth registered")
    browser.find_element(By.LINK_TEXT, "Barnets journal").click()
    wait_for(browser, lambda d: "Barn till Recept, Test" in d.page_source, "the newborn's chart")

    # The register sheets and the day's extract, twice the same bytes.
    pregnancy = requests.get(f"{server.base}/EpisodeOfCare", headers=system(server), params={"patient": f"Patient/{patient}"}).json()["entry"][0]["resource"]["id"]
    sheets = requests.get(f"{server.base}/EpisodeOfCare/{pregnancy}/$mfr-sheets", headers=system(server))
    assert sheets.status_code == 200, sheets.text
    fv2 = next(p for p in sheets.json()["parameter"] if p["name"] == "sheet" and any(q.get("valueString") == "FV2" for q in p["part"]))
    weight = next(v for v in fv2["part"] if v["name"] == "variable" and v["part"][0]["valueString"] == "Födelsevikt (g)")
    assert weight["part"][1]["valueString"] == "3520"
    today = swedish_today().isoformat()
    first = requests.get(f"{server.base}/EpisodeOfCare/$graviditetsregistret", headers=system(server), params={"date": today})
    again = requests.get(f"{server.base}/EpisodeOfCare/$graviditetsregistret", headers=system(server), params={"date": today})
    assert first.status_code == 200 and first.content == again.content
    assert f"\r\nforlossning;{number};vc-karnstad;" in first.text, first.text[:400]
