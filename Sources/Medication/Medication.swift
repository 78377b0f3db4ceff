public import Access
import FHIRCore
import StoreModel
import Terminology

/// The medication module (läkemedel): the chart's current medicines with their Swedish dosage text, the
/// codes its records carry, and the rules every ordination is written under. Administration (the MAR),
/// the läkemedelslista, decision support and prescribing grow here.
public struct Medication: ClinicalModule {
    public init() {}

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

    public var rules: [any WriteRule] { [OrdinationRule()] }

    /// A medicine is coded in ATC (Kärna's medicine value set) wherever it is ordered, taken or given.
    public var codes: CodeBindings {
        CodeBindings(checkedTypes: ["MedicationRequest", "MedicationStatement", "MedicationAdministration", "Immunization"],
                     bindings: ["MedicationRequest", "MedicationStatement", "MedicationAdministration"].map {
                         .init($0, "medicationCodeableConcept", valueSet: KarnaValueSets.medicines)
                     })
    }
}
