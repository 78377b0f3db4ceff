public import Access
import FHIRCore
import StoreModel
import Terminology

/// The results module (provsvar): today the chart's latest results and the codes results must carry.
/// Lab results over HL7 v2, critical values and imaging grow here.
public struct Results: ClinicalModule {
    /// How many results the overview lists.
    public var overviewCount: Int

    public init(overviewCount: Int = 10) {
        self.overviewCount = overviewCount
    }

    public var name: String { "Results" }

    public var chart: [ChartPart] {
        [
            .list("result", title: "Senaste provsvar", emptyText: "Inga provsvar.", rank: 30,
                  search: { [overviewCount] patientID throws(FHIRError) in
                      try ChartSearch("Observation", patientID: patientID, [("_sort", "-date")], limit: overviewCount)
                  },
                  line: { observation in
                      let date = Display.time(observation["effectiveDateTime"]?.stringValue ?? observation["issued"]?.stringValue)
                      return ChartLine(Display.concept(observation["code"]),
                                       detail: [Display.observationValue(observation), date].filter { !$0.isEmpty }.joined(separator: " · "))
                  }),
        ]
    }

    /// A laboratory analysis is coded in NPU (Kärna's analysis value set).
    public var codes: CodeBindings {
        CodeBindings(checkedTypes: ["Observation", "DiagnosticReport"],
                     bindings: [.init("Observation", "code", valueSet: KarnaValueSets.laboratoryAnalyses)])
    }
}
