"""The clinician web app in a real browser (Debian's Chromium, driven by Selenium): a doctor logs in
with password and TOTP and chooses an assignment, sees the start page, finds a patient by
personnummer and opens the chart with the allergy first in the banner; opening a patient without a
care relationship stops at the Patientdatalag question, an empty nödåtkomst reason is refused next
to the field, a reason opens the record; logging out says so. Screenshots go to docs/screenshots."""
import datetime
import os
import shutil

import pytest
import requests
from fhirpy import SyncFHIRClient

from accessibility import AxeChecks
from conftest import ROOT, born_and_sex, swedish_today
from test_access import bearer, login, totp

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
UNIT = "vc-karnstad"
SCREENSHOTS = os.path.join(ROOT, "docs", "screenshots")

if not (CHROMIUM and CHROMEDRIVER) and os.environ.get("KARNA_E2E_REQUIRE_BROWSER"):
    raise RuntimeError("KARNA_E2E_REQUIRE_BROWSER is set but chromium or chromedriver is missing")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")


def personnummer(birth, serial):
    """A valid personnummer (Luhn check digit) for a synthetic patient."""
    nine = f"{birth[2:]}{serial:03d}"
    total = 0
    for index, digit in enumerate(int(c) for c in nine):
        product = digit * (2 if index % 2 == 0 else 1)
        total += product // 10 + product % 10
    return f"{birth}{serial:03d}{(10 - total % 10) % 10}"


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=sv-SE"]:
        options.add_argument(argument)
    from selenium.webdriver.support.events import EventFiringWebDriver
    plain = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    plain.implicitly_wait(5)
    # Every page the suite opens is checked with axe-core, once per kind of page.
    checks = AxeChecks()
    driver = EventFiringWebDriver(plain, checks)
    driver.axe_checks = checks
    yield driver
    plain.quit()
    print(f"axe-core checked {len(checks.checked)} pages: {', '.join(checks.checked)}")
    assert checks.checked, "axe-core checked no page"


def seed(server, family, serial, with_contact):
    """A patient with a personnummer, an allergy and (if asked) an ongoing contact at the vårdcentral."""
    client = SyncFHIRClient(server.base)
    number = personnummer("19580314", serial)
    patient = client.resource("Patient", name=[{"use": "official", "family": family, "given": ["Astrid"]}], birthDate="1958-03-14",
                              gender=born_and_sex(number)[1], identifier=[{"system": "urn:oid:1.2.752.129.2.1.3.1", "value": number}])
    patient.save()
    client.resource("AllergyIntolerance", patient={"reference": f"Patient/{patient.id}"}, criticality="high",
                    clinicalStatus={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
                    code={"text": "Penicillin"}, reaction=[{"manifestation": [{"text": "Anafylaxi"}]}],
                    meta={"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": UNIT}]}).save()
    if with_contact:
        start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
        client.resource("Encounter", status="in-progress", subject={"reference": f"Patient/{patient.id}"},
                        meta={"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": UNIT}]},
                        **{"class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}},
                        period={"start": start}, serviceProvider={"reference": f"Organization/{UNIT}", "display": "Kärnstads vårdcentral"}).save()
    return patient.id, number


def shot(driver, server, name):
    """Keeps a screenshot of the SQLite run, for the README."""
    if server.backend == "sqlite":
        os.makedirs(SCREENSHOTS, exist_ok=True)
        driver.save_screenshot(os.path.join(SCREENSHOTS, name + ".png"))


