#!/usr/bin/env python3
"""Kärna's benchmark: one command, both backends, one report.

    Benchmarks/bench.py [--patients 10000,100000] [--seconds 10] [--backends sqlite,postgresql]
                        [--synthea ../shared/testdata/synthea] [--out docs/performance.md] [--smoke]

Measures, on this machine and in this run (server, database and load
generator share the cores):
  1. ceilings: the HTTP framework's empty handler (GET /health/live, requests/s)
     and raw inserts of the same JSON bytes into the database (rows/s, MB/s);
  2. read by id (requests/s, p50/p95/p99) as a ratio of the empty handler;
  3. import of the Synthea bundles and of the seeded population (resources/s)
     as a ratio of raw inserts;
  4. a CRUD mix like Health Samurai's FHIR server benchmark (create a linked
     Patient, Encounter, Observation and MedicationRequest; read each; update
     each; delete in reverse), requests/s and p99;
  5. a search mix at each seeded size, p50/p95/p99 per search;
  6. the server's peak memory (VmHWM).
Load comes from wrk (Debian's package) with the Lua scripts written below.
"""
import argparse
import base64
import hmac
import http.cookiejar
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# The load generator is one client at many times a real client's rate: per-client limits off while measuring.
UNTHROTTLED = dict(KARNA_RATE_API="0", KARNA_RATE_LOGINS="0", KARNA_RATE_ACCOUNT_LOGINS="0", KARNA_RATE_TOKENS="0",
                   KARNA_CONNECTIONS_PER_CLIENT="100000", KARNA_SESSION_SECONDS="86400")
KARNA = os.environ.get("KARNA_BENCH_BIN") or os.path.join(ROOT, ".build", "release", "karna")

