import Access
import FHIRCore
import Foundation
import StoreModel
import Terminology

/// A drug being ordered: one MedicationRequest of the hook's `draftOrders`.
struct DraftOrder: Sendable {
    var id: String?
    /// The ATC code (substance at level 5, or a group), when the order is coded.
    var atc: String?
    var name: String
    /// The structured dosage (`dosageInstruction`), for the checks that compute with doses.
    var dosages: [JSONObject]

    init(_ request: JSONObject) {
        id = request["id"]?.stringValue
        atc = request.code("medicationCodeableConcept", system: KnownSystems.atc)
        name = Display.concept(request["medicationCodeableConcept"])
        dosages = (request["dosageInstruction"]?.arrayValue ?? []).compactMap(\.objectValue)
    }

    /// The drafts the hook names: all of `draftOrders`, or at order-select only the `selections`.
    static func read(_ call: HookCall) throws -> [DraftOrder] {
        guard let bundle = call.context["draftOrders"]?.objectValue else {
            throw FHIRError(.invalid, code: .required, "context.draftOrders is required for \(call.hook): a Bundle of the orders being written",
                            expression: ["context.draftOrders"])
        }
        let selected = call.hook == "order-select" ? Set((call.context["selections"]?.arrayValue ?? []).compactMap(\.stringValue)) : nil
        var drafts: [DraftOrder] = []
        for (index, entry) in (bundle["entry"]?.arrayValue ?? []).enumerated() {
            guard let resource = entry.objectValue?["resource"]?.objectValue else {
                throw FHIRError(.invalid, code: .structure, "context.draftOrders.entry[\(index)] has no resource", expression: ["context.draftOrders.entry[\(index)]"])
            }
            guard resource.resourceType == "MedicationRequest" else { continue }
            let order = DraftOrder(resource)
            if let selected, !selected.contains("MedicationRequest/\(order.id ?? "")") { continue }
            drafts.append(order)
        }
        return drafts
    }
}

/// A drug the patient already has: an active ordination or a drug the patient takes.
struct CurrentDrug: Sendable {
    var reference: String
    var atc: String?
    var name: String
}

/// What the checks read of the patient, each part read once however many checks ask (through the caller's session).
final class PatientRecord: Sendable {
    let patientID: String
    let session: PatientDataSession
    let rules: MedicationSafetyRules
    private let drugs: Task<[CurrentDrug], any Error>
    private let allergies: Task<[StoredResource], any Error>
    private let patient: Task<StoredResource?, any Error>

    init(patientID: String, session: PatientDataSession, rules: MedicationSafetyRules, otherDrugs: [CurrentDrug] = []) {
        self.patientID = patientID
        self.session = session
        self.rules = rules
        drugs = Task {
            let found = try await session.search(together: [
                (try SearchQuery.parse(type: "MedicationRequest", parameters: [("patient", "Patient/\(patientID)"), ("status", "active,on-hold")], strict: true), 500),
                (try SearchQuery.parse(type: "MedicationStatement", parameters: [("patient", "Patient/\(patientID)"), ("status", "active,intended")], strict: true), 500),
            ])
            return (found[0] + found[1]).map { record in
                let object = record.object
                return CurrentDrug(reference: "\(record.type)/\(record.id)", atc: object.code("medicationCodeableConcept", system: KnownSystems.atc),
                                   name: Display.concept(object["medicationCodeableConcept"]))
            } + otherDrugs
        }
        patient = Task { try await session.read(type: "Patient", id: patientID) }
        allergies = Task {
            try await session.search(try SearchQuery.parse(type: "AllergyIntolerance", parameters: [("patient", "Patient/\(patientID)"), ("clinical-status", "active")],
                                                           strict: true), limit: 500).resources
        }
    }

    func currentDrugs() async throws -> [CurrentDrug] { try await drugs.value }
    func activeAllergies() async throws -> [StoredResource] { try await allergies.value }
    /// The patient's age in whole years, when the record has a birth date.
    func age() async throws -> Int? { try await patient.value.flatMap { Display.age($0.object) } }

