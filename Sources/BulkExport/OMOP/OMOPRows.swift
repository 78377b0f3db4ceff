import Access
import FHIRCore
import Foundation
import StoreModel

/// FHIR records → CDM rows, one patient at a time. The ids are numbers given in the order of writing (never derived
/// from a personnummer or a Kärna id); the directory (locations, organisations, practitioners) is read first so the
/// clinical rows can point at it.
struct OMOPRows {
    let options: OMOPExport.Options
    let mapping: OMOPMapping
    let files: [String: OMOPTableFile]
    let today: Int
    var summary = OMOPExport.Summary()
    private var ids: [String: Int] = [:]
    private var careSites: [String: Int] = [:], providers: [String: Int] = [:], locations: [String: Int] = [:]
    /// Each Location's managing unit (a bed's ward), for the care site of a stay within a visit.
    private var locationUnits: [String: String] = [:]
    /// Every coded source value seen, for `source_to_concept_map`: vocabulary|code → description.
    private var sourceCodes: [String: String] = [:]

    init(options: OMOPExport.Options, mapping: OMOPMapping, files: [String: OMOPTableFile], today: Int) {
        self.options = options
        self.mapping = mapping
        self.files = files
        self.today = today
    }

    private mutating func next(_ table: String) -> Int {
        ids[table, default: 0] += 1
        return ids[table]!
    }

    private func write(_ table: String, _ values: [String: String?]) throws { try files[table]!.write(values) }

    // MARK: The directory

    mutating func directory(session: PatientDataSession) async throws {
        for location in try await session.everyMatch(SearchQuery(type: "Location")) {
            let id = next("location")
            locations[location.id] = id
            if let unit = location.object.referenceID("managingOrganization", type: "Organization") { locationUnits[location.id] = unit }
            let address = location.object["address"]?.objectValue
            try write("location", ["location_id": "\(id)", "address_1": address?["line"]?.arrayValue?.first?.stringValue, "city": address?["city"]?.stringValue,
                                   "zip": address?["postalCode"]?.stringValue, "location_source_value": location.id, "country_source_value": "SE"])
        }
        for organization in try await session.everyMatch(SearchQuery(type: "Organization")) {
            let id = next("care_site")
            careSites[organization.id] = id
            try write("care_site", ["care_site_id": "\(id)", "care_site_name": organization.object["name"]?.stringValue, "care_site_source_value": organization.id])
        }
        for practitioner in try await session.everyMatch(SearchQuery(type: "Practitioner")) {
            let id = next("provider")
            providers[practitioner.id] = id
            let name = practitioner.object["name"]?.arrayValue?.first?.objectValue
            let written = [name?["given"]?.arrayValue?.first?.stringValue, name?["family"]?.stringValue].compactMap { $0 }.joined(separator: " ")
            try write("provider", ["provider_id": "\(id)", "provider_name": options.pseudonymise ? nil : written,
                                   "gender_concept_id": practitioner.object["gender"]?.stringValue.flatMap { mapping.gender[$0] }.map(String.init),
                                   "provider_source_value": options.pseudonymise ? nil : practitioner.id,
                                   "gender_source_value": practitioner.object["gender"]?.stringValue])
        }
    }

    // MARK: One person

    /// A moment as the CDM keeps it: the Swedish calendar day, and the local wall-clock time when one was recorded.
    struct Moment {
        var day: Int
        var time: String?

        init?(_ value: JSONValue?) {
            guard let text = value?.stringValue else { return nil }
            if text.count <= 10 {
                guard let date = FHIRDateTime.parse(text, allowTime: false) else { return nil }
                day = CivilCalendar.daysSince1970(year: date.year, month: date.month, day: date.day)
            } else {
                guard let instant = Instant.parse(text) else { return nil }
                day = SwedishTime.day(of: instant)
                let local = Instant.format(milliseconds: instant + Int64(SwedishTime.offsetMinutes(at: instant)) * 60_000)
                time = String(local.dropFirst(11).prefix(8))
            }
        }
    }

