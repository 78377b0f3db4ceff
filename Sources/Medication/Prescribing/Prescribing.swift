public import Access
public import FHIRCore
import Foundation
public import NLLClient
public import StoreModel
public import Terminology

/// How prescribing reaches Nationella läkemedelslistan, and the dates and limits it works under.
public struct PrescribingSettings: Sendable {
    /// The NLL client; nil when no NLL is configured (prescriptions then wait as "ej skickad").
    public var nll: NLLClient?
    /// The organisation's bearer token for NLL (read from a file the operator keeps 0600).
    public var token: String
    /// `x-user-agent`: this system and its version.
    public var userAgent: String
    /// From this day (Swedish time) an e-prescription carries ordinationsorsak and a latest follow-up or end date.
    public var structuredReasonRequiredFrom: String
    /// A prescription not sent after this many minutes is overdue on the prescriber's "ej skickad" list.
    public var unsentAlarmMinutes: Int
    /// The server's clock, in milliseconds since 1970 (a test sets it).
    public var clock: @Sendable () -> Int64
    /// Whose token NLL sees on a user's call: the organisation's, or the user's own from the region's identity provider.
    public var authorization: NLLAuthorization
    /// The region's identity provider's token exchange, for `authorization` `exchange`.
    public var exchange: TokenExchange?

    /// Whose bearer token goes to NLL.
    public enum NLLAuthorization: String, Sendable, CaseIterable {
        /// The organisation's token (`token`) on every call.
        case organisation
        /// The signed-in user's own token (SITHS through the region's identity provider) on the user's calls; a user
        /// signed in another way is refused. The outbox's resends, which no user makes, go with the organisation's.
        case user
        /// As `user`, but the user's token is first exchanged at the region's identity provider (RFC 8693) for one
        /// issued for NLL, so NLL never receives a token meant for Kärna.
        case exchange
    }

    public init(nll: NLLClient? = nil, token: String = "", userAgent: String = "Karna", structuredReasonRequiredFrom: String = "2028-09-01",
                unsentAlarmMinutes: Int = 30, authorization: NLLAuthorization = .organisation, exchange: TokenExchange? = nil,
                clock: @escaping @Sendable () -> Int64 = { Instant.now() }) {
        self.nll = nll
        self.token = token
        self.authorization = authorization
        self.exchange = exchange
        self.userAgent = userAgent
        self.structuredReasonRequiredFrom = structuredReasonRequiredFrom
        self.unsentAlarmMinutes = unsentAlarmMinutes
        self.clock = clock
    }

    func now() -> Int64 { clock() }

    /// The bearer token for a call made in `session`.
    func bearer(for session: PatientDataSession) async throws -> String {
        guard authorization != .organisation, session.principal.kind != .system else { return token }
        guard let own = session.principal.identityToken else {
            throw FHIRError(.invalid, code: .businessRule,
                            "NLL is called with the user's own token (nll-authorization user): sign in through the region's identity provider (SITHS) to prescribe or read NLL",
                            text: "Nationella läkemedelslistan kräver din egen inloggning med SITHS-kort. Logga in via regionens inloggningstjänst för att förskriva eller läsa listan.")
        }
        guard authorization == .exchange else { return own }
        guard let exchange else {
            throw FHIRError(.internalError, code: .exception, "nll-authorization exchange is set without the identity provider's token exchange (nll-token-exchange-url)")
        }
        do {
            return try await exchange.token(for: own)
        } catch {
            // Nothing is written when NLL cannot be called in the user's name: the user signs in again or waits.
            throw FHIRError(.invalid, code: .businessRule, "NLL is called with the user's token exchanged at the identity provider, and \(error)",
                            text: error.swedish)
        }
    }

    /// Whether the 2028 requirement (HSLF-FS 2016:34 as amended) is in force at `time`.
    func structuredReasonRequired(at time: Int64) -> Bool {
        SwedishTime.formatDay(SwedishTime.day(of: time)) >= structuredReasonRequiredFrom
    }
}

