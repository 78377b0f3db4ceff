import Access
import FHIRCore
import Foundation
import Hummingbird
import PatientAdministration
import Store

/// Registering a patient: with a personnummer or samordningsnummer (validated, one record per
/// number), or with a reservnummer when the identity is unknown.
extension WebApp {
    /// The identified-registration form's fields, in order.
    static var registrationFields: [(name: String, label: String, required: Bool, autocomplete: String, hint: String?)] {
        [("identity", "Personnummer eller samordningsnummer", true, "off", "Till exempel 19121212-1212 eller 121212-1212."),
         ("given", "Förnamn", true, "given-name", nil), ("family", "Efternamn", true, "family-name", nil),
         ("gender", "Kön", false, "off", nil), ("phone", "Telefon", false, "tel", nil),
         ("line", "Adress", false, "address-line1", nil), ("postalCode", "Postnummer", false, "postal-code", nil), ("city", "Ort", false, "address-level2", nil)]
    }

    func registerPage(_ user: User, values: [String: String] = [:], errors: [String: String] = [:], message: String? = nil,
                      status: HTTPResponse.Status = .ok) -> Response {
        var context = layout(user, title: "Registrera patient", nav: "navRegister")
        context["fields"] = Self.registrationFields.map { field -> [String: Any] in
            var item: [String: Any] = ["name": field.name, "label": field.label, "required": field.required, "value": values[field.name] ?? "",
                                       "autocomplete": field.autocomplete]
            if let hint = field.hint { item["hint"] = hint }
            if let error = errors[field.name] { item["error"] = error }
            item["describedBy"] = [field.hint == nil ? nil : "\(field.name)-hint", errors[field.name] == nil ? nil : "\(field.name)-error"]
                .compactMap { $0 }.joined(separator: " ")
            if field.name == "gender" {
                item["options"] = true
                item["choices"] = [("", "Enligt personnumret"), ("female", "Kvinna"), ("male", "Man"), ("other", "Annat")].map {
                    ["value": $0.0, "text": $0.1, "selected": values["gender"] == $0.0] as [String: Any]
                }
            }
            return item
        }
        if let message { context["error"] = message }
        return pages.page("register", context, status: status)
    }

    func register(_ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        var errors: [String: String] = [:]
        var identity: SwedishPersonalIdentity?
        do {
            identity = try SwedishPersonalIdentity(form["identity"] ?? "")
        } catch {
            errors["identity"] = (form["identity"] ?? "").isEmpty ? "Ange personnummer eller samordningsnummer." : "Numret är inte giltigt: \(error.description)."
        }
        for (name, text) in [("given", "Ange förnamn."), ("family", "Ange efternamn.")] where (form[name] ?? "").isEmpty { errors[name] = text }
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
        do {
            _ = try await user.data(gateway, action: "register-patient").commit(.create(patient, type: "Patient", id: id))
        } catch let error as FHIRError where error.category == .conflict || error.category == .invalid {
            // The one-record-per-number rule names the existing record: the clerk opens it instead.
            return registerPage(user, values: form, errors: ["identity": error.issues.map(\.diagnostics).joined(separator: " ")],
                                message: "Patienten registrerades inte.", status: error.category == .conflict ? .conflict : .badRequest)
        }
        return Self.redirect("/patienter/\(id)")
    }

    func registerUnidentified(_ user: User) async throws -> Response {
        let form = user.form
        let year = form["year"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        if let text = form["year"], !text.trimmingCharacters(in: .whitespaces).isEmpty, year == nil {
            return registerPage(user, message: "Födelseåret ska vara fyra siffror, till exempel 1960.", status: .badRequest)
        }
        let patient = try await administration.registry.registerUnidentified(gender: form["gender"], estimatedBirthYear: year, note: form["note"],
                                                                             session: user.data(gateway, action: "register-unidentified"))
        return Self.redirect("/patienter/\(patient.id)")
    }
}
