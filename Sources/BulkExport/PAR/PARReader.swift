import Access
import FHIRCore
import Foundation
import StoreModel

/// Reads what a PAR delivery reports and turns it into rows by variable name, per file. Every patient read is one
/// audited disclosure ("par-export").
struct PARReader {
    let layout: PARLayout
    let session: PatientDataSession
    /// The Swedish days reported on.
    let window: Range<Int>

    /// One row: variable → value.
    typealias Row = [String: String]

    /// The care unit an encounter names, with what reporting needs of it.
    struct Unit {
        var name: String?
        var hospital: String?
    }

    func rows() async throws -> [String: [Row]] {
        let audit = RequestAudit()
        let reading = session.disclosing(action: "par-export", audit: audit)
        let units = try await self.units(reading)
        let doctors = Set(try await reading.everyMatch(SearchQuery(type: "Practitioner")).filter { practitioner in
            (practitioner.object["qualification"]?.arrayValue ?? []).contains { qualification in
                (qualification.objectValue?["code"]?.objectValue?["coding"]?.arrayValue ?? []).contains {
                    $0.objectValue?["system"]?.stringValue == layout.qualificationSystem && layout.doctorQualifications.contains($0.objectValue?["code"]?.stringValue ?? "")
                }
            }
        }.map(\.id))
        // Encounters overlapping the window; which of them are reported is decided on each one below.
        let overlapping = try SearchQuery.parse(type: "Encounter", parameters: [("date", "ge" + SwedishTime.dayStart(window.lowerBound)),
                                                                                ("date", "lt" + SwedishTime.dayStart(window.upperBound))], strict: true)
        var inpatient: [(StoredResource, Unit)] = [], outpatient: [(StoredResource, Unit, EDTimes?)] = []
        for encounter in try await reading.everyMatch(overlapping) {
            let object = encounter.object
            guard let unitID = object.referenceID("serviceProvider", type: "Organization"), let unit = units[unitID], unit.hospital != nil else { continue }
            let period = object["period"]?.objectValue
            switch object["class"]?.objectValue?["code"]?.stringValue {
            case "IMP":
                guard object["status"]?.stringValue == "finished", let end = day(period?["end"]), window.contains(end) else { continue }
                inpatient.append((encounter, unit))
            case "EMER":
                guard let start = day(period?["start"]), window.contains(start) else { continue }
                let times = EDTimes(object, layout: layout)
                // Only a doctor visit is reported: a patient who left before the doctor saw them is not one.
                guard times.doctor != nil else { continue }
                outpatient.append((encounter, unit, times))
            case "AMB", "VR":
                // A doctor met by video or telephone (distanskontakt, HSLF-FS 2023:33) is reported as a visit is.
                guard let start = day(period?["start"]), window.contains(start),
                      (object["participant"]?.arrayValue ?? []).contains(where: { $0.objectValue?.referenceID("individual", type: "Practitioner").map(doctors.contains) == true })
                else { continue }
                outpatient.append((encounter, unit, nil))
            default:
                continue
            }
        }
        let reported = inpatient.map(\.0) + outpatient.map(\.0)
        let patients = try await read("Patient", ids: Set(reported.compactMap { $0.object.referenceID("subject", type: "Patient") }), reading)
        let diagnoses = try await linked("Condition", to: reported, reading)
        let procedures = try await linked("Procedure", to: reported, reading)
        let administrations = try await linked("MedicationAdministration", to: reported, reading, by: "context")
        try await session.commitAudit(audit)

        var files: [String: [Row]] = [:]
        func add(_ prefix: String, _ encounters: [(StoredResource, Unit, EDTimes?)]) {
            let ordered = encounters.sorted { (start($0.0), $0.0.id) < (start($1.0), $1.0.id) }
            for (index, (encounter, unit, times)) in ordered.enumerated() {
                let number = String(index + 1), object = encounter.object
                let patient = object.referenceID("subject", type: "Patient").flatMap { patients[$0] }
                let codes = diagnosisCodes(object, diagnoses[encounter.id] ?? [])
                var row: Row = ["LOPNR": number, "PNR": patient.flatMap(Self.personnummer) ?? "", "KON": patient?["gender"]?.stringValue.flatMap { layout.sex[$0] } ?? "",
                                "SJUKHUS": unit.hospital ?? "", "MVO": PARLayout.byName(layout.mvoByUnitName, unit.name) ?? "", "HDIA": codes.first ?? ""]
                let period = object["period"]?.objectValue
                if let born = patient?["birthDate"].flatMap(day), let from = day(period?["start"]) { row["ALDER"] = String(Self.years(from: born, to: from)) }
                if prefix == "sv" {
                    let (admitted, discharged) = (day(period?["start"]), day(period?["end"]))
                    row["INDATUM"] = admitted.map(Self.compact) ?? ""
                    row["UTDATUM"] = discharged.map(Self.compact) ?? ""
                    if let admitted, let discharged { row["VTID"] = String(discharged - admitted) }
                    let hospitalization = object["hospitalization"]?.objectValue
                    row["INSATT"] = Self.code(hospitalization?["admitSource"]).flatMap { layout.admission[$0] } ?? ""
                    row["UTSATT"] = Self.code(hospitalization?["dischargeDisposition"]).flatMap { layout.discharge[$0] } ?? ""
                } else {
                    row["BESDATUM"] = day(period?["start"]).map(Self.compact) ?? ""
                    row["DISTANS"] = object["class"]?.objectValue?["code"]?.stringValue == "VR" ? "1" : ""
                    if let times {
                        row["AKUT"] = PARLayout.byName(layout.akutverksamhetByUnitName, unit.name) ?? ""
                        row["INTIDPUNKT"] = Self.stamp(times.arrival)
                        row["LAKTIDPUNKT"] = Self.stamp(times.doctor)
                        row["UTTIDPUNKT"] = Self.stamp(times.left)
                        row["AVBRUTEN"] = times.disposition == layout.abandonedDisposition ? "1" : ""
                    }
                }
                files[prefix, default: []].append(row)
                for (rank, code) in codes.enumerated() { files[prefix + "_dia", default: []].append(["LOPNR": number, "DIANR": String(rank + 1), "DIAGNOS": code]) }
                let done = (procedures[encounter.id] ?? []).sorted { $0.id < $1.id }
                for (rank, procedure) in done.enumerated() {
                    let when = day(procedure.object["performedDateTime"]) ?? day(procedure.object["performedPeriod"]?.objectValue?["start"])
                    files[prefix + "_op", default: []].append(["LOPNR": number, "OPNR": String(rank + 1), "OP": Self.code(procedure.object["code"]) ?? "",
                                                               "OPDATUM": when.map(Self.compact) ?? ""])
                }
                for (atc, given) in medications(administrations[encounter.id] ?? []) {
                    files[prefix + "_lt", default: []].append(["LOPNR": number, "ATC": atc, "DATUM": Self.compact(given)])
                }
            }
        }
        add("sv", inpatient.map { ($0.0, $0.1, nil) })
        add("ov", outpatient)
        return files
    }