def wait_for(driver, condition, what):
    """Waits for a page the click led to (a click returns before the next page has loaded)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10).until(lambda d: condition(d), message=what)
    checks = getattr(driver, "axe_checks", None)
    if checks:
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete", message=what + " (loaded)")
        checks.check(driver)


def log_in(driver, server, username, unit):
    from selenium.webdriver.common.by import By

    user = next(u for u in server.credentials()["users"] if u["username"] == username)
    driver.get(server.root + "/")
    assert driver.title.startswith("Logga in")
    # Every field has a label a screen reader announces.
    for field in ["username", "password", "code"]:
        assert driver.find_element(By.CSS_SELECTOR, f"label[for={field}]").text
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(user["password"])
    driver.find_element(By.ID, "code").send_keys(totp(user["totpSecret"], (server.root, username)))
    shot(driver, server, "login")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(driver, lambda d: not d.title.startswith("Logga in"), "the login form was answered")
    if driver.title.startswith("Välj medarbetaruppdrag"):
        radios = driver.find_elements(By.CSS_SELECTOR, "input[name=assignment]")
        next(r for r in radios if unit in (r.get_attribute("value") or "")).click()
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for(driver, lambda d: d.title.startswith("Start"), "the start page after the assignment")


def test_a_doctor_finds_a_patient_sees_the_allergy_and_is_stopped_without_a_care_relationship(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    known, number = seed(server, "Webbsson", 201, with_contact=True)
    stranger, _ = seed(server, "Okändsdotter", 202, with_contact=False)
    log_in(browser, server, "lakare", "uppdrag-1")
    assert browser.title.startswith("Start"), browser.page_source[-1500:]
    headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
    assert {"Dagens besök på enheten", "Mina osignerade anteckningar", "Remissinkorg"} <= set(headings)
    shot(browser, server, "start")

    # The personnummer typed the way people write it, with the keyboard only: an exact match opens the chart.
    search = browser.find_element(By.ID, "top-q")
    search.send_keys(f"{number[2:8]}-{number[8:]}", Keys.ENTER)
    wait_for(browser, lambda d: d.current_url.endswith(f"/patienter/{known}"), "the chart opened from the search")
    banner = browser.find_element(By.CSS_SELECTOR, ".banner")
    assert "Webbsson, Astrid" in banner.text and f"{number[:8]}-{number[8:]}" in banner.text
    signals = banner.find_elements(By.CSS_SELECTOR, ".signals li")
    assert signals and signals[0].text.startswith("Allergi: Penicillin") and "hög risk" in signals[0].text
    assert "Aktuell vårdkontakt" in banner.text
    shot(browser, server, "chart")

    # The journal: a note from the template with its sökord, signed at once.
    browser.find_element(By.LINK_TEXT, "Journal").click()
    wait_for(browser, lambda d: d.current_url.endswith("/journal"), "the journal tab")
    browser.find_element(By.LINK_TEXT, "Ny anteckning").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "mall"), "the template choice")
    from selenium.webdriver.support.ui import Select
    Select(browser.find_element(By.ID, "mall")).select_by_visible_text("Läkaranteckning, besök")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/anteckning/ny'] button").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "s-kontaktorsak"), "the note form")
    for heading, text in [("kontaktorsak", "Hosta sedan en vecka"), ("status", "Lungor: vesikulär andning"), ("bedomning", "Viral bronkit")]:
        browser.find_element(By.ID, f"s-{heading}").send_keys(text)
    browser.find_element(By.CSS_SELECTOR, "button[value=signera]").click()
    wait_for(browser, lambda d: "/journal" in d.current_url and "Viral bronkit" in d.page_source, "the signed note in the journal")
    note = browser.find_element(By.CSS_SELECTOR, "article.note")
    assert "Läkaranteckning, besök" in note.text and "osignerad" not in note.text and "Anna Lindqvist" in note.text
    shot(browser, server, "journal")

    # No care relationship: the Patientdatalag question, not the record.
    browser.get(f"{server.root}/patienter/{stranger}")
    assert "Du har ingen vårdrelation med patienten" in browser.page_source
    assert "Penicillin" not in browser.page_source
    reason = browser.find_element(By.ID, "emergency-reason")
    reason.send_keys("   ")
    emergency_button = "form[action$=nodatkomst] button"
    browser.find_element(By.CSS_SELECTOR, emergency_button).click()
    browser.switch_to.alert.accept()  # the warning asks once more
    error = browser.find_element(By.ID, "emergency-error")  # the implicit wait covers the page load
    assert "Skriv ett skäl" in error.text
    assert browser.find_element(By.ID, "emergency-reason").get_attribute("aria-describedby") == "emergency-error"
    shot(browser, server, "access")
    browser.find_element(By.ID, "emergency-reason").send_keys("Medvetslös i akutrummet, kan inte tillfrågas")
    browser.find_element(By.CSS_SELECTOR, emergency_button).click()
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".grid h2#h-problem"), "the chart after nödåtkomst")
    assert "Allergi: Penicillin" in browser.find_element(By.CSS_SELECTOR, ".banner").text

    # The logggranskare's queue has the emergency access with its reason.
    reviewer = bearer(login(server, "logggranskare"))
    audit = requests.get(f"{server.base}/AuditEvent", params={"patient": stranger, "_flag": "emergency-access"}, headers=reviewer)
    assert audit.status_code == 200 and audit.json().get("entry"), audit.text

    browser.find_element(By.CSS_SELECTOR, "form[action=\"/logga-ut\"] button").click()
    wait_for(browser, lambda d: "Du är utloggad" in d.page_source, "the logged-out notice")
    browser.get(f"{server.root}/patienter/{known}")
    assert browser.title.startswith("Logga in")

    # The logggranskare finds the nödåtkomst in the web queue and decides on it.
    log_in(browser, server, "logggranskare", "")
    browser.find_element(By.LINK_TEXT, "Logguppföljning").click()
    wait_for(browser, lambda d: d.title.startswith("Logguppföljning"), "the review queue")
    from selenium.webdriver.support.ui import Select
    Select(browser.find_element(By.ID, "flagga")).select_by_value("emergency-access")
    browser.find_element(By.CSS_SELECTOR, "form[action='/loggranskning'] button").click()
    wait_for(browser, lambda d: "flagga=emergency-access" in d.current_url, "the emergency-access queue")
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "table.log tbody tr") if "Medvetslös i akutrummet" in r.text)
    assert "Okändsdotter, Astrid" in row.text and "Anna Lindqvist" in row.text and "Nödåtkomst" in row.text
    shot(browser, server, "log-review")
    row.find_element(By.CSS_SELECTOR, "input[name=verdict][value=justified]").click()
    row.find_element(By.CSS_SELECTOR, "input[name=comment]").send_keys("Akut omhändertagande, befogat")
    row.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(browser, lambda d: "Beslutet är sparat" in d.page_source, "the saved decision")
    browser.get(f"{server.root}/loggranskning/patient/{stranger}")
    assert "Akut omhändertagande, befogat" in browser.page_source


def test_a_secretary_registers_a_patient_and_a_wrong_number_is_said_at_the_field(server, browser):
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    log_in(browser, server, "sekreterare", "")
    wait_for(browser, lambda d: d.title.startswith("Start"), "the secretary's start page")
    browser.find_element(By.LINK_TEXT, "Registrera patient").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "identity"), "the registration form")
    # The cursor waits in the first field, and the fields stand in two columns on a wide screen.
    assert browser.execute_script("return document.activeElement.id") == "identity"
    boxes = browser.execute_script("return ['identity', 'given', 'family'].map(function (id) { var r = document.getElementById(id).closest('.field').getBoundingClientRect(); return [r.left, r.top]; });")
    (identity_x, identity_y), (given_x, given_y), (family_x, _) = boxes
    assert given_x > identity_x and abs(given_y - identity_y) < 2 and family_x == identity_x, f"two columns: {boxes}"
    # The header is one line at 1440 px.
    browser.set_window_size(1440, 900)
    rows = browser.execute_script("var h = document.querySelector('header.top'); return Array.from(h.children).map(function (c) { var r = c.getBoundingClientRect(); return [Math.round(r.top), Math.round(r.bottom)]; });")
    assert max(top for top, _ in rows) < min(bottom for _, bottom in rows), f"the header's parts wrap onto a second line: {rows}"
    browser.set_window_size(1280, 900)
    number = personnummer("19771105", 303)
    browser.find_element(By.ID, "identity").send_keys(number[:-1] + str((int(number[-1]) + 1) % 10))  # a wrong check digit
    browser.find_element(By.ID, "given").send_keys("Sixten")
    browser.find_element(By.ID, "family").send_keys("Registreradsson")
    browser.find_element(By.CSS_SELECTOR, "form[action='/registrera'] button").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "identity-error"), "the error at the personnummer field")
    assert browser.find_element(By.ID, "family").get_attribute("value") == "Registreradsson"
    assert "identity-error" in browser.find_element(By.ID, "identity").get_attribute("aria-describedby")
    shot(browser, server, "register")
    field = browser.find_element(By.ID, "identity")
    field.clear()
    field.send_keys(f"{number[:8]}-{number[8:]}")
    browser.find_element(By.CSS_SELECTOR, "form[action='/registrera'] button").click()
    wait_for(browser, lambda d: "/patienter/" in d.current_url, "the new patient's page")
    found = SyncFHIRClient(server.base).resources("Patient").search(identifier=f"urn:oid:1.2.752.129.2.1.3.1|{number}").fetch()
    assert [p["name"][0]["family"] for p in found] == ["Registreradsson"]
    assert browser.current_url.endswith("/patienter/" + found[0]["id"] + "?registrerad=ja")
    # Registering is caring for the patient now: the secretary sees the chart, not the Patientdatalag question.
    assert f"Patienten är registrerad med personnummer {number[:8]}-{number[8:]}." in browser.find_element(By.ID, "registered").text

    # An unidentified emergency patient: one click, and the reservnummer to write on the id band is on the screen.
    browser.get(server.root + "/registrera")
    browser.find_element(By.CSS_SELECTOR, "form[action='/registrera/reservnummer'] button").click()
    wait_for(browser, lambda d: "registrerad=ja" in d.current_url, "the unidentified patient's chart")
    assert "Skriv reservnumret på patientens id-band." in browser.find_element(By.ID, "registered").text
    assert "Reservnummer 99" in browser.find_element(By.CSS_SELECTOR, ".banner").text


def open_book_tomorrow(browser, server):
    """The unit's appointment book, from the menu, one day on."""
    from selenium.webdriver.common.by import By

    browser.find_element(By.LINK_TEXT, "Tidbok").click()
    wait_for(browser, lambda d: d.title.startswith("Tidbok"), "the appointment book")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Nästa").click()
    tomorrow = (swedish_today() + datetime.timedelta(days=1)).isoformat()
    wait_for(browser, lambda d: f"dag={tomorrow}" in d.current_url, "tomorrow's page of the book")


