import Access
import FHIRCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KarnaServer
import KarnaTesting
import Store
import StoreModel
import Testing
@testable import WebApp

/// Issue 31, item 13: headers, session lifetimes, logout, failed authentication and the read-only audit log.
@Suite("Hardening of every answer")
struct HardeningTests {
    @Test("pages, API answers and errors carry the security headers; patient data is never cached; the app's own CSS may be", arguments: backends)
    func securityHeaders(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            for path in ["/login", "/start", "/fhir/metadata", "/fhir/Patient/p1", "/auth/authorize?response_type=code"] {
                let response = try await client.execute(uri: path, method: .get, headers: [:], body: nil)
                let csp = try #require(response.headers[HTTPField.Name("Content-Security-Policy")!], "\(path)")
                #expect(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "\(path)")
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(path)")
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(path)")
                #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(path)")
                #expect(response.headers[.cacheControl] == "no-store", "\(path)")
            }
            let css = try await client.execute(uri: "/static/karna.css", method: .get, headers: [:], body: nil)
            #expect(css.headers[.cacheControl] == "max-age=3600")
            // No page may need inline script or style: the policy would break it.
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            for path in ["/start", "/patienter/p1", "/patienter?q=ek"] {
                let page = try await browser.send(.get, path)
                #expect(!page.html.contains(" style=\"") && !page.html.contains(" onclick=") && !page.html.contains("<script>"), "\(path)")
            }
        }
    }

    @Test("a web session ends at its absolute lifetime however active it is")
    func absoluteSessionLifetime() async throws {
        let store = try await StoreBackend.sqlite.makeStore()
        let short = WebSessions(store: store, idleSeconds: 1_800, maximumSeconds: 1)
        let long = WebSessions(store: store, idleSeconds: 1_800, maximumSeconds: 3_600)
        let grant = Grant(kind: .practitioner, subject: "doc", displayName: "Doc", clientID: "web", scope: "openid")
        let (ending, _) = try await short.start(grant)
        let (lasting, _) = try await long.start(grant)
        try await Task.sleep(for: .milliseconds(1_100))
        // Both were in use a moment ago (the idle limit is half an hour): only the absolute lifetime tells them apart.
        guard case .active = try await long.resume(lasting) else { Issue.record("a session within its lifetime ended"); return }
        guard case .expired = try await short.resume(ending) else { Issue.record("the session outlived its absolute lifetime"); return }
        guard case .missing = try await short.resume(ending) else { Issue.record("an ended session is still stored"); return }
        try await store.close()
    }

    @Test("logout ends the session even without the form token", arguments: backends)
    func logoutWithoutFormToken(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let token = try #require(browser.cookies[WebApp<KarnaRequestContext>.sessionCookie])
            let out = try await browser.send(.post, "/logga-ut", form: [])
            #expect(out.status == 303)
            var replay = Browser(client: client)
            replay.cookies[WebApp<KarnaRequestContext>.sessionCookie] = token
            let after = try await replay.send(.get, "/start")
            #expect(after.status == 303 && after.location?.hasPrefix("/login") == true, "the old cookie opens nothing")
        }
    }

    @Test("a refused token is audited with its client, flagged for log review; AuditEvent answers 405 to PUT and DELETE", arguments: backends)
    func failedAuthenticationAndReadOnlyAudit(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            // A token signed by someone else, naming a client.
            let forged = "eyJhbGciOiJFUzI1NiJ9." + Data(#"{"client_id":"stulen-app","sub":"x"}"#.utf8).base64EncodedString()
                .replacingOccurrences(of: "=", with: "") + ".c2lnbmF0dXI"
            for _ in 0..<3 {
                let refused = try await client.execute(uri: "/fhir/Patient/p1", method: .get, headers: [.authorization: "Bearer \(forged)"], body: nil)
                #expect(refused.status == .unauthorized)
            }
            let denied = try await services.store.auditRecords(AuditQuery(action: "authenticate", limit: 10))
            #expect(denied.count == 3)
            #expect(denied.allSatisfy { $0.entry.actor == "Client/stulen-app" && $0.entry.flags.contains(ReviewFlag.failedAuthentication.rawValue) })
            let queue = try await services.store.auditRecords(AuditQuery(flag: ReviewFlag.failedAuthentication.rawValue, limit: 10))
            #expect(queue.count == 3)
            let token = try await services.tokens.issue(Grant(kind: .system, subject: "sys", displayName: "sys", clientID: "sys", scope: "system/*.cruds")).accessToken
            for method in [HTTPRequest.Method.put, .delete] {
                let response = try await client.execute(uri: "/fhir/AuditEvent/1", method: method, headers: [.authorization: "Bearer \(token)", .contentType: "application/fhir+json"],
                                                        body: ByteBuffer(string: #"{"resourceType":"AuditEvent","id":"1"}"#))
                #expect(response.status == .methodNotAllowed, "\(method)")
            }
        }
    }
}