    /// The person's dates, moved by the same number of days when asked.
    struct Dates {
        var shift: Int
        func date(_ moment: Moment) -> String { SwedishTime.formatDay(moment.day + shift) }
        func datetime(_ moment: Moment) -> String? { moment.time.map { "\(date(moment)) \($0)" } }
    }

    mutating func person(_ patient: JSONObject, records: [JSONObject]) throws {
        guard let birth = Moment(patient["birthDate"]) else {
            summary.skippedPatients += 1
            return
        }
        let personID = next("person")
        let dates = Dates(shift: options.shiftDates ? Int.random(in: -options.shiftDays...options.shiftDays) : 0)
        let death = Moment(patient["deceasedDateTime"])
        let born = CivilCalendar.date(fromDaysSince1970: birth.day + dates.shift)
        try write("person", ["person_id": "\(personID)", "gender_concept_id": String(patient["gender"]?.stringValue.flatMap { mapping.gender[$0] } ?? 0),
                             "year_of_birth": "\(born.year)", "month_of_birth": "\(born.month)", "day_of_birth": "\(born.day)",
                             "birth_datetime": "\(dates.date(birth)) 00:00:00", "race_concept_id": "0", "ethnicity_concept_id": "0",
                             "care_site_id": reference(patient["managingOrganization"], in: careSites),
                             "provider_id": reference(patient["generalPractitioner"]?.arrayValue?.first, in: providers),
                             "person_source_value": options.pseudonymise ? nil : patient["id"]?.stringValue,
                             "gender_source_value": patient["gender"]?.stringValue])
        summary.persons += 1
        if let death {
            try write("death", ["person_id": "\(personID)", "death_date": dates.date(death), "death_datetime": dates.datetime(death),
                                "death_type_concept_id": "\(mapping.ehrTypeConcept)"])
        }
        var event = EventSpan(birth: birth.day, death: death?.day)
        var visits: [String: Int] = [:]
        for encounter in records where encounter["resourceType"]?.stringValue == "Encounter" {
            let period = encounter["period"]?.objectValue
            guard let start = Moment(period?["start"]), let end = Moment(period?["end"]) ?? Optional(Moment(day: max(start.day, min(today, death?.day ?? today)))),
                  event.accepts(start, end) else { summary.skippedRecords += 1; continue }
            let id = next("visit_occurrence")
            visits[encounter["id"]?.stringValue ?? ""] = id
            let kind = encounter["class"]?.objectValue?["code"]?.stringValue
            try write("visit_occurrence", ["visit_occurrence_id": "\(id)", "person_id": "\(personID)", "visit_concept_id": String(kind.flatMap { mapping.visitClass[$0] } ?? 0),
                                           "visit_start_date": dates.date(start), "visit_start_datetime": dates.datetime(start),
                                           "visit_end_date": dates.date(end), "visit_end_datetime": dates.datetime(end),
                                           "visit_type_concept_id": "\(mapping.ehrTypeConcept)",
                                           "provider_id": reference(encounter["participant"]?.arrayValue?.first?.objectValue?["individual"], in: providers),
                                           "care_site_id": reference(encounter["serviceProvider"], in: careSites), "visit_source_value": kind])
            try stays(encounter, visit: id, personID: personID, concept: String(kind.flatMap { mapping.visitClass[$0] } ?? 0), start: start, end: end, dates: dates)
        }
        for record in records {
            let visit = record["encounter"]?.objectValue?["reference"]?.stringValue.map { String($0.split(separator: "/").last ?? "") }.flatMap { visits[$0] }.map(String.init)
            switch record["resourceType"]?.stringValue {
            case "Condition":
                guard let start = Moment(record["onsetDateTime"]) ?? Moment(record["recordedDate"]), event.accepts(start) else { summary.skippedRecords += 1; continue }
                let end = Moment(record["abatementDateTime"]).flatMap { event.accepts($0) ? $0 : nil }
                let code = sourceCode(record["code"])
                try write("condition_occurrence", ["condition_occurrence_id": "\(next("condition_occurrence"))", "person_id": "\(personID)", "condition_concept_id": "0",
                                                   "condition_start_date": dates.date(start), "condition_start_datetime": dates.datetime(start),
                                                   "condition_end_date": end.map(dates.date), "condition_end_datetime": end.flatMap(dates.datetime),
                                                   "condition_type_concept_id": "\(mapping.ehrTypeConcept)", "visit_occurrence_id": visit,
                                                   "condition_source_value": code, "condition_source_concept_id": "0",
                                                   "condition_status_source_value": record["clinicalStatus"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue])
            case "Procedure":
                guard let start = Moment(record["performedDateTime"]) ?? Moment(record["performedPeriod"]?.objectValue?["start"]), event.accepts(start) else {
                    summary.skippedRecords += 1; continue
                }
                let end = Moment(record["performedPeriod"]?.objectValue?["end"]).flatMap { event.accepts($0) && $0.day >= start.day ? $0 : nil }
                try write("procedure_occurrence", ["procedure_occurrence_id": "\(next("procedure_occurrence"))", "person_id": "\(personID)", "procedure_concept_id": "0",
                                                   "procedure_date": dates.date(start), "procedure_datetime": dates.datetime(start),
                                                   "procedure_end_date": end.map(dates.date), "procedure_end_datetime": end.flatMap(dates.datetime),
                                                   "procedure_type_concept_id": "\(mapping.ehrTypeConcept)", "visit_occurrence_id": visit,
                                                   "procedure_source_value": sourceCode(record["code"]), "procedure_source_concept_id": "0"])
            case "MedicationRequest", "MedicationAdministration":
                let isRequest = record["resourceType"]?.stringValue == "MedicationRequest"
                let period = (isRequest ? record["dispenseRequest"]?.objectValue?["validityPeriod"] : record["effectivePeriod"])?.objectValue
                guard let start = (isRequest ? Moment(record["authoredOn"]) : Moment(record["effectiveDateTime"])) ?? Moment(period?["start"]), event.accepts(start) else {
                    summary.skippedRecords += 1; continue
                }
                let end = Moment(period?["end"]).flatMap { event.accepts($0) && $0.day >= start.day ? $0 : nil } ?? start
                let medication = sourceCode(record["medicationCodeableConcept"]) ?? record["medicationReference"]?.objectValue?["display"]?.stringValue
                let dosage = (isRequest ? record["dosageInstruction"]?.arrayValue?.first : record["dosage"])?.objectValue
                try write("drug_exposure", ["drug_exposure_id": "\(next("drug_exposure"))", "person_id": "\(personID)", "drug_concept_id": "0",
                                            "drug_exposure_start_date": dates.date(start), "drug_exposure_start_datetime": dates.datetime(start),
                                            "drug_exposure_end_date": dates.date(end), "drug_exposure_end_datetime": dates.datetime(end),
                                            "drug_type_concept_id": "\(mapping.ehrTypeConcept)", "visit_occurrence_id": visit,
                                            "quantity": record["dispenseRequest"]?.objectValue?["quantity"]?.objectValue?["value"].flatMap(Self.number),
                                            "refills": record["dispenseRequest"]?.objectValue?["numberOfRepeatsAllowed"].flatMap(Self.number),
                                            "sig": options.includeText ? dosage?["text"]?.stringValue : nil,
                                            "drug_source_value": medication, "drug_source_concept_id": "0",
                                            "route_source_value": dosage?["route"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue])
            case "Observation":
                guard let when = Moment(record["effectiveDateTime"]) ?? Moment(record["effectivePeriod"]?.objectValue?["start"]) ?? Moment(record["issued"]),
                      event.accepts(when) else { summary.skippedRecords += 1; continue }
                let code = sourceCode(record["code"])
                if let quantity = record["valueQuantity"]?.objectValue {
                    let range = record["referenceRange"]?.arrayValue?.first?.objectValue
                    try write("measurement", ["measurement_id": "\(next("measurement"))", "person_id": "\(personID)", "measurement_concept_id": "0",
                                              "measurement_date": dates.date(when), "measurement_datetime": dates.datetime(when),
                                              "measurement_type_concept_id": "\(mapping.ehrTypeConcept)", "value_as_number": quantity["value"].flatMap(Self.number),
                                              "range_low": range?["low"]?.objectValue?["value"].flatMap(Self.number),
                                              "range_high": range?["high"]?.objectValue?["value"].flatMap(Self.number), "visit_occurrence_id": visit,
                                              "measurement_source_value": code, "measurement_source_concept_id": "0",
                                              "unit_source_value": quantity["unit"]?.stringValue ?? quantity["code"]?.stringValue,
                                              "value_source_value": quantity["value"].flatMap(Self.number)])
                } else {
                    let coded = record["valueCodeableConcept"]?.objectValue
                    let text = options.includeText ? record["valueString"]?.stringValue : nil
                    try write("observation", ["observation_id": "\(next("observation"))", "person_id": "\(personID)", "observation_concept_id": "0",
                                              "observation_date": dates.date(when), "observation_datetime": dates.datetime(when),
                                              "observation_type_concept_id": "\(mapping.ehrTypeConcept)",
                                              "value_as_number": (record["valueInteger"] ?? record["valueBoolean"].map { $0 == .bool(true) ? .number("1") : .number("0") }).flatMap(Self.number),
                                              "value_as_string": text ?? coded?["coding"]?.arrayValue?.first?.objectValue?["display"]?.stringValue,
                                              "visit_occurrence_id": visit, "observation_source_value": code, "observation_source_concept_id": "0",
                                              "value_source_value": coded?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue])
                }
            case "DocumentReference" where options.includeText:
                guard let when = Moment(record["date"]), event.accepts(when),
                      let attachment = record["content"]?.arrayValue?.first?.objectValue?["attachment"]?.objectValue,
                      attachment["contentType"]?.stringValue?.hasPrefix("text/") == true,
                      let data = attachment["data"]?.stringValue.flatMap({ Data(base64Encoded: $0) }), let text = String(data: data, encoding: .utf8), !text.isEmpty else { continue }
                try write("note", ["note_id": "\(next("note"))", "person_id": "\(personID)", "note_date": dates.date(when), "note_datetime": dates.datetime(when),
                                   "note_type_concept_id": "\(mapping.ehrTypeConcept)", "note_class_concept_id": "0", "note_title": record["description"]?.stringValue,
                                   "note_text": text, "encoding_concept_id": "0", "language_concept_id": "0", "visit_occurrence_id": visit,
                                   "note_source_value": sourceCode(record["type"])])
            default:
                continue
            }
        }
        // One observation period from the first to the last event (the birth alone when there is none).
        let span = event.span ?? (birth.day, birth.day)
        try write("observation_period", ["observation_period_id": "\(next("observation_period"))", "person_id": "\(personID)",
                                         "observation_period_start_date": SwedishTime.formatDay(span.first + dates.shift),
                                         "observation_period_end_date": SwedishTime.formatDay(span.last + dates.shift),
                                         "period_type_concept_id": "\(mapping.ehrTypeConcept)"])
    }

    /// The days a person's events may fall on (birth to death) and the span of those written.
    /// The stays within a visit (visit_detail): each bed or room the encounter's `location` history held the patient
    /// in, from when to when, kept inside the visit, each naming the one before it. Planned and reserved places were
    /// never stayed in and are left out.
    private mutating func stays(_ encounter: JSONObject, visit: Int, personID: Int, concept: String, start: Moment, end: Moment, dates: Dates) throws {
        func earlier(_ a: Moment, _ b: Moment) -> Bool { (a.day, a.time ?? "00:00:00") < (b.day, b.time ?? "00:00:00") }
        let held = (encounter["location"]?.arrayValue ?? []).compactMap(\.objectValue).filter { ["active", "completed"].contains($0["status"]?.stringValue ?? "") }
            .compactMap { entry -> (entry: JSONObject, from: Moment, to: Moment)? in
                guard let from = Moment(entry["period"]?.objectValue?["start"]) else { return nil }
                let to = Moment(entry["period"]?.objectValue?["end"]) ?? end
                let (clampedFrom, clampedTo) = (earlier(from, start) ? start : from, earlier(end, to) ? end : to)
                return earlier(clampedTo, clampedFrom) ? nil : (entry, clampedFrom, clampedTo)
            }
            .sorted { earlier($0.from, $1.from) }
        var preceding: Int?
        for stay in held {
            let id = next("visit_detail")
            let place = stay.entry.referenceID("location", type: "Location")
            try write("visit_detail", ["visit_detail_id": "\(id)", "person_id": "\(personID)", "visit_detail_concept_id": concept,
                                       "visit_detail_start_date": dates.date(stay.from), "visit_detail_start_datetime": dates.datetime(stay.from),
                                       "visit_detail_end_date": dates.date(stay.to), "visit_detail_end_datetime": dates.datetime(stay.to),
                                       "visit_detail_type_concept_id": "\(mapping.ehrTypeConcept)",
                                       "care_site_id": (place.flatMap { locationUnits[$0] }.flatMap { careSites[$0] }).map(String.init)
                                           ?? reference(encounter["serviceProvider"], in: careSites),
                                       "visit_detail_source_value": place ?? stay.entry["location"]?.objectValue?["display"]?.stringValue,
                                       "preceding_visit_detail_id": preceding.map(String.init), "visit_occurrence_id": "\(visit)"])
            preceding = id
        }
    }

    struct EventSpan {
        let birth: Int
        let death: Int?
        var span: (first: Int, last: Int)?

        mutating func accepts(_ moments: Moment...) -> Bool {
            guard moments.allSatisfy({ $0.day >= birth && $0.day <= (death ?? Int.max) }) else { return false }
            for moment in moments { span = (min(span?.first ?? moment.day, moment.day), max(span?.last ?? moment.day, moment.day)) }
            return true
        }
    }

    /// The code kept as source value: the coding of a Swedish vocabulary the mapping names first, else the first coding.
    private mutating func sourceCode(_ concept: JSONValue?) -> String? {
        let codings = (concept?.objectValue?["coding"]?.arrayValue ?? []).compactMap(\.objectValue)
        guard let coding = codings.first(where: { $0["system"]?.stringValue.flatMap { mapping.vocabularies[$0] } != nil }) ?? codings.first,
              let code = coding["code"]?.stringValue else { return concept?.objectValue?["text"]?.stringValue }
        if let vocabulary = coding["system"]?.stringValue.flatMap({ mapping.vocabularies[$0] }) {
            sourceCodes["\(vocabulary)|\(code)"] = sourceCodes["\(vocabulary)|\(code)"] ?? coding["display"]?.stringValue ?? ""
        }
        return code
    }

    private func reference(_ value: JSONValue?, in ids: [String: Int]) -> String? {
        guard let reference = value?.objectValue?["reference"]?.stringValue, let id = reference.split(separator: "/").last else { return nil }
        return ids[String(id)].map(String.init)
    }

    private static func number(_ value: JSONValue) -> String? {
        if case .number(let text) = value { return text }
        return nil
    }

    // MARK: The metadata

    mutating func finish() throws {
        let day = SwedishTime.formatDay(today)
        try write("cdm_source", ["cdm_source_name": mapping.source.name, "cdm_source_abbreviation": mapping.source.abbreviation, "cdm_holder": mapping.source.holder,
                                 "source_description": "Kärna's records as the export's client may read them" + (options.pseudonymise ? ", pseudonymised" : "")
                                    + (options.shiftDates ? ", dates shifted per person" : "") + (options.includeText ? ", with free text" : ", without free text"),
                                 "cdm_etl_reference": mapping.source.documentation, "source_release_date": day, "cdm_release_date": day,
                                 "cdm_version": "v5.4", "cdm_version_concept_id": "\(mapping.cdmVersionConcept)", "vocabulary_version": "none (source codes only)"])
        for key in sourceCodes.keys.sorted() {
            let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
            try write("source_to_concept_map", ["source_code": parts[1], "source_concept_id": "0", "source_vocabulary_id": parts[0],
                                                "source_code_description": sourceCodes[key], "target_concept_id": "0", "target_vocabulary_id": "None",
                                                "valid_start_date": "1970-01-01", "valid_end_date": "2099-12-31"])
        }
    }
}

extension OMOPRows.Moment {
    init(day: Int) {
        self.day = day
        time = nil
    }
}
