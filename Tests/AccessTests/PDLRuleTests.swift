import PatientAdministration
import Access
import FHIRCore
import Foundation
import KarnaTesting
import Store
import StoreModel
import Testing

let backends = StoreBackend.allCases.filter(\.isAvailable)

/// A small region: provider A (units U1, U2), provider B (unit B1), practitioners with
/// assignments, patient P1 with records made at U1, U2 and B1, and a protected patient P2.
struct Region {
    let store: any ResourceStore
    let gateway: AccessGateway

    static func make(_ backend: StoreBackend) async throws -> Region {
        let store = try await backend.makeStore()
        func org(_ id: String, _ name: String, partOf: String?) -> JSONObject { Fixtures.organization(id, name, partOf: partOf) }
        let positions = Dictionary(Position.defaults.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        var resources: [JSONObject] = [
            org("provA", "Region A", partOf: nil), org("u1", "Vårdcentralen Ett", partOf: "provA"), org("u2", "Avdelning Två", partOf: "provA"),
            org("provB", "Privatvård B", partOf: nil), org("b1", "Mottagning B", partOf: "provB"),
        ]
        for (id, unit, position, purpose) in [("doc1", "u1", "lakare", AssignmentPurpose.care), ("doc2", "u2", "lakare", .care),
                                               ("docB", "b1", "lakare", .care), ("reviewer", "provA", "logggranskare", .followUp),
                                               ("cashier", "u1", "kassapersonal", .administration)] {
            resources.append(JSONObject([("resourceType", .string("Practitioner")), ("id", .string(id))]))
            resources.append(Assignment.resource(id: "\(id)-role", practitionerID: id, unitID: unit, purpose: purpose, position: positions[position]!))
        }
        resources.append(patient("p1", family: "Svensson", line: "Storgatan 1", protected: false))
        resources.append(patient("p2", family: "Hemlig", line: "Okänd väg 9", protected: true))
        let now = Instant.format(milliseconds: Instant.now())
        for (patientID, unit) in [("p1", "u1"), ("p2", "u1")] {
            resources.append(JSONObject([
                ("resourceType", .string("Encounter")), ("id", .string("enc-\(patientID)")), ("status", .string("in-progress")),
                ("class", .object(JSONObject([("system", .string("http://terminology.hl7.org/CodeSystem/v3-ActCode")), ("code", .string("AMB"))]))),
                ("subject", ref("Patient/\(patientID)")), ("period", .object(JSONObject([("start", .string(now))]))),
                ("serviceProvider", ref("Organization/\(unit)")),
            ]))
        }
        for (id, unit) in [("obs-u1", "u1"), ("obs-u2", "u2"), ("obs-b1", "b1")] {
            resources.append(observation(id, patient: "p1", unit: unit))
        }
        _ = try await store.commit(resources.map { .update($0, type: $0.resourceType!, id: $0["id"]!.stringValue!) })
        return Region(store: store, gateway: AccessGateway(store: store, settings: AccessSettings(defaultProviderID: "provA"), modules: [PatientAdministration()]))
    }

    static func ref(_ reference: String) -> JSONValue { Fixtures.reference(reference) }

    static func patient(_ id: String, family: String, line: String, protected: Bool) -> JSONObject {
        var members: [(key: String, value: JSONValue)] = [("resourceType", .string("Patient")), ("id", .string(id))]
        if protected {
            members.append(("meta", .object(JSONObject([("security", .array([.object(JSONObject([
                ("system", .string(RecordTags.confidentiality)), ("code", .string("R")),
            ]))]))]))))
        }
        members += [
            ("name", .array([.object(JSONObject([("family", .string(family)), ("given", .array([.string("Test")]))]))])),
            ("telecom", .array([.object(JSONObject([("system", .string("phone")), ("value", .string("070-1234567"))]))])),
            ("address", .array([.object(JSONObject([("line", .array([.string(line)])), ("city", .string("Kärnstad"))]))])),
        ]
        return JSONObject(members)
    }

    static func observation(_ id: String, patient: String, unit: String) -> JSONObject {
        JSONObject([
            ("resourceType", .string("Observation")), ("id", .string(id)),
            ("meta", .object(JSONObject([("tag", .array([.object(JSONObject([("system", .string(RecordTags.careUnit)), ("code", .string(unit))]))]))]))),
            ("status", .string("final")),
            ("code", .object(JSONObject([("coding", .array([.object(JSONObject([("system", .string("http://loinc.org")), ("code", .string("8867-4"))]))]))]))),
            ("subject", ref("Patient/\(patient)")),
            ("valueQuantity", .object(JSONObject([("value", .number("72")), ("unit", .string("/min"))]))),
        ])
    }

    /// A practitioner acting under their assignment, with all user scopes unless narrowed.
    func practitioner(_ id: String, scopes: String = "user/*.cruds", family: String? = nil) async throws -> PatientDataSession {
        let assignment = try #require(try await gateway.directory.assignment(id: "\(id)-role"))
        let principal = Principal(kind: .practitioner, id: id, displayName: id, assignment: assignment, scopes: ScopeSet(scopes), clientID: "tests",
                                  personalDetails: family.map { Principal.PersonalDetails(personnummer: nil, familyName: $0, addressLine: nil) })
        return gateway.session(principal, action: "read")
    }

    func patientSession(_ id: String) -> PatientDataSession {
        gateway.session(Principal(kind: .patient, id: id, displayName: id, assignment: nil, scopes: ScopeSet("patient/*.rs"), clientID: "tests"),
                        action: "read")
    }

    func audit(patient: String) async throws -> [AuditRecord] {
        try await store.auditRecords(AuditQuery(patientID: patient, limit: 1_000))
    }

    func observations(for patient: String) throws -> SearchQuery {
        try SearchQuery.parse(type: "Observation", parameters: [("patient", "Patient/\(patient)")], strict: true)
    }
}

func isForbidden(_ body: () async throws -> Void) async -> Bool {
    do {
        try await body()
        return false
    } catch let error as FHIRError {
        return error.category == .forbidden
    } catch {
        return false
    }
}

@Suite("Patientdatalagen rules, through the gateway")
struct PDLRuleTests {
    @Test("inre sekretess: a care relationship at the user's unit opens the record; without one the read is refused and audited", arguments: backends)
    func careRelationship(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc1 = try await region.practitioner("doc1")
        let read = try await doc1.read(type: "Observation", id: "obs-u1")
        #expect(read?.id == "obs-u1")
        let allowed = try await region.audit(patient: "p1").first { $0.entry.actor == "Practitioner/doc1" && $0.entry.outcome == "allowed" }
        #expect(String(decoding: try #require(allowed).entry.json, as: UTF8.self).contains("\"basis\":\"care-relationship\""))

        let doc2 = try await region.practitioner("doc2")
        #expect(await isForbidden { _ = try await doc2.read(type: "Observation", id: "obs-u1") })
        let denied = try await region.audit(patient: "p1").first { $0.entry.actor == "Practitioner/doc2" }
        #expect(denied?.entry.outcome == "denied")
        #expect(denied?.entry.flags.contains("denied") == true)
        try await region.store.close()
    }

