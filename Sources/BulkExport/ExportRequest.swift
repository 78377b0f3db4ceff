import Access
import FHIRCore
import Foundation

/// A Bulk Data kick-off, checked: what to export and from where. Kept in the job's file, so a job's manifest can name
/// its request after a restart.
struct ExportRequest: Codable, Sendable {
    /// `[base]/$export`, `[base]/Patient/$export` or `[base]/Group/[id]/$export`.
    enum Level: String, Codable, Sendable { case system, patient, group }

    var level: Level
    var groupID: String?
    /// The resource types asked for (`_type`, or the types `_typeFilter` names); nil for every type the level covers.
    var types: [String]?
    /// `_since`, ms since 1970: only resources changed since.
    var since: Int64?
    /// `_typeFilter`: per type, searches any of which a resource must match (`Observation?category=laboratory`).
    var typeFilters: [String: [String]]
    /// The kick-off as the client sent it, and the FHIR base its files are served under.
    var requestURL: String
    var baseURL: String

    static let outputFormats: Set<String> = ["application/fhir+ndjson", "application/ndjson", "ndjson"]
    /// Parameters of the IG this server does not take: refused by name rather than ignored, so no client believes they held.
    static let unsupported = ["_elements", "includeAssociatedData", "patient", "_until", "organizeOutputBy", "allowPartialManifests"]

    /// Checks a kick-off; every refusal names the parameter and what is wrong.
    init(_ call: OperationCall, definitions: Definitions = .r4) throws(FHIRError) {
        guard call.respondAsync else {
            throw FHIRError(.invalid, code: .required, "$export runs asynchronously: send the header 'Prefer: respond-async'", expression: ["Prefer"])
        }
        switch (call.resourceType, call.id) {
        case (nil, _): level = .system
        case ("Patient"?, nil): level = .patient
        case ("Group"?, let id?): level = .group; groupID = id
        default: throw call.unsupported()
        }
        requestURL = call.requestURL
        baseURL = call.baseURL
        for name in Self.unsupported where call.input[name] != nil {
            throw FHIRError(.invalid, code: .notSupported, "the $export parameter '\(name)' is not supported by this server", expression: [name])
        }
        if let format = call.input["_outputFormat"], !Self.outputFormats.contains(format) {
            throw FHIRError(.invalid, code: .notSupported, "_outputFormat '\(format)' is not supported; use application/fhir+ndjson", expression: ["_outputFormat"])
        }
        since = try call.input.instant("_since")
        let covered = Self.types(of: level, definitions: definitions)
        var asked: [String]?
        for value in call.input.all where value.name == "_type" {
            for type in Self.text(value.value).split(separator: ",").map({ String($0).trimmingCharacters(in: .whitespaces) }) where !type.isEmpty {
                guard definitions.isResourceType(type) else { throw FHIRError(.invalid, code: .value, "_type: '\(type)' is not an R4 resource type", expression: ["_type"]) }
                guard covered.contains(type) else {
                    throw FHIRError(.invalid, code: .value, "_type: \(type) is not in the Patient compartment, so a \(level.rawValue)-level export holds none", expression: ["_type"])
                }
                asked = (asked ?? []) + (asked?.contains(type) == true ? [] : [type])
            }
        }
        var filters: [String: [String]] = [:]
        for value in call.input.all where value.name == "_typeFilter" {
            for filter in Self.text(value.value).split(separator: ",", omittingEmptySubsequences: true).map(String.init) {
                let (type, _) = try Self.parseFilter(filter, definitions: definitions)
                if let asked, !asked.contains(type) {
                    throw FHIRError(.invalid, code: .value, "_typeFilter '\(filter)': \(type) is not among the _type asked for", expression: ["_typeFilter"])
                }
                guard covered.contains(type) else {
                    throw FHIRError(.invalid, code: .value, "_typeFilter '\(filter)': \(type) is not in the Patient compartment", expression: ["_typeFilter"])
                }
                filters[type, default: []].append(filter)
            }
        }
        typeFilters = filters
        // A filter without _type names the types wanted (Bulk Data IG v2).
        types = asked ?? (filters.isEmpty ? nil : filters.keys.sorted())
    }

    /// A parameter's text, from the query or a Parameters body's valueString.
    private static func text(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return value.objectValue?["valueString"]?.stringValue ?? value.objectValue?["valueCode"]?.stringValue ?? ""
    }

    /// `Observation?category=laboratory&status=final` → the type and its search, checked by the search parser.
    static func parseFilter(_ filter: String, definitions: Definitions = .r4) throws(FHIRError) -> (String, [(name: String, value: String)]) {
        let parts = filter.split(separator: "?", maxSplits: 1).map(String.init)
        guard parts.count == 2, definitions.isResourceType(parts[0]) else {
            throw FHIRError(.invalid, code: .value, "_typeFilter '\(filter)' must be a resource type and a search, such as Observation?category=laboratory",
                            expression: ["_typeFilter"])
        }
        let parameters: [(name: String, value: String)] = parts[1].split(separator: "&").map { pair in
            let nameValue = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            return (nameValue[0], nameValue.count > 1 ? nameValue[1] : "")
        }
        do {
            _ = try SearchQuery.parse(type: parts[0], parameters: parameters, strict: true, definitions: definitions)
        } catch {
            throw FHIRError(.invalid, code: .value, "_typeFilter '\(filter)': \(error.issues.first?.diagnostics ?? "not a search this server answers")",
                            expression: ["_typeFilter"])
        }
        return (parts[0], parameters)
    }

    /// The types an export at `level` covers: the Patient compartment's (with Patient), and at system level every stored type.
    static func types(of level: Level, definitions: Definitions = .r4) -> [String] {
        let compartment = ["Patient"] + definitions.patientCompartment.keys.filter { $0 != "Patient" }.sorted()
        guard level == .system else { return compartment }
        return compartment + definitions.resourceTypes.filter { definitions.patientCompartment[$0] == nil && !compartment.contains($0) && !notExported.contains($0) }.sorted()
    }

    /// Kept by the server but not patient or directory data: the audit log has its own reading, the definitions are generated.
    static let notExported: Set<String> = ["AuditEvent", "OperationDefinition"]
}
