public import Access
public import FHIRCore
import StoreModel
public import Terminology

/// The medication module (läkemedel): the chart's current medicines with their Swedish dosage text, the
/// codes its records carry, and the rules every ordination is written under. Administration (the MAR),
/// the läkemedelslista, decision support and prescribing grow here.
public struct Medication: ClinicalModule {
    /// The läkemedelskontroll tables (the shipped synthetic ones unless a region names its own).
    let safetyRules: Result<MedicationSafetyRules, RulesError>
    /// Förskrivning to Nationella läkemedelslistan.
    public let prescribing: Prescribing

    public init(safetyRules: Result<MedicationSafetyRules, RulesError>? = nil, prescribing: PrescribingSettings = PrescribingSettings(),
                terminology: TerminologyService? = nil) {
        self.safetyRules = safetyRules ?? Result { try MedicationSafetyRules.shipped() }.mapError {
            $0 as? RulesError ?? RulesError(file: "lakemedelskontroll.json", problem: String(describing: $0))
        }
        self.prescribing = Prescribing(settings: prescribing, terminology: terminology)
    }

    public var name: String { "Medication" }

    /// "Aktuella läkemedel" on the chart is the läkemedelslista: one line per substance, naming its sources.
    public var chart: [ChartPart] {
        [
            ChartPart("medication", title: "Aktuella läkemedel", emptyText: "Inga aktuella läkemedel registrerade.", rank: 20,
                      searches: { patientID throws(FHIRError) in
                          [try ChartSearch("MedicationRequest", patientID: patientID, [("status", "active,on-hold"), ("intent", "order,original-order,instance-order")],
                                           limit: 100),
                           try ChartSearch("MedicationStatement", patientID: patientID, [("status", "active,intended")], limit: 100)]
                      },
                      entries: { found in
                          let list = MedicationList.make(patient: nil, requests: found[0], statements: found[1])
                          let records = Dictionary((found[0] + found[1]).map { ("\($0.type)/\($0.id)", $0) }, uniquingKeysWith: { a, _ in a })
                          return list.rows.compactMap { row in
                              guard let first = row.sources.first, let record = records[first.reference] else { return nil }
                              let dosage = row.sources.map(\.dosage).first { !$0.isEmpty } ?? ""
                              let sources = row.sources.map(\.label).joined(separator: " + ")
                              return ChartEntry("medication", record: record, line: ChartLine(row.name, detail: [dosage, sources].filter { !$0.isEmpty }.joined(separator: " · ")))
                          }
                      }),
        ]
    }

