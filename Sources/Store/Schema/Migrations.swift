import FHIRCore

/// The named, ordered schema migrations, in the SQL of each backend.
///
/// Resource JSON is stored as the exact bytes served (BLOB/BYTEA), never as
/// PostgreSQL `jsonb`, which would reorder members; search reads index tables.
/// Names are never reused or reordered: a database records the names it has run.
enum Migrations {
    struct Migration {
        let name: String
        let sqlite: [String]
        let postgres: [String]
    }

    static let all: [Migration] = [
        Migration(
            name: "0001-resources",
            sqlite: [
                """
                CREATE TABLE resource_version (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    resource_type TEXT NOT NULL,
                    id TEXT NOT NULL,
                    version_id INTEGER NOT NULL,
                    last_updated INTEGER NOT NULL,
                    method TEXT NOT NULL,
                    patient_id TEXT,
                    json BLOB NOT NULL,
                    UNIQUE (resource_type, id, version_id)
                )
                """,
                "CREATE INDEX resource_version_type_seq ON resource_version (resource_type, seq)",
                "CREATE INDEX resource_version_updated ON resource_version (last_updated)",
                """
                CREATE TABLE resource (
                    resource_type TEXT NOT NULL,
                    id TEXT NOT NULL,
                    version_id INTEGER NOT NULL,
                    deleted INTEGER NOT NULL,
                    patient_id TEXT,
                    PRIMARY KEY (resource_type, id)
                ) WITHOUT ROWID
                """,
                "CREATE INDEX resource_patient ON resource (patient_id) WHERE patient_id IS NOT NULL",
            ],
            postgres: [
                """
                CREATE TABLE resource_version (
                    seq BIGSERIAL PRIMARY KEY,
                    resource_type TEXT NOT NULL,
                    id TEXT NOT NULL,
                    version_id INTEGER NOT NULL,
                    last_updated BIGINT NOT NULL,
                    method TEXT NOT NULL,
                    patient_id TEXT,
                    json BYTEA NOT NULL,
                    UNIQUE (resource_type, id, version_id)
                )
                """,
                "CREATE INDEX resource_version_type_seq ON resource_version (resource_type, seq)",
                "CREATE INDEX resource_version_updated ON resource_version (last_updated)",
                """
                CREATE TABLE resource (
                    resource_type TEXT NOT NULL,
                    id TEXT NOT NULL,
                    version_id INTEGER NOT NULL,
                    deleted BOOLEAN NOT NULL,
                    patient_id TEXT,
                    PRIMARY KEY (resource_type, id)
                )
                """,
                "CREATE INDEX resource_patient ON resource (patient_id) WHERE patient_id IS NOT NULL",
            ]
        ),
        Migration(
            name: "0002-identifier-tokens",
            sqlite: [
                """
                CREATE TABLE search_token (
                    resource_type TEXT NOT NULL,
                    id TEXT NOT NULL,
                    parameter TEXT NOT NULL,
                    system TEXT NOT NULL,
                    code TEXT NOT NULL
                )
                """,
                "CREATE INDEX search_token_lookup ON search_token (resource_type, parameter, code, system)",
                "CREATE INDEX search_token_owner ON search_token (resource_type, id)",
            ],
            postgres: [
                """
                CREATE TABLE search_token (
                    resource_type TEXT NOT NULL,
                    id TEXT NOT NULL,
                    parameter TEXT NOT NULL,
                    system TEXT NOT NULL,
                    code TEXT NOT NULL
                )
                """,
                "CREATE INDEX search_token_lookup ON search_token (resource_type, parameter, code, system)",
                "CREATE INDEX search_token_owner ON search_token (resource_type, id)",
            ]
        ),
        Migration(
            // One index table per parameter kind (DESIGN.md), replacing the identifier-only token table.
            // Lookup indexes end with the id so a search reads ids from the index alone.
            // A database from before this migration needs `karna reindex` to fill them.
            name: "0003-search-index",
            sqlite: [
                "DROP TABLE search_token",
                "CREATE TABLE search_token (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT NULL)",
                "CREATE INDEX search_token_lookup0 ON search_token (resource_type, parameter, code, system, id)",
                "CREATE INDEX search_token_owner ON search_token (resource_type, id, parameter)",
                "CREATE TABLE search_string (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, value TEXT NOT NULL, exact TEXT NOT NULL)",
                "CREATE INDEX search_string_lookup0 ON search_string (resource_type, parameter, value, id)",
                "CREATE INDEX search_string_owner ON search_string (resource_type, id, parameter)",
                "CREATE TABLE search_date (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, low BIGINT NOT NULL, high BIGINT NOT NULL)",
                "CREATE INDEX search_date_lookup0 ON search_date (resource_type, parameter, low, high, id)",
                "CREATE INDEX search_date_lookup1 ON search_date (resource_type, parameter, high, low, id)",
                "CREATE INDEX search_date_owner ON search_date (resource_type, id, parameter)",
                "CREATE TABLE search_reference (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, url TEXT NOT NULL)",
                "CREATE INDEX search_reference_lookup0 ON search_reference (resource_type, parameter, target_id, target_type, id)",
                "CREATE INDEX search_reference_lookup1 ON search_reference (target_type, target_id)",
                "CREATE INDEX search_reference_owner ON search_reference (resource_type, id, parameter)",
                "CREATE TABLE search_quantity (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, value REAL NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, unit TEXT NOT NULL)",
                "CREATE INDEX search_quantity_lookup0 ON search_quantity (resource_type, parameter, value, id)",
                "CREATE INDEX search_quantity_owner ON search_quantity (resource_type, id, parameter)",
                "CREATE TABLE search_number (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, value REAL NOT NULL)",
                "CREATE INDEX search_number_lookup0 ON search_number (resource_type, parameter, value, id)",
                "CREATE INDEX search_number_owner ON search_number (resource_type, id, parameter)",
                "CREATE TABLE search_uri (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, uri TEXT NOT NULL)",
                "CREATE INDEX search_uri_lookup0 ON search_uri (resource_type, parameter, uri, id)",
                "CREATE INDEX search_uri_owner ON search_uri (resource_type, id, parameter)",
                "CREATE TABLE search_composite (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, system1 TEXT NOT NULL, code1 TEXT NOT NULL, system2 TEXT NOT NULL, code2 TEXT NOT NULL, number2 REAL, low2 BIGINT, high2 BIGINT)",
                "CREATE INDEX search_composite_lookup0 ON search_composite (resource_type, parameter, code1, code2, id)",
                "CREATE INDEX search_composite_owner ON search_composite (resource_type, id, parameter)",
            ],
            postgres: [
                "DROP TABLE search_token",
                "CREATE TABLE search_token (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT NULL)",
                "CREATE INDEX search_token_lookup0 ON search_token (resource_type, parameter, code, system, id)",
                "CREATE INDEX search_token_owner ON search_token (resource_type, id, parameter)",
                "CREATE TABLE search_string (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, value TEXT COLLATE \"C\" NOT NULL, exact TEXT NOT NULL)",
                "CREATE INDEX search_string_lookup0 ON search_string (resource_type, parameter, value, id)",
                "CREATE INDEX search_string_owner ON search_string (resource_type, id, parameter)",
                "CREATE TABLE search_date (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, low BIGINT NOT NULL, high BIGINT NOT NULL)",
                "CREATE INDEX search_date_lookup0 ON search_date (resource_type, parameter, low, high, id)",
                "CREATE INDEX search_date_lookup1 ON search_date (resource_type, parameter, high, low, id)",
                "CREATE INDEX search_date_owner ON search_date (resource_type, id, parameter)",
                "CREATE TABLE search_reference (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, url TEXT NOT NULL)",
                "CREATE INDEX search_reference_lookup0 ON search_reference (resource_type, parameter, target_id, target_type, id)",
                "CREATE INDEX search_reference_lookup1 ON search_reference (target_type, target_id)",
                "CREATE INDEX search_reference_owner ON search_reference (resource_type, id, parameter)",
                "CREATE TABLE search_quantity (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, unit TEXT NOT NULL)",
                "CREATE INDEX search_quantity_lookup0 ON search_quantity (resource_type, parameter, value, id)",
                "CREATE INDEX search_quantity_owner ON search_quantity (resource_type, id, parameter)",
                "CREATE TABLE search_number (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, value DOUBLE PRECISION NOT NULL)",
                "CREATE INDEX search_number_lookup0 ON search_number (resource_type, parameter, value, id)",
                "CREATE INDEX search_number_owner ON search_number (resource_type, id, parameter)",
                "CREATE TABLE search_uri (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, uri TEXT NOT NULL)",
                "CREATE INDEX search_uri_lookup0 ON search_uri (resource_type, parameter, uri, id)",
                "CREATE INDEX search_uri_owner ON search_uri (resource_type, id, parameter)",
                "CREATE TABLE search_composite (resource_type TEXT NOT NULL, id TEXT NOT NULL, parameter TEXT NOT NULL, system1 TEXT NOT NULL, code1 TEXT NOT NULL, system2 TEXT NOT NULL, code2 TEXT COLLATE \"C\" NOT NULL, number2 DOUBLE PRECISION, low2 BIGINT, high2 BIGINT)",
                "CREATE INDEX search_composite_lookup0 ON search_composite (resource_type, parameter, code1, code2, id)",
                "CREATE INDEX search_composite_owner ON search_composite (resource_type, id, parameter)",
            ]
        ),
        Migration(
            name: "0004-access",
            sqlite: [
                """
                CREATE TABLE audit_log (
                    seq INTEGER PRIMARY KEY,
                    recorded_at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    patient_id TEXT,
                    action TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    flags TEXT NOT NULL,
                    json BLOB NOT NULL,
                    previous_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                )
                """,
                "CREATE INDEX audit_log_patient ON audit_log (patient_id, seq) WHERE patient_id IS NOT NULL",
                "CREATE INDEX audit_log_actor ON audit_log (actor, seq)",
                "CREATE INDEX audit_log_flagged ON audit_log (seq) WHERE flags <> ''",
                "CREATE INDEX audit_log_time ON audit_log (recorded_at)",
                """
                CREATE TABLE control_record (
                    kind TEXT NOT NULL,
                    key TEXT NOT NULL,
                    patient_id TEXT,
                    json BLOB NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (kind, key)
                ) WITHOUT ROWID
                """,
                "CREATE INDEX control_record_patient ON control_record (kind, patient_id) WHERE patient_id IS NOT NULL",
                // Append-only: the database itself refuses to change or remove an audit record.
                "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
                "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
            ],
            postgres: [
                """
                CREATE TABLE audit_log (
                    seq BIGINT PRIMARY KEY,
                    recorded_at BIGINT NOT NULL,
                    actor TEXT NOT NULL,
                    patient_id TEXT,
                    action TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    flags TEXT NOT NULL,
                    json BYTEA NOT NULL,
                    previous_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                )
                """,
                "CREATE INDEX audit_log_patient ON audit_log (patient_id, seq) WHERE patient_id IS NOT NULL",
                "CREATE INDEX audit_log_actor ON audit_log (actor, seq)",
                "CREATE INDEX audit_log_flagged ON audit_log (seq) WHERE flags <> ''",
                "CREATE INDEX audit_log_time ON audit_log (recorded_at)",
                """
                CREATE TABLE control_record (
                    kind TEXT NOT NULL,
                    key TEXT NOT NULL,
                    patient_id TEXT,
                    json BYTEA NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (kind, key)
                )
                """,
                "CREATE INDEX control_record_patient ON control_record (kind, patient_id) WHERE patient_id IS NOT NULL",
                """
                CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$
                """,
                "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
            ]
        ),
        Migration(
            // A chart sorts one patient's records by date ("latest results"): with the patient on the date
            // rows, that is one range of one index instead of a lookup per record (PostgreSQL p95 was over
            // the overview's 30 ms at 100,000 patients). Existing rows take the patient from their resource.
            name: "0005-patient-dates",
            sqlite: [
                "ALTER TABLE search_date ADD COLUMN patient_id TEXT",
                """
                UPDATE search_date SET patient_id = (SELECT r.patient_id FROM resource r
                    WHERE r.resource_type = search_date.resource_type AND r.id = search_date.id)
                """,
                "CREATE INDEX search_date_patient ON search_date (patient_id, resource_type, parameter, id, high, low) WHERE patient_id IS NOT NULL",
            ],
            postgres: [
                "ALTER TABLE search_date ADD COLUMN patient_id TEXT",
                """
                UPDATE search_date s SET patient_id = r.patient_id FROM resource r
                WHERE r.resource_type = s.resource_type AND r.id = s.id AND r.patient_id IS NOT NULL
                """,
                "CREATE INDEX search_date_patient ON search_date (patient_id, resource_type, parameter, id, high, low) WHERE patient_id IS NOT NULL",
            ]
        ),
        Migration(
            // Appending to the audit chain was five round trips (begin, lock, read the last hash, insert,
            // commit) on every audited read; a page audits several. The function does the same in one
            // statement, with the hash `AuditChain.hash` computes (which `karna audit verify` checks).
            // Each statement in a volatile function takes a new snapshot: the read after the lock sees
            // what the lock's previous holder committed.
            name: "0006-audit-append-function",
            sqlite: [],
            postgres: [
                """
                CREATE FUNCTION audit_log_append(lock_key bigint, recorded bigint[], actors text[], patients text[], actions text[], outcomes text[],
                                                 flag_lists text[], documents bytea[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
                DECLARE
                    last_seq bigint;
                    last_hash text;
                    next_hash text;
                BEGIN
                    PERFORM pg_advisory_xact_lock(lock_key);
                    SELECT seq, hash INTO last_seq, last_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
                    IF NOT FOUND THEN
                        last_seq := 0;
                        last_hash := '';
                    END IF;
                    FOR i IN 1 .. coalesce(array_length(recorded, 1), 0) LOOP
                        last_seq := last_seq + 1;
                        next_hash := encode(sha256(convert_to(last_hash || E'\n' || last_seq::text || E'\n' || recorded[i]::text || E'\n' || actors[i] || E'\n'
                            || patients[i] || E'\n' || actions[i] || E'\n' || outcomes[i] || E'\n' || flag_lists[i] || E'\n', 'UTF8') || documents[i]), 'hex');
                        INSERT INTO audit_log (seq, recorded_at, actor, patient_id, action, outcome, flags, json, previous_hash, hash)
                        VALUES (last_seq, recorded[i], actors[i], NULLIF(patients[i], ''), actions[i], outcomes[i], flag_lists[i], documents[i], last_hash, next_hash);
                        last_hash := next_hash;
                        RETURN NEXT last_seq;
                    END LOOP;
                END $$
                """,
            ]
        ),
        Migration(
            // Leases for the periodic jobs (outboxes, alarms, daily files): with several nodes on one database,
            // each job runs on the one node holding its lease, which it renews each run and loses when it stops.
            name: "0007-job-lease",
            sqlite: ["CREATE TABLE job_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)"],
            postgres: ["CREATE TABLE job_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)"]
        ),
        Migration(
            // A date without a zone (`birthDate`, a Period of dates) was indexed as the UTC day; it is now the Swedish
            // day (FHIRPathTemporal.range), as a bare `date=2026-12-07` in a search is. Rows that are whole UTC days
            // (or open-ended from or to one) are such dates and move to Swedish days; a zoned time that falls exactly on
            // UTC midnight with a day-end other bound is the only thing mistaken for one. The offset rule is
            // SwedishTime's, written out in each backend's SQL, so a migrated row equals a newly indexed one.
            name: "0008-swedish-dates",
            sqlite: [localDates(utc: sqliteUTC)],
            postgres: [localDates(utc: postgresUTC)]
        ),
        Migration(
            // A system export reads the records of patient-compartment types that belong to no patient; without this
            // it would read every Observation to find none.
            name: "0009-outside-compartments",
            sqlite: ["CREATE INDEX resource_no_patient ON resource (resource_type, id) WHERE patient_id IS NULL"],
            postgres: ["CREATE INDEX resource_no_patient ON resource (resource_type, id) WHERE patient_id IS NULL"]
        ),
        Migration(
            // Each Observation's codes with the span of its dates (SearchIndexEntries.codeDate), filled from the rows
            // the indexer wrote, as it now writes them; the index answers one code's records in a window as one range.
            name: "0010-code-date",
            sqlite: codeDate,
            postgres: codeDate
        ),
    ]

