public import Access
public import FHIRCore
import Foundation
import StoreModel

/// The facts Kärna gathers from a stored pregnancy for the registers, by name: the register mapping (data) says
/// which fact fills which variable, so a changed variable list needs no new code.
public enum RegisterFacts {
    /// The fixed facts; `item.<code>.first` and `item.<code>.last` read any programme item.
    public static let names: Set<String> = [
        "mother.identifier", "pregnancy.registered", "pregnancy.registeredWeek", "pregnancy.unit", "pregnancy.lmp", "pregnancy.edd", "pregnancy.eddMethod",
        "pregnancy.gravidity", "pregnancy.parity", "visits.count", "risk.factors", "carePlan.individual",
        "delivery.date", "delivery.time", "delivery.gestationalAge", "delivery.mode", "delivery.unit", "delivery.actionLineCrossed",
        "child.identifier", "child.gender", "child.weight", "child.length", "child.head", "child.apgar1", "child.apgar5", "child.apgar10",
        "signing.final", "signing.archive", "transfer.stage",
    ]

    public static func isItemFact(_ name: String) -> Bool {
        let parts = name.split(separator: ".")
        return parts.count == 3 && parts[0] == "item" && (parts[2] == "first" || parts[2] == "last")
    }

    /// The facts of one pregnancy, read through the caller's session (so only what the caller may read); with `asOf`,
    /// only what was recorded by then, so a register extract of a past day is the same when it is made again later.
    public static func gather(_ pregnancy: Pregnancy, maternity: Maternity, asOf: Int64? = nil, session: PatientDataSession) async throws -> [String: String] {
        let cutoff = asOf ?? .max
        let records = Records(session: session)
        var facts: [String: String] = [:]
        let mother = try await records.require("Patient", pregnancy.patientID)
        facts["mother.identifier"] = identifier(mother.object)
        facts["pregnancy.registered"] = SwedishTime.formatDay(pregnancy.registered)
        facts["pregnancy.registeredWeek"] = String(pregnancy.gestationalDays(on: pregnancy.registered) / 7)
        facts["pregnancy.unit"] = pregnancy.unitID
        facts["pregnancy.lmp"] = pregnancy.lastMenstrualPeriod.map(SwedishTime.formatDay) ?? ""
        facts["pregnancy.edd"] = SwedishTime.formatDay(pregnancy.dueDate)
        facts["pregnancy.eddMethod"] = pregnancy.dueDateMethod
        facts["pregnancy.gravidity"] = String(pregnancy.gravidity)
        facts["pregnancy.parity"] = String(pregnancy.parity)
        let read = try await RecordedValues.read(pregnancy: pregnancy, session: session)
        let values = RecordedValues(read.values.filter { $0.time <= cutoff }.map(\.observation))
        for item in Set(values.values.map(\.item)) {
            facts["item.\(item).first"] = values.first(item).map(registerText)
            facts["item.\(item).last"] = values.latest(item).map(registerText)
        }
        // Visits made: the care contacts the recorded values belong to.
        facts["visits.count"] = String(Set(values.values.compactMap { $0.observation.referenceID("encounter", type: "Encounter") }).count)
        if let risk = try await maternity.antenatal.latestRisk(pregnancy, session: session),
           (risk.object["occurrenceDateTime"]?.stringValue.flatMap(Instant.parse) ?? 0) <= cutoff {
            facts["risk.factors"] = (risk.object["prediction"]?.arrayValue ?? []).compactMap {
                $0.objectValue.flatMap { $0.code("outcome", system: MaternityCodes.maternity) }
            }.joined(separator: ",")
        }
        let individual = try await maternity.antenatal.individualPlan(pregnancy, session: session)
        let opened = individual?.object["created"]?.stringValue.flatMap(Instant.parse)
        facts["carePlan.individual"] = opened.map { $0 <= cutoff } == true ? "ja" : "nej"
        if let delivered = pregnancy.delivered, delivered <= cutoff {
            let text = SwedishTime.format(delivered)
            facts["delivery.date"] = String(text.prefix(10))
            facts["delivery.time"] = String(text.dropFirst(11).prefix(5))
            facts["delivery.gestationalAge"] = String(pregnancy.gestationalAge(on: SwedishTime.day(of: delivered)).dropFirst(2))
            facts["delivery.mode"] = pregnancy.deliveryMode ?? ""
            if let deliveryID = pregnancy.deliveryID, let admission = try await records.optional("Encounter", deliveryID) {
                facts["delivery.unit"] = admission.object.referenceID("serviceProvider", type: "Organization") ?? ""
                // The Flag is raised the first time an examination lies right of the action line, so it alone answers.
                let flags = try await records.search("Flag", [("encounter", "Encounter/\(admission.id)")], limit: 10)
                facts["delivery.actionLineCrossed"] = flags.contains { $0.object.code("code", system: MaternityCodes.maternity) == Delivery.actionFlag } ? "ja" : "nej"
            }
        }
        if pregnancy.delivered ?? .max <= cutoff, let childID = pregnancy.childIDs.first, let child = try await records.optional("Patient", childID) {
            facts["child.identifier"] = identifier(child.object)
            facts["child.gender"] = child.object["gender"]?.stringValue ?? ""
            let found = try await records.search("Observation", [("subject", "Patient/\(childID)"), ("category", "\(MaternityCodes.maternity)|forlossning")], limit: 20)
            for (code, fact) in [("fodelsevikt", "child.weight"), ("fodelselangd", "child.length"), ("huvudomfang", "child.head"),
                                 ("apgar-1", "child.apgar1"), ("apgar-5", "child.apgar5"), ("apgar-10", "child.apgar10")] {
                guard let observation = found.first(where: { $0.object.code("code", system: MaternityCodes.maternity) == code })?.object else { continue }
                facts[fact] = observation["valueQuantity"]?.objectValue?["value"]?.numberText ?? observation["valueInteger"]?.numberText ?? ""
            }
        }
        facts["signing.final"] = pregnancy.finalSigned.flatMap { $0 <= cutoff ? String(SwedishTime.format($0).prefix(10)) : nil } ?? ""
        facts["signing.archive"] = pregnancy.archiveSigned.flatMap { $0 <= cutoff ? String(SwedishTime.format($0).prefix(10)) : nil } ?? ""
        return facts
    }

