public import Access
public import FHIRCore
import Foundation
public import StoreModel

/// Förlossning: admission to the delivery ward linked to the pregnancy, the partogram (examinations and the
/// mother's vital signs against time, with the alert and action lines; a point right of the action line raises a
/// Flag), the birth with the newborn registered on a reservnummer and linked to the mother, and the signings that
/// close the record.
public struct Delivery: Sendable {
    public let check: PartogramCheck
    public let antenatal: AntenatalCare
    let clock: @Sendable () -> Int64

    public init(lines: PartogramLines, antenatal: AntenatalCare, clock: @escaping @Sendable () -> Int64 = { Instant.now() }) {
        check = PartogramCheck(lines: lines)
        self.antenatal = antenatal
        self.clock = clock
    }

    static let deliveryType = "forlossning"
    static let newbornType = "nyfodd"
    static let actionFlag = "partogram-aktionslinje"

    /// Admits the woman to the delivery ward (the caller's unit unless named): an inpatient Encounter, which is the
    /// ward's care relationship; then her ongoing pregnancy, now readable there, is linked to it. A woman who comes in
    /// labour with no pregnancy registered is admitted all the same (the page says so).
    public func admit(patientID: String, unitID: String?, session: PatientDataSession) async throws -> StoredResource {
        let unit = try session.actingUnit(unitID)
        let records = Records(session: session)
        _ = try await records.require("Organization", unit, role: "unit")
        _ = try await records.require("Patient", patientID, role: "patient")
        let open = try await records.search("Encounter", [("subject", "Patient/\(patientID)"), ("service-provider", "Organization/\(unit)"),
                                                          ("type", "\(MaternityCodes.visitType)|\(Self.deliveryType)"), ("status", "in-progress")], limit: 1)
        if !open.isEmpty { throw refused("the patient already has an ongoing delivery admission here", text: "Kvinnan är redan inskriven på förlossningen.") }
        let id = UUID().uuidString.lowercased(), now = clock()
        var encounter = JSONObject([
            ("resourceType", .string("Encounter")), ("id", .string(id)), ("status", .string("in-progress")),
            ("class", FHIR.coding(MaternityCodes.actCode, "IMP", "inpatient encounter")),
            ("type", .array([FHIR.concept(MaternityCodes.visitType, Self.deliveryType, "Förlossning")])),
            ("subject", FHIR.reference("Patient", patientID)),
            ("period", FHIR.object([("start", .string(SwedishTime.format(now)))])),
            ("serviceProvider", FHIR.reference("Organization", unit)),
        ])
        if let role = session.principal.assignment?.id { encounter["participant"] = .array([FHIR.object([("individual", FHIR.reference("PractitionerRole", role))])]) }
        _ = try await session.commit(.create(encounter, type: "Encounter", id: id))
        if let pregnancy = try await antenatal.current(patientID: patientID, session: session), pregnancy.delivered == nil {
            encounter["episodeOfCare"] = .array([FHIR.reference("EpisodeOfCare", pregnancy.id)])
            let written = try await records.require("Encounter", id)
            _ = try await session.commit(.update(encounter, type: "Encounter", id: id, ifMatch: written.versionId))
        }
        return try await records.require("Encounter", id)
    }

