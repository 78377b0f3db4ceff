import Access
import FHIRCore

extension PatientAdministration: ClinicalModule {
    public var name: String { "PatientAdministration" }
    public var operations: [OperationDescriptor] { Self.operations }
    public var rules: [any WriteRule] { Self.rules }
    public var records: RecordSemantics { Self.records }
    public var chart: [ChartPart] { Self.chartParts }
    public var codes: CodeBindings { CodeBindings(checkedTypes: ["Encounter", "ServiceRequest", "EpisodeOfCare", "Appointment"]) }

    /// What this module's records mean to the Patientdatalag rules: a care contact, stay, episode,
    /// booking, care team or a referral in a unit's inbox is a care relationship there (PDL 4 kap. 1 §).
    public static let records = RecordSemantics(
        grounds: [
            CareRelationshipGround("Encounter", opensOnCreate: true, .search { patient, unit, since in
                [("patient", patient), ("service-provider", unit), ("date", "ge" + since), ("status:not", "cancelled"), ("status:not", "entered-in-error")]
            }),
            // A stay that has moved on to another ward still counts at the ward where the patient lay.
            CareRelationshipGround("Encounter", opensOnCreate: true, .search { patient, unit, since in
                [("patient", patient), ("location.organization", unit), ("date", "ge" + since), ("status:not", "cancelled"), ("status:not", "entered-in-error")]
            }),
            CareRelationshipGround("EpisodeOfCare", opensOnCreate: true, .search { patient, unit, _ in
                [("patient", patient), ("organization", unit), ("status", "planned,waitlist,active,onhold")]
            }),
            // A booking at the unit, also one recently cancelled or missed, and a place on its waiting list.
            CareRelationshipGround("Appointment", opensOnCreate: true, .search { patient, unit, since in
                [("patient", patient), unitTag(unit), ("date", "ge" + since), ("status:not", "entered-in-error")]
            }),
            CareRelationshipGround("Appointment", opensOnCreate: true, .search { patient, unit, _ in
                [("patient", patient), unitTag(unit), ("status", "waitlist")]
            }),
            // A referral in the unit's inbox is a request for care: the unit may prepare the visit.
            CareRelationshipGround("Task", opensOnCreate: false, .search { patient, unit, _ in
                [("patient", patient), ("owner", unit), ("status", "requested,received,accepted,on-hold,in-progress")]
            }),
            // A care team has no search parameter for its managing unit: the patients' active teams are read and looked at.
            CareRelationshipGround("CareTeam", opensOnCreate: true, .scan(
                parameters: { patients in [("patient", patients), ("status", "active")] },
                grounds: { team, unit in
                    guard let subject = team.reference("subject"), subject.type == "Patient" else { return nil }
                    let managing = team["managingOrganization"]?.arrayValue ?? []
                    return managing.contains { $0.objectValue?["reference"]?.stringValue == unit } ? subject.id : nil
                })),
        ],
        recordUnit: ["Encounter": { $0.reference("serviceProvider")?.id }],
        responsibleUnits: [
            "Encounter": { organisation($0.reference("serviceProvider")) },
            "EpisodeOfCare": { organisation($0.reference("managingOrganization")) },
        ],
        addressedTo: [
            "ServiceRequest": { request in isReferral(request) ? addressees(request) : nil },
            "Task": { task in task.code("code", system: AdministrationCodes.taskCode) == Referrals.taskCode ? addressees(task) : nil },
        ],
        careContactTypes: ["Encounter"]
    )

    private static func unitTag(_ unit: String) -> (name: String, value: String) {
        ("_tag", "\(RecordTags.careUnit)|\(unit.hasPrefix("Organization/") ? String(unit.dropFirst("Organization/".count)) : unit)")
    }

    private static func organisation(_ key: ResourceKey?) -> Set<String> {
        guard let key, key.type == "Organization" else { return [] }
        return [key.id]
    }

    /// A referral (remiss) carries the SNOMED CT category Patient referral; a lab or imaging order does not.
    static func isReferral(_ request: JSONObject) -> Bool {
        (request["category"]?.arrayValue ?? []).contains { category in
            (category.objectValue?["coding"]?.arrayValue ?? []).contains {
                $0.objectValue?["system"]?.stringValue == "http://snomed.info/sct" && $0.objectValue?["code"]?.stringValue == Referrals.referralCategory
            }
        }
    }

    /// The units a referral or its task is addressed to or from: performer, owner, requester.
    private static func addressees(_ object: JSONObject) -> Set<String> {
        var units = Set<String>()
        for member in ["owner", "requester"] {
            if let key = object.reference(member), key.type == "Organization" { units.insert(key.id) }
        }
        for performer in object["performer"]?.arrayValue ?? [] {
            if let text = performer.objectValue?["reference"]?.stringValue, let key = ResourceKey(reference: text), key.type == "Organization" { units.insert(key.id) }
        }
        return units
    }
}
