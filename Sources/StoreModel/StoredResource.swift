import FHIRCore
import Synchronization

/// One version of a resource as the store holds it: its bytes are exactly
/// what is served, so reads never re-encode.
public struct StoredResource: Sendable {
    /// How this version came to be, for history bundles (`request.method`).
    public enum Method: String, Sendable {
        case create = "POST"
        case update = "PUT"
        case delete = "DELETE"
    }

    public let type: String
    public let id: String
    public let versionId: Int
    /// Milliseconds since 1970, UTC.
    public let lastUpdated: Int64
    public let method: Method
    /// The resource JSON with `meta.versionId` and `meta.lastUpdated`; empty for a deletion.
    public let json: [UInt8]
    /// The store-wide order of this version, used as the history paging cursor (0 when not yet known).
    public var sequence: Int64 = 0
    /// The patient whose compartment holds this version (the Patient's own id for a Patient); nil outside any.
    public var patientID: String?
    /// One request reads a resource's members many times (the access decision, its unit, the module,
    /// each comparison of a sort), and the bytes never change: they are parsed once.
    private let parsed = ParsedJSON()

    public init(type: String, id: String, versionId: Int, lastUpdated: Int64, method: Method, json: [UInt8], sequence: Int64 = 0,
                patientID: String? = nil) {
        self.sequence = sequence
        self.patientID = patientID
        self.type = type
        self.id = id
        self.versionId = versionId
        self.lastUpdated = lastUpdated
        self.method = method
        self.json = json
    }

    /// The stored JSON parsed; an empty object for a deletion.
    public var object: JSONObject { parsed.object(of: json) }

    public var key: ResourceKey { ResourceKey(type: type, id: id) }
    public var isDeleted: Bool { method == .delete }
    public var lastUpdatedInstant: String { Instant.format(milliseconds: lastUpdated) }
}

/// The parse of one version's bytes, made at the first reading.
final class ParsedJSON: Sendable {
    private let cached = Mutex<JSONObject?>(nil)

    func object(of json: [UInt8]) -> JSONObject {
        if let object = cached.withLock({ $0 }) { return object }
        var object = JSONObject()
        if !json.isEmpty, case .object(let parsed)? = try? JSONParser.parse(json, limits: .serverWritten) {
            object = parsed
        }
        cached.withLock { $0 = object }
        return object
    }
}