    /// The newest result with one of `codes` since `days` ago, if any.
    func latest(_ codes: [MedicationSafetyRules.Code], withinDays days: Int) async throws -> StoredResource? {
        guard !codes.isEmpty else { return nil }
        let since = SwedishTime.dayStart(SwedishTime.today - days)
        let query = try SearchQuery.parse(type: "Observation", parameters: [
            ("patient", "Patient/\(patientID)"), ("code", codes.map { "\($0.system)|\($0.code)" }.joined(separator: ",")),
            ("date", "ge\(since)"), ("status", "final,amended,corrected"), ("_sort", "-date"),
        ], strict: true)
        return try await session.search(query, limit: 1).resources.first
    }
}

/// One kind of läkemedelskontroll. Its cards name their source and the table's version.
struct MedicationCheck: Sendable {
    struct Input: Sendable {
        var drafts: [DraftOrder]
        var record: PatientRecord
        var rules: MedicationSafetyRules
    }

    /// What it checks, in Swedish ("interaktioner"), as a card says it.
    var title: String
    var run: @Sendable (Input) async throws -> [DecisionCard]

    static let all: [MedicationCheck] = [uncoded, interactions, allergy, duplicates, renal, paediatric]

    static func source(_ name: String, _ version: String, _ notice: String?) -> String {
        "\(name), version \(version)" + (notice.map { " (\($0))" } ?? "")
    }

    /// A drug without an ATC code cannot be matched: say so instead of passing it.
    static let uncoded = MedicationCheck(title: "läkemedlets kod") { input in
        input.drafts.filter { $0.atc == nil }.map { draft in
            DecisionCard(summary: "Ej kontrollerat: \(draft.name.isEmpty ? "läkemedlet" : draft.name) saknar ATC-kod",
                         detail: "Interaktioner, allergi, dubbletter och njurfunktion kan inte kontrolleras för ett läkemedel utan kod. Välj läkemedlet ur registret.",
                         indicator: .warning, sourceLabel: "Kärna läkemedelskontroll",
                         topic: (MedicationSafetyService.topicSystem, "ej-utford", "Kontroll ej utförd"),
                         overrideReasons: MedicationSafetyService.reasons(input.rules))
        }
    }

    /// Pairs from the interaction table (Janusmed/SFINX form): D critical, C warning, B information, A nothing.
    static let interactions = MedicationCheck(title: "interaktioner") { input in
        let table = input.rules.interactions
        let current = try await input.record.currentDrugs()
        var cards: [DecisionCard] = []
        for (index, draft) in input.drafts.enumerated() {
            guard let atc = draft.atc else { continue }
            // The patient's drugs, and the drafts before this one (each pair once).
            let others = current.filter { $0.reference != "MedicationRequest/\(draft.id ?? "")" }
                + input.drafts[..<index].map { CurrentDrug(reference: "", atc: $0.atc, name: $0.name) }
            for other in others {
                guard let otherATC = other.atc else { continue }
                for rule in table.rules where (atc.hasPrefix(rule.a) && otherATC.hasPrefix(rule.b)) || (atc.hasPrefix(rule.b) && otherATC.hasPrefix(rule.a)) {
                    let indicator: DecisionCard.Indicator
                    switch rule.class {
                    case "D": indicator = .critical
                    case "C": indicator = .warning
                    case "B": indicator = .info
                    default: continue
                    }
                    cards.append(DecisionCard(
                        summary: "Interaktion \(rule.class): \(draft.name) och \(other.name)",
                        detail: "\(rule.risk) \(rule.advice) (Klass \(rule.class), dokumentationsgrad \(rule.level).)",
                        indicator: indicator, sourceLabel: source(table.name, table.version, table.notice),
                        topic: (MedicationSafetyService.topicSystem, "interaktion", "Interaktion"),
                        overrideReasons: indicator == .info ? [] : MedicationSafetyService.reasons(input.rules),
                        implicated: other.reference.isEmpty ? [] : [other.reference]))
                }
            }
        }
        return cards
    }