/// The reasons a prescription is ended (avsluta) or withdrawn (makulera), from `forskrivning.json`.
public struct PrescriptionReasons: Sendable, Decodable {
    public struct Reason: Sendable, Decodable {
        public var code: String
        public var display: String
    }
    public var notice: String
    public var stopReasons: [Reason]
    public var cancelReasons: [Reason]

    /// The shipped lists.
    public static func shipped() throws -> PrescriptionReasons {
        guard let url = Bundle.module.url(forResource: "forskrivning", withExtension: "json", subdirectory: "DecisionSupportData") else {
            throw RulesError(file: "forskrivning.json", problem: "not in the module's resources")
        }
        return try JSONDecoder().decode(PrescriptionReasons.self, from: Data(contentsOf: url))
    }
}

/// Förskrivning to Nationella läkemedelslistan: prescribe, renew, replace, register in parallel, end and
/// withdraw, each kept in the journal and sent to NLL through an outbox (a prescription NLL has not
/// confirmed is "ej skickad", never shown as sent); and NLL's list of the patient, read on a recorded
/// åtkomsttyp and joined with the journal's ordinations.
public struct Prescribing: Sendable {
    public let settings: PrescribingSettings
    let reasons: PrescriptionReasons
    /// The drug catalogue, for the ATC code of a product NLL names by NPL identity only.
    let terminology: TerminologyService?

    public init(settings: PrescribingSettings, terminology: TerminologyService? = nil) {
        self.settings = settings
        self.terminology = terminology
        self.reasons = (try? PrescriptionReasons.shipped()) ?? PrescriptionReasons(notice: "", stopReasons: [], cancelReasons: [])
    }

    // MARK: Who and whom

    /// The prescriber's förskrivarkod, from the Practitioner record.
    static func prescriberCode(practitionerID: String, session: PatientDataSession) async throws -> String? {
        let practitioner = try await session.read(type: "Practitioner", id: practitionerID)?.object
        return (practitioner?["identifier"]?.arrayValue ?? []).compactMap(\.objectValue)
            .first { $0["system"]?.stringValue == Prescription.prescriberCodeSystem }?["value"]?.stringValue
    }

    /// The patient's personnummer (12 digits), if the record has one (not a samordnings- or reservnummer).
    static func personnummer(_ patient: JSONObject) -> String? {
        for identifier in (patient["identifier"]?.arrayValue ?? []).compactMap(\.objectValue)
        where identifier["system"]?.stringValue == SwedishPersonalIdentity.personnummerSystem {
            if let value = identifier["value"]?.stringValue, let parsed = try? SwedishPersonalIdentity(value), parsed.kind == .personnummer {
                return parsed.canonical
            }
        }
        return nil
    }

    /// A person as NLL's provenance names them: name and HSA-id.
    static func person(practitionerID: String, session: PatientDataSession) async throws -> (name: String, hsaID: String) {
        let practitioner = try await session.read(type: "Practitioner", id: practitionerID)?.object
        let hsa = (practitioner?["identifier"]?.arrayValue ?? []).compactMap(\.objectValue)
            .first { $0["system"]?.stringValue == "urn:oid:1.2.752.29.4.19" }?["value"]?.stringValue ?? practitionerID
        return (practitioner.map(Display.name) ?? "", hsa)
    }

    // MARK: Prescribe

    /// What `$prescribe` answers: the stored prescription, whether NLL has it, and the warnings to show.
    public struct Outcome: Sendable {
        public var prescription: StoredResource
        public var sent: Bool
        public var warnings: [String]
        public var cards: [DecisionCard]
    }

