import Access
import FHIRCore
import Foundation
import GRDB
import KarnaServer
import KarnaTesting
import Logging
import Store
import StoreModel
import Testing

/// Issue 29, parts 2 and 4: a production installation without demo data or demo secrets, its first administrator
/// made once; and the SQLite backup taken while writes go on, verified, and restored.
@Suite("Production start, first administrator, SQLite backup and restore")
struct OperationsTests {
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("karna-ops-\(UUID().uuidString)-\(name)").path
    }

    static func patient(_ number: Int) -> JSONObject {
        JSONObject([("resourceType", .string("Patient")), ("id", .string("p\(number)")), ("name", .array([FHIR.object([("family", .string("Backup\(number)"))])]))])
    }

    static func audit(_ number: Int) -> AuditEntry {
        AuditEntry(recordedAt: Instant.now(), actor: "Practitioner/x", patientID: "p\(number)", action: "create", outcome: "0", flags: [],
                   json: Array("{\"n\":\(number)}".utf8))
    }

    @Test("a backup taken while writes go on is one consistent snapshot: intact, its chain whole, and restorable in the database's place")
    func backupWhileWriting() async throws {
        let path = Self.temporaryPath("live.sqlite"), copy = Self.temporaryPath("backup.sqlite")
        let store = try SQLiteStore(path: path)
        _ = try await store.migrate()
        for number in 0..<50 { _ = try await store.commit([.create(Self.patient(number), type: "Patient", id: "p\(number)")], audit: [Self.audit(number)]) }
        let writer = Task {
            var number = 50
            while !Task.isCancelled && number < 5_000 {
                _ = try await store.commit([.create(Self.patient(number), type: "Patient", id: "p\(number)")], audit: [Self.audit(number)])
                number += 1
            }
            return number
        }
        try await Task.sleep(for: .milliseconds(50))
        try await store.backup(to: copy)
        let written = try await writer.value
        let report = try SQLiteStore.inspect(copyAt: copy)
        #expect(report.integrity == "ok" && report.auditBreak == nil, "\(report)")
        // Each write put one resource and one audit record in one transaction: a consistent snapshot holds as many of each.
        #expect(report.resources >= 50 && report.resources == report.auditRecords && report.lastAuditSequence == Int64(report.auditRecords), "\(report)")
        #expect(report.resources <= written)
        #expect(!FileManager.default.fileExists(atPath: copy + "-wal"), "the backup is one self-contained file")
        await #expect(throws: StoreBackupError.self) { try await store.backup(to: copy) }
        try await store.close()

        let restored = try SQLiteStore.restore(from: copy, to: path)
        let kept = try #require(restored.kept)
        #expect(FileManager.default.fileExists(atPath: kept))
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.read(type: "Patient", id: "p49") != nil)
        #expect(try await reopened.read(type: "Patient", id: "p\(report.resources)") == nil, "a write after the snapshot is not in the restore")
        let walk = try await reopened.walkAuditChain()
        #expect(walk.broken == nil && walk.checked == report.auditRecords)
        try await reopened.close()
    }

    @Test("a backup whose audit trail was altered is not restored, and nothing is moved")
    func alteredBackupRefused() async throws {
        let path = Self.temporaryPath("live.sqlite"), copy = Self.temporaryPath("backup.sqlite")
        let store = try SQLiteStore(path: path)
        _ = try await store.migrate()
        for number in 0..<5 { _ = try await store.commit([.create(Self.patient(number), type: "Patient", id: "p\(number)")], audit: [Self.audit(number)]) }
        try await store.backup(to: copy)
        try await store.close()
        let database = try DatabaseQueue(path: copy)
        try await database.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_no_update")
            try db.execute(sql: "UPDATE audit_log SET actor = 'Practitioner/someone-else' WHERE seq = 3")
        }
        try database.close()
        #expect(try SQLiteStore.inspect(copyAt: copy).auditBreak?.sequence == 3)
        #expect(throws: StoreBackupError.self) { try SQLiteStore.restore(from: copy, to: path) }
        #expect(FileManager.default.fileExists(atPath: path))
        let parent = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.hasPrefix(name + ".before-restore") }.isEmpty)
    }

    @Test("production: a fresh database has no demo traces; the first administrator logs in with password and TOTP, once; a demo database is named")
    func firstAdministrator() async throws {
        let store = try await StoreBackend.sqlite.makeStore()
        let credentials = Self.temporaryPath("demo.json")
        let configuration = try KarnaConfiguration(flags: ["password-cost": "10", "production": "on", "demo-credentials": credentials], environment: [:])
        let services = try await KarnaApplication.services(configuration, store: store, logger: Logger(label: "test"))
        #expect(try await ProductionSetup.demoTraces(accounts: services.accounts, clients: services.tokens.clients, configuration: configuration).isEmpty)
        let person = ProductionSetup.FirstAdministrator(username: "forvaltare", givenName: "Eva", familyName: "Ström", hsaID: "SE2321000016-A1",
                                                        regionID: "region-x", regionName: "Region X", regionHSAID: "SE2321000016-0001")
        // A weak password is refused before anything is written.
        await #expect(throws: ProductionSetup.Refusal.self) {
            try await ProductionSetup.createFirstAdministrator(person, password: "kort", totpSecret: TOTP.newSecret(), gateway: services.gateway, accounts: services.accounts)
        }
        #expect(try await store.read(type: "Organization", id: "region-x") == nil)
        let secret = TOTP.newSecret(), password = ProductionSetup.newPassword()
        try await ProductionSetup.createFirstAdministrator(person, password: password, totpSecret: secret, gateway: services.gateway, accounts: services.accounts)
        let account = try await services.accounts.login(username: "forvaltare", password: password, code: TOTP.code(secret: secret, step: TOTP.step()) ?? "", client: "test")
        let assignments = try await services.gateway.directory.assignments(practitionerID: account.subjectID)
        #expect(assignments.contains { $0.position.code == "systemforvaltare" && $0.unitID == "region-x" }, "\(assignments)")
        await #expect(throws: ProductionSetup.Refusal.self) {
            try await ProductionSetup.createFirstAdministrator(person, password: password, totpSecret: secret, gateway: services.gateway, accounts: services.accounts)
        }
        // The demo's start on another database leaves traces a production start names.
        let demoStore = try await StoreBackend.sqlite.makeStore()
        let demoServices = try await KarnaApplication.services(configuration, store: demoStore, logger: Logger(label: "test"))
        _ = try await DemoSetup.ensure(gateway: demoServices.gateway, accounts: demoServices.accounts, clients: demoServices.tokens.clients, configuration: configuration)
        let traces = try await ProductionSetup.demoTraces(accounts: demoServices.accounts, clients: demoServices.tokens.clients, configuration: configuration)
        #expect(traces.contains { $0.contains("lakare") } && traces.contains { $0.contains("karna-demo-system") } && traces.contains { $0.contains(credentials) }, "\(traces)")
        try await store.close()
        try await demoStore.close()
    }
}
