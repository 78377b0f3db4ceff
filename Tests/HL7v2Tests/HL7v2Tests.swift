import Foundation
import HL7v2
import Testing

@Suite("HL7 v2: MLLP frames, escapes and character sets")
struct HL7v2Tests {
    static let oru = "MSH|^~\\&|KEMLAB|KLINKEM|KARNA|REGION|20261205101500||ORU^R01^ORU_R01|MSG0001|P|2.5|||||SWE|UNICODE UTF-8\r"
        + "PID|||199001012384^^^^PNR||Andersson^Åsa\r"
        + "ORC|RE|11545596-0175|F998\r"
        + "OBR|1|11545596-0175|F998|K^Kalium^L|||20261205090000||||||||||||||20261205101000|||F\r"
        + "OBX|1|NM|K^Kalium^L^NPU03230^P—Kalium^NPU||4,2|mmol/L|3.5-5.0|N|||F\r"

    @Test("a frame split across reads, and several frames in one read, each parse whole")
    func framing() throws {
        let one = MLLPFramer.frame(Array("first".utf8)), two = MLLPFramer.frame(Array("second".utf8))
        var framer = MLLPFramer()
        // Byte by byte: nothing until the end block and its CR.
        var frames: [[UInt8]] = []
        for byte in one { frames += try framer.append([byte]) }
        #expect(frames == [Array("first".utf8)])
        // Two frames and half of a third in one read, the rest in the next.
        let three = MLLPFramer.frame(Array("third".utf8))
        frames = try framer.append(one + two + three.prefix(4))
        #expect(frames == [Array("first".utf8), Array("second".utf8)])
        frames = try framer.append(three.dropFirst(4))
        #expect(frames == [Array("third".utf8)])
        // An end block split from its CR across reads.
        frames = try framer.append(one.dropLast())
        #expect(frames.isEmpty)
        frames = try framer.append([MLLPFramer.carriageReturn])
        #expect(frames == [Array("first".utf8)])
    }

    @Test("a frame over the limit is an error, not memory without end")
    func frameLimit() throws {
        var framer = MLLPFramer(maximumBytes: 10)
        #expect(throws: MLLPFramer.FramingError.tooLarge(limit: 10)) { _ = try framer.append(MLLPFramer.frame(Array(repeating: 65, count: 11))) }
        #expect(try framer.append(MLLPFramer.frame(Array("ok".utf8))) == [Array("ok".utf8)])
    }

    @Test("segments, fields and components read by position; MSH-1 counts as a field")
    func parse() throws {
        let message = try HL7Message(parsing: Self.oru)
        #expect(message.messageType == "ORU^R01")
        #expect(message.controlID == "MSG0001")
        #expect(message.header[18] == "UNICODE UTF-8")
        let obr = try #require(message.first("OBR"))
        #expect(message.text(obr[2], component: 1) == "11545596-0175")
        let obx = try #require(message.first("OBX"))
        #expect(message.text(obx[3], component: 4) == "NPU03230")
        #expect(message.text(obx[3], component: 5) == "P—Kalium")
        #expect(message.encoded == Self.oru)
    }

    @Test("HL7 escapes decode to what the author wrote, and encode back")
    func escapes() throws {
        let message = try HL7Message(parsing: "MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.5\r")
        let raw = "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g\\X0D0A\\h"
        #expect(message.text(raw) == "a|b^c&d~e\\f\ng\nh")
        #expect(message.text(message.escaped("Ingen blödning.\n|^~&\\ åäöÅÄÖ µ ±")) == "Ingen blödning.\n|^~&\\ åäöÅÄÖ µ ±")
        // An unclosed escape is kept as written: no text lost.
        #expect(message.text("50 \\F") == "50 \\F")
        // Hex bytes are read in the message's character set.
        #expect(message.text("\\XE5E4F6\\", decoding: .isoLatin1) == "åäö")
    }

