import Access
import FHIRCore
import Foundation
import Hummingbird
import StoreModel

/// The chart overview under the patient banner (drawn from every module's chart parts), and the
/// Patientdatalag questions a user answers before a record opens (care relationship, nödåtkomst, samtycke, spärr).
extension WebApp {
    /// Registers the patient's consent (samtycke) to the user's unit reading another provider's information.
    func registerConsent(patientID: String, _ user: User) async throws -> Response {
        let provider = user.form["provider"] ?? ""
        guard user.form["asked"] == "ja" else {
            return try await chart(patientID: patientID, user: user, consentError: "Bekräfta att patienten har tillfrågats och samtycker.")
        }
        let days = Int(user.form["days"] ?? "") ?? 365
        _ = try await user.data(gateway, action: "consent").registerConsent(patientID: patientID, providerID: provider,
                                                                           reason: "Patienten samtycker (registrerat i webbappen)", days: days)
        return Self.redirect("/patienter/\(patientID)")
    }

    /// A spärr the patient asked for, registered by a practitioner; only the patient lifts it (portal or API).
    func registerBlock(patientID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let reason = form["reason"] ?? "", what = form["what"] ?? ""
        func refused(_ why: String) async throws -> Response {
            try await chart(patientID: patientID, user: user, block: (form, why, nil), status: .badRequest)
        }
        guard form["informed"] == "ja" else { return try await refused("Bekräfta att patienten har begärt spärren och informerats om vad den innebär.") }
        guard !reason.isEmpty else { return try await refused("Skriv patientens skäl. Det sparas i loggen.") }
        let parts = what.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, ["unit", "provider"].contains(parts[0]) else { return try await refused("Välj enhet eller vårdgivare.") }
        let session = user.data(gateway, action: "block")
        do {
            _ = try await session.block(patientID: patientID, unitID: parts[0] == "unit" ? parts[1] : nil, providerID: parts[0] == "provider" ? parts[1] : nil,
                                        reason: reason, patientRequest: "begärd av patienten, som informerats om vad spärren innebär (bekräftat av \(user.principal.displayName))")
        } catch let error as FHIRError where error.category == .invalid {
            return try await refused(Self.said(error))
        }
        return try await chart(patientID: patientID, user: user, block: ([:], nil, "Spärren är registrerad. Bara patienten kan häva den."))
    }


