@testable import FHIRCore
import Foundation
import Testing

@Suite("Primitive formats")
struct PrimitiveFormatTests {
    static let samples: [(type: String, value: String)] = [
        ("date", "2024"), ("date", "2024-02"), ("date", "2024-02-29"), ("date", "2023-13"), ("date", "24-01-01"), ("date", "2024-1-01"),
        ("dateTime", "2024-05-01T12:30:00Z"), ("dateTime", "2024-05-01T12:30:00.123+02:00"), ("dateTime", "2024-05-01T12:30:00"),
        ("dateTime", "2024-05-01T25:00:00Z"), ("dateTime", "2024-05-01T12:30Z"), ("dateTime", "2024-05-01T12:30:00+14:00"), ("dateTime", "2024-05-01T12:30:00+15:00"),
        ("instant", "2024-05-01T12:30:00Z"), ("instant", "2024-05-01"), ("time", "23:59:59"), ("time", "24:00:00"), ("time", "12:00"),
        ("id", "abc-DEF.123"), ("id", "has space"), ("id", String(repeating: "a", count: 65)), ("id", "a_b"),
        ("code", "active"), ("code", "two words"), ("code", " lead"), ("code", "double  space"),
        ("uri", "http://example.org/a"), ("uri", "has space"), ("oid", "urn:oid:1.2.752.129.2.1.3.1"), ("oid", "urn:oid:1.02"), ("oid", "1.2.3"),
        ("uuid", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520"), ("uuid", "urn:uuid:C757873D-EC9A-4326-A141-556F43239520"),
        ("base64Binary", "aGVq"), ("base64Binary", "aGVqa"), ("base64Binary", "aG Vq"), ("markdown", "# Rubrik\n\ntext"),
    ]

    /// The hand-written scanners accept exactly what the spec's regular expressions accept
    /// (dates are also checked against the calendar, which the regexes cannot do).
    @Test func scannersAgreeWithTheSpecificationRegexes() throws {
        let regexes = Definitions.r4.primitiveRegexes
        for sample in Self.samples {
            let pattern = try #require(regexes[sample.type], "no regex for \(sample.type)")
            let regex = try NSRegularExpression(pattern: "^(?:\(pattern))$")
            let range = NSRange(sample.value.startIndex..., in: sample.value)
            let regexAccepts = regex.firstMatch(in: sample.value, range: range) != nil
            let scannerAccepts = PrimitiveFormat.problem(type: sample.type, value: .string(sample.value)) == nil
            #expect(regexAccepts == scannerAccepts, "\(sample.type) '\(sample.value)': regex \(regexAccepts), scanner \(scannerAccepts)")
        }
    }

    @Test func calendarDatesAreChecked() {
        #expect(PrimitiveFormat.problem(type: "date", value: .string("2023-02-29")) != nil)
        #expect(PrimitiveFormat.problem(type: "date", value: .string("2024-02-29")) == nil)
        #expect(PrimitiveFormat.problem(type: "dateTime", value: .string("2023-04-31T10:00:00Z")) != nil)
    }

    @Test func numbersAreCheckedByType() {
        #expect(PrimitiveFormat.problem(type: "integer", value: .number("2147483648")) != nil)
        #expect(PrimitiveFormat.problem(type: "integer", value: .number("1.0")) != nil)
        #expect(PrimitiveFormat.problem(type: "positiveInt", value: .number("0")) != nil)
        #expect(PrimitiveFormat.problem(type: "unsignedInt", value: .number("0")) == nil)
        #expect(PrimitiveFormat.problem(type: "decimal", value: .number("1e-3")) == nil)
        #expect(PrimitiveFormat.problem(type: "decimal", value: .string("1.0")) != nil)
        #expect(PrimitiveFormat.problem(type: "boolean", value: .string("true")) != nil)
    }

    /// FHIR strings may hold tab, CR and LF but no other control characters, and are never empty.
    @Test func stringsRefuseControlCharactersAndEmptiness() {
        #expect(PrimitiveFormat.problem(type: "string", value: .string("rad 1\r\n\trad 2")) == nil)
        #expect(PrimitiveFormat.problem(type: "string", value: .string("bell\u{07}")) != nil)
        #expect(PrimitiveFormat.problem(type: "string", value: .string("")) != nil)
    }
}