    @Test("MSH-18 decides the character set; an empty MSH-18 takes the channel's default; an unknown one is named")
    func charsets() throws {
        let words = "åäöÅÄÖ µ ±"
        let latin = Array("MSH|^~\\&|KEMLAB|X|K|R|2026||ORU^R01|1|P|2.5||||||8859/1\rNTE|||\(words)\r".data(using: .isoLatin1)!)
        #expect(HL7Charset.declared(in: latin) == "8859/1")
        #expect(try HL7Charset.decode(latin, defaultCharset: "UNICODE UTF-8").text.contains(words))
        let undeclared = Array("MSH|^~\\&|KEMLAB|X|K|R|2026||ORU^R01|1|P|2.5\rNTE|||\(words)\r".data(using: .isoLatin1)!)
        #expect(try HL7Charset.decode(undeclared, defaultCharset: "8859/1").text.contains(words))
        #expect(throws: HL7Charset.DecodeError.self) { _ = try HL7Charset.decode(undeclared, defaultCharset: "UNICODE UTF-8") }
        let unknown = Array("MSH|^~\\&|KEMLAB|X|K|R|2026||ORU^R01|1|P|2.5||||||KLINGON\r".utf8)
        do {
            _ = try HL7Charset.decode(unknown, defaultCharset: "8859/1")
            Issue.record("an unknown character set was read")
        } catch {
            #expect(error.description.contains("KLINGON"))
        }
        #expect(HL7Charset.mshField(3, in: latin) == "KEMLAB")
        #expect(HL7Charset.mshField(10, in: latin) == "1")
    }

    @Test("an order's text goes to a Latin-1 lab with NPU's em dash written plainly and åäö kept; a name in another script still does not fit")
    func plainPunctuation() throws {
        #expect(HL7Charset.encode("P—Kalium", charset: "8859/1") == nil)
        let bytes = try #require(HL7Charset.encodePlain("OBR|1||NPU03230^P—Kalium; “substans” Åsa…", charset: "8859/1"))
        #expect(String(data: Data(bytes), encoding: .isoLatin1) == "OBR|1||NPU03230^P-Kalium; \"substans\" Åsa...")
        #expect(HL7Charset.encodePlain("P—Kalium", charset: "UNICODE UTF-8") == Array("P—Kalium".utf8), "UTF-8 keeps the dash")
        #expect(HL7Charset.encodePlain("Ψ—Kalium", charset: "8859/1") == nil)
    }

    @Test("an ACK answers the sender's control id, swaps the addressing and names the problem in ERR")
    func acknowledgement() throws {
        let message = try HL7Message(parsing: Self.oru)
        let ack = HL7Acknowledgement.make(for: message.header, code: .error, controlID: "A1",
                                          problems: [.init(segment: "OBX", sequence: 2, field: 5, code: "102", text: "OBX-5 is 'hög', not a number")])
        let parsed = try HL7Message(parsing: ack.encoded)
        #expect(parsed.header[3] == "KARNA" && parsed.header[5] == "KEMLAB")
        #expect(parsed.messageType == "ACK^R01")
        let msa = try #require(parsed.first("MSA"))
        #expect(msa[1] == "AE" && msa[2] == "MSG0001")
        let err = try #require(parsed.first("ERR"))
        #expect(err[2] == "OBX^2^5")
        #expect(parsed.text(err[3], component: 1) == "102")
        #expect(parsed.text(err[8]) == "OBX-5 is 'hög', not a number")
    }

    @Test("HL7 timestamps become FHIR dateTimes, in Swedish time when the sender gives no zone")
    func timestamps() {
        #expect(HL7Acknowledgement.fhirDateTime("20261205101500+0100") == "2026-12-05T10:15:00+01:00")
        #expect(HL7Acknowledgement.fhirDateTime("202607011015") == "2026-07-01T10:15:00+02:00")
        #expect(HL7Acknowledgement.fhirDateTime("20261205") == "2026-12-05")
        #expect(HL7Acknowledgement.fhirDateTime("2026120") == nil)
    }
}
