/// A visit type (besökstyp): what a slot is for, how the care contact is classed, what it costs.
public enum VisitType: String, Sendable, CaseIterable, Codable {
    case doctor = "lakarbesok"
    case nurse = "sjukskoterskebesok"
    case phone = "telefonkontakt"
    case video = "videobesok"
    case dayCare = "dagvard"
    case emergency = "akutbesok"

    public var display: String {
        switch self {
        case .doctor: "Läkarbesök"
        case .nurse: "Sjuksköterskebesök"
        case .phone: "Telefonkontakt"
        case .video: "Videobesök"
        case .dayCare: "Dagvård"
        case .emergency: "Akutbesök"
        }
    }

    /// Encounter.class (v3 ActCode): ambulatory, virtual, short stay or emergency.
    public var encounterClass: (code: String, display: String) {
        switch self {
        case .doctor, .nurse: ("AMB", "ambulatory")
        case .phone, .video: ("VR", "virtual")
        case .dayCare: ("SS", "short stay")
        case .emergency: ("EMER", "emergency")
        }
    }
}