    /// The patient's identifier as registers take it: the twelve digits, without a hyphen.
    static func identifier(_ patient: JSONObject) -> String {
        patient["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue?.replacingOccurrences(of: "-", with: "") ?? ""
    }

    /// A value as a register reads it: a plain number with a decimal point, or the text.
    static func registerText(_ value: RecordedValues.Value) -> String {
        if let second = value.second, let first = value.number { return "\(first.fhirText)/\(second.fhirText)" }
        return value.number?.fhirText ?? value.text
    }
}

/// The register reports: the Medicinska födelseregistret journal sheets and the Graviditetsregistret daily extract.
public struct MaternityRegisters: Sendable {
    public let mapping: RegisterMapping

    public init(mapping: RegisterMapping) { self.mapping = mapping }

    /// One produced sheet: its variables with their values from the stored data.
    public struct Sheet: Sendable {
        public var code: String
        public var display: String
        /// Each variable's name, its value as the register reads it, and the fact it came from.
        public var lines: [(name: String, value: String, fact: String)]
    }

    /// The four MFR sheets for a pregnancy, from stored data only; and the day by which they are due (a month after the birth).
    public func sheets(pregnancyID: String, maternity: Maternity, session: PatientDataSession) async throws -> (sheets: [Sheet], due: Int?) {
        let pregnancy = try await maternity.antenatal.pregnancy(pregnancyID, session: session)
        let facts = try await RegisterFacts.gather(pregnancy, maternity: maternity, session: session)
        let sheets = mapping.sheets.map { sheet in
            Sheet(code: sheet.code, display: sheet.display, lines: sheet.variables.map { ($0.name, facts[$0.fact] ?? "", $0.fact) })
        }
        return (sheets, pregnancy.delivered.map { SwedishTime.day(of: $0) + mapping.mfrDueDays })
    }