LATENCY_DONE = """
done = function(summary, latency, requests)
  io.write(string.format("KARNA p50=%.3f p95=%.3f p99=%.3f errors=%d\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""

URLS_LUA = """
local urls = {}
for line in io.lines("@FILE@") do urls[#urls + 1] = line end
local counter = 0
init = function(args) math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000) end
local auth = {["Authorization"] = "Bearer @TOKEN@"}
request = function()
  return wrk.format("GET", urls[math.random(#urls)], auth)
end
""" + LATENCY_DONE

# A CDS Hooks order-sign call (läkemedelskontroll) for one patient drafting ibuprofen: every check runs, and
# its warning cards are stored as DetectedIssues, as at a real signing.
HOOK_LUA = """
local auth = {["Authorization"] = "Bearer @TOKEN@", ["Content-Type"] = "application/json"}
local body = '{"hook":"order-sign","hookInstance":"bench","context":{"userId":"Practitioner/bench","patientId":"@PATIENT@",'
  .. '"draftOrders":{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"MedicationRequest","id":"bench-draft",'
  .. '"status":"draft","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"M01AE01"}],"text":"Ibuprofen"}}}]}}}'
request = function()
  return wrk.format("POST", "/cds-services/lakemedelskontroll-order-sign", auth, body)
end
""" + LATENCY_DONE

# The web app's pages, as a signed-in clinician's browser asks for them (the session cookie instead of a token).
PAGES_LUA = URLS_LUA.replace('local auth = {["Authorization"] = "Bearer @TOKEN@"}', 'local auth = {["Cookie"] = "karna_web=@COOKIE@"}')


def totp(secret, step):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), "sha1").digest()
    offset = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


# The last TOTP step each (server, user) logged in with.
LAST_STEP = {}


def web_login(base, username="lakare", assignment="demo-lakare-uppdrag-1"):
    """Logs in through the web app's form (password, TOTP, assignment) and returns the session cookie's value."""
    with open(os.environ["KARNA_DEMO_CREDENTIALS"]) as f:
        user = next(u for u in json.load(f)["users"] if u["username"] == username)
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)

    def field(page, name):
        return re.search(r'name="%s" value="([^"]*)"' % name, page).group(1)

    def post(path, fields):
        try:
            with opener.open(base + path, data=urllib.parse.urlencode(fields).encode(), timeout=30) as r:
                return r.read().decode()
        except urllib.error.HTTPError as redirect:
            if redirect.code != 303:
                raise
            return ""

    # A code is good once, and the server takes one step either side of now: a second login of the same user in
    # one step uses the next step's code at once (waiting ~30 s for it cost the run a minute a backend); only a
    # third waits until its step is in reach.
    for attempt in range(3):
        with opener.open(base + "/login", timeout=30) as r:
            page = r.read().decode()
        step = max(int(time.time() // 30), LAST_STEP.get((base, username), 0) + 1)
        while step > int(time.time() // 30) + 1:
            time.sleep(1)
        LAST_STEP[(base, username)] = step
        try:
            page = post("/login", {"csrf": field(page, "csrf"), "username": username, "password": user["password"],
                                   "code": totp(user["totpSecret"], step)})
            break
        except urllib.error.HTTPError as refused:
            if refused.code != 401 or attempt == 2:
                raise
    if "pending" in page:
        post("/login/uppdrag", {"csrf": field(page, "csrf"), "pending": field(page, "pending"), "assignment": assignment})
    cookie = next((c.value for c in jar if c.name == "karna_web"), None)
    if cookie is None:
        raise RuntimeError("the web login did not give a session")
    return cookie


# Who opens which pages: the doctor at the vårdcentral, the nurse on the ward, the logggranskare.
PAGE_LOGINS = {"doctor": ("lakare", "demo-lakare-uppdrag-1"), "nurse": ("sjukskoterska", "demo-sjukskoterska-uppdrag-1"),
               "reviewer": ("logggranskare", "demo-logggranskare-uppdrag-1"), "ednurse": ("sjukskoterska", "demo-sjukskoterska-uppdrag-3"),
               "midwife": ("barnmorska", "demo-barnmorska-uppdrag-1"), "deliverymidwife": ("barnmorska", "demo-barnmorska-uppdrag-2")}
# The demo region's emergency department, and how many open visits its board holds when it is measured.
EMERGENCY_UNIT = "hosp-1-ward-1"
BOARD_VISITS = 60


def maternity_pages(server, seed_output):
    """The gravidogram of the demo pregnancy with the whole programme and the partogram of the demo birth, as
    `karna seed` names them: {kind: (URLs, login)}; empty when the seed wrote no pregnancies."""
    full = re.search(r"Mödravård \(\S+\): (\S+) i vecka 36", seed_output)
    born = re.search(r"Förlossningen: (\S+) förlöst", seed_output)
    kinds = {}
    if full:
        kinds["gravidogram (pregnancy overview), a full programme"] = (["/patienter/%s/graviditet" % full.group(1)], "midwife")
    if born:
        found = get_json(server.base + "/fhir/Encounter?subject=Patient/%s&type=https://karna.se/fhir/CodeSystem/besokstyp%%7Cforlossning" % born.group(1))
        for entry in found.get("entry", [])[:1]:
            kinds["partogram, the demo birth"] = (["/forlossning/%s" % entry["resource"]["id"]], "deliverymidwife")
    return kinds


def page_urls(work, heaviest, extra=None):
    """The pages users open, on the demo units and patients `karna seed` fills: {kind: (URL file, login)}."""
    kinds = dict(extra or {})
    kinds.update({
        "start page": (["/start"], "doctor"),
        "patient search (name)": (["/patienter?q=%s" % q for q in ["and", "lind", "karl", "ber", "nils"]], "doctor"),
        "chart, demo patient": (["/patienter/pat-1"], "doctor"),
        "journal, demo patient": (["/patienter/pat-1/journal"], "doctor"),
        "new note form": (["/patienter/pat-1/anteckning/ny?mall=lakaranteckning-besok"], "doctor"),
        "signals and diagnoses, demo patient": (["/patienter/pat-1/signaler"], "doctor"),
        "care-relationship question (heaviest patient; answers 403 by design)": (["/patienter/%s" % heaviest], "doctor"),
        "appointment book, day": (["/tidbok"], "doctor"),
        "appointment book, week": (["/tidbok?vy=vecka"], "doctor"),
        "waiting list": (["/vantelista"], "doctor"),
        "waiting-list form, demo patient": (["/patienter/pat-1/vantelista/ny"], "doctor"),
        "diagnosis type-ahead (whole ICD-10-SE)": (["/terminologi/diagnoser?q=%s" % q for q in ["hyp", "diab", "f%C3%B6rm", "astm", "j06"]], "doctor"),
        "referral inbox (the ward receives the demo referrals)": (["/remisser"], "nurse"),
        "cashier": (["/kassa"], "doctor"),
        "ward overview": (["/avdelning"], "nurse"),
        "Provsvar tab (cumulative table), demo patient": (["/patienter/pat-1/provsvar"], "doctor"),
        "Provsvar trend (HbA1c), demo patient": (["/patienter/pat-1/provsvar?analys=NPU27300"], "doctor"),
        "log review queue": (["/loggranskning"], "reviewer"),
        "akuttavla (tracking board), %d open visits" % BOARD_VISITS: (["/akut"], "ednurse"),
    })
    files = url_files(work, "pages", {kind: urls for kind, (urls, _) in kinds.items()})
    return {kind: (files[kind], login) for kind, (_, login) in kinds.items()}


# One connection per thread, so each thread's state machine sees its own responses in order.
CRUD_LUA = """
local step = 1
local ids = {}
local names = {"Patient", "Encounter", "Observation", "MedicationRequest"}
local function body(kind, id)
  local p = ids.Patient or "x"
  local e = ids.Encounter or "x"
  local idpart = id and ('"id":"' .. id .. '",') or ""
  if kind == "Patient" then
    return '{"resourceType":"Patient",' .. idpart .. '"name":[{"family":"Bench","given":["Greta"]}],"gender":"female","birthDate":"1980-02-03"' .. (id and ',"active":true' or '') .. '}'
  elseif kind == "Encounter" then
    return '{"resourceType":"Encounter",' .. idpart .. '"status":"' .. (id and 'finished' or 'in-progress') .. '","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/' .. p .. '"}}'
  elseif kind == "Observation" then
    return '{"resourceType":"Observation",' .. idpart .. '"status":"' .. (id and 'amended' or 'final') .. '","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/' .. p .. '"},"encounter":{"reference":"Encounter/' .. e .. '"},"valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}'
  else
    return '{"resourceType":"MedicationRequest",' .. idpart .. '"status":"' .. (id and 'completed' or 'active') .. '","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"N02BE01"}]},"subject":{"reference":"Patient/' .. p .. '"},"encounter":{"reference":"Encounter/' .. e .. '"}}'
  end
end
request = function()
  local headers = {["Content-Type"] = "application/fhir+json", ["Prefer"] = "return=minimal", ["Authorization"] = "Bearer @TOKEN@"}
  if step <= 4 then
    return wrk.format("POST", "/fhir/" .. names[step], headers, body(names[step], nil))
  elseif step <= 8 then
    local k = names[step - 4]
    return wrk.format("GET", "/fhir/" .. k .. "/" .. ids[k], headers)
  elseif step <= 12 then
    local k = names[step - 8]
    return wrk.format("PUT", "/fhir/" .. k .. "/" .. ids[k], headers, body(k, ids[k]))
  else
    local k = names[17 - step]
    return wrk.format("DELETE", "/fhir/" .. k .. "/" .. ids[k], headers)
  end
end
response = function(status, headers, body)
  if step <= 4 then
    local location = headers["Location"] or headers["location"] or ""
    ids[names[step]] = string.match(location, "/fhir/%a+/([^/]+)/_history") or "missing"
  end
  step = step + 1
  if step > 16 then step = 1 end
end
""" + LATENCY_DONE


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def wrk(url, seconds, script, connections=4, threads=2):
    out = run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--latency", "-s", script, url])
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"KARNA p50=([\d.]+) p95=([\d.]+) p99=([\d.]+) errors=(\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rate": rate, "p50": float(m.group(1)), "p95": float(m.group(2)), "p99": float(m.group(3)),
            "errors": int(m.group(4)) + (int(non2xx.group(1)) if non2xx else 0)}


# The system client every server in this run creates at first start (the bootstrap settings), so the
# benchmark reads and writes through the access gateway with a real bearer token, audited like any client.
CLIENT_ID = "karna-bench"
CLIENT_SECRET = "bench-" + "%032x" % random.getrandbits(128)
TOKEN = {"value": ""}


def get_json(url):
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + TOKEN["value"]})
    with urllib.request.urlopen(request, timeout=120) as r:
        return json.load(r)


def fetch_token(base):
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                   "scope": "system/*.cruds"}).encode()
    with urllib.request.urlopen(urllib.request.Request(base + "/auth/token", data=body), timeout=30) as r:
        return json.load(r)["access_token"]


class Server:
    def __init__(self, database_url, work):
        self.port = free_port()
        self.mllp_port = free_port()
        self.log = open(os.path.join(work, "serve-%d.log" % self.port), "w")
        self.proc = subprocess.Popen([KARNA, "serve", "--port", str(self.port), "--database-url", database_url, "--log-level", "warning",
                                      "--max-page-size", "5000", "--mllp-port", str(self.mllp_port)], stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        # A minute at most: a debug build on a busy machine takes longer than a release build's second.
        for _ in range(600):
            try:
                urllib.request.urlopen(self.base + "/health/live", timeout=1)
                TOKEN["value"] = fetch_token(self.base)
                return
            except Exception:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.log.flush()
        raise RuntimeError("server did not start: " + open(self.log.name).read()[-2000:])

    def peak_memory_mb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Databases:
    """Fresh databases for each measurement: SQLite files, or databases on one throwaway PostgreSQL server."""

    def __init__(self, work):
        self.work = work
        self.pg_url = None
        self.pg_folder = None
        self.count = 0

    def fresh(self, backend):
        self.count += 1
        if backend == "sqlite":
            return "sqlite:" + os.path.join(self.work, "db%d" % self.count, "karna.sqlite")
        if self.pg_url is None:
            env = dict(os.environ, KARNA_PG_OPTIONS="-c shared_buffers=512MB -c synchronous_commit=off -c max_wal_size=4GB")
            self.pg_url, self.pg_folder = run([os.path.join(ROOT, "scripts", "start-throwaway-postgres.sh")], env=env).split()
        name = "bench%d" % self.count
        run(["psql", self.pg_url, "-qc", "CREATE DATABASE %s" % name])
        return self.pg_url.rsplit("/", 1)[0] + "/" + name

    def close(self):
        if self.pg_folder:
            subprocess.run([os.path.join(ROOT, "scripts", "start-throwaway-postgres.sh"), "--stop", self.pg_folder])


def search_urls(base, work, heaviest, kind_limit=400):
    """Search URLs drawn from the seeded data itself, per kind."""
    patients = get_json(base + "/fhir/Patient?_count=%d&_elements=identifier,name,birthDate&_total=none" % kind_limit).get("entry", [])
    rng = random.Random(42)
    kinds = {name: [] for name in ["personnummer", "name prefix", "birthdate eq", "birthdate ge", "birthdate lt",
                                   "birthdate ne", "HbA1c of a patient this year", "Observations by code and date range", "Encounters on a day"]}
    for e in patients:
        r = e["resource"]
        # Left over from the CRUD mix, or the demo newborn (a reservnummer and a temporary name without a family name).
        if "identifier" not in r or "family" not in r["name"][0] or "birthDate" not in r:
            continue
        pnr = r["identifier"][0]["value"].replace("-", "")
        family = r["name"][0]["family"]
        birth = r["birthDate"]
        kinds["personnummer"].append("/fhir/Patient?identifier=%s" % pnr)
        kinds["name prefix"].append("/fhir/Patient?name=%s&_count=20" % urllib.parse.quote(family[:4]))
        kinds["birthdate eq"].append("/fhir/Patient?birthdate=eq%s" % birth)
        kinds["birthdate ge"].append("/fhir/Patient?birthdate=ge%s&_count=20" % birth)
        kinds["birthdate lt"].append("/fhir/Patient?birthdate=lt%s&_count=20" % birth)
        kinds["birthdate ne"].append("/fhir/Patient?birthdate=ne%s&_count=20" % birth)
        kinds["HbA1c of a patient this year"].append(
            "/fhir/Observation?subject=Patient/%s&code=urn:oid:1.2.208.176.2.1%%7CNPU27300&date=ge2026-01-01" % r["id"])
        day = "2025-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28))
        kinds["Observations by code and date range"].append(
            "/fhir/Observation?code=urn:oid:1.2.208.176.2.1%%7CNPU19748&date=ge%s&date=lt2025-12-31&_count=20" % day)
        kinds["Encounters on a day"].append("/fhir/Encounter?date=%s" % day)
    # Patient administration's views, on the demo units `karna seed` fills (the same URL each time).
    kinds["ward overview"] = ["/fhir/Organization/hosp-1-ward-2/$ward-overview"]
    kinds["free slots"] = ["/fhir/Slot/$find?unit=vc-karnstad&_count=10"]
    kinds["waiting list"] = ["/fhir/Appointment/$waiting-list?unit=vc-karnstad"]
    kinds["referral inbox"] = ["/fhir/Task/$referral-inbox?unit=hosp-1-ward-2"]
    # Clinical documentation: the chart a clinician opens. The heaviest patient has the most records; pat-1 has
    # the demo journal (notes, diagnoses, attention signals).
    kinds["chart overview, heaviest patient"] = ["/fhir/Patient/%s/$overview" % heaviest]
    kinds["chart overview, demo patient"] = ["/fhir/Patient/pat-1/$overview"]
    kinds["journal, demo patient"] = ["/fhir/Patient/pat-1/$journal"]
    # Medication: the läkemedelslista of the patient with the most records.
    kinds["medication list, heaviest patient"] = ["/fhir/Patient/%s/$medication-list" % heaviest]
    kinds["ward MAR (demo ward)"] = ["/fhir/Organization/hosp-1-ward-2/$ward-mar"]
    kinds["diagnosis type-ahead"] = ["/fhir/ValueSet/$expand?url=https://karna.se/fhir/ValueSet/diagnoser&filter=%s&count=10" % f
                                     for f in ["di", "hyp", "akut", "astma", "fraktur", "j0", "i4"]]
    # Sorted searches over many matches (issue 22): the first page, and later pages reached by following `next`.
    for kind, first in SORTED_SEARCHES.items():
        kinds["sorted: %s, first page" % kind] = [first]
        kinds["sorted: %s, pages 2-21" % kind] = next_links(base, first, 20) or [first]
    return url_files(work, "urls", kinds)


# Sorted searches over many matches: by date, by date within a code, newest first among one sex's
# observations (a chained filter), and patients by family name (a string); each pages by its keyset cursor.
SORTED_SEARCHES = {
    "Observations by date": "/fhir/Observation?_sort=date&_count=50",
    "Observations of a code by -date": "/fhir/Observation?code=urn:oid:1.2.208.176.2.1%7CNPU19748&_sort=-date&_count=50",
    "women's Observations by -_lastUpdated": "/fhir/Observation?patient.gender=female&_sort=-_lastUpdated&_count=50",
    "Patients by family": "/fhir/Patient?_sort=family&_count=50",
}


def next_links(base, path, pages):
    """The `next` links of the first `pages` pages after `path`, as paths."""
    links = []
    url = base + path
    for _ in range(pages):
        bundle = get_json(url)
        link = next((l["url"] for l in bundle.get("link", []) if l["relation"] == "next"), None)
        if not link:
            break
        links.append(link[len(base):])
        url = link
    return links


def page_through(base, path, limit_seconds=300):
    """Follows every `next` link of a sorted search: pages, matches, and each page's time in ms."""
    times, matches, url = [], 0, base + path
    started = time.time()
    while url and time.time() - started < limit_seconds:
        t = time.time()
        bundle = get_json(url)
        times.append((time.time() - t) * 1000)
        matches += sum(1 for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == "match")
        url = next((l["url"] for l in bundle.get("link", []) if l["relation"] == "next"), None)
    return {"pages": len(times), "matches": matches, "first": times[0] if times else 0, "times": times, "complete": url is None,
            "seconds": time.time() - started}


def url_files(work, prefix, kinds):
    """One file of URLs per kind, for wrk's script to draw from."""
    files = {}
    for kind, urls in kinds.items():
        path = os.path.join(work, "%s-%s.txt" % (prefix, re.sub(r"\W+", "-", kind)))
        with open(path, "w") as f:
            f.write("\n".join(urls) + "\n")
        files[kind] = path
    return files


def lua(work, name, text):
    text = text.replace("@TOKEN@", TOKEN["value"])
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def last_rate(output):
    m = re.findall(r"\((\d+) resources/s\)", output) or re.findall(r"(\d+) resources/s", output)
    return int(m[-1]) if m else 0


def cpu_milliseconds(pids):
    """User and system CPU time (ms) the processes have used so far."""
    ticks = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")


def postgres_pids():
    """The PostgreSQL processes on this machine (the database measured must be the only busy one)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/comm" % entry) as f:
                    if f.read().startswith("postgres"):
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def page_cpu(server, work, heaviest, wanted, requests=100):
    """Each page's CPU per request, of the server and of PostgreSQL, over sequential requests: a figure
    that, unlike latency under load, does not move with what else the machine is doing."""
    cookies = {login: web_login(server.base, *PAGE_LOGINS[login]) for login in PAGE_LOGINS}
    rows = []
    for kind, (path, login) in page_urls(work, heaviest).items():
        if not wanted("page", kind):
            continue
        with open(path) as f:
            urls = f.read().split()
        def get(url):
            request = urllib.request.Request(server.base + url, headers={"Cookie": "karna_web=" + cookies[login]})
            try:
                urllib.request.urlopen(request).read()
            except urllib.error.HTTPError as error:
                error.read()
        for i in range(10):
            get(urls[i % len(urls)])
        walls = []
        server_before, postgres_before = cpu_milliseconds([server.proc.pid]), cpu_milliseconds(postgres_pids())
        for i in range(requests):
            start = time.time()
            get(urls[i % len(urls)])
            walls.append((time.time() - start) * 1000)
        server_cpu = (cpu_milliseconds([server.proc.pid]) - server_before) / requests
        postgres_cpu = (cpu_milliseconds(postgres_pids()) - postgres_before) / requests
        walls.sort()
        rows.append((kind, server_cpu, postgres_cpu, walls[len(walls) // 2]))
        print("  page %s: server %.1f ms CPU, PostgreSQL %.1f ms CPU, median %.1f ms" % (kind, server_cpu, postgres_cpu, walls[len(walls) // 2]), flush=True)
    return rows


def measure_existing(args):
    """Searches and pages on a database seeded earlier (`karna seed`), printed as one Markdown table."""
    if not args.credentials:
        sys.exit("--database-url needs --credentials: the demo-credentials.json that `karna seed` wrote")
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    os.environ.update(KARNA_BOOTSTRAP_CLIENT_ID=CLIENT_ID, KARNA_BOOTSTRAP_CLIENT_SECRET=CLIENT_SECRET, KARNA_ACCESS_TOKEN_SECONDS="86400",
                      KARNA_DEMO_CREDENTIALS=os.path.abspath(args.credentials), **UNTHROTTLED)
    work = tempfile.mkdtemp(prefix="karna-bench-")
    seconds = max(2, args.seconds // 2)
    rows = []
    server = Server(args.database_url, work)
    try:
        # The server's start-up work (outbox, reminders, alarms) settles before anything is measured.
        time.sleep(20)
        def wanted(what, kind):
            return not args.only or any(part in "%s %s" % (what, kind) for part in args.only.split(","))
        # The tracking board is measured as the seeding runs measure it: with BOARD_VISITS open visits (filled up to that).
        if wanted("page", "akuttavla (tracking board), %d open visits" % BOARD_VISITS):
            fill_emergency(server)
        if not args.cpu:
            # The ceiling of this run: the framework's empty handler under the same two connections.
            health = lua(work, "health.lua", "request = function() return wrk.format('GET', '/health/live') end\n" + LATENCY_DONE)
            ceiling = wrk(server.base, seconds, health, connections=2, threads=2)
            rows.append(("ceiling", "empty handler (GET /health/live); each row's ratio is its requests/s over this", ceiling))
            print("  ceiling, empty handler: p50 %.2f ms (%.0f/s)" % (ceiling["p50"], ceiling["rate"]), flush=True)
        if args.cpu:
            cpu_rows = page_cpu(server, work, args.heaviest, wanted)
            lines = ["| page | server CPU (ms/request) | PostgreSQL CPU (ms/request) | median (ms, one at a time) |", "|---|---|---|---|"]
            lines += ["| %s | %.1f | %.1f | %.1f |" % row for row in cpu_rows]
            return output(args, "\n".join(lines) + "\n")
        for kind, path in search_urls(server.base, work, args.heaviest).items():
            if not wanted("search", kind):
                continue
            script = lua(work, "search.lua", URLS_LUA.replace("@FILE@", path))
            # A long-running server's connections have warm caches: two seconds of the same load first.
            wrk(server.base, 2, script, connections=2, threads=2)
            m = wrk(server.base, seconds, script, connections=2, threads=2)
            rows.append(("search", kind, m))
            print("  %s: p50 %.1f p95 %.1f p99 %.1f ms (%.0f/s)" % (kind, m["p50"], m["p95"], m["p99"], m["rate"]), flush=True)
        if wanted("hook", "order-sign, heaviest patient"):
            script = lua(work, "hook.lua", HOOK_LUA.replace("@PATIENT@", args.heaviest))
            wrk(server.base, 2, script, connections=2, threads=2)
            m = wrk(server.base, seconds, script, connections=2, threads=2)
            rows.append(("hook", "CDS Hooks order-sign (läkemedelskontroll), heaviest patient", m))
            print("  hook order-sign: p50 %.1f p95 %.1f p99 %.1f ms (%.0f/s, %d errors)" % (m["p50"], m["p95"], m["p99"], m["rate"], m["errors"]), flush=True)
        for kind, first in SORTED_SEARCHES.items():
            if not wanted("search", "sorted paging " + kind):
                continue
            # Every page, 500 at a time: linear when a later page costs what the first does.
            path = first.replace("_count=50", "_count=500")
            walk = page_through(server.base, path)
            later = sorted(walk["times"][1:]) or [0]
            print("  sorted paging, %s: %d matches in %d pages%s in %.1f s (%.2f ms per 1,000 matches); first %.0f ms, later p50 %.0f p95 %.0f ms, last %.0f ms" % (
                kind, walk["matches"], walk["pages"], "" if walk["complete"] else " (stopped)", walk["seconds"],
                walk["seconds"] * 1e6 / max(walk["matches"], 1), walk["first"],
                later[len(later) // 2], later[int(len(later) * 0.95)], walk["times"][-1]), flush=True)
            rows.append(("search", "sorted paging, every page of %s (%d matches, %d pages%s; first page %.0f ms)" % (
                path.replace("/fhir/", ""), walk["matches"], walk["pages"], "" if walk["complete"] else ", stopped", walk["first"]),
                         {"p50": later[len(later) // 2], "p95": later[int(len(later) * 0.95)], "p99": max(later),
                          "rate": walk["pages"] / max(walk["seconds"], 0.001)}))
        cookies = {login: web_login(server.base, *PAGE_LOGINS[login]) for login in PAGE_LOGINS}
        for kind, (path, login) in page_urls(work, args.heaviest).items():
            if not wanted("page", kind):
                continue
            script = lua(work, "pages.lua", PAGES_LUA.replace("@FILE@", path).replace("@COOKIE@", cookies[login]))
            wrk(server.base, 2, script, connections=2, threads=2)
            m = wrk(server.base, seconds, script, connections=2, threads=2)
            rows.append(("page", kind, m))
            print("  page %s: p50 %.1f p95 %.1f p99 %.1f ms (%.0f/s, %d errors)" % (kind, m["p50"], m["p95"], m["p99"], m["rate"], m["errors"]), flush=True)
        # Last, as they write: read by id and the CRUD mix with the seeding run's connections, beside an empty
        # handler under those same connections (the ratio the bounds are stated in).
        if wanted("read", "by id") or wanted("crud", "mix"):
            wide = wrk(server.base, args.seconds, health)
            rows.append(("ceiling", "empty handler, four connections as read and CRUD below; their ratios are over this", wide))
            print("  ceiling, four connections: p50 %.2f ms (%.0f/s)" % (wide["p50"], wide["rate"]), flush=True)
        if wanted("read", "by id"):
            ids = [e["resource"]["resourceType"] + "/" + e["resource"]["id"] for t in ["Patient", "Observation"]
                   for e in get_json(server.base + "/fhir/%s?_count=1000&_total=none&_elements=id" % t).get("entry", [])]
            with open(os.path.join(work, "ids.txt"), "w") as f:
                f.write("\n".join("/fhir/" + i for i in ids) + "\n")
            m = wrk(server.base, args.seconds, lua(work, "read.lua", URLS_LUA.replace("@FILE@", os.path.join(work, "ids.txt"))))
            rows.append(("read", "by id (%d Patients and Observations, audited)" % len(ids), m))
            print("  read by id: p50 %.1f p95 %.1f ms (%.0f/s, %.2f of the ceiling)" % (m["p50"], m["p95"], m["rate"], m["rate"] / wide["rate"]), flush=True)
        if wanted("crud", "mix"):
            m = wrk(server.base, args.seconds, lua(work, "crud.lua", CRUD_LUA), connections=4, threads=4)
            rows.append(("CRUD", "mix: create, read, update, delete a linked Patient, Encounter, Observation, MedicationRequest", m))
            print("  CRUD mix: p50 %.1f p95 %.1f p99 %.1f ms (%.0f/s, %d errors)" % (m["p50"], m["p95"], m["p99"], m["rate"], m["errors"]), flush=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    lines = ["| | what | p50 / p95 / p99 (ms) | requests/s | of the ceiling |", "|---|---|---|---|---|"]
    top = 0
    for what, kind, m in rows:
        # Each row's ratio is over the ceiling row above it.
        top = m["rate"] if what == "ceiling" else top
        lines.append("| %s | %s | %.1f / %.1f / %.1f | %.0f | %s |" % (what, kind, m["p50"], m["p95"], m["p99"], m["rate"],
                                                                       "%.4f" % (m["rate"] / top) if top and what != "ceiling" else "—"))
    output(args, "\n".join(lines) + "\n")


def output(args, text):
    if args.out == "-":
        print(text)
    else:
        with open(args.out, "w") as f:
            f.write(text)


def raw_read(database_url):
    """The ceiling of an export: every current resource's JSON read straight from the database, in one pass, no server."""
    sql = ("SELECT v.json FROM resource r JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id "
           "AND v.version_id = r.version_id WHERE %s")
    started = time.time()
    if database_url.startswith("sqlite:"):
        connection = sqlite3.connect(database_url[len("sqlite:"):])
        rows = size = 0
        for (body,) in connection.execute(sql % "r.deleted = 0"):
            rows += 1
            size += len(body)
        connection.close()
    else:
        where = sql % "NOT r.deleted"
        out = run(["psql", database_url, "-qAt", "-c", where.replace("SELECT v.json", "SELECT count(*), coalesce(sum(length(v.json)), 0)")])
        rows, size = (int(x) for x in out.strip().split("|"))
        started = time.time()
        run(["psql", database_url, "-qc", "\\copy (%s) TO '/dev/null'" % where])
    return {"rows": rows, "mb": size / 1e6, "seconds": time.time() - started}


def bulk_export(server, database_url, work, page_script, seconds):
    """A system `$export` by the system client: resources/s against the raw read of the same rows, and the doctor's
    chart page under load while it runs (its p95 beside the same page measured without an export)."""
    ceiling = raw_read(database_url)
    headers = {"Authorization": "Bearer " + TOKEN["value"], "Prefer": "respond-async", "Accept": "application/fhir+json"}
    result = {}

    def page_load():
        result["page"] = wrk(server.base, seconds, page_script, connections=2, threads=2)
    started = time.time()
    with urllib.request.urlopen(urllib.request.Request(server.base + "/fhir/$export", headers=headers), timeout=60) as r:
        status = r.headers["Content-Location"]
    loader = threading.Thread(target=page_load)
    loader.start()
    manifest = None
    while manifest is None:
        try:
            with urllib.request.urlopen(urllib.request.Request(status, headers={"Authorization": headers["Authorization"]}), timeout=60) as r:
                if r.status == 200:
                    manifest = json.load(r)
                else:
                    time.sleep(float(r.headers.get("Retry-After", "1")))
        except urllib.error.HTTPError as e:
            if e.code != 429:
                raise
            time.sleep(float(e.headers.get("Retry-After", "1")))
    elapsed = time.time() - started
    loader.join()
    exported = sum(o["count"] for o in manifest["output"])
    urllib.request.urlopen(urllib.request.Request(status, method="DELETE", headers={"Authorization": headers["Authorization"]}), timeout=60).close()
    return {"resources": exported, "seconds": elapsed, "rate": exported / max(elapsed, 0.001), "ceiling": ceiling,
            "ceiling_rate": ceiling["rows"] / max(ceiling["seconds"], 0.001), "page": result["page"], "memory_mb": server.peak_memory_mb()}


def omop_export(database_url, work, ceiling):
    """`karna export omop` of the whole database (while the server runs): every current FHIR row's worth read per second
    against the raw read of the same rows, and the CDM rows written."""
    out_dir = os.path.join(work, "omop-%d" % random.getrandbits(32))
    started = time.time()
    out = run([KARNA, "export", "omop", "--out", out_dir, "--database-url", database_url])
    elapsed = time.time() - started
    written = sum(int(n) for n in re.findall(r"\b[a-z_]+ (\d+)(?=[,;])", out.split(" persons; ", 1)[1].split(" skipped ")[0] + ";"))
    persons = int(re.search(r"(\d+) persons", out).group(1))
    shutil.rmtree(out_dir, ignore_errors=True)
    return {"persons": persons, "rows": written, "seconds": elapsed, "rate": ceiling["rows"] / max(elapsed, 0.001),
            "ceiling_rate": ceiling["rows"] / max(ceiling["seconds"], 0.001)}


def oru_message(n, placer):
    """An ORU^R01 with three analyses for the order `placer`, as the demo lab (KEMLAB) writes it."""
    obr = ["OBR", "1", placer, "F%08d" % n, "K^Kalium^L", "", "", "20261205080000+0100"] + [""] * 14 + ["20261205090000+0100", "", "", "F"]
    segments = ["MSH|^~\\&|KEMLAB|KLINKEM|KARNA|REGION|20261205090000+0100||ORU^R01^ORU_R01|BENCH%08d|P|2.5|||||SWE|UNICODE UTF-8" % n,
                "ORC|RE|%s|F%08d" % (placer, n), "|".join(obr),
                "OBX|1|NM|K^Kalium^L||%.1f|mmol/L|3.5-4.6||||F" % (3.5 + (n % 20) / 10),
                "OBX|2|NM|NA^Natrium^L||%d|mmol/L|137-145||||F" % (135 + n % 10),
                "OBX|3|NM|KREA^Kreatinin^L||%d|umol/L|45-90||||F" % (60 + n % 40)]
    return "\r".join(segments) + "\r"


def mllp_ingest(server, dbs, backend, work, count, connections=4):
    """ORU^R01 messages over MLLP for `count` orders on seeded patients: messages/s and ACK latency, beside the
    raw insert of the same message bytes into a fresh database of the backend (the ceiling)."""
    patients = [e["resource"]["id"] for e in get_json(server.base + "/fhir/Patient?_count=%d&_elements=id&_total=none" % min(count, 1000)).get("entry", [])]
    placers = []
    for start in range(0, count, 100):
        entries = []
        for n in range(start, min(count, start + 100)):
            placer = "B%07d-%04d" % (n, random.randint(0, 9999))
            placers.append(placer)
            entries.append({"request": {"method": "POST", "url": "ServiceRequest"}, "resource": {
                "resourceType": "ServiceRequest", "status": "active", "intent": "order",
                "meta": {"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": "vc-karnstad"},
                                 {"system": "https://karna.se/fhir/CodeSystem/bestallning-leverans", "code": "skickad"}]},
                "identifier": [{"system": "https://karna.se/fhir/NamingSystem/bestallningsnummer", "value": placer}],
                "category": [{"coding": [{"system": "https://karna.se/fhir/CodeSystem/bestallningstyp", "code": "lab"}]}],
                "code": {"coding": [{"system": "urn:oid:1.2.208.176.2.1", "code": "NPU03230"}]},
                "subject": {"reference": "Patient/" + patients[n % len(patients)]},
                "requester": {"reference": "PractitionerRole/demo-lakare-uppdrag-1"}, "authoredOn": "2026-12-05T08:00:00+01:00"}})
        request = urllib.request.Request(server.base + "/fhir", data=json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}).encode(),
                                         headers={"Authorization": "Bearer " + TOKEN["value"], "Content-Type": "application/fhir+json"}, method="POST")
        urllib.request.urlopen(request, timeout=120).read()
    messages = [oru_message(n, placer).encode() for n, placer in enumerate(placers)]
    latencies, codes = [], []
    import threading

    def sender(part):
        with socket.create_connection(("127.0.0.1", server.mllp_port), timeout=60) as sock:
            for payload in part:
                began = time.perf_counter()
                sock.sendall(b"\x0b" + payload + b"\x1c\r")
                answer = b""
                while not answer.endswith(b"\x1c\r"):
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise RuntimeError("the server closed the MLLP connection")
                    answer += chunk
                latencies.append((time.perf_counter() - began) * 1000)
                codes.append(answer.split(b"MSA|")[1][:2].decode())
    threads = [threading.Thread(target=sender, args=(messages[i::connections],)) for i in range(connections)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    payloads = os.path.join(work, "oru.txt")
    with open(payloads, "wb") as f:
        f.write(b"\n".join(messages) + b"\n")
    raw = run([KARNA, "bench-insert", "--database-url", dbs.fresh(backend), "--payload-file", payloads])
    ceiling = int(re.search(r"(\d+) rows/s", raw).group(1))
    return {"messages": len(messages), "rate": len(messages) / elapsed, "p50": latencies[len(latencies) // 2],
            "p95": latencies[int(len(latencies) * 0.95)], "accepted": codes.count("AA"), "ceiling": ceiling}


# The seeded lab tests (SwedishLists.labTests): NPU code, name, unit, reference range.
LAB_TESTS = [("NPU27300", "B—Hemoglobin A1c (IFCC); stoffkvot", "mmol/mol", 27, 42), ("NPU28309", "B—Hemoglobin; masskoncentration", "g/L", 117, 153),
             ("NPU03429", "P—Natrium; substanskoncentration", "mmol/L", 137, 145), ("NPU03230", "P—Kalium; substanskoncentration", "mmol/L", 3.5, 4.4),
             ("NPU04998", "P—Kreatinin; substanskoncentration", "µmol/L", 45, 90), ("NPU19748", "P—C-reaktivt protein; masskoncentration", "mg/L", 0, 5),
             ("NPU02192", "P—Glukos; substanskoncentration", "mmol/L", 4.2, 6.0)]
FIVE_YEARS = "Provsvar tab, demo patient with five years of results added"
FIVE_YEARS_TREND = "Provsvar trend (HbA1c) over five years, demo patient"


def five_years_of_results(server, patient, samplings=120):
    """A chronic patient's five years at the lab: `samplings` panels two weeks apart back from today, each a
    DiagnosticReport with every seeded analysis (7), written over FHIR in transactions. Answers the analyses written."""
    rng = random.Random(5)
    entries, written = [], 0
    today = time.time()
    for n in range(samplings):
        when = time.strftime("%Y-%m-%dT%H:%M:%S+01:00", time.gmtime(today - n * 15.2 * 86400 + 3600))
        ids = []
        for code, name, unit, low, high in LAB_TESTS:
            full = "urn:uuid:%08x-0000-4000-8000-%012x" % (n, len(ids) + 1)
            ids.append(full)
            value = round(rng.uniform(low * 0.9, high * 1.1), 1)
            entries.append({"fullUrl": full, "request": {"method": "POST", "url": "Observation"}, "resource": {
                "resourceType": "Observation", "status": "final",
                "meta": {"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": "vc-karnstad"}]},
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
                "code": {"coding": [{"system": "urn:oid:1.2.208.176.2.1", "code": code, "display": name}]},
                "subject": {"reference": "Patient/" + patient}, "effectiveDateTime": when,
                "valueQuantity": {"value": value, "unit": unit},
                "referenceRange": [{"low": {"value": low, "unit": unit}, "high": {"value": high, "unit": unit}}]}})
            written += 1
        entries.append({"request": {"method": "POST", "url": "DiagnosticReport"}, "resource": {
            "resourceType": "DiagnosticReport", "status": "final",
            "meta": {"tag": [{"system": "https://karna.se/fhir/CodeSystem/vardenhet", "code": "vc-karnstad"}]},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
            "code": {"text": "Kontroll diabetes och njurfunktion"}, "subject": {"reference": "Patient/" + patient},
            "effectiveDateTime": when, "issued": when, "result": [{"reference": i} for i in ids]}})
        if len(entries) >= 96 or n == samplings - 1:
            request = urllib.request.Request(server.base + "/fhir", data=json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}).encode(),
                                             headers={"Authorization": "Bearer " + TOKEN["value"], "Content-Type": "application/fhir+json"}, method="POST")
            urllib.request.urlopen(request, timeout=120).read()
            entries = []
    return written


