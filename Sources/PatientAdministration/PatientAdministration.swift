import Access

/// The patient administration module (patientadministration): registration, care contacts and
/// stays, appointment books, waiting lists, referrals and the cashier. Each part works on a
/// gateway session, so every read and write is authorised and audited like any other.
public struct PatientAdministration: Sendable {
    public let settings: AdministrationSettings
    public let registry: PatientRegistry
    public let contacts: CareContacts
    public let book: AppointmentBook
    public let waitingList: WaitingList
    public let referrals: Referrals
    public let cashier: Cashier

    public init(settings: AdministrationSettings = AdministrationSettings()) {
        self.settings = settings
        registry = PatientRegistry(settings: settings)
        contacts = CareContacts(settings: settings)
        book = AppointmentBook(settings: settings)
        waitingList = WaitingList(settings: settings)
        referrals = Referrals(settings: settings)
        cashier = Cashier(settings: settings)
    }

    /// The rules this module adds to every write, whichever interface it comes through.
    public static var rules: [any WriteRule] { [UniquePatientIdentityRule(), ReferralOwnerRule()] }
}
