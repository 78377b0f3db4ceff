import Access
import FHIRCore
import Foundation
import KarnaTesting
import PatientAdministration
import Store
import StoreModel
import Testing

let backends = StoreBackend.allCases.filter(\.isAvailable)

/// A small hospital region for workflow tests: provider `reg` with a primary-care centre, two
/// wards with beds, a specialist clinic; people with assignments; one identified patient.
struct Clinic {
    let store: any ResourceStore
    let gateway: AccessGateway
    let administration = PatientAdministration()

    static let personnummer = "198002142381"

    static func make(_ backend: StoreBackend) async throws -> Clinic {
        let store = try await backend.makeStore()
        func org(_ id: String, _ name: String, partOf: String?) -> JSONObject { Fixtures.organization(id, name, partOf: partOf) }
        let positions = Dictionary(Position.defaults.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        var resources: [JSONObject] = [
            org("reg", "Region Test", partOf: nil), org("vc", "Vårdcentralen", partOf: "reg"), org("ward", "Avdelning 1", partOf: "reg"),
            org("ward2", "Avdelning 2", partOf: "reg"), org("spec", "Kardiologmottagningen", partOf: "reg"),
        ]
        for (id, unit, position, purpose) in [("nurse", "ward", "sjukskoterska", AssignmentPurpose.care), ("doc", "vc", "lakare", .care),
                                               ("doc2", "ward2", "lakare", .care), ("secretary", "vc", "medicinsk-sekreterare", .administration),
                                               ("patadmin", "ward2", "medicinsk-sekreterare", .administration), ("specdoc", "spec", "lakare", .care),
                                               ("cashier", "spec", "kassapersonal", .administration)] {
            resources.append(JSONObject([("resourceType", .string("Practitioner")), ("id", .string(id))]))
            resources.append(Assignment.resource(id: "\(id)-role", practitionerID: id, unitID: unit, purpose: purpose, position: positions[position]!))
        }
        for (id, ward, type, parent) in [("ward-sal", "ward", "ro", nil), ("bed-1", "ward", "bd", "ward-sal"), ("bed-2", "ward", "bd", "ward-sal"),
                                         ("bed-3", "ward2", "bd", nil)] as [(String, String, String, String?)] {
            var members: [(key: String, value: JSONValue)] = [
                ("resourceType", .string("Location")), ("id", .string(id)), ("name", .string(id)),
                ("physicalType", .object(JSONObject([("coding", .array([.object(JSONObject([("system", .string("http://terminology.hl7.org/CodeSystem/location-physical-type")),
                                                                                            ("code", .string(type))]))]))]))),
                ("managingOrganization", ref("Organization/\(ward)")),
            ]
            if let parent { members.append(("partOf", ref("Location/\(parent)"))) }
            resources.append(JSONObject(members))
        }
        resources.append(JSONObject([
            ("resourceType", .string("Patient")), ("id", .string("real")), ("active", .bool(true)),
            ("identifier", .array([.object(JSONObject([("system", .string(SwedishPersonalIdentity.personnummerSystem)), ("value", .string(personnummer))]))])),
            ("name", .array([.object(JSONObject([("family", .string("Ek")), ("given", .array([.string("Greta")]))]))])),
            ("gender", .string("female")), ("birthDate", .string("1980-02-14")),
            ("telecom", .array([.object(JSONObject([("system", .string("email")), ("value", .string("greta@example.invalid"))]))])),
        ]))
        _ = try await store.commit(resources.map { .update($0, type: $0.resourceType!, id: $0["id"]!.stringValue!) })
        return Clinic(store: store, gateway: AccessGateway(store: store, settings: AccessSettings(defaultProviderID: "reg"), modules: [PatientAdministration()]))
    }

    static func ref(_ reference: String) -> JSONValue { Fixtures.reference(reference) }

    /// A session of a person acting under their assignment.
    func session(_ id: String, action: String = "test") async throws -> PatientDataSession {
        let assignment = try #require(try await gateway.directory.assignment(id: "\(id)-role"))
        return gateway.session(Principal(kind: .practitioner, id: id, displayName: id, assignment: assignment, scopes: ScopeSet("user/*.cruds"), clientID: "tests"),
                               action: action)
    }

    var system: PatientDataSession { gateway.session(.job("tests"), action: "test") }

    /// A schedule at a unit with slots from tomorrow for a week.
    func scheduleWithSlots(unit: String, session: PatientDataSession, visitType: VisitType = .doctor) async throws -> String {
        let id = "schedule-\(unit)"
        let schedule = JSONObject([
            ("resourceType", .string("Schedule")), ("id", .string(id)), ("active", .bool(true)),
            ("actor", .array([Clinic.ref("PractitionerRole/specdoc-role")])),
        ])
        _ = try await session.commit(.update(schedule, type: "Schedule", id: id))
        let template = try AppointmentBook.SlotTemplate.parse(from: SwedishTime.formatDay(SwedishTime.today + 1), to: SwedishTime.formatDay(SwedishTime.today + 7),
                                                              weekdays: "1,2,3,4,5,6,7", start: "08:00", end: "10:00", minutes: "30", visitType: visitType.rawValue)
        _ = try await administration.book.generateSlots(scheduleID: id, template: template, session: session)
        return id
    }

    func freeSlots(_ scheduleID: String, session: PatientDataSession) async throws -> [StoredResource] {
        try await administration.book.findFreeSlots(scheduleID: scheduleID, unitID: nil, visitType: nil, from: Instant.now(), to: nil, limit: 100, session: session)
    }

    func audit(patient: String) async throws -> [AuditRecord] {
        try await store.auditRecords(AuditQuery(patientID: patient, limit: 1_000))
    }
}

/// The category of the FHIRError a call throws, or nil when it succeeds.
func failure(_ body: () async throws -> Void) async -> (FHIRError.Category, String)? {
    do {
        try await body()
        return nil
    } catch let error as FHIRError {
        return (error.category, error.issues.first?.diagnostics ?? "")
    } catch let error as CommitFailure {
        return (error.error.category, error.error.issues.first?.diagnostics ?? "")
    } catch {
        return (.internalError, "\(error)")
    }
}

extension StoredResource {
    var status: String? { object["status"]?.stringValue }
}
