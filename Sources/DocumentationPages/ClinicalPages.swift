import Access
import Documentation
import FHIRCore
import Foundation
import Hummingbird
import WebApp
import StoreModel
import Terminology

/// Uppmärksamhetssignaler, the problem list and a care contact's diagnoses: add, end (with a
/// reason) and register again; codes are checked against the bound value sets by the
/// documentation module, and a wrong one is said at its field with what the user typed kept.
extension DocumentationPages {
    /// Which form a post came from, for errors at its fields.
    enum ClinicalForm: String {
        case allergy, signal, problem, diagnoses
    }

    func clinicalPage(patientID: String, _ user: User, form: ClinicalForm? = nil, values: [String: String] = [:], errors: [String: String] = [:],
                      notice: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "attention-signals")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else {
            return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:])
        }
        // The banner shows the signals in short; this page lists them in full, with who decided and since when.
        let state = try await documentation.attentionSignals.state(patientID: patientID, session: session)
        let since = Instant.format(milliseconds: Instant.now() - 30 * 86_400_000)
        async let problems = documentation.diagnoses.problemList(patientID: patientID, session: session)
        async let contacts = Records(session: session).search("Encounter", [("patient", "Patient/\(patientID)"), ("date", "ge" + since),
                                                                            ("status:not", "cancelled"), ("status:not", "entered-in-error"), ("_sort", "-date")], limit: 10)
        let (list, recent) = try await (problems, contacts)

        var context = layout(user, title: "Signaler och diagnoser – \(banner["name"] as? String ?? "")")
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "signaler")
        context["banner"] = banner
        if let notice = notice { context["notice"] = notice }
        func ending(_ stored: StoredResource, label: String, text: String, detail: String) -> [String: Any] {
            ["type": stored.type, "id": stored.id, "label": label, "text": text, "detail": detail,
             "since": Display.time(stored.object["recordedDate"]?.stringValue ?? stored.object["period"]?.objectValue?["start"]?.stringValue)]
        }
        var current: [[String: Any]] = state.allergies.map { allergy in
            let reaction = allergy.object["reaction"]?.arrayValue?.first?.objectValue
            let detail = [allergy.object["criticality"]?.stringValue == "high" ? "hög risk" : nil,
                          reaction.map { Display.concept($0["manifestation"]?.arrayValue?.first) },
                          allergy.object.code("verificationStatus", system: "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification") == "unconfirmed" ? "obekräftad" : nil]
                .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
            return ending(allergy, label: "Allergi", text: Display.concept(allergy.object["code"]), detail: detail)
        }
        for (kind, flags) in [(AttentionSignals.Kind.infection, state.infections), (.treatment, state.treatments), (.careLimitation, state.careLimitations)] {
            current += flags.map { ending($0, label: kind.title, text: Display.concept($0.object["code"]), detail: $0.object["author"].map { Display.reference($0) } ?? "") }
        }
        context["signals"] = current
        context["problems"] = list.active.map { condition -> [String: Any] in
            ["id": condition.id, "text": Display.concept(condition.object["code"]), "code": Display.code(condition.object["code"]),
             "since": Display.time(condition.object["onsetDateTime"]?.stringValue ?? condition.object["recordedDate"]?.stringValue)]
        }
        context["contacts"] = recent.map { contact -> [String: Any] in
            ["id": contact.id, "text": Labels.encounterClass(contact.object["class"]?.objectValue?["code"]?.stringValue) + ", " + Display.reference(contact.object["serviceProvider"]),
             "since": Display.time(contact.object["period"]?.objectValue?["start"]?.stringValue),
             "selected": values["encounter"] == contact.id]
        }
        // The value sets' codes for the fields' suggestions (the shipped subsets are small; a full
        // release is cut at the limit, and the field still takes any code the server holds).
        func options(_ url: String, count: Int = 500) -> [[String: String]] {
            ((try? documentation.terminology.expand(url: url, count: count).entries) ?? []).map { ["code": $0.code, "display": $0.display] }
        }
        // Each substance once, by name: ATC substances (not their groups, which are classes rather than things a
        // patient reacts to) and Kärna's allergens, which name the common classes ("Penicillin") and the rest.
        var named = Set<String>()
        context["allergens"] = options(KarnaValueSets.allergens, count: 1_000)
            .filter { ($0["code"]?.count ?? 0) >= 7 || ($0["code"] ?? "").first?.isUppercase != true }
            .filter { named.insert(($0["display"] ?? "").lowercased()).inserted }
            .sorted { ($0["display"] ?? "").compare($1["display"] ?? "", locale: Locale(identifier: "sv_SE")) == .orderedAscending }
        // A first few for a browser without the script; typing asks the server, which searches the whole code system.
        context["diagnoses"] = options(KarnaValueSets.diagnoses, count: 100)
        context["procedures"] = options(KarnaValueSets.procedures, count: 100)
        context["kinds"] = AttentionSignals.Kind.allCases.map { kind -> [String: Any] in
            ["kind": kind.rawValue, "title": kind.title, "codes": options(kind.valueSet, count: 100).map { option in
                ["kind": kind.rawValue, "code": option["code"] ?? "", "display": option["display"] ?? "", "selected": values["code"] == option["code"]] as [String: Any] }]
        }
        if let form {
            for (field, value) in values { context["\(form.rawValue)-\(field)".replacingOccurrences(of: "-", with: "_")] = value }
            for (field, message) in errors { context["\(form.rawValue)_\(field)_error"] = message }
            if !errors.isEmpty { context["error"] = "Uppgifterna sparades inte. Rätta det som är markerat." }
        }
        for (name, choices) in [("severity", ["mild": "Lindrig", "moderate": "Måttlig", "severe": "Svår"]),
                                ("criticality", ["low": "Låg risk", "high": "Hög risk", "unable-to-assess": "Kan inte bedömas"])] {
            context["\(name)Choices"] = choices.sorted { $0.key < $1.key }.map {
                ["value": $0.key, "text": $0.value, "selected": values[name] == $0.key] as [String: Any]
            }
        }
        return pages.page("signals", context, status: status)
    }

    /// The code a field holds: "I10", or "I10 Essentiell hypertoni" as the suggestion list fills it.
    static func typedCode(_ text: String?) -> String {
        String((text ?? "").trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
    }

    func addAllergy(patientID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let typed = form["substance"] ?? ""
        guard !typed.isEmpty else {
            return try await clinicalPage(patientID: patientID, user, form: .allergy, values: form, errors: ["substance": "Ange ämnet."], status: .badRequest)
        }
        // A suggestion ("J01CE02 Fenoximetylpenicillin") is a code; anything else is kept as text.
        let code = Self.typedCode(typed)
        let known = [KarnaValueSets.allergens, KarnaValueSets.medicines].first { url in
            (try? documentation.terminology.expand(url: url, filter: code, count: 50).entries.contains { $0.code == code }) == true
        }
        let system = known.flatMap { url in (try? documentation.terminology.expand(url: url, filter: code, count: 50).entries.first { $0.code == code })?.system }
        let allergy = AttentionSignals.Allergy(patientID: patientID, substanceSystem: system, substanceCode: system == nil ? nil : code,
                                               substanceText: system == nil ? typed : nil, category: nil,
                                               reaction: form["reaction"].flatMap { $0.isEmpty ? nil : $0 }, severity: form["severity"].flatMap { $0.isEmpty ? nil : $0 },
                                               criticality: form["criticality"].flatMap { $0.isEmpty ? nil : $0 },
                                               certainty: form["certainty"] == "unconfirmed" ? "unconfirmed" : "confirmed",
                                               allowDuplicate: form["duplicate"] == "ja")
        do {
            _ = try await documentation.attentionSignals.recordAllergy(allergy, session: user.data(gateway, action: "record-allergy"))
        } catch let error as FHIRError where error.has(.duplicate) {
            // The same substance is already an active allergy: said at the field, with a box to record it anyway.
            var values = form
            values["duplicateAsked"] = "ja"
            return try await clinicalPage(patientID: patientID, user, form: .allergy, values: values, errors: ["substance": Self.said(error)], status: .conflict)
        } catch let error as FHIRError where error.category == .invalid {
            return try await clinicalPage(patientID: patientID, user, form: .allergy, values: form, errors: ["substance": Self.said(error)], status: .badRequest)
        }
        return Self.redirect("/patienter/\(patientID)/signaler?klar=Allergin%20%C3%A4r%20registrerad")
    }

    func addSignal(patientID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let value = form["code"] ?? ""
        // The choice carries "kind|code", so one list serves the three kinds.
        let parts = value.split(separator: "|", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = AttentionSignals.Kind(rawValue: parts[0]) else {
            return try await clinicalPage(patientID: patientID, user, form: .signal, values: form, errors: ["code": "Välj en signal."], status: .badRequest)
        }
        if kind == .careLimitation, (form["note"] ?? "").count < 2 {
            return try await clinicalPage(patientID: patientID, user, form: .signal, values: form,
                                          errors: ["note": "Skriv vad beslutet gäller och efter vilket samtal (krävs för en vårdbegränsning)."], status: .badRequest)
        }
        do {
            _ = try await documentation.attentionSignals.record(patientID: patientID, kind: kind, code: parts[1], note: form["note"].flatMap { $0.isEmpty ? nil : $0 },
                                                                decidedByRoleID: kind == .careLimitation ? user.assignment?.id : nil,
                                                                decidedAt: kind == .careLimitation ? form["decidedAt"].flatMap { $0.isEmpty ? nil : $0 } : nil,
                                                                session: user.data(gateway, action: "record-attention-signal"))
        } catch let error as FHIRError where error.category == .invalid {
            let field = error.issues.first?.expression.first == "decidedAt" ? "decidedAt" : "code"
            return try await clinicalPage(patientID: patientID, user, form: .signal, values: form, errors: [field: Self.said(error)], status: .badRequest)
        }
        return Self.redirect("/patienter/\(patientID)/signaler?klar=Signalen%20%C3%A4r%20registrerad")
    }

    func endSignal(patientID: String, type: String, id: String, _ user: User) async throws -> Response {
        let reason = (user.form["reason"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard reason.count >= 2 else {
            return try await clinicalPage(patientID: patientID, user, notice: "Signalen avslutades inte: skriv varför den avslutas.", status: .badRequest)
        }
        _ = try await documentation.attentionSignals.end(type: type, id: id, reason: reason, session: user.data(gateway, action: "end-attention-signal"))
        return Self.redirect("/patienter/\(patientID)/signaler?klar=Signalen%20%C3%A4r%20avslutad")
    }

    func addProblem(patientID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let code = Self.typedCode(form["code"])
        guard !code.isEmpty else {
            return try await clinicalPage(patientID: patientID, user, form: .problem, values: form, errors: ["code": "Ange en ICD-10-SE-kod."], status: .badRequest)
        }
        do {
            _ = try await documentation.diagnoses.addProblem(patientID: patientID, code: code, onset: form["onset"].flatMap { $0.isEmpty ? nil : $0 },
                                                             note: form["note"].flatMap { $0.isEmpty ? nil : $0 }, session: user.data(gateway, action: "add-problem"))
        } catch let error as FHIRError where error.category == .invalid {
            return try await clinicalPage(patientID: patientID, user, form: .problem, values: form, errors: ["code": Self.said(error)], status: .badRequest)
        }
        return Self.redirect("/patienter/\(patientID)/signaler?klar=Problemet%20%C3%A4r%20tillagt")
    }

    func resolveProblem(patientID: String, conditionID: String, _ user: User) async throws -> Response {
        do {
            _ = try await documentation.diagnoses.resolveProblem(conditionID: conditionID, abatement: nil, reason: user.form["reason"] ?? "",
                                                                 session: user.data(gateway, action: "resolve-problem"))
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await clinicalPage(patientID: patientID, user, notice: "Problemet avslutades inte: \(Self.said(error))", status: .badRequest)
        }
        return Self.redirect("/patienter/\(patientID)/signaler?klar=Problemet%20%C3%A4r%20avslutat")
    }

    /// A care contact's diagnoses (main first) and procedures, as reported to the patient register.
    func registerDiagnoses(patientID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let encounterID = form["encounter"] ?? ""
        let main = Self.typedCode(form["main"])
        func codes(_ text: String?) -> [String] {
            (text ?? "").split(whereSeparator: { $0 == "," || $0 == ";" || $0 == "\n" }).map { Self.typedCode(String($0)) }.filter { !$0.isEmpty }
        }
        var errors: [String: String] = [:]
        if encounterID.isEmpty { errors["encounter"] = "Välj vårdkontakten." }
        if main.isEmpty { errors["main"] = "Ange huvuddiagnosen." }
        guard errors.isEmpty else { return try await clinicalPage(patientID: patientID, user, form: .diagnoses, values: form, errors: errors, status: .badRequest) }
        do {
            _ = try await documentation.diagnoses.register(encounterID: encounterID, main: main, secondary: codes(form["secondary"]), procedures: codes(form["procedures"]),
                                                           session: user.data(gateway, action: "register-diagnoses"))
        } catch let error as FHIRError where error.category == .invalid {
            // The module names the code that is wrong: main, secondary or procedure.
            let field = ["main": "main", "secondary": "secondary", "procedure": "procedures"][error.issues.first?.expression.first ?? ""] ?? "main"
            return try await clinicalPage(patientID: patientID, user, form: .diagnoses, values: form, errors: [field: Self.said(error)], status: .badRequest)
        }
        return Self.redirect("/patienter/\(patientID)/signaler?klar=Diagnoserna%20%C3%A4r%20registrerade")
    }


    /// The code lists a field can search as the user types, by the name in the address.
    static var lookupLists: [String: String] {
        ["diagnoser": KarnaValueSets.diagnoses, "atgarder": KarnaValueSets.procedures, "allergener": KarnaValueSets.allergens,
         "lakemedel": NPLCatalogue.valueSet]
    }

    /// The most suggestions one look-up answers.
    static var lookupCount: Int { 20 }

    /// Up to `lookupCount` codes of a list whose code or words start with what was typed, as JSON
    /// (`[{"code": …, "display": …}]`), for the page's script to offer under the field.
    func lookup(list: String, text: String) throws -> Response {
        guard let url = Self.lookupLists[list] else { throw HTTPError(.notFound) }
        let typed = text.trimmingCharacters(in: .whitespaces)
        let entries = typed.count < 2 ? [] : try documentation.terminology.expand(url: url, filter: String(typed.prefix(100)), count: Self.lookupCount).entries
        let body = JSONValue.array(entries.map { .object(JSONObject([("code", .string($0.code)), ("display", .string($0.display))])) })
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(body))))
    }
}
