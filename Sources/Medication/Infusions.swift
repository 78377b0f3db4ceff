import Access
import FHIRCore
import Foundation
import StoreModel

/// An infusion given under an ordination: each period at one rate is a MedicationAdministration (the
/// first one is the infusion; later ones point to it with `partOf`), so a rate change and the stop are
/// recorded with who and when, the history stays, and the volume given is computed from rates × times.
/// The dose rules (`AdministrationRule`) apply to every period: an active ordination, the performer, no
/// future time, dubbelkontroll for a high-risk drug.
struct Infusion: Sendable {
    /// One period at one rate (ml/h).
    struct Period: Sendable {
        var id: String
        var start: Int64
        var end: Int64?
        var rate: Double
        var status: String

        /// Millilitres given in this period, up to `now` while it runs.
        func volume(now: Int64) -> Double {
            let until = end ?? max(start, now)
            return rate * Double(until - start) / 3_600_000
        }
    }

    var id: String
    var requestID: String
    var periods: [Period]

    var isRunning: Bool { periods.last.map { $0.end == nil && $0.status == "in-progress" } ?? false }
    func volume(now: Int64) -> Double { periods.reduce(0) { $0 + $1.volume(now: now) } }

    /// A rate in UCUM mL/h, written "ml/h" as Swedish wards do.
    static func rateQuantity(_ rate: Double) -> JSONValue {
        FHIR.object([("value", .number(AdministrationRule.text(rate))), ("unit", .string("ml/h")),
                     ("system", .string("http://unitsofmeasure.org")), ("code", .string("mL/h"))])
    }

    // MARK: Reading

    /// The infusion that `id` (its first period or any later one) belongs to, with every period in order.
    static func read(_ id: String, session: PatientDataSession) async throws -> Infusion {
        guard let stored = try await session.read(type: "MedicationAdministration", id: id), !stored.isDeleted else {
            throw FHIRError(.notFound, code: .notFound, "MedicationAdministration/\(id) does not exist")
        }
        let object = stored.object
        let firstID = Self.partOf(object) ?? id
        guard let requestID = object.referenceID("request", type: "MedicationRequest"), Self.rate(object) != nil else {
            throw FHIRError(.invalid, code: .businessRule, "MedicationAdministration/\(id) is not an infusion period: it has no request and dosage.rateQuantity")
        }
        let query = try SearchQuery.parse(type: "MedicationAdministration", parameters: [("request", "MedicationRequest/\(requestID)")], strict: true)
        let periods = try await session.search(query, limit: 1_000).resources.compactMap { record -> Period? in
            let object = record.object
            guard record.id == firstID || Self.partOf(object) == firstID,
                  object["status"]?.stringValue != "entered-in-error", let rate = Self.rate(object),
                  let start = (object["effectivePeriod"]?.objectValue?["start"]?.stringValue).flatMap(Instant.parse) else { return nil }
            let end = (object["effectivePeriod"]?.objectValue?["end"]?.stringValue).flatMap(Instant.parse)
            return Period(id: record.id, start: start, end: end, rate: rate, status: object["status"]?.stringValue ?? "")
        }.sorted { ($0.start, $0.id) < ($1.start, $1.id) }
        return Infusion(id: firstID, requestID: requestID, periods: periods)
    }