def test_a_secretary_books_a_visit_a_nurse_checks_the_patient_in_the_cashier_takes_the_fee_and_the_doctor_writes_and_books_the_return(server, browser):
    from selenium.webdriver.common.by import By

    # The unit's appointment book, as the region's planner sets it up (through the API).
    client = SyncFHIRClient(server.base)
    client.resource("Schedule", id="e2e-vc-mottagning", active=True, comment="Anna Lindqvist, mottagning",
                    meta={"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": UNIT}]},
                    actor=[{"reference": "Practitioner/demo-lakare"}]).save()
    tomorrow = (swedish_today() + datetime.timedelta(days=1)).isoformat()
    generated = requests.post(f"{server.base}/Schedule/e2e-vc-mottagning/$generate-slots", json={"resourceType": "Parameters", "parameter": [
        {"name": name, "valueString": value} for name, value in [("from", tomorrow), ("to", tomorrow), ("weekdays", "1,2,3,4,5,6,7"),
                                                                  ("start", "09:00"), ("end", "10:00"), ("minutes", "20"), ("visitType", "lakarbesok")]]})
    assert generated.status_code == 200, generated.text
    patient_id, number = seed(server, "Bokasson", 404, with_contact=False)
    typed = f"{number[:8]}-{number[8:]}"

    # The secretary books the first free time by personnummer; an unknown number is said at that time.
    browser.delete_all_cookies()
    log_in(browser, server, "sekreterare", "")
    open_book_tomorrow(browser, server)
    first = browser.find_element(By.CSS_SELECTOR, "input[name=patient]")
    slot_row = first.find_element(By.XPATH, "./ancestor::tr").get_attribute("id")
    first.send_keys("19121212-1212")
    first.find_element(By.XPATH, "./following-sibling::button").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"#{slot_row} .field-error"), "the error at the time")
    assert "Ingen patient med det numret" in browser.find_element(By.CSS_SELECTOR, f"#{slot_row} .field-error").text
    field = browser.find_element(By.CSS_SELECTOR, f"#{slot_row} input[name=patient]")
    assert field.get_attribute("value") == "19121212-1212" and field.get_attribute("aria-invalid") == "true"
    field.clear()
    field.send_keys(typed)
    field.find_element(By.XPATH, "./following-sibling::button").click()
    wait_for(browser, lambda d: "Bokad: Bokasson, Astrid kl. 09:00" in d.page_source, "the booking notice")
    assert "Bokasson, Astrid" in browser.find_element(By.ID, slot_row).text
    shot(browser, server, "appointment-book")

    # The nurse at the vårdcentral checks her in when she arrives.
    browser.delete_all_cookies()
    log_in(browser, server, "sjukskoterska", "uppdrag-2")
    open_book_tomorrow(browser, server)
    browser.find_element(By.CSS_SELECTOR, f"#{slot_row} form[action$='/checka-in'] button").click()
    wait_for(browser, lambda d: "Incheckad: Bokasson, Astrid" in d.page_source, "the check-in notice")
    assert "Ankommen" in browser.find_element(By.ID, slot_row).text

    # The cashier finds the contact unpaid, takes the fee by card and prints the receipt.
    browser.delete_all_cookies()
    log_in(browser, server, "kassa", "")
    browser.find_element(By.LINK_TEXT, "Kassa").click()
    wait_for(browser, lambda d: d.title.startswith("Kassa"), "the cashier's list")
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tbody tr") if "Bokasson, Astrid" in r.text)
    row.find_element(By.LINK_TEXT, "Ta betalt").click()
    wait_for(browser, lambda d: d.title.startswith("Ta betalt"), "the payment form")
    assert "200 kr" in browser.page_source and "Betalt 0 av" in browser.page_source
    browser.find_element(By.CSS_SELECTOR, "input[name=method][value=kort]").click()
    browser.find_element(By.CSS_SELECTOR, "form[action$='/betala'] button").click()
    wait_for(browser, lambda d: d.title.startswith("Kvitto"), "the receipt")
    receipt = browser.find_element(By.CSS_SELECTOR, "pre.receipt").text
    assert "KVITTO K" in receipt and "Läkarbesök: 200 kr" in receipt and "Betalsätt: kort" in receipt
    shot(browser, server, "cashier-receipt")
    browser.find_element(By.LINK_TEXT, "Tillbaka till kassan").click()
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tbody tr") if "Bokasson, Astrid" in r.text)
    assert "Betald" in row.text
    browser.find_element(By.LINK_TEXT, "Dagsredovisning").click()
    wait_for(browser, lambda d: d.title.startswith("Dagsredovisning"), "the daily report")
    assert "totalt 200 kr" in browser.page_source.replace("<strong>", "").replace("</strong>", "")

    # The doctor sees her (the checked-in contact is the care relationship): the visit note from the template,
    # signed, and the follow-up: a return visit on the unit's waiting list, to be booked when it is due.
    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-1")
    browser.get(f"{server.root}/patienter/{patient_id}/anteckning/ny?mall=lakaranteckning-besok")
    for heading, text in [("kontaktorsak", "Hosta sedan två veckor"), ("status", "Lungor: normala andningsljud"), ("bedomning", "Postinfektiös hosta")]:
        browser.find_element(By.ID, f"s-{heading}").send_keys(text)
    browser.find_element(By.CSS_SELECTOR, "button[value=signera]").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "confirmation"), "the visit note signed")
    browser.get(f"{server.root}/patienter/{patient_id}/vantelista/ny")
    browser.find_element(By.CSS_SELECTOR, "#wl-visit option[value=lakarbesok]").click()
    browser.find_element(By.ID, "wl-comment").send_keys("Återbesök om sex veckor")
    browser.find_element(By.CSS_SELECTOR, "form.panel button[type=submit]").click()
    wait_for(browser, lambda d: "Patienten står på väntelistan" in d.page_source, "the follow-up on the waiting list")
    browser.get(server.root + "/vantelista")
    assert "Bokasson, Astrid" in browser.page_source and "Återbesök om sex veckor" in browser.page_source


