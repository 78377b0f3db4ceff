import FHIRCore

extension TerminologyService {
    /// The terminology operations (FHIR R4 §4.8, §4.9), on the shipped and imported code systems and value sets.
    public static let operations: [OperationDescriptor] = {
        let m = "Terminology", hl7 = "http://hl7.org/fhir/OperationDefinition/"
        var lookup = OperationDescriptor.type("CodeSystem", "lookup", post: false, "system:uri!", "code:code!", module: m, "A code's display and properties")
        lookup.standardDefinition = hl7 + "CodeSystem-lookup"
        var validateCode = OperationDescriptor.type("CodeSystem", "validate-code", post: false, "url:uri", "system:uri", "code:code!", "display:string",
                                                    module: m, "Whether a code is in a code system")
        validateCode.standardDefinition = hl7 + "CodeSystem-validate-code"
        var validateInSet = OperationDescriptor.type("ValueSet", "validate-code", post: false, "url:uri!", "system:uri!", "code:code!", "display:string",
                                                     module: m, "Whether a code is in a value set")
        validateInSet.standardDefinition = hl7 + "ValueSet-validate-code"
        var expand = OperationDescriptor.type("ValueSet", "expand", post: false, "url:uri!", "filter:string", "offset:integer", "count:integer",
                                              module: m, "A value set's codes, filtered and paged")
        expand.standardDefinition = hl7 + "ValueSet-expand"
        return [lookup, validateCode, validateInSet, expand]
    }()
}