    /// The infusion a later period belongs to (`partOf[0]`, a MedicationAdministration).
    static func partOf(_ administration: JSONObject) -> String? {
        guard let reference = administration["partOf"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue,
              reference.hasPrefix("MedicationAdministration/") else { return nil }
        return String(reference.dropFirst("MedicationAdministration/".count))
    }

    static func rate(_ administration: JSONObject) -> Double? {
        administration["dosage"]?.objectValue?["rateQuantity"]?.objectValue?["value"]?.numberText.flatMap(Double.init)
    }

    // MARK: Recording

    /// Starts an infusion under an active ordination at `rate` ml/h, at `time` (default now).
    static func start(requestID: String, rate: Double, time: Int64?, session: PatientDataSession) async throws -> StoredResource {
        guard let order = try await session.read(type: "MedicationRequest", id: requestID)?.object else {
            throw FHIRError(.notFound, code: .notFound, "MedicationRequest/\(requestID) does not exist")
        }
        try checkRate(rate, order: order, requestID: requestID)
        let id = UUID().uuidString.lowercased()
        let period = try periodResource(order: order, requestID: requestID, rate: rate, start: time ?? Instant.now(), partOf: nil, session: session)
        return try Medication.stored(await session.commit(.create(period, type: "MedicationAdministration", id: id)), "the infusion period")
    }

    /// Ends the running period at `time` and starts the next at the new rate: one commit, so the infusion is never without a rate.
    static func changeRate(_ infusionID: String, rate: Double, time: Int64?, session: PatientDataSession) async throws -> StoredResource {
        let infusion = try await read(infusionID, session: session)
        let (running, when) = try runningPeriod(infusion, time: time)
        guard let order = try await session.read(type: "MedicationRequest", id: infusion.requestID)?.object else {
            throw FHIRError(.notFound, code: .notFound, "MedicationRequest/\(infusion.requestID) does not exist")
        }
        try checkRate(rate, order: order, requestID: infusion.requestID)
        guard rate != running.rate else {
            throw FHIRError(.invalid, code: .value, "the infusion already runs at \(AdministrationRule.text(rate)) ml/h", expression: ["rate"])
        }
        let next = try periodResource(order: order, requestID: infusion.requestID, rate: rate, start: when, partOf: infusion.id, session: session)
        let results = try await session.commit([try await ended(running.id, at: when, status: "completed", reason: nil, session: session),
                                                .create(next, type: "MedicationAdministration", id: UUID().uuidString.lowercased())])
        return try Medication.stored(results[1], "the infusion period")
    }

    /// Stops the infusion at `time`: the running period ends (completed, or stopped with the reason when it ends early).
    static func stop(_ infusionID: String, time: Int64?, reason: String?, session: PatientDataSession) async throws -> StoredResource {
        let infusion = try await read(infusionID, session: session)
        let (running, when) = try runningPeriod(infusion, time: time)
        // An ordination stopped meanwhile still lets the nurse end what runs: as stopped, with that as the reason.
        let orderStatus = try await session.read(type: "MedicationRequest", id: infusion.requestID)?.object["status"]?.stringValue
        let why = reason ?? (orderStatus == "active" ? nil : "Ordinationen är inte längre aktiv")
        return try Medication.stored(await session.commit(try await ended(running.id, at: when, status: why == nil ? "completed" : "stopped", reason: why, session: session)), "the infusion period")
    }

    /// The running period and the time a change takes effect (not before the period began).
    static func runningPeriod(_ infusion: Infusion, time: Int64?) throws -> (Period, Int64) {
        guard infusion.isRunning, let running = infusion.periods.last else {
            throw FHIRError(.conflict, code: .businessRule, "the infusion MedicationAdministration/\(infusion.id) is not running",
                            text: "Infusionen pågår inte.")
        }
        let when = time ?? Instant.now()
        guard when >= running.start else {
            throw FHIRError(.invalid, code: .value, "time \(Instant.format(milliseconds: when)) is before the running period began (\(Instant.format(milliseconds: running.start)))",
                            expression: ["time"])
        }
        return (running, when)
    }

    /// The rate must be above zero and within what the ordination states (rateQuantity exactly, or rateRange).
    static func checkRate(_ rate: Double, order: JSONObject, requestID: String) throws {
        guard rate > 0, rate.isFinite else {
            throw FHIRError(.invalid, code: .value, "rate must be above 0 ml/h (stop the infusion to end it)", expression: ["rate"])
        }
        let ordered = (order["dosageInstruction"]?.arrayValue ?? []).compactMap(\.objectValue)
            .flatMap { ($0["doseAndRate"]?.arrayValue ?? []).compactMap(\.objectValue) }
        for item in ordered {
            func value(_ object: JSONObject?) -> Double? { object?["value"]?.numberText.flatMap(Double.init) }
            if let range = item["rateRange"]?.objectValue {
                let low = value(range["low"]?.objectValue) ?? 0, high = value(range["high"]?.objectValue) ?? .infinity
                guard rate >= low, rate <= high else {
                    throw FHIRError(.invalid, code: .businessRule,
                                    "rate \(AdministrationRule.text(rate)) ml/h is outside the ordination's \(AdministrationRule.text(low))–\(AdministrationRule.text(high)) ml/h (MedicationRequest/\(requestID)): the ordinator decides",
                                    expression: ["rate"], text: "Hastigheten ligger utanför ordinationen. Kontakta ordinatören.")
                }
                return
            }
            if let fixed = value(item["rateQuantity"]?.objectValue), rate != fixed {
                throw FHIRError(.invalid, code: .businessRule,
                                "rate \(AdministrationRule.text(rate)) ml/h is not the ordination's \(AdministrationRule.text(fixed)) ml/h (MedicationRequest/\(requestID)): the ordinator decides",
                                expression: ["rate"], text: "Hastigheten är inte den ordinerade. Kontakta ordinatören.")
            }
        }
    }

    /// A new running period: the ordination's drug, patient and stay, the caller as performer.
    static func periodResource(order: JSONObject, requestID: String, rate: Double, start: Int64, partOf: String?,
                               session: PatientDataSession) throws -> JSONObject {
        guard session.principal.kind == .practitioner else {
            throw FHIRError(.forbidden, code: .forbidden, "an infusion is recorded by the nurse who gives it", text: "Infusioner dokumenteras av vården.")
        }
        var period = JSONObject([
            ("resourceType", .string("MedicationAdministration")), ("status", .string("in-progress")),
            ("medicationCodeableConcept", order["medicationCodeableConcept"] ?? FHIR.object([("text", .string("Infusion"))])),
            ("subject", order["subject"] ?? .null),
        ])
        if let stay = order["encounter"] { period["context"] = stay }
        period["effectivePeriod"] = FHIR.object([("start", .string(Instant.format(milliseconds: start)))])
        period["performer"] = .array([FHIR.object([("actor", AdministrationRule.actor(session.principal))])])
        period["request"] = FHIR.object([("reference", .string("MedicationRequest/\(requestID)"))])
        if let partOf { period["partOf"] = .array([FHIR.object([("reference", .string("MedicationAdministration/\(partOf)"))])]) }
        var dosage = JSONObject([("rateQuantity", rateQuantity(rate))])
        if let route = order["dosageInstruction"]?.arrayValue?.first?.objectValue?["route"] { dosage["route"] = route }
        period["dosage"] = .object(dosage)
        return period
    }

    /// The update that ends a running period at `time`.
    static func ended(_ id: String, at time: Int64, status: String, reason: String?, session: PatientDataSession) async throws -> WriteOperation {
        guard let stored = try await session.read(type: "MedicationAdministration", id: id) else {
            throw FHIRError(.notFound, code: .notFound, "MedicationAdministration/\(id) does not exist")
        }
        var period = stored.object
        var effective = period["effectivePeriod"]?.objectValue ?? JSONObject()
        effective["end"] = .string(Instant.format(milliseconds: time))
        period["effectivePeriod"] = .object(effective)
        period["status"] = .string(status)
        if let reason { period["statusReason"] = .array([FHIR.object([("text", .string(reason))])]) }
        return .update(period, type: "MedicationAdministration", id: id, ifMatch: stored.versionId)
    }

    // MARK: Answering

    var parameters: ParametersBuilder {
        let now = Instant.now()
        var out = ParametersBuilder()
        out.add("infusion", reference: "MedicationAdministration/\(id)")
        out.add("order", reference: "MedicationRequest/\(requestID)")
        out.add("running", bool: isRunning)
        out.add("rate", decimal: isRunning ? periods.last?.rate : nil)
        out.add("volumeGiven", decimal: volume(now: now))
        for period in periods {
            var part = ParametersBuilder()
            part.add("administration", reference: "MedicationAdministration/\(period.id)")
            part.add("start", Instant.format(milliseconds: period.start))
            part.add("end", period.end.map { Instant.format(milliseconds: $0) })
            part.add("rate", decimal: period.rate)
            part.add("volume", decimal: period.volume(now: now))
            part.add("status", period.status)
            out.add("period", part: part)
        }
        return out
    }
}
