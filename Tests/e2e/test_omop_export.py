"""`karna export omop` (and `karna export par`) on a `karna seed --patients 1000` database, loaded into DuckDB (PyPI) with the official OMOP
CDM v5.4 DDL and primary keys the export ships, then checked as the OHDSI data-quality checks would: required fields,
primary and foreign keys (from the official constraints file), unmapped concepts at 0 with the source value kept,
every event inside its person's observation period, no event before birth or after death, one person per patient,
one audited access per patient; and the pseudonymised export: no source value names anyone, dates shifted per
person with the intervals kept."""
import csv
import os
import re
import sqlite3
import subprocess
import tempfile

import pytest

from conftest import KARNA, ROOT, backends, database_url

duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (pip install -r Tests/e2e/requirements.txt)")

OMOP = os.path.join(ROOT, "Sources", "BulkExport", "OMOPData")
EXPORTED = ["person", "observation_period", "visit_occurrence", "visit_detail", "condition_occurrence", "procedure_occurrence", "drug_exposure",
            "measurement", "observation", "note", "death", "location", "care_site", "provider", "cdm_source", "source_to_concept_map"]
# Event tables and their date columns: each must lie in the person's observation period, after birth, before death.
EVENTS = {"visit_occurrence": ["visit_start_date", "visit_end_date"], "visit_detail": ["visit_detail_start_date", "visit_detail_end_date"], "condition_occurrence": ["condition_start_date", "condition_end_date"],
          "procedure_occurrence": ["procedure_date"], "drug_exposure": ["drug_exposure_start_date", "drug_exposure_end_date"],
          "measurement": ["measurement_date"], "observation": ["observation_date"], "note": ["note_date"]}


@pytest.fixture(scope="module", params=backends())
def seeded(request):
    with tempfile.TemporaryDirectory() as folder:
        url = database_url(request.param, folder)
        seeded = subprocess.run([KARNA, "seed", "--patients", "1000", "--database-url", url], capture_output=True, text=True, cwd=folder)
        assert seeded.returncode == 0, seeded.stdout[-2000:] + seeded.stderr[-2000:]
        yield folder, url


def karna_count(seeded, sqlite_sql, postgres_sql):
    """A count read from Kärna's own database, on either backend."""
    folder, url = seeded
    if url.startswith("sqlite:"):
        return sqlite3.connect(url[len("sqlite:"):]).execute(sqlite_sql).fetchone()[0]
    return int(subprocess.run(["psql", url, "-tAc", postgres_sql], check=True, capture_output=True, text=True).stdout.strip())


def export(seeded, name, *flags):
    folder, url = seeded
    out = os.path.join(folder, name)
    result = subprocess.run([KARNA, "export", "omop", "--out", out, "--database-url", url, *flags], capture_output=True, text=True, cwd=folder)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    # The load script the export wrote, as a user runs it (`duckdb FILE < load-duckdb.sql` in the folder).
    script = open(os.path.join(out, "load-duckdb.sql"), encoding="utf-8").read().replace("FROM '", "FROM '" + out + "/")
    database = duckdb.connect(os.path.join(folder, name + ".duckdb"))
    database.execute(script)
    return database, result.stdout


def one(database, sql):
    return database.execute(sql).fetchone()[0]