def test_a_doctor_sends_a_referral_and_the_receiving_ward_accepts_and_answers_it(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    patient, _ = seed(server, "Remissdotter", 505, with_contact=True)
    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-1")
    browser.get(f"{server.root}/patienter/{patient}")
    browser.find_element(By.LINK_TEXT, "Skriv remiss").click()
    wait_for(browser, lambda d: d.title.startswith("Ny remiss"), "the referral form")
    Select(browser.find_element(By.ID, "unit")).select_by_value("hosp-1-ward-2")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/remiss'] button").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "question-error"), "the missing question said at its field")
    assert Select(browser.find_element(By.ID, "unit")).first_selected_option.get_attribute("value") == "hosp-1-ward-2"
    browser.find_element(By.ID, "question").send_keys("Oregelbunden puls sedan två veckor. Förmaksflimmer?")
    browser.find_element(By.CSS_SELECTOR, "input[name=priority][value=urgent]").click()
    browser.find_element(By.CSS_SELECTOR, "form[action$='/remiss'] button").click()
    wait_for(browser, lambda d: "Remissen är skickad" in d.page_source, "the sent referral")
    referral = browser.current_url.split("/remisser/")[1].split("?")[0]

    # The receiving ward (the same doctor's assignment there) finds it in the inbox, accepts and answers it.
    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-2")
    browser.find_element(By.LINK_TEXT, "Remisser").click()
    wait_for(browser, lambda d: d.title.startswith("Remissinkorg"), "the ward's referral inbox")
    browser.find_element(By.CSS_SELECTOR, f"a[href='/remisser/{referral}']").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "referral-status"), "the referral")
    assert "Oregelbunden puls" in browser.page_source and "Brådskande" in browser.page_source
    browser.find_element(By.CSS_SELECTOR, "form[action$='/acceptera'] button").click()
    wait_for(browser, lambda d: "Remissen är accepterad" in d.page_source, "the accepted referral")
    assert browser.find_element(By.ID, "referral-status").text == "Accepterad"
    shot(browser, server, "referral")
    browser.find_element(By.ID, "besvara").send_keys("Förmaksflimmer bekräftat på EKG. Antikoagulation insatt, återbesök om tre månader.")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/besvara'] button").click()
    wait_for(browser, lambda d: "Remissvaret är skickat" in d.page_source, "the answer")
    assert browser.find_element(By.ID, "referral-status").text == "Besvarad"


