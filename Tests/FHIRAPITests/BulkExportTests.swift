import Access
import BulkExport
import FHIRCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import KarnaServer
import KarnaTesting
import NIOCore
import Store
import StoreModel
import Synchronization
import Testing

/// Issue 30, Bulk Data `$export`: kick-off, polling, the manifest and its NDJSON files, `_type`, `_since`, Group, the
/// spärr and the audit, cancelling, 429, and a job that was running when the server stopped.
@Suite("Bulk Data export")
struct BulkExportTests {
    static func folder() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("karna-export-\(UUID().uuidString)").path }

    /// Polls the job until it is done (200) and answers the manifest.
    static func manifest(_ api: API, _ location: String) async throws -> JSONObject {
        let path = String(location.dropFirst("http://localhost:8080".count))
        for _ in 0..<400 {
            let status = try await api.send(.get, path)
            if status.status == 200 { return try #require(status.json) }
            #expect(status.status == 202, "\(status.text)")
            #expect(status["X-Progress"]?.contains("patients exported") == true)
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the export did not finish")
        return JSONObject([])
    }

    /// A manifest's file for `type`, as the resources' ids.
    static func exported(_ api: API, _ manifest: JSONObject, _ type: String) async throws -> [String] {
        guard let output = manifest["output"]?.arrayValue?.compactMap(\.objectValue).first(where: { $0["type"]?.stringValue == type }) else { return [] }
        let url = try #require(output["url"]?.stringValue)
        let file = try await api.send(.get, String(url.dropFirst("http://localhost:8080".count)), headers: ["Accept": "application/fhir+ndjson"])
        #expect(file.status == 200 && file["Content-Type"] == "application/fhir+ndjson")
        let lines = file.text.split(separator: "\n")
        guard case .number(let count)? = output["count"] else { throw ExportTestFailure.noCount }
        #expect(lines.count == Int(count), "the manifest's count is the file's lines")
        return try lines.map { line in
            let resource = try #require(try JSONParser.parse(Array(line.utf8)).objectValue)
            #expect(resource.resourceType == type)
            return try #require(resource["id"]?.stringValue)
        }
    }

    /// The first Bundle of a manifest's `deleted` file.
    static func deletedBundle(_ api: API, _ deleted: JSONObject) async throws -> JSONObject {
        let url = try #require(deleted["url"]?.stringValue)
        let file = try await api.send(.get, String(url.dropFirst("http://localhost:8080".count)))
        let line = file.text.split(separator: "\n").first.map(String.init) ?? ""
        return try #require(try JSONParser.parse(Array(line.utf8)).objectValue)
    }

    static func kickOff(_ api: API, _ path: String) async throws -> String {
        let response = try await api.send(.get, path, headers: ["Prefer": "respond-async", "Accept": "application/fhir+json"])
        #expect(response.status == 202, "\(path): \(response.text)")
        return try #require(response["Content-Location"])
    }

    @Test("Patient/$export writes each type's records the client may read as NDJSON, honours _type and _since, leaves a spärrad unit's record out and audits each patient once",
          arguments: backends)
    func patientExport(_ backend: StoreBackend) async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withAPI(backend, flags: ["export-dir": folder, "export-poll-seconds": "0"]) { api in
            let ward = try await api.send(.put, "/fhir/Organization/psyk-avd-9", #"{"resourceType":"Organization","id":"psyk-avd-9","name":"Psykiatrisk avdelning 9"}"#)
            #expect(ward.status == 201, "\(ward.text)")
            let anna = try #require(try await api.create(#"{"resourceType":"Patient","name":[{"family":"Export","given":["Anna"]}],"birthDate":"1970-01-01"}"#)["id"]?.stringValue)
            let bo = try #require(try await api.create(#"{"resourceType":"Patient","name":[{"family":"Export","given":["Bo"]}],"birthDate":"1980-01-01"}"#)["id"]?.stringValue)
            func observation(_ patient: String, _ code: String, unit: String? = nil) async throws -> String {
                let tag = unit.map { #","meta":{"tag":[{"system":"\#(RecordTags.careUnit)","code":"\#($0)"}]}"# } ?? ""
                return try #require(try await api.create(#"{"resourceType":"Observation","status":"final","code":{"text":"\#(code)"},"subject":{"reference":"Patient/\#(patient)"}\#(tag)}"#)["id"]?.stringValue)
            }
            // Cilla has a protected identity (skyddade personuppgifter): her address does not leave with her record.
            let cilla = try #require(try await api.create(#"""
                {"resourceType":"Patient","meta":{"security":[{"system":"\#(RecordTags.confidentiality)","code":"R"}]},"name":[{"family":"Export","given":["Cilla"]}],
                 "address":[{"line":["Hemliggatan 1"],"city":"Karnstad"}]}
                """#)["id"]?.stringValue)
            let annaPulse = try await observation(anna, "puls")
            let annaBlocked = try await observation(anna, "psykiatri", unit: "psyk-avd-9")
            let boPulse = try await observation(bo, "puls")
            _ = try await api.create(#"{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/\#(bo)"}}"#)
            // Anna blocks the ward's records (spärr): an export to the data platform must not carry them either.
            let annaHerself = api.services.gateway.session(Principal(kind: .patient, id: anna, displayName: "Anna", assignment: nil, scopes: ScopeSet("patient/*.rs"),
                                                                     clientID: "tests"), action: "block")
            _ = try await annaHerself.block(patientID: anna, unitID: "psyk-avd-9", providerID: nil, reason: "Vill inte att andra ser avdelningens anteckningar")

            let manifest = try await Self.manifest(api, try await Self.kickOff(api, "/fhir/Patient/$export?_type=Patient,Observation"))
            #expect(manifest["requiresAccessToken"]?.boolValue == true && manifest["request"]?.stringValue?.hasSuffix("/fhir/Patient/$export?_type=Patient%2CObservation") == true)
            #expect(Set(try await Self.exported(api, manifest, "Patient")).isSuperset(of: [anna, bo, cilla]))
            let patientFile = try #require(manifest["output"]?.arrayValue?.compactMap(\.objectValue).first { $0["type"]?.stringValue == "Patient" }?["url"]?.stringValue)
            let patients = try await api.send(.get, String(patientFile.dropFirst("http://localhost:8080".count))).text
            #expect(patients.contains("Cilla") && !patients.contains("Hemliggatan"), "a protected identity's address was exported")
            let observations = Set(try await Self.exported(api, manifest, "Observation"))
            #expect(observations.isSuperset(of: [annaPulse, boPulse]))
            #expect(!observations.contains(annaBlocked), "the spärrad unit's record was exported")
            #expect(try await Self.exported(api, manifest, "Encounter").isEmpty, "_type left Encounter out")
            // One access per patient, named as an export.
            let audited = try await api.store.auditRecords(AuditQuery(patientID: anna, action: "export", limit: 100))
            #expect(audited.count == 1, "\(audited.count) export records for one patient")

            // _since: only what changed after it.
            try await Task.sleep(for: .milliseconds(20))
            let since = Instant.format(milliseconds: Instant.now())
            try await Task.sleep(for: .milliseconds(20))
            let changed = try await observation(bo, "blodtryck")
            #expect(try await api.send(.delete, "/fhir/Observation/\(annaPulse)").status == 200)
            let later = try await Self.manifest(api, try await Self.kickOff(api, "/fhir/Patient/$export?_type=Patient,Observation&_since=\(since.percentEncodedForForm)"))
            #expect(try await Self.exported(api, later, "Observation") == [changed])
            #expect(try await Self.exported(api, later, "Patient").isEmpty, "no patient changed since")
            // What was deleted since: a transaction Bundle of DELETE entries in the manifest's `deleted`.
            let deleted = try #require(later["deleted"]?.arrayValue?.first?.objectValue, "no deleted in \(later)")
            #expect(deleted["type"]?.stringValue == "Bundle")
            let bundle = try await Self.deletedBundle(api, deleted)
            let requests: [JSONObject] = (bundle["entry"]?.arrayValue ?? []).compactMap { $0.objectValue?["request"]?.objectValue }
            let urls: [String] = requests.compactMap { $0["url"]?.stringValue }
            #expect(bundle["type"]?.stringValue == "transaction")
            #expect(urls == ["Observation/\(annaPulse)"])
            #expect(requests.first?["method"]?.stringValue == "DELETE")

            // Group/[id]/$export: only the members' compartments.
            let group = try #require(try await api.create(#"{"resourceType":"Group","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/\#(bo)"}}]}"#)["id"]?.stringValue)
            let members = try await Self.manifest(api, try await Self.kickOff(api, "/fhir/Group/\(group)/$export?_type=Observation"))
            #expect(Set(try await Self.exported(api, members, "Observation")) == [boPulse, changed])
            #expect(members["deleted"] == nil, "deletions listed without _since")
        }
    }

    @Test("the system-level $export also carries the records of compartment types that belong to no patient (a doctor's Schedule), each once; a Patient export does not",
          arguments: backends)
    func systemExportOutsideCompartments(_ backend: StoreBackend) async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withAPI(backend, flags: ["export-dir": folder, "export-poll-seconds": "0"]) { api in
            let doctor = try #require(try await api.create(#"{"resourceType":"Practitioner","name":[{"family":"Schemasson"}]}"#)["id"]?.stringValue)
            let patient = try #require(try await api.create(#"{"resourceType":"Patient","name":[{"family":"Export"}]}"#)["id"]?.stringValue)
            func schedule(_ actor: String, active: Bool) async throws -> String {
                try #require(try await api.create(#"{"resourceType":"Schedule","active":\#(active),"actor":[{"reference":"\#(actor)"}]}"#)["id"]?.stringValue)
            }
            let doctorsDay = try await schedule("Practitioner/\(doctor)", active: true)
            let doctorsOld = try await schedule("Practitioner/\(doctor)", active: false)
            let patientsOwn = try await schedule("Patient/\(patient)", active: true)
            let chore = try #require(try await api.create(#"{"resourceType":"Task","status":"requested","intent":"order","description":"Beställ vaccin"}"#)["id"]?.stringValue)
            let pulse = try #require(try await api.create(#"{"resourceType":"Observation","status":"final","code":{"text":"puls"},"subject":{"reference":"Patient/\#(patient)"}}"#)["id"]?.stringValue)

            let system = try await Self.manifest(api, try await Self.kickOff(api, "/fhir/$export?_type=Schedule,Task,Observation"))
            let schedules = try await Self.exported(api, system, "Schedule")
            #expect(schedules.sorted() == [doctorsDay, doctorsOld, patientsOwn].sorted(), "each Schedule once, the doctor's too")
            #expect(try await Self.exported(api, system, "Task") == [chore])
            #expect(try await Self.exported(api, system, "Observation") == [pulse])

            let filtered = try await Self.manifest(api, try await Self.kickOff(api, "/fhir/$export?_type=Schedule&_typeFilter=Schedule%3Factive%3Dtrue"))
            #expect(try await Self.exported(api, filtered, "Schedule").sorted() == [doctorsDay, patientsOwn].sorted(), "_typeFilter holds outside the compartments too")

            let patients = try await Self.manifest(api, try await Self.kickOff(api, "/fhir/Patient/$export?_type=Schedule"))
            #expect(try await Self.exported(api, patients, "Schedule") == [patientsOwn])
        }
    }

    @Test("a record changed after the export began (its transactionTime) is exported as it was then, and one created after it not at all",
          arguments: backends)
    func asOfTransactionTime(_ backend: StoreBackend) async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withAPI(backend, flags: ["export-dir": folder, "export-poll-seconds": "0"]) { api in
            let patient = try #require(try await api.create(#"{"resourceType":"Patient","name":[{"family":"Förr"}]}"#)["id"]?.stringValue)
            let reading = #"{"resourceType":"Observation","status":"preliminary","code":{"text":"puls"},"subject":{"reference":"Patient/\#(patient)"}}"#
            let pulse = try #require(try await api.create(reading)["id"]?.stringValue)
            try await Task.sleep(for: .milliseconds(20))
            let began = Instant.now()
            try await Task.sleep(for: .milliseconds(20))
            // While the export reads: the reading is signed, the patient renamed, a new reading made.
            let signed = try await api.send(.put, "/fhir/Observation/\(pulse)", reading.replacingOccurrences(of: "{", with: #"{"id":"\#(pulse)","#, options: .anchored)
                .replacingOccurrences(of: "preliminary", with: "final"))
            #expect(signed.status == 200, "\(signed.text)")
            #expect(try await api.send(.put, "/fhir/Patient/\(patient)", #"{"resourceType":"Patient","id":"\#(patient)","name":[{"family":"Senare"}]}"#).status == 200)
            _ = try await api.create(reading)

            // A module whose clock says the export began before those changes.
            let module = BulkExport(settings: ExportSettings(directory: folder, pollSeconds: 0), clock: { began })
            let session = api.services.gateway.session(Self.client, action: "operation")
            guard case .accepted(_, let job) = try await module.answer(OperationCall(name: "export", resourceType: nil, id: nil, isPost: false,
                                                                                    input: try OperationInput(operation: "export", query: [("_type", "Patient,Observation")], body: nil),
                                                                                    session: session, pageSize: 10, respondAsync: true)) else {
                Issue.record("the export was not started")
                return
            }
            for _ in 0..<400 {
                if case .complete? = try await module.jobs?.status(job, principal: Self.client) { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            let observations = try String(contentsOfFile: folder + "/" + job + "/Observation.ndjson", encoding: .utf8).split(separator: "\n")
            #expect(observations.count == 1 && observations[0].contains(#""status":"preliminary""#), "\(observations)")
            let patients = try String(contentsOfFile: folder + "/" + job + "/Patient.ndjson", encoding: .utf8)
            #expect(patients.contains("Förr") && !patients.contains("Senare"))
        }
    }

    @Test("a kick-off without Prefer: respond-async, with an unknown type or a bad _typeFilter is refused naming it; polling too soon is 429; another client cannot see the job; DELETE removes it and its files")
    func refusalsAndCancel() async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withAPI(.sqlite, flags: ["export-dir": folder, "export-poll-seconds": "30"]) { api in
            _ = try await api.create(#"{"resourceType":"Patient","name":[{"family":"Export"}]}"#)
            let plain = try await api.send(.get, "/fhir/$export")
            #expect(plain.status == 400 && plain.issues.first?.expression == ["Prefer"])
            let unknown = try await api.send(.get, "/fhir/Patient/$export?_type=Observaton", headers: ["Prefer": "respond-async"])
            #expect(unknown.status == 400 && unknown.issues.first?.diagnostics.contains("'Observaton' is not an R4 resource type") == true)
            let filter = try await api.send(.get, "/fhir/Patient/$export?_typeFilter=Observation%3Fcolour%3Dblue", headers: ["Prefer": "respond-async"])
            #expect(filter.status == 400 && filter.issues.first?.diagnostics.contains("no search parameter 'colour'") == true, "\(filter.text)")

            // A user's or a patient's session exports nothing in bulk.
            let patientSession = api.services.gateway.session(Principal(kind: .patient, id: "p1", displayName: "P", assignment: nil, scopes: ScopeSet("patient/*.rs"),
                                                                        clientID: "tests"), action: "operation")
            let module = BulkExport(settings: ExportSettings(directory: folder))
            await #expect(throws: FHIRError.self) {
                _ = try await module.answer(OperationCall(name: "export", resourceType: "Patient", id: nil, isPost: false,
                                                          input: try OperationInput(operation: "export", query: [], body: nil), session: patientSession, pageSize: 10,
                                                          respondAsync: true))
            }
            // POST with a Parameters body is a kick-off too.
            let posted = try await api.send(.post, "/fhir/Patient/$export", #"{"resourceType":"Parameters","parameter":[{"name":"_type","valueString":"Patient"}]}"#,
                                            headers: ["Prefer": "respond-async"])
            #expect(posted.status == 202, "\(posted.text)")
            #expect(try await api.send(.delete, String(try #require(posted["Content-Location"]).dropFirst("http://localhost:8080".count))).status == 202)

            let location = try await Self.kickOff(api, "/fhir/$export")
            let path = String(location.dropFirst("http://localhost:8080".count))
            let first = try await api.send(.get, path)
            #expect(first.status == 200 || first.status == 202)
            let again = try await api.send(.get, path)
            #expect(again.status == 429 && again["Retry-After"] == "30", "\(again.status) \(again.text)")

            try await api.services.tokens.clients.register(OAuthClient(id: "other-platform", name: "Another platform", kind: .system,
                                                                       secretHash: OAuthClient.hashSecret("other-platform-secret-0123"), scopes: "system/*.rs"))
            var other = api
            let form = "grant_type=client_credentials&client_id=other-platform&client_secret=other-platform-secret-0123&scope=system%2F%2A.rs"
            let token = try await api.client.execute(uri: "/auth/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                     body: ByteBuffer(string: form))
            other.token = try #require((try? JSONParser.parse(Array(token.body.readableBytesView)))?.objectValue?["access_token"]?.stringValue)
            #expect(try await other.send(.get, path).status == 404, "another client saw the job")
            #expect(try await other.send(.delete, path).status == 404, "another client cancelled the job")

            let jobFolder = folder + "/" + (path.split(separator: "/").last.map(String.init) ?? "")
            #expect(FileManager.default.fileExists(atPath: jobFolder))
            let cancelled = try await api.send(.delete, path)
            #expect(cancelled.status == 202)
            for _ in 0..<100 where FileManager.default.fileExists(atPath: jobFolder) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!FileManager.default.fileExists(atPath: jobFolder), "the job's files were kept")
            #expect(try await api.send(.get, path).status == 404)
        }
    }

    @Test("$omop-export runs as a job like $export: the manifest lists each CDM table's CSV file and the load script, person.csv has a row per patient, each an audited access; a user may not ask")
    func omopJob() async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withAPI(.sqlite, flags: ["export-dir": folder, "export-poll-seconds": "0"]) { api in
            for family in ["Ek", "Al"] {
                _ = try await api.create(#"{"resourceType":"Patient","gender":"female","birthDate":"1980-02-14","name":[{"family":"\#(family)"}]}"#)
            }
            guard case .number(let patients)? = try await api.send(.get, "/fhir/Patient?_summary=count").json?["total"] else { throw ExportTestFailure.noCount }
            #expect(try await api.send(.get, "/fhir/$omop-export").status == 400, "without Prefer: respond-async")
            #expect(try await api.send(.get, "/fhir/$omop-export?shiftDays=0", headers: ["Prefer": "respond-async"]).issues.first?.expression == ["shiftDays"])
            #expect(try await api.send(.get, "/fhir/$omop-export?format=xlsx", headers: ["Prefer": "respond-async"]).issues.first?.expression == ["format"])
            let manifest = try await Self.manifest(api, try await Self.kickOff(api, "/fhir/$omop-export?pseudonymise=true"))
            let outputs = (manifest["output"]?.arrayValue ?? []).compactMap(\.objectValue)
            #expect(outputs.map { $0["type"]?.stringValue ?? "" }.prefix(3) == ["person", "observation_period", "visit_occurrence"] && outputs.last?["type"]?.stringValue == "load-duckdb")
            let person = try #require(outputs.first { $0["type"]?.stringValue == "person" })
            let file = try await api.send(.get, String(try #require(person["url"]?.stringValue).dropFirst("http://localhost:8080".count)))
            #expect(file.status == 200 && file["Content-Type"] == "text/csv; charset=utf-8")
            let lines = file.text.split(separator: "\n")
            #expect(lines.first?.hasPrefix("person_id,gender_concept_id,year_of_birth,") == true && "\(lines.count - 1)" == patients && person["count"] == .number(patients))
            #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false)[11].isEmpty }, "pseudonymised: no person_source_value")
            let audited = try await api.store.auditRecords(AuditQuery(action: "omop-export", limit: 1_000))
            #expect(Set(audited.compactMap(\.entry.patientID)).count == Int(patients))
            // A user's or a patient's session asks for none.
            let patientSession = api.services.gateway.session(Principal(kind: .patient, id: "p1", displayName: "P", assignment: nil, scopes: ScopeSet("patient/*.rs"),
                                                                        clientID: "tests"), action: "operation")
            await #expect(throws: FHIRError.self) {
                _ = try await BulkExport(settings: ExportSettings(directory: folder)).answer(OperationCall(
                    name: "omop-export", resourceType: nil, id: nil, isPost: false, input: try OperationInput(operation: "omop-export", query: [], body: nil),
                    session: patientSession, pageSize: 10, respondAsync: true))
            }
        }
    }

    @Test("$omop-export?format=duckdb gives one DuckDB database file instead of the CSV files, as karna export omop --out FILE.duckdb does",
          .enabled(if: (try? DuckDBFile.find(asked: "", otherwise: "")) != nil, "DuckDB is not on PATH (pip install duckdb): the DuckDB job is not tried"))
    func omopJobAsDuckDB() async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withAPI(.sqlite, flags: ["export-dir": folder, "export-poll-seconds": "0"]) { api in
            for family in ["Ek", "Al", "Berg"] {
                _ = try await api.create(#"{"resourceType":"Patient","gender":"female","birthDate":"1980-02-14","name":[{"family":"\#(family)"}]}"#)
            }
            guard case .number(let patients)? = try await api.send(.get, "/fhir/Patient?_summary=count").json?["total"] else { throw ExportTestFailure.noCount }
            let location = try await Self.kickOff(api, "/fhir/$omop-export?format=duckdb")
            let outputs = (try await Self.manifest(api, location)["output"]?.arrayValue ?? []).compactMap(\.objectValue)
            #expect(outputs.map { $0["type"]?.stringValue ?? "" } == ["duckdb"] && outputs.first?["count"] == .number(patients))
            let url = try #require(outputs.first?["url"]?.stringValue)
            let file = try await api.send(.get, String(url.dropFirst("http://localhost:8080".count)))
            #expect(file.status == 200 && file["Content-Type"] == "application/octet-stream")
            // A DuckDB database file names itself at byte 8.
            let bytes = file.body
            #expect(bytes.count > 12 && Array(bytes[8..<12]) == Array("DUCK".utf8))
            // The CSV files it was loaded from are gone, and no partial file is left.
            let left = try FileManager.default.subpathsOfDirectory(atPath: folder)
            #expect(!left.contains { $0.hasSuffix(".csv") || $0.hasSuffix(".partial") }, "\(left)")
        }
    }

    @Test("a stay with a transfer becomes visit_detail rows inside its visit: each bed from when to when, its ward as care site, the one before it named; a planned bed is not a stay",
          arguments: backends)
    func omopStays(_ backend: StoreBackend) async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withAPI(backend, flags: ["export-dir": folder, "export-poll-seconds": "0"]) { api in
            let ward = try await api.create(#"{"resourceType":"Organization","name":"Avdelning 12"}"#)["id"]!.stringValue!
            let other = try await api.create(#"{"resourceType":"Organization","name":"IVA"}"#)["id"]!.stringValue!
            var beds: [String] = []
            for (name, unit) in [("Säng 1", ward), ("Säng 2", other), ("Säng 3", ward)] {
                beds.append(try await api.create(#"{"resourceType":"Location","name":"\#(name)","managingOrganization":{"reference":"Organization/\#(unit)"}}"#)["id"]!.stringValue!)
            }
            let patient = try await api.create(#"{"resourceType":"Patient","gender":"male","birthDate":"1950-03-01"}"#)["id"]!.stringValue!
            _ = try await api.create(#"""
                {"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
                 "subject":{"reference":"Patient/\#(patient)"},"serviceProvider":{"reference":"Organization/\#(ward)"},
                 "period":{"start":"2026-11-02T08:00:00+01:00","end":"2026-11-05T14:00:00+01:00"},
                 "location":[{"location":{"reference":"Location/\#(beds[0])"},"status":"completed","period":{"start":"2026-11-02T08:00:00+01:00","end":"2026-11-03T10:00:00+01:00"}},
                             {"location":{"reference":"Location/\#(beds[1])"},"status":"completed","period":{"start":"2026-11-03T10:00:00+01:00"}},
                             {"location":{"reference":"Location/\#(beds[2])"},"status":"planned","period":{"start":"2026-11-06T08:00:00+01:00"}}]}
                """#)
            let manifest = try await Self.manifest(api, try await Self.kickOff(api, "/fhir/$omop-export"))
            func table(_ name: String) async throws -> [[String: String]] {
                let output = try #require((manifest["output"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["type"]?.stringValue == name })
                let lines = try await api.send(.get, String(try #require(output["url"]?.stringValue).dropFirst("http://localhost:8080".count))).text
                    .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } }
                return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
            }
            let visits = try await table("visit_occurrence")
            let stays = try await table("visit_detail")
            let sites = Dictionary(uniqueKeysWithValues: try await table("care_site").map { ($0["care_site_source_value"] ?? "", $0["care_site_id"] ?? "") })
            #expect(visits.count == 1 && stays.count == 2, "\(stays)")
            #expect(stays.map { $0["visit_occurrence_id"] } == [visits[0]["visit_occurrence_id"], visits[0]["visit_occurrence_id"]])
            #expect(stays.map { $0["visit_detail_start_datetime"] ?? "" } == ["2026-11-02 08:00:00", "2026-11-03 10:00:00"])
            #expect(stays.map { $0["visit_detail_end_datetime"] ?? "" } == ["2026-11-03 10:00:00", "2026-11-05 14:00:00"], "the open stay ends with the visit")
            #expect(stays.map { $0["care_site_id"] ?? "" } == [sites[ward] ?? "-", sites[other] ?? "-"])
            #expect(stays[0]["preceding_visit_detail_id"] == "" && stays[1]["preceding_visit_detail_id"] == stays[0]["visit_detail_id"])
            #expect(stays.map { $0["visit_detail_source_value"] ?? "" } == [beds[0], beds[1]])
        }
    }

    @Test("a cancelled $omop-export stops at its next batch of patients, not at the end: its folder removed, the patients after it never read")
    func omopCancelled() async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withAPI(.sqlite, flags: ["export-dir": folder, "export-poll-seconds": "0", "export-batch-patients": "1"]) { api in
            let entries = (0..<150).map { #"{"resource":{"resourceType":"Patient","birthDate":"1970-01-01","name":[{"family":"Många\#($0)"}]},"request":{"method":"POST","url":"Patient"}}"# }
            let created = try await api.send(.post, "/fhir", #"{"resourceType":"Bundle","type":"transaction","entry":[\#(entries.joined(separator: ","))]}"#)
            #expect(created.status == 200, "\(created.text)")
            let location = try await Self.kickOff(api, "/fhir/$omop-export")
            #expect(try await api.send(.delete, String(location.dropFirst("http://localhost:8080".count))).status == 202)
            let job = folder + "/" + String(location.split(separator: "/").last ?? "")
            let deadline = ContinuousClock.now + .seconds(20)
            while FileManager.default.fileExists(atPath: job), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!FileManager.default.fileExists(atPath: job), "the cancelled job's files are still there")
            let audited = Set(try await api.store.auditRecords(AuditQuery(action: "omop-export", limit: 1_000)).compactMap(\.entry.patientID))
            #expect(audited.count < 150, "every patient was read: the export ran to its end")
            #expect(try await api.send(.get, String(location.dropFirst("http://localhost:8080".count))).status == 404)
        }
    }

    /// The test API's backend client, as a module reading the jobs' folder itself sees it.
    static let client = Principal(kind: .system, id: testClientID, displayName: "API tests", assignment: nil, scopes: ScopeSet("system/*.rs"), clientID: testClientID)

    /// A finished Patient-level job in a fresh export folder: the folder and the job's id, for a module started on it afterwards.
    static func withFinishedJob(_ body: @escaping @Sendable (_ folder: String, _ job: String) async throws -> Void) async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withAPI(.sqlite, flags: ["export-dir": folder, "export-poll-seconds": "0"]) { api in
            _ = try await api.create(#"{"resourceType":"Patient","name":[{"family":"Export"}]}"#)
            let location = try await Self.kickOff(api, "/fhir/Patient/$export")
            _ = try await Self.manifest(api, location)
            try await body(folder, String(location.split(separator: "/").last ?? ""))
        }
    }

    @Test("a finished job's files are removed when its retention time has passed, and the job is then unknown")
    func retention() async throws {
        try await Self.withFinishedJob { folder, job in
            // The same folder read by a module whose clock stands 59 and then 61 minutes on (the retention is 60).
            let minutes = Mutex<Int64>(59)
            let later = BulkExport(settings: ExportSettings(directory: folder, retentionMinutes: 60, pollSeconds: 0),
                                   clock: { Instant.now() + minutes.withLock { $0 } * 60_000 })
            guard case .complete? = try await later.jobs?.status(job, principal: Self.client) else {
                Issue.record("the job was gone before its retention time")
                return
            }
            #expect(FileManager.default.fileExists(atPath: folder + "/" + job + "/Patient.ndjson"))
            minutes.withLock { $0 = 61 }
            await #expect(throws: FHIRError.self) { _ = try await later.jobs?.status(job, principal: Self.client) }
            #expect(!FileManager.default.fileExists(atPath: folder + "/" + job), "the job's files outlived its retention")
        }
    }

    @Test("a job that was running when the server stopped is answered as failed, saying so, by the next start")
    func restart() async throws {
        try await Self.withFinishedJob { folder, job in
            // As if the process died mid-export: its file still says running.
            let file = folder + "/" + job + "/job.json"
            let text = try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: #""state":"complete""#, with: #""state":"running""#)
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let restarted = BulkExport(settings: ExportSettings(directory: folder, pollSeconds: 0))
            guard case .failed(let error) = try await restarted.jobs?.status(job, principal: Self.client) else {
                Issue.record("a job cut off by a restart was not answered as failed")
                return
            }
            #expect(error.issues.first?.diagnostics.contains("the server stopped while this export ran") == true)
        }
    }
}

enum ExportTestFailure: Error { case noCount }
