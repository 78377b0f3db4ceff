import Access
import FHIRCore
import Foundation
import Hummingbird
import WebApp
import PatientAdministration
import StoreModel

/// Registering a patient: with a personnummer or samordningsnummer (validated, one record per
/// number), or with a reservnummer when the identity is unknown.
extension AdministrationPages {
    /// The identified-registration form's fields, in order.
    static var registrationFields: [(name: String, label: String, required: Bool, autocomplete: String, hint: String?)] {
        [("identity", "Personnummer eller samordningsnummer", true, "off", "Till exempel 19121212-1212 eller 121212-1212."),
         ("given", "Förnamn", true, "given-name", nil), ("family", "Efternamn", true, "family-name", nil),
         ("gender", "Kön", false, "off", nil), ("phone", "Telefon", false, "tel", nil),
         ("line", "Adress", false, "address-line1", nil), ("postalCode", "Postnummer", false, "postal-code", nil), ("city", "Ort", false, "address-level2", nil),
         ("interpreter", "Tolkbehov", false, "off", "Språket patienten behöver tolk till."),
         ("relativeName", "Närstående: namn", false, "off", nil), ("relativeRelation", "Närstående: relation", false, "off", nil),
         ("relativePhone", "Närstående: telefon", false, "off", nil),
         ("guardianName", "Vårdnadshavare: namn", false, "off", "För barn under 18 år."),
         ("guardianIdentity", "Vårdnadshavare: personnummer", false, "off", nil), ("guardianPhone", "Vårdnadshavare: telefon", false, "off", nil)]
    }

    /// The choices of the registration form's select fields.
    static var registrationChoices: [String: [(String, String)]] { [
        "gender": [("", "Enligt personnumret"), ("female", "Kvinna"), ("male", "Man"), ("other", "Annat")],
        "interpreter": [("", "Inget"), ("ar", "Arabiska"), ("so", "Somaliska"), ("fa", "Persiska"), ("ti", "Tigrinja"), ("ku", "Kurdiska"),
                        ("fi", "Finska"), ("pl", "Polska"), ("uk", "Ukrainska"), ("en", "Engelska"), ("swl", "Svenskt teckenspråk")],
        "relativeRelation": [("", "Välj relation"), ("SPS", "Make/maka/partner"), ("PRN", "Förälder"), ("CHILD", "Barn"), ("SIB", "Syskon"),
                             ("FAMMEMB", "Annan anhörig"), ("FRND", "Vän")],
    ] }

    /// RelatedPerson.relationship codes (HL7 v3 RoleCode) with their Swedish words.
    static var relationCodes: String { "http://terminology.hl7.org/CodeSystem/v3-RoleCode" }

    func registerPage(_ user: User, values: [String: String] = [:], errors: [String: String] = [:], message: String? = nil,
                      existingID: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        var context = layout(user, title: "Registrera patient", nav: "navRegister")
        context["fields"] = Self.registrationFields.map { field -> [String: Any] in
            var item: [String: Any] = ["name": field.name, "label": field.label, "required": field.required, "value": values[field.name] ?? "",
                                       "autocomplete": field.autocomplete]
            if let hint = field.hint { item["hint"] = hint }
            // The first field takes the cursor, unless another field has an error to mend.
            item["first"] = errors.isEmpty ? field.name == "identity" : errors[field.name] != nil && errors.keys.min { a, b in
                (Self.registrationFields.firstIndex { $0.name == a } ?? 0) < (Self.registrationFields.firstIndex { $0.name == b } ?? 0) } == field.name
            if let error = errors[field.name] { item["error"] = error }
            item["describedBy"] = [field.hint == nil ? nil : "\(field.name)-hint", errors[field.name] == nil ? nil : "\(field.name)-error"]
                .compactMap { $0 }.joined(separator: " ")
            if let choices = Self.registrationChoices[field.name] {
                item["options"] = true
                item["choices"] = choices.map { ["value": $0.0, "text": $0.1, "selected": values[field.name] == $0.0] as [String: Any] }
            }
            return item
        }
        if let message { context["error"] = message }
        if let existingID { context["existingHref"] = "/patienter/\(existingID)" }
        return pages.page("register", context, status: status)
    }

