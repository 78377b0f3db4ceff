import FHIRCore
import Foundation
import Store
import StoreModel

extension FHIR {
    /// A note (Annotation) by the acting principal.
    public static func annotation(_ text: String, author: Principal, at time: Int64) -> JSONValue {
        object([("authorReference", author.authorReference), ("time", .string(Instant.format(milliseconds: time))), ("text", .string(text))])
    }
}

extension Principal {
    /// The reference that names who acted: the assignment (PractitionerRole) when there is one.
    public var authorReference: JSONValue {
        switch kind {
        case .practitioner: if let assignment { return FHIR.reference("PractitionerRole", assignment.id, display: assignment.unitName) }
        case .patient: break
        case .system: return FHIR.object([("display", .string("system client \(id)"))])
        }
        return .object(JSONObject([("reference", .string(reference))]))
    }
}

/// Reads and searches through the gateway session, as a workflow needs them.
public struct Records: Sendable {
    public let session: PatientDataSession

    public init(session: PatientDataSession) { self.session = session }

    /// The current version, or a 404 naming what is missing.
    public func require(_ type: String, _ id: String, role: String? = nil) async throws -> StoredResource {
        guard let stored = try await session.read(type: type, id: id), !stored.isDeleted else {
            throw FHIRError(.notFound, code: .notFound, "\(role.map { "\($0): " } ?? "")\(type)/\(id) does not exist", expression: role.map { [$0] } ?? [])
        }
        return stored
    }

    /// The current version if it exists and may be seen.
    public func optional(_ type: String, _ id: String) async throws -> StoredResource? {
        guard let stored = try await session.read(type: type, id: id), !stored.isDeleted else { return nil }
        return stored
    }

    /// One search page of visible matches.
    public func search(_ type: String, _ parameters: [(name: String, value: String)], limit: Int = 200) async throws -> [StoredResource] {
        let query = try SearchQuery.parse(type: type, parameters: parameters, strict: true)
        return try await session.search(query, limit: limit).resources
    }

    /// Every visible match, page by page in id order, up to `maximum` (an explicit limit, reported when
    /// reached). Callers sort what they get: keyset paging by id is what stays exact across pages.
    public func all(_ type: String, _ parameters: [(name: String, value: String)], maximum: Int) async throws -> [StoredResource] {
        var query = try SearchQuery.parse(type: type, parameters: parameters.filter { $0.name != "_sort" }, strict: true)
        var found: [StoredResource] = []
        while true {
            let page = try await session.search(query, limit: min(500, maximum + 1 - found.count))
            found += page.resources
            if found.count > maximum {
                throw FHIRError(.tooLarge, code: .tooCostly, "more than \(maximum) \(type) resources match; narrow the request")
            }
            guard page.hasMore, let last = page.resources.last else { return found }
            query.afterID = last.id
        }
    }
}

/// Retries a read-decide-write step when a concurrent writer changed what it read (If-Match
/// failed or an id was taken), so two clerks acting at once both get a correct answer.
public func retryingConflicts<T: Sendable>(attempts: Int = 4, _ body: () async throws -> T) async throws -> T {
    var attempt = 0
    while true {
        attempt += 1
        do {
            return try await body()
        } catch let error as FHIRError where attempt < attempts && isConcurrencyConflict(error) {
            continue
        } catch let failure as CommitFailure where attempt < attempts && isConcurrencyConflict(failure.error) {
            continue
        }
    }
}

/// A version mismatch or a taken id (someone else wrote first), as opposed to a refusal by a rule
/// (code `business-rule`), which a retry would only repeat.
public func isConcurrencyConflict(_ error: FHIRError) -> Bool {
    (error.category == .preconditionFailed || error.category == .conflict) && (error.has(.conflict) || error.has(.duplicate))
}

/// The same for any error a commit throws (the store wraps the failing write's error).
public func isConcurrencyConflict(_ error: any Error) -> Bool {
    if let error = error as? FHIRError { return isConcurrencyConflict(error) }
    if let failure = error as? CommitFailure { return isConcurrencyConflict(failure.error) }
    return false
}

/// A refusal by a workflow rule: 409 with code `business-rule`, naming the rule.
public func refused(_ message: String, expression: [String] = [], text: String? = nil) -> FHIRError {
    FHIRError(.conflict, code: .businessRule, message, expression: expression, text: text)
}