def test_the_omop_export_loads_into_duckdb_and_passes_the_checks(seeded):
    database, printed = export(seeded, "omop")
    patients = karna_count(seeded, "SELECT count(*) FROM resource WHERE resource_type = 'Patient' AND deleted = 0",
                           "SELECT count(*) FROM resource WHERE resource_type = 'Patient' AND NOT deleted")

    # One person per patient (the seed gives every patient a birth date), each with one observation period.
    assert one(database, "SELECT count(*) FROM person") == patients > 1000, printed
    assert one(database, "SELECT count(DISTINCT person_id) FROM observation_period") == patients
    assert one(database, "SELECT count(*) FROM visit_occurrence") > 1000 and one(database, "SELECT count(*) FROM measurement") > 1000
    assert one(database, "SELECT count(*) FROM condition_occurrence") > 1000 and one(database, "SELECT count(*) FROM drug_exposure") > 1000
    # The seeded inpatient stays name the bed they were in (the demo ward's stays its bed Locations): a visit_detail
    # each, inside its visit, its place kept as the source value.
    assert one(database, "SELECT count(*) FROM visit_detail WHERE visit_detail_source_value LIKE '%, säng %'") > 50
    assert one(database, "SELECT count(*) FROM visit_detail WHERE visit_detail_source_value IS NULL") == 0
    assert one(database, """SELECT count(*) FROM visit_detail d JOIN visit_occurrence v USING (visit_occurrence_id)
                            WHERE d.visit_detail_start_date < v.visit_start_date OR d.visit_detail_end_date > v.visit_end_date""") == 0

    # Primary keys: the script added them and DuckDB refuses a duplicate; checked again here for every exported table that has one.
    for table, column in re.findall(r"ALTER TABLE @cdmDatabaseSchema\.(\w+) ADD CONSTRAINT \w+ PRIMARY KEY \((\w+)\)", open(os.path.join(OMOP, "OMOPCDM_duckdb_5.4_primary_keys.sql")).read()):
        if table in EXPORTED:
            assert one(database, f"SELECT count(*) - count(DISTINCT {column}) FROM {table}") == 0, table

    # Foreign keys between the exported tables, from the official constraints file: zero rows pointing nowhere.
    # A concept reference is 0 (unmapped) or one of the few standard concepts the mapping names.
    mapping = __import__("json").load(open(os.path.join(OMOP, "omop-mapping.json"), encoding="utf-8"))
    known = {0, mapping["ehrTypeConcept"], mapping["cdmVersionConcept"], *mapping["gender"].values(), *mapping["visitClass"].values()}
    checked = 0
    for table, column, target, target_column in re.findall(r"ALTER TABLE @cdmDatabaseSchema\.(\w+) ADD CONSTRAINT \w+ FOREIGN KEY \((\w+)\) REFERENCES @cdmDatabaseSchema\.(\w+) \((\w+)\)",
                                                          open(os.path.join(OMOP, "OMOPCDM_duckdb_5.4_constraints.sql")).read()):
        target = target.lower()
        if table not in EXPORTED:
            continue
        if target == "concept":
            used = {row[0] for row in database.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()}
            assert used <= known, f"{table}.{column} uses concepts {used - known} the export does not set"
        elif target in EXPORTED:
            orphans = one(database, f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {target} r WHERE r.{target_column.lower()} = t.{column})")
            assert orphans == 0, f"{table}.{column} → {target}: {orphans} rows point nowhere"
        checked += 1
    assert checked > 100

    # Required fields (the field-level file) are never NULL; the clinical concepts are 0 with the code kept as source value.
    with open(os.path.join(OMOP, "OMOP_CDMv5.4_Field_Level.csv"), encoding="utf-8-sig") as f:
        required = [(r["cdmTableName"].lower(), r["cdmFieldName"].lower()) for r in csv.DictReader(f) if r["isRequired"] == "Yes"]
    for table, column in required:
        if table in EXPORTED:
            assert one(database, f'SELECT count(*) FROM {table} WHERE "{column}" IS NULL') == 0, f"{table}.{column} is required"
    for table, concept, source in [("condition_occurrence", "condition_concept_id", "condition_source_value"), ("measurement", "measurement_concept_id", "measurement_source_value"),
                                   ("drug_exposure", "drug_concept_id", "drug_source_value")]:
        assert one(database, f"SELECT count(*) FROM {table} WHERE {concept} <> 0") == 0
        assert one(database, f"SELECT count(*) FROM {table} WHERE {source} IS NULL") == 0, f"{table}: a record without its source code"
    vocabularies = {row[0] for row in database.execute("SELECT DISTINCT source_vocabulary_id FROM source_to_concept_map").fetchall()}
    assert {"ICD10SE", "NPU", "ATC"} <= vocabularies, vocabularies
    assert one(database, "SELECT count(*) FROM source_to_concept_map m JOIN condition_occurrence c ON c.condition_source_value = m.source_code AND m.source_vocabulary_id = 'ICD10SE'") > 0

    # Plausible dates: every event inside its person's observation period, none before birth, none after death.
    for table, columns in EVENTS.items():
        for column in columns:
            outside = one(database, f"""SELECT count(*) FROM {table} e JOIN observation_period p ON p.person_id = e.person_id
                                       WHERE e.{column} < p.observation_period_start_date OR e.{column} > p.observation_period_end_date""")
            assert outside == 0, f"{table}.{column}: {outside} events outside the observation period"
            early = one(database, f"SELECT count(*) FROM {table} e JOIN person p ON p.person_id = e.person_id WHERE e.{column} < CAST(p.birth_datetime AS DATE)")
            late = one(database, f"SELECT count(*) FROM {table} e JOIN death d ON d.person_id = e.person_id WHERE e.{column} > d.death_date")
            assert early == 0 and late == 0, f"{table}.{column}: {early} before birth, {late} after death"
        if table in ("visit_occurrence", "drug_exposure"):
            start, end = columns
            assert one(database, f"SELECT count(*) FROM {table} WHERE {end} < {start}") == 0

    # Without --include-text no free text; every patient exported is one audited access.
    assert one(database, "SELECT count(*) FROM note") == 0 and one(database, "SELECT count(*) FROM drug_exposure WHERE sig IS NOT NULL") == 0
    audited = karna_count(seeded, *["SELECT count(DISTINCT patient_id) FROM audit_log WHERE action = 'omop-export'"] * 2)
    assert audited == patients