    func register(_ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        var errors: [String: String] = [:]
        var identity: SwedishPersonalIdentity?
        do {
            identity = try SwedishPersonalIdentity(form["identity"] ?? "")
        } catch {
            errors["identity"] = (form["identity"] ?? "").isEmpty ? "Ange personnummer eller samordningsnummer." : "Numret är inte giltigt. \(error.text)"
        }
        for (name, text) in [("given", "Ange förnamn."), ("family", "Ange efternamn.")] where (form[name] ?? "").isEmpty { errors[name] = text }
        let filled = { (name: String) in !(form[name] ?? "").isEmpty }
        if filled("relativePhone") || filled("relativeRelation"), !filled("relativeName") { errors["relativeName"] = "Ange den närståendes namn." }
        var guardian: SwedishPersonalIdentity?
        if filled("guardianIdentity") {
            do { guardian = try SwedishPersonalIdentity(form["guardianIdentity"] ?? "") } catch {
                errors["guardianIdentity"] = "Numret är inte giltigt. \(error.text)"
            }
        }
        if (filled("guardianIdentity") || filled("guardianPhone")), !filled("guardianName") { errors["guardianName"] = "Ange vårdnadshavarens namn." }
        if let language = form["interpreter"], !language.isEmpty, !(Self.registrationChoices["interpreter"] ?? []).contains(where: { $0.0 == language }) {
            errors["interpreter"] = "Välj ett språk i listan."
        }
        guard errors.isEmpty, let identity else {
            return registerPage(user, values: form, errors: errors, message: "Rätta de markerade fälten.", status: .badRequest)
        }
        let id = UUID().uuidString.lowercased()
        let birth = String(format: "%04d-%02d-%02d", identity.birthYear, identity.birthMonth, identity.birthDay)
        let serialDigit = Int(String(identity.canonical.dropLast().last ?? "0")) ?? 0
        var patient = JSONObject([
            ("resourceType", .string("Patient")), ("id", .string(id)), ("active", .bool(true)),
            ("identifier", .array([FHIR.object([("system", .string("urn:oid:" + identity.kind.oid)),
                                                ("value", .string(identity.canonical))])])),
            ("name", .array([FHIR.object([("use", .string("official")), ("family", .string(form["family"] ?? "")),
                                          ("given", .array((form["given"] ?? "").split(separator: " ").map { .string(String($0)) }))])])),
            ("gender", .string((form["gender"]).flatMap { $0.isEmpty ? nil : $0 } ?? (serialDigit % 2 == 1 ? "male" : "female"))),
            ("birthDate", .string(birth)),
        ])
        if let phone = form["phone"], !phone.isEmpty {
            patient["telecom"] = .array([FHIR.object([("system", .string("phone")), ("value", .string(phone))])])
        }
        if let line = form["line"], !line.isEmpty {
            var address: [(key: String, value: JSONValue)] = [("line", .array([.string(line)]))]
            if let code = form["postalCode"], !code.isEmpty { address.append(("postalCode", .string(code))) }
            if let city = form["city"], !city.isEmpty { address.append(("city", .string(city))) }
            patient["address"] = .array([.object(JSONObject(address))])
        }
        if let language = form["interpreter"], !language.isEmpty {
            let name = Self.registrationChoices["interpreter"]?.first { $0.0 == language }?.1 ?? language
            patient["extension"] = .array([FHIR.object([("url", .string("http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired")),
                                                        ("valueBoolean", .bool(true))])])
            patient["communication"] = .array([FHIR.object([("language", FHIR.object([
                ("coding", .array([FHIR.object([("system", .string("urn:ietf:bcp:47")), ("code", .string(language)), ("display", .string(name))])])),
                ("text", .string(name))])), ("preferred", .bool(true))])])
        }
        // Närstående and vårdnadshavare as RelatedPerson, in the same commit as the patient.
        var writes: [WriteOperation] = [.create(patient, type: "Patient", id: id)]
        func related(_ name: String, code: String, display: String, phone: String?, identity: SwedishPersonalIdentity?) {
            let parts = name.split(separator: " ").map(String.init)
            var person = JSONObject([
                ("resourceType", .string("RelatedPerson")), ("id", .string(UUID().uuidString.lowercased())), ("active", .bool(true)),
                ("patient", FHIR.reference("Patient", id)),
                ("relationship", .array([FHIR.concept(Self.relationCodes, code, display)])),
                ("name", .array([FHIR.object([("family", .string(parts.last ?? name)), ("given", .array(parts.dropLast().map { .string($0) }))])])),
            ])
            if let phone, !phone.isEmpty { person["telecom"] = .array([FHIR.object([("system", .string("phone")), ("value", .string(phone))])]) }
            if let identity {
                person["identifier"] = .array([FHIR.object([("system", .string("urn:oid:" + identity.kind.oid)), ("value", .string(identity.canonical))])])
            }
            writes.append(.create(person, type: "RelatedPerson", id: person["id"]?.stringValue ?? ""))
        }
        if filled("relativeName") {
            let code = form["relativeRelation"].flatMap { $0.isEmpty ? nil : $0 } ?? "FAMMEMB"
            related(form["relativeName"] ?? "", code: code, display: Self.registrationChoices["relativeRelation"]?.first { $0.0 == code }?.1 ?? "Närstående",
                    phone: form["relativePhone"], identity: nil)
        }
        if filled("guardianName") { related(form["guardianName"] ?? "", code: "GUARD", display: "Vårdnadshavare", phone: form["guardianPhone"], identity: guardian) }
        let session = user.data(gateway, action: "register-patient")
        do {
            _ = try await session.commit(writes)
        } catch let error as FHIRError where error.category == .conflict || error.category == .invalid {
            // The one-record-per-number rule names the existing record: the clerk opens it instead.
            // The clerk opens the record that has the number instead: the page links to it.
            let existing = error.category == .conflict
                ? try await administration.registry.find(identity.canonical, limit: 1, session: user.data(gateway, action: "patient-search")).first?.id : nil
            return registerPage(user, values: form, errors: ["identity": Self.said(error)], message: "Patienten registrerades inte.",
                                existingID: existing, status: error.category == .conflict ? .conflict : .badRequest)
        }
        return try await registered(id, session: session)
    }

    /// After a registration: the care relationship it implies (the registering unit is caring for the
    /// patient now), then the chart, which says the number at once.
    func registered(_ patientID: String, session: PatientDataSession) async throws -> Response {
        do {
            _ = try await session.registerCareRelationship(patientID: patientID, reason: "Registrerade patienten", days: nil)
        } catch let error as FHIRError where error.category == .forbidden {
            // An assignment that may register but not care (none by default): the chart asks for a ground as usual.
        }
        return Self.redirect("/patienter/\(patientID)?registrerad=ja")
    }

    func registerUnidentified(_ user: User) async throws -> Response {
        let form = user.form
        let year = form["year"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        if let text = form["year"], !text.trimmingCharacters(in: .whitespaces).isEmpty, year == nil {
            return registerPage(user, message: "Födelseåret ska vara fyra siffror, till exempel 1960.", status: .badRequest)
        }
        let session = user.data(gateway, action: "register-unidentified")
        let patient = try await administration.registry.registerUnidentified(gender: form["gender"], estimatedBirthYear: year, note: form["note"],
                                                                             session: session)
        return try await registered(patient.id, session: session)
    }
}
