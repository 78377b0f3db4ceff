public import Foundation
#if canImport(FoundationNetworking)
public import FoundationNetworking
#endif

/// A DICOMweb client for the PACS (QIDO-RS to find studies, WADO-RS to read their metadata and retrieve them),
/// as Orthanc's DICOMweb plugin and every current PACS serve them. Knows no Kärna record.
public struct DICOMwebClient: Sendable {
    /// The DICOMweb root, e.g. `http://pacs:8042/dicom-web`.
    public let baseURL: URL
    public let timeoutSeconds: Double

    public init(baseURL: URL, timeoutSeconds: Double = 10) {
        self.baseURL = baseURL
        self.timeoutSeconds = timeoutSeconds
    }

    /// What the PACS holds of one study.
    public struct Study: Sendable, Equatable {
        public var studyInstanceUID: String
        public var accessionNumber: String
        public var date: String?
        public var description: String?
        public var modalities: [String]
        public var numberOfSeries: Int?
        public var numberOfInstances: Int?
    }

    /// One series of a study, from its metadata.
    public struct Series: Sendable, Equatable {
        public var seriesInstanceUID: String
        public var modality: String?
        public var description: String?
        public var number: Int?
        public var instances: [String]
    }

    /// Why the PACS could not answer.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// QIDO-RS: the studies with this accession number.
    public func studies(accessionNumber: String) async throws -> [Study] {
        var components = URLComponents(url: baseURL.appendingPathComponent("studies"), resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "AccessionNumber", value: accessionNumber),
                                 URLQueryItem(name: "includefield", value: "00081030,00080061,00201206,00201208")]
        let data = try await get(components.url!, accept: "application/dicom+json")
        return try Self.datasets(data).compactMap { dataset in
            guard let uid = Self.string(dataset, "0020000D") else { return nil }
            return Study(studyInstanceUID: uid, accessionNumber: Self.string(dataset, "00080050") ?? "", date: Self.string(dataset, "00080020"),
                         description: Self.string(dataset, "00081030"), modalities: Self.strings(dataset, "00080061"),
                         numberOfSeries: Self.int(dataset, "00201206"), numberOfInstances: Self.int(dataset, "00201208"))
        }
    }

    /// WADO-RS metadata: the study's series and their instances.
    public func series(studyInstanceUID: String) async throws -> [Series] {
        let data = try await get(baseURL.appendingPathComponent("studies/\(studyInstanceUID)/metadata"), accept: "application/dicom+json")
        var bySeries: [String: Series] = [:]
        for dataset in try Self.datasets(data) {
            guard let seriesUID = Self.string(dataset, "0020000E") else { continue }
            var series = bySeries[seriesUID] ?? Series(seriesInstanceUID: seriesUID, modality: Self.string(dataset, "00080060"),
                                                       description: Self.string(dataset, "0008103E"), number: Self.int(dataset, "00200011"), instances: [])
            if let instance = Self.string(dataset, "00080018") { series.instances.append(instance) }
            bySeries[seriesUID] = series
        }
        return bySeries.values.sorted { ($0.number ?? 0, $0.seriesInstanceUID) < ($1.number ?? 0, $1.seriesInstanceUID) }
    }

    /// WADO-RS: the whole study as the PACS sends it (multipart/related of application/dicom), with its content type.
    public func retrieve(studyInstanceUID: String) async throws -> (data: Data, contentType: String) {
        var request = URLRequest(url: baseURL.appendingPathComponent("studies/\(studyInstanceUID)"), timeoutInterval: timeoutSeconds * 6)
        request.setValue("multipart/related; type=\"application/dicom\"", forHTTPHeaderField: "Accept")
        let (data, response) = try await send(request)
        return (data, (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type") ?? "application/octet-stream")
    }

    private func get(_ url: URL, accept: String) async throws -> Data {
        var request = URLRequest(url: url, timeoutInterval: timeoutSeconds)
        request.setValue(accept, forHTTPHeaderField: "Accept")
        return try await send(request).0
    }

    private func send(_ request: URLRequest) async throws -> (Data, URLResponse) {
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw Failure(description: "the PACS (\(baseURL.absoluteString)) could not be reached: \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw Failure(description: "the PACS answered \(status) to \(request.url?.path ?? "")")
        }
        return (data, response)
    }

    // MARK: DICOM JSON (PS3.18 F.2): {"0020000D": {"vr": "UI", "Value": ["1.2…"]}}

    static func datasets(_ data: Data) throws -> [[String: Any]] {
        if data.isEmpty { return [] }
        guard let array = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw Failure(description: "the PACS answered something other than DICOM JSON")
        }
        return array
    }

    static func values(_ dataset: [String: Any], _ tag: String) -> [Any] {
        ((dataset[tag] as? [String: Any])?["Value"] as? [Any]) ?? []
    }

    static func string(_ dataset: [String: Any], _ tag: String) -> String? {
        values(dataset, tag).first.flatMap { $0 as? String ?? ($0 as? NSNumber)?.stringValue }
    }

    static func strings(_ dataset: [String: Any], _ tag: String) -> [String] { values(dataset, tag).compactMap { $0 as? String } }

    static func int(_ dataset: [String: Any], _ tag: String) -> Int? {
        values(dataset, tag).first.flatMap { ($0 as? NSNumber)?.intValue ?? ($0 as? String).flatMap(Int.init) }
    }
}