def test_the_systemforvaltare_creates_renames_and_moves_a_unit_but_not_to_another_care_provider(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.delete_all_cookies()
    log_in(browser, server, "admin", "region-karnland")
    browser.get(f"{server.root}/admin/enheter")
    browser.find_element(By.ID, "unit-id").send_keys("e2e-avd")
    browser.find_element(By.ID, "unit-name").send_keys("E2E-avdelningen")
    Select(browser.find_element(By.ID, "unit-parent")).select_by_value(UNIT)
    browser.find_element(By.CSS_SELECTOR, "form[action='/admin/enheter'] button").click()
    wait_for(browser, lambda d: "Enheten E2E-avdelningen är skapad" in d.page_source, "the new unit")

    browser.find_element(By.CSS_SELECTOR, "a[aria-label='Ändra E2E-avdelningen']").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "h-edit-unit"), "the unit's form")
    name = browser.find_element(By.ID, "edit-name")
    name.clear()
    name.send_keys("E2E-mottagningen")
    Select(browser.find_element(By.ID, "edit-parent")).select_by_value("privat-karnvard")
    browser.find_element(By.CSS_SELECTOR, "form[action='/admin/enhet/e2e-avd'] button").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "edit-parent-error"), "the other care provider refused at its field")
    assert "journalerna hör till vårdgivaren" in browser.find_element(By.ID, "edit-parent-error").text
    assert browser.find_element(By.ID, "edit-name").get_attribute("value") == "E2E-mottagningen", "what the user typed is kept"
    assert browser.find_element(By.ID, "edit-parent").get_attribute("aria-describedby") == "edit-parent-error"
    shot(browser, server, "admin-unit")

    Select(browser.find_element(By.ID, "edit-parent")).select_by_value("region-karnland")
    browser.find_element(By.CSS_SELECTOR, "form[action='/admin/enhet/e2e-avd'] button").click()
    wait_for(browser, lambda d: "Enheten E2E-mottagningen är ändrad" in d.page_source, "the saved change")
    row = browser.find_element(By.XPATH, "//tr[td[1]='e2e-avd']")
    assert "E2E-mottagningen" in row.text and "Region Kärnland" in row.text


