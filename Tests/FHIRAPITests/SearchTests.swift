import FHIRCore
import KarnaTesting
import Foundation
import Testing
import HTTPTypes

/// FHIR R4 search (§3.1.1) on both backends: each parameter type, modifier and prefix, and the result controls.
@Suite("Search") struct SearchTests {
    static let pnr = SwedishPersonalIdentity.personnummerSystem

    /// A small population with known answers.
    static func seed(_ api: API) async throws {
        let resources = [
            #"{"resourceType":"Organization","id":"org1","name":"Vårdcentralen Norr","identifier":[{"system":"urn:oid:1.2.752.29.4.19","value":"SE2321000032-1001"}]}"#,
            #"{"resourceType":"Practitioner","id":"pr1","name":[{"family":"Berg","given":["Karin"]}]}"#,
            #"{"resourceType":"Patient","id":"asa","meta":{"tag":[{"system":"http://example.org/tags","code":"pilot"}],"profile":["http://example.org/StructureDefinition/se-patient"],"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}],"source":"urn:karna:test"},"identifier":[{"system":"\#(pnr)","value":"19121212-1220"}],"name":[{"family":"Åström","given":["Åsa"]}],"gender":"female","birthDate":"1912-12-12","managingOrganization":{"reference":"Organization/org1"},"generalPractitioner":[{"reference":"Practitioner/pr1"}]}"#,
            #"{"resourceType":"Patient","id":"asa2","name":[{"family":"Andersson","given":["Asa"]}],"gender":"female","birthDate":"1985-03-01"}"#,
            #"{"resourceType":"Patient","id":"jose","name":[{"family":"Öberg","given":["Jos\#u{00E9}"]}],"gender":"male","birthDate":"1985-03-15","telecom":[{"system":"phone","value":"070-1234567"}]}"#,
            #"{"resourceType":"Patient","id":"zed","name":[{"family":"Zetterberg","given":["Jose\#u{0301}fina"]}],"gender":"unknown","birthDate":"2024"}"#,
            #"{"resourceType":"Patient","id":"ake","name":[{"family":"Ärlig","given":["Åke"]}],"birthDate":"1950-06-30"}"#,
            #"{"resourceType":"Encounter","id":"enc1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/asa"},"period":{"start":"2024-05-01T08:00:00+02:00","end":"2024-05-01T09:00:00+02:00"},"participant":[{"individual":{"reference":"Practitioner/pr1"}}]}"#,
            #"{"resourceType":"Encounter","id":"enc2","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"subject":{"reference":"Patient/jose"},"period":{"start":"2024-06-10T10:00:00Z"}}"#,
            #"{"resourceType":"Observation","id":"hba1c-1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c"}],"text":"HbA1c"},"subject":{"reference":"Patient/asa"},"encounter":{"reference":"Encounter/enc1"},"effectiveDateTime":"2024-05-01T08:30:00+02:00","valueQuantity":{"value":48,"unit":"mmol/mol","system":"http://unitsofmeasure.org","code":"mmol/mol"}}"#,
            #"{"resourceType":"Observation","id":"hba1c-2","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},"subject":{"reference":"Patient/asa"},"effectiveDateTime":"2023-11-20","valueQuantity":{"value":52.5,"unit":"mmol/mol","system":"http://unitsofmeasure.org","code":"mmol/mol"}}"#,
            #"{"resourceType":"Observation","id":"bp","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"subject":{"reference":"http://localhost:8080/fhir/Patient/jose"},"performer":[{"identifier":{"system":"urn:oid:1.2.752.29.4.19","value":"HSA-1"}}],"effectivePeriod":{"start":"2024-06-10T10:00:00Z","end":"2024-06-10T10:05:00Z"},"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":142,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":91,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}"#,
            #"{"resourceType":"Observation","id":"note","status":"preliminary","code":{"text":"Egen anteckning om blodtryck"},"subject":{"reference":"Patient/zed"},"valueString":"Normalt"}"#,
            #"{"resourceType":"RiskAssessment","id":"risk","status":"final","subject":{"reference":"Patient/asa"},"prediction":[{"probabilityDecimal":0.25}]}"#,
            #"{"resourceType":"ValueSet","id":"vs","status":"active","url":"http://example.org/fhir/ValueSet/vardniva"}"#,
        ]
        for json in resources {
            let object = try #require(try JSONParser.parse(json).objectValue)
            let response = try await api.send(.put, "/fhir/\(object.resourceType!)/\(object["id"]!.stringValue!)", json)
            #expect(response.status == 201, "\(response.text)")
        }
    }

