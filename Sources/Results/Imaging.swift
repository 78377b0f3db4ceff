public import Access
public import DICOMwebClient
public import FHIRCore
public import Foundation
public import StoreModel

/// Imaging (bild- och funktionsmedicin): an imaging order expects an ImagingStudy with its accession number;
/// the PACS is asked over DICOMweb (QIDO-RS by accession number) until the study is there, its series are read
/// with WADO-RS, and the chart links to it. The radiology report arrives as ORU^R01 on the RIS channel or as a
/// FHIR DiagnosticReport (`$submit-report`), and is signed like a lab result.
public struct Imaging: Sendable {
    /// The PACS, when one is configured (`dicomweb-url`).
    public let pacs: DICOMwebClient?

    public init(pacs: DICOMwebClient? = nil) {
        self.pacs = pacs
    }

    public static let accessionSystem = "https://karna.se/fhir/NamingSystem/accessionsnummer"
    /// The PACS as a FHIR Endpoint, referenced from each ImagingStudy.
    public static let endpointID = "pacs"

    static func studyID(orderID: String) -> String { "bild-\(orderID)".prefix(64).description }

    /// The writes an imaging order brings: the ImagingStudy it expects (and the PACS Endpoint the first time).
    func expectedStudy(orderID: String, accession: String, patientID: String, unitID: String?, session: PatientDataSession) async throws -> [WriteOperation] {
        var writes: [WriteOperation] = []
        var study = JSONObject([
            ("resourceType", .string("ImagingStudy")), ("status", .string("registered")),
            ("identifier", .array([FHIR.object([
                ("type", FHIR.concept("http://terminology.hl7.org/CodeSystem/v2-0203", "ACSN", "Accession ID")),
                ("system", .string(Self.accessionSystem)), ("value", .string(accession)),
            ])])),
            ("subject", FHIR.reference("Patient", patientID)),
            ("basedOn", .array([FHIR.reference("ServiceRequest", orderID)])),
        ])
        if let pacs {
            study["endpoint"] = .array([FHIR.reference("Endpoint", Self.endpointID)])
            if try await session.read(type: "Endpoint", id: Self.endpointID) == nil {
                writes.append(.update(JSONObject([
                    ("resourceType", .string("Endpoint")), ("id", .string(Self.endpointID)), ("status", .string("active")),
                    ("name", .string("PACS (DICOMweb)")),
                    ("connectionType", FHIR.coding("http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "dicom-wado-rs", "DICOM WADO-RS")),
                    ("payloadType", .array([FHIR.text("DICOM")])), ("address", .string(pacs.baseURL.absoluteString)),
                ]), type: "Endpoint", id: Self.endpointID))
            }
        }
        if let unitID { study = RecordTags.tagged(study, unit: unitID) }
        writes.append(.create(study, type: "ImagingStudy", id: Self.studyID(orderID: orderID)))
        return writes
    }

    /// The accession number the study is expected by.
    public static func accession(_ study: JSONObject) -> String? {
        (study["identifier"]?.arrayValue ?? []).compactMap { $0.objectValue }.first { $0["system"]?.stringValue == accessionSystem }?["value"]?.stringValue
    }

    /// Asks the PACS for the study by its accession number (QIDO-RS) and records what it holds: the study
    /// instance UID, modalities, series and instances, and `available`. The outbox job refreshes waiting studies
    /// too, so a clinician's refresh can race it: the step is re-read and reapplied on a version conflict, and
    /// a study the PACS has nothing new for is not written again.
    public func refresh(studyID: String, session: PatientDataSession) async throws -> StoredResource {
        try await retryingConflicts { try await refreshOnce(studyID: studyID, session: session) }
    }

    private func refreshOnce(studyID: String, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        let stored = try await records.require("ImagingStudy", studyID)
        guard let pacs, let accession = Self.accession(stored.object) else { return stored }
        guard let found = try await pacs.studies(accessionNumber: accession).first else { return stored }
        var study = stored.object
        study["status"] = .string("available")
        var identifiers = (study["identifier"]?.arrayValue ?? []).filter { $0.objectValue?["system"]?.stringValue != "urn:dicom:uid" }
        identifiers.append(FHIR.object([("system", .string("urn:dicom:uid")), ("value", .string("urn:oid:\(found.studyInstanceUID)"))]))
        study["identifier"] = .array(identifiers)
        if let date = found.date, date.count == 8 {
            study["started"] = .string("\(date.prefix(4))-\(date.dropFirst(4).prefix(2))-\(date.suffix(2))")
        }
        if let description = found.description { study["description"] = .string(description) }
        study["modality"] = found.modalities.isEmpty ? nil : .array(found.modalities.map { FHIR.coding("http://dicom.nema.org/resources/ontology/DCM", $0) })
        let series = try await pacs.series(studyInstanceUID: found.studyInstanceUID)
        study["numberOfSeries"] = .number(String(found.numberOfSeries ?? series.count))
        study["numberOfInstances"] = .number(String(found.numberOfInstances ?? series.reduce(0) { $0 + $1.instances.count }))
        study["series"] = series.isEmpty ? nil : .array(series.map { item in
            FHIR.object([("uid", .string(item.seriesInstanceUID)), ("number", item.number.map { .number(String($0)) }),
                         ("modality", FHIR.coding("http://dicom.nema.org/resources/ontology/DCM", item.modality ?? "OT")),
                         ("description", item.description.map { .string($0) }), ("numberOfInstances", .number(String(item.instances.count))),
                         ("instance", .array(item.instances.map { FHIR.object([("uid", .string($0)),
                                                                              ("sopClass", FHIR.coding("urn:ietf:rfc:3986", "urn:oid:1.2.840.10008.5.1.4.1.1.2"))]) }))])
        })
        var unchanged = stored.object
        unchanged["meta"] = nil
        var changed = study
        changed["meta"] = nil
        guard changed != unchanged else { return stored }
        _ = try await session.commit(.update(study, type: "ImagingStudy", id: studyID, ifMatch: stored.versionId))
        return try await records.require("ImagingStudy", studyID)
    }

    /// Studies still expected (registered): asked for again, each run of the job. Answers how many arrived.
    public func refreshWaiting(session: PatientDataSession) async throws -> Int {
        guard pacs != nil else { return 0 }
        let waiting = try await Records(session: session).all("ImagingStudy", [("status", "registered")], maximum: 200)
        var arrived = 0
        for study in waiting {
            if try await refresh(studyID: study.id, session: session).object["status"]?.stringValue == "available" { arrived += 1 }
        }
        return arrived
    }

    /// The study's DICOM instance UID, once the PACS has it.
    public static func studyInstanceUID(_ study: JSONObject) -> String? {
        (study["identifier"]?.arrayValue ?? []).compactMap { $0.objectValue }.first { $0["system"]?.stringValue == "urn:dicom:uid" }?["value"]?
            .stringValue?.replacingOccurrences(of: "urn:oid:", with: "")
    }

    /// The whole study from the PACS (WADO-RS), read through the gateway first so the access is decided and audited.
    public func retrieve(studyID: String, session: PatientDataSession) async throws -> (data: Data, contentType: String) {
        let study = try await Records(session: session).require("ImagingStudy", studyID)
        guard let pacs else { throw FHIRError(.unsupported, code: .notSupported, "no PACS is configured (dicomweb-url)") }
        guard let uid = Self.studyInstanceUID(study.object) else {
            throw FHIRError(.notFound, code: .notFound, "ImagingStudy/\(studyID) is not in the PACS yet", text: "Bilderna finns inte i bildarkivet ännu.")
        }
        return try await pacs.retrieve(studyInstanceUID: uid)
    }
}
