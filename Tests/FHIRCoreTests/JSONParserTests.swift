@testable import FHIRCore
import Testing

@Suite("JSON parser and writer")
struct JSONParserTests {
    /// FHIR R4 §2.6.2 (json.html): decimals keep their precision; 1.50 is not 1.5.
    @Test func decimalsKeepTheirDigits() throws {
        let value = try JSONParser.parse(#"{"v":1.50,"w":-0.0e+3,"x":100000000000000000001}"#)
        #expect(JSONWriter.string(value) == #"{"v":1.50,"w":-0.0e+3,"x":100000000000000000001}"#)
    }

    @Test func membersKeepTheirOrder() throws {
        let text = #"{"z":1,"a":2,"m":[true,false,null]}"#
        #expect(JSONWriter.string(try JSONParser.parse(text)) == text)
    }

    /// Clinical text must round-trip byte for byte: escapes decode, non-ASCII stays raw, composed and decomposed stay distinct.
    @Test func stringsRoundTripByteForByte() throws {
        let composed = "Å"
        let decomposed = "A\u{030A}"
        let value = try JSONParser.parse(#"{"a":"\#(composed)","b":"\#(decomposed)","c":"tab\there\nny rad \u00e5 😀 \"q\" \\ /"}"#)
        let object = try #require(value.objectValue)
        #expect(Array(object["a"]!.stringValue!.utf8) == Array(composed.utf8))
        #expect(Array(object["b"]!.stringValue!.utf8) == Array(decomposed.utf8))
        #expect(object["c"]!.stringValue! == "tab\there\nny rad å 😀 \"q\" \\ /")
        let again = try JSONParser.parse(JSONWriter.bytes(value))
        #expect(again.isIdentical(to: value))
        #expect(!JSONValue.string(composed).isIdentical(to: .string(decomposed)))
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#).stringValue == "😀")
        #expect(throws: JSONParseError.self) { try JSONParser.parse(#""\ud83d""#) }
    }

    /// Errors name the line and column so a client can find the mistake.
    @Test func syntaxErrorsSayWhere() {
        do {
            _ = try JSONParser.parse("{\n  \"a\": 1,\n  \"b\": tru\n}")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 8)
            #expect(error.description.contains("line 3"))
        }
    }

    @Test(arguments: [
        "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "01", "1.", "\"unterminated", "{\"a\":1}x", "", "nul", "\"\\x\"", "[-]",
    ])
    func malformedJSONIsRefused(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func duplicateKeysAreRefused() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(#"{"a":1,"a":2}"#) }
    }

    @Test func rawControlCharactersInStringsAreRefused() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array("\"a\u{01}b\"".utf8)) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array("\"a\nb\"".utf8)) }
    }

    @Test func invalidUTF8IsRefusedWithItsOffset() {
        let bytes: [UInt8] = Array(#"{"a":"ok","b":"x"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        do {
            _ = try JSONParser.parse(bytes)
            Issue.record("expected an error")
        } catch {
            #expect(error.reason == .invalidUTF8)
            #expect(error.offset == 16)
        }
    }

    /// Limits are explicit: nesting depth and string length.
    @Test func limitsAreEnforced() {
        let deep = String(repeating: "[", count: 20) + String(repeating: "]", count: 20)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep, limits: JSONLimits(maxDepth: 10)) }
        #expect((try? JSONParser.parse(deep, limits: JSONLimits(maxDepth: 20))) != nil)
        let long = "\"" + String(repeating: "a", count: 100) + "\""
        #expect(throws: JSONParseError.self) { try JSONParser.parse(long, limits: JSONLimits(maxStringBytes: 99)) }
        do {
            _ = try JSONParser.parse(deep, limits: JSONLimits(maxDepth: 10))
        } catch {
            #expect(error.reason.isLimit)
        }
    }

    @Test func writerEscapesControlCharacters() {
        #expect(JSONWriter.string(.string("a\u{01}\u{1F}\t")) == #""a\u0001\u001f\t""#)
    }
}
