import FHIRCore
import Foundation
import KarnaTesting
import Store
import StoreModel
import Testing
import HTTPTypes

/// In the paused 2024 roll-out the words "inget" and "ingen" vanished from
/// radiology reports. Every string the server accepts must come back byte for byte.
@Suite("Clinical text is never altered")
struct ClinicalTextTests {
    static let texts: [String] = [
        "Inget tecken på pneumoni. Ingen pleuravätska. Ej förstorat hjärta. Utan anmärkning.",
        "Åsa Öberg, Ängelholm",                                    // composed å ö ä
        "A\u{030A}sa O\u{0308}berg, A\u{0308}ngelholm",          // the same, decomposed
        "Patienten 👩‍⚕️ 🫀 mår bra",
        "Rad 1\n\tIndraget\r\nRad 3\tmed tabb",
        String(repeating: "Ingen förändring jämfört med föregående undersökning; inget nytillkommet. ", count: 300),
        "Citat \"så här\" och bakstreck \\ och snedstreck /",
    ]

    func observation(_ text: String, id: String) -> String {
        let div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">\(text)</div>"
        return JSONWriter.string(.object(JSONObject([
            ("resourceType", .string("Observation")),
            ("id", .string(id)),
            ("text", .object(JSONObject([("status", .string("generated")), ("div", .string(div))]))),
            ("identifier", .array([.object(JSONObject([("system", .string("urn:test")), ("value", .string(id))]))])),
            ("status", .string("final")),
            ("code", .object(JSONObject([("text", .string(text))]))),
            ("note", .array([.object(JSONObject([("text", .string(text))]))])),
            ("valueString", .string(text)),
        ])))
    }

    func document(_ text: String) -> String {
        let data = Data(text.utf8).base64EncodedString()
        return #"{"resourceType":"DocumentReference","status":"current","description":\#(JSONWriter.string(.string(text))),"content":[{"attachment":{"contentType":"text/plain; charset=utf-8","data":"\#(data)"}}]}"#
    }

    /// Compares everything but server-owned meta, strings by their UTF-8 bytes.
    func expectSame(_ sent: String, _ received: JSONObject?, _ context: String) throws {
        let expected = try #require(try JSONParser.parse(sent).objectValue)
        var actual = try #require(received).withoutServerMeta
        if expected["id"] == nil { actual["id"] = nil }
        #expect(JSONValue.object(actual).isIdentical(to: .object(expected.withoutServerMeta)), "\(context)")
    }

    @Test(arguments: backends)
    func textsSurviveEveryPathByteForByte(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            for (i, text) in Self.texts.enumerated() {
                let id = "t\(i)"
                // create (PUT with a client id) and read
                let body = observation(text, id: id)
                #expect(try await api.send(.put, "/fhir/Observation/\(id)", body).status == 201)
                try expectSame(body, try await api.send(.get, "/fhir/Observation/\(id)").json, "create \(i)")
                // update with another text, then both versions read back
                let other = observation(Self.texts[(i + 1) % Self.texts.count] + " (rättad)", id: id)
                #expect(try await api.send(.put, "/fhir/Observation/\(id)", other).status == 200)
                try expectSame(other, try await api.send(.get, "/fhir/Observation/\(id)").json, "update \(i)")
                try expectSame(body, try await api.send(.get, "/fhir/Observation/\(id)/_history/1").json, "vread \(i)")
                // history bundle
                let history = try #require(try await api.send(.get, "/fhir/Observation/\(id)/_history").json)
                let versions = history["entry"]?.arrayValue?.compactMap { $0.objectValue?["resource"]?.objectValue } ?? []
                #expect(versions.count == 2)
                try expectSame(body, versions.last, "history \(i)")
                // search
                let found = try #require(try await api.send(.get, "/fhir/Observation?identifier=urn:test|\(id)").json)
                try expectSame(other, found["entry"]?.arrayValue?.first?.objectValue?["resource"]?.objectValue, "search \(i)")
                // transaction, with the text also as Attachment data
                let doc = document(text)
                let transaction = try await api.send(.post, "/fhir", #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":\#(doc),"request":{"method":"POST","url":"DocumentReference"}}]}"#)
                let location = try #require(transaction.json?["entry"]?.arrayValue?.first?.objectValue?["response"]?.objectValue?["location"]?.stringValue)
                let stored = try await api.send(.get, "/fhir/" + location.split(separator: "/").prefix(2).joined(separator: "/")).json
                try expectSame(doc, stored, "transaction \(i)")
                let data = stored?["content"]?.arrayValue?.first?.objectValue?["attachment"]?.objectValue?["data"]?.stringValue
                #expect(Data(base64Encoded: data ?? "").map { Array($0) } == Array(text.utf8), "attachment \(i)")
            }
        }
    }
}
