import Foundation

/// Proleptic Gregorian date arithmetic in UTC, without Foundation's Calendar
/// (which is slow on Linux and needs a time-zone database on hot paths).
public enum CivilCalendar {
    /// Howard Hinnant's days-to-civil algorithm.
    public static func date(fromDaysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Howard Hinnant's civil-to-days algorithm.
    public static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func secondsSince1970() -> Double { Date().timeIntervalSince1970 }

    /// Today's date in UTC.
    public static func today() -> (year: Int, month: Int, day: Int) {
        date(fromDaysSince1970: Int(secondsSince1970() / 86_400))
    }
}
