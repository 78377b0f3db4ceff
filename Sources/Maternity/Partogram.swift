import Foundation

/// The partogram's lines and where the cervical dilatation lies against them. The alert line starts at the first
/// examination in active labour (dilatation at or over `alertStartCm`) and rises `rateCmPerHour`; the action line is
/// the same line `actionOffsetHours` later. A later examination whose dilatation is reached after the action line's
/// time for it lies right of the action line.
public struct PartogramCheck: Sendable {
    public let lines: PartogramLines

    public init(lines: PartogramLines) { self.lines = lines }

    /// One cervical examination: minutes since the partogram began, and the dilatation in cm.
    public struct Examination: Sendable, Equatable {
        public var minutes: Double
        public var centimetres: Double
        public init(minutes: Double, centimetres: Double) {
            self.minutes = minutes
            self.centimetres = centimetres
        }
    }

    /// Where an examination lies against the lines.
    public enum Position: String, Sendable {
        case latent = "latent"
        case onTrack = "i-fas"
        case rightOfAlert = "hoger-om-varningslinjen"
        case rightOfAction = "hoger-om-aktionslinjen"
    }

    /// Where the alert line starts: the first examination in active labour.
    public func start(_ examinations: [Examination]) -> Examination? {
        examinations.sorted { $0.minutes < $1.minutes }.first { $0.centimetres >= lines.alertStartCm }
    }

    /// The minute at which the alert line reaches a dilatation (nil before active labour).
    public func alertMinute(for centimetres: Double, start: Examination) -> Double {
        start.minutes + (centimetres - start.centimetres) / lines.rateCmPerHour * 60
    }

    public func actionMinute(for centimetres: Double, start: Examination) -> Double {
        alertMinute(for: centimetres, start: start) + lines.actionOffsetHours * 60
    }

    /// Each examination's position, in time order.
    public func positions(_ examinations: [Examination]) -> [(examination: Examination, position: Position)] {
        let sorted = examinations.sorted { $0.minutes < $1.minutes }
        guard let start = start(sorted) else { return sorted.map { ($0, .latent) } }
        return sorted.map { examination in
            guard examination.minutes >= start.minutes else { return (examination, .latent) }
            if examination.minutes > actionMinute(for: examination.centimetres, start: start) { return (examination, .rightOfAction) }
            if examination.minutes > alertMinute(for: examination.centimetres, start: start) { return (examination, .rightOfAlert) }
            return (examination, .onTrack)
        }
    }

    /// Whether any examination lies right of the action line.
    public func crossesAction(_ examinations: [Examination]) -> Bool {
        positions(examinations).contains { $0.position == .rightOfAction }
    }
}
