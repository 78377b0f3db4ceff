public import Access
import FHIRCore
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

    public var chart: [ChartPart] {
        [
            ChartPart("medication", title: "Aktuella läkemedel", emptyText: "Inga aktuella läkemedel registrerade.", rank: 20,
                      searches: { patientID throws(FHIRError) in
                          [try ChartSearch("MedicationRequest", patientID: patientID, [("status", "active,on-hold")], limit: 100),
                           try ChartSearch("MedicationStatement", patientID: patientID, [("status", "active,intended")], limit: 100)]
                      },
                      entries: { found in
                          (found[0] + found[1]).map { medication in
                              let object = medication.object
                              let dose = DosageText.swedish(object["dosageInstruction"]?.arrayValue ?? object["dosage"]?.arrayValue ?? [])
                              return ChartEntry("medication", record: medication, line: ChartLine(Display.concept(object["medicationCodeableConcept"]), detail: dose))
                          }
                      }),
        ]
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
