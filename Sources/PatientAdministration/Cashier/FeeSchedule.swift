import FHIRCore
import Foundation

/// Patient fees (patientavgifter) and the fee ceiling (högkostnadsskydd): configuration a region
/// decides each year. The defaults are common Swedish rules and are marked as such; a region
/// replaces them with `POST [base]/$configure-fee-schedule`.
public struct FeeSchedule: Sendable, Codable, Equatable {
    /// Where the numbers come from, shown wherever fees are shown.
    public var source: String
    /// Fee per visit type, in kronor.
    public var fees: [String: Int]
    /// Patients younger than this pay nothing.
    public var freeBelowAge: Int
    /// Patients this old or older pay nothing.
    public var freeFromAge: Int
    /// The ceiling per calendar year of the period's start (högkostnadsskydd, HSL 17 kap. 2 §).
    public var ceilings: [String: Int]
    /// How long a period runs from the first paid visit.
    public var periodMonths: Int

    /// Example values: fees vary by region; 1,400 kr was the national ceiling in 2024 and 1,450 kr from 2025.
    public static let defaults = FeeSchedule(
        source: "Kärnas förval (exempelvärden, inte regionens beslut): granska och ställ in",
        fees: [VisitType.doctor.rawValue: 200, VisitType.nurse.rawValue: 100, VisitType.phone.rawValue: 0, VisitType.video.rawValue: 200,
               VisitType.dayCare.rawValue: 100, VisitType.emergency.rawValue: 400],
        freeBelowAge: 18, freeFromAge: 85,
        ceilings: ["2024": 1_400, "2025": 1_450, "2026": 1_450, "2027": 1_450], periodMonths: 12)

    /// The ceiling for a period starting in `year`: that year's, else the latest configured before it.
    public func ceiling(year: Int) -> Int {
        if let exact = ceilings[String(year)] { return exact }
        let earlier = ceilings.compactMap { key, value in Int(key).flatMap { $0 <= year ? ($0, value) : nil } }.max { $0.0 < $1.0 }
        return earlier?.1 ?? ceilings.values.max() ?? 1_450
    }

    /// Checks that a configuration makes sense before it replaces the current one.
    public func validate() throws(FHIRError) {
        for type in VisitType.allCases where fees[type.rawValue] == nil {
            throw FHIRError(.invalid, code: .required, "fees: no fee for the visit type \(type.rawValue)", expression: ["fees.\(type.rawValue)"], text: "Taxan saknar avgift för besökstypen \(type.display).")
        }
        for (type, fee) in fees where fee < 0 || fee > 10_000 {
            throw FHIRError(.invalid, code: .value, "fees.\(type): \(fee) kr is outside 0–10000", expression: ["fees.\(type)"], text: "Avgiften \(fee) kr ligger utanför 0–10 000 kr.")
        }
        guard !ceilings.isEmpty, ceilings.allSatisfy({ Int($0.key) != nil && $0.value > 0 }) else {
            throw FHIRError(.invalid, code: .value, "ceilings: give at least one year with a positive amount, e.g. {\"2026\": 1450}", expression: ["ceilings"], text: "Ange minst ett år med ett högkostnadstak över noll.")
        }
        guard (1...24).contains(periodMonths) else { throw FHIRError(.invalid, code: .value, "periodMonths must be 1–24", expression: ["periodMonths"], text: "Perioden ska vara 1–24 månader.") }
        guard freeBelowAge >= 0, freeFromAge > freeBelowAge else {
            throw FHIRError(.invalid, code: .value, "freeFromAge must be above freeBelowAge", expression: ["freeFromAge"], text: "Åldern för avgiftsfrihet uppåt ska vara högre än åldern nedåt.")
        }
    }
}
