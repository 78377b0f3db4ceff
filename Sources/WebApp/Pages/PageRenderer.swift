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
        library.render(context, withTemplate: template) ?? "<!doctype html><title>Kärna</title><p>Sidmallen \(template) saknas.</p>"
    }
}

/// A failure of the web app's own set-up.
struct WebAppError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