    /// Writes a förskrivning from the prescriber's draft, fills in what is generated (patient text, chain,
    /// prescriber, enterer), runs läkemedelskontroll on all the patient's drugs (NLL's too, with `nllDrugs`)
    /// and sends it. A critical card stops it unless `overrideReason` is given.
    public func prescribe(_ draft: JSONObject, patientID: String, overrideReason: String?, nllDrugs: [NLLRow] = [],
                          decisionSupport: [any DecisionSupportService], session: PatientDataSession) async throws -> Outcome {
        let principal = session.principal
        guard principal.kind == .practitioner, let assignment = principal.assignment else {
            throw FHIRError(.forbidden, code: .forbidden, "a prescription is written by a prescriber with an assignment")
        }
        // A prescriber NLL cannot hear from (no token of their own where NLL asks for one) is told now, before anything is written.
        if settings.nll != nil { _ = try await settings.bearer(for: session) }
        var request = draft
        request["resourceType"] = .string("MedicationRequest")
        let id = request["id"]?.stringValue ?? UUID().uuidString.lowercased()
        request["id"] = .string(id)
        request["status"] = .string(request["status"]?.stringValue ?? "active")
        request["intent"] = .string("order")
        request["category"] = .array([FHIR.concept(Prescription.categorySystem, Prescription.category, "Förskrivning")])
        request["subject"] = FHIR.reference("Patient", patientID)
        request["authoredOn"] = .string(Instant.format(milliseconds: settings.now()))
        if request["requester"] == nil {
            request["requester"] = FHIR.reference("PractitionerRole", assignment.id, display: principal.displayName)
        }
        request["recorder"] = FHIR.reference("Practitioner", assignment.practitionerID, display: principal.displayName)
        if request.extensionValue(Prescription.registrationExtension) == nil {
            request.setExtension(Prescription.registrationExtension, "valueCode", .string("ny"))
        }
        if request["groupIdentifier"] == nil {
            request["groupIdentifier"] = FHIR.object([("system", .string(Prescription.chainSystem)), ("value", .string(UUID().uuidString.lowercased()))])
        }
        var dosages = (request["dosageInstruction"]?.arrayValue ?? []).compactMap(\.objectValue)
        if !dosages.isEmpty {
            dosages[0]["patientInstruction"] = .string(Prescription.patientText(request))
            request["dosageInstruction"] = .array(dosages.map(JSONValue.object))
        }
        var warnings: [String] = []
        if !settings.structuredReasonRequired(at: settings.now()) {
            if !Prescription.hasOrdinationReason(request) {
                warnings.append("Ordinationsorsak saknas. Från \(settings.structuredReasonRequiredFrom) krävs den på e-recept.")
            }
            if request.extensionValue(Prescription.followUpExtension) == nil {
                warnings.append("Senaste datum för uppföljning eller avslut saknas. Från \(settings.structuredReasonRequiredFrom) krävs det på e-recept.")
            }
        }
        if Prescription.isFreeTextOnly(request) {
            warnings.append("Doseringen är fritext: doskontroller kan inte göras.")
        }
        // Läkemedelskontroll before signing, over the journal's drugs and NLL's that the journal lacks.
        let cards = try await check("order-sign", request, patientID: patientID, nllDrugs: nllDrugs, decisionSupport: decisionSupport, session: session)
        let critical = cards.filter { $0.indicator == .critical }
        if !critical.isEmpty, (overrideReason ?? "").isEmpty {
            throw FHIRError(.conflict, code: .businessRule,
                            "läkemedelskontroll: \(critical.map(\.summary).joined(separator: "; ")) — give overrideReason to prescribe anyway",
                            expression: ["overrideReason"], text: "Läkemedelskontrollen varnar: \(critical.map(\.summary).joined(separator: "; ")). Ange skäl för att ändå förskriva.")
        }
        if let overrideReason, !critical.isEmpty {
            request["note"] = .array((request["note"]?.arrayValue ?? []) + [FHIR.object([("text", .string("Förskrivet trots varning: \(overrideReason)"))])])
        }
        Prescription.setSendState(&request, "ej-skickad")
        request.setExtension(Prescription.pendingExtension, "valueCode", .string("create"))
        request.setExtension(Prescription.requestIDExtension, "valueString", .string(UUID().uuidString.lowercased()))
        let stored = try Medication.stored(try await session.commit(.create(request, type: "MedicationRequest", id: id)), "the prescription")
        let sent = try await send(stored, session: session)
        if sent == nil { warnings.append("Receptet kunde inte skickas till Nationella läkemedelslistan och ligger som ej skickat. Det skickas igen automatiskt.") }
        return Outcome(prescription: sent ?? stored, sent: sent != nil, warnings: warnings, cards: cards)
    }

