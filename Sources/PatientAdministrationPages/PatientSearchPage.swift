import Access
import FHIRCore
import Foundation
import Hummingbird
import PatientAdministration
import StoreModel
import WebApp

/// Finding a patient by personnummer, samordningsnummer, reservnummer or name (the search field on every page).
extension AdministrationPages {
    func patientSearch(_ request: Request, _ user: User) async throws -> Response {
        let text = Self.query(request)["q"]?.trimmingCharacters(in: .whitespaces) ?? ""
        var context = layout(user, title: text.isEmpty ? "Patienter" : "Sök: \(text)", nav: "navPatients")
        context["query"] = text
        guard !text.isEmpty else { return pages.page("patients", context) }
        let found: [StoredResource]
        do {
            found = try await administration.registry.find(text, limit: settings.maximumSearchResults, session: user.data(gateway, action: "patient-search"))
        } catch let error as FHIRError where error.category == .invalid {
            context["error"] = Self.said(error)
            return pages.page("patients", context, status: .badRequest)
        }
        // One match by an exact identity opens the chart at once, as a clerk expects.
        if found.count == 1, Display.identity(found[0].object).map({ Self.digits($0.value) == Self.digits(text) }) == true {
            return Self.redirect("/patienter/\(found[0].id)")
        }
        context["searched"] = true
        context["resultText"] = switch found.count {
        case 0: "Ingen patient hittades"
        case 1: "1 patient"
        case settings.maximumSearchResults...: "De första \(found.count) patienterna – skriv mer för att begränsa"
        default: "\(found.count) patienter"
        }
        context["results"] = found.map { patient -> [String: Any] in
            // `object` parses the stored JSON: once per row.
            let object = patient.object
            return ["id": patient.id, "name": Display.name(object), "identity": Display.identity(object)?.value ?? "",
                    "age": Display.age(object).map(String.init) ?? "", "gender": Display.gender(object),
                    "protected": RecordTags.isProtected(object)]
        }
        return pages.page("patients", context)
    }

    static func digits(_ text: String) -> String { String(text.filter(\.isNumber).suffix(10)) }
}
