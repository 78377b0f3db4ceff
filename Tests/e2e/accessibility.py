"""axe-core on every page the browser suite opens: each distinct page (its path with ids left out, and
the query names that change what it shows) is checked once per browser, with a current axe-core
(4.12, from the PyPI package axe-playwright-python; axe-selenium-python's own copy is from 2018), and
any violation fails the test at that page."""
import importlib.util
import os
import re
from urllib.parse import parse_qsl, urlparse

from selenium.webdriver.support.events import AbstractEventListener


def axe_script():
    spec = importlib.util.find_spec("axe_playwright_python")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("axe-playwright-python is missing: .ci/run installs it (pip install --no-deps axe-playwright-python)")
    return os.path.join(spec.submodule_search_locations[0], "axe.min.js")


# The query names that change which page is shown (a week instead of a day, a template chosen).
SHAPING = {"vy", "mall", "orsak"}


def page_key(url):
    parts = urlparse(url)
    path = "/".join("{id}" if re.search(r"\d", segment) else segment for segment in parts.path.split("/"))
    shaping = sorted(f"{name}={value}" if name in SHAPING else name for name, value in parse_qsl(parts.query))
    return path + ("?" + "&".join(shaping) if shaping else "")


class AxeChecks(AbstractEventListener):
    """Checks each new page after a navigation (driver.get), and when a test says a page has loaded."""

    def __init__(self):
        from axe_selenium_python import Axe
        self.axe_class = Axe
        self.script = axe_script()
        self.seen = set()
        self.checked = []

    def after_navigate_to(self, url, driver):
        self.check(driver)

    def check(self, driver):
        if driver.execute_script("return document.readyState") != "complete":
            return
        url = driver.current_url
        if not url.startswith("http"):
            return
        key = page_key(url)
        if key in self.seen:
            return
        self.seen.add(key)
        axe = self.axe_class(driver, script_url=self.script)
        axe.inject()
        # Every rule of WCAG 2.0–2.2 A and AA and axe's best practices, target size (2.5.8) included.
        results = axe.run(options='{"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}}')
        self.checked.append(key)
        violations = results.get("violations", [])
        # axe-core 4.7 retired its duplicate-id rule; a label tied to the wrong field is still a fault.
        twice = driver.execute_script(
            "var seen = {}, twice = []; document.querySelectorAll('[id]').forEach(function (e) { if (seen[e.id]) { twice.push(e.id); } seen[e.id] = true; }); return twice;")
        assert not twice, f"ids used twice on {url}: {twice}"
        assert not violations, f"axe-core {results.get('testEngine', {}).get('version')} on {url}:\n" + axe.report(violations)