    func admission(_ encounterID: String, session: PatientDataSession) async throws -> (encounter: StoredResource, pregnancy: Pregnancy) {
        let stored = try await Records(session: session).require("Encounter", encounterID, role: "encounter")
        guard stored.object.code("type", system: MaternityCodes.visitType) == Self.deliveryType else {
            throw refused("Encounter/\(encounterID) is not a delivery admission", expression: ["Encounter.type"])
        }
        guard let episode = stored.object["episodeOfCare"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue.flatMap(ResourceKey.init(reference:)) else {
            throw refused("Encounter/\(encounterID) is linked to no registered pregnancy: register the pregnancy first", expression: ["Encounter.episodeOfCare"],
                          text: "Ingen inskriven graviditet är kopplad till förlossningen. Skriv in graviditeten först.")
        }
        return (stored, try await antenatal.pregnancy(episode.id, session: session))
    }

    // MARK: The partogram

    /// What the partogram shows: each part's values over time, the lines, each examination's position, the flag.
    public struct Chart: Sendable {
        public var encounter: StoredResource
        public var pregnancy: Pregnancy
        public var start: Int64
        /// Per part code, (time, value) oldest first.
        public var series: [String: [(time: Int64, value: Double)]]
        public var positions: [(examination: PartogramCheck.Examination, position: PartogramCheck.Position)]
        public var activeStart: PartogramCheck.Examination?
        public var flag: StoredResource?
    }

    /// Records one set of partogram values at a time (now unless given; not in the future, not before admission);
    /// raises the action-line Flag the first time an examination lies right of the action line.
    public func record(encounterID: String, values: [String: Double], at time: Int64?, session: PatientDataSession) async throws -> Chart {
        let (encounter, pregnancy) = try await admission(encounterID, session: session)
        guard encounter.object["status"]?.stringValue == "in-progress" else {
            throw refused("Encounter/\(encounterID) is \(encounter.object["status"]?.stringValue ?? "")", text: "Förlossningen är avslutad.")
        }
        guard !values.isEmpty else { throw FHIRError(.invalid, code: .required, "record at least one value", text: "Fyll i minst ett värde.") }
        let now = clock(), when = time ?? now
        let admitted = encounter.object["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse) ?? now
        guard when <= now + 60_000, when >= admitted - 60_000 else {
            throw FHIRError(.invalid, code: .value, "time must be between the admission and now", expression: ["time"], text: "Tiden ska vara mellan inskrivningen och nu.")
        }
        let role = session.principal.assignment?.id
        var operations: [WriteOperation] = []
        for code in values.keys.sorted() {
            guard let part = check.lines.part(code), let value = values[code] else {
                throw FHIRError(.invalid, code: .value, "'\(code)' is not a partogram part (\(check.lines.parts.map(\.code).joined(separator: ", ")))", expression: [code])
            }
            guard (part.minimum...part.maximum).contains(value) else {
                throw FHIRError(.invalid, code: .value, "\(code) must be \(part.minimum.fhirText)–\(part.maximum.fhirText) \(part.unit); got \(value.fhirText)", expression: [code],
                                text: "\(part.display) ska vara \(part.minimum.swedish)–\(part.maximum.swedish) \(part.unit).")
            }
            let id = UUID().uuidString.lowercased()
            let observation = Recording.observation(id: id, code: "partogram-" + code, display: part.display, loinc: part.loinc,
                                                    category: FHIR.concept(MaternityCodes.maternity, "partogram", "Partogram"), patientID: pregnancy.patientID,
                                                    encounterID: encounterID, time: when, performer: role,
                                                    value: ("valueQuantity", FHIR.object([("value", .number(value.fhirText)), ("unit", .string(part.unit))])))
            operations.append(.create(observation, type: "Observation", id: id))
        }
        _ = try await session.commit(operations)
        var chart = try await self.chart(encounterID: encounterID, session: session)
        if chart.flag == nil, chart.positions.contains(where: { $0.position == .rightOfAction }) {
            let id = UUID().uuidString.lowercased()
            var flag = JSONObject([
                ("resourceType", .string("Flag")), ("id", .string(id)), ("status", .string("active")),
                ("category", .array([FHIR.concept("http://terminology.hl7.org/CodeSystem/flag-category", "clinical", "Clinical")])),
                ("code", FHIR.concept(MaternityCodes.maternity, Self.actionFlag, "Partogrammet: öppningen ligger till höger om aktionslinjen", text: "Till höger om aktionslinjen – bedöm förloppet")),
                ("subject", FHIR.reference("Patient", pregnancy.patientID)), ("encounter", FHIR.reference("Encounter", encounterID)),
                ("period", FHIR.object([("start", .string(SwedishTime.format(now)))])),
            ])
            if let role { flag["author"] = FHIR.reference("PractitionerRole", role) }
            _ = try await session.commit(.create(flag, type: "Flag", id: id))
            chart.flag = try await Records(session: session).optional("Flag", id)
        }
        return chart
    }

    /// The partogram of a delivery admission.
    public func chart(encounterID: String, session: PatientDataSession) async throws -> Chart {
        let (encounter, pregnancy) = try await admission(encounterID, session: session)
        let records = Records(session: session)
        let found = try await records.all("Observation", [("encounter", "Encounter/\(encounterID)"), ("category", "\(MaternityCodes.maternity)|partogram"),
                                                          ("_sort", "date")], maximum: 2_000)
        let start = encounter.object["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse) ?? clock()
        var series: [String: [(time: Int64, value: Double)]] = [:]
        for stored in found {
            guard let code = stored.object.code("code", system: MaternityCodes.maternity)?.replacingOccurrences(of: "partogram-", with: ""),
                  let time = stored.object["effectiveDateTime"]?.stringValue.flatMap(Instant.parse),
                  let value = stored.object["valueQuantity"]?.objectValue?["value"]?.numberText.flatMap(Double.init) else { continue }
            series[code, default: []].append((time, value))
        }
        for code in series.keys { series[code]?.sort { $0.time < $1.time } }
        let examinations = (series["cervix"] ?? []).map { PartogramCheck.Examination(minutes: Double($0.time - start) / 60_000, centimetres: $0.value) }
        let flag = try await records.search("Flag", [("encounter", "Encounter/\(encounterID)")], limit: 10)
            .first { $0.object["status"]?.stringValue == "active" && $0.object.code("code", system: MaternityCodes.maternity) == Self.actionFlag }
        return Chart(encounter: encounter, pregnancy: pregnancy, start: start, series: series, positions: check.positions(examinations),
                     activeStart: check.start(examinations), flag: flag)
    }

    // MARK: The birth

    /// What is recorded of a child at birth.
    public struct Birth: Sendable {
        public var bornAt: Int64?
        public var gender: String
        public var weightGrams: Double
        public var lengthCm: Double
        public var headCm: Double
        public var apgar1: Int
        public var apgar5: Int
        public var apgar10: Int?
        public var mode: String

        public init(bornAt: Int64? = nil, gender: String, weightGrams: Double, lengthCm: Double, headCm: Double, apgar1: Int, apgar5: Int, apgar10: Int? = nil, mode: String) {
            self.bornAt = bornAt
            self.gender = gender
            self.weightGrams = weightGrams
            self.lengthCm = lengthCm
            self.headCm = headCm
            self.apgar1 = apgar1
            self.apgar5 = apgar5
            self.apgar10 = apgar10
            self.mode = mode
        }
    }

    /// Registers the birth: the newborn as a patient on a reservnummer (until the personnummer is given) linked to the
    /// mother (an extension and a RelatedPerson), in care at the delivery unit; Apgar, weight, length and head
    /// circumference on the child; the mode of delivery on the mother; the pregnancy marked delivered with the child.
    /// One write: nothing is half-registered.
    public func registerBirth(encounterID: String, _ birth: Birth, session: PatientDataSession) async throws -> (child: StoredResource, pregnancy: Pregnancy) {
        let (encounter, pregnancy) = try await admission(encounterID, session: session)
        guard encounter.object["status"]?.stringValue == "in-progress" else { throw refused("Encounter/\(encounterID) is not in progress", text: "Förlossningen är avslutad.") }
        let now = clock(), bornAt = birth.bornAt ?? now
        let admitted = encounter.object["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse) ?? now
        guard bornAt <= now + 60_000, bornAt >= admitted - 12 * 3_600_000 else {
            throw FHIRError(.invalid, code: .value, "bornAt must be between the admission and now", expression: ["bornAt"], text: "Födelsetiden ska vara mellan inskrivningen och nu.")
        }
        guard let mode = MaternityCodes.deliveryModes.first(where: { $0.code == birth.mode }) else {
            throw FHIRError(.invalid, code: .value, "mode must be one of \(MaternityCodes.deliveryModes.map(\.code).joined(separator: ", ")); got '\(birth.mode)'",
                            expression: ["mode"], text: "Välj förlossningssätt.")
        }
        for (name, label, value, range) in [("weight", "Vikt (g)", birth.weightGrams, 200.0...7_500), ("length", "Längd (cm)", birth.lengthCm, 20...65),
                                            ("head", "Huvudomfång (cm)", birth.headCm, 15...50), ("apgar1", "Apgar 1 min", Double(birth.apgar1), 0...10),
                                            ("apgar5", "Apgar 5 min", Double(birth.apgar5), 0...10), ("apgar10", "Apgar 10 min", Double(birth.apgar10 ?? 0), 0...10)]
        where !range.contains(value) {
            throw FHIRError(.invalid, code: .value, "\(name) must be \(range.lowerBound.fhirText)–\(range.upperBound.fhirText); got \(value.fhirText)", expression: [name],
                            text: "\(label) ska vara \(range.lowerBound.swedish)–\(range.upperBound.swedish).")
        }
        let records = Records(session: session)
        let mother = try await records.require("Patient", pregnancy.patientID)
        var (childID, child) = try await UnidentifiedPatient.record(gender: birth.gender, estimatedBirthYear: nil, note: nil, session: session)
        child["birthDate"] = .string(SwedishTime.formatDay(SwedishTime.day(of: bornAt)))
        child.setExtension("http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime", .string(SwedishTime.format(bornAt)))
        child["name"] = .array([FHIR.object([("use", .string("temp")), ("text", .string("Barn till \(Display.name(mother.object))"))])])
        child.setExtension(MaternityCodes.mother, "valueReference", FHIR.reference("Patient", pregnancy.patientID, display: Display.name(mother.object)))
        child["multipleBirthBoolean"] = .bool(false)
        let unit = encounter.object.referenceID("serviceProvider", type: "Organization") ?? pregnancy.unitID
        let relatedID = UUID().uuidString.lowercased(), childEncounterID = UUID().uuidString.lowercased()
        var related = JSONObject([
            ("resourceType", .string("RelatedPerson")), ("id", .string(relatedID)), ("active", .bool(true)),
            ("patient", FHIR.reference("Patient", childID)),
            ("relationship", .array([FHIR.concept(MaternityCodes.roleCode, "MTH", "mother")])),
            ("name", mother.object["name"] ?? .array([])),
        ])
        if let identifier = mother.object["identifier"] { related["identifier"] = identifier }
        var childEncounter = JSONObject([
            ("resourceType", .string("Encounter")), ("id", .string(childEncounterID)), ("status", .string("in-progress")),
            ("class", FHIR.coding(MaternityCodes.actCode, "IMP", "inpatient encounter")),
            ("type", .array([FHIR.concept(MaternityCodes.visitType, Self.newbornType, "Nyfödd")])),
            ("subject", FHIR.reference("Patient", childID)), ("partOf", FHIR.reference("Encounter", encounterID)),
            ("period", FHIR.object([("start", .string(SwedishTime.format(bornAt)))])),
            ("serviceProvider", FHIR.reference("Organization", unit)),
        ])
        session.tagForUnit(&childEncounter, unit: unit)
        var operations: [WriteOperation] = [.create(child, type: "Patient", id: childID), .create(childEncounter, type: "Encounter", id: childEncounterID),
                                            .create(related, type: "RelatedPerson", id: relatedID)]
        let role = session.principal.assignment?.id
        func observation(_ subject: String, encounter: String, code: String, display: String, loinc: String?, value: (String, JSONValue)) {
            let id = UUID().uuidString.lowercased()
            operations.append(.create(Recording.observation(id: id, code: code, display: display, loinc: loinc,
                                                            category: FHIR.concept(MaternityCodes.maternity, "forlossning", "Förlossning"), patientID: subject,
                                                            encounterID: encounter, time: bornAt, performer: role, value: value), type: "Observation", id: id))
        }
        let quantity = Recording.quantity
        observation(childID, encounter: childEncounterID, code: "fodelsevikt", display: "Födelsevikt", loinc: "8339-4", value: ("valueQuantity", quantity(birth.weightGrams, "g")))
        observation(childID, encounter: childEncounterID, code: "fodelselangd", display: "Längd vid födseln", loinc: "89269-5", value: ("valueQuantity", quantity(birth.lengthCm, "cm")))
        observation(childID, encounter: childEncounterID, code: "huvudomfang", display: "Huvudomfång", loinc: "9843-4", value: ("valueQuantity", quantity(birth.headCm, "cm")))
        observation(childID, encounter: childEncounterID, code: "apgar-1", display: "Apgar 1 minut", loinc: "9272-6", value: ("valueInteger", .number(String(birth.apgar1))))
        observation(childID, encounter: childEncounterID, code: "apgar-5", display: "Apgar 5 minuter", loinc: "9274-2", value: ("valueInteger", .number(String(birth.apgar5))))
        if let apgar10 = birth.apgar10 {
            observation(childID, encounter: childEncounterID, code: "apgar-10", display: "Apgar 10 minuter", loinc: "9271-8", value: ("valueInteger", .number(String(apgar10))))
        }
        observation(pregnancy.patientID, encounter: encounterID, code: "forlossningssatt", display: "Förlossningssätt", loinc: nil,
                    value: ("valueCodeableConcept", FHIR.concept(MaternityCodes.maternity, mode.code, mode.display)))
        var delivery = encounter.object.forUpdate
        if delivery.extensionValue(MaternityCodes.delivered) == nil { delivery.setExtension(MaternityCodes.delivered, "valueDateTime", .string(SwedishTime.format(bornAt))) }
        delivery.setExtension(MaternityCodes.deliveryMode, "valueCodeableConcept", FHIR.concept(MaternityCodes.maternity, mode.code, mode.display))
        delivery.append("extension", FHIR.object([("url", .string(MaternityCodes.child)), ("valueReference", FHIR.reference("Patient", childID))]))
        operations.append(.update(delivery, type: "Encounter", id: encounterID, ifMatch: encounter.versionId))
        _ = try await session.commit(operations)
        return (try await records.require("Patient", childID), try await antenatal.pregnancy(pregnancy.id, session: session))
    }

    /// A child's mother, from the link written at birth.
    public static func motherID(_ child: JSONObject) -> String? {
        child.extensionValue(MaternityCodes.mother)?.objectValue?["reference"]?.stringValue.flatMap(ResourceKey.init(reference:))?.id
    }

    // MARK: Signing

    /// The delivery record's signings the registers wait for: slutsignering (after the birth), then arkivsignering, which closes the stay.
    public enum Signing: String, Sendable { case final = "slut", archive = "arkiv" }

    public func sign(pregnancyID: String, _ signing: Signing, session: PatientDataSession) async throws -> Pregnancy {
        let pregnancy = try await antenatal.pregnancy(pregnancyID, session: session)
        guard pregnancy.delivered != nil, let deliveryID = pregnancy.deliveryID else {
            throw refused("the pregnancy has no registered delivery", text: "Förlossningen är inte registrerad.")
        }
        let stored = try await Records(session: session).require("Encounter", deliveryID)
        var encounter = stored.object.forUpdate
        let now = clock(), text = SwedishTime.format(now)
        switch signing {
        case .final:
            guard pregnancy.finalSigned == nil else { throw refused("the record is already final-signed", text: "Journalen är redan slutsignerad.") }
            encounter.setExtension(MaternityCodes.finalSigned, "valueDateTime", .string(text))
        case .archive:
            guard pregnancy.finalSigned != nil else { throw refused("final-sign the record before the archive signing", text: "Slutsignera först.") }
            guard pregnancy.archiveSigned == nil else { throw refused("the record is already archive-signed", text: "Journalen är redan arkivsignerad.") }
            encounter.setExtension(MaternityCodes.archiveSigned, "valueDateTime", .string(text))
            // The delivery record is closed: the stay ends if it has not.
            if encounter["status"]?.stringValue == "in-progress" {
                encounter["status"] = .string("finished")
                var period = encounter["period"]?.objectValue ?? JSONObject()
                period["end"] = .string(text)
                encounter["period"] = .object(period)
            }
        }
        _ = try await session.commit(.update(encounter, type: "Encounter", id: deliveryID, ifMatch: stored.versionId))
        return try await antenatal.pregnancy(pregnancyID, session: session)
    }
}
