public import FHIRCore
import Foundation
public import StoreModel

/// A pregnancy as the record keeps it (graviditet): an EpisodeOfCare at the antenatal unit with the dating and the
/// parity; once she is admitted, the delivery ward's own record of it (the delivery Encounter, which the ward may
/// change and the antenatal unit may not) adds the birth, the children and the delivery record's signings.
public struct Pregnancy: Sendable {
    public var id: String
    public var versionId: Int
    public var patientID: String
    public var unitID: String
    /// The responsible midwife (careManager, a PractitionerRole), who owns the tasks the pregnancy's rules raise.
    public var midwifeID: String?
    public var status: String
    /// Days since 1970 of the registration, the last menstrual period and the expected date of delivery.
    public var registered: Int
    public var lastMenstrualPeriod: Int?
    public var dueDate: Int
    /// How the due date was set: ultraljud or sista-mens.
    public var dueDateMethod: String
    public var parity: Int
    public var gravidity: Int
    public var previousPregnancies: String?
    public var carePlanID: String?
    /// The delivery admission, once she is admitted.
    public var deliveryID: String?
    public var delivered: Int64?
    public var deliveryMode: String?
    public var childIDs: [String]
    public var finalSigned: Int64?
    public var archiveSigned: Int64?
    public var object: JSONObject

    public init?(_ stored: StoredResource) {
        let object = stored.object
        guard object.resourceType == "EpisodeOfCare", object.code("type", system: MaternityCodes.maternity) == MaternityCodes.pregnancy,
              let patient = object.referenceID("patient", type: "Patient"),
              let due = object.extensionValue(MaternityCodes.dueDate)?.stringValue.flatMap(SwedishTime.parseDay) else { return nil }
        id = stored.id
        versionId = stored.versionId
        patientID = patient
        unitID = object.referenceID("managingOrganization", type: "Organization") ?? ""
        midwifeID = object.referenceID("careManager", type: "PractitionerRole")
        status = object["status"]?.stringValue ?? ""
        registered = object["period"]?.objectValue?["start"]?.stringValue.flatMap { SwedishTime.parseDay(String($0.prefix(10))) } ?? due - 280
        lastMenstrualPeriod = object.extensionValue(MaternityCodes.lastMenstrualPeriod)?.stringValue.flatMap(SwedishTime.parseDay)
        dueDate = due
        dueDateMethod = object.extensionValue(MaternityCodes.dueDateMethod)?.stringValue ?? "sista-mens"
        parity = object.extensionValue(MaternityCodes.parity)?.numberText.flatMap(Int.init) ?? 0
        gravidity = object.extensionValue(MaternityCodes.gravidity)?.numberText.flatMap(Int.init) ?? 0
        previousPregnancies = object.extensionValue(MaternityCodes.previousPregnancies)?.stringValue
        carePlanID = object.extensionValue(MaternityCodes.programmePlan)?.objectValue?["reference"]?.stringValue.flatMap(ResourceKey.init(reference:))?.id
        childIDs = []
        self.object = object
    }

    /// With the delivery ward's record of the birth (the delivery Encounter).
    public mutating func apply(delivery encounter: StoredResource) {
        let object = encounter.object
        deliveryID = encounter.id
        delivered = object.extensionValue(MaternityCodes.delivered)?.stringValue.flatMap(Instant.parse)
        deliveryMode = object.extensionValue(MaternityCodes.deliveryMode)?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue
        childIDs = (object["extension"]?.arrayValue ?? []).compactMap { item -> String? in
            guard let item = item.objectValue, item["url"]?.stringValue == MaternityCodes.child else { return nil }
            return item["valueReference"]?.objectValue?["reference"]?.stringValue.flatMap(ResourceKey.init(reference:))?.id
        }
        finalSigned = object.extensionValue(MaternityCodes.finalSigned)?.stringValue.flatMap(Instant.parse)
        archiveSigned = object.extensionValue(MaternityCodes.archiveSigned)?.stringValue.flatMap(Instant.parse)
    }

    /// The pregnancy a delivery Encounter is linked to.
    public static func linked(_ encounter: JSONObject) -> String? {
        encounter["episodeOfCare"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue.flatMap(ResourceKey.init(reference:))?.id
    }

    /// The first day of the pregnancy by the due date (280 days before it): gestational age counts from here.
    public var dayZero: Int { dueDate - 280 }

    /// Completed days of pregnancy on a day.
    public func gestationalDays(on day: Int) -> Int { day - dayZero }

    /// Gestational age as a fraction of weeks on a day (for plotting and the rules).
    public func gestationalWeeks(on day: Int) -> Double { Double(gestationalDays(on: day)) / 7 }

    /// "v 25+3" on a day.
    public func gestationalAge(on day: Int) -> String { Pregnancy.format(days: gestationalDays(on: day)) }

    public static func format(days: Int) -> String { days < 0 ? "–" : "v \(days / 7)+\(days % 7)" }
}
