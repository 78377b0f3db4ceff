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
        // Past the scanned size too, wherever the second one stands, and with the place of the second.
        let many = (0..<JSONParser.scannedKeys * 4).map { "\"k\($0)\":\($0)" }
        for (position, repeated) in [(JSONParser.scannedKeys - 1, "k3"), (JSONParser.scannedKeys, "k0"), (JSONParser.scannedKeys * 3, "k40")] {
            var members = many
            members.insert("\"\(repeated)\":true", at: position)
            let text = "{" + members.joined(separator: ",") + "}"
            let refused = #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
            #expect(refused?.description.contains("'\(repeated)' appears twice") == true, "\(String(describing: refused))")
        }
        #expect(throws: Never.self) { try JSONParser.parse("{" + many.joined(separator: ",") + "}") }
    }

    /// An object of 40,000 keys cost 6.6 s of CPU when every key was compared with all before it. The
    /// work must grow with the size, not its square: eight times the keys may cost about eight times as
    /// long (a square would be 64 times); the bound leaves room for a busy machine.
    @Test func manyKeysParseInLinearTime() throws {
        func seconds(_ keys: Int) throws -> Double {
            let text = Array(("{" + (0..<keys).map { "\"key\($0)\":\($0)" }.joined(separator: ",") + "}").utf8)
            let clock = ContinuousClock()
            var best = Duration.seconds(1_000)
            for _ in 0..<3 {
                let start = clock.now
                _ = try JSONParser.parse(text)
                best = min(best, clock.now - start)
            }
            return Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18
        }
        let small = try seconds(5_000), large = try seconds(40_000)
        #expect(large / small < 24, "5,000 keys \(small) s, 40,000 keys \(large) s")
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

    /// Issue 22, item 6: the entry limit is checked while reading, at the first element over it; the rest
    /// (here not even well-formed) is never read.
    @Test func arrayLimitRefusesAtTheFirstElementOver() throws {
        let limits = JSONLimits(maxArrayElements: 3)
        #expect(try JSONParser.parse(#"{"entry":[{},{},{}]}"#, limits: limits) != .null)
        do {
            _ = try JSONParser.parse(#"{"entry":[{},{},{},{"broken""#, limits: limits)
            Issue.record("four elements were accepted")
        } catch {
            #expect(error.reason == .tooManyElements(3) && error.reason.isLimit)
            #expect(error.column == 20, "at the fourth element: \(error)")
            #expect(error.description.contains("KARNA_MAX_BUNDLE_ENTRIES"))
        }
    }
}