def test_every_kind_of_page_passes_axe_core(server, browser):
    """The pages the flows above do not open, each checked by axe-core as it loads (AxeChecks)."""
    from selenium.webdriver.common.by import By

    patient, number = seed(server, "Axesson", 501, with_contact=True)
    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-1")
    browser.get(f"{server.root}/patienter/{patient}/anteckning/ny?mall=lakaranteckning-besok")
    for heading, text in [("kontaktorsak", "Yrsel"), ("status", "Neurologiskt utan anmärkning"), ("bedomning", "Benign lägesyrsel")]:
        browser.find_element(By.ID, f"s-{heading}").send_keys(text)
    browser.find_element(By.CSS_SELECTOR, "button[value=signera]").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "confirmation"), "the signing confirmed")
    browser.find_element(By.LINK_TEXT, "Visa anteckningen").click()
    wait_for(browser, lambda d: "/anteckningar/" in d.current_url, "the note's own page")
    # A diagnosis is found by its words as they are typed: the server searches the whole code system.
    browser.get(f"{server.root}/patienter/{patient}/signaler")
    browser.find_element(By.ID, "problem-code").send_keys("förmaksflimmer")
    def suggestions(d):
        # Read in the page in one go: the list is replaced while it is read.
        return d.execute_script("return Array.from(document.querySelectorAll('#diagnosis-list option')).map(function (o) { return o.value; })")
    wait_for(browser, lambda d: suggestions(d) and all("örmaksflimmer" in value for value in suggestions(d)), "the suggestions for what was typed")
    assert any(value.startswith("I48") for value in suggestions(browser))
    # A field of several codes looks up the one being typed and keeps those before it (a display may hold a comma).
    browser.find_element(By.ID, "secondary").send_keys("I10, förmaksflimmer")
    def kept(d):
        return d.execute_script("return Array.from(document.querySelectorAll('#secondary-list option')).map(function (o) { return o.value; })")
    wait_for(browser, lambda d: kept(d) and all(value.startswith("I10, I48") for value in kept(d)), "the second code's suggestions after the first")
    browser.find_element(By.ID, "procedures").send_keys("gastroskopi")
    def procedures(d):
        return d.execute_script("return Array.from(document.querySelectorAll('#procedure-list option')).map(function (o) { return o.label; })")
    wait_for(browser, lambda d: procedures(d) and all("astroskopi" in label.lower() for label in procedures(d)), "the procedures the server found")
    for path in ["/patienter?q=Axesson", "/tidbok?vy=vecka", "/vantelista", "/vantelista/ny", f"/patienter/{patient}/vantelista/ny", "/remisser", "/konto",
                 "/finns-inte"]:
        browser.get(server.root + path)
        assert "Något gick fel" not in browser.title, path
    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-2")
    browser.get(server.root + "/avdelning")
    # A patient written into the first free bed: one line with the responsible doctor and the day of stay.
    free = browser.find_element(By.CSS_SELECTOR, "details:not(.actions)")
    free.find_element(By.TAG_NAME, "summary").click()
    free.find_element(By.CSS_SELECTOR, "input[name=patient]").send_keys(number)
    free.find_element(By.CSS_SELECTOR, "input[name=reason]").send_keys("Yrsel, observation")
    free.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, lambda d: "Axesson" in d.page_source and "1 belagda" in d.page_source, "the admitted patient on the ward")
    shot(browser, server, "ward")
    # The ward's MAR and the admitted patient's Läkemedel tab (the läkemedelslista and today's doses).
    browser.get(server.root + "/lakemedel/avdelning")
    assert "Läkemedel på avdelningen" in browser.page_source
    browser.get(f"{server.root}/patienter/{patient}/lakemedel")
    assert "Läkemedelslista" in browser.page_source and "Dagens doser" in browser.page_source
    browser.delete_all_cookies()
    log_in(browser, server, "admin", "region-karnland")
    for path in ["/admin/anvandare", "/admin/befattningar", "/admin/taxa", "/admin/mallar"]:
        browser.get(server.root + path)
    checked = set(browser.axe_checks.checked)
    assert {"/patienter/{id}/signaler", "/tidbok?vy=vecka", "/admin/befattningar", "/finns-inte", "/anteckningar/{id}", "/lakemedel/avdelning",
            "/patienter/{id}/lakemedel"} <= checked, checked


