import Foundation

/// A FHIRPath Date, DateTime or Time with the precision it was written in.
///
/// FHIRPath compares partial dates by their common precision and answers
/// "unknown" (empty) when one is more precise than the other, so the
/// components stay optional rather than being filled in.
public struct FHIRPathTemporal: Sendable, Hashable {
    /// Which of the three temporal types this is.
    public enum Kind: Sendable, Hashable { case date, dateTime, time }

    public var kind: Kind
    public var year = 0, month: Int?, day: Int?
    public var hour: Int?, minute: Int?, second: Int?, millisecond: Int?
    /// Zone offset in minutes; nil when the value has none.
    public var zoneMinutes: Int?
    /// The number of digits of fraction written (to echo `.5` and `.000` back).
    public var fractionDigits = 0

    /// Precision as a count of components: year 1 … second (with fraction) 6; times count from hour.
    public var precision: Int {
        if kind == .time { return [hour, minute, second].prefix { $0 != nil }.count + 3 }
        return 1 + [month, day, hour, minute, second].prefix { $0 != nil }.count
    }

    /// Parses the FHIRPath literal form without `@` (`2015-02`, `2015-02-04T14:34:28.123+09:00`, `T14:34`)
    /// and FHIR's JSON forms (`2015-02-04T14:34:28Z`).
    public static func parse(_ text: String, kind requested: Kind? = nil) -> FHIRPathTemporal? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ count: Int) -> Int? {
            guard i + count <= b.count else { return nil }
            var value = 0
            for k in i..<(i + count) {
                guard b[k] >= 0x30, b[k] <= 0x39 else { return nil }
                value = value * 10 + Int(b[k] - 0x30)
            }
            i += count
            return value
        }
        func peek(_ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }
        var t = FHIRPathTemporal(kind: .date)
        func parseTime() -> Bool {
            guard let h = number(2), h < 24 else { return false }
            t.hour = h
            guard peek(":") else { return true }
            i += 1
            guard let m = number(2), m < 60 else { return false }
            t.minute = m
            guard peek(":") else { return true }
            i += 1
            guard let s = number(2), s < 60 else { return false }
            t.second = s
            if peek(".") {
                i += 1
                let start = i
                while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
                guard i > start else { return false }
                let digits = String(decoding: b[start..<i], as: UTF8.self)
                t.fractionDigits = digits.count
                let padded = (digits + "000").prefix(3)
                t.millisecond = Int(padded)
            }
            return true
        }
        func parseZone() -> Bool {
            if peek("Z") { i += 1; t.zoneMinutes = 0; return true }
            if peek("+") || peek("-") {
                let sign = peek("-") ? -1 : 1
                i += 1
                guard let hh = number(2), peek(":") else { return false }
                i += 1
                guard let mm = number(2) else { return false }
                t.zoneMinutes = sign * (hh * 60 + mm)
            }
            return true
        }
        if peek("T") {
            i += 1
            t.kind = .time
            guard parseTime(), i == b.count else { return nil }
            return requested == nil || requested == .time ? t : nil
        }
        guard let year = number(4) else { return nil }
        t.year = year
        if peek("-") {
            i += 1
            guard let month = number(2), (1...12).contains(month) else { return nil }
            t.month = month
            if peek("-") {
                i += 1
                guard let day = number(2), day >= 1, day <= FHIRDateTime.daysIn(month: month, year: year) else { return nil }
                t.day = day
            }
        }
        if peek("T") {
            i += 1
            t.kind = .dateTime
            if i < b.count {
                guard t.day != nil, parseTime(), parseZone() else { return nil }
            }
        }
        guard i == b.count else { return nil }
        if requested == .dateTime, t.kind == .date { t.kind = .dateTime }
        if let requested, requested != t.kind { return nil }
        return t
    }

    /// The FHIRPath literal text, without `@`.
    public var literal: String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var s = ""
        if kind != .time {
            s = String(format: "%04d", year)
            if let month { s += "-" + two(month) }
            if let day { s += "-" + two(day) }
            if kind == .date { return s }
        }
        s += "T"
        guard let hour else { return s }
        s += two(hour)
        if let minute { s += ":" + two(minute) }
        if let second {
            s += ":" + two(second)
            if let millisecond, fractionDigits > 0 || millisecond != 0 { s += "." + String(format: "%03d", millisecond) }
        }
        if kind == .dateTime, let zone = zoneMinutes {
            if zone == 0 { s += "Z" } else {
                let a = abs(zone)
                s += (zone < 0 ? "-" : "+") + two(a / 60) + ":" + two(a % 60)
            }
        }
        return s
    }

    /// Components from year to second-with-milliseconds, normalised to UTC when a zone is known and the time is given.
    private func comparableComponents(_ zoneDefault: Int?) -> [Int?] {
        if kind == .time {
            return [hour, minute, second.map { $0 * 1000 + (millisecond ?? 0) }]
        }
        var c = self
        if hour != nil, let zone = zoneMinutes ?? zoneDefault, zone != 0 {
            c = c.adding(minutes: -zone)
        }
        return [c.year, c.month, c.day, c.hour, c.minute, c.second.map { $0 * 1000 + (c.millisecond ?? 0) }]
    }

    /// Orders two values; nil when their precisions differ and the common part is equal (unknown).
    public func compare(to other: FHIRPathTemporal) -> ComparisonResult? {
        guard (kind == .time) == (other.kind == .time) else { return nil }
        // A time with a zone against one without cannot be ordered.
        if kind != .time, hour != nil, other.hour != nil, (zoneMinutes == nil) != (other.zoneMinutes == nil) { return nil }
        let a = comparableComponents(other.zoneMinutes), b = other.comparableComponents(zoneMinutes)
        for (x, y) in zip(a, b) {
            switch (x, y) {
            case let (x?, y?):
                if x < y { return .orderedAscending }
                if x > y { return .orderedDescending }
            case (nil, nil):
                return .orderedSame
            default:
                return nil
            }
        }
        return .orderedSame
    }

    /// Adds minutes, carrying into hours, days, months and years.
    func adding(minutes: Int) -> FHIRPathTemporal { adding(milliseconds: minutes * 60_000) }

    public func adding(milliseconds: Int) -> FHIRPathTemporal {
        var c = self
        let dayNumber = CivilCalendar.daysSince1970(year: year, month: month ?? 1, day: day ?? 1)
        var total = ((hour ?? 0) * 3600 + (minute ?? 0) * 60 + (second ?? 0)) * 1000 + (millisecond ?? 0) + milliseconds
        var days = dayNumber + Int((Double(total) / 86_400_000).rounded(.down))
        total -= Int((Double(total) / 86_400_000).rounded(.down)) * 86_400_000
        if kind == .time { days = dayNumber }
        let (y, m, d) = CivilCalendar.date(fromDaysSince1970: days)
        if kind != .time { c.year = y; if c.month != nil { c.month = m }; if c.day != nil { c.day = d } }
        if c.hour != nil { c.hour = total / 3_600_000 }
        if c.minute != nil { c.minute = total / 60_000 % 60 }
        if c.second != nil { c.second = total / 1000 % 60 }
        if c.millisecond != nil || (milliseconds % 1000 != 0 && c.second != nil) {
            c.millisecond = total % 1000
            c.fractionDigits = max(c.fractionDigits, 3)
        }
        return c
    }

    func adding(months: Int) -> FHIRPathTemporal {
        var c = self
        let index = year * 12 + (month ?? 1) - 1 + months
        c.year = index / 12
        if c.month != nil { c.month = index % 12 + 1 }
        if let day = c.day, let month = c.month { c.day = min(day, FHIRDateTime.daysIn(month: month, year: c.year)) }
        return c
    }

    /// The earliest and latest instants (ms since 1970, UTC) this value can mean. A value without a zone (a date,
    /// `2026-12-07`) is Swedish local time, the server's zone, as FHIR search asks: `date=2026-12-07` is the day as
    /// it is here, from 00:00 Swedish time, and a stored `birthDate` is indexed as the same day.
    public var range: (low: Int64, high: Int64) {
        let days = Int64(CivilCalendar.daysSince1970(year: year, month: month ?? 1, day: day ?? 1))
        let startOfDay = days * 86_400_000
        func utc(_ wallClock: Int64) -> Int64 {
            guard let zone = zoneMinutes else { return SwedishTime.utc(fromLocal: wallClock) }
            return wallClock - Int64(zone) * 60_000
        }
        let low = utc(startOfDay + Int64((hour ?? 0) * 3_600_000 + (minute ?? 0) * 60_000 + (second ?? 0) * 1000 + (millisecond ?? 0)))
        var highTemporal = self
        if month == nil {
            highTemporal.month = 12; highTemporal.day = 31
        } else if day == nil {
            highTemporal.day = FHIRDateTime.daysIn(month: month!, year: year)
        }
        let highDays = Int64(CivilCalendar.daysSince1970(year: highTemporal.year, month: highTemporal.month ?? 12, day: highTemporal.day ?? 31))
        let h = hour ?? 23, m = minute ?? 59, s = second ?? 59
        let ms = millisecond ?? (second == nil ? 999 : (fractionDigits > 0 ? millisecond ?? 0 : 999))
        let high = utc(highDays * 86_400_000 + Int64(h * 3_600_000 + m * 60_000 + s * 1000 + ms))
        return (low, high)
    }
}