    func chart(patientID: String, user: User, consentError: String? = nil, block: (form: [String: String], error: String?, notice: String?)? = nil,
               registered: Bool = false, status httpStatus: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "chart")
        let status = try await session.accessStatus(patientID: patientID, otherProviders: true)
        guard status["access"]?.stringValue != "none" else {
            return try await accessPage(patientID: patientID, status: status, user: user, form: [:], errors: [:])
        }
        let chart = try await gateway.overview.chart(patientID: patientID, session: session)
        var context = layout(user, title: Display.name(chart.patient.object))
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "oversikt")
        context["actions"] = patientActions(patientID: patientID, user)
        // Sammanhållen journalföring: other providers' information opens only with the patient's consent.
        context["otherProviders"] = (status["otherProviders"]?.arrayValue ?? []).compactMap(\.objectValue).map {
            ["id": $0["id"]?.stringValue ?? "", "name": $0["name"]?.stringValue ?? ""]
        }
        if let error = consentError { context["consentError"] = error }
        context["banner"] = banner(chart.patient.object, status: status, parts: chart.parts(in: .banner))
        // Just registered: the number to write on the id band, said at once (a reservnummer is not known to anyone yet).
        if registered, let identity = Display.identity(chart.patient.object) {
            context["registeredNotice"] = "Patienten är registrerad med \(identity.label.lowercased()) \(identity.value)."
                + (identity.label == "Reservnummer" ? " Skriv reservnumret på patientens id-band." : "")
        }
        // Each module's panels, in their ranks; a part with nothing to show and no empty text is left out.
        context["panels"] = chart.parts(in: .overview).compactMap { part, entries -> [String: Any]? in
            guard !entries.isEmpty || part.emptyText != nil else { return nil }
            return ["id": "h-\(part.name)", "title": part.title, "emptyText": part.emptyText ?? "", "lines": entries.map { Self.lineContext($0.line) }]
        }
        // Spärr on the patient's request: at a unit, or at a whole care provider (PDL 4 kap. 4 §).
        let chosen = block?.form["what"]
        let targets = try await gateway.directory.careUnits().map { ("unit:\($0.id)", "Enheten \($0.name)") }
            + (try await gateway.directory.careProviders().map { ("provider:\($0.id)", "Hela vårdgivaren \($0.name)") })
        context["blockChoices"] = targets.map { value, text in ["value": value, "text": text, "selected": chosen == value] as [String: Any] }
        if let block {
            context["blockOpen"] = true
            context["blockReason"] = block.form["reason"] ?? ""
            if let error = block.error { context["blockError"] = error }
            if let notice = block.notice { context["blockNotice"] = notice }
        }
        return pages.page("chart", context, status: httpStatus)
    }

    /// The banner of a patient page with the access status it rests on; no banner when the user has no ground
    /// for the patient (the page then asks for one with that status, not asking the gateway twice).
    public func header(patientID: String, session: PatientDataSession) async throws -> (banner: [String: Any]?, status: JSONObject) {
        let status = try await session.accessStatus(patientID: patientID)
        guard status["access"]?.stringValue != "none" else { return (nil, status) }
        let chart = try await gateway.overview.chart(patientID: patientID, session: session, places: [.banner])
        return (banner(chart.patient.object, status: status, parts: chart.parts(in: .banner)) as [String: Any], status)
    }

    /// What the user may start for the patient from any module's page (order, prescribe …): each module's patient
    /// actions the user's permissions show, as links.
    public func patientActions(patientID: String, _ user: WebUser) -> [[String: Any]] {
        modules.flatMap(\.patientActions).filter { $0.isShown(user.principal.permissions) }.map {
            ["title": $0.title, "href": $0.path.replacingOccurrences(of: "{id}", with: Self.encoded(patientID))]
        }
    }

    /// The tabs of a patient's pages: the overview, then each module's; `current` is the shown tab's key.
    public func patientTabs(current: String) -> [[String: Any]] {
        ([PatientTab(key: "oversikt", title: "Översikt", suffix: "")] + modules.flatMap(\.patientTabs)).map {
            ["title": $0.title, "suffix": $0.suffix, "current": $0.key == current] as [String: Any]
        }
    }

    /// The banner every patient page opens with: identity, age, markers, then each module's banner parts
    /// (attention signals with allergies first, the current care contact).
    public func banner(_ patient: JSONObject, status: JSONObject, parts: [(part: ChartPart, entries: [ChartEntry])]) -> [String: Any] {
        let identity = Display.identity(patient)
        var banner: [String: Any] = [
            "name": Display.name(patient), "identityLabel": identity?.label ?? "Identitet", "identity": identity?.value ?? "saknas",
            "age": Display.age(patient).map(String.init) ?? "–", "gender": Display.gender(patient),
            "protected": status["protectedIdentity"]?.boolValue ?? false, "blocked": status["hasBlockedInformation"]?.boolValue ?? false,
        ]
        // The record is open by nödåtkomst: every page of it says so, and until when.
        if let until = status["emergencyAccessUntil"]?.stringValue { banner["emergency"] = Display.time(until) }
        banner["parts"] = parts.map { part, entries -> [String: Any] in
            // Labelled lines are signals, shown as chips; a part of plain lines (the care contact) reads as a sentence.
            ["title": part.title, "emptyText": part.emptyText ?? "", "chips": entries.contains { $0.line.label != nil },
             "lines": entries.map { Self.lineContext($0.line).merging(["title": part.title]) { own, _ in own } }]
        }
        let interpreterNeeded = (patient["extension"]?.arrayValue ?? []).contains {
            $0.objectValue?["url"]?.stringValue == "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired" && $0.objectValue?["valueBoolean"]?.boolValue == true
        }
        if interpreterNeeded {
            let language = (patient["communication"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["preferred"]?.boolValue == true }
            banner["interpreter"] = language.map { Display.concept($0["language"]) } ?? "språk ej angivet"
        }
        return banner
    }

    /// How a chart line reads in a template.
    public static func lineContext(_ line: ChartLine) -> [String: Any] {
        // No detail is no detail: an empty one would still open its section and print "()".
        var item: [String: Any] = ["text": line.text, "css": line.alarm ? "signal-allergy" : "signal-other",
                                   "marks": line.marks.map { ["text": $0.text, "warn": $0.warn] as [String: Any] }]
        if let label = line.label { item["label"] = label }
        if !line.detail.isEmpty { item["detail"] = line.detail }
        return item
    }

    public func accessPage(patientID: String, status: JSONObject, user: User, form: [String: String], errors: [String: String],
                    httpStatus: HTTPResponse.Status = .forbidden) async throws -> Response {
        var context = layout(user, title: "Åtkomst till journalen")
        context["patientID"] = patientID
        // Who the question is about, from the patient index (a directory look-up, audited like a search hit):
        // the user confirms the right patient before registering a ground or breaking the glass.
        if let patient = try await user.data(gateway, action: "access-question").read(type: "Patient", id: patientID)?.object {
            let identity = Display.identity(patient)
            context["who"] = ["name": Display.name(patient), "identityLabel": identity?.label ?? "Identitet", "identity": identity?.value ?? "saknas",
                              "age": Display.age(patient).map(String.init) ?? "–", "gender": Display.gender(patient)]
        }
        // Nödåtkomst is offered to care professions in a care assignment only; the gateway refuses anyone else anyway.
        context["mayBreakGlass"] = user.principal.permissions.emergencyAccess && user.assignment?.purpose == .care
        context["reason"] = status["reasonText"]?.stringValue ?? ""
        context["careReason"] = form["careReason"] ?? ""
        context["emergencyReason"] = form["emergencyReason"] ?? ""
        for (key, value) in errors { context[key] = value }
        return pages.page("access", context, status: httpStatus)
    }

    enum AccessGround { case careRelationship, emergency }

    /// Registers the ground the user gave and opens the chart; an empty reason keeps the user on the question.
    func registerAccess(_ ground: AccessGround, patientID: String, form: [String: String], user: User) async throws -> Response {
        let session = user.data(gateway, action: ground == .emergency ? "emergency-access" : "care-relationship")
        let reason = form["reason"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard !reason.isEmpty else {
            let status = try await session.accessStatus(patientID: patientID)
            let (key, field) = ground == .emergency ? ("emergencyError", "emergencyReason") : ("careError", "careReason")
            return try await accessPage(patientID: patientID, status: status, user: user, form: [field: reason],
                                        errors: [key: "Skriv ett skäl. Skälet sparas i loggen och granskas."], httpStatus: .badRequest)
        }
        switch ground {
        case .careRelationship: _ = try await session.registerCareRelationship(patientID: patientID, reason: reason, days: nil)
        case .emergency: _ = try await session.openEmergencyAccess(patientID: patientID, reason: reason)
        }
        return Self.redirect("/patienter/\(patientID)")
    }
}
