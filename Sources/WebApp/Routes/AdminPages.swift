import Access
import FHIRCore
import Foundation
import Hummingbird
import StoreModel

/// Systemförvaltning: care units, users with their assignment, positions and their permissions,
/// note templates and the fee schedule. Each write goes through the module or gateway that owns
/// it (administer permission, validation, audit); the page only collects and shows.
extension WebApp {
    enum AdminSection: String {
        case units = "enheter", users = "anvandare", positions = "befattningar"

        var title: String {
            switch self {
            case .units: "Enheter"
            case .users: "Användare och uppdrag"
            case .positions: "Befattningar och behörigheter"
            }
        }
    }

    /// Refuses a user who is not a systemförvaltare: the administration pages and their saves are theirs alone.
    public func requireAdministrator(_ user: User) throws {
        guard user.principal.permissions.administer else {
            throw FHIRError(.forbidden, code: .forbidden, "administration needs a systemförvaltare assignment (administer permission)")
        }
    }

    /// What every administration page shows: the sections' tabs (the shell's, then the modules'), a notice,
    /// the values typed and the errors by field. Only a systemförvaltare opens them.
    public func adminContext(_ user: User, section: String, values: [String: String], errors: [String: String], notice: String?) throws -> [String: Any] {
        try requireAdministrator(user)
        var context = layout(user, title: "Administration", nav: "navAdmin")
        let sections = [AdminSection.units, .users, .positions].map { AdminSectionEntry(path: $0.rawValue, title: $0.title) } + modules.flatMap(\.adminSections)
        context["adminTabs"] = sections.map { ["path": $0.path, "title": $0.title, "current": $0.path == section] as [String: Any] }
        if let notice { context["notice"] = notice }
        for (field, value) in values { context["v_\(field)"] = value }
        for (field, message) in errors { context["e_\(field)"] = message }
        if !errors.isEmpty { context["error"] = "Ändringen sparades inte. Rätta det som är markerat." }
        return context
    }

    func adminPage(_ section: AdminSection, _ user: User, values: [String: String] = [:], errors: [String: String] = [:], notice: String? = nil,
                   created: [String: String]? = nil, editing: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        var context = try adminContext(user, section: section.rawValue, values: values, errors: errors, notice: notice)
        let session = user.data(gateway, action: "administration")
        context["section-\(section.rawValue)".replacingOccurrences(of: "-", with: "_")] = true
        if let created { context["created"] = created }
        let units = try await gateway.directory.careUnits()
        let positions = try await session.positions()
        switch section {
        case .units:
            let all = try await Records(session: session).search("Organization", [("_sort", "name")], limit: 500)
            let names = Dictionary(all.map { ($0.id, $0.object["name"]?.stringValue ?? $0.id) }, uniquingKeysWith: { a, _ in a })
            context["units"] = all.map { unit -> [String: Any] in
                let parentID = unit.object.referenceID("partOf", type: "Organization")
                return ["id": unit.id, "name": names[unit.id] ?? unit.id, "parent": parentID.flatMap { names[$0] } ?? Display.reference(unit.object["partOf"]),
                        "active": unit.object["active"]?.boolValue != false]
            }
            context["parents"] = all.map { ["id": $0.id, "name": $0.object["name"]?.stringValue ?? $0.id, "selected": values["parent"] == $0.id] as [String: Any] }
            if let editing, let unit = all.first(where: { $0.id == editing }) {
                // The form shows what is stored, or what the user typed when it was refused.
                let object = unit.object
                let stored = ["editName": object["name"]?.stringValue ?? "", "editHsa": Self.hsaID(object) ?? "",
                              "editParent": object.referenceID("partOf", type: "Organization") ?? "", "version": String(unit.versionId)]
                let shown = stored.merging(values.filter { stored[$0.key] != nil }) { _, typed in typed }
                for (field, value) in shown { context["v_\(field)"] = value }
                context["editing"] = ["id": unit.id, "name": object["name"]?.stringValue ?? unit.id] as [String: Any]
                context["editParents"] = all.filter { $0.id != unit.id }.map {
                    ["id": $0.id, "name": $0.object["name"]?.stringValue ?? $0.id, "selected": shown["editParent"] == $0.id] as [String: Any]
                }
            }
        case .users:
            let roles = try await Records(session: session).search("PractitionerRole", [("active", "true")], limit: 500)
            context["assignments"] = roles.map { role -> [String: Any] in
                ["id": role.id, "practitioner": Display.reference(role.object["practitioner"]), "unit": Display.reference(role.object["organization"]),
                 "position": Display.concept(role.object["code"]?.arrayValue?.first)]
            }
            let now = Instant.now()
            let logins = try await accounts.all(kind: .practitioner)
            context["accounts"] = logins.map { account -> [String: Any] in
                let locked = (account.lockedUntil ?? 0) > now
                let status = account.disabled ? "Avstängt" : locked ? "Låst till \(Display.time(Instant.format(milliseconds: account.lockedUntil ?? 0)))"
                    : account.mustChangePassword == true ? "Aktivt, nytt lösenord ej valt" : "Aktivt"
                return ["username": account.username, "name": account.displayName, "status": status, "locked": locked, "disabled": account.disabled,
                        "self": account.subjectID == user.principal.id]
            }
            context["practitionerChoices"] = logins.map { ["id": $0.subjectID, "name": "\($0.displayName) (\($0.username))",
                                                           "selected": values["practitioner"] == $0.subjectID] as [String: Any] }
            context["unitChoices"] = units.map { ["id": $0.id, "name": $0.name, "selected": values["unit"] == $0.id] as [String: Any] }
                + [["id": gateway.settings.defaultProviderID, "name": "Regionen (\(gateway.settings.defaultProviderID))",
                    "selected": values["unit"] == gateway.settings.defaultProviderID] as [String: Any]]
            context["positionChoices"] = positions.map { ["code": $0.code, "display": $0.display, "selected": values["position"] == $0.code] as [String: Any] }
            context["purposeChoices"] = AssignmentPurpose.allCases.map { ["code": $0.rawValue, "display": $0.display, "selected": values["purpose"] == $0.rawValue] as [String: Any] }
        case .positions:
            context["positions"] = positions.map { position -> [String: Any] in
                let p = position.permissions
                return ["code": position.code, "display": position.display, "read": p.read.sorted().joined(separator: ", "),
                        "write": p.write.sorted().joined(separator: ", "), "sign": p.sign, "prescribe": p.prescribe,
                        "protectedIdentity": p.protectedIdentity, "auditReview": p.auditReview, "administer": p.administer, "patientIdentity": p.patientIdentity,
                        "emergencyAccess": p.emergencyAccess, "error": errors[position.code] ?? ""]
            }
        }
        return pages.page("admin", context, status: status)
    }

