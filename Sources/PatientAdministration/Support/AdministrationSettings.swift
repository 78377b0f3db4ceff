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
