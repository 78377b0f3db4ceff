public import Access
import FHIRCore
import Foundation
import StoreModel

/// Läkemedelskontroll as CDS Hooks services: at `order-select` and `order-sign` every draft
/// MedicationRequest is checked for interactions, allergy, duplicates and renal limits against the
/// patient's record. Each check runs on its own with a time limit: one that fails or runs out says
/// "Kontroll ej utförd" on a card instead of passing silently. Critical and warning cards are stored
/// as DetectedIssue (preliminary) when shown; the user's decision (feedback) makes them final.
public struct MedicationSafetyService: DecisionSupportService {
    public let descriptor: DecisionSupportDescriptor
    /// The tables, or why they could not be read: then every call answers "Kontroll ej utförd".
    let rules: Result<MedicationSafetyRules, RulesError>
    let checks: [MedicationCheck]

    /// The service for one hook, with the checks Kärna ships (a test may hand others).
    public init(hook: String, rules: Result<MedicationSafetyRules, RulesError>) {
        self.init(hook: hook, rules: rules, checks: MedicationCheck.all)
    }

    init(hook: String, rules: Result<MedicationSafetyRules, RulesError>, checks: [MedicationCheck]) {
        let when = hook == "order-select" ? "när ett läkemedel väljs" : "innan ordinationen signeras"
        self.descriptor = DecisionSupportDescriptor(
            id: "lakemedelskontroll-\(hook)", hook: hook, title: "Läkemedelskontroll",
            description: "Interaktioner, allergi, dubbletter och njurfunktion \(when).",
            prefetch: [("patient", "Patient/{{context.patientId}}"),
                       ("medications", "MedicationRequest?patient={{context.patientId}}&status=active,on-hold"),
                       ("allergies", "AllergyIntolerance?patient={{context.patientId}}&clinical-status=active")])
        self.rules = rules
        self.checks = checks
    }

    public static let topicSystem = "https://karna.se/fhir/CodeSystem/lakemedelskontroll"
    public static let outcomeSystem = "https://karna.se/fhir/CodeSystem/beslutsstod-utfall"

    public func call(_ call: HookCall, session: PatientDataSession) async throws -> [DecisionCard] {
        try await self.call(call, session: session, otherDrugs: [])
    }

    /// The checks with `otherDrugs` counted among the patient's current drugs: prescriptions read from
    /// Nationella läkemedelslistan that the journal does not hold.
    func call(_ call: HookCall, session: PatientDataSession, otherDrugs: [CurrentDrug]) async throws -> [DecisionCard] {
        guard let patientID = call.patientID, !patientID.isEmpty else {
            throw FHIRError(.invalid, code: .required, "context.patientId is required for \(call.hook)", expression: ["context.patientId"])
        }
        // The caller's right to the patient first: a refusal is an answer, not a check that failed.
        try await session.requireAccess(patientID: patientID)
        let drafts = try DraftOrder.read(call)
        guard !drafts.isEmpty else { return [] }
        let rules = try self.rules.get()
        let record = PatientRecord(patientID: patientID, session: session, rules: rules, otherDrugs: otherDrugs)
        let input = MedicationCheck.Input(drafts: drafts, record: record, rules: rules)
        let timeout = Duration.milliseconds(rules.checkTimeoutMilliseconds)
        var cards: [DecisionCard] = []
        await withTaskGroup(of: (Int, [DecisionCard]).self) { group in
            for (index, check) in checks.enumerated() {
                group.addTask { (index, await Self.run(check, input, timeout: timeout)) }
            }
            var byCheck: [Int: [DecisionCard]] = [:]
            for await (index, found) in group { byCheck[index] = found }
            cards = checks.indices.flatMap { byCheck[$0] ?? [] }
        }
        try await store(cards, patientID: patientID, session: session)
        return cards
    }

