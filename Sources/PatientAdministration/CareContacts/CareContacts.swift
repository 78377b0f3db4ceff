import Access
import FHIRCore
import Foundation
import StoreModel

/// Vårdkontakter and vårdtillfällen: outpatient, phone, video and day-care contacts with
/// arrival, start and end; admissions (planned or direktinläggning), transfers between wards and
/// beds, leave of absence and discharge — as Encounter (and EpisodeOfCare for stays) with the
/// bed history in Encounter.location. Each contact is what gives its unit a care relationship.
public struct CareContacts: Sendable {
    public let settings: AdministrationSettings

    public init(settings: AdministrationSettings) {
        self.settings = settings
    }

    /// Registers a contact: a visit, phone or video contact or day care, arrived now (or started).
    public func registerContact(patientID: String, visitType: VisitType, unitID: String?, started: Bool, appointmentID: String? = nil,
                                referralID: String? = nil, session: PatientDataSession) async throws -> StoredResource {
        let (id, operation) = try await contactOperation(patientID: patientID, visitType: visitType, unitID: unitID, started: started,
                                                         appointmentID: appointmentID, referralID: referralID, session: session)
        _ = try await session.commit(operation)
        return try await Records(session: session).require("Encounter", id)
    }

    /// The Encounter of a new contact, to commit with whatever else starts it (a check-in).
    func contactOperation(patientID: String, visitType: VisitType, unitID: String?, started: Bool, appointmentID: String?,
                          referralID: String?, session: PatientDataSession) async throws -> (String, WriteOperation) {
        let records = Records(session: session)
        _ = try await records.require("Patient", patientID, role: "patient")
        let unit = try session.actingUnit(unitID)
        _ = try await records.require("Organization", unit, role: "unit")
        let now = Instant.now()
        let status = started ? "in-progress" : "arrived"
        let id = UUID().uuidString.lowercased()
        var encounter = JSONObject([
            ("resourceType", .string("Encounter")), ("id", .string(id)), ("status", .string(status)),
            ("statusHistory", .array([Self.statusEntry(status, from: now)])),
            ("class", FHIR.coding(AdministrationCodes.actCode, visitType.encounterClass.code, visitType.encounterClass.display)),
            ("type", .array([FHIR.concept(AdministrationCodes.visitType, visitType.rawValue, visitType.display)])),
            ("subject", FHIR.reference("Patient", patientID)),
            ("period", FHIR.object([("start", .string(SwedishTime.format(now)))])),
            ("serviceProvider", FHIR.reference("Organization", unit)),
        ])
        if let practitioner = session.principal.assignment {
            encounter["participant"] = .array([FHIR.object([("individual", FHIR.reference("PractitionerRole", practitioner.id))])])
        }
        if let appointmentID { encounter["appointment"] = .array([FHIR.reference("Appointment", appointmentID)]) }
        if let referralID { encounter["basedOn"] = .array([FHIR.reference("ServiceRequest", referralID)]) }
        session.tagForUnit(&encounter, unit: unit)
        return (id, .create(encounter, type: "Encounter", id: id))
    }

    static func statusEntry(_ status: String, from: Int64) -> JSONValue {
        FHIR.object([("status", .string(status)), ("period", FHIR.object([("start", .string(SwedishTime.format(from)))]))])
    }

