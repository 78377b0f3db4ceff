import Access
import FHIRAPI
import FHIRCore
import HTTPTypes
import KarnaServer
import KarnaTesting
import Testing

/// Issue 22, item 8: browser SMART apps may call the API from their own origin, and only those.
@Suite("CORS: an allow-list of origins, never *")
struct CrossOriginTests {
    @Test("a registered app's origin gets a preflight and CORS headers; another origin gets neither, and * is refused as a setting")
    func allowListOfOrigins() async throws {
        try await withAPI(.sqlite, flags: ["cors-origins": "https://tavla.example.se"]) { api in
            try await api.services.tokens.clients.register(OAuthClient(id: "growth-chart", name: "Tillväxtkurva", kind: .publicApp,
                                                                       redirectURIs: ["https://app.example.se:8443/callback"], scopes: "patient/*.rs"))
            let preflight = try await api.send(.options, "/fhir/Patient", headers: [
                "Origin": "https://app.example.se:8443", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization",
            ])
            #expect(preflight.status == 204)
            #expect(preflight["Access-Control-Allow-Origin"] == "https://app.example.se:8443")
            #expect(preflight["Access-Control-Allow-Headers"]?.contains("Authorization") == true)
            #expect(preflight["Access-Control-Allow-Methods"]?.contains("PUT") == true)

            let read = try await api.send(.get, "/fhir/metadata", headers: ["Origin": "https://tavla.example.se"])
            #expect(read.status == 200)
            #expect(read["Access-Control-Allow-Origin"] == "https://tavla.example.se", "a configured origin")
            #expect(read["Access-Control-Expose-Headers"]?.contains("Location") == true)
            #expect(read["Vary"]?.contains("Origin") == true)

            let stranger = try await api.send(.options, "/fhir/Patient", headers: ["Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"])
            #expect(stranger.status == 403)
            #expect(stranger.text.contains("KARNA_CORS_ORIGINS"))
            #expect(stranger["Access-Control-Allow-Origin"] == nil)
            let strangerRead = try await api.send(.get, "/fhir/metadata", headers: ["Origin": "https://evil.example.com"])
            #expect(strangerRead["Access-Control-Allow-Origin"] == nil)
            // The web app's own pages are same-origin: no CORS headers there.
            let page = try await api.send(.get, "/login", headers: ["Origin": "https://app.example.se:8443"])
            #expect(page["Access-Control-Allow-Origin"] == nil)
        }
        #expect(throws: KarnaConfiguration.Error.self) { try KarnaConfiguration(flags: ["cors-origins": "*"], environment: [:]) }
        #expect(throws: KarnaConfiguration.Error.self) { try KarnaConfiguration(flags: ["cors-origins": "https://app.example.se/path"], environment: [:]) }
    }
}
