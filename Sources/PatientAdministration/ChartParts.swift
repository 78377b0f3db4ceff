import Access
import FHIRCore
import StoreModel

/// Patient administration's parts of the chart: the current care contact in the banner; upcoming
/// visits, relatives and open referrals in the overview.
extension PatientAdministration {
    /// How many upcoming visits the overview lists.
    static let overviewAppointmentCount = 10

    public static let chartParts: [ChartPart] = [
        ChartPart("currentContact", title: "Aktuell vårdkontakt", emptyText: "Ingen pågående vårdkontakt.", place: .banner,
                  searches: { patientID throws(FHIRError) in
                      [try ChartSearch("Encounter", patientID: patientID, [("status", "planned,arrived,triaged,in-progress,onleave")], limit: 10)]
                  },
                  entries: { found in
                      found[0].prefix(1).map { contact in
                          let object = contact.object
                          let since = Display.time(object["period"]?.objectValue?["start"]?.stringValue)
                          let text = "\(Labels.encounterClass(object["class"]?.objectValue?["code"]?.stringValue)), \(Display.reference(object["serviceProvider"]))"
                              + (since.isEmpty ? "" : " sedan \(since)")
                          return ChartEntry("currentContact", record: contact, line: ChartLine(text))
                      }
                  }),
        .list("appointment", title: "Kommande besök", emptyText: "Inga bokade besök.", rank: 40,
              search: { patientID throws(FHIRError) in
                  try ChartSearch("Appointment", patientID: patientID, [("date", "ge\(Instant.format(milliseconds: Instant.now()))"),
                                                                       ("status", "booked,pending,arrived,checked-in,proposed"), ("_sort", "date")],
                                  limit: overviewAppointmentCount)
              },
              line: { appointment in
                  ChartLine("\(Display.time(appointment["start"]?.stringValue)) – \(Display.concept(appointment["serviceType"]?.arrayValue?.first))",
                            detail: Labels.appointmentStatus(appointment["status"]?.stringValue))
              }),
        .list("relative", title: "Närstående och vårdnadshavare", emptyText: nil, rank: 50,
              search: { patientID throws(FHIRError) in try ChartSearch("RelatedPerson", patientID: patientID, [("active:not", "false")], limit: 20) },
              line: { person in
                  let name = person["name"]?.arrayValue?.first?.objectValue
                  let given = (name?["given"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")
                  let phone = person["telecom"]?.arrayValue?.first?.objectValue?["value"]?.stringValue ?? ""
                  return ChartLine([given, name?["family"]?.stringValue ?? ""].filter { !$0.isEmpty }.joined(separator: " "),
                                   detail: [Display.concept(person["relationship"]?.arrayValue?.first), phone].filter { !$0.isEmpty }.joined(separator: " · "))
              }),
        // A lab or imaging order is a ServiceRequest too, but not a referral: only referrals are listed here.
        ChartPart("referral", title: "Öppna remisser", emptyText: "Inga öppna remisser.", rank: 60,
                  searches: { patientID throws(FHIRError) in
                      [try ChartSearch("ServiceRequest", patientID: patientID, [("status", "active,draft,on-hold")], limit: 50)]
                  },
                  entries: { found in
                      found[0].filter { isReferral($0.object) }.map { request in
                          let object = request.object
                          return ChartEntry("referral", record: request, line: ChartLine(Display.referralQuestion(object),
                                                                                        detail: "\(Labels.requestStatus(object["status"]?.stringValue)) · \(Display.time(object["authoredOn"]?.stringValue))"))
                      }
                  }),
    ]
}
