/// A FHIR date, dateTime or instant with its precision, parsed strictly.
public struct FHIRDateTime: Sendable, Equatable {
    /// How much of the value was given.
    public enum Precision: Int, Sendable, Comparable {
        case year, month, day, time
        public static func < (a: Precision, b: Precision) -> Bool { a.rawValue < b.rawValue }
    }

    public var year: Int
    public var month: Int
    public var day: Int
    public var precision: Precision

    /// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD` and, when `allowTime`, `YYYY-MM-DDThh:mm:ss[.f+](Z|±hh:mm)`.
    public static func parse(_ text: String, allowTime: Bool) -> FHIRDateTime? {
        let b = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count else { return nil }
            var value = 0
            for i in range {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        guard let year = digits(0..<4), year >= 1 else { return nil }
        if b.count == 4 { return FHIRDateTime(year: year, month: 1, day: 1, precision: .year) }
        guard b.count >= 7, b[4] == UInt8(ascii: "-"), let month = digits(5..<7), (1...12).contains(month) else { return nil }
        if b.count == 7 { return FHIRDateTime(year: year, month: month, day: 1, precision: .month) }
        guard b.count >= 10, b[7] == UInt8(ascii: "-"), let day = digits(8..<10),
              day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        if b.count == 10 { return FHIRDateTime(year: year, month: month, day: day, precision: .day) }
        guard allowTime, b[10] == UInt8(ascii: "T") else { return nil }
        // The time must carry a zone: Z or ±hh:mm (hh ≤ 14).
        var rest = b[11...]
        guard let zoneStart = rest.firstIndex(where: { $0 == UInt8(ascii: "Z") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }) else {
            return nil
        }
        let zone = Array(b[zoneStart...])
        rest = b[11..<zoneStart]
        guard parseTime(rest) else { return nil }
        if zone == [UInt8(ascii: "Z")] { return FHIRDateTime(year: year, month: month, day: day, precision: .time) }
        guard zone.count == 6, zone[3] == UInt8(ascii: ":"),
              let hh = Int(String(decoding: zone[1..<3], as: UTF8.self)), zone[1...2].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let mm = Int(String(decoding: zone[4..<6], as: UTF8.self)), zone[4...5].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              hh < 14 ? mm < 60 : (hh == 14 && mm == 0)
        else { return nil }
        return FHIRDateTime(year: year, month: month, day: day, precision: .time)
    }

    /// `hh:mm:ss` with optional fraction, no zone.
    static func parseTime(_ t: ArraySlice<UInt8>) -> Bool {
        let t = Array(t)
        guard t.count >= 8, t[2] == UInt8(ascii: ":"), t[5] == UInt8(ascii: ":") else { return false }
        func two(_ i: Int) -> Int? {
            guard t[i] >= 0x30, t[i] <= 0x39, t[i + 1] >= 0x30, t[i + 1] <= 0x39 else { return nil }
            return Int(t[i] - 0x30) * 10 + Int(t[i + 1] - 0x30)
        }
        guard let h = two(0), h < 24, let m = two(3), m < 60, let s = two(6), s <= 60 else { return false }
        if t.count == 8 { return true }
        return t[8] == UInt8(ascii: ".") && t.count > 9 && t[9...].allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