    /// Läkemedelskontroll of a draft prescription at `hook` (order-select when the product is chosen, order-sign
    /// before signing), counting NLL's active prescriptions that the journal does not hold among the patient's drugs.
    public func check(_ hook: String, _ request: JSONObject, patientID: String, nllDrugs: [NLLRow], decisionSupport: [any DecisionSupportService],
                      session: PatientDataSession) async throws -> [DecisionCard] {
        guard let service = decisionSupport.compactMap({ $0 as? MedicationSafetyService }).first(where: { $0.descriptor.hook == hook }) else { return [] }
        var context = JSONObject([("patientId", .string(patientID)), ("userId", .string(session.principal.reference))])
        var checked = request
        checked["status"] = .string("draft")
        if checked["id"] == nil { checked["id"] = .string(UUID().uuidString.lowercased()) }
        context["draftOrders"] = FHIR.object([("resourceType", .string("Bundle")), ("type", .string("collection")),
                                              ("entry", .array([FHIR.object([("resource", .object(checked))])]))])
        if hook == "order-select" { context["selections"] = .array([.string("MedicationRequest/\(checked["id"]?.stringValue ?? "")")]) }
        let others = nllDrugs.filter { $0.journal == nil && $0.status == "active" }.map {
            CurrentDrug(reference: "NLL MedicationRequest/\($0.nllID)", atc: $0.atc, name: "\($0.product) (NLL)")
        }
        return try await service.call(HookCall(hook: hook, hookInstance: UUID().uuidString.lowercased(), context: context), session: session, otherDrugs: others)
    }

    // MARK: Sending

    /// The call context for a send of `request`: the real author (the requester) and enterer (the recorder).
    func context(for request: JSONObject, activity: String, reason: String?, session: PatientDataSession) async throws -> NLLCallContext {
        guard let roleID = request.referenceID("requester", type: "PractitionerRole"), let role = try await session.assignment(id: roleID) else {
            throw FHIRError(.invalid, code: .required, "the prescription names no prescriber", expression: ["MedicationRequest.requester"])
        }
        let author = try await Self.person(practitionerID: role.practitionerID, session: session)
        let entererID = request.referenceID("recorder", type: "Practitioner") ?? role.practitionerID
        let enterer = try await Self.person(practitionerID: entererID, session: session)
        let provenance = NLLClient.provenance(author: author, enterer: enterer, activity: activity, reason: reason,
                                              target: "MedicationRequest/\(Prescription.nllID(request) ?? request.id ?? "")",
                                              recorded: Instant.format(milliseconds: settings.now()))
        return NLLCallContext(token: try await settings.bearer(for: session), provenance: provenance, contextID: UUID().uuidString.lowercased(),
                              organisation: "\(role.providerID)/\(role.unitID)", userAgent: settings.userAgent)
    }

