import FHIRCore
public import HL7v2
public import Foundation

/// A lab or imaging system Kärna exchanges HL7 v2 with (a kanal): who it is, how it writes and where what
/// cannot be matched goes. Data, not code: a region lists its labs in its own file.
public struct LabChannel: Codable, Sendable, Equatable {
    /// Kärna's name for the channel (in record ids and logs).
    public var id: String
    /// What users read.
    public var name: String
    /// MSH-3 (its first component) that the lab sends with: how a received message finds its channel.
    public var sendingApplication: String
    /// The character set when a message's MSH-18 is empty (`8859/1`, `UNICODE UTF-8`, `ASCII`).
    public var defaultCharset: String
    /// The system of the lab's own analysis codes, kept beside the NPU code.
    public var localCodeSystem: String
    /// The lab's own code → the NPU code, for a lab that does not send NPU itself.
    public var codes: [String: String]
    /// What each analysis needs drawn (provtagningsanvisning), by NPU code: written on the order and sent as SPM.
    public var specimens: [String: SpecimenNeed]?
    /// Who answers for results that match no order: a unit and the role there.
    public var unmatched: Owner
    /// Where the channel's orders go, when Kärna sends it orders.
    public var orders: OrderRoute?

    /// The lab's order port and what it takes: a kind (lab, bild), and the codes when not every code of it.
    public struct OrderRoute: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
        /// `OML^O21` (HL7 2.5 lab order) or `ORM^O01` (the older general order, for labs that need it).
        public var message: String
        /// MSH-5, the receiving application.
        public var receivingApplication: String
        /// The character set orders are written in (MSH-18); the channel's default when unset.
        public var charset: String?
        /// `lab` or `bild`.
        public var kind: String
        /// The order codes this channel takes; unset, every code of `kind` no other channel names.
        public var codes: [String]?
        /// MLLP over TLS to the lab; plain MLLP when unset.
        public var tls: TLSFiles?
    }

    /// The files of a TLS route (PEM; a relative path is read from the channel file's folder): the CA the lab's
    /// certificate must chain to, Kärna's certificate and key when the lab asks for one, and the name the lab's
    /// certificate must carry when it is not the host.
    public struct TLSFiles: Codable, Sendable, Equatable {
        public var ca: String
        public var certificate: String?
        public var key: String?
        public var serverName: String?
    }

    /// The specimen an analysis needs: its kind (HL7 table 0487: `PLAS`, `SER`, `BLDV`, `UR` …) in words too, the
    /// tube or container, the least volume and how the patient prepares (fasting, say).
    public struct SpecimenNeed: Codable, Sendable, Equatable {
        public var type: String
        public var display: String
        public var container: String
        public var volumeML: Double?
        public var preparation: String?
    }

    /// A unit (Organization id) and the role at it that owns a list.
    public struct Owner: Codable, Sendable, Equatable {
        public var unit: String
        public var role: String
    }
}

/// The channels Kärna knows, read from a data file (the shipped demonstration file unless a region gives its own).
public struct LabChannels: Sendable {
    public var channels: [LabChannel]
    /// The TLS of each channel whose order route has it, by channel id: read when the file loads, so a missing or
    /// wrong file stops the start.
    public var tls: [String: MLLPClient.TLS]

    public init(_ channels: [LabChannel], tls: [String: MLLPClient.TLS] = [:]) {
        self.channels = channels
        self.tls = tls
    }

    /// The channel whose lab sends with `application` (MSH-3).
    public func channel(sendingApplication application: String) -> LabChannel? {
        channels.first { $0.sendingApplication.caseInsensitiveCompare(application) == .orderedSame }
    }

    public func channel(id: String) -> LabChannel? { channels.first { $0.id == id } }

    /// The channel an order of `kind` for `code` goes to: the one naming the code, else the one taking every code of the kind.
    public func route(kind: String, code: String) -> LabChannel? {
        channels.first { $0.orders?.kind == kind && $0.orders?.codes?.contains(code) == true }
            ?? channels.first { $0.orders?.kind == kind && $0.orders?.codes == nil }
    }

