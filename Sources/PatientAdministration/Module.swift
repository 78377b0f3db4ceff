import Access
import FHIRCore
import StoreModel

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

extension PatientAdministration {
    /// On a unit's downtime list: a ward's inpatients by bed and a clinic's patients booked in the window (each
    /// patient's coming visits are on the list already, from the chart's part).
    public var downtime: [DowntimePart] {
        let contacts = self.contacts
        return [DowntimePart("unit-patients", title: "Enhetens patienter", rank: 30, patients: { unitID, window, session in
            var listed: [String: [String]] = [:]
            // A ward's beds, when the unit is a ward (a clinic has no ward overview).
            if let overview = try? await contacts.wardOverview(wardUnitID: unitID, session: session) {
                for bed in overview.beds {
                    guard let patientID = bed.patientID else { continue }
                    listed[patientID, default: []].append(bed.name + (bed.onLeave ? " (permission)" : ""))
                }
                for encounterID in overview.withoutBed {
                    if let stay = try await Records(session: session).optional("Encounter", encounterID),
                       let patientID = stay.object.referenceID("subject", type: "Patient") {
                        listed[patientID, default: []].append("Inlagd, utan säng")
                    }
                }
            }
            for appointment in try await Self.appointments([Self.unitTag(unitID)], window: window, session: session) {
                let start = SwedishTime.format(appointment.object["start"]?.stringValue.flatMap(Instant.parse) ?? 0)
                for patientID in Display.participants(appointment.object, type: "Patient") {
                    listed[patientID, default: []].append("Besök " + String(start.prefix(10)) + " " + String(start.dropFirst(11).prefix(5)))
                }
            }
            return listed
        })]
    }

    /// Booked and arrived visits starting in the window, with the given extra search parameters.
    static func appointments(_ parameters: [(name: String, value: String)], window: DowntimeWindow, session: PatientDataSession) async throws -> [StoredResource] {
        try await Records(session: session).all("Appointment", parameters + [("status", "booked,arrived,checked-in"),
                                                                             ("date", "ge" + Instant.format(milliseconds: window.from)),
                                                                             ("date", "lt" + Instant.format(milliseconds: window.to)), ("_sort", "date")], maximum: 2_000)
    }
}
