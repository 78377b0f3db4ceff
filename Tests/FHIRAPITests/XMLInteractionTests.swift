import FHIRAPI
import FHIRCore
import Foundation
import HTTPTypes
import KarnaTesting
import Store
import Testing

/// Issue 22, item 4: FHIR XML in and out of the REST API, with the same values as JSON.
@Suite("XML over the REST API")
struct XMLInteractionTests {
    static let patientXML = #"""
    <Patient xmlns="http://hl7.org/fhir"><name><family value="Öberg"/><given value="Åsa"/></name><gender value="female"/>
      <birthDate value="1961-07-04"/><multipleBirthInteger value="1"/></Patient>
    """#

    @Test("create, read, vread, search, history and update in XML; the JSON read holds the same values", arguments: backends)
    func restInXML(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let xml = ["Content-Type": "application/fhir+xml", "Accept": "application/fhir+xml"]
            let created = try await api.send(.post, "/fhir/Patient", Self.patientXML, headers: xml)
            #expect(created.status == 201, "\(created.text)")
            #expect(created["Content-Type"]?.hasPrefix("application/fhir+xml") == true)
            let location = try #require(created["Location"])
            let id = String(location.split(separator: "/")[location.split(separator: "/").count - 3])

            let json = try #require(try await api.send(.get, "/fhir/Patient/\(id)").json)
            #expect(json["name"]?.arrayValue?.first?.objectValue?["family"]?.stringValue == "Öberg")
            #expect(JSONWriter.string(json["multipleBirthInteger"] ?? .null) == "1")

            let read = try await api.send(.get, "/fhir/Patient/\(id)?_format=xml")
            #expect(read.status == 200)
            #expect(read.text.contains(#"<family value="Öberg"/>"#), "\(read.text)")
            let back = try FHIRXML().read(read.body)
            #expect(JSONPatch.equal(back, .object(json)))

            #expect(try await api.send(.get, "/fhir/Patient/\(id)/_history/1", headers: ["Accept": "application/fhir+xml"]).text.hasPrefix("<?xml"))
            let search = try await api.send(.get, "/fhir/Patient?family=Öberg".addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!,
                                            headers: ["Accept": "application/fhir+xml"])
            #expect(search.status == 200)
            let bundle = try FHIRXML().read(search.body).objectValue
            #expect(bundle?["total"] == .number("1"), "\(search.text)")
            #expect(try await api.send(.get, "/fhir/Patient/\(id)/_history?_format=xml").text.contains("<type value=\"history\"/>"))

            let updated = Self.patientXML.replacingOccurrences(of: "<Patient xmlns=\"http://hl7.org/fhir\">", with: "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"\(id)\"/>")
                .replacingOccurrences(of: "female", with: "other")
            let update = try await api.send(.put, "/fhir/Patient/\(id)", updated, headers: xml)
            #expect(update.status == 200, "\(update.text)")
            #expect(try await api.send(.get, "/fhir/Patient/\(id)").json?["gender"]?.stringValue == "other")

            // An invalid resource in XML gets the same OperationOutcome, in XML.
            let invalid = try await api.send(.post, "/fhir/Patient", #"<Patient xmlns="http://hl7.org/fhir"><gender value="mannen"/></Patient>"#, headers: xml)
            #expect(invalid.status == 400)
            #expect(invalid.text.contains("<OperationOutcome") && invalid.text.contains("administrative-gender"), "\(invalid.text)")
        }
    }

    @Test("a transaction sent in XML commits and answers in XML")
    func transactionInXML() async throws {
        try await withAPI(.sqlite) { api in
            let transaction = #"""
            <Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/>
              <entry><fullUrl value="urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"/>
                <resource><Patient><gender value="male"/></Patient></resource><request><method value="POST"/><url value="Patient"/></request></entry>
              <entry><resource><Observation><status value="final"/><code><text value="Vikt"/></code><subject><reference value="urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"/></subject>
                <valueQuantity><value value="72.50"/><unit value="kg"/></valueQuantity></Observation></resource><request><method value="POST"/><url value="Observation"/></request></entry>
            </Bundle>
            """#
            let response = try await api.send(.post, "/fhir", transaction, headers: ["Content-Type": "application/fhir+xml", "Accept": "application/fhir+xml"])
            #expect(response.status == 200, "\(response.text)")
            #expect(response.text.contains("<type value=\"transaction-response\"/>"))
            let observation = try #require(try await api.send(.get, "/fhir/Observation").json?["entry"]?.arrayValue?.first?.objectValue?["resource"]?.objectValue)
            #expect(JSONWriter.string(observation["valueQuantity"] ?? .null).contains("72.50"), "the decimal keeps its digits")
            #expect(observation["subject"]?.objectValue?["reference"]?.stringValue?.hasPrefix("Patient/") == true)
        }
    }
}