def test_the_pseudonymised_export_names_no_one_and_shifts_each_persons_dates_keeping_the_intervals(seeded):
    plain, _ = export(seeded, "plain")
    hidden, _ = export(seeded, "hidden", "--pseudonymise", "--shift-dates", "--shift-days", "30")
    assert one(hidden, "SELECT count(*) FROM person WHERE person_source_value IS NOT NULL") == 0
    assert one(hidden, "SELECT count(*) FROM provider WHERE provider_name IS NOT NULL OR provider_source_value IS NOT NULL") == 0
    assert one(plain, "SELECT count(*) FROM person WHERE person_source_value IS NULL") == 0
    # The same persons in the same order: each one's dates moved by at most 30 days, most moved, the intervals between them kept.
    def dated(database):
        return {row[0]: row[1:] for row in database.execute("""
            SELECT p.person_id, CAST(p.birth_datetime AS DATE), min(v.visit_start_date), max(v.visit_end_date)
            FROM person p JOIN visit_occurrence v ON v.person_id = p.person_id GROUP BY 1, 2""").fetchall()}
    before, after = dated(plain), dated(hidden)
    assert before.keys() == after.keys() and len(before) > 300
    shifts = [(after[p][0] - before[p][0]).days for p in before]
    assert all(abs(s) <= 30 for s in shifts) and sum(1 for s in shifts if s != 0) > len(shifts) * 0.8
    for person in before:
        assert after[person][1] - after[person][0] == before[person][1] - before[person][0]
        assert after[person][2] - after[person][1] == before[person][2] - before[person][1]