    /// Sends what waits on `stored` to NLL once. Answers the record as NLL has it (skickad) or nil when
    /// NLL could not be reached (it stays ej skickad, the attempt counted, for the outbox). A refusal or a
    /// version conflict is recorded on the record and thrown: a person must act on it.
    @discardableResult
    public func send(_ stored: StoredResource, session: PatientDataSession) async throws -> StoredResource? {
        var request = stored.object.forUpdate
        guard let pending = request.extensionValue(Prescription.pendingExtension)?.stringValue else { return stored }
        let requestID = request.extensionValue(Prescription.requestIDExtension)?.stringValue ?? UUID().uuidString.lowercased()
        do {
            guard let nll = settings.nll else { throw NLLError.unavailable("no NLL address is configured (KARNA_NLL_URL)") }
            let context = try await context(for: request, activity: pending == "create" ? "CREATE" : "UPDATE",
                                             reason: Display.concept(request["statusReason"]).nilIfEmpty, session: session)
            let body = try await NLLMapping.resource(request, session: session)
            let call = pending == "create"
                ? NLLRequest(.post, "MedicationRequest", body: body, requestID: requestID)
                : NLLRequest(.put, "MedicationRequest/\(Prescription.nllID(request) ?? "")", body: body,
                             version: request.extensionValue(Prescription.nllVersionExtension)?.stringValue, requestID: requestID)
            let response = try await nll.send(call, context: context)
            if let nllID = response.resource?["id"]?.stringValue, Prescription.nllID(request) == nil {
                var identifiers = request["identifier"]?.arrayValue ?? []
                identifiers.append(FHIR.object([("system", .string(Prescription.nllIDSystem)), ("value", .string(nllID))]))
                request["identifier"] = .array(identifiers)
            }
            request.setExtension(Prescription.nllVersionExtension, "valueString", response.version.map(JSONValue.string))
            request.setExtension(Prescription.pendingExtension, "valueCode", nil)
            request.setExtension(Prescription.requestIDExtension, "valueString", nil)
            request.setExtension(Prescription.lastErrorExtension, "valueString", nil)
            request.setExtension(Prescription.lastErrorDetailExtension, "valueString", nil)
            Prescription.setSendState(&request, "skickad")
            do {
                return try Medication.stored(try await session.commit(.update(request, type: "MedicationRequest", id: stored.id, ifMatch: stored.versionId)),
                                             "the sent prescription")
            } catch where isConcurrencyConflict(error) {
                // The outbox and the prescriber's own send raced: NLL carried the call out once (same x-request-id),
                // and whoever wrote first recorded it.
                return try await latestSent(stored.id, session: session)
            }
        } catch let error as NLLError {
            let attempts = Int(request.extensionValue(Prescription.attemptsExtension)?.numberText ?? "0").map { $0 + 1 } ?? 1
            request.setExtension(Prescription.attemptsExtension, "valueInteger", .number(String(attempts)))
            request.setExtension(Prescription.lastErrorExtension, "valueString", .string(error.swedish))
            request.setExtension(Prescription.lastErrorDetailExtension, "valueString", .string(error.description))
            if !error.isRetryable {
                // NLL will not take it as it is: it leaves the outbox and waits for the prescriber.
                request.setExtension(Prescription.pendingExtension, "valueCode", .string("stoppad-\(pending)"))
            }
            let failure = error
            do {
                _ = try await session.commit(.update(request, type: "MedicationRequest", id: stored.id, ifMatch: stored.versionId))
            } catch where isConcurrencyConflict(error) {
                // Another send of the same version recorded its attempt first; its record stands.
                if case .unavailable = failure { return try await latestSent(stored.id, session: session) }
            }
            switch error {
            case .unavailable: return nil
            case .conflict(let why):
                throw FHIRError(.conflict, code: .conflict, "NLL holds a newer version of the prescription than Kärna changed: \(why); read NLL's list and decide again",
                                text: "Förskrivningen har ändrats i Nationella läkemedelslistan sedan du läste den. Läs om listan och gör ändringen igen.")
            case .refused(_, let message):
                throw FHIRError(.conflict, code: .businessRule, "NLL refused the prescription: \(message)", text: "Nationella läkemedelslistan tog inte emot receptet: \(message)")
            case .missingHeader(let name):
                throw FHIRError(.internalError, code: .exception, "the NLL call lacked \(name) and was not sent")
            }
        }
    }

    /// What one run of the outbox did: how many NLL took, and what went wrong with the others.
    public struct OutboxRun: Sendable {
        public var sent = 0
        public var failures: [String] = []
        public init() {}
    }

    /// The record as it is now, if it has reached NLL (sent by a concurrent send); nil while it waits.
    func latestSent(_ id: String, session: PatientDataSession) async throws -> StoredResource? {
        guard let current = try await session.read(type: "MedicationRequest", id: id) else { return nil }
        return Prescription.sendState(current.object) == "skickad" ? current : nil
    }

    /// Sends every prescription waiting in the outbox (run periodically as a system job).
    public func sendWaiting(session: PatientDataSession, limit: Int = 200) async throws -> OutboxRun {
        let waiting = try await Records(session: session).search("MedicationRequest", [("_tag", "\(Prescription.sendStateSystem)|ej-skickad")], limit: limit)
        var run = OutboxRun()
        for stored in waiting where ["create", "update"].contains(stored.object.extensionValue(Prescription.pendingExtension)?.stringValue ?? "") {
            do {
                if try await send(stored, session: session) != nil {
                    run.sent += 1
                } else {
                    let detail = try await session.read(type: "MedicationRequest", id: stored.id)?.object.extensionValue(Prescription.lastErrorDetailExtension)?.stringValue
                    run.failures.append("MedicationRequest/\(stored.id): \(detail ?? "NLL unavailable")")
                }
            } catch {
                run.failures.append("MedicationRequest/\(stored.id): \(error)")
            }
        }
        return run
    }