def test_a_nurse_gives_a_dose_from_the_ward_mar(server, browser):
    """The demo ward's nurse opens the ward's MAR, goes to a patient's Läkemedel tab by keyboard, and gives a
    planned dose there; a dose of a high-risk drug offers only preparation until another nurse checks it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    ward = "hosp-1-ward-2"
    patient, _ = seed(server, "Dosdotter", 606, with_contact=False)
    client = SyncFHIRClient(server.base)
    tag = {"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": ward}]}
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    client.resource("Encounter", status="in-progress", subject={"reference": f"Patient/{patient}"}, meta=tag,
                    **{"class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}},
                    period={"start": (now - datetime.timedelta(days=1)).isoformat()}, serviceProvider={"reference": f"Organization/{ward}"}).save()
    for atc, name in [("N02BE01", "Paracetamol Kärna tablett 500 mg"), ("A10AB01", "Insulin Kärna 100 E/ml")]:
        client.resource("MedicationRequest", status="active", intent="order", meta=tag, subject={"reference": f"Patient/{patient}"},
                        category=[{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": "inpatient"}]}],
                        medicationCodeableConcept={"coding": [{"system": "http://www.whocc.no/atc", "code": atc}], "text": name},
                        reasonCode=[{"text": "Behandling"}], requester={"reference": "PractitionerRole/demo-lakare-uppdrag-2"},
                        dosageInstruction=[{"route": {"text": "Oralt"}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "dos"}}],
                                            "timing": {"repeat": {"frequency": 6, "period": 1, "periodUnit": "d",
                                                                  "boundsPeriod": {"start": (now - datetime.timedelta(days=1)).date().isoformat()}}}}]).save()
    browser.delete_all_cookies()
    log_in(browser, server, "sjukskoterska", "uppdrag-1")
    browser.get(server.root + "/lakemedel/avdelning")
    assert "Läkemedel på avdelningen" in browser.page_source
    link = browser.find_element(By.CSS_SELECTOR, f"table a[href='/patienter/{patient}/lakemedel']")
    link.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "Dagens doser" in d.page_source, "the patient's Läkemedel tab")
    rows = browser.find_elements(By.CSS_SELECTOR, "#h-mar ~ table tbody tr")
    assert rows, browser.page_source[-2000:]
    # High-risk rows offer preparation, never giving straight away.
    for row in rows:
        if "Dubbelkontroll" in row.text and "Iordningställ" in row.text:
            assert not row.find_elements(By.CSS_SELECTOR, "button[value=give]")
    give = next(button for button in browser.find_elements(By.CSS_SELECTOR, "#h-mar ~ table button[value=give]"))
    give.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "Dosen är dokumenterad som given." in d.page_source, "the notice after giving the dose")
    shot(browser, server, "mar-given")


def test_a_doctor_ordinates_with_type_ahead_and_sees_the_cards_before_signing(server, browser):
    """The doctor picks a product from the catalogue by typing, checks it, meets the interaction card with the
    patient's warfarin, gives a reason and signs; the ordination is on the läkemedelslista."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    patient, _ = seed(server, "Ordinatör", 707, with_contact=True)
    client = SyncFHIRClient(server.base)
    client.resource("MedicationRequest", status="active", intent="order", subject={"reference": f"Patient/{patient}"},
                    meta={"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": UNIT}]},
                    medicationCodeableConcept={"coding": [{"system": "http://www.whocc.no/atc", "code": "B01AA03"}], "text": "Waran"},
                    reasonCode=[{"text": "Förmaksflimmer"}], requester={"reference": "PractitionerRole/demo-lakare-uppdrag-1"},
                    dosageInstruction=[{"route": {"text": "Oralt"}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablett"}}],
                                        "timing": {"repeat": {"when": ["EVE"], "boundsPeriod": {"start": "2026-11-01"}}}}]).save()
    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-1")
    browser.get(f"{server.root}/patienter/{patient}/lakemedel")
    browser.find_element(By.LINK_TEXT, "Ny ordination").click()
    wait_for(browser, lambda d: d.title.startswith("Ny ordination"), "the ordination form")
    browser.find_element(By.ID, "product").send_keys("ibupro")

    def offered(d):
        return d.execute_script("return Array.from(document.querySelectorAll('#product-list option')).map(function (o) { return o.value; })")
    wait_for(browser, lambda d: any(value.startswith("19990101000031") for value in offered(d)), "the catalogue's suggestions")
    product = browser.find_element(By.ID, "product")
    product.clear()
    product.send_keys(next(value for value in offered(browser) if value.startswith("19990101000031")))
    browser.find_element(By.ID, "dose").send_keys("1")
    browser.find_element(By.ID, "unit").send_keys("tablett")
    Select(browser.find_element(By.ID, "route")).select_by_visible_text("Oralt")
    browser.find_element(By.CSS_SELECTOR, "input[name=when_MORN]").click()
    browser.find_element(By.ID, "reason").send_keys("Ledvärk")
    browser.find_element(By.CSS_SELECTOR, "button[value=kontrollera]").click()
    wait_for(browser, lambda d: "Interaktion D" in d.page_source, "the interaction card at selection")
    shot(browser, server, "ordination-cards")
    browser.find_element(By.CSS_SELECTOR, "button[value=signera]").click()
    wait_for(browser, lambda d: "Ta ställning till dem" in d.page_source, "the cards to decide at signing")
    select = next(s for s in browser.find_elements(By.CSS_SELECTOR, "select[id^=reason-]"))
    Select(select).select_by_index(1)
    browser.find_element(By.CSS_SELECTOR, "button[value=signera]").click()
    wait_for(browser, lambda d: "Ordinationen är signerad." in d.page_source, "the signed ordination")
    assert "Ibuprofen Kärna" in browser.page_source


