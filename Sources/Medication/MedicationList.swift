public import Access
public import FHIRCore
public import StoreModel
import Terminology

/// The läkemedelslista: every drug the patient has now, one row per substance, whatever its source —
/// inpatient ordinations, prescriptions, dose-dispensed items and what the patient reports taking
/// (MedicationStatement). It is a view computed at each read, not a stored List: the ordinations and
/// statements are the truth, and a second copy would drift from them (a FHIR List is a snapshot someone
/// must keep current). The same substance from two sources is one row naming both.
public struct MedicationList: Sendable {
    /// One source of a row: the record, what kind of source it is, and what it says.
    public struct Source: Sendable {
        public var reference: String
        /// slutenvard | forskrivning | dosdispensering | ordination | patientuppgift | annan
        public var kind: String
        public var label: String
        public var reason: String?
        public var ordinator: String?
        /// The ordinator as a reference (`PractitionerRole/…`), for a page that shows the name.
        public var ordinatorReference: String?
        public var start: String?
        public var plannedEnd: String?
        public var dosage: String
    }

    /// One substance on the list.
    public struct Row: Sendable {
        public var atc: String?
        public var name: String
        public var sources: [Source]
    }

    public var rows: [Row]
    /// Läkemedelsgenomgång (enkel) is due: 75 years or older with five or more drugs (Socialstyrelsen, HSLF-FS 2017:37),
    /// and none recorded during the stay (or, without a stay, within the configured days).
    public var reviewIndicated: Bool
    public var age: Int?
    /// The latest recorded läkemedelsgenomgång (a Procedure coded KVÅ XV015 or XV016), if any.
    public var lastReview: MedicationReview.Recorded?

    /// The extension that marks an item as dose-dispensed (dosdispenserat).
    public static let doseDispensedExtension = "https://karna.se/fhir/StructureDefinition/dosdispenserad"