    @Test("a referral sent to a unit opens itself there; a lab order addressed to the same unit does not (the module says which records are sent)",
          arguments: backends)
    func onlyReferralsAreAddressed(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        func request(_ id: String, referral: Bool) -> JSONObject {
            var members: [(key: String, value: JSONValue)] = [
                ("resourceType", .string("ServiceRequest")), ("id", .string(id)),
                ("meta", .object(JSONObject([("tag", .array([.object(JSONObject([("system", .string(RecordTags.careUnit)), ("code", .string("u1"))]))]))]))),
                ("status", .string("active")), ("intent", .string("order")),
            ]
            if referral {
                members.append(("category", .array([.object(JSONObject([("coding", .array([.object(JSONObject([
                    ("system", .string("http://snomed.info/sct")), ("code", .string(Referrals.referralCategory)),
                ]))]))]))])))
            }
            members += [("subject", Region.ref("Patient/p1")), ("requester", Region.ref("Organization/u1")), ("performer", .array([Region.ref("Organization/u2")]))]
            return JSONObject(members)
        }
        _ = try await region.store.commit([request("remiss-1", referral: true), request("lab-1", referral: false)].map {
            .update($0, type: "ServiceRequest", id: $0["id"]!.stringValue!)
        })
        // doc2 works at u2, where p1 has no care relationship: the referral to u2 is readable, the lab order is not.
        let doc2 = try await region.practitioner("doc2")
        #expect(try await doc2.read(type: "ServiceRequest", id: "remiss-1")?.id == "remiss-1")
        #expect(await isForbidden { _ = try await doc2.read(type: "ServiceRequest", id: "lab-1") })
        try await region.store.close()
    }

