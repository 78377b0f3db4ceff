/// Swedish local time (Europe/Stockholm: CET, CEST from the last Sunday of March to the last
/// Sunday of October at 01:00 UTC), computed here so slot times do not depend on the host's tzdata.
public enum SwedishTime {
    /// Milliseconds since 1970 of a local wall-clock time.
    public static func instant(day: Int, minuteOfDay: Int) -> Int64 {
        utc(fromLocal: Int64(day) * 86_400_000 + Int64(minuteOfDay) * 60_000)
    }

    /// The instant of a Swedish wall-clock time given as ms since 1970 as if it were UTC (in the spring gap the
    /// hour after, in the autumn overlap the summer-time one).
    public static func utc(fromLocal local: Int64) -> Int64 {
        local - (isSummerTime(local - 7_200_000) ? 7_200_000 : 3_600_000)
    }

    /// The offset from UTC at an instant, in minutes (60 or 120).
    public static func offsetMinutes(at millis: Int64) -> Int { isSummerTime(millis) ? 120 : 60 }

    /// A FHIR instant with the Swedish offset, e.g. `2026-11-23T08:00:00+01:00`.
    public static func format(_ millis: Int64) -> String {
        let offset = offsetMinutes(at: millis)
        let local = millis + Int64(offset) * 60_000
        let text = Instant.format(milliseconds: local)
        return String(text.prefix(19)) + (offset == 120 ? "+02:00" : "+01:00")
    }

    /// The local calendar day (days since 1970) of an instant.
    public static func day(of millis: Int64) -> Int {
        let local = millis + Int64(offsetMinutes(at: millis)) * 60_000
        return Int((local >= 0 ? local : local - 86_399_999) / 86_400_000)
    }

    /// Today in Sweden, as days since 1970.
    public static var today: Int { day(of: Instant.now()) }

    /// Weekday of a day since 1970: 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday).
    public static func weekday(_ day: Int) -> Int { ((day % 7) + 7 + 3) % 7 + 1 }

    public static func isSummerTime(_ millis: Int64) -> Bool {
        let day = Int(millis / 86_400_000)
        let year = CivilCalendar.date(fromDaysSince1970: day).year
        func lastSunday(month: Int) -> Int {
            var d = CivilCalendar.daysSince1970(year: year, month: month, day: 31)
            while weekday(d) != 7 { d -= 1 }
            return d
        }
        let start = Int64(lastSunday(month: 3)) * 86_400_000 + 3_600_000
        let end = Int64(lastSunday(month: 10)) * 86_400_000 + 3_600_000
        return millis >= start && millis < end
    }

    /// `2026-11-23` → days since 1970.
    public static func parseDay(_ text: String) -> Int? {
        guard let date = FHIRDateTime.parse(text, allowTime: false), date.precision == .day else { return nil }
        return CivilCalendar.daysSince1970(year: date.year, month: date.month, day: date.day)
    }

    /// The first instant of a Swedish day with its offset (`2026-11-23T00:00:00+01:00`), for "from this day on" searches.
    /// A bare day is the Swedish day too, but FHIR's `ge` on a day asks a period to reach past the day's end, so a stay
    /// that ended during it would be missed; `ge` an instant finds everything from that instant on.
    public static func dayStart(_ day: Int) -> String { format(instant(day: day, minuteOfDay: 0)) }

    /// Days since 1970 → `2026-11-23`.
    public static func formatDay(_ day: Int) -> String { String(Instant.format(milliseconds: Int64(day) * 86_400_000).prefix(10)) }
}
