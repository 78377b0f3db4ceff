/// A FHIR operation a module offers (`$name`): what the CapabilityStatement lists and what its served
/// OperationDefinition says. Modules declare these as data; the API routes by them, so what is
/// advertised and what is answered are the same list.
public struct OperationDescriptor: Sendable, Hashable {
    /// Where the operation is invoked (OperationDefinition.system/type/instance).
    public enum Level: String, Sendable, Hashable {
        case system, type, instance
    }

    /// One input parameter. Written compactly as `"name:type"`, `"name:type!"` (required) or
    /// `"name:type*"` (repeats), where type is a FHIR data type (string, id, code, integer, boolean,
    /// date, dateTime, reference, Resource).
    public struct Parameter: Sendable, Hashable {
        public var name: String
        public var type: String
        public var required: Bool
        public var repeats: Bool

        public init(_ spec: String) {
            var text = Substring(spec)
            repeats = text.hasSuffix("*")
            if repeats { text = text.dropLast() }
            required = text.hasSuffix("!")
            if required { text = text.dropLast() }
            let parts = text.split(separator: ":", maxSplits: 1)
            name = String(parts[0])
            type = parts.count > 1 ? String(parts[1]) : "string"
        }
    }

    /// The operation's code, without `$`.
    public var name: String
    /// nil for a system-level operation.
    public var resourceType: String?
    public var level: Level
    /// Whether it changes data: such operations are invoked with POST only.
    public var affectsState: Bool
    public var parameters: [Parameter]
    /// One sentence on what it does; the module's docs page has the whole story.
    public var documentation: String
    /// The module that answers it (for the OperationDefinition's publisher line and the docs).
    public var module: String
    /// A standard operation's canonical definition (HL7's) that this one implements (OperationDefinition.base).
    public var standardDefinition: String?
    /// A type-level operation that is also invoked on instances (`$validate`: `Patient/$validate` and `Patient/1/$validate`).
    public var alsoOnInstances = false

    public init(name: String, resourceType: String?, level: Level, affectsState: Bool, parameters: [String], documentation: String,
                module: String, standardDefinition: String? = nil) {
        self.name = name
        self.resourceType = resourceType
        self.level = level
        self.affectsState = affectsState
        self.parameters = parameters.map(Parameter.init)
        self.documentation = documentation
        self.module = module
        self.standardDefinition = standardDefinition
    }

    /// The OperationDefinition's id: `Type-name`, or the name for a system operation (one level per name and type).
    public var id: String {
        resourceType.map { "\($0)-\(name)" } ?? name
    }

    /// Where the server serves its definition (also for a standard operation: ours says which parameters it takes).
    public func definitionURL(base: String) -> String {
        "\(base)/OperationDefinition/\(id)"
    }

    /// The R4 OperationDefinition resource.
    public func operationDefinition(base: String) -> JSONObject {
        var members: [(key: String, value: JSONValue)] = [
            ("resourceType", .string("OperationDefinition")),
            ("id", .string(id)),
            ("url", .string("\(base)/OperationDefinition/\(id)")),
            ("name", .string(Self.computableName(id))),
            ("status", .string("active")),
            ("kind", .string("operation")),
            ("publisher", .string("Kärna (\(module))")),
            ("description", .string(documentation)),
            ("affectsState", .bool(affectsState)),
            ("code", .string(name)),
        ]
        if let standardDefinition { members.append(("base", .string(standardDefinition))) }
        if let resourceType { members.append(("resource", .array([.string(resourceType)]))) }
        members.append(("system", .bool(level == .system)))
        members.append(("type", .bool(level == .type)))
        members.append(("instance", .bool(level == .instance || alsoOnInstances)))
        var parameterValues: [JSONValue] = parameters.map { parameter in
            .object(JSONObject([
                ("name", .string(parameter.name)),
                ("use", .string("in")),
                ("min", .number(parameter.required ? "1" : "0")),
                ("max", .string(parameter.repeats ? "*" : "1")),
                ("type", .string(parameter.type)),
            ]))
        }
        parameterValues.append(.object(JSONObject([
            ("name", .string("return")), ("use", .string("out")), ("min", .number("0")), ("max", .string("1")),
            ("type", .string("Resource")),
            ("documentation", .string("The resource the operation made or changed, a Bundle, or a Parameters resource")),
        ])))
        members.append(("parameter", .array(parameterValues)))
        return JSONObject(members)
    }

    /// OperationDefinition.name must be a computable name (letters and digits, no hyphens): `PatientMerge`.
    static func computableName(_ id: String) -> String {
        id.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}

extension OperationDescriptor {
    /// A system-level operation (`[base]/$name`).
    public static func system(_ name: String, post: Bool, _ parameters: String..., module: String, _ documentation: String) -> Self {
        Self(name: name, resourceType: nil, level: .system, affectsState: post, parameters: parameters, documentation: documentation, module: module)
    }

    /// A type-level operation (`[base]/Type/$name`).
    public static func type(_ type: String, _ name: String, post: Bool, _ parameters: String..., module: String, _ documentation: String) -> Self {
        Self(name: name, resourceType: type, level: .type, affectsState: post, parameters: parameters, documentation: documentation, module: module)
    }

    /// An instance-level operation (`[base]/Type/[id]/$name`).
    public static func instance(_ type: String, _ name: String, post: Bool, _ parameters: String..., module: String, _ documentation: String) -> Self {
        Self(name: name, resourceType: type, level: .instance, affectsState: post, parameters: parameters, documentation: documentation, module: module)
    }
}