    /// The patient's list, read as one look at the chart (one audit record).
    public static func read(patientID: String, session: PatientDataSession, reviewValidDays: Int = 365) async throws -> MedicationList {
        let found = try await session.search(together: [
            (try SearchQuery.parse(type: "Procedure", parameters: [("patient", "Patient/\(patientID)"), ("code", MedicationReview.codes),
                                                                   ("_sort", "-date")], strict: true), 1),
            (try InpatientStay.query(patientID: patientID), 1),
            (try SearchQuery.parse(type: "Patient", parameters: [("_id", patientID)], strict: true), 1),
            (try SearchQuery.parse(type: "MedicationRequest", parameters: [("patient", "Patient/\(patientID)"), ("status", "active,on-hold"),
                                                                           ("intent", "order,original-order,instance-order")], strict: true), 500),
            (try SearchQuery.parse(type: "MedicationStatement", parameters: [("patient", "Patient/\(patientID)"), ("status", "active,intended")], strict: true), 500),
        ])
        guard let patient = found[2].first else {
            throw FHIRError(.notFound, code: .notFound, "Patient/\(patientID) does not exist")
        }
        var list = make(patient: patient.object, requests: found[3], statements: found[4])
        if let review = found[0].first.map(MedicationReview.Recorded.init) {
            list.lastReview = review
            // A review answers the flag when made during the stay, or (without one) recently enough.
            let since = found[1].first?.object["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse)
                ?? Instant.now() - Int64(reviewValidDays) * 86_400_000
            if let at = review.at.flatMap(Instant.parse), at >= since { list.reviewIndicated = false }
        }
        return list
    }

    /// The rows from the records, grouped by ATC substance (or by name when uncoded), sorted by name.
    public static func make(patient: JSONObject?, requests: [StoredResource], statements: [StoredResource]) -> MedicationList {
        var rows: [Row] = []
        var index: [String: Int] = [:]
        for record in requests + statements {
            let object = record.object
            let atc = object.code("medicationCodeableConcept", system: KnownSystems.atc)
            let name = Display.concept(object["medicationCodeableConcept"])
            let key = atc ?? "name:" + name.lowercased()
            let source = Self.source(record)
            if let at = index[key] {
                rows[at].sources.append(source)
            } else {
                index[key] = rows.count
                rows.append(Row(atc: atc, name: name, sources: [source]))
            }
        }
        rows.sort { $0.name.lowercased() < $1.name.lowercased() }
        let age = patient.flatMap(Display.age)
        return MedicationList(rows: rows, reviewIndicated: (age ?? 0) >= 75 && rows.count >= 5, age: age)
    }

    static func source(_ record: StoredResource) -> Source {
        let object = record.object
        let reference = "\(record.type)/\(record.id)"
        let reason = object["reasonCode"]?.arrayValue?.first.map { Display.concept($0) } ?? object["reasonReference"]?.arrayValue?.first.map { Display.reference($0) }
        if record.type == "MedicationStatement" {
            let informant = object["informationSource"]?.objectValue?["reference"]?.stringValue ?? ""
            let fromPatient = informant.hasPrefix("Patient/") || informant.hasPrefix("RelatedPerson/") || informant.isEmpty
            let period = object["effectivePeriod"]?.objectValue
            return Source(reference: reference, kind: fromPatient ? "patientuppgift" : "annan", label: fromPatient ? "Patientens uppgift" : "Annan källa",
                          reason: reason, ordinator: fromPatient ? nil : object["informationSource"].map { Display.reference($0) },
                          ordinatorReference: fromPatient ? nil : object["informationSource"]?.objectValue?["reference"]?.stringValue,
                          start: period?["start"]?.stringValue ?? object["effectiveDateTime"]?.stringValue, plannedEnd: period?["end"]?.stringValue,
                          dosage: DosageText.swedish(object["dosage"]?.arrayValue ?? []))
        }
        let category = object.code("category", system: "http://terminology.hl7.org/CodeSystem/medicationrequest-category")
        var (kind, label): (String, String)
        if object.extensionValue(doseDispensedExtension)?.boolValue == true {
            (kind, label) = ("dosdispensering", "Dosdispenserat")
        } else if category == "inpatient" {
            (kind, label) = ("slutenvard", "Ordination, slutenvård")
        } else if ["outpatient", "community", "discharge"].contains(category ?? "") {
            (kind, label) = ("forskrivning", "Förskrivning")
        } else {
            (kind, label) = ("ordination", "Ordination")
        }
        if OrdinationRule.isUnconfirmed(object) {
            // A verbal order in force before its ordinator has confirmed it says so wherever it is listed.
            (kind, label) = (kind, label + " (\(OrdinationRule.verbalOrder(object) == "telefon" ? "telefonordination" : "muntlig ordination"), obekräftad)")
        }
        let bounds = object["dosageInstruction"]?.arrayValue?.first?.objectValue?["timing"]?.objectValue?["repeat"]?.objectValue?["boundsPeriod"]?.objectValue
        let validity = object["dispenseRequest"]?.objectValue?["validityPeriod"]?.objectValue
        return Source(reference: reference, kind: kind, label: label, reason: reason, ordinator: object["requester"].map { Display.reference($0) },
                      ordinatorReference: object["requester"]?.objectValue?["display"] == nil ? object["requester"]?.objectValue?["reference"]?.stringValue : nil,
                      start: bounds?["start"]?.stringValue ?? validity?["start"]?.stringValue ?? object["authoredOn"]?.stringValue,
                      plannedEnd: bounds?["end"]?.stringValue ?? validity?["end"]?.stringValue,
                      dosage: DosageText.swedish(object["dosageInstruction"]?.arrayValue ?? []))
    }

    /// The list as `$medication-list` answers it: a `row` per substance with its `source` parts.
    public var parameters: ParametersBuilder {
        var out = ParametersBuilder()
        out.add("reviewIndicated", bool: reviewIndicated)
        if let age { out.add("age", int: age) }
        if let lastReview {
            var part = ParametersBuilder()
            part.add("procedure", reference: lastReview.reference)
            part.add("kind", lastReview.kind)
            part.add("date", lastReview.at)
            part.add("performer", lastReview.performer)
            out.add("lastReview", part: part)
        }
        for row in rows {
            var part = ParametersBuilder()
            part.add("substance", row.atc)
            part.add("name", row.name)
            for source in row.sources {
                var detail = ParametersBuilder()
                detail.add("record", reference: source.reference)
                detail.add("kind", source.kind)
                detail.add("label", source.label)
                detail.add("reason", source.reason)
                detail.add("ordinator", source.ordinator)
                detail.add("start", source.start)
                detail.add("plannedEnd", source.plannedEnd)
                detail.add("dosage", source.dosage.isEmpty ? nil : source.dosage)
                part.add("source", part: detail)
            }
            out.add("row", part: part)
        }
        return out
    }
}