    /// Admits a patient to a ward (inskrivning): planned (a booked admission, status planned, for
    /// `plannedDay` — today unless given) or at once (direktinläggning or from the emergency
    /// department), with a bed if one is chosen.
    public func admit(patientID: String, wardUnitID: String?, bedID: String?, planned: Bool, plannedDay: Int? = nil, admitSource: String,
                      expectedDischarge: String?, reason: String?, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        _ = try await records.require("Patient", patientID, role: "patient")
        let ward = try session.actingUnit(wardUnitID)
        _ = try await records.require("Organization", ward, role: "ward")
        let sources = ["direktinlaggning": ("other", "Direktinläggning"), "akuten": ("emd", "Från akutmottagningen"),
                       "planerad": ("outp", "Planerad inläggning"), "overflyttning": ("hosp-trans", "Överflyttning från annat sjukhus")]
        guard let source = sources[admitSource] else {
            throw FHIRError(.invalid, code: .value, "admitSource must be one of \(sources.keys.sorted().joined(separator: ", ")); got '\(admitSource)'", expression: ["admitSource"], text: "Välj varifrån patienten kommer i listan.")
        }
        if let expectedDischarge, SwedishTime.parseDay(String(expectedDischarge.prefix(10))) == nil {
            throw FHIRError(.invalid, code: .value, "expectedDischarge must be a date like 2026-11-30; got '\(expectedDischarge)'", expression: ["expectedDischarge"], text: "Beräknad utskrivning ska vara ett datum, till exempel 2026-11-30.")
        }
        if let plannedDay {
            guard planned else { throw FHIRError(.invalid, code: .value, "plannedDate is for a planned admission (planned=true)", expression: ["plannedDate"], text: "Planerat datum gäller bara en planerad inskrivning.") }
            guard plannedDay >= SwedishTime.today else {
                throw FHIRError(.invalid, code: .value, "plannedDate must be today or later; got \(SwedishTime.formatDay(plannedDay))", expression: ["plannedDate"], text: "Planerat datum ska vara i dag eller senare.")
            }
        }
        if let bedID, !planned { try await requireFreeBed(bedID, ward: ward, session: session) }
        let now = Instant.now()
        // A planned stay's period starts on the day it is planned for (a date); it gets its time when it starts.
        let start = planned ? SwedishTime.formatDay(plannedDay ?? SwedishTime.today) : SwedishTime.format(now)
        let status = planned ? "planned" : "in-progress"
        let episodeID = UUID().uuidString.lowercased(), id = UUID().uuidString.lowercased()
        var episode = JSONObject([
            ("resourceType", .string("EpisodeOfCare")), ("id", .string(episodeID)), ("status", .string(planned ? "planned" : "active")),
            ("type", .array([FHIR.concept(AdministrationCodes.contactType, "vardtillfalle", "Vårdtillfälle")])),
            ("patient", FHIR.reference("Patient", patientID)), ("managingOrganization", FHIR.reference("Organization", ward)),
            ("period", FHIR.object([("start", .string(SwedishTime.format(now)))])),
        ])
        var encounter = JSONObject([
            ("resourceType", .string("Encounter")), ("id", .string(id)), ("status", .string(status)),
            ("statusHistory", .array([Self.statusEntry(status, from: now)])),
            ("class", FHIR.coding(AdministrationCodes.actCode, "IMP", "inpatient encounter")),
            ("type", .array([FHIR.concept(AdministrationCodes.contactType, "vardtillfalle", "Vårdtillfälle")])),
            ("subject", FHIR.reference("Patient", patientID)),
            ("episodeOfCare", .array([FHIR.reference("EpisodeOfCare", episodeID)])),
            ("period", FHIR.object([("start", .string(start))])),
            ("hospitalization", FHIR.object([("admitSource", FHIR.object([("coding", .array([
                FHIR.coding("http://terminology.hl7.org/CodeSystem/admit-source", source.0),
                FHIR.coding(AdministrationCodes.contactType, admitSource, source.1),
            ]))]))])),
            ("serviceProvider", FHIR.reference("Organization", ward)),
        ])
        if let reason, !reason.isEmpty { encounter["reasonCode"] = .array([FHIR.text(reason)]) }
        // Who admitted: the ward overview's responsible until another is named.
        if let assignment = session.principal.assignment {
            encounter["participant"] = .array([FHIR.object([
                ("type", .array([FHIR.concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ADM", "admitter")])),
                ("individual", FHIR.reference("PractitionerRole", assignment.id)),
            ])])
        }
        if let expectedDischarge { encounter.setExtension(AdministrationCodes.expectedDischarge, "valueDate", .string(String(expectedDischarge.prefix(10)))) }
        if let bedID {
            encounter["location"] = .array([Self.locationEntry(bedID, status: planned ? "planned" : "active", from: now)])
        }
        session.tagForUnit(&episode, unit: ward)
        session.tagForUnit(&encounter, unit: ward)
        var operations: [WriteOperation] = [.create(episode, type: "EpisodeOfCare", id: episodeID), .create(encounter, type: "Encounter", id: id)]
        // The emergency department's bed request for this patient is met by this admission, in the same commit.
        if !planned {
            for request in try await bedRequests(wardUnitID: ward, session: session) where request.object.referenceID("for", type: "Patient") == patientID {
                var done = request.object.forUpdate
                done["status"] = .string("completed")
                done["executionPeriod"] = FHIR.object([("end", .string(SwedishTime.format(now)))])
                done["output"] = .array([FHIR.object([("type", FHIR.text("Inskrivning")), ("valueReference", FHIR.reference("Encounter", id))])])
                operations.append(.update(done, type: "Task", id: request.id, ifMatch: request.versionId))
            }
        }
        _ = try await session.commit(operations)
        return try await records.require("Encounter", id)
    }

    static func locationEntry(_ bedID: String, status: String, from: Int64) -> JSONValue {
        FHIR.object([("location", FHIR.reference("Location", bedID)), ("status", .string(status)),
                     ("physicalType", FHIR.concept("http://terminology.hl7.org/CodeSystem/location-physical-type", "bd", "Bed")),
                     ("period", FHIR.object([("start", .string(SwedishTime.format(from)))]))])
    }

    /// A bed exists, belongs to the ward and has nobody in it.
    private func requireFreeBed(_ bedID: String, ward: String, session: PatientDataSession) async throws {
        let bed = try await Records(session: session).require("Location", bedID, role: "bed").object
        guard bed.referenceID("managingOrganization", type: "Organization") == ward else {
            throw FHIRError(.invalid, code: .value, "bed: Location/\(bedID) does not belong to the ward Organization/\(ward)", expression: ["bed"], text: "Sängen hör inte till avdelningen.")
        }
        if let occupant = try await occupancy(ward: ward, session: session)[bedID] {
            throw refused("bed: Location/\(bedID) is taken by Encounter/\(occupant.encounter)", expression: ["bed"], text: "Sängen är redan upptagen av en annan patient. Välj en ledig säng.")
        }
    }

    /// One step of a contact's workflow: arrive, start, leave, return, finish (utskrivning for a stay),
    /// cancel or entered-in-error; transfer moves a stay to another ward and/or bed.
    public func transition(encounterID: String, event: EncounterWorkflow.Event, toWard: String? = nil, toBed: String? = nil,
                           dischargeDisposition: String? = nil, reason: String? = nil, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        let stored = try await records.require("Encounter", encounterID)
        var encounter = stored.object.forUpdate
        let status = encounter["status"]?.stringValue ?? "unknown"
        let inpatient = encounter["class"]?.objectValue?["code"]?.stringValue == "IMP"
        let next: String
        do { next = try EncounterWorkflow.next(status, event, inpatient: inpatient) } catch { throw error.error }
        let now = Instant.now(), stamp = SwedishTime.format(now)
        var operations: [WriteOperation] = []
        if next != status {
            var history = encounter["statusHistory"]?.arrayValue ?? []
            if let last = history.indices.last, var entry = history[last].objectValue {
                var period = entry["period"]?.objectValue ?? JSONObject()
                period["end"] = .string(stamp)
                entry["period"] = .object(period)
                history[last] = .object(entry)
            }
            history.append(Self.statusEntry(next, from: now))
            encounter["statusHistory"] = .array(history)
            encounter["status"] = .string(next)
        }
        var locations = (encounter["location"]?.arrayValue ?? []).compactMap(\.objectValue)
        func closeLocations(_ newStatus: String) {
            for i in locations.indices where ["active", "reserved", "planned"].contains(locations[i]["status"]?.stringValue ?? "") {
                locations[i]["status"] = .string(newStatus)
                if newStatus == "completed" {
                    var period = locations[i]["period"]?.objectValue ?? JSONObject()
                    period["end"] = .string(stamp)
                    locations[i]["period"] = .object(period)
                }
            }
        }
        switch event {
        case .start where inpatient:
            if let toBed {
                // The bed chosen on the day replaces one planned in advance.
                try await requireFreeBed(toBed, ward: encounter.referenceID("serviceProvider", type: "Organization") ?? "", session: session)
                locations.removeAll { $0["status"]?.stringValue == "planned" }
                locations.append(Self.locationEntry(toBed, status: "active", from: now).objectValue!)
            }
            for i in locations.indices where locations[i]["status"]?.stringValue == "planned" { locations[i]["status"] = .string("active") }
            if status == "planned" {
                var period = encounter["period"]?.objectValue ?? JSONObject()
                period["start"] = .string(stamp)
                encounter["period"] = .object(period)
                for reference in encounter["episodeOfCare"]?.arrayValue ?? [] {
                    guard let key = ResourceKey(reference: reference.objectValue?["reference"]?.stringValue ?? ""),
                          let episode = try await records.optional("EpisodeOfCare", key.id), episode.object["status"]?.stringValue == "planned" else { continue }
                    var updated = episode.object.forUpdate
                    updated["status"] = .string("active")
                    updated["period"] = FHIR.object([("start", .string(stamp))])
                    operations.append(.update(updated, type: "EpisodeOfCare", id: key.id, ifMatch: episode.versionId))
                }
            }
        case .transfer:
            guard toWard != nil || toBed != nil else {
                throw FHIRError(.invalid, code: .required, "a transfer names the new ward (ward) or bed (bed) or both", expression: ["ward", "bed"], text: "Välj ny avdelning eller säng, eller båda.")
            }
            let currentWard = encounter.referenceID("serviceProvider", type: "Organization") ?? ""
            let ward = toWard ?? currentWard
            if ward != currentWard {
                _ = try await records.require("Organization", ward, role: "ward")
                encounter["serviceProvider"] = FHIR.reference("Organization", ward)
                if let episodeID = (encounter["episodeOfCare"]?.arrayValue?.first?.objectValue).flatMap({ ResourceKey(reference: $0["reference"]?.stringValue ?? "")?.id }),
                   let episode = try await records.optional("EpisodeOfCare", episodeID) {
                    var updated = episode.object.forUpdate
                    updated["managingOrganization"] = FHIR.reference("Organization", ward)
                    operations.append(.update(updated, type: "EpisodeOfCare", id: episodeID, ifMatch: episode.versionId))
                }
            }
            if let toBed { try await requireFreeBed(toBed, ward: ward, session: session) }
            closeLocations("completed")
            if let toBed { locations.append(Self.locationEntry(toBed, status: "active", from: now).objectValue!) }
        case .leave:
            closeLocations("reserved")
        case .return:
            for i in locations.indices where locations[i]["status"]?.stringValue == "reserved" { locations[i]["status"] = .string("active") }
        case .finish, .cancel, .enteredInError:
            closeLocations("completed")
            var period = encounter["period"]?.objectValue ?? JSONObject()
            if event == .finish { period["end"] = .string(stamp) }
            encounter["period"] = .object(period)
            if inpatient, event == .finish {
                let dispositions = ["hem": ("home", "Hem"), "annat-sjukhus": ("other-hcf", "Annan vårdinrättning"), "sarskilt-boende": ("snf", "Särskilt boende"),
                                    "avliden": ("exp", "Avliden"), "annan": ("oth", "Annan")]
                let chosen = dischargeDisposition ?? "hem"
                guard let disposition = dispositions[chosen] else {
                    throw FHIRError(.invalid, code: .value, "destination must be one of \(dispositions.keys.sorted().joined(separator: ", ")); got '\(chosen)'", expression: ["destination"], text: "Välj vart patienten skrivs ut i listan.")
                }
                var hospitalization = encounter["hospitalization"]?.objectValue ?? JSONObject()
                hospitalization["dischargeDisposition"] = FHIR.object([("coding", .array([
                    FHIR.coding("http://terminology.hl7.org/CodeSystem/discharge-disposition", disposition.0),
                    FHIR.coding(AdministrationCodes.contactType, chosen, disposition.1),
                ]))])
                encounter["hospitalization"] = .object(hospitalization)
                // The discharging doctor (utskrivande läkare) is named: results still pending for the stay go to them.
                // A doctor discharging is it; a nurse or secretary registering the discharge leaves it to the responsible doctor.
                let participants = encounter["participant"]?.arrayValue ?? []
                let responsible = participants.first?.objectValue?.referenceID("individual", type: "PractitionerRole")
                let doctor = session.principal.permissions.prescribe ? session.principal.assignment?.id : nil
                if let discharger = doctor ?? responsible {
                    encounter["participant"] = .array(participants + [FHIR.object([
                        ("type", .array([FHIR.concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "DIS", "discharger")])),
                        ("individual", FHIR.reference("PractitionerRole", discharger)),
                    ])])
                }
            }
            if let reason, !reason.isEmpty, event != .finish { encounter.setExtension("https://karna.se/fhir/StructureDefinition/statusorsak", "valueString", .string(reason)) }
            // The stay's episode ends with it; a finished visit fulfils its appointment.
            for reference in encounter["episodeOfCare"]?.arrayValue ?? [] {
                guard let key = ResourceKey(reference: reference.objectValue?["reference"]?.stringValue ?? ""), let episode = try await records.optional("EpisodeOfCare", key.id) else { continue }
                var updated = episode.object.forUpdate
                updated["status"] = .string(event == .finish ? "finished" : "cancelled")
                var period = updated["period"]?.objectValue ?? JSONObject()
                period["end"] = .string(stamp)
                updated["period"] = .object(period)
                operations.append(.update(updated, type: "EpisodeOfCare", id: key.id, ifMatch: episode.versionId))
            }
            if event == .finish {
                for reference in encounter["appointment"]?.arrayValue ?? [] {
                    guard let key = ResourceKey(reference: reference.objectValue?["reference"]?.stringValue ?? ""),
                          let appointment = try await records.optional("Appointment", key.id),
                          let fulfilled = try? AppointmentWorkflow.next(appointment.object["status"]?.stringValue ?? "", .fulfil) else { continue }
                    var updated = appointment.object.forUpdate
                    updated["status"] = .string(fulfilled)
                    operations.append(.update(updated, type: "Appointment", id: key.id, ifMatch: appointment.versionId))
                }
            }
        default:
            break
        }
        if !locations.isEmpty { encounter["location"] = .array(locations.map { .object($0) }) }
        operations.insert(.update(encounter, type: "Encounter", id: encounterID, ifMatch: stored.versionId), at: 0)
        // The version just written, not read back: cancelling a planned stay can end the very care
        // relationship (its planned episode) under which the user could read it.
        let written = try await session.commit(operations)
        if let version = written.first?.resource { return version }
        return try await records.require("Encounter", encounterID)
    }

    /// Who lies in which bed of a ward: bed id → (encounter, patient, status of the stay).
    func occupancy(ward: String, session: PatientDataSession) async throws -> [String: (encounter: String, patient: String?, onLeave: Bool, stay: JSONObject)] {
        occupancy(of: try await currentStays(ward: ward, session: session))
    }

    /// The bed requests (vårdplatsbeställningar) the ward has not yet met, oldest first.
    public func bedRequests(wardUnitID: String, session: PatientDataSession) async throws -> [StoredResource] {
        try await Records(session: session).all("Task", [("owner", "Organization/\(wardUnitID)"), ("status", "requested"),
                                                         ("code", "\(AdministrationCodes.bedRequest.system)|\(AdministrationCodes.bedRequest.code)"),
                                                         ("_sort", "authored-on")], maximum: 200)
    }

    /// The ward's planned admissions (planerade inskrivningar), by the day they are planned for.
    public func plannedAdmissions(wardUnitID: String, session: PatientDataSession) async throws -> [StoredResource] {
        try await Records(session: session).all("Encounter", [("service-provider", "Organization/\(wardUnitID)"), ("status", "planned"),
                                                              ("class", "\(AdministrationCodes.actCode)|IMP"), ("_sort", "date")], maximum: 500)
    }

    /// The ward's current inpatient stays (vårdtillfällen in progress or on leave).
    func currentStays(ward: String, session: PatientDataSession) async throws -> [StoredResource] {
        try await Records(session: session).all("Encounter", [("service-provider", "Organization/\(ward)"), ("status", "in-progress,onleave"),
                                                              ("class", "\(AdministrationCodes.actCode)|IMP")], maximum: 2_000)
    }

    func occupancy(of stays: [StoredResource]) -> [String: (encounter: String, patient: String?, onLeave: Bool, stay: JSONObject)] {
        var beds: [String: (encounter: String, patient: String?, onLeave: Bool, stay: JSONObject)] = [:]
        for stay in stays {
            let object = stay.object
            for location in object["location"]?.arrayValue ?? [] {
                guard let location = location.objectValue, ["active", "reserved"].contains(location["status"]?.stringValue ?? ""),
                      let bed = location.referenceID("location", type: "Location") else { continue }
                beds[bed] = (stay.id, object.referenceID("subject", type: "Patient"), location["status"]?.stringValue == "reserved", object)
            }
        }
        return beds
    }

    /// One bed of the ward overview.
    public struct BedStatus: Sendable {
        public var bedID: String
        public var name: String
        public var room: String?
        public var encounterID: String?
        public var patientID: String?
        public var patientName: String?
        /// The occupant's Patient record, when the session may read it (the web page shows its personnummer).
        public var patient: JSONObject?
        public var onLeave: Bool
        public var admitted: String?
        public var expectedDischarge: String?
        /// The assignment (PractitionerRole id) responsible for the stay: the stay's first participant.
        public var responsible: String?
        public var isFree: Bool { encounterID == nil }
    }

    /// The ward overview (beläggning): every bed with who lies there, expected discharges, free beds,
    /// and the ward's patients without a bed.
    public func wardOverview(wardUnitID: String, session: PatientDataSession) async throws -> (beds: [BedStatus], withoutBed: [String]) {
        let records = Records(session: session)
        _ = try await records.require("Organization", wardUnitID, role: "ward")
        let locations = try await records.all("Location", [("organization", "Organization/\(wardUnitID)")], maximum: 2_000)
        let names = Dictionary(locations.map { ($0.id, $0.object["name"]?.stringValue ?? $0.id) }, uniquingKeysWith: { a, _ in a })
        let stays = try await currentStays(ward: wardUnitID, session: session)
        let occupancy = occupancy(of: stays)
        let patientIDs = Set(occupancy.values.compactMap(\.patient))
        let patients = try await session.read(keys: patientIDs.map { ResourceKey(type: "Patient", id: $0) })
        let patientRecords = Dictionary(patients.map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        let patientNames = Dictionary(patients.map { stored -> (String, String) in
            let name = stored.object["name"]?.arrayValue?.first?.objectValue
            let given = (name?["given"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")
            return (stored.id, [given, name?["family"]?.stringValue ?? ""].filter { !$0.isEmpty }.joined(separator: " ").nonEmpty ?? name?["text"]?.stringValue ?? stored.id)
        }, uniquingKeysWith: { a, _ in a })
        var beds: [BedStatus] = []
        for location in locations where location.object.code("physicalType", system: "http://terminology.hl7.org/CodeSystem/location-physical-type") == "bd" {
            let room = location.object.referenceID("partOf", type: "Location")
            var bed = BedStatus(bedID: location.id, name: names[location.id] ?? location.id, room: room.flatMap { names[$0] }, onLeave: false)
            if let occupant = occupancy[location.id] {
                bed.encounterID = occupant.encounter
                bed.patientID = occupant.patient
                bed.patientName = occupant.patient.flatMap { patientNames[$0] }
                bed.patient = occupant.patient.flatMap { patientRecords[$0] }
                bed.onLeave = occupant.onLeave
                bed.admitted = occupant.stay["period"]?.objectValue?["start"]?.stringValue
                bed.expectedDischarge = occupant.stay.extensionValue(AdministrationCodes.expectedDischarge)?.stringValue
                bed.responsible = occupant.stay["participant"]?.arrayValue?.first?.objectValue?.referenceID("individual", type: "PractitionerRole")
            }
            beds.append(bed)
        }
        beds.sort { $0.name.localizedStandardCompare($1.name) == .orderedAscending }
        let withBed = Set(occupancy.values.map(\.encounter))
        return (beds, stays.map(\.id).filter { !withBed.contains($0) })
    }
}
