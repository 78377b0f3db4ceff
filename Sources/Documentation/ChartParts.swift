import Access
import FHIRCore
import StoreModel
import Terminology

/// Documentation's parts of the chart: the attention signals in the banner (allergies first), and
/// the active problems and latest notes in the overview.
extension Documentation {
    /// How many notes the overview lists.
    static let overviewNoteCount = 10
    /// How many of the latest visit diagnoses the overview lists.
    static let overviewVisitDiagnosisCount = 5

    public static let chartParts: [ChartPart] = [
        ChartPart("attention", title: "Uppmärksamhetssignaler", emptyText: "Inga uppmärksamhetssignaler registrerade.", place: .banner,
                  searches: { patientID throws(FHIRError) in
                      try AttentionSignals.queries(patientID: patientID).map { ChartSearch(query: $0.query, limit: $0.limit) }
                  },
                  entries: { found in
                      let state = AttentionSignals.state(allergies: found[0], flags: found[1])
                      let allergies = state.allergies.map { allergy in
                          let reaction = allergy.object["reaction"]?.arrayValue?.first?.objectValue
                          let detail = [allergy.object["criticality"]?.stringValue == "high" ? "hög risk" : nil,
                                        reaction.map { Display.concept($0["manifestation"]?.arrayValue?.first) }].compactMap { $0 }.filter { !$0.isEmpty }
                          return ChartEntry("allergy", record: allergy, line: ChartLine(label: "Allergi", Display.concept(allergy.object["code"]),
                                                                                       detail: detail.joined(separator: ", "), alarm: true))
                      }
                      let flags = [("infection", "Smitta", state.infections), ("treatment", "Behandling", state.treatments),
                                   ("careLimitation", "Vårdbegränsning", state.careLimitations)].flatMap { name, label, flags in
                          flags.map { ChartEntry(name, record: $0, line: ChartLine(label: label, Display.concept($0.object["code"]))) }
                      }
                      return allergies + flags
                  }),
        ChartPart("problem", title: "Aktuella problem", emptyText: "Inga aktiva problem.", rank: 10,
                  searches: { patientID throws(FHIRError) in
                      [try ChartSearch("Condition", patientID: patientID, [("clinical-status", "active,recurrence,relapse"), ("category:not", "encounter-diagnosis")],
                                       limit: 200)]
                  },
                  entries: { found in
                      Diagnoses.problemList(found[0]).active.map { condition in
                          let object = condition.object
                          let since = Display.time(object["onsetDateTime"]?.stringValue ?? object["recordedDate"]?.stringValue)
                          return ChartEntry("problem", record: condition, line: ChartLine(Display.concept(object["code"]),
                                                                                         detail: [Display.code(object["code"]), since.isEmpty ? "" : "sedan \(since)"]
                                                                                             .filter { !$0.isEmpty }.joined(separator: " · ")))
                      }
                  }),
        // A visit's diagnoses, kept apart from the problem list: what was found at a visit, not an ongoing problem.
        .list("visitDiagnosis", title: "Diagnoser vid senaste besök", emptyText: nil, rank: 15,
              search: { patientID throws(FHIRError) in
                  try ChartSearch("Condition", patientID: patientID, [("category", "encounter-diagnosis"), ("verification-status:not", "entered-in-error"),
                                                                      ("_sort", "-recorded-date")], limit: overviewVisitDiagnosisCount)
              },
              line: { condition in
                  ChartLine(Display.concept(condition["code"]),
                            detail: [Display.code(condition["code"]), Display.time(condition["recordedDate"]?.stringValue)].filter { !$0.isEmpty }.joined(separator: " · "))
              }),
        // A worklist row's diagnosis (the ward overview): the latest visit diagnosis, main diagnosis first when registered together.
        .list("rowDiagnosis", title: "Diagnos", emptyText: nil, place: .row,
              search: { patientID throws(FHIRError) in
                  try ChartSearch("Condition", patientID: patientID, [("category", "encounter-diagnosis"), ("verification-status:not", "entered-in-error"),
                                                                      ("_sort", "-recorded-date")], limit: 1)
              },
              line: { condition in ChartLine(Display.concept(condition["code"]), detail: Display.code(condition["code"])) }),
        ChartPart("note", title: "Senaste anteckningar", emptyText: "Inga anteckningar.", rank: 70,
                  searches: { patientID throws(FHIRError) in
                      [ChartSearch(query: try SearchQuery.parse(type: "Composition", parameters: [("subject", "Patient/\(patientID)"), ("status:not", "entered-in-error"),
                                                                                                  ("_sort", "-date")], strict: true),
                                   limit: overviewNoteCount)]
                  },
                  entries: { found in
                      found[0].map { note in
                          let object = note.object
                          let status = object["status"]?.stringValue
                          let marks = status == "preliminary" ? [ChartLine.Mark("osignerad", warn: true)] : status == "amended" ? [ChartLine.Mark("rättad")] : []
                          return ChartEntry("note", record: note, line: ChartLine(object["title"]?.stringValue ?? "Anteckning",
                                                                                 detail: "\(Display.time(object["date"]?.stringValue)) · \(Display.reference(object["author"]?.arrayValue?.first))",
                                                                                 marks: marks))
                      }
                  }),
    ]

    /// The coded elements of documentation's records checked against the terminology; the note
    /// templates' own lists (sökord, note types) are checked by the note rules instead.
    public static let codeBindings = CodeBindings(
        checkedTypes: ["Condition", "Procedure", "AllergyIntolerance", "Flag", "Composition", "FamilyMemberHistory"],
        bindings: [
            .init("Condition", "code", valueSet: KarnaValueSets.diagnoses),
            .init("Procedure", "code", valueSet: KarnaValueSets.procedures),
            .init("AllergyIntolerance", "code", valueSet: KarnaValueSets.allergens),
        ],
        ownSystems: [DocumentationCodes.heading, DocumentationCodes.noteType])
}
