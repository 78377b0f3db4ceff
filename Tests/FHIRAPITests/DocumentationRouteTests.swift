import Access
import FHIRCore
import KarnaTesting
import Store
import StoreModel
import Testing
import KarnaServer
import HTTPTypes

/// The documentation and terminology operations over HTTP, as a clinician's app calls them.
@Suite("Documentation and terminology operations over the REST API")
struct DocumentationRouteTests {
    @Test("write, sign, correct and read back a note; diagnoses, signals and the overview; terminology look-ups", arguments: backends)
    func documentationOverHTTP(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { system in
            // A unit, a physician with an assignment and a login, a patient.
            let lakare = try #require(Position.defaults.first { $0.code == "lakare" })
            var role = Assignment.resource(id: "doc-role", practitionerID: "doc", unitID: "vc", purpose: .care, position: lakare)
            role["practitioner"] = .object(JSONObject([("reference", .string("Practitioner/doc")), ("display", .string("Doktor Ek"))]))
            for (path, body) in [("/fhir/Organization/vc", #"{"resourceType":"Organization","id":"vc","name":"Vårdcentralen"}"#),
                                 ("/fhir/Practitioner/doc", #"{"resourceType":"Practitioner","id":"doc"}"#),
                                 ("/fhir/PractitionerRole/doc-role", JSONWriter.string(.object(role))),
                                 ("/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1","name":[{"family":"Ek"}]}"#)] {
                let written = try await system.send(.put, path, body)
                try #require(written.status == 201, "\(path): \(written.text)")
            }
            _ = try await system.services.accounts.create(username: "doc", kind: .practitioner, subjectID: "doc", displayName: "Doktor Ek",
                                                          password: "not-used-here", totpSecret: "JBSWY3DPEHPK3PXP")
            var api = system
            api.token = try await system.services.tokens.issue(Grant(kind: .practitioner, subject: "doc", displayName: "Doktor Ek", clientID: testClientID,
                                                                     scope: "user/*.cruds", assignmentID: "doc-role", fhirUser: "Practitioner/doc")).accessToken
            let encounter = #"{"resourceType":"Encounter","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/p1"},"serviceProvider":{"reference":"Organization/vc"},"period":{"start":"\#(Instant.format(milliseconds: Instant.now() - 600_000))"}}"#
            let contact = try await api.send(.post, "/fhir/Encounter", encounter)
            try #require(contact.status == 201, "\(contact.text)")
            let encounterID = try #require(contact.json?.id)

            func section(_ code: String, _ text: String) -> String {
                #"{"name":"section","part":[{"name":"code","valueCode":"\#(code)"},{"name":"text","valueString":"\#(text)"}]}"#
            }
            let write = #"{"resourceType":"Parameters","parameter":[{"name":"template","valueString":"lakaranteckning-besok"},{"name":"patient","valueReference":{"reference":"Patient/p1"}},{"name":"encounter","valueString":"\#(encounterID)"},\#(section("kontaktorsak", "Hosta")),\#(section("status", "Lungor u.a."))]}"#
            let draft = try await api.send(.post, "/fhir/Composition/$write-note", write)
            #expect(draft.status == 201, "\(draft.text)")
            let noteID = try #require(draft.json?.id)
            let incomplete = try await api.send(.post, "/fhir/Composition/\(noteID)/$sign", #"{"resourceType":"Parameters"}"#)
            #expect(incomplete.status == 409 && incomplete.text.contains("Bedömning"))
            let saved = try await api.send(.post, "/fhir/Composition/\(noteID)/$save-draft",
                                           #"{"resourceType":"Parameters","parameter":[\#(section("bedomning", "Virusinfektion"))]}"#)
            #expect(saved.status == 200)
            let unsigned = try await api.send(.get, "/fhir/Composition/$unsigned")
            #expect(unsigned.text.contains(noteID) && unsigned.text.contains(#""valueBoolean":true"#))
            let signed = try await api.send(.post, "/fhir/Composition/\(noteID)/$sign", #"{"resourceType":"Parameters"}"#)
            #expect(signed.status == 200 && signed.json?["status"]?.stringValue == "final")
            let overwrite = try await api.send(.put, "/fhir/Composition/\(noteID)", draft.text)
            #expect(overwrite.status == 409 && overwrite.text.contains("never overwritten"), "a plain PUT cannot change a signed note")
            let noReason = try await api.send(.post, "/fhir/Composition/\(noteID)/$correct", #"{"resourceType":"Parameters","parameter":[\#(section("status", "x"))]}"#)
            #expect(noReason.status == 400 && noReason.json?["issue"]?.arrayValue?.first?.objectValue?["expression"]?.arrayValue?.first?.stringValue == "reason")
            let corrected = try await api.send(.post, "/fhir/Composition/\(noteID)/$correct",
                                               #"{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"Fel sida"},\#(section("status", "Lungor: rassel höger"))]}"#)
            #expect(corrected.status == 200 && corrected.json?["status"]?.stringValue == "amended")
            let versions = try await api.send(.get, "/fhir/Composition/\(noteID)/$versions")
            #expect(versions.text.contains("rattelse") && versions.text.contains("Fel sida") && versions.text.contains("Lungor u.a."))
            let journal = try await api.send(.get, "/fhir/Patient/p1/$journal?sokord=status&text=rassel")
            #expect(journal.json?["total"]?.numberText == "1", "\(journal.text)")

            // Diagnoses: an unknown code is a clear error naming the parameter; a known one is registered.
            let unknown = try await api.send(.post, "/fhir/Encounter/\(encounterID)/$register-diagnoses?main=X99.9")
            #expect(unknown.status == 400 && unknown.text.contains("'X99.9' is not a code of ICD-10-SE"))
            let diagnoses = try await api.send(.post, "/fhir/Encounter/\(encounterID)/$register-diagnoses?main=J06.9&secondary=R05.9&procedure=XS100")
            #expect(diagnoses.status == 200, "\(diagnoses.text)")
            #expect(diagnoses.text.contains("Huvuddiagnos") && diagnoses.text.contains("Bidiagnos") && diagnoses.text.contains("XS100"))
            let badCondition = #"{"resourceType":"Condition","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"urn:oid:1.2.752.116.1.1.1.1.3","code":"Q99.99"}]}}"#
            let refused = try await api.send(.post, "/fhir/Condition", badCondition)
            #expect(refused.status == 400 && refused.text.contains("Condition.code.coding[0]"), "codes are checked whichever interface writes them")

            let allergy = try await api.send(.post, "/fhir/AllergyIntolerance/$record?patient=p1&substance=J01CE02&reaction=Utslag&severity=severe&criticality=high")
            #expect(allergy.status == 201, "\(allergy.text)")
            let flag = try await api.send(.post, "/fhir/Flag/$record?patient=p1&kind=vardbegransning&code=ej-hlr")
            #expect(flag.status == 201, "the user is a physician, so they decided it: \(flag.text)")
            let wrongKind = try await api.send(.post, "/fhir/Flag/$record?patient=p1&kind=smitta&code=ej-hlr")
            #expect(wrongKind.status == 400 && wrongKind.text.contains("mrsa"))
            let signals = try await api.send(.get, "/fhir/Patient/p1/$attention-signals")
            #expect(signals.text.contains(#""name":"allergy""#) && signals.text.contains(#""name":"careLimitation""#))

            let overview = try await api.send(.get, "/fhir/Patient/p1/$overview")
            #expect(overview.status == 200)
            let names = Set(overview.json?["parameter"]?.arrayValue?.compactMap { $0.objectValue?["name"]?.stringValue } ?? [])
            #expect(names.isSuperset(of: ["patient", "allergy", "careLimitation", "visitDiagnosis", "note", "currentContact"]), "\(names)")

            // Terminology
            let lookup = try await api.send(.get, "/fhir/CodeSystem/$lookup?system=urn:oid:1.2.752.116.1.1.1.1.3&code=J06.9")
            #expect(lookup.text.contains("Akut övre luftvägsinfektion"))
            let validate = try await api.send(.get, "/fhir/ValueSet/$validate-code?url=https://karna.se/fhir/ValueSet/diagnoser&system=urn:oid:1.2.752.116.1.1.1.1.3&code=J06.77")
            #expect(validate.text.contains(#""valueBoolean":false"#))
            let expand = try await api.send(.get, "/fhir/ValueSet/$expand?url=https://karna.se/fhir/ValueSet/diagnoser&filter=hjart&count=5")
            #expect(expand.json?["expansion"]?.objectValue?["contains"]?.arrayValue?.contains { $0.objectValue?["code"]?.stringValue == "I50.9" } == true,
                    "\(expand.text)")
            let tooMany = try await api.send(.get, "/fhir/ValueSet/$expand?url=https://karna.se/fhir/ValueSet/diagnoser&count=100000")
            #expect(tooMany.status == 413 || tooMany.status == 400)
            let stored = try await system.send(.put, "/fhir/ValueSet/hjarta",
                                               #"{"resourceType":"ValueSet","id":"hjarta","url":"https://region.example/vs/hjarta","status":"active","compose":{"include":[{"system":"http://www.whocc.no/atc","filter":[{"property":"concept","op":"is-a","value":"C"}]}]}}"#)
            #expect(stored.status == 201)
            let storedExpand = try await api.send(.get, "/fhir/ValueSet/$expand?url=https://region.example/vs/hjarta&filter=ramipril")
            #expect(storedExpand.text.contains("C09AA05"), "a stored value set is in use at once")
        }
    }
}
