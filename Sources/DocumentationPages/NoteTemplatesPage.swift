import Access
import Documentation
import FHIRCore
import Foundation
import Hummingbird
import WebApp

/// The region's note templates among the administration pages: shown as JSON, replaced as a whole,
/// checked by the documentation module before they are taken into use.
extension DocumentationPages {
    func templatesPage(_ user: User, values: [String: String] = [:], errors: [String: String] = [:], notice: String? = nil,
                       status: HTTPResponse.Status = .ok) async throws -> Response {
        var context = try adminContext(user, section: "mallar", values: values, errors: errors, notice: notice)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let templates = try await documentation.notes.templates(session: user.data(gateway, action: "administration"))
        let current = String(decoding: try encoder.encode(templates), as: UTF8.self)
        context["templatesJSON"] = values["templates"] ?? current
        context["templateList"] = templates.map { ["title": $0.title, "headings": $0.headings.map(\.title).joined(separator: ", "),
                                                   "professions": $0.professions.joined(separator: ", ")] }
        return pages.page("admin-templates", context, status: status)
    }

    func saveTemplates(_ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "administration")
        func refused(_ errors: [String: String]) async throws -> Response {
            try await templatesPage(user, values: form, errors: errors, status: .badRequest)
        }
        try requireAdministrator(user)
        let templates: [NoteTemplate]
        do {
            templates = try JSONDecoder().decode([NoteTemplate].self, from: Data((form["templates"] ?? "").utf8))
        } catch {
            return try await refused(["templates": "Mallarna är inte giltig JSON i rätt form: \(Self.where(error))."])
        }
        do {
            try await documentation.notes.configureTemplates(templates, positions: Set(try await session.positions().map(\.code)), session: session)
        } catch let error as FHIRError where error.category == .invalid {
            return try await refused(["templates": Self.said(error)])
        }
        return Self.redirect("/admin/mallar?klar=Mallarna%20%C3%A4r%20sparade")
    }

    /// Where a template list fails to decode, in Swedish (the decoder's own message is English).
    static func `where`(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "överst" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: return "fältet ”\(key.stringValue)” saknas vid \(path(context.codingPath))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?: return "fel sorts värde vid \(path(context.codingPath))"
        case .dataCorrupted(let context)?: return context.codingPath.isEmpty ? "texten är inte JSON" : "ogiltigt värde vid \(path(context.codingPath))"
        default: return "texten kunde inte läsas"
        }
    }
}
