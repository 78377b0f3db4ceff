public import Foundation

/// An ACK for a received message: AA accepted, AE error in the message, AR rejected (not for this receiver).
public enum HL7Acknowledgement {
    /// MSA-1, the acknowledgement code.
    public enum Code: String, Sendable {
        case accepted = "AA"
        case error = "AE"
        case rejected = "AR"
    }

    /// What ERR says went wrong: where (segment, its sequence, field), the HL7 error code (table 0357) and the words.
    public struct Problem: Sendable, Equatable {
        public var segment: String
        public var sequence: Int
        public var field: Int
        /// Table 0357: 100 segment sequence, 101 required field missing, 102 data type, 103 table value not found,
        /// 200 unsupported message type, 204 unknown key identifier, 207 application internal error.
        public var code: String
        public var text: String

        public init(segment: String, sequence: Int = 1, field: Int = 0, code: String, text: String) {
            self.segment = segment
            self.sequence = sequence
            self.field = field
            self.code = code
            self.text = text
        }

        static let codeNames = ["100": "Segment sequence error", "101": "Required field missing", "102": "Data type error",
                                "103": "Table value not found", "200": "Unsupported message type", "203": "Unsupported version id",
                                "204": "Unknown key identifier", "206": "Application record locked", "207": "Application internal error"]
    }

    /// The ACK for `message` (its MSH read for the addressing and control id), from the receiving application.
    /// `header` may be a message that could not be parsed past MSH; with none, the ACK says so without a control id.
    public static func make(for header: HL7Message.Segment?, delimiters: HL7Message.Delimiters = .init(), code: Code,
                            controlID: String, problems: [Problem] = [], at time: Date = Date()) -> HL7Message {
        let escape = { (value: String) in HL7Escaping.encode(value, delimiters: delimiters) }
        let version = header?[12].isEmpty == false ? header![12] : "2.5"
        let trigger = header.map { HL7Message(delimiters: delimiters, segments: []).components($0[9]) }.flatMap { $0.count > 1 ? $0[1] : nil } ?? ""
        var msh = ["MSH", String(delimiters.field), delimiters.encodingCharacters]
        // The sender becomes the receiver: MSH-3/4 of the ACK are the original MSH-5/6, and the other way round.
        msh += [header?[5] ?? "", header?[6] ?? "", header?[3] ?? "", header?[4] ?? ""]
        msh += [timestamp(time), "", "ACK^\(trigger)^ACK", controlID, header?[11].isEmpty == false ? header![11] : "P", version]
        if let charset = header?[18], !charset.isEmpty {
            msh += ["", "", "", "", "", charset]
        }
        var segments = [HL7Message.Segment(name: "MSH", fields: msh)]
        let text = problems.first?.text ?? ""
        segments.append(.init(name: "MSA", fields: ["MSA", code.rawValue, header?[10] ?? "", escape(text)]))
        for problem in problems {
            let location = [problem.segment, String(problem.sequence), problem.field > 0 ? String(problem.field) : ""]
                .joined(separator: String(delimiters.component))
            let name = Problem.codeNames[problem.code] ?? ""
            let hl7Code = [problem.code, name, "HL70357"].joined(separator: String(delimiters.component))
            segments.append(.init(name: "ERR", fields: ["ERR", "", location, hl7Code, "E", "", "", "", escape(problem.text)]))
        }
        return HL7Message(delimiters: delimiters, segments: segments)
    }

    /// An HL7 timestamp (DTM) in UTC: `YYYYMMDDHHMMSS+0000`.
    public static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss"
        return formatter.string(from: date) + "+0000"
    }

    /// An HL7 DTM (`YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]`) as a FHIR dateTime; nil when it is not one.
    /// Without a zone the time is the sender's local time, read as Swedish time (the channels are Swedish labs).
    public static func fhirDateTime(_ value: String, defaultZone: TimeZone = TimeZone(identifier: "Europe/Stockholm")!) -> String? {
        var digits = value
        var zone: String?
        if let sign = value.firstIndex(where: { $0 == "+" || $0 == "-" }) {
            digits = String(value[..<sign])
            zone = String(value[sign...])
        }
        if let dot = digits.firstIndex(of: ".") { digits = String(digits[..<dot]) }
        guard digits.allSatisfy(\.isNumber), [4, 6, 8, 10, 12, 14].contains(digits.count) else { return nil }
        let d = Array(digits)
        func part(_ from: Int, _ length: Int) -> String { String(d[from..<(from + length)]) }
        if d.count == 4 { return part(0, 4) }
        if d.count == 6 { return "\(part(0, 4))-\(part(4, 2))" }
        if d.count == 8 { return "\(part(0, 4))-\(part(4, 2))-\(part(6, 2))" }
        let hour = part(8, 2), minute = d.count >= 12 ? part(10, 2) : "00", second = d.count >= 14 ? part(12, 2) : "00"
        let offset: String
        if let zone, zone.count == 5 {
            offset = "\(zone.prefix(3)):\(zone.suffix(2))"
        } else {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = defaultZone
            let components = DateComponents(year: Int(part(0, 4)), month: Int(part(4, 2)), day: Int(part(6, 2)), hour: Int(hour), minute: Int(minute))
            let seconds = calendar.date(from: components).map { defaultZone.secondsFromGMT(for: $0) } ?? 0
            offset = String(format: "%@%02d:%02d", seconds < 0 ? "-" : "+", abs(seconds) / 3600, (abs(seconds) % 3600) / 60)
        }
        return "\(part(0, 4))-\(part(4, 2))-\(part(6, 2))T\(hour):\(minute):\(second)\(offset)"
    }
}
