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
    ]
}
