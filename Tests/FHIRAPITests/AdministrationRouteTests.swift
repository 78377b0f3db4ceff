import FHIRCore
import KarnaTesting
import Testing
import HTTPTypes

/// The patient administration operations over HTTP: parameters in, resources or Parameters out,
/// bad input as an OperationOutcome naming the parameter.
@Suite("Patient administration operations over the REST API")
struct AdministrationRouteTests {
    @Test("finding a patient by name: every word starts a name, Swedish order, inactive records left out, at most _count", arguments: backends)
    func findByName(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let people = [("p1", "Östberg", "Anna", true), ("p2", "Andersson", "Åsa", true), ("p3", "Andersson", "Anna", true),
                          ("p4", "Zander", "Anders", true), ("p5", "Andersson", "Bo", false), ("p6", "Berg", "Cecilia", true)]
            for (id, family, given, active) in people {
                let json = #"{"resourceType":"Patient","id":"\#(id)","active":\#(active),"name":[{"family":"\#(family)","given":["\#(given)"]}]}"#
                let created = try await api.send(.put, "/fhir/Patient/\(id)", json)
                #expect(created.status == 201, "\(created.text)")
            }
            func found(_ q: String) async throws -> [String] {
                let response = try await api.send(.get, "/fhir/Patient/$find?q=\(q)")
                #expect(response.status == 200, "\(response.text)")
                return (response.json?["entry"]?.arrayValue ?? []).compactMap { $0.objectValue?["resource"]?.objectValue?.id }
            }
            #expect(try await found("an") == ["p3", "p2", "p4", "p1"])
            #expect(try await found("an%20and") == ["p3", "p2", "p4"])
            #expect(try await found("anna%20and") == ["p3"])
            #expect(try await found("%C3%A5sa") == ["p2"])
            #expect(try await found("an&_count=2").count == 2)
        }
    }

    @Test("register, admit, book, check in, pay, receipt — and errors that name the parameter", arguments: backends)
    func administrationOverHTTP(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            try #require(try await api.send(.put, "/fhir/Organization/vc", #"{"resourceType":"Organization","id":"vc","name":"Vårdcentralen"}"#).status == 201)
            func parameters(_ pairs: [(String, String)]) -> String {
                let items = pairs.map { #"{"name":"\#($0.0)","valueString":"\#($0.1)"}"# }
                return #"{"resourceType":"Parameters","parameter":[\#(items.joined(separator: ","))]}"#
            }
            let unknown = try await api.send(.post, "/fhir/Patient/$register-unidentified", parameters([("gender", "female")]))
            #expect(unknown.status == 201)
            let patientID = try #require(unknown.json?.id)
            let reserve = try #require(unknown.json?["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
            let found = try await api.send(.get, "/fhir/Patient/$find?q=\(reserve.prefix(8))-\(reserve.suffix(4))")
            #expect(found.json?["entry"]?.arrayValue?.first?.objectValue?["resource"]?.objectValue?.id == patientID)

            let contact = try await api.send(.post, "/fhir/Encounter/$register-contact",
                                             parameters([("patient", patientID), ("visitType", "lakarbesok"), ("unit", "vc"), ("started", "true")]))
            #expect(contact.status == 201, "\(contact.text)")
            let encounterID = try #require(contact.json?.id)
            let badType = try await api.send(.post, "/fhir/Encounter/$register-contact", parameters([("patient", patientID), ("visitType", "massage")]))
            #expect(badType.status == 400 && badType.text.contains("visitType"))

            let paid = try await api.send(.post, "/fhir/Encounter/\(encounterID)/$pay", parameters([("method", "kort")]))
            #expect(paid.status == 200, "\(paid.text)")
            let invoice = try #require(paid.json?["parameter"]?.arrayValue?.first { $0.objectValue?["name"]?.stringValue == "invoice" }?.objectValue?["resource"]?.objectValue)
            let receipt = try await api.send(.get, "/fhir/Invoice/\(try #require(invoice.id))/$receipt")
            #expect(receipt.status == 200 && receipt["Content-Type"]?.hasPrefix("text/plain") == true && receipt.text.contains("KVITTO"))
            let twice = try await api.send(.post, "/fhir/Encounter/\(encounterID)/$pay", parameters([("method", "kort")]))
            #expect(twice.status == 409 && twice.text.contains("already paid"))
            // Paid back over the API: a credit Invoice of the negative amount; the history names both; a second refund is refused.
            let invoiceID = try #require(invoice.id)
            let unexplained = try await api.send(.post, "/fhir/Invoice/\(invoiceID)/$refund", parameters([("method", "kontant")]))
            #expect(unexplained.status == 400 && unexplained.text.contains("reason"))
            let credit = try await api.send(.post, "/fhir/Invoice/\(invoiceID)/$refund", parameters([("reason", "Frikort i annan region"), ("method", "kontant")]))
            #expect(credit.status == 201 && credit.json?["totalGross"]?.objectValue?["value"]?.numberText == "-200", "\(credit.text)")
            let again = try await api.send(.post, "/fhir/Invoice/\(invoiceID)/$refund", parameters([("reason", "igen"), ("method", "kontant")]))
            #expect(again.status == 409)
            let history = try await api.send(.get, "/fhir/Patient/\(patientID)/$fee-history")
            let states = (history.json?["parameter"]?.arrayValue ?? []).compactMap { receipt in
                receipt.objectValue?["part"]?.arrayValue?.first { $0.objectValue?["name"]?.stringValue == "state" }?.objectValue?["valueString"]?.stringValue
            }
            #expect(states == ["kreditkvitto", "återbetald"], "\(history.text)")
            let voidCredit = try await api.send(.post, "/fhir/Invoice/\(try #require(credit.json?.id))/$void", parameters([("reason", "fel")]))
            #expect(voidCredit.status == 409, "a credit receipt is not voided")

            let missing = try await api.send(.post, "/fhir/Appointment/$book", parameters([("slot", "nope"), ("patient", patientID)]))
            #expect(missing.status == 404 && missing.json?["issue"]?.arrayValue?.first?.objectValue?["expression"]?.arrayValue?.first?.stringValue == "slot")
            let noPatient = try await api.send(.post, "/fhir/Appointment/$book", parameters([("slot", "nope")]))
            #expect(noPatient.status == 400 && noPatient.text.contains("patient"))
            let wrongVerb = try await api.send(.get, "/fhir/Appointment/$book")
            #expect(wrongVerb.status == 501 || wrongVerb.status == 400)
            let unknownOperation = try await api.send(.post, "/fhir/Encounter/\(encounterID)/$teleport", parameters([]))
            #expect(unknownOperation.status >= 400 && unknownOperation.text.contains("teleport"))
            let finish = try await api.send(.post, "/fhir/Encounter/\(encounterID)/$finish", parameters([]))
            #expect(finish.status == 200 && finish.json?["status"]?.stringValue == "finished")
            let refused = try await api.send(.post, "/fhir/Encounter/\(encounterID)/$start", parameters([]))
            #expect(refused.status == 409 && refused.text.contains("cannot start"))

            let metadata = try await api.send(.get, "/fhir/metadata").json
            let appointment = metadata?["rest"]?.arrayValue?.first?.objectValue?["resource"]?.arrayValue?.first { $0.objectValue?["type"]?.stringValue == "Appointment" }
            #expect(appointment?.objectValue?["operation"]?.arrayValue?.contains { $0.objectValue?["name"]?.stringValue == "book" } == true,
                    "the CapabilityStatement lists the operations")
            let schedule = try await api.send(.get, "/fhir/$fee-schedule")
            #expect(schedule.status == 200 && schedule.text.contains("lakarbesok"))
            let export = try await api.send(.get, "/fhir/$invoice-export?from=2026-01-01&to=2026-12-31")
            #expect(export.status == 200 && export.text.hasPrefix("kvittonummer;"))
        }
    }
}