    /// Each ground, alone, at the user's unit: found the same whether one patient is looked at or a
    /// list's patients are looked at together (the grounds asked once for all of them).
    @Test("each ground of a care relationship opens the record at its unit only, one patient at a time or a list at once", arguments: backends)
    func careRelationshipGrounds(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let now = Instant.now(), recent = Instant.format(milliseconds: now - 3_600_000), old = Instant.format(milliseconds: now - 400 * 86_400_000)
        func parsed(_ json: String) throws -> JSONObject { try #require(try JSONParser.parse(json).objectValue) }
        let tag = #""meta":{"tag":[{"system":"\#(RecordTags.careUnit)","code":"u2"}]}"#
        func encounter(_ id: String, _ patient: String, status: String = "finished", start: String, unit: String = "u2", location: String? = nil) throws -> JSONObject {
            try parsed(#"{"resourceType":"Encounter","id":"\#(id)","status":"\#(status)","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/\#(patient)"},"period":{"start":"\#(start)","end":"\#(start)"},"serviceProvider":{"reference":"Organization/\#(unit)"}"#
                       + (location.map { #","location":[{"location":{"reference":"Location/\#($0)"}}]"# } ?? "") + "}")
        }
        // The patients with a ground at u2 (doc2's unit), in the grounds' order, and those without.
        let grounded = ["g-contact": "Encounter/", "g-stay": "Encounter/", "g-episode": "EpisodeOfCare/", "g-booking": "Appointment/",
                        "g-waiting": "Appointment/", "g-referral": "Task/", "g-team": "CareTeam/"]
        let without = ["n-cancelled", "n-old", "n-elsewhere", "n-team-elsewhere"]
        var resources: [JSONObject] = [
            try parsed(#"{"resourceType":"Location","id":"loc-u2","name":"Sal 3","managingOrganization":{"reference":"Organization/u2"}}"#),
            try encounter("enc-contact", "g-contact", start: recent),
            try encounter("enc-stay", "g-stay", status: "in-progress", start: recent, unit: "u1", location: "loc-u2"),
            try parsed(#"{"resourceType":"EpisodeOfCare","id":"eoc","status":"active","patient":{"reference":"Patient/g-episode"},"managingOrganization":{"reference":"Organization/u2"}}"#),
            try parsed(#"{"resourceType":"Appointment","id":"app-booked",\#(tag),"status":"booked","start":"\#(recent)","end":"\#(recent)","participant":[{"actor":{"reference":"Patient/g-booking"},"status":"accepted"}]}"#),
            try parsed(#"{"resourceType":"Appointment","id":"app-waiting",\#(tag),"status":"waitlist","participant":[{"actor":{"reference":"Patient/g-waiting"},"status":"needs-action"}]}"#),
            // A second, later ground: the first that holds is named.
            try parsed(#"{"resourceType":"Appointment","id":"app-episode-waiting",\#(tag),"status":"waitlist","participant":[{"actor":{"reference":"Patient/g-episode"},"status":"needs-action"}]}"#),
            try parsed(#"{"resourceType":"Task","id":"task","status":"requested","intent":"order","for":{"reference":"Patient/g-referral"},"owner":{"reference":"Organization/u2"}}"#),
            try parsed(#"{"resourceType":"CareTeam","id":"team-u2","status":"active","subject":{"reference":"Patient/g-team"},"managingOrganization":[{"reference":"Organization/u2"}]}"#),
            try encounter("enc-cancelled", "n-cancelled", status: "cancelled", start: recent),
            try encounter("enc-old", "n-old", start: old),
            try encounter("enc-elsewhere", "n-elsewhere", start: recent, unit: "u1"),
            try parsed(#"{"resourceType":"CareTeam","id":"team-u1","status":"active","subject":{"reference":"Patient/n-team-elsewhere"},"managingOrganization":[{"reference":"Organization/u1"}]}"#),
            try parsed(#"{"resourceType":"CareTeam","id":"team-u2-ended","status":"inactive","subject":{"reference":"Patient/n-team-elsewhere"},"managingOrganization":[{"reference":"Organization/u2"}]}"#),
        ]
        for patientID in grounded.keys.sorted() + without {
            resources.append(Region.patient(patientID, family: "Grund", line: "Väg 1", protected: false))
            // Made at u1: doc2 at u2 of the same provider reads it with a care relationship at u2.
            resources.append(Region.observation("obs-\(patientID)", patient: patientID, unit: "u1"))
        }
        _ = try await region.store.commit(resources.map { .update($0, type: $0.resourceType!, id: $0["id"]!.stringValue!) })

        // A list at once: the search sees exactly the grounded patients' records.
        let everyone = try SearchQuery.parse(type: "Observation", parameters: [("code", "http://loinc.org|8867-4")], strict: true)
        let seen = try await region.practitioner("doc2").search(everyone, limit: 100).resources.compactMap(\.patientID)
        #expect(Set(seen) == Set(grounded.keys))
        // One at a time: the ground named is of the kind that patient has.
        for (patientID, kind) in grounded {
            let ground = try await region.practitioner("doc2").accessStatus(patientID: patientID)["careRelationship"]?.stringValue
            #expect(ground?.hasPrefix(kind) == true, "\(patientID): \(ground ?? "none")")
        }
        for patientID in without {
            #expect(try await region.practitioner("doc2").accessStatus(patientID: patientID)["careRelationship"] == nil, "\(patientID)")
        }
        // No question about a patient who does not exist, or no longer does.
        _ = try await region.store.commit(.delete(type: "Patient", id: "n-old"))
        for patientID in ["nobody", "n-old"] {
            do {
                _ = try await region.practitioner("doc2").accessStatus(patientID: patientID)
                Issue.record("a status for \(patientID)")
            } catch let error as FHIRError {
                #expect(error.category == .notFound, "\(patientID)")
            }
        }
        try await region.store.close()
    }

    @Test("a care relationship registered with a reason opens the record; without a reason it is refused", arguments: backends)
    func registeredCareRelationship(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc2 = try await region.practitioner("doc2")
        await #expect(throws: FHIRError.self) { _ = try await doc2.registerCareRelationship(patientID: "p1", reason: " ", days: nil) }
        #expect(await isForbidden { _ = try await doc2.read(type: "Observation", id: "obs-u2") })
        _ = try await doc2.registerCareRelationship(patientID: "p1", reason: "Konsultation inför operation", days: 2)
        let again = try await region.practitioner("doc2")
        #expect(try await again.read(type: "Observation", id: "obs-u2")?.id == "obs-u2")
        #expect(try await region.audit(patient: "p1").contains { $0.entry.action == "care-relationship" && $0.entry.actor == "Practitioner/doc2" })
        try await region.store.close()
    }

    @Test("records of another unit of the same provider are readable with a care relationship, until the patient blocks that unit", arguments: backends)
    func spärrOnUnit(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc1 = try await region.practitioner("doc1")
        #expect(try await doc1.read(type: "Observation", id: "obs-u2")?.id == "obs-u2")
        _ = try await region.patientSession("p1").block(patientID: "p1", unitID: "u2", providerID: nil, reason: "Vill inte att vc ser avdelningens anteckningar")

        let after = try await region.practitioner("doc1")
        #expect(try await after.read(type: "Observation", id: "obs-u2") == nil, "blocked information is not shown, not even as forbidden")
        let page = try await after.search(try region.observations(for: "p1"), limit: 50)
        #expect(page.resources.map(\.id) == ["obs-u1"])
        #expect(try await after.count(try region.observations(for: "p1")) == 1, "the count does not reveal the blocked record")
        let status = try await after.accessStatus(patientID: "p1")
        #expect(status["hasBlockedInformation"]?.boolValue == true)
        #expect(status["blocks"] == nil, "only the patient sees which blocks exist")

        // Only the patient lifts a spärr.
        let blockID = try #require(try await region.patientSession("p1").accessStatus(patientID: "p1")["blocks"]?.arrayValue?.first?.objectValue?["id"]?.stringValue)
        #expect(await isForbidden { try await after.unblock(patientID: "p1", directiveID: blockID) })
        try await region.patientSession("p1").unblock(patientID: "p1", directiveID: blockID)
        #expect(try await region.practitioner("doc1").read(type: "Observation", id: "obs-u2")?.id == "obs-u2")
        try await region.store.close()
    }

    @Test("sammanhållen journalföring: another provider's records need the patient's consent; nödåtkomst opens them, flagged", arguments: backends)
    func consentAndEmergency(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc1 = try await region.practitioner("doc1")
        #expect(await isForbidden { _ = try await doc1.read(type: "Observation", id: "obs-b1") })
        _ = try await doc1.registerConsent(patientID: "p1", providerID: "provB", reason: "Patienten samtycker muntligt", days: 1)
        #expect(try await region.practitioner("doc1").read(type: "Observation", id: "obs-b1")?.id == "obs-b1")

        // docB at provider B has no care relationship with p1 at all.
        let docB = try await region.practitioner("docB")
        #expect(await isForbidden { _ = try await docB.read(type: "Observation", id: "obs-u1") })
        await #expect(throws: FHIRError.self) { _ = try await docB.openEmergencyAccess(patientID: "p1", reason: "") }
        _ = try await docB.openEmergencyAccess(patientID: "p1", reason: "Medvetslös patient, behöver läkemedelslista")
        let emergency = try await region.practitioner("docB")
        #expect(try await emergency.read(type: "Observation", id: "obs-u1")?.id == "obs-u1")
        let flagged = try await region.audit(patient: "p1").filter { $0.entry.actor == "Practitioner/docB" && $0.entry.flags.contains("emergency-access") }
        #expect(flagged.count >= 2, "the emergency access itself and the read under it are flagged")

        // The reviewer finds it in the queue and decides; the decision is recorded.
        let reviewer = try await region.practitioner("reviewer")
        let queue = try await reviewer.reviewQueue(flag: "emergency-access", limit: 50)
        let first = try #require(queue.first?["id"]?.stringValue.flatMap { Int64($0) })
        _ = try await reviewer.decide(sequence: first, verdict: .justified, comment: "Akut omhändertagande")
        let after = try await reviewer.reviewQueue(flag: "emergency-access", limit: 50)
        #expect(!after.contains { $0["id"]?.stringValue == String(first) })
        // Nobody else reads the log.
        #expect(await isForbidden { _ = try await doc1.auditEvents(AuditQuery(patientID: "p1")) })
        try await region.store.close()
    }

    @Test("spärr holds even under nödåtkomst", arguments: backends)
    func spärrBeatsEmergency(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        _ = try await region.patientSession("p1").block(patientID: "p1", unitID: nil, providerID: "provB", reason: "Spärr mot privatvården")
        let doc1 = try await region.practitioner("doc1")
        _ = try await doc1.openEmergencyAccess(patientID: "p1", reason: "Hjärtstopp på akuten")
        #expect(try await region.practitioner("doc1").read(type: "Observation", id: "obs-b1") == nil)
        try await region.store.close()
    }

    @Test("protected identity: address and contact details hidden without the permission, every access flagged", arguments: backends)
    func protectedIdentity(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc1 = try await region.practitioner("doc1")
        let hidden = try #require(try await doc1.read(type: "Patient", id: "p2")).object
        #expect(hidden["address"] == nil && hidden["telecom"] == nil)
        #expect(hidden["name"] != nil)
        let shown = try #require(try await region.practitioner("reviewer").read(type: "Patient", id: "p2")).object
        #expect(shown["address"] != nil, "the logggranskare position may see protected identities")
        #expect(try await region.audit(patient: "p2").contains { $0.entry.flags.contains("protected-identity") })
        // Search results are redacted too.
        let found = try await doc1.search(try SearchQuery.parse(type: "Patient", parameters: [("family", "Hemlig")], strict: true), limit: 10)
        #expect(found.resources.first?.object["address"] == nil)
        try await region.store.close()
    }

    @Test("search results and counts contain only what the user may see", arguments: backends)
    func searchFiltering(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc1 = try await region.practitioner("doc1")
        let visible = try await doc1.search(try region.observations(for: "p1"), limit: 1)
        #expect(visible.resources.map(\.id) == ["obs-u1"])
        #expect(visible.hasMore, "obs-u2 follows on the next page")
        #expect(try await doc1.count(try region.observations(for: "p1")) == 2, "obs-b1 of another provider is neither listed nor counted")
        let doc2 = try await region.practitioner("doc2")
        #expect(try await doc2.search(try region.observations(for: "p1"), limit: 10).resources.isEmpty)
        #expect(try await doc2.count(try region.observations(for: "p1")) == 0)
        try await region.store.close()
    }

    @Test("scopes narrow what the rules allow and never widen it", arguments: backends)
    func scopesNarrow(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let narrow = try await region.practitioner("doc1", scopes: "user/Patient.rs")
        #expect(await isForbidden { _ = try await narrow.read(type: "Observation", id: "obs-u1") })
        let wide = try await region.practitioner("doc2", scopes: "user/*.cruds system/*.cruds")
        #expect(await isForbidden { _ = try await wide.read(type: "Observation", id: "obs-u1") }, "a system scope does not lift the PDL rules for a user")
        try await region.store.close()
    }

    @Test("a patient reads their own record and no one else's", arguments: backends)
    func patientOwnRecord(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let p1 = region.patientSession("p1")
        #expect(try await p1.read(type: "Observation", id: "obs-b1")?.id == "obs-b1")
        #expect(await isForbidden { _ = try await p1.read(type: "Encounter", id: "enc-p2") })
        #expect(try await p1.auditEvents(AuditQuery(patientID: "p1")).count >= 1, "the patient sees who has opened their record")
        #expect(await isForbidden { _ = try await p1.auditEvents(AuditQuery(patientID: "p2")) })
        try await region.store.close()
    }

    @Test("writes need a ground too, are tagged with the writer's unit and audited in the same transaction", arguments: backends)
    func writes(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc2 = try await region.practitioner("doc2")
        let new = Region.observation("obs-new", patient: "p1", unit: "b1")
        #expect(await isForbidden { _ = try await doc2.commit(.create(new, type: "Observation", id: "obs-new")) })
        #expect(try await region.store.read(type: "Observation", id: "obs-new") == nil)

        let doc1 = try await region.practitioner("doc1")
        let written = try #require(try await doc1.commit(.create(new, type: "Observation", id: "obs-new")).resource)
        let tags = written.object["meta"]?.objectValue?["tag"]?.arrayValue?.compactMap { $0.objectValue?["code"]?.stringValue }
        #expect(tags == ["u1"], "the writer's unit replaces a unit the client claimed")
        #expect(try await region.audit(patient: "p1").contains { $0.entry.action == "read" && $0.entry.actor == "Practitioner/doc1" && String(decoding: $0.entry.json, as: UTF8.self).contains("Observation/obs-new") })

        // The cashier's position may not write clinical records.
        let cashier = try await region.practitioner("cashier")
        #expect(await isForbidden { _ = try await cashier.commit(.create(Region.observation("obs-c", patient: "p1", unit: "u1"), type: "Observation", id: "obs-c")) })
        try await region.store.close()
    }

    /// A page's calls are audited together: what one request read of a patient under one action is one record naming
    /// every resource (the Patient read by key among them, served from the facts), where separate calls make one each.
    @Test("one record per patient and request: the calls of a page joined, each resource named once", arguments: backends)
    func oneRecordPerPatientAndRequest(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc1 = try await region.practitioner("doc1")
        let audit = RequestAudit()
        let page = region.gateway.session(doc1.principal, action: "page", audit: audit)
        _ = try await page.read(type: "Observation", id: "obs-u1")
        let patients = try await page.read(keys: [ResourceKey(type: "Patient", id: "p1"), ResourceKey(type: "Patient", id: "p1")])
        #expect(patients.map(\.id) == ["p1"], "a key asked twice is one resource")
        _ = try await page.read(type: "Observation", id: "obs-u1")
        #expect(try await region.audit(patient: "p1").filter { $0.entry.action == "page" }.isEmpty, "nothing is appended before the request's commit")
        try await region.gateway.commit(audit)
        let records = try await region.audit(patient: "p1").filter { $0.entry.action == "page" }
        #expect(records.count == 1)
        let json = String(decoding: try #require(records.first).entry.json, as: UTF8.self)
        let named = try JSONParser.parse(json).objectValue?["resources"]?.arrayValue?.compactMap(\.stringValue)
        #expect(named == ["Observation/obs-u1", "Patient/p1"], "\(json)")
        #expect(json.contains("\"basis\":\"care-relationship\""))

        let alone = region.gateway.session(doc1.principal, action: "alone")
        _ = try await alone.read(type: "Observation", id: "obs-u1")
        _ = try await alone.read(type: "Observation", id: "obs-u1")
        #expect(try await region.audit(patient: "p1").filter { $0.entry.action == "alone" }.count == 2, "without a request's audit each call is recorded")
        try await region.store.close()
    }

    /// The access facts read the Patient; a read of it later in the request is served from that version
    /// and audited like any read, and the session's own write of it makes the next read the new version.
    @Test("a Patient read after the access facts: their version, audited; after the session's write, the new one", arguments: backends)
    func patientReadAfterFacts(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc1 = try await region.practitioner("doc1")
        #expect(try await doc1.accessStatus(patientID: "p1")["access"]?.stringValue != "none")
        func patientReads() async throws -> Int {
            try await region.audit(patient: "p1").filter {
                $0.entry.actor == "Practitioner/doc1" && $0.entry.outcome == "allowed" && String(decoding: $0.entry.json, as: UTF8.self).contains("Patient/p1")
            }.count
        }
        let readsBefore = try await patientReads()
        let first = try #require(try await doc1.read(type: "Patient", id: "p1"))
        let stored = try #require(try await region.store.read(type: "Patient", id: "p1"))
        #expect(first.versionId == stored.versionId && first.json == stored.json)
        #expect(try await patientReads() == readsBefore + 1, "the read is audited though the store was not asked again")

        let renamed = Region.patient("p1", family: "Svensson-Berg", line: "Storgatan 1", protected: false)
        _ = try await doc1.commit(.update(renamed, type: "Patient", id: "p1"))
        let second = try #require(try await doc1.read(type: "Patient", id: "p1"))
        #expect(second.versionId == first.versionId + 1)
        #expect(second.object["name"]?.arrayValue?.first?.objectValue?["family"]?.stringValue == "Svensson-Berg")
        try await region.store.close()
    }

    /// Searches one session runs at the same time gather their facts together (`FactsGathering`): each
    /// answers what it answers alone, a refused patient's records stay out, and none waits forever.
    @Test("searches at the same time through one session answer what each answers alone", arguments: backends)
    func concurrentSearchesShareTheirFacts(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let queries = try [("Observation", [("patient", "Patient/p1")]), ("Encounter", []), ("Observation", [("_sort", "-_id")]),
                           ("Encounter", [("patient", "Patient/p2")])].map { try SearchQuery.parse(type: $0.0, parameters: $0.1, strict: true) }
        for practitioner in ["doc1", "doc2", "docB"] {
            var alone: [[String]] = []
            for query in queries { alone.append(try await region.practitioner(practitioner).search(query, limit: 10).resources.map(\.id)) }
            let session = try await region.practitioner(practitioner)
            let together = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
                for (index, query) in queries.enumerated() { group.addTask { (index, try await session.search(query, limit: 10).resources.map(\.id)) } }
                var pages = [[String]](repeating: [], count: queries.count)
                for try await (index, ids) in group { pages[index] = ids }
                return pages
            }
            #expect(together == alone, "\(practitioner)")
        }
        #expect(try await region.practitioner("doc1").search(queries[0], limit: 10).resources.map(\.id) == ["obs-u1", "obs-u2"], "another provider's record stays out without consent")
        try await region.store.close()
    }

    @Test("review flags: same surname as the patient", arguments: backends)
    func sameSurnameFlag(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc1 = try await region.practitioner("doc1", family: "Svensson")
        // A search hit is a line in a list: finding "Svensson" among patients flags nothing.
        _ = try await doc1.search(try SearchQuery.parse(type: "Patient", parameters: [("_id", "p1")], strict: true), limit: 10)
        #expect(!(try await region.audit(patient: "p1").contains { $0.entry.flags.contains("same-surname") }), "a search hit is no reason for review")
        _ = try await doc1.read(type: "Observation", id: "obs-u1")
        #expect(try await region.audit(patient: "p1").contains { $0.entry.flags.contains("same-surname") })
        try await region.store.close()
    }
}

@Suite("The audit chain")
struct AuditChainTests {
    @Test("records chain on both backends and verify; a changed, removed or reordered record is named", arguments: backends)
    func chain(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let entries = (1...5).map { AuditEntry(recordedAt: Int64($0), actor: "Practitioner/x", patientID: "p\($0)", action: "read", outcome: "allowed",
                                               flags: $0 == 3 ? ["emergency-access"] : [], json: Array("{\"n\":\($0)}".utf8)) }
        try await store.appendAudit(Array(entries.prefix(2)))
        _ = try await store.commit([], audit: Array(entries.suffix(3)))
        let records = try await store.auditRecords(AuditQuery(ascending: true, limit: 10))
        #expect(records.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(AuditChain.verify(records, previousHash: "", previousSequence: 0) == nil)
        #expect(try await store.auditRecords(AuditQuery(flag: "emergency-access")).map(\.sequence) == [3])

        var changed = records
        changed[2].entry.json = Array("{\"n\":33}".utf8)
        #expect(AuditChain.verify(changed, previousHash: "", previousSequence: 0)?.sequence == 3)
        var removed = records
        removed.remove(at: 1)
        #expect(AuditChain.verify(removed, previousHash: "", previousSequence: 0)?.sequence == 3)
        var reordered = records
        reordered.swapAt(3, 4)
        #expect(AuditChain.verify(reordered, previousHash: "", previousSequence: 0) != nil)
        try await store.close()
    }

    @Test("appends from many tasks at once, alone and with writes, keep one unbroken chain (non-ASCII text, no patient)", arguments: backends)
    func concurrentAppends(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for round in 0..<5 {
                        let entry = AuditEntry(recordedAt: Instant.now(), actor: "Practitioner/åsa-\(task)", patientID: round == 0 ? nil : "p\(task)",
                                               action: "läsa", outcome: "allowed", flags: round == 2 ? ["same-surname", "emergency-access"] : [],
                                               json: Array("{\"uppgift\":\"ärende \(task)-\(round)\"}".utf8))
                        if round % 2 == 0 { try await store.appendAudit([entry, entry]) } else { _ = try await store.commit([], audit: [entry]) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let records = try await store.auditRecords(AuditQuery(ascending: true, limit: 1_000))
        #expect(records.map(\.sequence) == Array(1...Int64(records.count)) && records.count == 8 * (3 * 2 + 2))
        #expect(AuditChain.verify(records, previousHash: "", previousSequence: 0) == nil, "every hash is the one the verifier computes")
        #expect(records.contains { $0.entry.patientID == nil })
        try await store.close()
    }
}