    /// On a unit's downtime list: each listed patient's doses planned in the window, with their state now, so
    /// the next doses can be given from paper and signed afterwards.
    public var downtime: [DowntimePart] {
        let medication = self
        return [DowntimePart("doses", title: "Planerade doser", rank: 20, lines: { patientIDs, window, session in
            let doses = try await DoseSchedule.read(patientIDs: patientIDs, from: window.from, to: window.to, session: session,
                                                    rules: try medication.administrationRules())
            var lines: [String: [ChartLine]] = [:]
            for dose in doses {
                let text = SwedishTime.format(dose.time)
                lines[dose.patientID, default: []].append(ChartLine(label: String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5)), dose.drug,
                                                                    detail: [dose.dose, dose.state.swedish].filter { !$0.isEmpty }.joined(separator: " · "),
                                                                    marks: dose.highRisk ? [.init("dubbelkontroll", warn: true)] : []))
            }
            return lines
        })]
    }

    public var operations: [OperationDescriptor] {
        [.instance("Patient", "medication-list", post: false, module: name,
                   "The läkemedelslista: one row per substance from ordinations, prescriptions, dose dispensing and the patient's own report, each source with reason, ordinator, start and planned end; and whether a läkemedelsgenomgång is indicated"),
         .instance("Patient", "record-medication-review", post: true, "assessment:string", "thorough:boolean", module: name,
                   "Record a läkemedelsgenomgång (KVÅ XV015 enkel, XV016 fördjupad with thorough=true) over the current läkemedelslista: a Procedure naming each drug reviewed, with the assessment"),
         .instance("Patient", "mar", post: false, "from:dateTime", "to:dateTime", module: name,
                   "The patient's MAR: every planned dose from `from` to `to` (default today) with its state: given, not given, held, prepared, planned, due, late or missed"),
         .instance("Encounter", "medication-story", post: false, module: name,
                   "The stay's läkemedelsberättelse as generated: started, changed, stopped and unchanged drugs, each with its reason, and whether one is signed"),
         .instance("Encounter", "sign-medication-story", post: true, "text:string", "reason:string", module: name,
                   "Sign the stay's läkemedelsberättelse (the edited text), or with reason a statement that none is needed; discharge needs one of them"),
         .type("MedicationRequest", "unconfirmed-orders", post: false, "ordinator:id", module: name,
               "Verbal and telephone orders waiting for their ordinator's confirmation (default the caller's own assignment), each overdue after the configured time"),
         .instance("MedicationRequest", "start-infusion", post: true, "rate:decimal", "time:dateTime", module: name,
                   "Start an infusion under the active ordination at `rate` ml/h (within the ordination's rate or range), at `time` (default now); answers the running MedicationAdministration"),
         .instance("MedicationAdministration", "change-infusion-rate", post: true, "rate:decimal", "time:dateTime", module: name,
                   "Change a running infusion's rate: the running period ends and the next begins at `rate` ml/h, in one commit"),
         .instance("MedicationAdministration", "stop-infusion", post: true, "time:dateTime", "reason:string", module: name,
                   "Stop a running infusion (completed; stopped with `reason` when it ends early)"),
         .instance("MedicationAdministration", "infusion", post: false, module: name,
                   "An infusion's periods (start, end, rate, volume) and the volume given so far, in ml"),
         .instance("Organization", "ward-mar", post: false, "from:dateTime", "to:dateTime", module: name,
                   "The ward's MAR: the planned doses of every patient staying on the ward (default four hours back to eight ahead)")]
            + prescribingOperations
    }

    public func answer(_ call: OperationCall) async throws -> OperationAnswer {
        switch (call.resourceType, call.id, call.name) {
        case ("Patient", let patientID?, "medication-list"):
            return .parameters(try await MedicationList.read(patientID: patientID, session: call.session,
                                                             reviewValidDays: try safetyRules.get().administration.medicationReviewValidDays).parameters)
        case ("Patient", let patientID?, "record-medication-review"):
            try call.requirePost()
            let review = try await MedicationReview.record(patientID: patientID, thorough: try call.input.bool("thorough", default: false),
                                                           assessment: call.input["assessment"] ?? "", session: call.session)
            return .resource(review, status: 201)
        case ("Patient", let patientID?, "mar"):
            let today = SwedishTime.instant(day: SwedishTime.today, minuteOfDay: 0)
            let (from, to) = try Self.window(call.input, from: today, to: today + 86_400_000)
            let doses = try await DoseSchedule.read(patientIDs: [patientID], from: from, to: to, session: call.session,
                                                    rules: try safetyRules.get().administration)
            return .parameters(Self.parameters(doses))
        case ("Encounter", let stayID?, "medication-story"):
            let stay = try await Self.stay(stayID, session: call.session)
            let story = try await MedicationStory.read(stay: stay, session: call.session)
            var out = ParametersBuilder()
            out.add("text", story.text)
            out.add("signed", bool: try await MedicationStory.isSigned(stayID: stayID, session: call.session))
            for entry in story.entries {
                var part = ParametersBuilder()
                part.add("kind", entry.kind)
                part.add("drug", entry.drug)
                part.add("dosage", entry.dosage.isEmpty ? nil : entry.dosage)
                part.add("reason", entry.reason)
                part.add("order", reference: entry.order)
                out.add("entry", part: part)
            }
            return .parameters(out)
        case ("Encounter", let stayID?, "sign-medication-story"):
            try call.requirePost()
            let stay = try await Self.stay(stayID, session: call.session)
            let reason = call.input["reason"]
            var text = call.input["text"] ?? ""
            if call.input["text"] == nil, reason == nil { text = try await MedicationStory.read(stay: stay, session: call.session).text }
            return .resource(try await MedicationStory.sign(stay: stay, text: text, noneNeededBecause: reason, session: call.session), status: 201)
        case ("MedicationRequest", let requestID?, "start-infusion"):
            try call.requirePost()
            let started = try await Infusion.start(requestID: requestID, rate: try Self.rate(call.input), time: try call.input.instant("time"), session: call.session)
            return .resource(started, status: 201)
        case ("MedicationAdministration", let id?, "change-infusion-rate"):
            try call.requirePost()
            return .resource(try await Infusion.changeRate(id, rate: try Self.rate(call.input), time: try call.input.instant("time"), session: call.session), status: 201)
        case ("MedicationAdministration", let id?, "stop-infusion"):
            try call.requirePost()
            return .resource(try await Infusion.stop(id, time: try call.input.instant("time"), reason: call.input["reason"], session: call.session))
        case ("MedicationAdministration", let id?, "infusion"):
            return .parameters(try await Infusion.read(id, session: call.session).parameters)
        case ("MedicationRequest", nil, "unconfirmed-orders"):
            guard let roleID = try call.input.id("ordinator") ?? call.session.principal.assignment?.id else {
                throw FHIRError(.invalid, code: .required, "ordinator (a PractitionerRole id) is required for a caller without an assignment", expression: ["ordinator"])
            }
            return .parameters(try await VerbalOrders.read(roleID: roleID, session: call.session, rules: try safetyRules.get().administration).parameters)
        case ("Organization", let unitID?, "ward-mar"):
            let now = Instant.now()
            let (from, to) = try Self.window(call.input, from: now - 4 * 3_600_000, to: now + 8 * 3_600_000)
            let (_, doses) = try await DoseSchedule.readWard(unitID: unitID, from: from, to: to, session: call.session,
                                                             rules: try safetyRules.get().administration)
            return .parameters(Self.parameters(doses))
        default:
            return try await answerPrescribing(call)
        }
    }

    /// An infusion rate in ml/h.
    static func rate(_ input: OperationInput) throws -> Double {
        let text = try input.required("rate").split(separator: ",").joined(separator: ".")
        guard let rate = Double(text) else {
            throw FHIRError(.invalid, code: .value, "rate must be a number of ml/h; got '\(text)'", expression: ["rate"])
        }
        return rate
    }

    /// The version a write stored (every create or update of the module's own records has one).
    static func stored(_ result: WriteResult, _ what: String) throws -> StoredResource {
        guard let resource = result.resource else { throw FHIRError(.internalError, code: .exception, "\(what) was not stored") }
        return resource
    }

    /// An inpatient stay, read through the session.
    static func stay(_ id: String, session: PatientDataSession) async throws -> StoredResource {
        guard let stay = try await session.read(type: "Encounter", id: id) else {
            throw FHIRError(.notFound, code: .notFound, "Encounter/\(id) does not exist")
        }
        return stay
    }

    /// The MAR's window: `from` and `to` when given (to after from, at most a week), else the defaults.
    static func window(_ input: OperationInput, from: Int64, to: Int64) throws -> (Int64, Int64) {
        let start = try input.instant("from") ?? from
        let end = try input.instant("to") ?? (input["from"] == nil ? to : start + (to - from))
        guard end > start, end - start <= 7 * 86_400_000 else {
            throw FHIRError(.invalid, code: .value, "to must be after from and at most seven days later", expression: ["to"])
        }
        return (start, end)
    }

    static func parameters(_ doses: [DueDose]) -> ParametersBuilder {
        var out = ParametersBuilder()
        for dose in doses {
            var part = ParametersBuilder()
            part.add("patient", reference: "Patient/\(dose.patientID)")
            part.add("order", reference: "MedicationRequest/\(dose.order)")
            part.add("drug", dose.drug)
            part.add("time", SwedishTime.format(dose.time))
            part.add("dose", dose.dose.isEmpty ? nil : dose.dose)
            part.add("state", dose.state.rawValue)
            part.add("stateText", dose.state.swedish)
            part.add("administration", reference: dose.administration.map { "MedicationAdministration/\($0)" })
            part.add("highRisk", bool: dose.highRisk)
            out.add("dose", part: part)
        }
        return out
    }

    public var rules: [any WriteRule] {
        [OrdinationRule(), PrescriptionRule(settings: prescribing.settings), AdministrationRule(rules: safetyRules), DischargeStoryRule()]
    }

    /// What the MAR runs on (high-risk list, ward clock times, late and missed), or why the tables could not be read.
    public func administrationRules() throws -> MedicationSafetyRules.Administration {
        try safetyRules.get().administration
    }

    /// The reasons a user may give for going on despite a card, from the läkemedelskontroll tables.
    public func overrideReasons() throws -> [MedicationSafetyRules.Code] {
        try safetyRules.get().overrideReasons
    }

    /// Läkemedelskontroll when a drug is chosen and again before the order is signed.
    public var decisionSupport: [any DecisionSupportService] {
        [MedicationSafetyService(hook: "order-select", rules: safetyRules), MedicationSafetyService(hook: "order-sign", rules: safetyRules)]
    }

    /// A medicine is coded in ATC (Kärna's medicine value set) wherever it is ordered, taken or given.
    public var codes: CodeBindings {
        CodeBindings(checkedTypes: ["MedicationRequest", "MedicationStatement", "MedicationAdministration", "Immunization"],
                     bindings: ["MedicationRequest", "MedicationStatement", "MedicationAdministration"].map {
                         .init($0, "medicationCodeableConcept", valueSet: KarnaValueSets.medicines)
                     })
    }
}
