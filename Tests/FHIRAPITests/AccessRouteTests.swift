import Access
import FHIRCore
import Foundation
import Hummingbird
import HTTPTypes
import KarnaServer
import KarnaTesting
import Logging
import Store
import StoreModel
import Testing

/// Every route of the server, classified: those that can touch patient data must refuse an
/// unauthenticated request and audit an authorised one. A new route fails this test until it is classified here.
@Suite("Every patient-data route is authenticated and audited")
struct AccessRouteTests {
    /// Routes that never return or change patient data: discovery, login pages and the token endpoints.
    static let publicRoutes: Set<String> = [
        "GET /health", "GET /health/live", "GET /health/ready", "GET /metrics", "GET /cds-services", "GET /", "GET /.well-known/smart-configuration", "GET /fhir/.well-known/smart-configuration",
        "GET /.well-known/openid-configuration", "GET /auth/.well-known/openid-configuration", "GET /auth/jwks",
        "GET /auth/authorize", "POST /auth/authorize", "POST /auth/token", "POST /auth/revoke",
    ]
    /// The web app's pages: the public ones and those behind a web session (WebAppTests drives each of these without one).
    static let webRoutes: Set<String> = [
        "GET /patienter/{id}/lakemedel", "GET /lakemedel/avdelning", "POST /patienter/{id}/lakemedelsberattelse", "POST /patienter/{id}/doser", "POST /patienter/{id}/lakemedelsgenomgang", "GET /patienter/{id}/ordination/ny", "POST /patienter/{id}/ordination",
        "GET /patienter/{id}/recept/ny", "POST /patienter/{id}/recept", "POST /patienter/{id}/recept/text", "GET /patienter/{id}/nll", "POST /recept/{id}/fornya", "POST /recept/{id}/parallell", "POST /recept/{id}/ersatt", "POST /recept/{id}/avsluta",
        "POST /recept/{id}/makulera", "GET /recept/ej-skickade", "GET /recept/{id}/reservrecept", "POST /recept/{id}/skicka",
        "GET /patienter/{id}/provsvar", "GET /patienter/{id}/bestall", "POST /patienter/{id}/bestall", "GET /provsvar", "POST /provsvar/franvaro", "GET /provsvar/omatchade", "POST /provsvar/omatchade/{id}/matcha",
        "GET /provsvar/{id}", "POST /provsvar/{id}/vidimera", "POST /larm/{id}/kvittera", "GET /bestallningar/ej-levererade", "POST /bestallningar/{id}/skicka", "POST /bestallningar/{id}/makulera",
        "GET /bilder/{id}", "GET /bilder/{id}/hamta",
        "GET /akut", "GET /akut/tavla", "GET /akut/handelser", "GET /akut/ankomst", "POST /akut/ankomst", "POST /akut/farg", "GET /akut/ledtider",
        "GET /akut/besok/{id}", "POST /akut/besok/{id}/{action}", "GET /patienter/{id}/vitalparametrar", "POST /patienter/{id}/vitalparametrar",
        "GET /avdelning/news2", "GET /dagkirurgi", "GET /dagkirurgi/{id}", "POST /dagkirurgi/{id}/{action}", "POST /uppfoljning/{id}/klar",
        "GET /patienter/{id}/dagkirurgi", "POST /patienter/{id}/dagkirurgi",
        "GET /mvc", "POST /mvc/uppgift/{id}/klar", "GET /patienter/{id}/graviditet", "POST /patienter/{id}/graviditet", "GET /graviditet/{id}/besok",
        "POST /graviditet/{id}/besok", "POST /graviditet/{id}/{action}", "GET /graviditet/{id}/mfr", "GET /forlossning/ny", "POST /forlossning/ny",
        "GET /forlossning/{id}", "POST /forlossning/{id}/partogram", "POST /forlossning/{id}/fodelse",
        "GET /static/{file}", "GET /login", "POST /login", "POST /login/uppdrag", "POST /logga-ut",
        "GET /start", "GET /efterregistrering", "GET /patienter", "GET /patienter/{id}", "POST /patienter/{id}/vardrelation", "POST /patienter/{id}/samtycke", "POST /patienter/{id}/sparr", "POST /patienter/{id}/nodatkomst",
        "GET /patienter/{id}/journal", "GET /patienter/{id}/anteckning/ny", "POST /patienter/{id}/anteckning", "POST /anteckningar/{id}/signera",
        "GET /anteckningar/{id}", "POST /anteckningar/{id}/ratta", "POST /anteckningar/{id}/makulera",
        "GET /registrera", "POST /registrera", "POST /registrera/reservnummer",
        "GET /tidbok", "POST /tidbok/boka", "POST /tidbok/skapa-tider", "POST /tidbok/blockera", "POST /tidbok/hav-blockering", "POST /tidbok/{id}/checka-in", "POST /tidbok/{id}/avboka", "POST /tidbok/{id}/uteblev",
        "GET /tidbok/{id}/flytta", "POST /tidbok/{id}/flytta", "GET /vantelista", "GET /vantelista/{id}/boka", "POST /vantelista/{id}/boka",
        "GET /patienter/{id}/signaler", "POST /patienter/{id}/allergi", "POST /patienter/{id}/signal", "POST /patienter/{id}/signaler/{type}/{signal}/avsluta",
        "POST /patienter/{id}/problem", "POST /patienter/{id}/problem/{condition}/avsluta", "POST /patienter/{id}/diagnoser",
        "GET /patienter/{id}/remiss/ny", "POST /patienter/{id}/remiss", "GET /remisser", "GET /remisser/{id}", "POST /remisser/{id}/{step}",
        "GET /loggranskning", "GET /loggranskning/patient/{id}", "GET /loggranskning/anvandare", "POST /loggranskning/{seq}/beslut",
        "GET /avdelning", "POST /avdelning/inskrivning", "POST /avdelning/planera", "POST /avdelning/{id}/{step}",
        "GET /admin", "GET /admin/{section}", "POST /admin/{section}", "GET /admin/taxa", "POST /admin/taxa", "GET /admin/mallar", "POST /admin/mallar",
        "POST /admin/konton/{username}/{change}", "POST /admin/uppdrag",
        "POST /admin/uppdrag/{id}/avsluta", "POST /admin/enhet/{id}/avveckla", "POST /admin/enhet/{id}", "GET /konto", "POST /konto/losenord",
        "POST /utkast", "POST /utkast/slang", "POST /session/aktiv", "GET /terminologi/{list}",
        "GET /vantelista/ny", "POST /vantelista", "GET /patienter/{id}/vantelista/ny", "POST /patienter/{id}/vantelista", "POST /loggranskning/beslut",
        "GET /kassa", "GET /kassa/dagsrapport", "GET /kassa/{id}", "POST /kassa/{id}/betala",
        "GET /kassa/kvitto/{id}", "POST /kassa/kvitto/{id}/makulera", "POST /kassa/kvitto/{id}/aterbetala",
    ]
    /// Routes that need a bearer token but hold no patient data themselves (the launch context only names a patient id).
    static let tokenRoutes: Set<String> = ["POST /auth/launch", "GET /auth/userinfo", "POST /cds-services/{id}", "POST /cds-services/{id}/feedback"]
    /// The FHIR API: every interaction below is exercised.
    static let fhirRoutes: Set<String> = Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"].flatMap { ["\($0) /fhir", "\($0) /fhir/**"] })

    static let observation = #"{"resourceType":"Observation","status":"final","code":{"text":"puls"},"subject":{"reference":"Patient/p1"},"identifier":[{"system":"urn:test","value":"IDV"}]}"#

    /// (method, path, body, content type, expected status when authorised)
    static let interactions: [(HTTPRequest.Method, String, String?, String?, Int)] = [
        (.get, "/fhir/Patient/p1", nil, nil, 200),
        (.head, "/fhir/Patient/p1", nil, nil, 200),
        (.get, "/fhir/Patient/p1/_history/1", nil, nil, 200),
        (.get, "/fhir/Patient/p1/_history", nil, nil, 200),
        (.get, "/fhir/Observation/_history", nil, nil, 200),
        (.get, "/fhir/_history", nil, nil, 200),
        (.get, "/fhir/Observation?subject=Patient/p1", nil, nil, 200),
        (.post, "/fhir/Observation/_search", "subject=Patient/p1", "application/x-www-form-urlencoded", 200),
        (.get, "/fhir/Patient/p1/Observation", nil, nil, 200),
        (.get, "/fhir/Patient/p1/$everything", nil, nil, 200),
        (.get, "/fhir/Patient/p1/$access", nil, nil, 200),
        (.post, "/fhir/Observation", observation.replacingOccurrences(of: "IDV", with: "create"), nil, 201),
        (.put, "/fhir/Observation/o1", #"{"resourceType":"Observation","id":"o1","status":"amended","code":{"text":"puls"},"subject":{"reference":"Patient/p1"}}"#, nil, 200),
        (.put, "/fhir/Observation?identifier=urn:test|cond", observation.replacingOccurrences(of: "IDV", with: "cond"), nil, 201),
        (.delete, "/fhir/Observation/o2", nil, nil, 200),
        (.delete, "/fhir/Observation?identifier=urn:test|gone", nil, nil, 200),
        (.post, "/fhir", #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":\#(observation.replacingOccurrences(of: "IDV", with: "tx")),"request":{"method":"POST","url":"Observation"}}]}"#, nil, 200),
        (.post, "/fhir", #"{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/p1"}}]}"#, nil, 200),
        (.get, "/fhir/AuditEvent?patient=p1", nil, nil, 403),
        // A CDS Hooks call reads the patient's record through the gateway (feedback: CDSHooksTests).
        (.post, "/cds-services/lakemedelskontroll-order-sign", #"{"hook":"order-sign","hookInstance":"h1","context":{"patientId":"p1","draftOrders":{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"MedicationRequest","id":"d1","status":"draft","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"M01AE01"}]}}}]}}}"#, "application/json", 200),
    ]

    @Test("the router has no route this test does not know")
    func everyRouteIsClassified() async throws {
        let store = try await StoreBackendForRoutes.store()
        let services = try await KarnaApplication.services(try KarnaConfiguration(flags: ["password-cost": "10"], environment: [:]), store: store,
                                                           logger: Logger(label: "test"))
        let routes = Set(try await KarnaApplication.router(services).routes.map { "\($0.method) \($0.path.description.hasPrefix("/") ? "" : "/")\($0.path)" })
        let known = Self.publicRoutes.union(Self.tokenRoutes).union(Self.fhirRoutes).union(Self.webRoutes)
        #expect(routes.subtracting(known).isEmpty, "unclassified routes: \(routes.subtracting(known).sorted())")
        #expect(Self.fhirRoutes.isSubset(of: routes))
        try await store.close()
    }

    @Test("each FHIR interaction refuses a request without a token and audits one with a token", arguments: backends)
    func refusedThenAudited(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            _ = try await api.send(.put, "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1","name":[{"family":"Andersson"}]}"#)
            for id in ["o1", "o2"] {
                _ = try await api.send(.put, "/fhir/Observation/\(id)",
                                       #"{"resourceType":"Observation","id":"\#(id)","status":"final","code":{"text":"puls"},"subject":{"reference":"Patient/p1"}}"#)
            }
            _ = try await api.send(.post, "/fhir/Observation", Self.observation.replacingOccurrences(of: "IDV", with: "gone"))
            for (method, path, body, contentType, expected) in Self.interactions {
                var anonymous = api
                anonymous.token = ""
                var headers: [String: String] = [:]
                if let contentType { headers["Content-Type"] = contentType }
                let before = try await api.store.auditRecords(AuditQuery(limit: 1)).first?.sequence ?? 0
                let refused = try await anonymous.send(method, path, body, headers: headers)
                #expect(refused.status == 401, "\(method) \(path) without a token answered \(refused.status)")
                #expect(refused["WWW-Authenticate"]?.hasPrefix("Bearer") == true)
                // Refused before any access: the only trail is the refusal itself, naming no patient, flagged for review.
                let refusal = try await api.store.auditRecords(AuditQuery(afterSequence: before, limit: 10))
                #expect(refusal.count == 1 && refusal.allSatisfy { $0.entry.action == "authenticate" && $0.entry.patientID == nil
                    && $0.entry.flags.contains(ReviewFlag.failedAuthentication.rawValue) }, "\(method) \(path)")

                let answered = try await api.send(method, path, body, headers: headers)
                #expect(answered.status == expected, "\(method) \(path): \(answered.status) \(answered.text.prefix(300))")
                let new = try await api.store.auditRecords(AuditQuery(afterSequence: before, limit: 100))
                #expect(new.contains { $0.entry.patientID == "p1" && $0.entry.actor == "Client/\(testClientID)" },
                        "\(method) \(path) wrote no audit record naming the patient")
            }
        }
    }

    @Test("the CapabilityStatement is public and advertises SMART; metadata needs no token")
    func capabilitiesArePublic() async throws {
        try await withAPI(.sqlite) { api in
            var anonymous = api
            anonymous.token = ""
            let response = try await anonymous.send(.get, "/fhir/metadata")
            #expect(response.status == 200)
            #expect(response.text.contains("SMART-on-FHIR") && response.text.contains("/auth/token"))
            let smart = try await anonymous.send(.get, "/fhir/.well-known/smart-configuration")
            #expect(smart.json?["token_endpoint"]?.stringValue?.hasSuffix("/auth/token") == true)
        }
    }
}

/// A bare SQLite store for the route listing.
enum StoreBackendForRoutes {
    static func store() async throws -> any ResourceStore {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("karna-routes-\(UUID().uuidString).sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        return store
    }
}
