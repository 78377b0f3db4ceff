public import Access
import FHIRCore
import Foundation

/// The gravidogram's data: SF-mått, weight gain since the first weight and blood pressure against gestational week,
/// with the loaded reference curve's mean and SD where the table has one.
public struct Gravidogram: Sendable {
    /// One plotted value.
    public struct Point: Sendable {
        public var week: Double
        public var value: Double
        /// The diastolic pressure beside the systolic.
        public var second: Double?
        public var reference: (mean: Double, sd: Double)?
        public var time: Int64
    }

    /// One measure over the pregnancy.
    public struct Series: Sendable {
        public var code: String
        public var display: String
        public var unit: String
        public var points: [Point]
        /// The reference curve, if the table has one for this measure.
        public var curve: ReferenceCurves.Curve?
    }

    public var pregnancy: Pregnancy
    public var series: [Series]
    public var findings: [FundalHeightCheck.Finding]

    public func series(_ code: String) -> Series? { series.first { $0.code == code } }

    public static func read(pregnancyID: String, maternity: Maternity, session: PatientDataSession) async throws -> Gravidogram {
        try await read(pregnancy: try await maternity.antenatal.pregnancy(pregnancyID, session: session), maternity: maternity, session: session)
    }

    /// For a pregnancy already read (the overview page reads it once).
    public static func read(pregnancy: Pregnancy, maternity: Maternity, session: PatientDataSession) async throws -> Gravidogram {
        build(pregnancy: pregnancy, values: try await RecordedValues.read(pregnancy: pregnancy, session: session), maternity: maternity)
    }

    static func build(pregnancy: Pregnancy, values: RecordedValues, maternity: Maternity) -> Gravidogram {
        let curves = maternity.curves
        func week(_ time: Int64) -> Double { pregnancy.gestationalWeeks(on: SwedishTime.day(of: time)) }
        let sfCurve = curves.curves["sf"]
        let sf = values.all("sf").compactMap { value in
            value.number.map { Point(week: week(value.time), value: $0, second: nil, reference: sfCurve?.at(week(value.time)), time: value.time) }
        }
        let weights = values.all("vikt").compactMap { value in value.number.map { (value.time, $0) } }
        let gainCurve = curves.curves["viktokning"]
        let gain = weights.map { time, kilograms in
            Point(week: week(time), value: kilograms - (weights.first?.1 ?? kilograms), second: nil, reference: gainCurve?.at(week(time)), time: time)
        }
        let pressure = values.all("blodtryck").compactMap { value in
            value.number.map { Point(week: week(value.time), value: $0, second: value.second, reference: nil, time: value.time) }
        }
        let measurements = sf.map { FundalHeightCheck.Measurement(week: $0.week, centimetres: $0.value) }
        // The findings each measurement raised when it was recorded, for the page to show beside the curve.
        var findings: [FundalHeightCheck.Finding] = []
        for index in measurements.indices { findings += maternity.fundal.findings(Array(measurements[...index])) }
        return Gravidogram(pregnancy: pregnancy, series: [
            Series(code: "sf", display: sfCurve?.display ?? "SF-mått", unit: "cm", points: sf, curve: sfCurve),
            Series(code: "viktokning", display: gainCurve?.display ?? "Viktökning", unit: "kg", points: gain, curve: gainCurve),
            Series(code: "blodtryck", display: "Blodtryck", unit: "mm Hg", points: pressure, curve: nil),
        ], findings: findings)
    }
}