    /// The code+date rows of the records already stored, then their index (built once, after the rows): by code,
    /// then latest date and id (a code's records newest first, in the sort's order), with the earliest date and
    /// the system in it too, so a window's ids are read from the index alone.
    private static var codeDate: [String] {
        SearchIndexEntries.codeDate.sorted { $0.key < $1.key }.map { type, pair in
            """
            INSERT INTO search_composite (resource_type, id, parameter, system1, code1, system2, code2, number2, low2, high2)
            SELECT t.resource_type, t.id, '\(SearchIndexEntries.codeDateParameter)', t.system, t.code, '', '', NULL, d.low, d.high
            FROM search_token t
            JOIN (SELECT id, min(low) AS low, max(high) AS high FROM search_date WHERE resource_type = '\(type)' AND parameter = '\(pair.date)' GROUP BY id) d
              ON d.id = t.id
            WHERE t.resource_type = '\(type)' AND t.parameter = '\(pair.code)' AND t.code <> ''
            """
        } + ["CREATE INDEX search_composite_code_date ON search_composite (resource_type, parameter, code1, high2, id, low2, system1)"]
    }

    /// The UPDATE moving whole-day rows of `search_date` from UTC days to Swedish days.
    private static func localDates(utc: (String) -> String) -> String {
        let (minimum, maximum, day) = ("(-9223372036854775807 - 1)", "9223372036854775807", "86400000")
        return """
            UPDATE search_date SET
                low = CASE WHEN low = \(minimum) THEN low ELSE \(utc("low")) END,
                high = CASE WHEN high = \(maximum) THEN high ELSE \(utc("high")) END
            WHERE (low = \(minimum) OR low % \(day) = 0)
              AND (CASE WHEN high = \(maximum) THEN 1 WHEN (high + 1) % \(day) = 0 THEN 1 ELSE 0 END) = 1
              AND NOT (low = \(minimum) AND high = \(maximum))
            """
    }

