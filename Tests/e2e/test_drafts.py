"""A note being written is never lost to the idle timeout, in Chromium against a server whose sessions
idle out after one minute: typing slowly keeps the session (input is activity, saved as a draft),
a warning comes before the end, the session ends on the login page, and logging in again returns to
the note with the text back."""
import tempfile
import time

import pytest

from conftest import Server, KARNA
from test_access import totp
from test_webapp import CHROMIUM, CHROMEDRIVER, browser, log_in, seed, wait_for  # noqa: F401 (browser is the shared fixture, axe-core checks included)

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")

IDLE_SECONDS = 60


@pytest.fixture(scope="module")
def short_server():
    with tempfile.TemporaryDirectory() as folder:
        instance = Server("sqlite", folder, extra_env={"KARNA_SESSION_SECONDS": str(IDLE_SECONDS)})
        try:
            yield instance
        finally:
            instance.stop()


def test_a_slowly_typed_note_survives_the_idle_timeout(short_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    import requests
    original = requests.Session.request

    def with_token(session, method, url, *args, **kwargs):
        if str(url).startswith(short_server.base):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("Authorization", "Bearer " + short_server.token)
            kwargs["headers"] = headers
        return original(session, method, url, *args, **kwargs)

    requests.Session.request = with_token
    try:
        patient, _ = seed(short_server, "Utkastsson", 401, with_contact=True)
    finally:
        requests.Session.request = original
    log_in(browser, short_server, "lakare", "uppdrag-1")
    note = f"{short_server.root}/patienter/{patient}/anteckning/ny?mall=lakaranteckning-besok"
    browser.get(note)
    field = browser.find_element(By.ID, "s-kontaktorsak")

    # Scrolled to the last heading of the note on a small screen, the banner (who, allergies) is still in view.
    browser.set_window_size(1280, 520)
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    assert browser.execute_script("return window.scrollY") > 100, "the note form scrolls on a small screen"
    top = browser.execute_script("return document.querySelector('.banner').getBoundingClientRect().top")
    assert 0 <= top < 5, f"the banner stays at the top while writing (top={top})"
    assert "Utkastsson" in browser.find_element(By.CSS_SELECTOR, ".banner").text
    browser.set_window_size(1280, 900)
    browser.execute_script("window.scrollTo(0, 0)")

    # A doctor typing slowly, a word every ten seconds, for longer than the idle time: the session holds.
    words = ["Yrsel", " sedan", " i", " morse,", " ingen", " huvudvärk,", " tar", " inga", " läkemedel."]
    started = time.time()
    for word in words:
        field.send_keys(word)
        time.sleep(10)
    assert time.time() - started > IDLE_SECONDS + 15
    assert browser.current_url == note, "typing counts as activity: the session did not end"
    status = browser.find_element(By.CSS_SELECTOR, "[data-draft-status]").text
    assert status.startswith("Utkastet sparades"), status

    # Then the doctor is called away: a warning first, then the login page saying why.
    WebDriverWait(browser, IDLE_SECONDS + 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".session-warning"), "the warning before the end")
    assert "Du loggas ut om" in browser.find_element(By.CSS_SELECTOR, ".session-warning").text
    WebDriverWait(browser, IDLE_SECONDS).until(lambda d: d.title.startswith("Logga in"), "the login page after the timeout")
    assert "utan aktivitet" in browser.find_element(By.TAG_NAME, "main").text

    # Logging in again returns to the note, with every word back.
    user = next(u for u in short_server.credentials()["users"] if u["username"] == "lakare")
    browser.find_element(By.ID, "username").send_keys("lakare")
    browser.find_element(By.ID, "password").send_keys(user["password"])
    browser.find_element(By.ID, "code").send_keys(totp(user["totpSecret"], (short_server.root, "lakare")))
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(browser, lambda d: not d.title.startswith("Logga in"), "the login form was answered")
    if browser.title.startswith("Välj medarbetaruppdrag"):
        radios = browser.find_elements(By.CSS_SELECTOR, "input[name=assignment]")
        next(r for r in radios if "uppdrag-1" in (r.get_attribute("value") or "")).click()
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(browser, lambda d: "/anteckning/ny" in d.current_url, "back at the note")
    assert browser.find_element(By.ID, "s-kontaktorsak").get_attribute("value") == "".join(words)
    assert "Ditt utkast från" in browser.find_element(By.TAG_NAME, "main").text
