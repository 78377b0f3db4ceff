extension JSONObject {
    /// `resourceType`, when the object is a resource.
    public var resourceType: String? { self["resourceType"]?.stringValue }

    /// The logical id, when present.
    public var id: String? { self["id"]?.stringValue }

    /// The resource with `id` and `meta.versionId`/`meta.lastUpdated` set as the
    /// server decides them, keeping `resourceType`, `id`, `meta` first and every
    /// other member as it was.
    public func stamped(id: String, versionId: Int, lastUpdated: String) -> JSONObject {
        var copy = self
        copy.set("resourceType", self["resourceType"] ?? .null, insertingAt: 0)
        copy.set("id", .string(id), insertingAt: 1)
        var meta = self["meta"]?.objectValue ?? JSONObject()
        meta.set("versionId", .string(String(versionId)), insertingAt: 0)
        meta.set("lastUpdated", .string(lastUpdated), insertingAt: 1)
        copy.set("meta", .object(meta), insertingAt: 2)
        return copy
    }

    /// The resource without the members the server owns, for comparing content.
    public var withoutServerMeta: JSONObject {
        var copy = self
        if var meta = self["meta"]?.objectValue {
            meta["versionId"] = nil
            meta["lastUpdated"] = nil
            copy["meta"] = meta.isEmpty ? nil : .object(meta)
        }
        return copy
    }
}

extension JSONValue {
    /// Calls `body` with every `reference` string in this value, with a way to replace it.
    public mutating func rewriteReferences(_ body: (String) throws -> String?) rethrows {
        switch self {
        case .array(var items):
            for i in items.indices { try items[i].rewriteReferences(body) }
            self = .array(items)
        case .object(var object):
            var members = object.members
            for i in members.indices {
                if members[i].key == "reference", case .string(let reference) = members[i].value {
                    if let replacement = try body(reference) { members[i].value = .string(replacement) }
                } else {
                    try members[i].value.rewriteReferences(body)
                }
            }
            object = JSONObject(members)
            self = .object(object)
        default:
            break
        }
    }

    /// Every `reference` string in this value.
    public func references() -> [String] {
        var found: [String] = []
        forEachMember { key, value in
            if key == "reference", case .string(let reference) = value { found.append(reference) }
        }
        return found
    }

    /// Calls `visit` with every member of every object in this value, depth first in document order:
    /// the one walk that finds references, extensions and the like.
    public func forEachMember(_ visit: (_ key: String, _ value: JSONValue) throws -> Void) rethrows {
        switch self {
        case .object(let object):
            for (key, member) in object {
                try visit(key, member)
                try member.forEachMember(visit)
            }
        case .array(let items):
            for item in items { try item.forEachMember(visit) }
        default:
            break
        }
    }
}
