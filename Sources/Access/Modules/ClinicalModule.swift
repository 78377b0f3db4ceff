import FHIRCore

/// What a clinical module (a room: patient administration, documentation, later medication and
/// results) hands the platform at wiring time. The composition root lists the modules once; the
/// gateway takes their write rules, record semantics, code bindings and chart parts, the FHIR API
/// their operations. Access
/// itself names no clinical resource type: what makes a care relationship is the modules' word.
public protocol ClinicalModule: Sendable {
    /// The module's name in logs, docs and the OperationDefinitions it publishes.
    var name: String { get }
    /// The FHIR operations it answers (the API routes by them and lists them in its CapabilityStatement).
    var operations: [OperationDescriptor] { get }
    /// Invariants that hold whichever interface writes (run by the gateway on every write).
    var rules: [any WriteRule] { get }
    /// What its records mean to the Patientdatalag rules.
    var records: RecordSemantics { get }
    /// Its parts of the chart overview and the patient banner.
    var chart: [ChartPart] { get }
    /// Which coded elements of its records are checked against the terminology.
    var codes: CodeBindings { get }
    /// What it puts on the units' downtime lists (driftstoppsutskrift).
    var downtime: [DowntimePart] { get }
    /// Its decision-support services (CDS Hooks), served under `/cds-services`.
    var decisionSupport: [any DecisionSupportService] { get }
    /// Its long-running operations' jobs (an operation answering `.accepted`), asked at `[base]/_jobs/<owner>/…`.
    var jobs: (any AsyncJobs)? { get }
    /// Answers one of its `operations` (the interface routes only those here).
    func answer(_ call: OperationCall) async throws -> OperationAnswer
    /// Writes its demo data for `karna seed`, once (a second seed finds it there and writes nothing);
    /// answers the lines the seed's summary prints.
    func seedDemo(_ demo: DemoContext) async throws -> [String]
}

extension ClinicalModule {
    public var operations: [OperationDescriptor] { [] }
    public var rules: [any WriteRule] { [] }
    public var records: RecordSemantics { RecordSemantics() }
    public var chart: [ChartPart] { [] }
    public var codes: CodeBindings { CodeBindings() }
    public var downtime: [DowntimePart] { [] }
    public var decisionSupport: [any DecisionSupportService] { [] }
    public var jobs: (any AsyncJobs)? { nil }
    public func answer(_ call: OperationCall) async throws -> OperationAnswer { throw call.unsupported() }
    public func seedDemo(_ demo: DemoContext) async throws -> [String] { [] }
}

/// What a module's records mean to the access rules: which make a care relationship (vårdrelation)
/// at a unit and until when, which unit answers for a record, and which are sent to a unit.
public struct RecordSemantics: Sendable {
    /// Grounds for a care relationship, looked for in this order; the first that holds is the ground.
    public var grounds: [CareRelationshipGround]
    /// Per type: the unit a record belongs to when it carries no unit tag (a care contact's serving unit).
    public var recordUnit: [String: @Sendable (JSONObject) -> String?]
    /// Per type: units that also answer for a record and may change it (a stay's current ward).
    public var responsibleUnits: [String: @Sendable (JSONObject) -> Set<String>]
    /// Per type: the units a record is sent to or from, when it is one that is sent (a referral and its
    /// task): those units read and answer it without consent, as the sender disclosed it to them. A
    /// record of the type that is not sent (a lab order) answers nil and is decided as any other.
    public var addressedTo: [String: @Sendable (JSONObject) -> Set<String>?]
    /// Types whose records show where the patient has been cared for (`$access` names those providers).
    public var careContactTypes: [String]

    public init(grounds: [CareRelationshipGround] = [], recordUnit: [String: @Sendable (JSONObject) -> String?] = [:],
                responsibleUnits: [String: @Sendable (JSONObject) -> Set<String>] = [:],
                addressedTo: [String: @Sendable (JSONObject) -> Set<String>?] = [:], careContactTypes: [String] = []) {
        self.grounds = grounds
        self.recordUnit = recordUnit
        self.responsibleUnits = responsibleUnits
        self.addressedTo = addressedTo
        self.careContactTypes = careContactTypes
    }

    /// The modules' semantics together, in the order the composition root lists the modules.
    public static func combining(_ all: [RecordSemantics]) -> RecordSemantics {
        var combined = RecordSemantics()
        for semantics in all {
            combined.grounds += semantics.grounds
            combined.recordUnit.merge(semantics.recordUnit) { first, _ in first }
            combined.responsibleUnits.merge(semantics.responsibleUnits) { first, _ in first }
            combined.addressedTo.merge(semantics.addressedTo) { first, _ in first }
            combined.careContactTypes += semantics.careContactTypes
        }
        return combined
    }
}

/// One kind of record that makes a care relationship at a unit.
public struct CareRelationshipGround: Sendable {
    /// How the gateway looks for such a record.
    public enum Look: Sendable {
        /// A search with these parameters, the store setting `patient` to each patient in turn.
        /// Given `Patient/[first id]`, `Organization/[unit]` and the earliest date that still counts.
        case search(@Sendable (_ patient: String, _ unit: String, _ since: String) -> [(name: String, value: String)])
        /// For a type with no search parameter naming the unit: the records are read by these
        /// parameters (given the patients' references, comma-joined) and each is asked whether it
        /// grounds a relationship at the unit (`Organization/[unit]`); it answers the patient's id.
        case scan(parameters: @Sendable (_ patients: String) -> [(name: String, value: String)],
                  grounds: @Sendable (_ record: JSONObject, _ unit: String) -> String?)
    }

    public var type: String
    public var look: Look
    /// Whether creating such a record at one's own unit opens the relationship (a new care contact
    /// does; a referral in the unit's inbox is a ground once received, not by being written).
    public var opensOnCreate: Bool

    public init(_ type: String, opensOnCreate: Bool, _ look: Look) {
        self.type = type
        self.look = look
        self.opensOnCreate = opensOnCreate
    }
}
