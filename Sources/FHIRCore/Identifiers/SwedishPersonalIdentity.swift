/// A Swedish personnummer or samordningsnummer, validated (format, date, Luhn).
///
/// Accepts the forms people and systems write: `YYYYMMDDNNNN`, `YYYYMMDD-NNNN`,
/// `YYMMDD-NNNN`, `YYMMDD+NNNN` (a centenarian) and `YYMMDDNNNN`. The
/// canonical form is twelve digits without separator, as national services
/// use with the OIDs below.
public struct SwedishPersonalIdentity: Sendable, Hashable, CustomStringConvertible {
    /// Which kind of number this is.
    public enum Kind: String, Sendable {
        /// Personnummer (Skatteverket).
        case personnummer
        /// Samordningsnummer: day of birth + 60, for people not registered in Sweden.
        case samordningsnummer

        /// The OID Swedish systems use as Identifier.system (prefixed `urn:oid:`).
        public var oid: String {
            switch self {
            case .personnummer: SwedishPersonalIdentity.personnummerOID
            case .samordningsnummer: SwedishPersonalIdentity.samordningsnummerOID
            }
        }
    }

    /// Why a number was refused.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// In English, for the API and the log.
        public let description: String
        /// The same in Swedish, for the person who typed the number.
        public let text: String
    }

    public static let personnummerOID = "1.2.752.129.2.1.3.1"
    public static let samordningsnummerOID = "1.2.752.129.2.1.3.3"
    public static let personnummerSystem = "urn:oid:" + personnummerOID
    public static let samordningsnummerSystem = "urn:oid:" + samordningsnummerOID

    public let kind: Kind
    /// Twelve digits, `YYYYMMDDNNNN`.
    public let canonical: String
    public let birthYear: Int
    public let birthMonth: Int
    /// The real day of birth (for a samordningsnummer, the written day minus 60).
    public let birthDay: Int

    public var description: String { canonical }

    /// `YYYYMMDD-NNNN`, the form people read.
    public var formatted: String {
        String(canonical.prefix(8)) + "-" + String(canonical.suffix(4))
    }

    /// Parses and validates; `today` (year, month, day) decides the century of ten-digit forms.
    public init(_ text: String, today: (year: Int, month: Int, day: Int) = CivilCalendar.today()) throws(ParseError) {
        let trimmed = text.trimmingSpaces
        var digits: [Int] = []
        var separator: Character?
        for character in trimmed {
            if let d = character.wholeNumberValue, character.isASCII {
                digits.append(d)
            } else if (character == "-" || character == "+") && separator == nil && (digits.count == 6 || digits.count == 8) {
                separator = character
            } else {
                throw ParseError(description: "'\(trimmed)' contains '\(character)', which is not a digit or a separator in the right place",
                                 text: "Numret innehåller ”\(character)”, som inte är en siffra eller ett bindestreck på rätt plats.")
            }
        }
        guard digits.count == 10 || digits.count == 12 else {
            throw ParseError(description: "a personnummer has 10 or 12 digits; '\(trimmed)' has \(digits.count)",
                             text: "Ett personnummer har 10 eller 12 siffror; det skrivna har \(digits.count).")
        }
        if separator != nil, digits.count == 12, separator == "+" {
            throw ParseError(description: "'+' is only written in the ten-digit form", text: "Plustecken skrivs bara i den tiosiffriga formen.")
        }
        let short = Array(digits.suffix(10))
        let month = short[2] * 10 + short[3]
        var day = short[4] * 10 + short[5]
        var kind = Kind.personnummer
        if day > 60 {
            kind = .samordningsnummer
            day -= 60
        }
        var year: Int
        if digits.count == 12 {
            year = digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3]
        } else {
            let yy = short[0] * 10 + short[1]
            year = (today.year / 100) * 100 + yy
            if (year, month, day) > (today.year, today.month, today.day) { year -= 100 }
            if separator == "+" { year -= 100 }
        }
        guard (1...12).contains(month), day >= 1, day <= FHIRDateTime.daysIn(month: month, year: year) else {
            throw ParseError(description: "'\(trimmed)' does not hold a valid date of birth", text: "Numret innehåller inget giltigt födelsedatum.")
        }
        guard (year, month, day) <= (today.year, today.month, today.day), year >= 1840 else {
            throw ParseError(description: "'\(trimmed)' holds a date of birth in the future or before 1840",
                             text: "Födelsedatumet i numret ligger i framtiden eller före 1840.")
        }
        guard Self.luhnCheckDigit(short.prefix(9)) == short[9] else {
            throw ParseError(description: "'\(trimmed)' has a wrong check digit (the last digit fails the Luhn check)",
                             text: "Kontrollsiffran (den sista siffran) stämmer inte. Kontrollera att numret är rätt skrivet.")
        }
        self.kind = kind
        self.birthYear = year
        self.birthMonth = month
        self.birthDay = day
        let centuryDigits = [year / 1000, (year / 100) % 10]
        self.canonical = (centuryDigits + short).map(String.init).joined()
    }

    /// The Luhn check digit of the nine digits YYMMDDNNN.
    public static func luhnCheckDigit<C: Collection<Int>>(_ nine: C) -> Int {
        var sum = 0
        for (i, digit) in nine.enumerated() {
            let product = digit * (i % 2 == 0 ? 2 : 1)
            sum += product > 9 ? product - 9 : product
        }
        return (10 - sum % 10) % 10
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