    func adminSave(_ section: AdminSection, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "administration")
        func refused(_ errors: [String: String]) async throws -> Response {
            try await adminPage(section, user, values: form, errors: errors, status: .badRequest)
        }
        do {
            switch section {
            case .units:
                let id = form["id"] ?? "", name = form["name"] ?? ""
                var errors: [String: String] = [:]
                if id.isEmpty || !id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) { errors["id"] = "Id: bokstäver a–z, siffror och bindestreck." }
                if name.count < 2 { errors["name"] = "Ange enhetens namn." }
                if try await session.read(type: "Organization", id: id) != nil { errors["id"] = "Det finns redan en organisation med id \(id)." }
                let parentID = form["parent"] ?? ""
                let parent = parentID.isEmpty ? nil : try await gateway.directory.unit(parentID)
                if !parentID.isEmpty, parent == nil { errors["parent"] = "Det finns ingen organisation med id \(parentID)." }
                guard errors.isEmpty else { return try await refused(errors) }
                var unit = JSONObject([("resourceType", .string("Organization")), ("id", .string(id)), ("active", .bool(true)), ("name", .string(name))])
                if let parent { unit["partOf"] = FHIR.reference("Organization", parent.id, display: parent.name) }
                if let hsa = form["hsa"], !hsa.isEmpty {
                    unit["identifier"] = .array([FHIR.object([("system", .string(Self.hsaSystem)), ("value", .string(hsa))])])
                }
                _ = try await session.commit(.create(unit, type: "Organization", id: id))
                await gateway.directory.invalidate()
                return Self.redirect("/admin/enheter?klar=" + ("Enheten \(name) är skapad".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
            case .users:
                return try await createUser(form, user, refused: refused)
            case .positions:
                let code = form["code"] ?? ""
                func types(_ text: String?) -> Set<String> { Set((text ?? "").split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)) }
                let existing = try await session.positions().first { $0.code == code }
                let display = form["display"].flatMap { $0.isEmpty ? nil : $0 } ?? existing?.display ?? code
                let permissions = Permissions(read: types(form["read"]), write: types(form["write"]), sign: form["sign"] == "on", prescribe: form["prescribe"] == "on",
                                              protectedIdentity: form["protectedIdentity"] == "on", auditReview: form["auditReview"] == "on",
                                              administer: form["administer"] == "on", patientIdentity: form["patientIdentity"] == "on",
                                              emergencyAccess: form["emergencyAccess"] == "on")
                do {
                    try await session.configure(Position(code: code, display: display, permissions: permissions))
                } catch let error as FHIRError where error.category == .invalid {
                    return try await refused([code.isEmpty ? "code" : code: Self.said(error)])
                }
                return Self.redirect("/admin/befattningar?klar=" + ("Befattningen \(display) är sparad".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
            }
        }
    }

    /// A practitioner with one assignment and a login; the password and TOTP secret are shown once.
    private func createUser(_ form: [String: String], _ user: User, refused: ([String: String]) async throws -> Response) async throws -> Response {
        let session = user.data(gateway, action: "administration")
        var errors: [String: String] = [:]
        let given = form["given"] ?? "", family = form["family"] ?? "", username = (form["username"] ?? "").lowercased()
        if given.isEmpty { errors["given"] = "Ange förnamn." }
        if family.isEmpty { errors["family"] = "Ange efternamn." }
        if username.isEmpty {
            errors["username"] = "Ange ett användarnamn."
        } else if !AccountService.isValidUsername(username) {
            errors["username"] = "Användarnamnet får ha 2–64 tecken: a–z, siffror, punkt, understreck och bindestreck."
        }
        guard let position = try await session.positions().first(where: { $0.code == form["position"] }) else {
            errors["position"] = "Välj befattning."
            return try await refused(errors)
        }
        guard let purpose = form["purpose"].flatMap(AssignmentPurpose.init(rawValue:)) else {
            errors["purpose"] = "Välj uppdragets ändamål."
            return try await refused(errors)
        }
        let unitID = form["unit"] ?? ""
        if try await gateway.directory.unit(unitID) == nil { errors["unit"] = "Välj enhet." }
        guard errors.isEmpty else { return try await refused(errors) }
        let practitionerID = "pr-" + UUID().uuidString.lowercased().prefix(12)
        var practitioner = JSONObject([("resourceType", .string("Practitioner")), ("id", .string(practitionerID)), ("active", .bool(true)),
                                       ("name", .array([FHIR.object([("family", .string(family)), ("given", .array([.string(given)]))])]))])
        if let hsa = form["hsa"], !hsa.isEmpty {
            practitioner["identifier"] = .array([FHIR.object([("system", .string(Self.hsaSystem)), ("value", .string(hsa))])])
        }
        var role = Assignment.resource(id: "\(practitionerID)-uppdrag-1", practitionerID: practitionerID, unitID: unitID, purpose: purpose, position: position)
        role["practitioner"] = FHIR.reference("Practitioner", practitionerID, display: "\(given) \(family)")
        let password = AccountService.temporaryPassword(), secret = TOTP.newSecret()
        do {
            guard try await accounts.account(username) == nil else { return try await refused(["username": "Användarnamnet \(username) är upptaget."]) }
            try await session.createAccount(accounts, username: username, practitionerID: practitionerID, displayName: "\(given) \(family)",
                                            password: password, totpSecret: secret,
                                            writing: [.create(practitioner, type: "Practitioner", id: practitionerID),
                                                      .create(role, type: "PractitionerRole", id: "\(practitionerID)-uppdrag-1")])
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await refused([error.issues.first?.expression.first == "username" ? "username" : "given": Self.said(error)])
        }
        return try await adminPage(.users, user, notice: "Användaren \(username) är skapad.",
                                   created: ["username": username, "password": password, "secret": secret])
    }

    /// A reset, unlock, disabling or enabling of a login; a new password (and TOTP secret) is shown once.
    func changeAccount(username: String, change: String, _ user: User) async throws -> Response {
        let changes: [String: PatientDataSession.AccountChange] = [
            "nytt-losenord": .resetPassword, "nytt-losenord-och-totp": .resetPasswordAndAuthenticator, "las-upp": .unlock,
            "stang-av": .disable, "ateraktivera": .enable,
        ]
        guard let kind = changes[change] else { throw HTTPError(.notFound) }
        let session = user.data(gateway, action: "administration")
        let (password, secret) = try await session.changeAccount(accounts, username: username, kind)
        if let password {
            var created = ["username": username, "password": password]
            if let secret { created["secret"] = secret }
            return try await adminPage(.users, user, notice: "Inloggningen för \(username) är återställd. Användaren väljer ett eget lösenord vid nästa inloggning.",
                                       created: created)
        }
        let said: String = switch kind {
        case .unlock: "Kontot \(username) är upplåst."
        case .disable: "Kontot \(username) är avstängt. Öppna sessioner avslutas vid nästa sidvisning."
        default: "Kontot \(username) är återaktiverat."
        }
        return Self.redirect("/admin/anvandare?klar=" + (said.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }

    /// A further assignment for a user who already has a login (another unit or position).
    func addAssignment(_ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "administration")
        var errors: [String: String] = [:]
        let practitionerID = form["practitioner"] ?? ""
        let account = try await accounts.all(kind: .practitioner).first { $0.subjectID == practitionerID }
        if account == nil { errors["practitioner"] = "Välj en användare." }
        let position = try await session.positions().first { $0.code == form["position"] }
        if position == nil { errors["position"] = "Välj befattning." }
        let purpose = form["purpose"].flatMap(AssignmentPurpose.init(rawValue:))
        if purpose == nil { errors["purpose"] = "Välj uppdragets ändamål." }
        let unitID = form["unit"] ?? ""
        if try await gateway.directory.unit(unitID) == nil { errors["unit"] = "Välj enhet." }
        guard errors.isEmpty, let account, let position, let purpose else {
            return try await adminPage(.users, user, values: form, errors: errors, status: .badRequest)
        }
        if try await gateway.directory.assignments(practitionerID: practitionerID).contains(where: { $0.unitID == unitID && $0.position.code == position.code }) {
            return try await adminPage(.users, user, values: form, errors: ["unit": "\(account.displayName) har redan ett uppdrag som \(position.display) där."], status: .badRequest)
        }
        let id = "\(practitionerID)-uppdrag-" + UUID().uuidString.lowercased().prefix(8)
        var role = Assignment.resource(id: id, practitionerID: practitionerID, unitID: unitID, purpose: purpose, position: position)
        role["practitioner"] = FHIR.reference("Practitioner", practitionerID, display: account.displayName)
        role["period"] = FHIR.object([("start", .string(Instant.format(milliseconds: Instant.now())))])
        _ = try await session.commit(.create(role, type: "PractitionerRole", id: id))
        return Self.redirect("/admin/anvandare?klar=" + ("\(account.displayName) har fått ett uppdrag som \(position.display)".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }

    /// Ends an assignment: the PractitionerRole becomes inactive with an end date (kept, as the audit
    /// names it); sessions opened with it end at their next page.
    func endAssignment(id: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "administration")
        guard let stored = try await session.read(type: "PractitionerRole", id: id), !stored.isDeleted else {
            throw FHIRError(.notFound, code: .notFound, "PractitionerRole/\(id) does not exist")
        }
        if id == user.assignment?.id {
            return try await adminPage(.users, user, errors: ["assignments": "Du kan inte avsluta uppdraget du är inloggad med."], status: .badRequest)
        }
        var role = stored.object
        role["active"] = .bool(false)
        var period = role["period"]?.objectValue ?? JSONObject()
        period["end"] = .string(Instant.format(milliseconds: Instant.now()))
        role["period"] = .object(period)
        _ = try await session.commit(.update(role.forUpdate, type: "PractitionerRole", id: id, ifMatch: stored.versionId))
        return Self.redirect("/admin/anvandare?klar=" + ("Uppdraget \(id) är avslutat".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }

    /// Winds up a unit: it stays (its records and history name it) but is no longer offered for
    /// referrals, bookings or new assignments. A unit with active assignments is refused.
    func endUnit(id: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "administration")
        guard user.principal.permissions.administer else {
            throw FHIRError(.forbidden, code: .forbidden, "administration needs a systemförvaltare assignment (administer permission)")
        }
        guard let stored = try await session.read(type: "Organization", id: id), !stored.isDeleted else {
            throw FHIRError(.notFound, code: .notFound, "Organization/\(id) does not exist")
        }
        let active = try await Records(session: session).search("PractitionerRole", [("organization", "Organization/\(id)"), ("active", "true")], limit: 1)
        if !active.isEmpty {
            return try await adminPage(.units, user, errors: ["units": "Enheten har aktiva medarbetaruppdrag. Avsluta dem först."], status: .badRequest)
        }
        var unit = stored.object
        unit["active"] = .bool(false)
        _ = try await session.commit(.update(unit.forUpdate, type: "Organization", id: id, ifMatch: stored.versionId))
        await gateway.directory.invalidate()
        return Self.redirect("/admin/enheter?klar=" + ("Enheten \(unit["name"]?.stringValue ?? id) är avvecklad".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }

    /// Renames a unit, changes its HSA-id or moves it within its care provider. The form carries the
    /// version it was made from, so a change someone else saved in between is shown, not overwritten.
    func changeUnit(id: String, _ user: User) async throws -> Response {
        guard user.principal.permissions.administer else {
            throw FHIRError(.forbidden, code: .forbidden, "administration needs a systemförvaltare assignment (administer permission)")
        }
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "administration")
        guard let stored = try await session.read(type: "Organization", id: id), !stored.isDeleted else {
            throw FHIRError(.notFound, code: .notFound, "Organization/\(id) does not exist")
        }
        func refused(_ errors: [String: String]) async throws -> Response {
            try await adminPage(.units, user, values: form, errors: errors, editing: id, status: .badRequest)
        }
        let name = form["editName"] ?? "", hsa = form["editHsa"] ?? "", parentID = (form["editParent"] ?? "").isEmpty ? nil : form["editParent"]
        var errors: [String: String] = [:]
        if name.count < 2 { errors["editName"] = "Ange enhetens namn." }
        var parent: OrganisationDirectory.Unit?
        if let parentID { parent = try await gateway.directory.unit(parentID) }
        if let parentID, parent == nil {
            errors["editParent"] = "Det finns ingen organisation med id \(parentID)."
        } else {
            switch try await gateway.directory.placementProblem(of: id, under: parentID) {
            case nil: break
            case .partOfItself: errors["editParent"] = "En enhet kan inte vara en del av sig själv."
            case .underItsOwnPart: errors["editParent"] = "\(parentID ?? "") är en del av \(id). Välj en organisation utanför enheten."
            case .otherProvider(let from, let to):
                let (fromName, toName) = (try await gateway.directory.unit(from)?.name ?? from, try await gateway.directory.unit(to)?.name ?? to)
                errors["editParent"] = to == id
                    ? "Enheten hör till vårdgivaren \(fromName) och kan inte bli en egen vårdgivare: journalerna hör till vårdgivaren."
                    : "Enheten hör till vårdgivaren \(fromName) och kan inte flyttas till \(toName): journalerna hör till vårdgivaren. Skapa en ny enhet där i stället."
            }
        }
        guard errors.isEmpty else { return try await refused(errors) }
        guard form["version"] == String(stored.versionId) else {
            return try await adminPage(.units, user, errors: ["editName": "Någon annan har ändrat enheten sedan du öppnade formuläret. Här är den nya versionen; gör din ändring igen."],
                                       editing: id, status: .conflict)
        }
        var unit = stored.object
        unit["name"] = .string(name)
        unit["partOf"] = parent.map { FHIR.reference("Organization", $0.id, display: $0.name) }
        var identifiers = (unit["identifier"]?.arrayValue ?? []).filter { $0.objectValue?["system"]?.stringValue != Self.hsaSystem }
        if !hsa.isEmpty { identifiers.append(FHIR.object([("system", .string(Self.hsaSystem)), ("value", .string(hsa))])) }
        unit["identifier"] = identifiers.isEmpty ? nil : .array(identifiers)
        do {
            _ = try await session.commit(.update(unit.forUpdate, type: "Organization", id: id, ifMatch: stored.versionId))
        } catch let error as FHIRError where error.category == .conflict {
            return try await adminPage(.units, user, errors: ["editName": "Någon annan har ändrat enheten samtidigt. Här är den nya versionen; gör din ändring igen."],
                                       editing: id, status: .conflict)
        }
        await gateway.directory.invalidate()
        return Self.redirect("/admin/enheter?klar=" + ("Enheten \(name) är ändrad".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }

    /// HSA-id, the national directory's identifier of units and people.
    static var hsaSystem: String { "urn:oid:1.2.752.29.4.19" }

    static func hsaID(_ object: JSONObject) -> String? {
        object["identifier"]?.arrayValue?.lazy.compactMap(\.objectValue).first { $0["system"]?.stringValue == hsaSystem }?["value"]?.stringValue
    }
}
