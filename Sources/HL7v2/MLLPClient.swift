public import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Sends one HL7 v2 message over MLLP and waits for the one frame that answers it (the ACK): a connection
/// per message, as the labs' own interface engines do, so no state is shared between sends.
public enum MLLPClient {
    /// Why no answer came.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        /// Nothing took the connection (refused, no route, the name does not resolve).
        case unreachable(String)
        /// Connected, but no answer in time.
        case timeout(seconds: Double)
        /// The other end closed without answering.
        case closedWithoutAnswer
        /// The TLS handshake failed: the lab's certificate is not trusted or not for this host, or the lab refused Kärna's.
        case tls(String)

        public var description: String {
            switch self {
            case .unreachable(let why): "the lab's MLLP port could not be reached: \(why)"
            case .timeout(let seconds): "the lab did not answer within \(Int(seconds)) s"
            case .closedWithoutAnswer: "the lab closed the connection without an answer"
            case .tls(let why): "TLS with the lab failed (certificate?): \(why)"
            }
        }
    }

    /// MLLP over TLS to a lab: the lab's certificate verified against the region's CA (and its name or IP address),
    /// TLS 1.2 or later, and Kärna's own certificate when the lab asks for one. Read once, when the channels load.
    public struct TLS: Sendable {
        let context: NIOSSLContext
        /// The name the lab's certificate must carry; the host connected to when unset (an IP address is checked
        /// against the certificate's IP addresses).
        public let serverName: String?

        /// Why TLS settings cannot be used, naming the file.
        public struct SettingsError: Error, CustomStringConvertible {
            public let description: String
        }

        public init(caFile: String, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil) throws {
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.minimumTLSVersion = .tlsv12
            settings.certificateVerification = .fullVerification
            do { settings.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) } catch {
                throw SettingsError(description: "ca \(caFile) holds no PEM certificate: \(error)")
            }
            switch (certificateFile, keyFile) {
            case (nil, nil): break
            case let (certificate?, key?):
                do { settings.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) } } catch {
                    throw SettingsError(description: "certificate \(certificate) holds no PEM certificate: \(error)")
                }
                do { settings.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)) } catch {
                    throw SettingsError(description: "key \(key) holds no PEM private key: \(error)")
                }
            default:
                throw SettingsError(description: "a client certificate needs both certificate and key")
            }
            do { context = try NIOSSLContext(configuration: settings) } catch {
                throw SettingsError(description: "the settings do not make a TLS context (does the key belong to the certificate?): \(error)")
            }
            self.serverName = serverName
        }
    }

    /// Sends `payload` framed to `host:port` (over TLS when given); answers the first frame that comes back, unframed.
    public static func exchange(_ payload: [UInt8], host: String, port: Int, timeoutSeconds: Double, tls: TLS? = nil) async throws -> [UInt8] {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        // SNI takes names only: an IP address is left out and checked against the certificate's IP addresses instead.
        let serverName = tls?.serverName ?? (host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" } ? nil : host)
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(Int64(timeoutSeconds * 1_000)))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: serverName))
                        }
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure.unreachable("\(host):\(port): \(error)")
        }
        return try await withThrowingTaskGroup(of: [UInt8].self) { group in
            group.addTask {
                do {
                    return try await channel.executeThenClose { inbound, outbound in
                        try await outbound.write(ByteBuffer(bytes: MLLPFramer.frame(payload)))
                        var framer = MLLPFramer()
                        for try await buffer in inbound {
                            if let frame = try framer.append(buffer.readableBytesView).first { return frame }
                        }
                        throw Failure.closedWithoutAnswer
                    }
                } catch let error as NIOSSLError {
                    throw Failure.tls("\(error)")
                } catch let error as BoringSSLError {
                    throw Failure.tls("\(error)")
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(timeoutSeconds * 1_000)))
                channel.channel.close(promise: nil)
                throw Failure.timeout(seconds: timeoutSeconds)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}