    /// The stage a pregnancy reached on a day, for the Graviditetsregistret: the first transfer at the registered
    /// delivery, again at the final signing, the last at the archive signing.
    static func stages(_ pregnancy: Pregnancy, on day: Int) -> [String] {
        var stages: [String] = []
        if let delivered = pregnancy.delivered, SwedishTime.day(of: delivered) == day { stages.append("forlossning") }
        if let signed = pregnancy.finalSigned, SwedishTime.day(of: signed) == day { stages.append("slutsignering") }
        if let signed = pregnancy.archiveSigned, SwedishTime.day(of: signed) == day { stages.append("arkivsignering") }
        return stages
    }

    /// The Graviditetsregistret extract for one day: a header and one line per pregnancy and stage reached that day,
    /// sorted, so that the same stored data always gives the same bytes (a rerun of a day is byte-identical).
    public func graviditetsregistret(day: Int, maternity: Maternity, session: PatientDataSession) async throws -> (fileName: String, text: String, lines: Int) {
        let extract = mapping.graviditetsregistret
        // The candidates: delivery stays that overlap the Swedish day (ge its first instant and lt the next day's, as
        // FHIR's prefixes on a period read) (a birth or a signing during the stay), and those changed
        // since the day began (a signing after the stay ended). Each is judged by its stamps, so extra candidates are harmless.
        let records = Records(session: session), type = "\(MaternityCodes.visitType)|\(Delivery.deliveryType)"
        let during = try await records.all("Encounter", [("type", type), ("date", "ge" + SwedishTime.dayStart(day)), ("date", "lt" + SwedishTime.dayStart(day + 1))],
                                           maximum: 100_000)
        let since = try await records.all("Encounter", [("type", type), ("_lastUpdated", "ge" + Instant.format(milliseconds: SwedishTime.instant(day: day, minuteOfDay: 0)))],
                                          maximum: 100_000)
        var seen: Set<String> = []
        var rows: [(key: String, line: String)] = []
        for stored in during + since where seen.insert(stored.id).inserted {
            guard let pregnancyID = Pregnancy.linked(stored.object) else { continue }
            let pregnancy = try await maternity.antenatal.pregnancy(pregnancyID, session: session)
            let stages = Self.stages(pregnancy, on: day)
            guard !stages.isEmpty else { continue }
            var facts = try await RegisterFacts.gather(pregnancy, maternity: maternity, asOf: SwedishTime.instant(day: day + 1, minuteOfDay: 0) - 1, session: session)
            for stage in stages {
                facts["transfer.stage"] = stage
                let line = extract.variables.map { Self.field(facts[$0.fact] ?? "", separator: extract.separator) }.joined(separator: extract.separator)
                rows.append(("\(["forlossning", "slutsignering", "arkivsignering"].firstIndex(of: stage) ?? 9)|\(facts["mother.identifier"] ?? "")|\(pregnancy.id)", line))
            }
        }
        let header = extract.variables.map(\.name).joined(separator: extract.separator)
        let body = rows.sorted { $0.key < $1.key }.map(\.line)
        let text = ([header] + body).joined(separator: "\r\n") + "\r\n"
        return (extract.fileName.replacingOccurrences(of: "{date}", with: SwedishTime.formatDay(day).replacingOccurrences(of: "-", with: "")), text, body.count)
    }

    /// A field without the separator or line breaks in it (free text could otherwise break the file's lines).
    static func field(_ value: String, separator: String) -> String {
        value.replacingOccurrences(of: separator, with: ",").replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }
}