    /// A drug whose substance or ATC group the patient is recorded as allergic to: critical when confirmed.
    static let allergy = MedicationCheck(title: "allergier") { input in
        let allergies = try await input.record.activeAllergies()
        var cards: [DecisionCard] = []
        for draft in input.drafts {
            for stored in allergies {
                let allergy = stored.object
                let verification = allergy.code("verificationStatus", system: "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification")
                guard verification != "refuted", verification != "entered-in-error" else { continue }
                let substance = Display.concept(allergy["code"])
                let matches: Bool
                if let allergen = allergy.code("code", system: KnownSystems.atc), let atc = draft.atc {
                    matches = atc.hasPrefix(allergen)
                } else {
                    // Uncoded allergy: the substance's name in the drug's name still matches.
                    let text = allergy["code"]?.objectValue?["text"]?.stringValue?.lowercased() ?? ""
                    matches = text.count >= 4 && draft.name.lowercased().contains(text)
                }
                guard matches else { continue }
                let confirmed = verification == nil || verification == "confirmed"
                cards.append(DecisionCard(
                    summary: "Allergi: \(draft.name) — patienten har \(confirmed ? "" : "obekräftad ")överkänslighet mot \(substance)",
                    detail: allergy["reaction"]?.arrayValue?.first?.objectValue?["description"]?.stringValue,
                    indicator: confirmed ? .critical : .warning, sourceLabel: "Kärna läkemedelskontroll: patientens uppmärksamhetssignaler",
                    topic: (MedicationSafetyService.topicSystem, "allergi", "Allergi"),
                    overrideReasons: MedicationSafetyService.reasons(input.rules), implicated: ["AllergyIntolerance/\(stored.id)"]))
            }
        }
        return cards
    }

    /// The same substance (ATC level 5) already ordered or taken, or twice among the drafts.
    static let duplicates = MedicationCheck(title: "dubbletter") { input in
        let current = try await input.record.currentDrugs()
        var cards: [DecisionCard] = []
        for (index, draft) in input.drafts.enumerated() {
            guard let atc = draft.atc, atc.count == 7 else { continue }
            let same = current.filter { $0.atc == atc && $0.reference != "MedicationRequest/\(draft.id ?? "")" }
            let twice = input.drafts[..<index].contains { $0.atc == atc }
            guard !same.isEmpty || twice else { continue }
            cards.append(DecisionCard(
                summary: "Dubblett: \(draft.name) finns redan" + (same.isEmpty ? " bland ordinationerna som skrivs" : " på läkemedelslistan"),
                detail: "Samma substans (ATC \(atc)) två gånger. Ändra den befintliga ordinationen i stället för att lägga till en ny.",
                indicator: .warning, sourceLabel: "Kärna läkemedelskontroll: patientens läkemedelslista",
                topic: (MedicationSafetyService.topicSystem, "dubblett", "Dubblett"),
                overrideReasons: MedicationSafetyService.reasons(input.rules), implicated: same.map(\.reference)))
        }
        return cards
    }

    /// Drugs with a renal limit, against the latest eGFR within the table's window; says so when there is none.
    static let renal = MedicationCheck(title: "njurfunktion") { input in
        let table = input.rules.renal
        let concerned = input.drafts.filter { draft in draft.atc.map { atc in table.rules.contains { atc.hasPrefix($0.atc) } } ?? false }
        guard !concerned.isEmpty else { return [] }
        let label = source(table.name, table.version, table.notice)
        let topic = (MedicationSafetyService.topicSystem, "njurfunktion", "Njurfunktion")
        guard let latest = try await input.record.latest(table.egfr, withinDays: table.maximumAgeDays),
              let value = latest.object["valueQuantity"]?.objectValue?["value"]?.numberText.flatMap(Double.init) else {
            let creatinine = try await input.record.latest(table.creatinine, withinDays: table.maximumAgeDays)
            let seen = creatinine.flatMap { $0.object["valueQuantity"]?.objectValue }.map {
                " Senaste kreatinin: \($0["value"]?.numberText ?? "?") \($0["unit"]?.stringValue ?? "")."
            } ?? ""
            return concerned.map { draft in
                DecisionCard(summary: "Njurfunktion okänd: inget eGFR de senaste \(table.maximumAgeDays) dagarna",
                             detail: "\(draft.name) behöver bedömas mot njurfunktionen.\(seen) Beställ kreatinin/eGFR eller bedöm utan.",
                             indicator: .warning, sourceLabel: label, topic: topic, overrideReasons: MedicationSafetyService.reasons(input.rules),
                             implicated: creatinine.map { ["Observation/\($0.id)"] } ?? [])
            }
        }
        let when = latest.object["effectiveDateTime"]?.stringValue.map { String($0.prefix(10)) } ?? "okänt datum"
        var cards: [DecisionCard] = []
        for draft in concerned {
            guard let atc = draft.atc,
                  let rule = table.rules.filter({ atc.hasPrefix($0.atc) && value < $0.below }).min(by: { $0.below < $1.below }),
                  let indicator = DecisionCard.Indicator(rawValue: rule.indicator) else { continue }
            cards.append(DecisionCard(
                summary: "Njurfunktion: \(draft.name) vid eGFR \(latest.object["valueQuantity"]?.objectValue?["value"]?.numberText ?? "") (\(when))",
                detail: rule.text, indicator: indicator, sourceLabel: label, topic: topic,
                overrideReasons: indicator == .info ? [] : MedicationSafetyService.reasons(input.rules), implicated: ["Observation/\(latest.id)"]))
        }
        return cards
    }

