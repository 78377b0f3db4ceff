import FHIRCore
import Foundation

/// A decision-support service a module offers (beslutsstöd), in the shape of CDS Hooks 2.0: listed in
/// discovery, called at a hook with its context, answered with cards; the user's decision on each card
/// comes back as feedback. The interface (`/cds-services`) speaks the protocol; the module only decides.
public protocol DecisionSupportService: Sendable {
    var descriptor: DecisionSupportDescriptor { get }
    /// The cards for one hook call. Reads go through `session` (authorised and audited as the caller's).
    func call(_ call: HookCall, session: PatientDataSession) async throws -> [DecisionCard]
    /// Records what the user did with cards this service issued (accepted, overridden and why).
    func feedback(_ feedback: [HookFeedback], session: PatientDataSession) async throws
}

/// What discovery says of a service.
public struct DecisionSupportDescriptor: Sendable {
    public var id: String
    public var hook: String
    public var title: String
    public var description: String
    /// Prefetch templates by key (`{{context.patientId}}` and the like).
    public var prefetch: [(key: String, template: String)]

    public init(id: String, hook: String, title: String, description: String, prefetch: [(key: String, template: String)] = []) {
        self.id = id
        self.hook = hook
        self.title = title
        self.description = description
        self.prefetch = prefetch
    }
}

/// One call of a hook, as the interface read it.
public struct HookCall: Sendable {
    public var hook: String
    public var hookInstance: String
    /// The hook's context (`patientId`, `userId`, `draftOrders`, `selections` …).
    public var context: JSONObject
    /// What the client fetched ahead, if it did; services read the record themselves when it did not.
    public var prefetch: JSONObject?

    public init(hook: String, hookInstance: String, context: JSONObject, prefetch: JSONObject? = nil) {
        self.hook = hook
        self.hookInstance = hookInstance
        self.context = context
        self.prefetch = prefetch
    }

    public var patientID: String? { context["patientId"]?.stringValue }
}

/// A card (kort): what the user sees, with the rule's source and the reasons an override may give.
public struct DecisionCard: Sendable {
    /// info | warning | critical
    public enum Indicator: String, Sendable { case info, warning, critical }

    public var uuid: String
    public var summary: String
    public var detail: String?
    public var indicator: Indicator
    /// The rule's source and data version, shown on the card.
    public var sourceLabel: String
    public var sourceURL: String?
    /// A coded topic (`system|code`), so feedback and the stored decision say what kind of check it was.
    public var topic: (system: String, code: String, display: String)?
    /// Codings a user may choose from when overriding.
    public var overrideReasons: [(system: String, code: String, display: String)]
    /// Records implicated besides the order itself (the other drug, the allergy, the lab value).
    public var implicated: [String]

    public init(uuid: String = UUID().uuidString.lowercased(), summary: String, detail: String? = nil, indicator: Indicator, sourceLabel: String,
                sourceURL: String? = nil, topic: (system: String, code: String, display: String)? = nil,
                overrideReasons: [(system: String, code: String, display: String)] = [], implicated: [String] = []) {
        self.uuid = uuid
        self.summary = summary
        self.detail = detail
        self.indicator = indicator
        self.sourceLabel = sourceLabel
        self.sourceURL = sourceURL
        self.topic = topic
        self.overrideReasons = overrideReasons
        self.implicated = implicated
    }
}

/// The user's decision on one card.
public struct HookFeedback: Sendable {
    /// accepted | overridden
    public enum Outcome: String, Sendable { case accepted, overridden }

    public var card: String
    public var outcome: Outcome
    public var overrideReason: (system: String?, code: String?, display: String?)?
    public var userComment: String?
    public var outcomeTimestamp: String

    public init(card: String, outcome: Outcome, overrideReason: (system: String?, code: String?, display: String?)? = nil,
                userComment: String? = nil, outcomeTimestamp: String) {
        self.card = card
        self.outcome = outcome
        self.overrideReason = overrideReason
        self.userComment = userComment
        self.outcomeTimestamp = outcomeTimestamp
    }
}
