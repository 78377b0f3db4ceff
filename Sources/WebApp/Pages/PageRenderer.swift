import Foundation
import Hummingbird
import Mustache

/// Renders the app's Mustache templates (shipped in the bundle) into HTML responses.
/// Mustache escapes every `{{value}}`, so text from records cannot become markup.
struct PageRenderer: Sendable {
    let library: MustacheLibrary

    /// Loads every template in `Templates/` once, at start; a template that does not parse stops the start.
    static func load() async throws -> PageRenderer {
        guard let directory = Bundle.module.resourceURL?.appendingPathComponent("Templates").path else {
            throw WebAppError("the WebApp bundle has no Templates folder")
        }
        return PageRenderer(library: try await MustacheLibrary(directory: directory))
    }

    /// An HTML page; never cached, since every page shows patient data or a form token.
    func page(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let html = library.render(context, withTemplate: template) ?? "<!doctype html><title>Kärna</title><p>Sidmallen \(template) saknas.</p>"
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }
}

/// A failure of the web app's own set-up.
struct WebAppError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
