import Foundation

/// Finds which patient a resource belongs to, from the R4 Patient CompartmentDefinition.
///
/// The store keeps this key on every row so a region can co-locate a
/// patient's data (Citus) and answer `$everything` without joins. The
/// compartment's search-parameter expressions here are simple paths with an
/// optional `.where(resolve() is Patient)`; they are followed directly, and
/// the full FHIRPath engine takes over once it exists.
public struct PatientCompartment: Sendable {
    private let paths: [String: [[String]]]

    public init(definitions: Definitions = .r4) {
        var paths: [String: [[String]]] = [:]
        for (type, params) in definitions.patientCompartment {
            let byName = Dictionary(definitions.searchParameters(for: type).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for name in params {
                guard let expression = byName[name]?.expression else { continue }
                for part in expression.split(separator: "|") {
                    var text = String(part).trimming(" ()")
                    if let whereRange = text.range(of: ".where(") { text = String(text[..<whereRange.lowerBound]) }
                    if let asRange = text.range(of: " as ") { text = String(text[..<asRange.lowerBound]) }
                    let segments = text.split(separator: ".").map(String.init)
                    guard segments.first == type, segments.count > 1 else { continue }
                    paths[type, default: []].append(Array(segments.dropFirst()))
                }
            }
        }
        self.paths = paths
    }

    /// The id of the patient whose compartment holds `resource`, if any.
    public func patientID(of resource: JSONObject, type: String, id: String) -> String? {
        if type == "Patient" { return id }
        for path in paths[type] ?? [] {
            if let found = firstPatientReference(in: .object(resource), path: path[...]) { return found }
        }
        return nil
    }

    private func firstPatientReference(in value: JSONValue, path: ArraySlice<String>) -> String? {
        switch value {
        case .array(let items):
            for item in items {
                if let found = firstPatientReference(in: item, path: path) { return found }
            }
            return nil
        case .object(let object):
            guard let head = path.first else {
                guard let reference = object["reference"]?.stringValue, let key = ResourceKey(reference: reference), key.type == "Patient" else {
                    return nil
                }
                return key.id
            }
            guard let child = object[head] else { return nil }
            return firstPatientReference(in: child, path: path.dropFirst())
        default:
            return nil
        }
    }
}