    // MARK: The prescription chain

    /// How a new prescription continues an earlier one.
    public enum Continuation: String, Sendable {
        case renew = "fornyelse", replace = "ersattning", parallel = "parallell"
    }

    /// Renews, replaces or registers in parallel: a new prescription in the same chain, priorPrescription the
    /// earlier one. A replacement of a product with a 7-digit ATC code keeps that ATC, and ends the earlier one.
    public func `continue`(_ priorID: String, as kind: Continuation, draft: JSONObject?, overrideReason: String?,
                           decisionSupport: [any DecisionSupportService], session: PatientDataSession) async throws -> Outcome {
        let prior = try await Records(session: session).require("MedicationRequest", priorID)
        guard Prescription.isPrescription(prior.object) else {
            throw FHIRError(.invalid, code: .invalid, "MedicationRequest/\(priorID) is not a prescription (förskrivning)")
        }
        guard prior.object["status"]?.stringValue == "active" else {
            throw refused("MedicationRequest/\(priorID) is \(prior.object["status"]?.stringValue ?? "?"): only an active prescription is renewed, replaced or paralleled",
                          text: "Endast ett aktivt recept kan förnyas, ersättas eller registreras parallellt.")
        }
        var request = prior.object.forUpdate
        for key in ["id", "meta", "identifier", "statusReason", "note"] { request[key] = nil }
        for url in [Prescription.nllVersionExtension, Prescription.requestIDExtension, Prescription.attemptsExtension, Prescription.lastErrorExtension,
                    Prescription.pendingExtension, OrdinationRule.changeReasonExtension] {
            request.setExtension(url, "valueString", nil)
        }
        if let draft { for (key, value) in draft where key != "resourceType" { request[key] = value } }
        request["status"] = .string("active")
        request["priorPrescription"] = FHIR.reference("MedicationRequest", priorID)
        request["groupIdentifier"] = prior.object["groupIdentifier"]
        request["requester"] = nil
        request.setExtension(Prescription.registrationExtension, "valueCode", .string(kind.rawValue))
        if kind == .replace {
            let (before, after) = (atc(of: prior.object), atc(of: request))
            if let before, before.count == 7, before != after {
                throw refused("a product with a complete (7-character) ATC code is replaced only by one with the same ATC: \(before) → \(after ?? "none")",
                              expression: ["MedicationRequest.medicationCodeableConcept"],
                              text: "Ersättning måste ha samma ATC-kod (\(before)). Gör en ny förskrivning och avsluta den gamla i stället.")
            }
        }
        let outcome = try await prescribe(request, patientID: prior.object.referenceID("subject", type: "Patient") ?? "", overrideReason: overrideReason,
                                          decisionSupport: decisionSupport, session: session)
        if kind == .replace {
            _ = try await end(priorID, cancel: false, reason: "ersatt", session: session)
        }
        return outcome
    }

    // MARK: Ending