    /// One check within its time; whatever goes wrong becomes a card that says the check was not done.
    static func run(_ check: MedicationCheck, _ input: MedicationCheck.Input, timeout: Duration) async -> [DecisionCard] {
        let outcome: Result<[DecisionCard], any Error> = await withTaskGroup(of: Result<[DecisionCard], any Error>?.self) { group in
            group.addTask {
                do { return .success(try await check.run(input)) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failure(CheckTimedOut(timeout: timeout))
            }
            var first: Result<[DecisionCard], any Error>?
            for await result in group {
                if let result { first = result; break }
            }
            group.cancelAll()
            return first ?? .failure(CancellationError())
        }
        switch outcome {
        case .success(let cards): return cards
        case .failure(let error): return [notDone(check, reason: error, rules: input.rules)]
        }
    }

    static func notDone(_ check: MedicationCheck, reason: any Error, rules: MedicationSafetyRules) -> DecisionCard {
        let why = reason is CheckTimedOut ? "den tog längre än \(rules.checkTimeoutMilliseconds) ms" : "ett fel uppstod (\(String(describing: reason)))"
        return DecisionCard(
            summary: "Kontroll ej utförd: \(check.title)",
            detail: "Kontrollen av \(check.title) kunde inte göras: \(why). Bedöm \(check.title) själv innan du går vidare.",
            indicator: .warning, sourceLabel: "Kärna läkemedelskontroll",
            topic: (topicSystem, "ej-utford", "Kontroll ej utförd"), overrideReasons: reasons(rules))
    }

    static func reasons(_ rules: MedicationSafetyRules) -> [(system: String, code: String, display: String)] {
        rules.overrideReasons.map { ($0.system, $0.code, $0.display) }
    }

    /// Stores the cards a user must decide on as preliminary DetectedIssues, ids the cards' uuids.
    func store(_ cards: [DecisionCard], patientID: String, session: PatientDataSession) async throws {
        let decided = cards.filter { $0.indicator != .info }
        guard !decided.isEmpty else { return }
        let now = Instant.format(milliseconds: Instant.now())
        let operations = decided.map { card in
            let issue = FHIR.object([
                ("resourceType", .string("DetectedIssue")), ("id", .string(card.uuid)), ("status", .string("preliminary")),
                ("code", card.topic.map { FHIR.concept($0.system, $0.code, $0.display) }),
                ("severity", .string(card.indicator == .critical ? "high" : "moderate")),
                ("patient", FHIR.reference("Patient", patientID)),
                ("identifiedDateTime", .string(now)),
                ("implicated", card.implicated.isEmpty ? nil : .array(card.implicated.map { FHIR.object([("reference", .string($0))]) })),
                ("detail", .string([card.summary, card.detail].compactMap { $0 }.joined(separator: "\n"))),
                ("reference", card.sourceURL.map { .string($0) }),
                ("extension", .array([FHIR.object([("url", .string(Self.sourceExtension)), ("valueString", .string(card.sourceLabel))])])),
            ]).objectValue ?? JSONObject()
            return WriteOperation.create(issue, type: "DetectedIssue", id: card.uuid)
        }
        _ = try await session.commit(operations)
    }

    public static let sourceExtension = "https://karna.se/fhir/StructureDefinition/beslutsstod-kalla"

    public func feedback(_ feedback: [HookFeedback], session: PatientDataSession) async throws {
        var operations: [WriteOperation] = []
        for (index, item) in feedback.enumerated() {
            guard let stored = try await session.read(type: "DetectedIssue", id: item.card), var issue = Optional(stored.object) else {
                throw FHIRError(.notFound, code: .notFound, "feedback[\(index)].card: no card \(item.card) that needs a decision was issued by \(descriptor.id)",
                                expression: ["feedback[\(index)].card"])
            }
            guard issue["status"]?.stringValue == "preliminary" else {
                throw FHIRError(.conflict, code: .businessRule, "feedback[\(index)].card: the decision on card \(item.card) is already recorded",
                                expression: ["feedback[\(index)].card"], text: "Beslutet om kortet är redan registrerat.")
            }
            let reason = item.overrideReason.flatMap { $0.display ?? $0.code }
            if item.outcome == .overridden, issue["severity"]?.stringValue == "high", reason == nil, (item.userComment ?? "").isEmpty {
                throw FHIRError(.invalid, code: .required, "feedback[\(index)].overrideReason: a critical card is overridden only with a reason",
                                expression: ["feedback[\(index)].overrideReason"], text: "Ange varför du går vidare trots varningen.")
            }
            let text = [item.outcome == .accepted ? "Accepterat" : "Åsidosatt", reason, item.userComment].compactMap { $0 }.joined(separator: ": ")
            issue["status"] = .string("final")
            issue.append("mitigation", FHIR.object([
                ("action", FHIR.concept(Self.outcomeSystem, item.outcome.rawValue, item.outcome == .accepted ? "Accepterat" : "Åsidosatt", text: text)),
                ("date", .string(item.outcomeTimestamp)),
                ("author", session.principal.kind == .practitioner ? FHIR.object([("reference", .string(session.principal.reference))]) : nil),
            ]))
            operations.append(.update(issue.forUpdate, type: "DetectedIssue", id: item.card, ifMatch: stored.versionId))
        }
        _ = try await session.commit(operations)
    }
}

/// A check that ran out of its time.
struct CheckTimedOut: Error, CustomStringConvertible {
    let timeout: Duration
    var description: String { "timed out after \(timeout)" }
}
