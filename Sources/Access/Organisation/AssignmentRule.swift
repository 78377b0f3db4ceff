import FHIRCore
import Store
import StoreModel

/// A medarbetaruppdrag (PractitionerRole) decides what its holder may do, so granting one — its position and
/// purpose, unit, holder, whether it is active — is a systemförvaltare's, whichever interface writes it: a doctor
/// whose position writes every type must not make themself systemförvaltare. What is not a grant (absence and
/// substitute, telephone, hours) the holder keeps up to date on their own assignment, and a position that
/// writes PractitionerRole by name (the medical secretary keeping the unit's lists) on anyone's. System clients
/// are held by their scopes.
struct AssignmentRule: WriteRule {
    var types: Set<String> { ["PractitionerRole"] }

    /// The members that make the grant.
    static let granting = ["code", "organization", "practitioner", "active", "specialty"]

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        let principal = session.principal
        guard principal.kind == .practitioner, !principal.permissions.administer else { return }
        let before = current.flatMap { $0.isDeleted ? nil : $0.object }
        let changed = Self.granting.filter { member in
            guard let before else { return true }
            return before[member].map(JSONWriter.string) != resource[member].map(JSONWriter.string)
        }
        if !changed.isEmpty {
            throw FHIRError(.forbidden, code: .forbidden,
                            "PractitionerRole/\(id): \(before == nil ? "creating an assignment" : "changing " + changed.joined(separator: ", ")) grants access and needs a systemförvaltare assignment (administer permission)",
                            expression: changed.map { "PractitionerRole.\($0)" },
                            text: "Medarbetaruppdrag ges och ändras av en systemförvaltare.")
        }
        guard principal.assignment?.id == id || principal.permissions.write.contains("PractitionerRole") else {
            throw FHIRError(.forbidden, code: .forbidden,
                            "PractitionerRole/\(id) is another person's assignment: its holder, a systemförvaltare or a position that keeps the unit's staff lists changes it",
                            expression: ["PractitionerRole"], text: "Du kan bara ändra ditt eget medarbetaruppdrag.")
        }
    }

    func checkDelete(_ current: StoredResource, commit: [WriteOperation], session: PatientDataSession) async throws {
        guard session.principal.kind == .practitioner, !session.principal.permissions.administer else { return }
        throw FHIRError(.forbidden, code: .forbidden, "PractitionerRole/\(current.id): removing an assignment needs a systemförvaltare assignment (administer permission)",
                        expression: ["PractitionerRole"], text: "Medarbetaruppdrag tas bort av en systemförvaltare.")
    }
}
