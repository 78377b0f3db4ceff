import FHIRCore

/// A value set (värdemängd) as its compose rules: which codes of which systems belong to it.
public struct ValueSetDefinition: Sendable {
    /// One include or exclude rule: a whole system, listed codes, or codes under a concept.
    public struct Rule: Sendable {
        public var system: String
        public var codes: [String]
        /// `is-a` (the concept and everything below it) or `descendent-of` (only below it), by code.
        public var filters: [(op: String, value: String)]
        public var valueSets: [String]
    }

    public let url: String
    public let version: String?
    public let name: String
    public let title: String
    public let include: [Rule]
    public let exclude: [Rule]

    public init(url: String, name: String, title: String, include: [Rule], exclude: [Rule] = [], version: String? = nil) {
        self.url = url
        self.name = name
        self.title = title
        self.include = include
        self.exclude = exclude
        self.version = version
    }

    /// Reads a ValueSet resource's `compose`; filters other than is-a and descendent-of on `concept` are refused by name.
    public init(resource: JSONObject) throws(FHIRError) {
        guard resource.resourceType == "ValueSet" else { throw FHIRError(.invalid, code: .structure, "expected a ValueSet resource") }
        guard let url = resource["url"]?.stringValue, !url.isEmpty else {
            throw FHIRError(.invalid, code: .required, "a ValueSet needs a url to be expanded", expression: ["ValueSet.url"])
        }
        func rules(_ name: String) throws(FHIRError) -> [Rule] {
            var result: [Rule] = []
            for (i, item) in (resource["compose"]?.objectValue?[name]?.arrayValue ?? []).enumerated() {
                guard let item = item.objectValue else { continue }
                var filters: [(op: String, value: String)] = []
                for (j, filter) in (item["filter"]?.arrayValue ?? []).enumerated() {
                    guard let filter = filter.objectValue, let op = filter["op"]?.stringValue, let value = filter["value"]?.stringValue else { continue }
                    guard filter["property"]?.stringValue == "concept", op == "is-a" || op == "descendent-of" else {
                        throw FHIRError(.unsupported, code: .notSupported, "only concept is-a and descendent-of filters are supported",
                                        expression: ["ValueSet.compose.\(name)[\(i)].filter[\(j)]"])
                    }
                    filters.append((op, value))
                }
                result.append(Rule(system: item["system"]?.stringValue ?? "",
                                   codes: (item["concept"]?.arrayValue ?? []).compactMap { $0.objectValue?["code"]?.stringValue },
                                   filters: filters, valueSets: (item["valueSet"]?.arrayValue ?? []).compactMap(\.stringValue)))
            }
            return result
        }
        self.init(url: url, name: resource["name"]?.stringValue ?? url, title: resource["title"]?.stringValue ?? resource["name"]?.stringValue ?? url,
                  include: try rules("include"), exclude: try rules("exclude"), version: resource["version"]?.stringValue)
    }

    /// The ValueSet resource.
    public func resource(id: String) -> JSONObject {
        func items(_ rules: [Rule]) -> JSONValue {
            .array(rules.map { rule in
                var item: [(key: String, value: JSONValue)] = []
                if !rule.system.isEmpty { item.append(("system", .string(rule.system))) }
                if !rule.codes.isEmpty { item.append(("concept", .array(rule.codes.map { .object(JSONObject([("code", .string($0))])) }))) }
                if !rule.filters.isEmpty {
                    item.append(("filter", .array(rule.filters.map {
                        .object(JSONObject([("property", .string("concept")), ("op", .string($0.op)), ("value", .string($0.value))]))
                    })))
                }
                if !rule.valueSets.isEmpty { item.append(("valueSet", .array(rule.valueSets.map { .string($0) }))) }
                return .object(JSONObject(item))
            })
        }
        var members: [(key: String, value: JSONValue)] = [("resourceType", .string("ValueSet")), ("id", .string(id)), ("url", .string(url))]
        if let version { members.append(("version", .string(version))) }
        members += [("name", .string(name)), ("title", .string(title)), ("status", .string("active"))]
        var compose: [(key: String, value: JSONValue)] = [("include", items(include))]
        if !exclude.isEmpty { compose.append(("exclude", items(exclude))) }
        members.append(("compose", .object(JSONObject(compose))))
        return JSONObject(members)
    }
}
