/// Finds which patient a resource belongs to, from the R4 Patient CompartmentDefinition.
///
/// The store keeps this key on every row so a region can co-locate a
/// patient's data (Citus) and answer `$everything` without joins. The
/// compartment is defined by search parameters, so the key is read from the
/// resource's own search index rows: the first Patient reference of one of
/// the compartment's parameters, in the definition's order.
public struct PatientCompartment: Sendable {
    private let parameters: [String: [String]]

    public init(definitions: Definitions = .r4) {
        parameters = definitions.patientCompartment
    }

    /// The id of the patient whose compartment holds a resource with these index rows, if any.
    public func patientID(type: String, id: String, index: SearchIndexEntries) -> String? {
        if type == "Patient" { return id }
        for parameter in parameters[type] ?? [] {
            if let reference = index.references.first(where: { $0.parameter == parameter && $0.targetType == "Patient" }) {
                return reference.targetID
            }
        }
        return nil
    }
}
