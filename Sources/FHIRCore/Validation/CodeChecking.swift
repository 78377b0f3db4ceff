/// What checking a coded value needs from a terminology service: whether a code system is held,
/// whether a code exists in it, and whether a code is in a value set. The terminology service
/// answers it; the gateway's code rule asks it, so the rule does not depend on the service's target.
public protocol CodeChecking: Sendable {
    /// The title of a code system the server holds, or nil when it holds none by that URL.
    func codeSystemTitle(_ system: String) -> String?
    /// Why a code is not valid in a held code system (unknown, inactive), or nil when it is.
    func problem(system: String, code: String) -> String?
    /// Whether a code is in a value set.
    func isMember(valueSet: String, system: String, code: String) throws(FHIRError) -> Bool
    /// The title of a value set, for messages.
    func valueSetTitle(_ url: String) -> String?
}