    static func ids(_ api: API, _ query: String, headers: [String: String] = [:], mode: String = "match") async throws -> [String] {
        let response = try await api.send(.get, "/fhir/" + query, headers: headers)
        #expect(response.status == 200, "\(query): \(response.text)")
        return (response.json?["entry"]?.arrayValue ?? []).compactMap { entry -> String? in
            guard entry.objectValue?["search"]?.objectValue?["mode"]?.stringValue == mode else { return nil }
            return entry.objectValue?["resource"]?.objectValue?["id"]?.stringValue
        }
    }

    func check(_ api: API, _ query: String, _ expected: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let found = try await Self.ids(api, query)
        #expect(found.sorted() == expected.sorted(), "\(query)", sourceLocation: sourceLocation)
    }

    @Test("token: system|code, |code, system|, :not, :text, :missing and personnummer forms", arguments: backends)
    func tokens(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            try await Self.seed(api)
            try await check(api, "Observation?code=http://loinc.org|4548-4", ["hba1c-1", "hba1c-2"])
            try await check(api, "Observation?code=4548-4", ["hba1c-1", "hba1c-2"])
            try await check(api, "Observation?code=|4548-4", [])
            try await check(api, "Observation?code=http://loinc.org|", ["hba1c-1", "hba1c-2", "bp"])
            try await check(api, "Observation?code=4548-4,85354-9", ["hba1c-1", "hba1c-2", "bp"])
            try await check(api, "Observation?code:not=http://loinc.org|4548-4", ["bp", "note"])
            try await check(api, "Observation?code:text=blodtryck", ["note"])
            try await check(api, "Observation?code:text=hemoglobin", ["hba1c-1"])
            try await check(api, "Patient?gender=female", ["asa", "asa2"])
            try await check(api, "Patient?gender:missing=true", ["ake"])
            try await check(api, "Patient?telecom=070-1234567", ["jose"])
            try await check(api, "Patient?phone=070-1234567", ["jose"])
            // Personnummer: with and without separator, 10 or 12 digits, with or without the system.
            for form in ["191212121220", "19121212-1220", "121212+1220", "\(Self.pnr)|191212121220", "\(Self.pnr)|121212+1220"] {
                try await check(api, "Patient?identifier=\(form.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", ["asa"])
            }
            try await check(api, "Patient?identifier=\(Self.pnr)|201212121220", [])
            try await check(api, "Patient?identifier=urn:oid:other|191212121220", [])
            try await check(api, "Patient?_tag=http://example.org/tags|pilot", ["asa"])
            try await check(api, "Patient?_security=R", ["asa"])
        }
    }

    @Test("string: starts-with, :exact, :contains, accents and case, Swedish letters", arguments: backends)
    func strings(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            try await Self.seed(api)
            try await check(api, "Patient?name=%C3%A5sa", ["asa"])         // "åsa" finds "Åsa"
            try await check(api, "Patient?name=Asa", ["asa2"])             // "Asa" does not find "Åsa"
            try await check(api, "Patient?given=jose", ["jose", "zed"])    // composed é and decomposed e + U+0301
            try await check(api, "Patient?given=Jos%C3%A9", ["jose", "zed"])
            try await check(api, "Patient?given=Jose%CC%81", ["jose", "zed"])
            try await check(api, "Patient?family=%C3%B6", ["jose"])        // "ö" finds "Öberg" but not "Åström"
            try await check(api, "Patient?family=o", [])
            try await check(api, "Patient?family=%C3%A5str", ["asa"])
            try await check(api, "Patient?family:exact=%C3%85str%C3%B6m", ["asa"])
            try await check(api, "Patient?family:exact=%C3%A5str%C3%B6m", [])
            try await check(api, "Patient?family:contains=berg", ["jose", "zed"])
            try await check(api, "Patient?name=berg,and", ["asa2"])
            try await check(api, "Organization?name=v%C3%A5rdcentral", ["org1"])
            try await check(api, "Patient?address:missing=false", [])
        }
    }

    @Test("date prefixes with precision, Period and instant", arguments: backends)
    func dates(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            try await Self.seed(api)
            try await check(api, "Patient?birthdate=1985", ["asa2", "jose"])
            try await check(api, "Patient?birthdate=1985-03", ["asa2", "jose"])
            try await check(api, "Patient?birthdate=eq1985-03-01", ["asa2"])
            try await check(api, "Patient?birthdate=ne1985-03-01", ["asa", "jose", "zed", "ake"])
            try await check(api, "Patient?birthdate=gt1985-03-01", ["jose", "zed"])
            try await check(api, "Patient?birthdate=lt1985-03-01", ["asa", "ake"])
            try await check(api, "Patient?birthdate=ge1985-03-01", ["asa2", "jose", "zed"])
            try await check(api, "Patient?birthdate=le1985-03-01", ["asa", "asa2", "ake"])
            try await check(api, "Patient?birthdate=sa1985", ["zed"])
            try await check(api, "Patient?birthdate=eb1950-07", ["asa", "ake"])
            try await check(api, "Patient?birthdate=ap1985-03-10", ["asa2", "jose"])
            // A birth date of "2024" is the whole year: it contains no single day, and overlaps one.
            try await check(api, "Patient?birthdate=2024-05-01", [])
            try await check(api, "Patient?birthdate=2024", ["zed"])
            try await check(api, "Patient?birthdate=ge2024-05-01", ["zed"])
            try await check(api, "Patient?birthdate=ge1985-03-01&birthdate=lt1986", ["asa2", "jose"])
            // Period: the encounter of 08–09 (+02:00) is within the day, an open period reaches on.
            try await check(api, "Encounter?date=2024-05-01", ["enc1"])
            try await check(api, "Encounter?date=gt2024-06-30", ["enc2"])
            try await check(api, "Encounter?date=ge2024-06-10T10:00:00Z", ["enc2"])
            try await check(api, "Observation?date=2024-06-10", ["bp"])
            try await check(api, "Observation?date=ge2024-01-01&date=lt2025-01-01&code=http://loinc.org|4548-4", ["hba1c-1"])
            try await check(api, "Patient?_lastUpdated=gt2000-01-01", ["asa", "asa2", "jose", "zed", "ake"])
            try await check(api, "Patient?_lastUpdated=lt2000-01-01", [])
            let bad = try await api.send(.get, "/fhir/Patient?birthdate=gt1985-13")
            #expect(bad.status == 400)
            #expect(bad.issues.first?.diagnostics.contains("birthdate") == true)
        }
    }

    @Test("reference: type/id, id, absolute URL, :identifier, :missing, chains and _has", arguments: backends)
    func references(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            try await Self.seed(api)
            try await check(api, "Observation?subject=Patient/asa", ["hba1c-1", "hba1c-2"])
            try await check(api, "Observation?subject=asa", ["hba1c-1", "hba1c-2"])
            try await check(api, "Observation?subject:Patient=asa", ["hba1c-1", "hba1c-2"])
            try await check(api, "Observation?patient=jose", ["bp"])
            try await check(api, "Observation?subject=\(base)/Patient/jose", ["bp"])
            try await check(api, "Observation?performer:identifier=urn:oid:1.2.752.29.4.19|HSA-1", ["bp"])
            try await check(api, "Observation?encounter:missing=true", ["hba1c-2", "bp", "note"])
            try await check(api, "Observation?subject:Patient.name=%C3%A5sa", ["hba1c-1", "hba1c-2"])
            try await check(api, "Observation?subject.identifier=191212121220", ["hba1c-1", "hba1c-2"])
            try await check(api, "Observation?subject:Patient.organization.name=v%C3%A5rdcentralen", ["hba1c-1", "hba1c-2"])
            try await check(api, "Patient?_has:Observation:patient:code=4548-4", ["asa"])
            try await check(api, "Patient?_has:Observation:patient:code=85354-9", ["jose"])
            try await check(api, "Patient?_has:Encounter:patient:_has:Observation:encounter:code=4548-4", ["asa"])
            try await check(api, "Encounter?participant=Practitioner/pr1", ["enc1"])
            let bad = try await api.send(.get, "/fhir/Observation?code.name=x")
            #expect(bad.status == 400)
        }
    }

    @Test("quantity, number, uri, composite, _id, _profile and _source", arguments: backends)
    func otherTypes(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            try await Self.seed(api)
            try await check(api, "Observation?value-quantity=48", ["hba1c-1"])
            try await check(api, "Observation?value-quantity=48|http://unitsofmeasure.org|mmol/mol", ["hba1c-1"])
            try await check(api, "Observation?value-quantity=48||mmol/mol", ["hba1c-1"])
            try await check(api, "Observation?value-quantity=48|http://unitsofmeasure.org|mg", [])
            try await check(api, "Observation?value-quantity=gt50", ["hba1c-2"])
            try await check(api, "Observation?value-quantity=52", [])           // 52 means [51.5, 52.5): 52.5 is outside
            try await check(api, "Observation?value-quantity=52.5", ["hba1c-2"])
            try await check(api, "Observation?value-quantity=ap50", ["hba1c-1", "hba1c-2"])
            try await check(api, "Observation?component-value-quantity=gt140", ["bp"])
            try await check(api, "Observation?code-value-quantity=http://loinc.org|4548-4$lt50", ["hba1c-1"])
            try await check(api, "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140", ["bp"])
            try await check(api, "Observation?component-code-value-quantity=http://loinc.org|8462-4$gt140", [])
            try await check(api, "Observation?value-string=normal", ["note"])
            try await check(api, "RiskAssessment?probability=0.25", ["risk"])
            try await check(api, "RiskAssessment?probability=gt0.3", [])
            try await check(api, "ValueSet?url=http://example.org/fhir/ValueSet/vardniva", ["vs"])
            try await check(api, "ValueSet?url:below=http://example.org/fhir/", ["vs"])
            try await check(api, "ValueSet?url:above=http://example.org/fhir/ValueSet/vardniva/extra", ["vs"])
            try await check(api, "Patient?_id=asa,jose", ["asa", "jose"])
            try await check(api, "Patient?_profile=http://example.org/StructureDefinition/se-patient", ["asa"])
            try await check(api, "Patient?_source=urn:karna:test", ["asa"])
        }
    }

    @Test("_sort in Swedish order, _count paging that survives writes, _total, _summary and _elements", arguments: backends)
    func resultControl(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            try await Self.seed(api)
            // Å, Ä, Ö sort after Z.
            #expect(try await Self.ids(api, "Patient?_sort=family") == ["asa2", "zed", "asa", "ake", "jose"])
            #expect(try await Self.ids(api, "Patient?_sort=-family") == ["jose", "ake", "asa", "zed", "asa2"])
            #expect(try await Self.ids(api, "Patient?_sort=gender,-birthdate&gender:missing=false") == ["asa2", "asa", "jose", "zed"])

            // Keyset pages: a resource created between pages is neither repeated nor shifts the next page.
            let first = try #require(try await api.send(.get, "/fhir/Patient?_count=2&_total=accurate").json)
            #expect(first["total"] == .number("5"))
            let uncounted = try #require(try await api.send(.get, "/fhir/Patient?_count=2").json)
            #expect(uncounted["total"] == nil)   // a partial page is not counted unless asked
            let whole = try #require(try await api.send(.get, "/fhir/Patient?_count=20").json)
            #expect(whole["total"] == .number("5"))  // a page that holds every match counts for free
            let firstIDs = first["entry"]!.arrayValue!.compactMap { $0.objectValue?["resource"]?.objectValue?["id"]?.stringValue }
            #expect(firstIDs == ["ake", "asa"])
            _ = try await api.send(.put, "/fhir/Patient/aaa", #"{"resourceType":"Patient","id":"aaa"}"#)
            let next = try #require(Self.link(first, "next"))
            let second = try #require(try await api.send(.get, String(next.dropFirst(base.count - 5))).json)
            let secondIDs = second["entry"]!.arrayValue!.compactMap { $0.objectValue?["resource"]?.objectValue?["id"]?.stringValue }
            #expect(secondIDs == ["asa2", "jose"])
            let previous = try #require(Self.link(second, "previous"))
            let back = try #require(try await api.send(.get, String(previous.dropFirst(base.count - 5))).json)
            #expect(back["entry"]!.arrayValue!.compactMap { $0.objectValue?["resource"]?.objectValue?["id"]?.stringValue } == ["ake", "asa"])

            let none = try #require(try await api.send(.get, "/fhir/Patient?_total=none&_count=1").json)
            #expect(none["total"] == nil)
            let count = try #require(try await api.send(.get, "/fhir/Patient?gender=female&_summary=count").json)
            #expect(count["total"] == .number("2"))
            #expect(count["entry"] == nil)
            let elements = try #require(try await api.send(.get, "/fhir/Patient?_id=asa&_elements=gender").json)
            let resource = try #require(elements["entry"]?.arrayValue?.first?.objectValue?["resource"]?.objectValue)
            #expect(resource["gender"] != nil)
            #expect(resource["name"] == nil)
        }
    }

    @Test("one patient's records sorted by date: highest/lowest of a period, undated last, another patient's record by its own dates", arguments: backends)
    func onePatientByDate(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            func observation(_ id: String, subject: String, performer: String? = nil, _ effective: String) -> String {
                let performers = performer.map { #","performer":[{"reference":"Patient/\#($0)"}]"# } ?? ""
                return #"{"resourceType":"Observation","id":"\#(id)","status":"final","code":{"text":"vikt"},"subject":{"reference":"Patient/\#(subject)"}\#(performers)\#(effective)}"#
            }
            let resources = [
                #"{"resourceType":"Patient","id":"sortp"}"#, #"{"resourceType":"Patient","id":"other"}"#,
                observation("o1", subject: "sortp", #","effectiveDateTime":"2020-01-01""#),
                observation("o2", subject: "sortp", #","effectivePeriod":{"start":"2019-01-01","end":"2023-01-01"}"#),
                observation("o3", subject: "sortp", ""),
                observation("o4", subject: "sortp", performer: "sortp", #","effectiveDateTime":"2021-06-01""#),
                // In the other patient's compartment (subject comes first), but found by performer.
                observation("o5", subject: "other", performer: "sortp", #","effectiveDateTime":"2022-01-01""#),
            ]
            for json in resources {
                let id = try #require(json.firstMatch(of: /"id":"([^"]+)"/)?.1)
                let type = try #require(json.firstMatch(of: /"resourceType":"([^"]+)"/)?.1)
                let response = try await api.send(.put, "/fhir/\(type)/\(id)", json)
                #expect(response.status == 201, "\(response.text)")
            }
            #expect(try await Self.ids(api, "Observation?subject=Patient/sortp&_sort=-date") == ["o2", "o4", "o1", "o3"])
            #expect(try await Self.ids(api, "Observation?patient=sortp&_sort=date") == ["o2", "o1", "o4", "o3"])
            #expect(try await Self.ids(api, "Observation?subject=Patient/sortp&_sort=-date&_count=2") == ["o2", "o4"])
            #expect(try await Self.ids(api, "Observation?performer=Patient/sortp&_sort=-date") == ["o5", "o4"])
            // A later version moves the record: the date rows follow the resource's current patient and date.
            _ = try await api.send(.put, "/fhir/Observation/o1", observation("o1", subject: "sortp", #","effectiveDateTime":"2025-01-01""#))
            #expect(try await Self.ids(api, "Observation?subject=Patient/sortp&_sort=-date") == ["o1", "o2", "o4", "o3"])
        }
    }

    @Test("_include, _revinclude with :iterate, POST _search and compartment search", arguments: backends)
    func includesAndCompartments(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            try await Self.seed(api)
            let included = try await Self.ids(api, "Observation?code=4548-4&_include=Observation:subject", mode: "include")
            #expect(included == ["asa"])
            let iterated = try await Self.ids(api, "Observation?_id=hba1c-1&_include=Observation:subject&_include:iterate=Patient:organization", mode: "include")
            #expect(Set(iterated) == ["asa", "org1"])
            let rev = try await Self.ids(api, "Patient?_id=asa&_revinclude=Observation:subject", mode: "include")
            #expect(Set(rev) == ["hba1c-1", "hba1c-2"])
            let revIterated = try await Self.ids(api, "Patient?_id=asa&_revinclude=Encounter:subject&_revinclude:iterate=Observation:encounter", mode: "include")
            #expect(Set(revIterated) == ["enc1", "hba1c-1"])

            let posted = try await api.send(.post, "/fhir/Patient/_search", nil, bytes: Array("gender=male".utf8),
                                            headers: ["Content-Type": "application/x-www-form-urlencoded"])
            #expect(posted.status == 200, "\(posted.text)")
            #expect(posted.json?["total"] == .number("1"))

            try await check(api, "Patient/asa/Observation", ["hba1c-1", "hba1c-2"])
            try await check(api, "Patient/asa/Observation?date=2024", ["hba1c-1"])
            try await check(api, "Patient/jose/Encounter", ["enc2"])
            #expect(try await api.send(.get, "/fhir/Patient/asa/ValueSet").status == 400)
        }
    }

    @Test("unknown parameters: strict handling names them, lenient ignores them and says so", arguments: backends)
    func handling(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            try await Self.seed(api)
            let strict = try await api.send(.get, "/fhir/Patient?gender=male&colour=blue", headers: ["Prefer": "handling=strict"])
            #expect(strict.status == 400)
            #expect(strict.issues.first?.diagnostics.contains("colour") == true)
            let lenient = try #require(try await api.send(.get, "/fhir/Patient?gender=male&colour=blue").json)
            #expect(lenient["total"] == .number("1"))
            let selfLink = try #require(Self.link(lenient, "self"))
            #expect(selfLink.contains("gender=male"))
            #expect(!selfLink.contains("colour"))
            let outcome = lenient["entry"]?.arrayValue?.last?.objectValue
            #expect(outcome?["search"]?.objectValue?["mode"]?.stringValue == "outcome")
            let outcomeText = JSONWriter.string(outcome?["resource"] ?? .null)
            #expect(outcomeText.contains("colour"))
            let badModifier = try await api.send(.get, "/fhir/Patient?gender:exact=male")
            #expect(badModifier.status == 400)
        }
    }

    @Test("Patient/$everything pages the compartment with _since and start/end", arguments: backends)
    func everything(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            try await Self.seed(api)
            let all = try await Self.ids(api, "Patient/asa/$everything") + (try await Self.ids(api, "Patient/asa/$everything", mode: "include"))
            #expect(Set(all) == ["asa", "enc1", "hba1c-1", "hba1c-2", "risk", "org1", "pr1"])
            let dated = try await Self.ids(api, "Patient/asa/$everything?start=2024-01-01&end=2024-12-31")
            #expect(Set(dated) == ["asa", "enc1", "hba1c-1", "risk"])
            let page = try #require(try await api.send(.get, "/fhir/Patient/asa/$everything?_count=2").json)
            var seen = page["entry"]!.arrayValue!.filter { $0.objectValue?["search"]?.objectValue?["mode"]?.stringValue == "match" }.count
            var next = Self.link(page, "next")
            while let url = next {
                let more = try #require(try await api.send(.get, String(url.dropFirst(base.count - 5))).json)
                seen += more["entry"]?.arrayValue?.filter { $0.objectValue?["search"]?.objectValue?["mode"]?.stringValue == "match" }.count ?? 0
                next = Self.link(more, "next")
            }
            #expect(seen == 5)
            let future = try await Self.ids(api, "Patient/asa/$everything?_since=2100-01-01T00:00:00Z")
            #expect(future == ["asa"])
        }
    }

    @Test("conditional update and delete use the full search", arguments: backends)
    func conditional(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            try await Self.seed(api)
            let updated = try await api.send(.put, "/fhir/Patient?family=%C3%B6berg&birthdate=1985-03-15",
                                             #"{"resourceType":"Patient","name":[{"family":"Öberg","given":["José"]}],"gender":"male","birthDate":"1985-03-15","active":true}"#)
            #expect(updated.status == 200, "\(updated.text)")
            #expect(updated.json?["id"]?.stringValue == "jose")
            let ambiguous = try await api.send(.put, "/fhir/Patient?gender=female", #"{"resourceType":"Patient"}"#)
            #expect(ambiguous.status == 412)
            let deleted = try await api.send(.delete, "/fhir/Observation?code=85354-9")
            #expect([200, 204].contains(deleted.status))
            try await check(api, "Observation?code=85354-9", [])
        }
    }

    static func link(_ bundle: JSONObject, _ relation: String) -> String? {
        bundle["link"]?.arrayValue?.first { $0.objectValue?["relation"]?.stringValue == relation }?.objectValue?["url"]?.stringValue
    }
}