    /// Children's weight-based doses: a current weight is needed, and a dose per kg (per dose and per day)
    /// outside the table's range is critical. A dose that cannot be computed per kg says so.
    static let paediatric = MedicationCheck(title: "dosering till barn") { input in
        let table = input.rules.paediatric
        let concerned = input.drafts.compactMap { draft -> (DraftOrder, MedicationSafetyRules.PaediatricRule)? in
            guard let atc = draft.atc, let rule = table.rules.filter({ atc.hasPrefix($0.atc) }).max(by: { $0.atc.count < $1.atc.count }) else { return nil }
            return (draft, rule)
        }
        guard !concerned.isEmpty, let age = try await input.record.age(), age < table.childUnderYears else { return [] }
        let label = source(table.name, table.version, table.notice)
        let topic = (MedicationSafetyService.topicSystem, "barndos", "Dosering till barn")
        let reasons = MedicationSafetyService.reasons(input.rules)
        guard let weighed = try await input.record.latest(table.weight, withinDays: table.weightMaximumAgeDays),
              let kilograms = WeightDose.kilograms(weighed.object["valueQuantity"]?.objectValue), kilograms > 0 else {
            return concerned.map { draft, rule in
                DecisionCard(summary: "Aktuell vikt saknas: \(draft.name) doseras per kg till barn (\(age) år)",
                             detail: "Ingen kroppsvikt de senaste \(table.weightMaximumAgeDays) dagarna. Väg barnet och registrera vikten, eller ange varför dosen ändå är rätt. \(rule.text)",
                             indicator: .critical, sourceLabel: label, topic: topic, overrideReasons: reasons)
            }
        }
        let when = weighed.object["effectiveDateTime"]?.stringValue.map { String($0.prefix(10)) } ?? "okänt datum"
        let weight = "vikt \(WeightDose.text(kilograms)) kg \(when)"
        var cards: [DecisionCard] = []
        for (draft, rule) in concerned {
            guard let dose = WeightDose(draft.dosages, unit: rule.unit) else {
                cards.append(DecisionCard(summary: "Ej kontrollerat: dosen av \(draft.name) kan inte räknas per kg",
                                          detail: "Dosen anges inte strukturerat i \(rule.unit). Kontrollera dosen mot vikten (\(weight)) själv. \(rule.text)",
                                          indicator: .warning, sourceLabel: label, topic: topic, overrideReasons: reasons,
                                          implicated: ["Observation/\(weighed.id)"]))
                continue
            }
            let perDose = dose.largestDose / kilograms
            if perDose > rule.maxPerKg || dose.smallestDose / kilograms < rule.minPerKg {
                let range = "\(WeightDose.text(rule.minPerKg))–\(WeightDose.text(rule.maxPerKg)) \(rule.unit)/kg"
                let shown = perDose > rule.maxPerKg ? perDose : dose.smallestDose / kilograms
                cards.append(DecisionCard(
                    summary: "Dos per kg: \(draft.name) \(WeightDose.text(shown)) \(rule.unit)/kg per dos, utanför \(range)",
                    detail: "\(rule.text) Ordinerat \(WeightDose.text(perDose > rule.maxPerKg ? dose.largestDose : dose.smallestDose)) \(rule.unit) vid \(weight).",
                    indicator: .critical, sourceLabel: label, topic: topic, overrideReasons: reasons, implicated: ["Observation/\(weighed.id)"]))
            } else if let limit = rule.maxPerKgPerDay, let daily = dose.dailyAmount, daily / kilograms > limit {
                cards.append(DecisionCard(
                    summary: "Dygnsdos per kg: \(draft.name) \(WeightDose.text(daily / kilograms)) \(rule.unit)/kg och dygn, över \(WeightDose.text(limit))",
                    detail: "\(rule.text) Ordinerat \(WeightDose.text(daily)) \(rule.unit) per dygn vid \(weight).",
                    indicator: .critical, sourceLabel: label, topic: topic, overrideReasons: reasons, implicated: ["Observation/\(weighed.id)"]))
            }
        }
        return cards
    }
}