def fhir_post(server, path, body):
    request = urllib.request.Request(server.base + "/fhir/" + path, data=json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + TOKEN["value"], "Content-Type": "application/fhir+json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def parameters(**values):
    return {"resourceType": "Parameters", "parameter": [{"name": k, "valueString": str(v)} for k, v in values.items()]}


def fill_emergency(server):
    """Open ED visits on the demo emergency department up to BOARD_VISITS, most triaged (every colour), some waiting."""
    request = urllib.request.Request(server.base + "/fhir/Encounter/$ed-board?unit=" + EMERGENCY_UNIT, headers={"Authorization": "Bearer " + TOKEN["value"]})
    with urllib.request.urlopen(request, timeout=60) as answer:
        board = json.loads(answer.read())
    open_now = len(board.get("parameter", []))
    cards = [("005", "orange"), ("006", "gul"), ("056", "gron"), ("047", "bla"), ("004", "rod")]
    visits = []
    for n in range(open_now, BOARD_VISITS):
        visit = fhir_post(server, "Encounter/$ed-arrive", parameters(patient="pat-%d" % (100 + n), unit=EMERGENCY_UNIT, arrivalMode="egen", complaint="Bänkprov"))
        visits.append(visit["id"])
        if n % 6 != 5:
            card, level = cards[n % len(cards)]
            fhir_post(server, "Encounter/%s/$ed-triage" % visit["id"], parameters(respiratoryRate=16 + n % 12, spo2=97, pulse=70 + n % 50, complaint=card, level=level))
    return visits


def board_latency(server, visits, cookie, rounds=20):
    """From a triage saved (over FHIR) to its colour on another open board: the board's event stream says it changed,
    and the board's rows, fetched then, carry the new colour. Milliseconds per round."""
    stream = urllib.request.urlopen(urllib.request.Request(server.base + "/akut/handelser", headers={"Cookie": "karna_web=" + cookie}), timeout=60)
    stream.readline()
    times = []
    levels = ["orange", "gul"]
    for n in range(rounds):
        visit = visits[n % len(visits)]
        level = levels[n % 2]
        began = time.perf_counter()
        fhir_post(server, "Encounter/%s/$ed-triage" % visit, parameters(respiratoryRate=16, spo2=97, pulse=80, complaint="006", level=level))
        while not stream.readline().startswith(b"event: changed"):
            pass
        rows = urllib.request.urlopen(urllib.request.Request(server.base + "/akut/tavla", headers={"Cookie": "karna_web=" + cookie}), timeout=60).read().decode()
        marker = 'id="visit-%s" data-colour="%s"' % (visit, level)
        if marker not in rows:
            raise RuntimeError("the board's rows lack the triage just saved (%s)" % marker)
        times.append((time.perf_counter() - began) * 1000)
    stream.close()
    times.sort()
    return {"rounds": rounds, "p50": times[len(times) // 2], "p95": times[int(len(times) * 0.95)], "max": times[-1]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", default="10000,100000", help="seeded sizes, comma-separated")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per measurement")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--synthea", default=os.path.join(ROOT, "..", "shared", "testdata", "synthea"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "performance.md"))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and short runs, to keep the harness from rotting (CI)")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--database-url", help="measure searches and pages on this already seeded database instead of seeding (with --credentials and --heaviest)")
    parser.add_argument("--credentials", help="the demo-credentials.json that `karna seed` wrote for that database")
    parser.add_argument("--heaviest", default="pat-1", help="the heaviest patient `karna seed` named for that database")
    parser.add_argument("--cpu", action="store_true", help="with --database-url: each page's CPU per request (server and PostgreSQL) over sequential requests, instead of latency under load")
    parser.add_argument("--only", help="measure only the kinds whose 'search …'/'page …'/'hook …' name contains one of these comma-separated words "
                        "(seeding: also skips Synthea, reads, CRUD and paging, and prints one table of both backends instead of the report)")
    args = parser.parse_args()
    if args.database_url:
        return measure_existing(args)
    if args.smoke:
        args.patients, args.seconds = "200", 1
    # Each search, page and hook is measured for half the run's seconds (two at least; one in the smoke run, which
    # only shows that every URL still answers).
    short = args.seconds if args.smoke else max(2, args.seconds // 2)
    sizes = [int(s) for s in args.patients.split(",")]
    os.environ.update(KARNA_BOOTSTRAP_CLIENT_ID=CLIENT_ID, KARNA_BOOTSTRAP_CLIENT_SECRET=CLIENT_SECRET, KARNA_ACCESS_TOKEN_SECONDS="86400", **UNTHROTTLED)
    backends = args.backends.split(",")
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    if not args.no_build:
        print("building release …", flush=True)
        subprocess.run(["swift", "build", "-c", "release", "--product", "karna"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="karna-bench-")
    os.environ["KARNA_DEMO_CREDENTIALS"] = os.path.join(work, "demo-credentials.json")
    os.environ.update(KARNA_EXPORT_DIR=os.path.join(work, "export"), KARNA_EXPORT_POLL_SECONDS="1")
    dbs = Databases(work)
    results = {}
    started = time.time()

    def wanted(what, kind):
        return not args.only or any(part in "%s %s" % (what, kind) for part in args.only.split(","))
    try:
        read_lua = None
        for backend in backends:
            r = results[backend] = {"search": {}}
            print("== %s" % backend, flush=True)
            raw = run([KARNA, "bench-insert", "--database-url", dbs.fresh(backend), "--patients", str(min(2000, max(sizes)))])
            m = re.search(r"(\d+) rows/s, ([\d.]+) MB/s", raw)
            r["raw_rows"], r["raw_mb"] = int(m.group(1)), float(m.group(2))
            print("  raw inserts: %d rows/s" % r["raw_rows"], flush=True)
            if os.path.isdir(args.synthea) and not args.smoke and not args.only:
                out = run([KARNA, "import", args.synthea, "--database-url", dbs.fresh(backend)])
                r["synthea"] = last_rate(out)
                print("  synthea import: %d resources/s" % r["synthea"], flush=True)
            for size in sizes:
                url = dbs.fresh(backend)
                out = run([KARNA, "seed", "--patients", str(size), "--database-url", url])
                summary = [line for line in out.splitlines() if line.startswith("seeded")][0]
                heaviest = re.search(r"heaviest patient: (\S+) \((\d+) resources\)", out)
                r.setdefault("seed", {})[size] = {"rate": last_rate(summary), "line": summary,
                                                  "resources": int(re.search(r"(\d+) resources in", summary).group(1))}
                print("  " + summary, flush=True)
                print("  heaviest patient %s with %s resources" % (heaviest.group(1), heaviest.group(2)), flush=True)
                r.setdefault("heaviest", {})[size] = "%s (%s resources)" % (heaviest.group(1), heaviest.group(2))
                server = Server(url, work)
                try:
                    if size == sizes[0]:
                        health = lua(work, "health.lua", "request = function() return wrk.format('GET', '/health/live') end\n" + LATENCY_DONE)
                        r["ceiling"] = wrk(server.base, args.seconds, health)
                    if size == sizes[0] and not args.only:
                        ids = [e["resource"]["resourceType"] + "/" + e["resource"]["id"] for t in ["Patient", "Observation"]
                               for e in get_json(server.base + "/fhir/%s?_count=1000&_total=none&_elements=id" % t).get("entry", [])]
                        with open(os.path.join(work, "ids.txt"), "w") as f:
                            f.write("\n".join("/fhir/" + i for i in ids) + "\n")
                        read_lua = lua(work, "read.lua", URLS_LUA.replace("@FILE@", os.path.join(work, "ids.txt")))
                        r["read"] = wrk(server.base, args.seconds, read_lua)
                        crud_lua = lua(work, "crud.lua", CRUD_LUA)
                        r["crud"] = wrk(server.base, args.seconds, crud_lua, connections=4, threads=4)
                        print("  ceiling %.0f req/s, read %.0f req/s, CRUD %.0f req/s" % (r["ceiling"]["rate"], r["read"]["rate"], r["crud"]["rate"]), flush=True)
                    for kind, path in search_urls(server.base, work, heaviest.group(1)).items():
                        if not wanted("search", kind):
                            continue
                        script = lua(work, "search.lua", URLS_LUA.replace("@FILE@", path))
                        r["search"].setdefault(kind, {})[size] = wrk(server.base, short, script, connections=2, threads=2)
                        s = r["search"][kind][size]
                        print("  %s at %d: p50 %.1f p95 %.1f p99 %.1f ms (%.0f/s)" % (kind, size, s["p50"], s["p95"], s["p99"], s["rate"]), flush=True)
                    if wanted("hook", "order-sign, heaviest patient"):
                        script = lua(work, "hook.lua", HOOK_LUA.replace("@PATIENT@", heaviest.group(1)))
                        wrk(server.base, short, script, connections=2, threads=2)
                        r.setdefault("hook", {})[size] = wrk(server.base, short, script, connections=2, threads=2)
                        s = r["hook"][size]
                        print("  hook order-sign at %d: p50 %.1f p95 %.1f p99 %.1f ms (%.0f/s, %d errors)" % (size, s["p50"], s["p95"], s["p99"], s["rate"], s["errors"]),
                              flush=True)
                    if not args.only:
                        walk = page_through(server.base, SORTED_SEARCHES["Observations by date"].replace("_count=50", "_count=500"))
                        r.setdefault("paging", {})[size] = walk
                        print("  paged through %d matches in %d pages (%s): first %.0f ms, median %.0f ms, last %.0f ms" % (
                            walk["matches"], walk["pages"], "complete" if walk["complete"] else "stopped", walk["first"],
                            sorted(walk["times"])[len(walk["times"]) // 2], walk["times"][-1]), flush=True)
                    board_kind = "akuttavla (tracking board), %d open visits" % BOARD_VISITS
                    visits = fill_emergency(server) if wanted("page", board_kind) or wanted("akut", "latency") else []
                    cookies = {login: web_login(server.base, *PAGE_LOGINS[login]) for login in PAGE_LOGINS}
                    for kind, (path, login) in page_urls(work, heaviest.group(1), maternity_pages(server, out)).items():
                        if not wanted("page", kind):
                            continue
                        script = lua(work, "pages.lua", PAGES_LUA.replace("@FILE@", path).replace("@COOKIE@", cookies[login]))
                        r.setdefault("pages", {}).setdefault(kind, {})[size] = wrk(server.base, short, script, connections=2, threads=2)
                        s = r["pages"][kind][size]
                        print("  page %s at %d: p50 %.1f p95 %.1f p99 %.1f ms (%.0f/s, %d errors)" % (kind, size, s["p50"], s["p95"], s["p99"], s["rate"], s["errors"]),
                              flush=True)
                    if (wanted("page", FIVE_YEARS) or wanted("page", FIVE_YEARS_TREND)) and size == sizes[-1]:
                        # After the demo patient's own pages are measured: five years of results added to its record.
                        added = five_years_of_results(server, "pat-1", samplings=24 if args.smoke else 120)
                        files = url_files(work, "five-years", {FIVE_YEARS: ["/patienter/pat-1/provsvar"], FIVE_YEARS_TREND: ["/patienter/pat-1/provsvar?analys=NPU27300"]})
                        for kind in (FIVE_YEARS, FIVE_YEARS_TREND):
                            script = lua(work, "pages.lua", PAGES_LUA.replace("@FILE@", files[kind]).replace("@COOKIE@", cookies["doctor"]))
                            r.setdefault("pages", {}).setdefault(kind, {})[size] = wrk(server.base, short, script, connections=2, threads=2)
                            s = r["pages"][kind][size]
                            print("  page %s at %d (%d analyses added): p50 %.1f p95 %.1f p99 %.1f ms (%.0f/s, %d errors)" % (
                                kind, size, added, s["p50"], s["p95"], s["p99"], s["rate"], s["errors"]), flush=True)
                    if wanted("akut", "latency") and visits and size == sizes[-1]:
                        b = r["board_latency"] = board_latency(server, visits, cookies["ednurse"], 10 if args.smoke else 40)
                        print("  akut latency at %d: triage saved → on another open board p50 %.1f p95 %.1f max %.1f ms (%d rounds)" % (
                            size, b["p50"], b["p95"], b["max"], b["rounds"]), flush=True)
                    if wanted("export", "bulk $export") and size == sizes[-1]:
                        chart = lua(work, "chart.lua", PAGES_LUA.replace("@FILE@", url_files(work, "export-chart", {"chart": ["/patienter/pat-1"]})["chart"]).replace("@COOKIE@", cookies["doctor"]))
                        e = r["export"] = bulk_export(server, url, work, chart, short)
                        print("  $export at %d: %d resources in %.1f s (%.0f/s); raw read of %d rows %.0f/s (%.2f of it); chart page during it p95 %.1f ms; peak memory %.0f MB" % (
                            size, e["resources"], e["seconds"], e["rate"], e["ceiling"]["rows"], e["ceiling_rate"], e["rate"] / e["ceiling_rate"], e["page"]["p95"],
                            e["memory_mb"]), flush=True)
                    if wanted("export", "omop export") and size == sizes[-1]:
                        o = r["omop"] = omop_export(url, work, r["export"]["ceiling"] if "export" in r else raw_read(url))
                        print("  OMOP export at %d: %d persons, %d CDM rows in %.1f s; %.0f source rows/s (%.3f of the raw read)" % (
                            size, o["persons"], o["rows"], o["seconds"], o["rate"], o["rate"] / o["ceiling_rate"]), flush=True)
                    if wanted("mllp", "ORU^R01 ingest") and size == sizes[-1]:
                        m = r["mllp"] = mllp_ingest(server, dbs, backend, work, 100 if args.smoke else 2000)
                        print("  MLLP ORU^R01 at %d: %.0f messages/s, ACK p50 %.1f p95 %.1f ms, %d of %d AA; the same bytes stored raw: %d rows/s" % (
                            size, m["rate"], m["p50"], m["p95"], m["accepted"], m["messages"], m["ceiling"]), flush=True)
                    r["memory_mb"] = max(r.get("memory_mb", 0), server.peak_memory_mb())
                finally:
                    server.stop()
    finally:
        dbs.close()
        shutil.rmtree(work, ignore_errors=True)
    if args.only:
        return only_report(args, sizes, backends, results, time.time() - started)
    report(args, sizes, backends, results, time.time() - started)


def only_report(args, sizes, backends, results, elapsed):
    """The kinds `--only` chose, every backend and size in one table, each beside the run's empty handler."""
    lines = ["Produced by `Benchmarks/bench.py --patients %s --seconds %d --backends %s --only %s` on %s (%d cores), in %.0f minutes." % (
        args.patients, args.seconds, args.backends, args.only, time.strftime("%Y-%m-%d"), os.cpu_count(), elapsed / 60), "",
             "| kind | backend | patients | seeded resources | p50 / p95 / p99 (ms) | req/s | / empty handler |", "|---|---|---|---|---|---|---|"]
    for backend in backends:
        r = results.get(backend, {})
        ceiling = r.get("ceiling", {}).get("rate") or float("nan")
        measured = [("search " + k, v) for k, v in r.get("search", {}).items()] + [("page " + k, v) for k, v in r.get("pages", {}).items()]
        if "hook" in r:
            measured.append(("hook CDS Hooks order-sign, heaviest patient", r["hook"]))
        for kind, by_size in measured:
            for size in sizes:
                m = by_size.get(size)
                if not m:
                    continue
                lines.append("| %s | %s | %d | %s | %.1f / %.1f / %.1f | %.0f | %.3f |" % (
                    kind, backend, size, r.get("seed", {}).get(size, {}).get("resources", "–"), m["p50"], m["p95"], m["p99"], m["rate"], m["rate"] / ceiling))
    latencies = [(b, results[b]["board_latency"]) for b in backends if "board_latency" in results.get(b, {})]
    if latencies:
        lines += ["", "| triage saved → on another open board (event + rows) | backend | p50 / p95 / max (ms) | rounds |", "|---|---|---|---|"]
        for backend, b in latencies:
            lines.append("| akut latency | %s | %.1f / %.1f / %.1f | %d |" % (backend, b["p50"], b["p95"], b["max"], b["rounds"]))
    return output(args, "\n".join(lines) + "\n")


def report(args, sizes, backends, results, elapsed):
    cores = os.cpu_count()
    lines = ["# Performance", "",
             "Produced by `Benchmarks/bench.py --patients %s --seconds %d` on %s (%d cores; server, database and wrk share them), "
             "in %.0f minutes. Rerun it to reproduce; every figure below comes from that one run. Ratios compare with ceilings "
             "measured in the same run: the framework's empty handler (`GET /health/live`) and raw inserts of the same JSON bytes "
             "(`karna bench-insert`)." % (args.patients, args.seconds, time.strftime("%Y-%m-%d"), cores, elapsed / 60), ""]
    lines += ["## Ceilings, reads, writes", "",
              "| | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]

    def row(label, fn):
        cells = []
        for b in backends:
            try:
                cells.append(fn(results[b]))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("–")
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    row("empty handler (req/s)", lambda r: "%.0f" % r["ceiling"]["rate"])
    row("raw inserts (rows/s, MB/s)", lambda r: "%d, %.1f" % (r["raw_rows"], r["raw_mb"]))
    row("read by id (req/s)", lambda r: "%.0f" % r["read"]["rate"])
    row("read by id / empty handler", lambda r: "%.2f (target ≥ 0.40)" % (r["read"]["rate"] / r["ceiling"]["rate"]))
    row("read by id p50 / p95 / p99 (ms)", lambda r: "%.2f / %.2f / %.2f" % (r["read"]["p50"], r["read"]["p95"], r["read"]["p99"]))
    row("CRUD mix (req/s; target ≥ 1,300)", lambda r: "%.0f" % r["crud"]["rate"])
    row("CRUD mix p99 (ms)", lambda r: "%.2f" % r["crud"]["p99"])
    row("CRUD mix errors", lambda r: "%d" % r["crud"]["errors"])
    row("Synthea import (resources/s)", lambda r: "%d" % r["synthea"])
    row("Synthea import / raw inserts", lambda r: "%.2f" % (r["synthea"] / r["raw_rows"]))
    for size in sizes:
        row("seed %d patients (resources/s)" % size, lambda r, s=size: "%d (%d resources)" % (r["seed"][s]["rate"], r["seed"][s]["resources"]))
        row("seed %d / raw inserts" % size, lambda r, s=size: "%.2f" % (r["seed"][s]["rate"] / r["raw_rows"]))
    row("server peak memory (MB)", lambda r: "%.0f" % r["memory_mb"])
    lines += ["", "## Search mix (p50 / p95 / p99 in ms; target p95 < 20 ms at 100,000 patients)", "",
              "| search | " + " | ".join("%s, %d patients" % (b, s) for b in backends for s in sizes) + " |",
              "|---|" + "---|" * (len(backends) * len(sizes))]
    kinds = []
    for b in backends:
        for k in results[b]["search"]:
            if k not in kinds:
                kinds.append(k)
    for kind in kinds:
        cells = []
        for b in backends:
            for s in sizes:
                m = results[b]["search"].get(kind, {}).get(s)
                cells.append("%.1f / %.1f / %.1f" % (m["p50"], m["p95"], m["p99"]) if m else "–")
        lines.append("| %s | %s |" % (kind, " | ".join(cells)))
    lines += ["", "## Bulk Data `$export` (system level, at %d patients; the ceiling is every current row's JSON read straight from the database)" % sizes[-1], "",
              "| | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    row("resources exported, seconds", lambda r: "%d in %.1f s" % (r["export"]["resources"], r["export"]["seconds"]))
    row("export (resources/s)", lambda r: "%.0f" % r["export"]["rate"])
    row("raw read of the same rows (rows/s)", lambda r: "%.0f (%d rows, %.0f MB)" % (r["export"]["ceiling_rate"], r["export"]["ceiling"]["rows"], r["export"]["ceiling"]["mb"]))
    row("export / raw read", lambda r: "%.3f" % (r["export"]["rate"] / r["export"]["ceiling_rate"]))
    row("chart page during the export, p50 / p95 (ms)", lambda r: "%.1f / %.1f" % (r["export"]["page"]["p50"], r["export"]["page"]["p95"]))
    row("server peak memory after the export (MB)", lambda r: "%.0f" % r["export"]["memory_mb"])
    row("OMOP export (`karna export omop`): persons, CDM rows, seconds", lambda r: "%d, %d in %.1f s" % (r["omop"]["persons"], r["omop"]["rows"], r["omop"]["seconds"]))
    row("OMOP export: source rows/s / raw read", lambda r: "%.0f / %.3f" % (r["omop"]["rate"], r["omop"]["rate"] / r["omop"]["ceiling_rate"]))
    lines += ["", "## Sorted paging (`Observation?_sort=date&_count=500`, every `next` link followed; keyset cursor)", "",
              "| | " + " | ".join("%s, %d patients" % (b, s) for b in backends for s in sizes) + " |",
              "|---|" + "---|" * (len(backends) * len(sizes))]
    for label, fn in [("matches, pages", lambda w: "%d, %d%s" % (w["matches"], w["pages"], "" if w["complete"] else " (stopped at 300 s)")),
                      ("first page (ms)", lambda w: "%.0f" % w["first"]),
                      ("later pages p50 / p95 (ms)", lambda w: "%.0f / %.0f" % (sorted(w["times"][1:])[len(w["times"][1:]) // 2],
                                                                                 sorted(w["times"][1:])[int(len(w["times"][1:]) * 0.95)])),
                      ("last page (ms)", lambda w: "%.0f" % w["times"][-1]),
                      ("all pages (s); per 1,000 matches (ms)", lambda w: "%.1f; %.0f" % (w["seconds"], w["seconds"] * 1e6 / max(1, w["matches"])))]:
        cells = []
        for b in backends:
            for size in sizes:
                try:
                    cells.append(fn(results[b]["paging"][size]))
                except (KeyError, TypeError, ZeroDivisionError, IndexError):
                    cells.append("–")
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    lines += ["", "## Web app pages (server time p50 / p95 / p99 in ms, signed in as the demo doctor at the vårdcentral, the ward nurse or the logggranskare; target p95 < 50 ms at 100,000 patients)", "",
              "| page | " + " | ".join("%s, %d patients" % (b, s) for b in backends for s in sizes) + " |",
              "|---|" + "---|" * (len(backends) * len(sizes))]
    page_kinds = []
    for b in backends:
        for k in results[b].get("pages", {}):
            if k not in page_kinds:
                page_kinds.append(k)
    for kind in page_kinds:
        cells = []
        for b in backends:
            for size in sizes:
                m = results[b].get("pages", {}).get(kind, {}).get(size)
                cells.append("%.1f / %.1f / %.1f%s" % (m["p50"], m["p95"], m["p99"], " (%d errors)" % m["errors"] if m["errors"] and "question" not in kind else "") if m else "–")
        lines.append("| %s | %s |" % (kind, " | ".join(cells)))
    lines += ["", "## Lab results over MLLP (ORU^R01, three analyses each, four connections, at the largest size; "
              "ceiling: the same message bytes inserted raw into a fresh database of the backend)", "",
              "| | messages/s | ACK p50 / p95 (ms) | AA | raw rows/s | / raw |", "|---|---|---|---|---|---|"]
    for backend in backends:
        m = results.get(backend, {}).get("mllp")
        if m:
            lines.append("| %s | %.0f | %.1f / %.1f | %d of %d | %d | %.3f |" % (backend, m["rate"], m["p50"], m["p95"], m["accepted"], m["messages"],
                                                                             m["ceiling"], m["rate"] / m["ceiling"]))
    lines += ["", "## Emergency department: a triage saved over FHIR → on another open tracking board (its event stream, then its rows with the new colour), at the largest size", "",
              "| | p50 / p95 / max (ms) | rounds |", "|---|---|---|"]
    for backend in backends:
        b = results.get(backend, {}).get("board_latency")
        if b:
            lines.append("| %s | %.1f / %.1f / %.1f | %d |" % (backend, b["p50"], b["p95"], b["max"], b["rounds"]))
    lines += ["", "## Chart overview (`Patient/[id]/$overview`: target p95 < 30 ms for a heavy patient at 100,000 patients)", "",
              "| | " + " | ".join("%s, %d patients" % (b, s) for b in backends for s in sizes) + " |",
              "|---|" + "---|" * (len(backends) * len(sizes))]
    for label, fn in [("heaviest patient", lambda r, s: r["heaviest"][s]),
                      ("overview p95 (ms)", lambda r, s: "%.1f" % r["search"]["chart overview, heaviest patient"][s]["p95"]),
                      ("overview p50 / empty handler p50", lambda r, s: "%.0f×" % (r["search"]["chart overview, heaviest patient"][s]["p50"] / r["ceiling"]["p50"]))]:
        cells = []
        for b in backends:
            for size in sizes:
                try:
                    cells.append(fn(results[b], size))
                except (KeyError, TypeError, ZeroDivisionError):
                    cells.append("–")
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    lines += ["", "Published figures to compare with, per vCPU: Aidbox about 650 CRUD requests/s and 330 imported resources/s; "
              "Blaze about 630 imported resources/s per core.", ""]
    text = "\n".join(lines)
    if args.out != "-":
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        marker = "<!-- analysis -->"
        previous = open(args.out).read() if os.path.exists(args.out) else ""
        analysis = previous[previous.index(marker):] if marker in previous else ""
        with open(args.out, "w") as f:
            f.write(text + ("\n" + analysis if analysis else ""))
    print(text)


if __name__ == "__main__":
    import urllib.parse  # noqa: E402  (used in search_urls)
    main()