    /// Avsluta (`cancel` false: the treatment ends, status stopped) or makulera (`cancel` true: the
    /// prescription is withdrawn, status cancelled), each with a coded reason from its own list. When NLL
    /// has the prescription the change goes there first against the version Kärna holds: a conflict
    /// changes nothing here. When NLL cannot be reached the end waits in the outbox as "ej skickad".
    public func end(_ id: String, cancel: Bool, reason code: String, session: PatientDataSession) async throws -> (StoredResource, sent: Bool) {
        let list = cancel ? reasons.cancelReasons : reasons.stopReasons
        guard let reason = list.first(where: { $0.code == code }) else {
            throw FHIRError(.invalid, code: .value, "reason '\(code)' is not a \(cancel ? "makuleringsorsak" : "avslutsorsak"); one of \(list.map(\.code).joined(separator: ", "))",
                            expression: ["reason"], text: "Välj orsak ur listan.")
        }
        let stored = try await Records(session: session).require("MedicationRequest", id)
        guard Prescription.isPrescription(stored.object) else { throw FHIRError(.invalid, code: .invalid, "MedicationRequest/\(id) is not a prescription (förskrivning)") }
        var request = stored.object.forUpdate
        request["status"] = .string(cancel ? "cancelled" : "stopped")
        request["statusReason"] = FHIR.concept(cancel ? Prescription.cancelReasonSystem : Prescription.stopReasonSystem, reason.code, reason.display)
        if Prescription.nllID(request) == nil, request.extensionValue(Prescription.pendingExtension)?.stringValue == "create" {
            // NLL never had it: it is withdrawn here and nothing is sent.
            request.setExtension(Prescription.pendingExtension, "valueCode", nil)
            Prescription.setSendState(&request, "ej-skickad")
            return (try Medication.stored(try await session.commit(.update(request, type: "MedicationRequest", id: id, ifMatch: stored.versionId)), "the ended prescription"), false)
        }
        request.setExtension(Prescription.pendingExtension, "valueCode", .string("update"))
        request.setExtension(Prescription.requestIDExtension, "valueString", .string(UUID().uuidString.lowercased()))
        request.setExtension(Prescription.attemptsExtension, "valueInteger", nil)
        // NLL first: a conflict there must leave Kärna's record as it was.
        if let nll = settings.nll {
            let context = try await context(for: request, activity: "UPDATE", reason: reason.display, session: session)
            let call = NLLRequest(.put, "MedicationRequest/\(Prescription.nllID(request) ?? "")", body: try await NLLMapping.resource(request, session: session),
                                  version: request.extensionValue(Prescription.nllVersionExtension)?.stringValue,
                                  requestID: request.extensionValue(Prescription.requestIDExtension)?.stringValue ?? UUID().uuidString.lowercased())
            do {
                let response = try await nll.send(call, context: context)
                request.setExtension(Prescription.nllVersionExtension, "valueString", response.version.map(JSONValue.string))
                request.setExtension(Prescription.pendingExtension, "valueCode", nil)
                request.setExtension(Prescription.requestIDExtension, "valueString", nil)
                Prescription.setSendState(&request, "skickad")
                return (try Medication.stored(try await session.commit(.update(request, type: "MedicationRequest", id: id, ifMatch: stored.versionId)), "the ended prescription"), true)
            } catch let error as NLLError {
                switch error {
                case .conflict(let why):
                    throw FHIRError(.conflict, code: .conflict, "NLL holds a newer version of the prescription: \(why); nothing was changed",
                                    text: "Förskrivningen har ändrats i Nationella läkemedelslistan sedan den lästes. Inget ändrades. Läs om listan och gör om.")
                case .refused(_, let message):
                    throw FHIRError(.conflict, code: .businessRule, "NLL refused the change: \(message); nothing was changed",
                                    text: "Nationella läkemedelslistan tog inte emot ändringen: \(message)")
                case .missingHeader(let name):
                    throw FHIRError(.internalError, code: .exception, "the NLL call lacked \(name) and was not sent")
                case .unavailable:
                    break  // The end is kept and waits in the outbox.
                }
            }
        }
        Prescription.setSendState(&request, "ej-skickad")
        request.setExtension(Prescription.attemptsExtension, "valueInteger", .number("1"))
        return (try Medication.stored(try await session.commit(.update(request, type: "MedicationRequest", id: id, ifMatch: stored.versionId)), "the ended prescription"), false)
    }

    // MARK: The prescriber's "ej skickad" list

    /// A prescription NLL does not have (yet), on its owner's list.
    public struct Unsent: Sendable {
        public var prescription: StoredResource
        public var product: String
        public var patient: String
        public var waitingMinutes: Int
        public var overdue: Bool
        public var attempts: Int
        public var lastError: String?
        /// Waiting in the outbox (true) or stopped by NLL's refusal or a conflict, for the prescriber to act.
        public var retrying: Bool
    }