def test_laslage_on_command_shows_the_banner_refuses_a_form_and_ends(server, browser):
    """Issue 29: `karna downtime on` (as the operators give it) puts the running server in läsläge within seconds:
    the banner on the chart (checked by axe-core), a clinical form answered "Ändringen sparades inte", and reads go
    on; `karna downtime off` ends it, and the start page leads to the efterregistrering list."""
    import subprocess
    import time

    from selenium.webdriver.common.by import By

    from conftest import KARNA

    patient, _ = seed(server, "Läslägesson", 601, with_contact=True)
    browser.delete_all_cookies()
    log_in(browser, server, "lakare", "uppdrag-1")

    def downtime(*arguments):
        done = subprocess.run([KARNA, "downtime", *arguments, "--database-url", server.database_url], capture_output=True, text=True,
                              cwd=server.folder, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def banner_within(seconds, present):
        deadline = time.time() + seconds
        while time.time() < deadline:
            browser.get(f"{server.root}/patienter/{patient}/signaler")
            if bool(browser.find_elements(By.ID, "read-only")) == present:
                return True
            time.sleep(1)
        return False

    downtime("on", "--reason", "planerat underhåll till 06.00")
    try:
        assert banner_within(15, True), "no läsläge banner within 15 s of the command"
        banner = browser.find_element(By.ID, "read-only").text
        assert banner.startswith("Läsläge") and "planerat underhåll till 06.00" in banner and "Dokumentera på papper" in banner, banner
        assert "Penicillin" in browser.page_source, "reads go on in läsläge"
        # The chart with the banner, checked by axe-core as a page of its own kind.
        browser.get(f"{server.root}/patienter/{patient}?laslage=1")
        wait_for(browser, lambda d: d.find_elements(By.ID, "read-only"), "the chart in läsläge")
        shot(browser, server, "laslage")
        browser.get(f"{server.root}/patienter/{patient}/signaler")
        browser.find_element(By.ID, "problem-code").send_keys("I10 Essentiell hypertoni")
        browser.find_element(By.ID, "problem-code").submit()
        wait_for(browser, lambda d: "Ändringen sparades inte" in d.page_source, "the refusal page")
        assert "Kärna är i läsläge" in browser.find_element(By.TAG_NAME, "h1").text
    finally:
        downtime("off")
    assert banner_within(15, False), "the banner stayed after karna downtime off"
    # After it: the start page points to efterregistrering, whose list (checked by axe-core) names the downtime.
    browser.get(server.root + "/start")
    assert "Ett driftstopp slutade" in browser.find_element(By.ID, "back-entry").text
    browser.find_element(By.LINK_TEXT, "Se vad som har förts in").click()
    wait_for(browser, lambda d: d.title.startswith("Efter driftstopp"), "the efterregistrering list")
    assert "planerat underhåll till 06.00" in browser.page_source
