/// A reservnummer: the region's temporary identifier for a patient whose identity
/// is not (yet) known, e.g. an unconscious patient at the emergency department.
///
/// Region Kärnland's format is twelve digits, `99YYMMDDNNNC`: `99` (never the
/// start of a twelve-digit personnummer, so the two cannot be confused), the
/// registration date, a serial number of the day (001–999) and a Luhn check digit
/// over the eleven digits before it. People write it `99YYMMDD-NNNC`.
public struct Reservnummer: Sendable, Hashable, CustomStringConvertible {
    /// The identifier system for Patient.identifier.
    public static let system = "https://karna.se/fhir/NamingSystem/reservnummer"
    /// The highest serial number of one day.
    public static let maximumSerial = 999

    /// Twelve digits.
    public let canonical: String
    public var description: String { canonical }
    /// `99YYMMDD-NNNC`.
    public var formatted: String { String(canonical.prefix(8)) + "-" + String(canonical.suffix(4)) }

    /// Why a text is not a reservnummer.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Parses `99YYMMDDNNNC` or `99YYMMDD-NNNC`, checking the date and the check digit.
    public init(_ text: String) throws(ParseError) {
        let trimmed = text.trimmingSpaces
        var digits: [Int] = []
        for (offset, character) in trimmed.enumerated() {
            if let digit = character.wholeNumberValue, character.isASCII {
                digits.append(digit)
            } else if character == "-", offset == 8 {
                continue
            } else {
                throw ParseError(description: "'\(trimmed)' contains '\(character)'; a reservnummer is 99YYMMDD-NNNC")
            }
        }
        guard digits.count == 12 else { throw ParseError(description: "a reservnummer has 12 digits (99YYMMDD-NNNC); '\(trimmed)' has \(digits.count)") }
        guard digits[0] == 9, digits[1] == 9 else { throw ParseError(description: "a reservnummer starts with 99; '\(trimmed)' does not") }
        let month = digits[4] * 10 + digits[5], day = digits[6] * 10 + digits[7], year = 2000 + digits[2] * 10 + digits[3]
        guard (1...12).contains(month), day >= 1, day <= FHIRDateTime.daysIn(month: month, year: year) else {
            throw ParseError(description: "'\(trimmed)' does not hold a valid registration date")
        }
        guard digits[8...10] != [0, 0, 0] else { throw ParseError(description: "'\(trimmed)' has serial number 000") }
        guard SwedishPersonalIdentity.luhnCheckDigit(digits[0..<11]) == digits[11] else {
            throw ParseError(description: "'\(trimmed)' has the wrong check digit")
        }
        canonical = digits.map(String.init).joined()
    }

    /// The reservnummer of a registration date and the day's serial number.
    public init(year: Int, month: Int, day: Int, serial: Int) throws(ParseError) {
        guard (1...Self.maximumSerial).contains(serial) else {
            throw ParseError(description: "serial \(serial) is outside 1–\(Self.maximumSerial): the day's reservnummer are used up")
        }
        func two(_ value: Int) -> [Int] { [value / 10 % 10, value % 10] }
        let eleven = [9, 9] + two(year % 100) + two(month) + two(day) + [serial / 100, serial / 10 % 10, serial % 10]
        try self.init((eleven + [SwedishPersonalIdentity.luhnCheckDigit(eleven)]).map(String.init).joined())
    }
}