    /// Every "ej skickad" prescription owned by the prescriber `roleID` (the requester; nil: every
    /// prescriber's, for the alarm job), oldest first.
    public func unsent(roleID: String?, session: PatientDataSession) async throws -> [Unsent] {
        var parameters = [("_tag", "\(Prescription.sendStateSystem)|ej-skickad")]
        if let roleID { parameters.append(("requester", "PractitionerRole/\(roleID)")) }
        let found = try await Records(session: session).search("MedicationRequest", parameters, limit: 500)
        let now = settings.now()
        return found.compactMap { stored -> Unsent? in
            let object = stored.object
            guard let pending = object.extensionValue(Prescription.pendingExtension)?.stringValue else { return nil }
            let since = object["authoredOn"]?.stringValue.flatMap(Instant.parse) ?? stored.lastUpdated
            let minutes = Int((now - since) / 60_000)
            return Unsent(prescription: stored, product: Display.concept(object["medicationCodeableConcept"]),
                          patient: object.referenceID("subject", type: "Patient") ?? "", waitingMinutes: minutes,
                          overdue: minutes >= settings.unsentAlarmMinutes,
                          attempts: Int(object.extensionValue(Prescription.attemptsExtension)?.numberText ?? "0") ?? 0,
                          lastError: object.extensionValue(Prescription.lastErrorExtension)?.stringValue,
                          retrying: !pending.hasPrefix("stoppad"))
        }.sorted { $0.waitingMinutes > $1.waitingMinutes }
    }

    /// The reserve prescription (reservrecept) to print when NLL cannot be reached: everything a pharmacy needs.
    public func reservePrescription(_ id: String, session: PatientDataSession) async throws -> String {
        let stored = try await Records(session: session).require("MedicationRequest", id)
        let object = stored.object
        guard Prescription.isPrescription(object), Prescription.sendState(object) == "ej-skickad" else {
            throw refused("MedicationRequest/\(id) is not an unsent prescription: a reserve prescription is printed only for one NLL does not have",
                          text: "Reservrecept skrivs bara ut för recept som inte är skickade.")
        }
        let patientID = object.referenceID("subject", type: "Patient") ?? ""
        let patient = try await session.read(type: "Patient", id: patientID)?.object
        let roleID = object.referenceID("requester", type: "PractitionerRole") ?? ""
        let role = try await session.assignment(id: roleID)
        var prescriber: (name: String, hsaID: String)?
        var code: String?
        if let role {
            prescriber = try await Self.person(practitionerID: role.practitionerID, session: session)
            code = try await Self.prescriberCode(practitionerID: role.practitionerID, session: session)
        }
        let supply = object["dispenseRequest"]?.objectValue
        let identity = patient.flatMap(Self.personnummer) ?? (patient?["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue ?? patientID)
        let lines = [
            "RESERVRECEPT — ej skickat till Nationella läkemedelslistan",
            "Patient: \(patient.map(Display.name) ?? ""), \(identity)",
            "Läkemedel: \(Display.concept(object["medicationCodeableConcept"])) (\(Prescription.product(object).map { "\($0.system == Prescription.nplPackID ? "NPL-pack-id" : "NPL-id") \($0.code)" } ?? ""))",
            "Doseringsanvisning:",
            object["dosageInstruction"]?.arrayValue?.first?.objectValue?["patientInstruction"]?.stringValue ?? "",
            "Mängd per uttag: \(supply?["quantity"]?.objectValue?["value"]?.numberText ?? "") \(supply?["quantity"]?.objectValue?["unit"]?.stringValue ?? "")",
            "Antal uttag: \((Int(supply?["numberOfRepeatsAllowed"]?.numberText ?? "0") ?? 0) + 1)",
            "Giltigt till: \(supply?["validityPeriod"]?.objectValue?["end"]?.stringValue ?? "")",
            "Ordinationsorsak: \(Display.concept(object["reasonCode"]?.arrayValue?.first))",
            "Förskrivare: \(prescriber?.name ?? ""), förskrivarkod \(code ?? "saknas"), \(role?.unitName ?? "")",
            "Utfärdat: \(SwedishTime.format(Instant.now()))",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
