import Access
import Documentation
import Medication
import FHIRCore
import Foundation
import KarnaTesting
import PatientAdministration
import Results
import Store
import StoreModel
import Terminology
import Testing

let backends = StoreBackend.allCases.filter(\.isAvailable)

/// A small region for documentation tests: provider `reg` with a vårdcentral and a ward, a private
/// provider `priv`; people with assignments; patients p1 and p2.
struct Ward {
    let store: any ResourceStore
    let gateway: AccessGateway
    let documentation: Documentation

    static func make(_ backend: StoreBackend, medication: Medication? = nil) async throws -> Ward {
        let store = try await backend.makeStore()
        let positions = Dictionary(Position.defaults.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        var resources: [JSONObject] = [
            Fixtures.organization("reg", "Region Test", partOf: nil), Fixtures.organization("vc", "Vårdcentralen", partOf: "reg"),
            Fixtures.organization("ward", "Medicinavdelningen", partOf: "reg"), Fixtures.organization("priv", "Privatvård AB", partOf: nil),
            Fixtures.organization("privvc", "Privata vårdcentralen", partOf: "priv"),
            Fixtures.organization("akut", "Akutmottagningen", partOf: "reg"),
            Fixtures.organization("mvc", "Barnmorskemottagningen", partOf: "reg"), Fixtures.organization("forl", "Förlossningen", partOf: "reg"),
        ]
        for (id, unit, position, purpose) in [("doc", "vc", "lakare", AssignmentPurpose.care), ("doc2", "vc", "lakare", .care),
                                               ("nurse", "vc", "sjukskoterska", .care), ("nurse2", "vc", "sjukskoterska", .care), ("secretary", "vc", "medicinsk-sekreterare", .administration),
                                               ("wardoc", "ward", "lakare", .care), ("wardoc2", "ward", "lakare", .care),
                                               ("privdoc", "privvc", "lakare", .care), ("admin", "reg", "systemforvaltare", .administration),
                                               ("edoc", "akut", "lakare", .care), ("ednurse", "akut", "sjukskoterska", .care),
                                               ("midwife", "mvc", "barnmorska", .care), ("midwife2", "mvc", "barnmorska", .care),
                                               ("delmidwife", "forl", "barnmorska", .care)] {
            var practitioner = JSONObject([("resourceType", .string("Practitioner")), ("id", .string(id)),
                                           ("name", .array([.object(JSONObject([("text", .string(id))]))]))])
            // Doctors prescribe with a förskrivarkod (wardoc2 has none, to be refused).
            if ["doc", "doc2", "privdoc", "wardoc"].contains(id) {
                practitioner["identifier"] = .array([
                    .object(JSONObject([("system", .string(Prescription.prescriberCodeSystem)), ("value", .string("90\(id.count)\(id.count)\(id.count)01"))])),
                    .object(JSONObject([("system", .string("urn:oid:1.2.752.29.4.19")), ("value", .string("SE2321000999-\(id)"))])),
                ])
            }
            resources.append(practitioner)
            var role = Assignment.resource(id: "\(id)-role", practitionerID: id, unitID: unit, purpose: purpose, position: positions[position]!)
            role["practitioner"] = .object(JSONObject([("reference", .string("Practitioner/\(id)")), ("display", .string(id))]))
            resources.append(role)
        }
        for (id, pnr) in [("p1", "198002142381"), ("p2", "197507091234"), ("m1", "199103152386")] {
            resources.append(JSONObject([
                ("resourceType", .string("Patient")), ("id", .string(id)), ("active", .bool(true)),
                ("identifier", .array([.object(JSONObject([("system", .string(SwedishPersonalIdentity.personnummerSystem)), ("value", .string(pnr))]))])),
                ("name", .array([.object(JSONObject([("family", .string("Ek")), ("given", .array([.string(id)]))]))])),
                ("birthDate", .string(id == "m1" ? "1991-03-15" : "1980-02-14")),
            ]))
        }
        _ = try await store.commit(resources.map { .update($0, type: $0.resourceType!, id: $0["id"]!.stringValue!) })
        let documentation = Documentation(terminology: TerminologyService.shipped())
        let gateway = AccessGateway(store: store, settings: AccessSettings(defaultProviderID: "reg"), modules: [PatientAdministration(), documentation, medication ?? Medication(), Results()],
                                    codes: documentation.terminology)
        return Ward(store: store, gateway: gateway, documentation: documentation)
    }

    func session(_ id: String, action: String = "test") async throws -> PatientDataSession {
        let assignment = try #require(try await gateway.directory.assignment(id: "\(id)-role"))
        return gateway.session(Principal(kind: .practitioner, id: id, displayName: id, assignment: assignment, scopes: ScopeSet("user/*.cruds"), clientID: "tests"),
                               action: action)
    }

    /// An ongoing care contact at the person's unit: the care relationship notes are written under.
    @discardableResult
    func contact(_ person: String, patient: String) async throws -> String {
        let session = try await session(person)
        let unit = try #require(session.principal.assignment?.unitID)
        let id = "enc-\(person)-\(patient)"
        let encounter = JSONObject([
            ("resourceType", .string("Encounter")), ("id", .string(id)), ("status", .string("in-progress")),
            ("class", .object(JSONObject([("system", .string("http://terminology.hl7.org/CodeSystem/v3-ActCode")), ("code", .string("AMB"))]))),
            ("subject", Fixtures.reference("Patient/\(patient)")), ("serviceProvider", Fixtures.reference("Organization/\(unit)")),
            ("period", .object(JSONObject([("start", .string(Instant.format(milliseconds: Instant.now() - 3_600_000)))]))),
        ])
        _ = try await session.commit(.update(encounter, type: "Encounter", id: id))
        return id
    }

    /// A besök note by `person` with the mandatory headings written.
    func visitNote(_ person: String, patient: String = "p1", status: String = "Blodtryck 150/95. Hjärta: regelbunden rytm.",
                   encounter: String? = nil) async throws -> StoredResource {
        try await documentation.notes.write(Notes.Draft(template: "lakaranteckning-besok", patientID: patient, encounterID: encounter,
                                                        sections: ["kontaktorsak": "Kontroll av blodtryck", "status": status,
                                                                   "bedomning": "Välinställd hypertoni"]),
                                            session: try await session(person))
    }
}

/// Whether the call fails with the given HTTP-ish category, and the error's text contains `text`.
func fails(_ category: FHIRError.Category, containing text: String = "", _ body: () async throws -> Void) async -> Bool {
    do {
        try await body()
        return false
    } catch let error as FHIRError {
        let matches = error.category == category && (text.isEmpty || error.description.contains(text))
        if !matches { print("fails: expected \(category) containing '\(text)', got \(error)") }
        return matches
    } catch let failure as CommitFailure {
        return failure.error.category == category && (text.isEmpty || failure.error.description.contains(text))
    } catch {
        print("fails: unexpected \(String(reflecting: error))")
        return false
    }
}

func sectionText(_ note: StoredResource, _ code: String) -> String? {
    for section in note.object["section"]?.arrayValue ?? [] where section.objectValue?.code("code", system: DocumentationCodes.heading) == code {
        return section.objectValue?["text"]?.objectValue?["div"]?.stringValue
    }
    return nil
}
