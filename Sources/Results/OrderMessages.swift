import FHIRCore
import Foundation
import HL7v2

/// An order as the lab reads it: OML^O21 (HL7 2.5's lab order) or ORM^O01 (the older general order) with the
/// patient (PID), the order (ORC new, NW, or cancel, CA, with the placer number), what is ordered (OBR, and TQ1 for the
/// priority in OML), the requester's note (NTE) and the specimen to draw (SPM in OML; OBR-15 and OBR-9 in ORM). Values are escaped; the message id is stable per order,
/// so a lab that receives a resend knows it.
struct OrderMessage {
    let order: JSONObject
    let orderID: String
    let patient: JSONObject
    /// The requester's name and HSA id, as ORC-12 names the ordering provider.
    let requester: (name: String, hsa: String)
    let unitName: String
    let route: LabChannel.OrderRoute
    /// MSH-18: the character set the bytes are written in.
    let charset: String
    let now: Date
    /// ORC-1: NW (a new order) or CA (cancel the order the lab has, by its placer number).
    var control = "NW"

    /// The message id, stable per order and per kind, so a resend is known and an order's cancellation is not
    /// taken for the order itself.
    var controlID: String { Self.controlID(orderID: orderID, cancel: control == "CA") }

    static func controlID(orderID: String, cancel: Bool = false) -> String {
        (cancel ? "KC" : "KO") + String(ResultIngest.recordID("x", orderID).dropFirst(2).prefix(18))
    }

    func text() -> String {
        var delimiters = HL7Message.Delimiters()
        delimiters.field = "|"
        let e = { (value: String) in HL7Escaping.encode(value, delimiters: delimiters) }
        let placer = (order["identifier"]?.arrayValue ?? []).compactMap { $0.objectValue }
            .first { $0["system"]?.stringValue == ResultsVocabulary.placerSystem }?["value"]?.stringValue ?? ""
        let coding = order["code"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue
        let code = coding?["code"]?.stringValue ?? ""
        let display = coding?["display"]?.stringValue ?? order["code"]?.objectValue?["text"]?.stringValue ?? ""
        let codeSystem = coding?["system"]?.stringValue == ResultsVocabulary.npuSystem ? "NPU" : "L"
        let stamp = HL7Acknowledgement.timestamp(now)
        let (type, structure) = route.message == "OML^O21" ? ("OML^O21", "OML_O21") : ("ORM^O01", "ORM_O01")
        var segments = ["MSH|^~\\&|KARNA|\(e(unitName))|\(e(route.receivingApplication))||\(stamp)||\(type)^\(structure)|\(controlID)|P|2.5|||AL|NE||\(charset)"]
        // PID: the identifiers the patient has (personnummer, samordningsnummer or reservnummer), name, birth, sex.
        let identifiers = (patient["identifier"]?.arrayValue ?? []).compactMap { $0.objectValue }.compactMap { item -> String? in
            guard let value = item["value"]?.stringValue, let system = item["system"]?.stringValue else { return nil }
            let kind = system == SwedishPersonalIdentity.personnummerSystem ? "PNR" : system == SwedishPersonalIdentity.samordningsnummerSystem ? "SNR"
                : system == Reservnummer.system ? "RNR" : nil
            return kind.map { "\(e(value))^^^^\($0)" }
        }.joined(separator: "~")
        let name = patient["name"]?.arrayValue?.first?.objectValue
        let family = name?["family"]?.stringValue ?? ""
        let given = (name?["given"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")
        let birth = (patient["birthDate"]?.stringValue ?? "").replacingOccurrences(of: "-", with: "")
        let sex = ["male": "M", "female": "F", "other": "O", "unknown": "U"][patient["gender"]?.stringValue ?? ""] ?? "U"
        segments.append("PID|1||\(identifiers)||\(e(family))^\(e(given))||\(birth)|\(sex)")
        let provider = "\(e(requester.hsa))^\(e(requester.name))"
        segments.append("ORC|\(control)|\(e(placer))|||||||\(stamp)|||\(provider)|||||\(e(unitName))")
        let priority = ["stat": "S", "asap": "A", "urgent": "A", "routine": "R"][order["priority"]?.stringValue ?? "routine"] ?? "R"
        if route.message == "OML^O21" { segments.append("TQ1|1||||||||\(priority)") }
        let specimen = (order["contained"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["resourceType"]?.stringValue == "Specimen" }
        let specimenType = specimen?["type"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue
        let container = specimen?["container"]?.arrayValue?.first?.objectValue
        let volume = container?["specimenQuantity"]?.objectValue?["value"]?.numberText
        // The specimen's kind (HL7 0487 code and words) and tube, escaped once for whichever segment carries them.
        let kindCode = e(specimenType?["code"]?.stringValue ?? ""), kindWords = e(specimenType?["display"]?.stringValue ?? "")
        let tube = e(container?["description"]?.stringValue ?? "")
        var obr = Array(repeating: "", count: 17)
        obr[0] = "OBR"
        obr[1] = "1"
        obr[2] = e(placer)
        obr[4] = "\(e(code))^\(e(display))^\(codeSystem)"
        obr[6] = stamp
        obr[16] = provider
        if route.message == "ORM^O01" {
            obr[5] = priority
            // ORM^O01 has no specimen segment: the kind is OBR-15 (specimen source: the HL7 0487 code, its words, the
            // table; the tube as the additive's text) and the volume OBR-9, as labs on the older message read them.
            if specimen != nil { obr[15] = "\(kindCode)&\(kindWords)&HL70487^&\(tube)" }
            if let volume { obr[9] = "\(volume)^mL" }
        }
        segments.append(obr.joined(separator: "|"))
        for note in order["note"]?.arrayValue ?? [] {
            if let text = note.objectValue?["text"]?.stringValue { segments.append("NTE|1||\(e(text))") }
        }
        // OML^O21's specimen group: SPM-2 the placer number, SPM-4 the kind (HL7 0487), SPM-12 the volume, SPM-27 the tube.
        if route.message == "OML^O21", specimen != nil {
            var fields = Array(repeating: "", count: 28)
            fields[0] = "SPM"
            fields[1] = "1"
            fields[2] = e(placer)
            fields[4] = "\(kindCode)^\(kindWords)^HL70487"
            if let volume { fields[12] = "\(volume)^mL" }
            fields[27] = "^\(tube)"
            segments.append(fields.joined(separator: "|"))
        }
        return segments.joined(separator: "\r") + "\r"
    }
}
