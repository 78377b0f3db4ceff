import FHIRCore
import Store
import StoreModel

/// Referential integrity on write (issue 31, item 5): a literal reference `Type/id` in what is written
/// names a resource that exists, now or in the same commit. The element's allowed target types are
/// checked by the validator; this is the part only the database can answer. A bulk import whose
/// bundles point outside themselves may turn it off (`KARNA_REFERENCE_CHECK=off`).
extension PatientDataSession {
    func checkReferences(_ operations: [WriteOperation]) async throws {
        guard gateway.settings.checkReferences else { return }
        var written = Set<ResourceKey>(), deleted = Set<ResourceKey>()
        for operation in operations {
            let key = ResourceKey(type: operation.type, id: operation.id)
            if operation.resource == nil { deleted.insert(key) } else { written.insert(key); deleted.remove(key) }
        }
        var wanted: [ResourceKey: String] = [:]
        for operation in operations {
            guard let resource = operation.resource else { continue }
            Self.references(in: .object(resource), path: operation.type) { key, path in
                if !written.contains(key), wanted[key] == nil { wanted[key] = path }
                if deleted.contains(key), !written.contains(key) { wanted[key] = path }
            }
        }
        guard !wanted.isEmpty else { return }
        let found = Set(try await store.read(keys: Array(wanted.keys)).map(\.key)).subtracting(deleted)
        let missing = wanted.filter { !found.contains($0.key) }.sorted { $0.value < $1.value }
        guard !missing.isEmpty else { return }
        throw FHIRError(.unprocessable, issues: missing.prefix(20).map { key, path in
            FHIRIssue(code: .notFound, diagnostics: "\(path) refers to \(key.type)/\(key.id), which does not exist", expression: [path])
        })
    }

    /// Every literal relative reference (`Type/id`, also `Type/id/_history/n`) in a resource, with its FHIRPath.
    /// Contained (`#id`), absolute, `urn:` and conditional references are left to their own rules.
    static func references(in value: JSONValue, path: String, _ found: (ResourceKey, String) -> Void) {
        switch value {
        case .object(let object):
            if let text = object["reference"]?.stringValue, let key = relativeKey(text) { found(key, path + ".reference") }
            for (name, member) in object where name != "reference" && name != "contained" {
                references(in: member, path: path + "." + name, found)
            }
        case .array(let items):
            for (i, item) in items.enumerated() { references(in: item, path: "\(path)[\(i)]", found) }
        default:
            break
        }
    }

    private static func relativeKey(_ text: String) -> ResourceKey? {
        guard !text.hasPrefix("#"), !text.contains("://"), !text.hasPrefix("urn:"), !text.contains("?") else { return nil }
        var parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 4, parts[2] == "_history" { parts.removeLast(2) }
        guard parts.count == 2, Definitions.r4.isResourceType(parts[0]), !parts[1].isEmpty else { return nil }
        return ResourceKey(type: parts[0], id: parts[1])
    }
}
