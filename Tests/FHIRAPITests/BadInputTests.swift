import FHIRAPI
import FHIRCore
import Foundation
import KarnaTesting
import Store
import StoreModel
import Testing
import HTTPTypes

@Suite("Bad input is refused clearly and changes nothing")
struct BadInputTests {
    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let method: String
        let path: String
        let body: [UInt8]?
        let headers: [String: String]
        let status: Int
        /// A phrase the OperationOutcome must contain, so the error says what is wrong.
        let says: String

        init(_ description: String, _ body: String?, method: String = "POST", path: String = "/fhir/Patient", headers: [String: String] = [:], status: Int, says: String) {
            self.init(description, bytes: body.map { Array($0.utf8) }, method: method, path: path, headers: headers, status: status, says: says)
        }

        init(_ description: String, bytes: [UInt8]?, method: String, path: String, headers: [String: String] = [:], status: Int, says: String) {
            self.description = description
            self.method = method
            self.path = path
            self.body = bytes
            self.headers = headers
            self.status = status
            self.says = says
        }
    }

    static let cases: [Case] = [
        Case("malformed JSON", #"{"resourceType":"Patient",}"#, status: 400, says: "line 1"),
        Case("unknown resourceType", #"{"resourceType":"Patinet"}"#, status: 400, says: "the body is a Patinet"),
        Case("unknown resourceType in a transaction", #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patinet"},"request":{"method":"PUT","url":"Patient/a"}}]}"#,
             method: "POST", path: "/fhir", status: 400, says: "the body is a Patinet"),
        Case("body type differs from URL", #"{"resourceType":"Observation","status":"final","code":{"text":"x"}}"#, status: 400, says: "the URL is for Patient"),
        Case("id mismatch on PUT", #"{"resourceType":"Patient","id":"b"}"#, method: "PUT", path: "/fhir/Patient/a", status: 400, says: "differs from the id in the URL"),
        Case("missing id on PUT", #"{"resourceType":"Patient"}"#, method: "PUT", path: "/fhir/Patient/a", status: 400, says: "must carry the id"),
        Case("invalid id in URL", #"{"resourceType":"Patient","id":"a_b"}"#, method: "PUT", path: "/fhir/Patient/a_b", status: 400, says: "not a valid id"),
        Case("unknown type in URL", #"{"resourceType":"Patinet"}"#, method: "POST", path: "/fhir/Patinet", status: 404, says: "not an R4 resource type"),
        Case("deep nesting", #"{"resourceType":"Patient","extension":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}",
             status: 413, says: "deeper than the limit"),
        Case("control character", #"{"resourceType":"Patient","name":[{"text":"a\u0000b"}]}"#, status: 400, says: "control character"),
        Case("invalid UTF-8", bytes: Array(#"{"resourceType":"Patient","name":[{"text":""#.utf8) + [0xFF, 0xFE] + Array(#""}]}"#.utf8),
             method: "POST", path: "/fhir/Patient", status: 400, says: "not valid UTF-8"),
        Case("CSV body", "a,b", method: "POST", path: "/fhir/Patient", headers: ["Content-Type": "text/csv"], status: 415, says: "text/csv is not supported"),
        Case("malformed XML body", #"<Patient xmlns="http://hl7.org/fhir"><active value="true"></Patient>"#, method: "POST", path: "/fhir/Patient",
             headers: ["Content-Type": "application/fhir+xml"], status: 400, says: "not well-formed"),
        Case("only images accepted", nil, method: "GET", path: "/fhir/metadata", headers: ["Accept": "image/png"], status: 406, says: "application/fhir+xml"),
        Case("_format=turtle", nil, method: "GET", path: "/fhir/metadata?_format=turtle", status: 406, says: "_format=turtle"),
        Case("stale version ETag", #"{"resourceType":"Patient","id":"a"}"#, method: "PUT", path: "/fhir/Patient/a", headers: ["If-Match": "banana"], status: 400, says: "If-Match"),
        Case("not a Bundle at the base", #"{"resourceType":"Patient"}"#, method: "POST", path: "/fhir", status: 400, says: "takes a Bundle"),
        Case("collection Bundle at the base", #"{"resourceType":"Bundle","type":"collection"}"#, method: "POST", path: "/fhir", status: 400, says: "'transaction' or 'batch'"),
        Case("entry without request", #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"}}]}"#, method: "POST", path: "/fhir",
             status: 400, says: "has no 'request'"),
        Case("PATCH of a missing resource", "[]", method: "PATCH", path: "/fhir/Patient/a", status: 404, says: "a patch changes an existing resource"),
    ]

    /// Each bad request gets a 4xx OperationOutcome that says what is wrong; the store is unchanged and the server keeps serving.
    @Test(arguments: cases)
    func badRequestGetsAClearOutcomeAndChangesNothing(badCase: Case) async throws {
        try await withAPI(.sqlite) { api in
            let response = try await api.send(.init(badCase.method)!, badCase.path, bytes: badCase.body, headers: badCase.headers)
            #expect(response.status == badCase.status, "\(response.text)")
            #expect(response.json?.resourceType == "OperationOutcome")
            #expect(response.issues.contains { $0.diagnostics.contains(badCase.says) }, "\(response.text)")
            #expect(try await api.store.count(type: nil) == 0)
            #expect(try await api.send(.get, "/fhir/metadata").status == 200)
        }
    }

    /// Limits are configurable and each answers 413 naming the setting.
    @Test func configuredLimitsAnswer413() async throws {
        let limits = APILimits(maxBodyBytes: 2_000, maxBundleEntries: 2, maxJSONDepth: 64, maxStringBytes: 1_024)
        try await withAPI(.sqlite, limits: limits) { api in
            let big = try await api.send(.post, "/fhir/Patient", #"{"resourceType":"Patient","name":[{"text":""# + String(repeating: "x", count: 3_000) + #""}]}"#)
            #expect(big.status == 413)
            #expect(big.issues.first?.diagnostics.contains("KARNA_MAX_BODY_BYTES") == true)
            let longString = try await api.send(.post, "/fhir/Patient", #"{"resourceType":"Patient","name":[{"text":""# + String(repeating: "x", count: 1_500) + #""}]}"#)
            #expect(longString.status == 413)
            let entry = #"{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}"#
            let bundle = try await api.send(.post, "/fhir", #"{"resourceType":"Bundle","type":"transaction","entry":[\#(entry),\#(entry),\#(entry)]}"#)
            #expect(bundle.status == 413)
            #expect(bundle.issues.first?.diagnostics.contains("KARNA_MAX_BUNDLE_ENTRIES") == true)
            #expect(try await api.store.count(type: nil) == 0)
        }
    }
}