    /// SwedishTime.utc(fromLocal:) in SQLite: summer time from the last Sunday of March to the last of October, 01:00 UTC.
    private static func sqliteUTC(_ column: String) -> String {
        let shifted = "(\(column) - 7200000)"
        let year = "strftime('%Y', \(shifted) / 1000, 'unixepoch')"
        func lastSunday(_ nextMonth: String) -> String { "(strftime('%s', date(\(year) || '-\(nextMonth)-01', 'weekday 0', '-7 days')) + 3600) * 1000" }
        return "\(column) - CASE WHEN \(shifted) >= \(lastSunday("04")) AND \(shifted) < \(lastSunday("11")) THEN 7200000 ELSE 3600000 END"
    }

    /// The same in PostgreSQL (not its tzdata, whose Stockholm before 1996 differs from the rule the server indexes by).
    private static func postgresUTC(_ column: String) -> String {
        let shifted = "(\(column) - 7200000)"
        let year = "extract(year from to_timestamp(\(shifted) / 1000.0) AT TIME ZONE 'UTC')::int"
        func lastSunday(_ nextMonth: Int) -> String {
            "((extract(epoch from (make_date(\(year), \(nextMonth), 1) - extract(isodow from make_date(\(year), \(nextMonth), 1))::int)::timestamp)::bigint + 3600) * 1000)"
        }
        return "\(column) - CASE WHEN \(shifted) >= \(lastSunday(4)) AND \(shifted) < \(lastSunday(11)) THEN 7200000 ELSE 3600000 END"
    }
}