    /// Why a channel file could not be used, naming the file and the problem.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads a channel file; every problem names the file and the channel.
    public static func load(from url: URL) throws -> LabChannels {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw LoadError(description: "cannot read the lab channel file \(url.path): \(error.localizedDescription)") }
        struct File: Decodable { var channels: [LabChannel] }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw LoadError(description: "the lab channel file \(url.path) is not valid: \(error)")
        }
        var seen = Set<String>()
        var tls: [String: MLLPClient.TLS] = [:]
        let folder = url.deletingLastPathComponent()
        func resolved(_ path: String) -> String { path.hasPrefix("/") ? path : folder.appendingPathComponent(path).path }
        for channel in file.channels {
            guard seen.insert(channel.id).inserted else { throw LoadError(description: "\(url.path): two channels have the id \(channel.id)") }
            guard HL7Charset.known[channel.defaultCharset.uppercased()] != nil else {
                throw LoadError(description: "\(url.path): channel \(channel.id) has defaultCharset \(channel.defaultCharset); use one of \(HL7Charset.known.keys.sorted().joined(separator: ", "))")
            }
            for (local, npu) in channel.codes where !npu.hasPrefix("NPU") {
                throw LoadError(description: "\(url.path): channel \(channel.id) maps \(local) to \(npu), which is not an NPU code")
            }
            for (code, need) in channel.specimens ?? [:] {
                let at = "\(url.path): channel \(channel.id), specimens, \(code)"
                guard !need.type.isEmpty, !need.display.isEmpty, !need.container.isEmpty else {
                    throw LoadError(description: "\(at): type, display and container are required")
                }
                if let volume = need.volumeML, !(volume > 0) { throw LoadError(description: "\(at): volumeML must be above 0; got \(volume)") }
            }
            if let route = channel.orders {
                let at = "\(url.path): channel \(channel.id), orders"
                guard (1...65_535).contains(route.port), !route.host.isEmpty else { throw LoadError(description: "\(at): host and a port 1–65535 are required; got '\(route.host)':\(route.port)") }
                guard ["OML^O21", "ORM^O01"].contains(route.message) else { throw LoadError(description: "\(at): message must be OML^O21 or ORM^O01; got \(route.message)") }
                guard ["lab", "bild"].contains(route.kind) else { throw LoadError(description: "\(at): kind must be lab or bild; got \(route.kind)") }
                if let charset = route.charset, HL7Charset.known[charset.uppercased()] == nil {
                    throw LoadError(description: "\(at): charset \(charset) is not one of \(HL7Charset.known.keys.sorted().joined(separator: ", "))")
                }
                guard !route.receivingApplication.isEmpty else { throw LoadError(description: "\(at): receivingApplication (MSH-5) is required") }
                if let files = route.tls {
                    do {
                        tls[channel.id] = try MLLPClient.TLS(caFile: resolved(files.ca), certificateFile: files.certificate.map(resolved),
                                                             keyFile: files.key.map(resolved), serverName: files.serverName)
                    } catch {
                        throw LoadError(description: "\(at), tls: \(error)")
                    }
                }
            }
        }
        // Each order must have one way to go: two channels taking the same code, or every code of a kind, is refused.
        var claimed: [String: String] = [:]
        for channel in file.channels {
            guard let route = channel.orders else { continue }
            for key in (route.codes ?? ["*"]).map({ "\(route.kind):\($0)" }) {
                if let other = claimed[key] {
                    throw LoadError(description: "\(url.path): channels \(other) and \(channel.id) both take \(key.replacingOccurrences(of: ":*", with: " (every code)")) orders; an order must have one route")
                }
                claimed[key] = channel.id
            }
        }
        return LabChannels(file.channels, tls: tls)
    }

    /// The demonstration channels shipped with Kärna.
    public static func shipped() throws -> LabChannels {
        guard let url = Bundle.module.url(forResource: "lab-channels", withExtension: "json", subdirectory: "ResultsData") else {
            throw LoadError(description: "the shipped lab channel file is missing from the Results bundle")
        }
        return try load(from: url)
    }
}