def test_karna_export_omop_writes_the_duckdb_database_itself_and_only_whole(seeded):
    folder, url = seeded
    target = os.path.join(folder, "research.duckdb")
    # Without DuckDB on PATH it says what to install, before reading anyone's record, and writes nothing.
    bare = subprocess.run([KARNA, "export", "omop", "--out", target, "--database-url", url], capture_output=True, text=True, cwd=folder,
                          env=dict(os.environ, PATH=os.path.dirname(KARNA)))
    assert bare.returncode != 0 and "needs DuckDB" in bare.stderr and "pip install duckdb" in bare.stderr, bare.stderr[-2000:]
    assert not os.path.exists(target)

    result = subprocess.run([KARNA, "export", "omop", "--out", target, "--database-url", url], capture_output=True, text=True, cwd=folder)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "as the DuckDB database" in result.stdout
    # Only the database is left: the CSV folder and the partial file are gone.
    assert sorted(n for n in os.listdir(folder) if "research" in n) == ["research.duckdb"]
    database = duckdb.connect(target, read_only=True)
    patients = karna_count(seeded, "SELECT count(*) FROM resource WHERE resource_type = 'Patient' AND deleted = 0",
                           "SELECT count(*) FROM resource WHERE resource_type = 'Patient' AND NOT deleted")
    assert one(database, "SELECT count(*) FROM person") == patients > 1000
    keys = {row[0] for row in database.execute("SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'").fetchall()}
    assert {"person", "visit_occurrence", "measurement", "observation_period"} <= keys
    database.close()

    # A second export replaces the first.
    again = subprocess.run([KARNA, "export", "omop", "--out", target, "--database-url", url, "--pseudonymise"], capture_output=True, text=True, cwd=folder)
    assert again.returncode == 0, again.stderr[-2000:]
    replaced = duckdb.connect(target, read_only=True)
    assert one(replaced, "SELECT count(*) FROM person") == patients
    assert one(replaced, "SELECT count(*) FROM person WHERE person_source_value IS NOT NULL") == 0
    replaced.close()


def test_karna_export_par_writes_the_delivery_files_and_the_same_bytes_again(seeded):
    folder, url = seeded
    texts = []
    for name in ("par-1", "par-2"):
        out = os.path.join(folder, name)
        result = subprocess.run([KARNA, "export", "par", "--month", "2026-07", "--out", out, "--database-url", url], capture_output=True, text=True, cwd=folder)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        texts.append({f: open(os.path.join(out, f), "rb").read() for f in sorted(os.listdir(out))})
    assert sorted(texts[0]) == ["99_%s_20260401_20260630.txt" % f for f in ("ov", "ov_dia", "ov_lt", "ov_op", "sv", "sv_dia", "sv_lt", "sv_op", "sv_psyk")]
    assert texts[0] == texts[1]
    # The seeded stays' doses are the läkemedelstillförsel: each row a reported stay's, an ATC code and a day in it.
    # The seeded region's histories end on 30 June 2026: April to June is its last full delivery.
    stays = {line.split(";")[0]: line.split(";") for line in texts[0]["99_sv_20260401_20260630.txt"].decode("utf-8").split("\r\n")[:-1]}
    visits = texts[0]["99_ov_20260401_20260630.txt"].decode("utf-8").split("\r\n")[:-1]
    assert stays and visits, "the delivery reports the seeded stays and doctor visits"
    assert all(re.fullmatch(r"[0-9]{12}", row[1]) for row in stays.values()), "PNR as twelve digits"
    given = [line.split(";") for line in texts[0]["99_sv_lt_20260401_20260630.txt"].decode("utf-8").split("\r\n")[:-1]]
    assert given, "the seeded stays' doses are in the LT file"
    for number, atc, day in given:
        assert number in stays and re.fullmatch(r"[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}", atc), (number, atc)
        assert stays[number][6] <= day <= stays[number][7], f"given on {day}, outside stay {number} ({stays[number][6]}–{stays[number][7]})"
    assert len(given) == len({tuple(row) for row in given}), "once per code and day"
    for name, text in texts[0].items():
        for line in text.decode("utf-8").split("\r\n")[:-1]:
            assert line.split(";")[0].isdigit(), f"{name}: {line!r}"
    bad = subprocess.run([KARNA, "export", "par", "--month", "2026-13", "--out", os.path.join(folder, "par-bad"), "--database-url", url], capture_output=True, text=True, cwd=folder)
    assert bad.returncode != 0 and "--month must be YYYY-MM" in bad.stderr + bad.stdout
