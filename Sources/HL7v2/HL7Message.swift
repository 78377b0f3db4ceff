public import Foundation

/// An HL7 version 2 message (ER7, the pipe-and-hat encoding): segments of fields, read by position.
///
/// Field text stays escaped as received until asked for: `text(_:_:)` decodes HL7 escapes, so a
/// separator written as `\F\` in a report comes back as the `|` its author typed.
public struct HL7Message: Sendable, Equatable {
    /// The separators the message declares in MSH-1 and MSH-2.
    public var delimiters: Delimiters
    public var segments: [Segment]

    /// One segment: its name (MSH, PID, OBR, OBX, …) and its fields, numbered as the standard numbers them.
    public struct Segment: Sendable, Equatable {
        public var name: String
        /// Raw (escaped) field text; index 0 is the name, so `fields[n]` is field n (for MSH, `fields[1]` is the
        /// field separator itself, as the standard counts it).
        public var fields: [String]

        public init(name: String, fields: [String]) {
            self.name = name
            self.fields = fields
        }

        /// Field `n` as received (escaped), or "" when absent.
        public subscript(_ n: Int) -> String { n < fields.count ? fields[n] : "" }
    }

    /// The separators: field `|`, component `^`, repetition `~`, escape `\`, subcomponent `&` by default.
    public struct Delimiters: Sendable, Equatable {
        public var field: Character = "|"
        public var component: Character = "^"
        public var repetition: Character = "~"
        public var escape: Character = "\\"
        public var subcomponent: Character = "&"

        public init() {}

        /// MSH-2 as written.
        public var encodingCharacters: String { String([component, repetition, escape, subcomponent]) }
    }

    /// Why a message could not be read, naming where.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var description: String
        /// The segment and field where it went wrong (for the ERR segment), when known.
        public var location: (segment: String, sequence: Int, field: Int)?

        public init(_ description: String, segment: String? = nil, sequence: Int = 1, field: Int = 0) {
            self.description = description
            location = segment.map { ($0, sequence, field) }
        }

        public static func == (a: ParseError, b: ParseError) -> Bool { a.description == b.description }
    }

    public init(delimiters: Delimiters = Delimiters(), segments: [Segment]) {
        self.delimiters = delimiters
        self.segments = segments
    }

    /// Reads a message already decoded to text. Segments end in CR; LF and CRLF are taken too, as
    /// senders write them.
    public init(parsing text: String) throws(ParseError) {
        let lines = text.split(omittingEmptySubsequences: true) { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = lines.first, first.hasPrefix("MSH"), first.count >= 8 else {
            throw ParseError("the message does not begin with an MSH segment", segment: "MSH")
        }
        var delimiters = Delimiters()
        let header = Array(first)
        delimiters.field = header[3]
        delimiters.component = header[4]
        delimiters.repetition = header[5]
        delimiters.escape = header[6]
        delimiters.subcomponent = header[7]
        let declared = Set([delimiters.field, delimiters.component, delimiters.repetition, delimiters.escape, delimiters.subcomponent])
        guard declared.count == 5, !declared.contains(where: { $0.isLetter || $0.isNumber || $0.isWhitespace }) else {
            throw ParseError("MSH-1 and MSH-2 must declare five different separators, not \(String(header[3...7]))", segment: "MSH", field: 2)
        }
        var segments: [Segment] = []
        for line in lines {
            var fields = line.split(separator: delimiters.field, omittingEmptySubsequences: false).map(String.init)
            let name = fields[0]
            guard name.count == 3, name.allSatisfy({ $0.isUppercase || $0.isNumber }) else {
                throw ParseError("segment \(segments.count + 1) has no three-letter name: \(name.prefix(20))", segment: String(name.prefix(3)), sequence: segments.count + 1)
            }
            if name == "MSH" {
                // MSH-1 is the field separator itself: counted as field 1, so MSH-2 is the encoding characters.
                fields.insert(String(delimiters.field), at: 1)
            }
            segments.append(Segment(name: name, fields: fields))
        }
        self.delimiters = delimiters
        self.segments = segments
    }

    /// The message as ER7 text, segments ended by CR.
    public var encoded: String {
        segments.map { segment in
            var fields = segment.fields
            if segment.name == "MSH", fields.count > 1 { fields.remove(at: 1) }
            return fields.joined(separator: String(delimiters.field))
        }.joined(separator: "\r") + "\r"
    }

    /// The first segment named `name`.
    public func first(_ name: String) -> Segment? { segments.first { $0.name == name } }

    /// MSH, which every message has.
    public var header: Segment { segments[0] }

    /// MSH-9 as `ORU^R01`, the message type and trigger event.
    public var messageType: String {
        let parts = components(header[9])
        return parts.prefix(2).joined(separator: "^")
    }

    /// MSH-10, the sender's id for this message (what makes a resent message the same message).
    public var controlID: String { text(header[10]) }

    // MARK: Fields

    /// The repetitions of a raw field.
    public func repetitions(_ field: String) -> [String] {
        field.isEmpty ? [] : field.split(separator: delimiters.repetition, omittingEmptySubsequences: false).map(String.init)
    }

    /// The components of one raw repetition (still escaped).
    public func components(_ value: String) -> [String] {
        value.split(separator: delimiters.component, omittingEmptySubsequences: false).map(String.init)
    }

    /// Component `n` (1-based) of a raw field's first repetition, decoded.
    public func text(_ field: String, component n: Int) -> String {
        let parts = components(repetitions(field).first ?? "")
        return n - 1 < parts.count ? text(parts[n - 1]) : ""
    }

    /// Raw text with its HL7 escapes decoded; hex escapes (`\X0D0A\`) are bytes in the message's character set,
    /// which `decoding` reads (UTF-8 unless said otherwise).
    public func text(_ raw: String, decoding encoding: String.Encoding = .utf8) -> String {
        HL7Escaping.decode(raw, delimiters: delimiters, encoding: encoding)
    }

    /// `value` escaped for a field of this message.
    public func escaped(_ value: String) -> String { HL7Escaping.encode(value, delimiters: delimiters) }
}
