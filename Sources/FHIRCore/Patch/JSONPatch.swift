import Foundation

/// JSON Patch (RFC 6902) over Kärna's JSON values, member order kept: add, remove, replace, move,
/// copy and test, each addressed by a JSON Pointer (RFC 6901). A failing operation names its index
/// and pointer, and nothing is applied (the caller gets either the whole result or an error).
public enum JSONPatch {
    /// Applies `operations` (a JSON array of operation objects) to `document`.
    public static func apply(_ operations: JSONValue, to document: JSONValue) throws(FHIRError) -> JSONValue {
        guard case .array(let items) = operations else {
            throw FHIRError(.invalid, code: .structure, "a JSON Patch is a JSON array of operations, found a \(operations.kindName)")
        }
        var result = document
        for (index, item) in items.enumerated() {
            let at = "operation \(index)"
            guard case .object(let operation) = item, let op = operation["op"]?.stringValue else {
                throw FHIRError(.invalid, code: .structure, "\(at): an operation is an object with 'op'")
            }
            guard let pathText = operation["path"]?.stringValue else {
                throw FHIRError(.invalid, code: .required, "\(at) (\(op)): 'path' is missing")
            }
            let path = try pointer(pathText, at: at)
            func value() throws(FHIRError) -> JSONValue {
                guard let value = operation["value"] else { throw FHIRError(.invalid, code: .required, "\(at) (\(op) \(pathText)): 'value' is missing") }
                return value
            }
            func from() throws(FHIRError) -> [String] {
                guard let text = operation["from"]?.stringValue else { throw FHIRError(.invalid, code: .required, "\(at) (\(op) \(pathText)): 'from' is missing") }
                return try pointer(text, at: at)
            }
            switch op {
            case "add":
                try add(try value(), at: path, in: &result, label: "\(at) (add \(pathText))")
            case "remove":
                _ = try remove(at: path, in: &result, label: "\(at) (remove \(pathText))")
            case "replace":
                _ = try remove(at: path, in: &result, label: "\(at) (replace \(pathText))")
                try add(try value(), at: path, in: &result, label: "\(at) (replace \(pathText))")
            case "move":
                let source = try from()
                if path.count > source.count, Array(path.prefix(source.count)) == source {
                    throw FHIRError(.invalid, code: .invalid, "\(at) (move): a value cannot be moved into one of its own children")
                }
                let moved = try remove(at: source, in: &result, label: "\(at) (move from)")
                try add(moved, at: path, in: &result, label: "\(at) (move \(pathText))")
            case "copy":
                let copied = try get(try from(), in: result, label: "\(at) (copy from)")
                try add(copied, at: path, in: &result, label: "\(at) (copy \(pathText))")
            case "test":
                let actual = try get(path, in: result, label: "\(at) (test \(pathText))")
                guard equal(actual, try value()) else {
                    throw FHIRError(.unprocessable, code: .conflict, "\(at) (test \(pathText)): the value differs, so the patch is not applied")
                }
            default:
                throw FHIRError(.invalid, code: .value, "\(at): '\(op)' is not a JSON Patch operation (add, remove, replace, move, copy, test)")
            }
        }
        return result
    }

    /// `/a/b~1c/0` → ["a", "b/c", "0"].
    static func pointer(_ text: String, at: String) throws(FHIRError) -> [String] {
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { throw FHIRError(.invalid, code: .value, "\(at): '\(text)' is not a JSON Pointer (it must start with '/')") }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func index(_ token: String, count: Int, allowEnd: Bool, label: String) throws(FHIRError) -> Int {
        if allowEnd, token == "-" { return count }
        guard let index = Int(token), index >= 0, token == String(index) else {
            throw FHIRError(.invalid, code: .value, "\(label): '\(token)' is not an array index")
        }
        guard index < count || (allowEnd && index == count) else {
            throw FHIRError(.unprocessable, code: .notFound, "\(label): index \(index) is beyond the array's \(count) items")
        }
        return index
    }

    static func get(_ path: [String], in document: JSONValue, label: String) throws(FHIRError) -> JSONValue {
        var current = document
        for token in path {
            switch current {
            case .object(let object):
                guard let next = object[token] else { throw FHIRError(.unprocessable, code: .notFound, "\(label): '\(token)' does not exist") }
                current = next
            case .array(let items):
                current = items[try index(token, count: items.count, allowEnd: false, label: label)]
            default:
                throw FHIRError(.unprocessable, code: .notFound, "\(label): '\(token)' does not exist (its parent is not an object or array)")
            }
        }
        return current
    }

    static func add(_ value: JSONValue, at path: [String], in document: inout JSONValue, label: String) throws(FHIRError) {
        guard let last = path.last else { document = value; return }
        try modify(Array(path.dropLast()), in: &document, label: label) { (parent: inout JSONValue) throws(FHIRError) in
            switch parent {
            case .object(var object):
                object[last] = value
                parent = .object(object)
            case .array(var items):
                items.insert(value, at: try index(last, count: items.count, allowEnd: true, label: label))
                parent = .array(items)
            default:
                throw FHIRError(.unprocessable, code: .notFound, "\(label): the parent of '\(last)' is not an object or array")
            }
        }
    }

    static func remove(at path: [String], in document: inout JSONValue, label: String) throws(FHIRError) -> JSONValue {
        guard let last = path.last else { throw FHIRError(.invalid, code: .value, "\(label): the whole document cannot be removed") }
        var removed: JSONValue = .null
        try modify(Array(path.dropLast()), in: &document, label: label) { (parent: inout JSONValue) throws(FHIRError) in
            switch parent {
            case .object(var object):
                guard let value = object[last] else { throw FHIRError(.unprocessable, code: .notFound, "\(label): '\(last)' does not exist") }
                removed = value
                object[last] = nil
                parent = .object(object)
            case .array(var items):
                removed = items.remove(at: try index(last, count: items.count, allowEnd: false, label: label))
                parent = .array(items)
            default:
                throw FHIRError(.unprocessable, code: .notFound, "\(label): the parent of '\(last)' is not an object or array")
            }
        }
        return removed
    }

    /// Runs `change` on the value at `path`, writing it back up the tree.
    static func modify(_ path: [String], in value: inout JSONValue, label: String, _ change: (inout JSONValue) throws(FHIRError) -> Void) throws(FHIRError) {
        guard let first = path.first else { try change(&value); return }
        let rest = Array(path.dropFirst())
        switch value {
        case .object(var object):
            guard var child = object[first] else {
                throw FHIRError(.unprocessable, code: .notFound, "\(label): '\(first)' does not exist; missing objects are not created")
            }
            try modify(rest, in: &child, label: label, change)
            object[first] = child
            value = .object(object)
        case .array(var items):
            let i = try index(first, count: items.count, allowEnd: false, label: label)
            try modify(rest, in: &items[i], label: label, change)
            value = .array(items)
        default:
            throw FHIRError(.unprocessable, code: .notFound, "\(label): '\(first)' does not exist")
        }
    }

    /// JSON equality for `test`: objects regardless of member order, numbers by value.
    public static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { equal(value, $0) } ?? false }
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.number(let x), .number(let y)):
            return x == y || (Double(x) != nil && Double(x) == Double(y))
        default:
            return a == b
        }
    }
}
