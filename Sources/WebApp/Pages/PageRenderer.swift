import Foundation
import Hummingbird
import Mustache

/// Renders the app's Mustache templates (the shell's and every module's) into HTML responses.
/// Mustache escapes every `{{value}}`, so text from records cannot become markup.
public struct PageRenderer: Sendable {
    let library: MustacheLibrary

    /// Loads the shell's `Templates/` and each module's folder once, at start; a template that does not
    /// parse, or a module template that takes a name already taken, stops the start.
    static func load(modules: [(name: String, folder: URL)]) async throws -> PageRenderer {
        guard let directory = Bundle.module.resourceURL?.appendingPathComponent("Templates").path else {
            throw WebAppError("the WebApp bundle has no Templates folder")
        }
        var library = try await MustacheLibrary(directory: directory)
        var owners: [String: String] = [:]
        for (module, folder) in modules {
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".mustache") }.sorted()
            for file in files {
                let name = String(file.dropLast(".mustache".count))
                guard library.getTemplate(named: name) == nil else {
                    throw WebAppError("the template \(name) of \(module) takes a name \(owners[name] ?? "the shell") already has")
                }
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                do {
                    library.register(try MustacheTemplate(string: text), named: name)
                } catch {
                    throw WebAppError("the template \(name) of \(module) does not parse: \(error)")
                }
                owners[name] = module
            }
        }
        return PageRenderer(library: library)
    }

    /// An HTML page; never cached, since every page shows patient data or a form token.
    public func page(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: render(template, context))))
    }

    /// A template rendered to HTML (a part of a page, such as a start-page section).
    public func render(_ template: String, _ context: [String: Any]) -> String {
        library.render(Self.closingRows(context, page: context), withTemplate: template)
            ?? "<!doctype html><title>Kärna</title><p>Sidmallen \(template) saknas.</p>"
    }

    /// The names a list item may take from the page when it has none of its own: what forms and links
    /// inside a list need from the page (its form token, the patient and the address to return to).
    /// Every other name an item lacks reads as absent.
    public static let pageWide: Set<String> = ["formToken", "patientID", "returnTo"]

    /// The context with every dictionary inside a list turned into a `Row`, however deep.
    static func closingRows(_ value: [String: Any], page: [String: Any]) -> [String: Any] {
        value.mapValues { closingRows($0, page: page) }
    }

    static func closingRows(_ value: Any, page: [String: Any]) -> Any {
        // Most values are plain text, numbers and flags: told apart at once, before the casts to collection types
        // (each of which checks element types at run time — on a board of sixty rows, most of the page's time).
        if value is String || value is Int || value is Bool || value is Double { return value }
        func row(_ object: [String: Any]) -> Row { Row(values: closingRows(object, page: page), page: page) }
        switch value {
        case let rows as [[String: Any]]: return rows.map(row)
        case let list as [Any]: return list.map { item in (item as? [String: Any]).map(row) ?? item }
        case let object as [String: Any]: return closingRows(object, page: page)
        default: return value
        }
    }
}

/// One item of a list in a page's context. It answers for its own names only: Mustache would otherwise
/// look a name the item lacks up in the enclosing contexts, and a page-level `error` turned every field
/// of a form red, a day's `booked` made every free time of the week read "Bokadledig". Only the
/// `PageRenderer.pageWide` names reach past an item to the page.
struct Row: MustacheParent {
    let values: [String: Any]
    let page: [String: Any]

    func child(named name: String) -> Any? {
        if let value = values[name] { return value }
        if PageRenderer.pageWide.contains(name) { return page[name] }
        return NSNull()
    }
}

/// A failure of the web app's own set-up.
struct WebAppError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
