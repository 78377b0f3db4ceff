import Access
import FHIRCore
import StoreModel

/// The limits and periods of patient administration; each is a `KARNA_*` setting.
public struct AdministrationSettings: Sendable {
    /// A referral not assessed within this many days is overdue (flagged in both inboxes).
    public var referralAssessmentDays = 7
    /// A referral nobody has acted on for this many days raises an alarm (logged, listed by `$referral-alarms`).
    public var referralAlarmDays = 14
    /// The national care guarantee (vårdgaranti) in days per stage.
    public var careGuarantee = CareGuarantee.national
    /// Reminders go out this many hours before a booked appointment.
    public var reminderHours = 24
    /// At most this many slots per `$generate-slots` call.
    public var maximumSlotsPerGeneration = 3_000
    /// At most this many resources move in one merge of a reservnummer record.
    public var maximumMergeResources = 20_000

    public init() {}
}

/// Vårdgarantin (HSL 9 kap. 1 §, HSF 6 kap.): days allowed per stage, counted from the
/// day the stage starts (the contact, the referral's arrival, the decision to treat).
public struct CareGuarantee: Sendable, Equatable {
    public enum Stage: String, Sendable, CaseIterable {
        /// Kontakt med primärvården samma dag.
        case contact = "kontakt"
        /// Medicinsk bedömning i primärvården inom 3 dagar.
        case assessment = "bedomning"
        /// Besök i specialiserad vård inom 90 dagar.
        case specialistVisit = "besok"
        /// Behandling inom 90 dagar från beslut.
        case treatment = "behandling"

        public var display: String {
            switch self {
            case .contact: "Kontakt samma dag"
            case .assessment: "Medicinsk bedömning i primärvården"
            case .specialistVisit: "Besök i specialiserad vård"
            case .treatment: "Behandling"
            }
        }
    }

    public var days: [Stage: Int]

    /// The national limits: 0, 3, 90 and 90 days.
    public static let national = CareGuarantee(days: [.contact: 0, .assessment: 3, .specialistVisit: 90, .treatment: 90])

    /// The last day allowed (days since 1970) for a stage starting on `startDay`.
    public func dueDay(_ stage: Stage, startDay: Int) -> Int { startDay + (days[stage] ?? 90) }
}

/// Swedish local time (Europe/Stockholm: CET, CEST from the last Sunday of March to the last
/// Sunday of October at 01:00 UTC), computed here so slot times do not depend on the host's tzdata.
public enum SwedishTime {
    /// Milliseconds since 1970 of a local wall-clock time.
    public static func instant(day: Int, minuteOfDay: Int) -> Int64 {
        let local = Int64(day) * 86_400_000 + Int64(minuteOfDay) * 60_000
        let summer = isSummerTime(local - 7_200_000)
        return local - (summer ? 7_200_000 : 3_600_000)
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

    static func isSummerTime(_ millis: Int64) -> Bool {
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

    /// Days since 1970 → `2026-11-23`.
    public static func formatDay(_ day: Int) -> String { String(Instant.format(milliseconds: Int64(day) * 86_400_000).prefix(10)) }
}

extension AdministrationSettings {
    /// Patient administration's settings, declared once (flag, variable, file key, help and README come from here).
    public enum Keys {
        public static let referralAssessmentDays = Setting.integer("referral-assessment-days", default: 7, 1...365,
                                                                   "days within which a referral must be assessed before it is flagged overdue")
        public static let referralAlarmDays = Setting.integer("referral-alarm-days", default: 14, 1...365,
                                                              "days without any action on a referral before it raises an alarm")
        public static let reminderHours = Setting.integer("reminder-hours", default: 24, 1...336, "hours before a booked time that the patient is reminded")
        public static let maxSlotsPerGeneration = Setting.integer("max-slots-per-generation", default: 3_000, 1...100_000,
                                                                  "most slots one $generate-slots call makes")
        public static let maxMergeResources = Setting.integer("max-merge-resources", default: 20_000, 1...1_000_000, "most records one patient merge moves")
        public static let all = [referralAssessmentDays, referralAlarmDays, reminderHours, maxSlotsPerGeneration, maxMergeResources]
    }

    /// The settings as the server's reader resolves them.
    public init(reading settings: any SettingsReader) throws {
        self.init()
        referralAssessmentDays = try settings.integer(Keys.referralAssessmentDays)
        referralAlarmDays = try settings.integer(Keys.referralAlarmDays)
        reminderHours = try settings.integer(Keys.reminderHours)
        maximumSlotsPerGeneration = try settings.integer(Keys.maxSlotsPerGeneration)
        maximumMergeResources = try settings.integer(Keys.maxMergeResources)
    }
}
