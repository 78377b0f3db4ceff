"""`karna import` loads every Synthea bundle in ../shared/testdata/synthea, and
every resource reads back through the API equal to what was sent, but for
meta and for references the import resolves (urn:uuid and conditional)."""
import bz2
import glob
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from fhir.resources.R4B.patient import Patient as R4BPatient

from conftest import KARNA, SHARED

SYNTHEA = os.path.join(SHARED, "testdata", "synthea")

pytestmark = pytest.mark.skipif(not glob.glob(os.path.join(SYNTHEA, "*.json.bz2")),
                                reason="../shared/testdata/synthea is not on this machine")


def without_meta(resource):
    return {k: v for k, v in resource.items() if k != "meta"}


def compare(sent, got, resolve, path="resource"):
    """Equal but for references, which must point where the import says they do."""
    if isinstance(sent, dict):
        assert isinstance(got, dict), path
        assert set(sent) == set(got), f"{path}: members differ: {set(sent) ^ set(got)}"
        for key in sent:
            if key == "reference" and isinstance(sent[key], str):
                assert got[key] == resolve(sent[key]), f"{path}.reference {sent[key]} -> {got[key]}"
            else:
                compare(sent[key], got[key], resolve, f"{path}.{key}")
    elif isinstance(sent, list):
        assert isinstance(got, list) and len(sent) == len(got), path
        for i, (a, b) in enumerate(zip(sent, got)):
            compare(a, b, resolve, f"{path}[{i}]")
    else:
        assert sent == got and type(sent) == type(got), f"{path}: {sent!r} != {got!r}"


def test_every_synthea_bundle_imports_and_reads_back_equal(server):
    result = subprocess.run([KARNA, "import", SYNTHEA, "--database-url", server.database_url],
                            capture_output=True, text=True, cwd=server.folder)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "files failed" not in result.stdout
    print(result.stdout.strip().splitlines()[-1])

    again = subprocess.run([KARNA, "import", SYNTHEA, "--database-url", server.database_url],
                           capture_output=True, text=True, cwd=server.folder)
    assert again.returncode == 0
    assert "(0 created, 0 updated" in again.stdout.splitlines()[-1], again.stdout.splitlines()[-1]

    session = requests.Session()
    conditional_cache = {}

    def resolve_conditional(reference):
        if reference not in conditional_cache:
            kind, query = reference.split("?", 1)
            bundle = session.get(f"{server.base}/{kind}?{query}").json()
            assert bundle["total"] == 1, reference
            conditional_cache[reference] = f"{kind}/{bundle['entry'][0]['resource']['id']}"
        return conditional_cache[reference]

    checked = 0
    for path in sorted(glob.glob(os.path.join(SYNTHEA, "*.json.bz2"))):
        bundle = json.loads(bz2.decompress(open(path, "rb").read()))
        by_full_url = {e["fullUrl"]: e["resource"]["resourceType"] + "/" + e["fullUrl"][9:] for e in bundle["entry"]}

        def resolve(reference):
            if reference in by_full_url:
                return by_full_url[reference]
            if "?" in reference:
                return resolve_conditional(reference)
            return reference

        def check(entry):
            sent = entry["resource"]
            if "ifNoneExist" in entry["request"]:
                # Conditionally created: the server chose the id; find it by the same criteria.
                location = resolve_conditional(sent["resourceType"] + "?" + entry["request"]["ifNoneExist"])
                sent = {k: v for k, v in sent.items() if k != "id"}
                got = session.get(f"{server.base}/{location}").json()
                got.pop("id")
            else:
                got = session.get(f"{server.base}/{sent['resourceType']}/{entry['fullUrl'][9:]}").json()
            compare(without_meta(sent), without_meta(got), resolve)
            return got

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(check, bundle["entry"]))
        for got in results:
            if got["resourceType"] == "Patient":
                # R4B's Patient is R4's; Synthea's US Core extensions are plain extensions to it.
                R4BPatient.model_validate(got)
        checked += len(results)
    assert checked == 41542
