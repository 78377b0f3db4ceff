/// Swedish words for FHIR status codes, as the lists show them.
public enum Labels {
    public static func appointmentStatus(_ status: String?) -> String {
        switch status {
        case "proposed", "pending": "Preliminär"
        case "booked": "Bokad"
        case "arrived": "Ankommen"
        case "checked-in": "Incheckad"
        case "fulfilled": "Genomförd"
        case "cancelled": "Avbokad"
        case "noshow": "Uteblev"
        case "waitlist": "Väntelista"
        default: status ?? ""
        }
    }

    public static func taskStatus(_ status: String?) -> String {
        switch status {
        case "requested": "Inkommen"
        case "received": "Mottagen"
        case "accepted": "Accepterad"
        case "rejected": "Avvisad"
        case "ready": "Redo"
        case "in-progress": "Pågår"
        case "on-hold": "Väntar på komplettering"
        case "completed": "Besvarad"
        case "cancelled": "Makulerad"
        default: status ?? ""
        }
    }

    public static func requestStatus(_ status: String?) -> String {
        switch status {
        case "draft": "Utkast"
        case "active": "Aktiv"
        case "on-hold": "Vilande"
        case "completed": "Avslutad"
        case "revoked": "Återkallad"
        default: status ?? ""
        }
    }

    public static func encounterClass(_ code: String?) -> String {
        switch code {
        case "AMB": "Besök"
        case "VR": "Distanskontakt"
        case "SS": "Dagvård"
        case "EMER": "Akut"
        case "IMP": "Vårdtillfälle"
        case "HH": "Hembesök"
        default: "Vårdkontakt"
        }
    }
}