    // MARK: Reading

    private func units(_ reading: PatientDataSession) async throws -> [String: Unit] {
        let organizations = Dictionary(try await reading.everyMatch(SearchQuery(type: "Organization")).map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        func hospital(_ id: String, depth: Int = 0) -> String? {
            guard depth < 10, let organization = organizations[id] else { return nil }
            for identifier in organization["identifier"]?.arrayValue ?? [] {
                if let code = identifier.objectValue?["value"]?.stringValue.flatMap({ layout.hospitals[$0] }) { return code }
            }
            return organization.referenceID("partOf", type: "Organization").flatMap { hospital($0, depth: depth + 1) }
        }
        return Dictionary(uniqueKeysWithValues: organizations.map { id, organization in (id, Unit(name: organization["name"]?.stringValue, hospital: hospital(id))) })
    }

    private func read(_ type: String, ids: Set<String>, _ reading: PatientDataSession) async throws -> [String: JSONObject] {
        var found: [String: JSONObject] = [:]
        let sorted = ids.sorted()
        for start in stride(from: 0, to: sorted.count, by: 100) {
            let keys = sorted[start..<min(start + 100, sorted.count)].map { ResourceKey(type: type, id: $0) }
            for stored in try await reading.read(keys: keys) where !stored.isDeleted { found[stored.id] = stored.object }
        }
        return found
    }

    /// The records of `type` that name one of the encounters (`encounter=`, or the element `by` names), a hundred
    /// encounters a search.
    private func linked(_ type: String, to encounters: [StoredResource], _ reading: PatientDataSession, by element: String = "encounter") async throws -> [String: [StoredResource]] {
        var found: [String: [StoredResource]] = [:]
        let ids = encounters.map(\.id).sorted()
        for start in stride(from: 0, to: ids.count, by: 100) {
            let chunk = ids[start..<min(start + 100, ids.count)].map { "Encounter/\($0)" }.joined(separator: ",")
            for stored in try await reading.everyMatch(try SearchQuery.parse(type: type, parameters: [(element, chunk)], strict: true)) {
                if let encounter = stored.object.referenceID(element, type: "Encounter") { found[encounter, default: []].append(stored) }
            }
        }
        return found
    }

    // MARK: Values

    /// The encounter's ICD-10-SE diagnoses: its `diagnosis` by rank, else the diagnoses recorded at it (by id), else its reason.
    private func diagnosisCodes(_ encounter: JSONObject, _ conditions: [StoredResource]) -> [String] {
        let icd = "urn:oid:1.2.752.116.1.1.1.1.3"
        func icdCode(_ concept: JSONValue?) -> String? {
            (concept?.objectValue?["coding"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["system"]?.stringValue == icd }?["code"]?.stringValue
        }
        var codes: [String] = []
        for condition in conditions.sorted(by: { $0.id < $1.id }) {
            if let code = icdCode(condition.object["code"]), !codes.contains(code) { codes.append(code) }
        }
        if codes.isEmpty { codes = (encounter["reasonCode"]?.arrayValue ?? []).compactMap(icdCode) }
        return codes
    }

    /// The läkemedelstillförsel of a contact: each ATC code the layout reports, once per Swedish day it was given. A dose
    /// not given (`not-done`) or recorded in error is not one; the register asks what was given when, not how often.
    private func medications(_ administrations: [StoredResource]) -> [(atc: String, day: Int)] {
        var given: Set<String> = []
        var rows: [(atc: String, day: Int)] = []
        for administration in administrations where administration.object["status"]?.stringValue == "completed" {
            let object = administration.object
            guard let atc = (object["medicationCodeableConcept"]?.objectValue?["coding"]?.arrayValue ?? []).compactMap(\.objectValue)
                    .first(where: { $0["system"]?.stringValue == layout.medication.atcSystem })?["code"]?.stringValue,
                  layout.medication.reports(atc: atc),
                  let when = day(object["effectiveDateTime"]) ?? day(object["effectivePeriod"]?.objectValue?["start"]),
                  given.insert("\(atc) \(when)").inserted else { continue }
            rows.append((atc, when))
        }
        return rows.sorted { ($0.day, $0.atc) < ($1.day, $1.atc) }
    }

    private func day(_ value: JSONValue?) -> Int? {
        guard let text = value?.stringValue else { return nil }
        if text.count == 10 { return SwedishTime.parseDay(text) }
        return Instant.parse(text).map(SwedishTime.day(of:))
    }

    private func start(_ encounter: StoredResource) -> String { encounter.object["period"]?.objectValue?["start"]?.stringValue ?? "" }

    static func compact(_ day: Int) -> String { SwedishTime.formatDay(day).replacingOccurrences(of: "-", with: "") }

    /// `YYYYMMDDhhmm` in Swedish time.
    static func stamp(_ instant: Int64?) -> String {
        guard let instant else { return "" }
        let local = Instant.format(milliseconds: instant + Int64(SwedishTime.offsetMinutes(at: instant)) * 60_000)
        return String(local.prefix(16)).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "T", with: "").replacingOccurrences(of: ":", with: "")
    }

    static func years(from born: Int, to day: Int) -> Int {
        let (b, d) = (CivilCalendar.date(fromDaysSince1970: born), CivilCalendar.date(fromDaysSince1970: day))
        return d.year - b.year - ((d.month, d.day) < (b.month, b.day) ? 1 : 0)
    }

    static func code(_ concept: JSONValue?) -> String? {
        concept?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue
    }

    /// The personnummer or samordningsnummer as twelve digits (stored with or without its hyphen); a reservnummer is
    /// not reported as one.
    static func personnummer(_ patient: JSONObject) -> String? {
        (patient["identifier"]?.arrayValue ?? []).compactMap(\.objectValue).first {
            [SwedishPersonalIdentity.personnummerSystem, SwedishPersonalIdentity.samordningsnummerSystem].contains($0["system"]?.stringValue ?? "")
        }?["value"]?.stringValue.map { $0.filter(\.isNumber) }
    }
}

/// The emergency department's times, from the visit's statusHistory steps (the care-flow module's data, read as FHIR).
struct EDTimes {
    var arrival: Int64?
    var doctor: Int64?
    var left: Int64?
    var disposition: String?

    /// The step extension and its codes as the emergency module records them (https://karna.se/fhir/StructureDefinition/akut-steg).
    static let stepExtension = "https://karna.se/fhir/StructureDefinition/akut-steg"

    init(_ encounter: JSONObject, layout: PARLayout) {
        var times: [String: Int64] = [:]
        for entry in encounter["statusHistory"]?.arrayValue ?? [] {
            guard let entry = entry.objectValue, let step = entry.extensionValue(Self.stepExtension)?.stringValue, times[step] == nil,
                  let start = entry["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse) else { continue }
            times[step] = start
        }
        arrival = times["ankomst"] ?? encounter["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse)
        doctor = times["lakare"]
        left = times["utskriven"]
        disposition = PARReader.code(encounter["hospitalization"]?.objectValue?["dischargeDisposition"])
    }
}
