public import Access
public import FHIRCore
import StoreModel
import Terminology

/// The medication module (läkemedel): the chart's current medicines with their Swedish dosage text, the
/// codes its records carry, and the rules every ordination is written under. Administration (the MAR),
/// the läkemedelslista, decision support and prescribing grow here.
public struct Medication: ClinicalModule {
    /// The läkemedelskontroll tables (the shipped synthetic ones unless a region names its own).
    let safetyRules: Result<MedicationSafetyRules, RulesError>

    public init(safetyRules: Result<MedicationSafetyRules, RulesError>? = nil) {
        self.safetyRules = safetyRules ?? Result { try MedicationSafetyRules.shipped() }.mapError {
            $0 as? RulesError ?? RulesError(file: "lakemedelskontroll.json", problem: String(describing: $0))
        }
    }

    public var name: String { "Medication" }

    /// "Aktuella läkemedel" on the chart is the läkemedelslista: one line per substance, naming its sources.
    public var chart: [ChartPart] {
        [
            ChartPart("medication", title: "Aktuella läkemedel", emptyText: "Inga aktuella läkemedel registrerade.", rank: 20,
                      searches: { patientID throws(FHIRError) in
                          [try ChartSearch("MedicationRequest", patientID: patientID, [("status", "active,on-hold"), ("intent", "order,original-order,instance-order")],
                                           limit: 100),
                           try ChartSearch("MedicationStatement", patientID: patientID, [("status", "active,intended")], limit: 100)]
                      },
                      entries: { found in
                          let list = MedicationList.make(patient: nil, requests: found[0], statements: found[1])
                          let records = Dictionary((found[0] + found[1]).map { ("\($0.type)/\($0.id)", $0) }, uniquingKeysWith: { a, _ in a })
                          return list.rows.compactMap { row in
                              guard let first = row.sources.first, let record = records[first.reference] else { return nil }
                              let dosage = row.sources.map(\.dosage).first { !$0.isEmpty } ?? ""
                              let sources = row.sources.map(\.label).joined(separator: " + ")
                              return ChartEntry("medication", record: record, line: ChartLine(row.name, detail: [dosage, sources].filter { !$0.isEmpty }.joined(separator: " · ")))
                          }
                      }),
        ]
    }

    public var operations: [OperationDescriptor] {
        [.instance("Patient", "medication-list", post: false, module: name,
                   "The läkemedelslista: one row per substance from ordinations, prescriptions, dose dispensing and the patient's own report, each source with reason, ordinator, start and planned end; and whether a läkemedelsgenomgång is indicated")]
    }

    public func answer(_ call: OperationCall) async throws -> OperationAnswer {
        switch (call.resourceType, call.id, call.name) {
        case ("Patient", let patientID?, "medication-list"):
            return .parameters(try await MedicationList.read(patientID: patientID, session: call.session).parameters)
        default:
            throw call.unsupported()
        }
    }

    public var rules: [any WriteRule] { [OrdinationRule(), AdministrationRule(rules: safetyRules)] }

    /// Läkemedelskontroll when a drug is chosen and again before the order is signed.
    public var decisionSupport: [any DecisionSupportService] {
        [MedicationSafetyService(hook: "order-select", rules: safetyRules), MedicationSafetyService(hook: "order-sign", rules: safetyRules)]
    }

    /// A medicine is coded in ATC (Kärna's medicine value set) wherever it is ordered, taken or given.
    public var codes: CodeBindings {
        CodeBindings(checkedTypes: ["MedicationRequest", "MedicationStatement", "MedicationAdministration", "Immunization"],
                     bindings: ["MedicationRequest", "MedicationStatement", "MedicationAdministration"].map {
                         .init($0, "medicationCodeableConcept", valueSet: KarnaValueSets.medicines)
                     })
    }
}