/// The amounts of a structured dosage in one unit (mg or E): each dose, and the most given in a day.
struct WeightDose {
    var smallestDose: Double
    var largestDose: Double
    /// The largest day's amount over the dosage's steps (nil when a dose's frequency is not structured).
    var dailyAmount: Double?

    /// Nil when a dose is missing or in a unit that is not the rule's (a tablet count, millilitres).
    init?(_ dosages: [JSONObject], unit: String) {
        var doses: [Double] = []
        var perStep: [Int: Double] = [:]
        var daily = true
        for dosage in dosages {
            guard let quantity = dosage["doseAndRate"]?.arrayValue?.first?.objectValue?["doseQuantity"]?.objectValue,
                  let amount = Self.amount(quantity, in: unit) else { return nil }
            doses.append(amount)
            if let times = Self.timesPerDay(dosage) {
                perStep[dosage["sequence"]?.numberText.flatMap(Int.init) ?? 0, default: 0] += amount * times
            } else {
                daily = false
            }
        }
        guard let smallest = doses.min(), let largest = doses.max() else { return nil }
        smallestDose = smallest
        largestDose = largest
        dailyAmount = daily ? perStep.values.max() : nil
    }

    /// A quantity in the rule's unit: mg from g, mg or mikrog; E from E or IE.
    static func amount(_ quantity: JSONObject, in unit: String) -> Double? {
        guard let value = quantity["value"]?.numberText.flatMap(Double.init) else { return nil }
        let given = (quantity["code"]?.stringValue ?? quantity["unit"]?.stringValue ?? "").lowercased()
        switch (unit, given) {
        case ("mg", "mg"): return value
        case ("mg", "g"): return value * 1_000
        case ("mg", "ug"), ("mg", "µg"), ("mg", "mikrog"), ("mg", "mcg"): return value / 1_000
        case ("E", "e"), ("E", "ie"), ("E", "[iu]"), ("E", "iu"): return value
        default: return nil
        }
    }

    /// How many times a day one dosage line is given: its times of day, its `when` codes, or frequency per period.
    static func timesPerDay(_ dosage: JSONObject) -> Double? {
        if dosage["asNeededBoolean"]?.boolValue == true || dosage["asNeededCodeableConcept"] != nil { return nil }
        guard let repeating = dosage["timing"]?.objectValue?["repeat"]?.objectValue else { return nil }
        let clock = repeating["timeOfDay"]?.arrayValue?.count ?? 0
        let named = repeating["when"]?.arrayValue?.count ?? 0
        if clock + named > 0 { return Double(clock + named) }
        // An engångsdos is the day's whole amount.
        if repeating["count"]?.numberText == "1", repeating["frequency"] == nil, repeating["period"] == nil { return 1 }
        guard let period = repeating["period"]?.numberText.flatMap(Double.init), period > 0 else { return nil }
        let frequency = repeating["frequency"]?.numberText.flatMap(Double.init) ?? 1
        let days: Double
        switch repeating["periodUnit"]?.stringValue {
        case "h": days = period / 24
        case "d": days = period
        case "wk": days = period * 7
        case "min": days = period / 1_440
        default: return nil
        }
        return frequency / days
    }

    /// A weight in kg from kg or g.
    static func kilograms(_ quantity: JSONObject?) -> Double? {
        guard let quantity, let value = quantity["value"]?.numberText.flatMap(Double.init) else { return nil }
        switch (quantity["code"]?.stringValue ?? quantity["unit"]?.stringValue ?? "kg").lowercased() {
        case "kg": return value
        case "g": return value / 1_000
        default: return nil
        }
    }

    /// "12,5": at most two decimals, Swedish decimal comma.
    static func text(_ value: Double) -> String {
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text.replacingOccurrences(of: ".", with: ",")
    }
}
