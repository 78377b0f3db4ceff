import Access
import FHIRCore
import Terminology

/// Every `$operation` the API answers, keyed by level, type and name, each with the module's handler.
/// Routing and the CapabilityStatement both read this one table, so an operation is advertised
/// exactly when it is answered, and two modules cannot claim the same one.
struct OperationTable: Sendable {
    /// Runs one operation on the engine bound to the request's principal.
    typealias Handler = @Sendable (FHIREngine, FHIRRequest, _ type: String?, _ id: String?, _ name: String) async throws -> FHIRResponse

    struct Key: Hashable {
        var level: OperationDescriptor.Level
        var type: String?
        var name: String
    }

    struct Entry: Sendable {
        var descriptor: OperationDescriptor
        var handler: Handler
    }

    private(set) var entries: [Key: Entry] = [:]
    /// The modules' long-running jobs, by the owner segment of their URLs.
    private(set) var jobs: [String: any AsyncJobs] = [:]

    private init() {}
    /// In the order the modules declared them, for the CapabilityStatement and the definitions listing.
    private(set) var descriptors: [OperationDescriptor] = []

    /// Adds a module's operations; a second claim on the same operation is a wiring error, caught at start-up.
    mutating func register(_ operations: [OperationDescriptor], handler: @escaping Handler) {
        for operation in operations {
            let key = Key(level: operation.level, type: operation.resourceType, name: operation.name)
            precondition(entries[key] == nil, "\(operation.module) and \(entries[key]?.descriptor.module ?? "") both declare \(operation.id)")
            precondition(!descriptors.contains { $0.id == operation.id }, "two operations share the definition id \(operation.id)")
            entries[key] = Entry(descriptor: operation, handler: handler)
            descriptors.append(operation)
        }
    }

    /// The operation at that level, or a type-level one that also answers on instances (`$validate`).
    func entry(level: OperationDescriptor.Level, type: String?, name: String) -> Entry? {
        if let entry = entries[Key(level: level, type: type, name: name)] { return entry }
        guard level == .instance, let entry = entries[Key(level: .type, type: type, name: name)], entry.descriptor.alsoOnInstances else { return nil }
        return entry
    }

    func descriptor(id: String) -> OperationDescriptor? {
        descriptors.first { $0.id == id }
    }

    /// The operations the API serves: the platform's, then each module's (in the composition root's
    /// order), each routed to the handler for its module.
    init(modules: [any ClinicalModule]) {
        self.init()
        var table = self
        table.register([.instance("Patient", "everything", post: false, "_since:instant", "start:date", "end:date", "_count:integer", module: "FHIRAPI",
                                  "Everything in the patient's compartment that the caller may read")
                            .standard("http://hl7.org/fhir/OperationDefinition/Patient-everything")]) { engine, request, _, id, _ in
            try await engine.everything(request, patientID: id ?? "")
        }
        table.register([.instance("Patient", "overview", post: false, module: "FHIRAPI",
                                  "The chart overview every module contributes to: attention signals, the current contact, problems, medicines, results, visits, referrals, notes")]) {
            engine, _, _, id, _ in
            try await engine.overview(patientID: id ?? "")
        }
        table.register(AccessGateway.operations.filter { $0.resourceType == "Patient" }) { engine, request, _, id, name in
            try await engine.patientAccessOperation(request, patientID: id ?? "", operation: name)
        }
        table.register(AccessGateway.operations.filter { $0.resourceType == "AuditEvent" }) { engine, request, _, _, _ in
            try await engine.auditEvents(request)
        }
        table.register(AccessGateway.operations.filter { $0.resourceType == nil }) { engine, request, _, _, _ in
            try await engine.positionsOperation(request)
        }
        // $validate on every stored type, at type and instance level (Validate.swift).
        let validated = Definitions.r4.resourceTypes.filter { FHIREngine.isStored($0) }
        table.register(validated.map { type in
            var operation = OperationDescriptor.type(type, "validate", post: false, "resource:Resource", "mode:code", "profile:uri", module: "FHIRAPI",
                                                     "Checks a \(type) against the R4 definitions, required bindings, narrative rules and a held profile, without writing it")
                .standard("http://hl7.org/fhir/OperationDefinition/Resource-validate")
            operation.alsoOnInstances = true
            return operation
        }) { engine, request, type, id, _ in
            try await engine.validateOperation(request, type: type ?? "", id: id)
        }
        table.register(TerminologyService.operations) { engine, request, type, _, name in
            try await engine.terminologyOperation(request, type: type, operation: name)
        }
        for module in modules {
            table.register(module.operations) { engine, request, type, id, name in
                try await engine.moduleOperation(module, request, type: type, id: id, name: name)
            }
            if let jobs = module.jobs {
                precondition(table.jobs[jobs.owner] == nil, "two modules keep jobs under _jobs/\(jobs.owner)")
                table.jobs[jobs.owner] = jobs
            }
        }
        self = table
    }
}

extension OperationDescriptor {
    /// The same operation, naming the published definition it implements.
    func standard(_ canonical: String) -> OperationDescriptor {
        var copy = self
        copy.standardDefinition = canonical
        return copy
    }
}
