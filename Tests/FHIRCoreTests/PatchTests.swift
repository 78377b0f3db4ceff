@testable import FHIRCore
import Foundation
import Testing

/// Issue 22, item 3: JSON Patch (RFC 6902) and FHIRPath Patch, on the official test cases where this machine has them.
@Suite("PATCH: JSON Patch and FHIRPath Patch")
struct PatchTests {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/testdata/patch").standardized

    @Test("the official JSON Patch cases: each expected document, each error an error")
    func officialJSONPatchCases() throws {
        guard let data = try? Data(contentsOf: Self.shared.appendingPathComponent("json-patch-tests.json")) else {
            print("SKIPPED officialJSONPatchCases: ../shared/testdata/patch is not present on this machine")
            return
        }
        guard case .array(let cases) = try JSONParser.parse([UInt8](data)) else { Issue.record("not an array"); return }
        var checked = 0
        for case .object(let test) in cases where test["disabled"]?.boolValue != true {
            let name = test["comment"]?.stringValue ?? "case \(checked)"
            guard let doc = test["doc"], let patch = test["patch"] else { continue }
            if let expected = test["expected"] {
                let result = try JSONPatch.apply(patch, to: doc)
                #expect(JSONPatch.equal(result, expected), "\(name): \(JSONWriter.string(result))")
            } else {
                #expect(throws: FHIRError.self, "\(name)") { try JSONPatch.apply(patch, to: doc) }
            }
            checked += 1
        }
        #expect(checked >= 15)
    }

    @Test("JSON Patch: the six operations, escaped pointers, and a failed test applies nothing")
    func jsonPatchOperations() throws {
        let doc = try JSONParser.parse(#"{"resourceType":"Patient","name":[{"given":["Anna"]}],"a/b":1}"#)
        let patch = try JSONParser.parse(#"""
        [{"op":"add","path":"/name/0/given/-","value":"Maria"},{"op":"replace","path":"/a~1b","value":2},
         {"op":"copy","from":"/name/0","path":"/name/-"},{"op":"move","from":"/name/1/given/0","path":"/nickname"},
         {"op":"remove","path":"/name/1"},{"op":"test","path":"/nickname","value":"Anna"}]
        """#)
        let result = try JSONPatch.apply(patch, to: doc)
        #expect(JSONWriter.string(result) == #"{"resourceType":"Patient","name":[{"given":["Anna","Maria"]}],"a/b":2,"nickname":"Anna"}"#)
        let failing = try JSONParser.parse(#"[{"op":"replace","path":"/a~1b","value":3},{"op":"test","path":"/a~1b","value":1}]"#)
        #expect(throws: FHIRError.self) { try JSONPatch.apply(failing, to: doc) }
    }

    func patch(_ resource: String, _ operations: String) throws -> String {
        guard case .object(let object) = try JSONParser.parse(resource), case .object(let parameters) = try JSONParser.parse(#"{"resourceType":"Parameters","parameter":[\#(operations)]}"#) else {
            throw FHIRError(.invalid, code: .invalid, "test input")
        }
        return JSONWriter.string(.object(try FHIRPathPatch().apply(parameters, to: object)))
    }

    static func operation(_ type: String, _ path: String, _ more: String = "") -> String {
        #"{"name":"operation","part":[{"name":"type","valueCode":"\#(type)"},{"name":"path","valueString":"\#(path)"}\#(more)]}"#
    }

    @Test("FHIRPath Patch: add, insert, delete, replace and move, with a backbone value made of parts")
    func fhirPathPatchOperations() throws {
        let patient = #"{"resourceType":"Patient","identifier":[{"value":"a"},{"value":"b"}],"birthDate":"1920-01-01"}"#
        #expect(try patch(patient, Self.operation("replace", "Patient.birthDate", #",{"name":"value","valueDate":"1930-01-01"}"#))
                == #"{"resourceType":"Patient","identifier":[{"value":"a"},{"value":"b"}],"birthDate":"1930-01-01"}"#)
        #expect(try patch(patient, Self.operation("delete", "Patient.identifier[0]")) == #"{"resourceType":"Patient","identifier":[{"value":"b"}],"birthDate":"1920-01-01"}"#)
        #expect(try patch(patient, Self.operation("insert", "Patient.identifier", #",{"name":"index","valueInteger":1},{"name":"value","valueIdentifier":{"value":"c"}}"#))
                == #"{"resourceType":"Patient","identifier":[{"value":"a"},{"value":"c"},{"value":"b"}],"birthDate":"1920-01-01"}"#)
        #expect(try patch(patient, Self.operation("move", "Patient.identifier", #",{"name":"source","valueInteger":0},{"name":"destination","valueInteger":1}"#))
                == #"{"resourceType":"Patient","identifier":[{"value":"b"},{"value":"a"}],"birthDate":"1920-01-01"}"#)
        #expect(try patch(#"{"resourceType":"Patient"}"#, Self.operation("add", "Patient", #",{"name":"name","valueString":"contact"},{"name":"value","part":[{"name":"name","valueHumanName":{"text":"a name"}}]}"#))
                == #"{"resourceType":"Patient","contact":[{"name":{"text":"a name"}}]}"#)
        #expect(try patch(#"{"resourceType":"Patient"}"#, Self.operation("add", "Patient", #",{"name":"name","valueString":"deceased"},{"name":"value","valueBoolean":true}"#))
                == #"{"resourceType":"Patient","deceasedBoolean":true}"#)
        // Deleting what is not there is no change; adding under what is not there is an error naming the operation.
        #expect(try patch(patient, Self.operation("delete", "Patient.gender")) == patient)
        #expect(throws: FHIRError.self) {
            try patch(patient, Self.operation("add", "Patient.identifier.where(use = 'official').period", #",{"name":"name","valueString":"start"},{"name":"value","valueDateTime":"2020"}"#))
        }
    }
}

/// The official FHIRPath Patch cases (R4's fhir-patch-tests.xml), read with Kärna's FHIR XML reader.
@Suite("FHIRPath Patch: the official test cases")
struct OfficialFHIRPathPatchTests {
    @Test("every case gives its output, or its error")
    func officialCases() throws {
        guard let data = try? Data(contentsOf: PatchTests.shared.appendingPathComponent("fhir-patch-tests.xml")) else {
            print("SKIPPED officialCases: ../shared/testdata/patch is not present on this machine")
            return
        }
        let bytes = [UInt8](data)
        let root = try XMLTree.parse(bytes).root
        let xml = FHIRXML()
        var checked = 0
        for test in root.children where test.name == "case" {
            let name = test.attribute("name") ?? "?"
            func resource(_ part: String) throws -> JSONObject? {
                guard let holder = test.children.first(where: { $0.name == part }), let element = holder.children.first else { return nil }
                return try xml.resource(element, source: bytes, expression: nil)
            }
            let input = try #require(try resource("input"), "\(name)")
            let diff = try #require(try resource("diff"), "\(name)")
            if let output = try resource("output") {
                let patched = try FHIRPathPatch().apply(diff, to: input)
                // The cases' input and output are indented differently inside their narratives; a div is compared by its rules.
                let difference = FHIRXMLTests.difference(.object(patched), .object(output), path: "")
                #expect(difference == nil, "\(name): \(difference ?? "")")
            } else {
                #expect(throws: FHIRError.self, "\(name) should fail") { try FHIRPathPatch().apply(diff, to: input) }
            }
            checked += 1
        }
        #expect(checked == 33)
    }
}
