
/// FHIR `instant` text for the store's millisecond timestamps.
public enum Instant {
    public static func format(milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let millis = Int(milliseconds - seconds * 1000)
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (y, m, d) = CivilCalendar.date(fromDaysSince1970: days)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    /// Parses a FHIR instant or dateTime (to the second or finer, with zone) to milliseconds.
    public static func parse(_ text: String) -> Int64? {
        guard let value = FHIRDateTime.parse(text, allowTime: true) else { return nil }
        let days = Int64(CivilCalendar.daysSince1970(year: value.year, month: value.month, day: value.day))
        var millis = days * 86_400_000
        guard value.precision == .time else { return millis }
        let b = Array(text.utf8)
        func two(_ i: Int) -> Int64 { Int64(b[i] - 0x30) * 10 + Int64(b[i + 1] - 0x30) }
        millis += (two(11) * 3600 + two(14) * 60 + two(17)) * 1000
        var i = 19
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                millis += Int64(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
        }
        if i < b.count, b[i] != UInt8(ascii: "Z") {
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            let offset = (two(i + 1) * 60 + two(i + 4)) * 60_000
            millis -= sign * offset
        }
        return millis
    }

    public static func now() -> Int64 {
        Int64((CivilCalendar.secondsSince1970() * 1000).rounded(.down))
    }
}
