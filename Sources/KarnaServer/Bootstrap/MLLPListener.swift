import Access
import HL7v2
import Logging
import Metrics
import NIOCore
import NIOPosix
import NIOSSL
import Results
import ServiceLifecycle

/// Takes HL7 v2 over MLLP on the configured port: results (ORU^R01) from the labs of the channel file.
/// Each connection's messages are handled in the order sent; each is ACKed only after what it holds is
/// committed, so a sender that gets no ACK (a crash in between) resends, and the resend is stored once.
/// With a certificate and key configured the port takes MLLP over TLS only (1.2 or later), and with a client
/// CA only from labs whose certificate chains to it.
struct MLLPListener: Service {
    let services: KarnaServices
    let logger: Logger
    var tls: NIOSSLContext?

    /// What the MLLP port's TLS settings make, read at start: a missing or unreadable file stops the start, named.
    static func tlsContext(_ configuration: KarnaConfiguration) throws -> NIOSSLContext? {
        switch (configuration.mllpTLSCertificate, configuration.mllpTLSKey) {
        case (nil, nil):
            guard configuration.mllpTLSClientCA == nil else { throw TLSSettingsError("mllp-tls-client-ca is set without mllp-tls-certificate and mllp-tls-key") }
            return nil
        case (nil, _?), (_?, nil):
            throw TLSSettingsError("MLLP over TLS needs both mllp-tls-certificate and mllp-tls-key")
        case let (certificatePath?, keyPath?):
            let chain: [NIOSSLCertificate], key: NIOSSLPrivateKey
            do { chain = try NIOSSLCertificate.fromPEMFile(certificatePath) } catch {
                throw TLSSettingsError("mllp-tls-certificate \(certificatePath) holds no PEM certificate: \(error)")
            }
            do { key = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch {
                throw TLSSettingsError("mllp-tls-key \(keyPath) holds no PEM private key: \(error)")
            }
            guard !chain.isEmpty else { throw TLSSettingsError("mllp-tls-certificate \(certificatePath) holds no certificate") }
            var settings = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            settings.minimumTLSVersion = .tlsv12
            if let authority = configuration.mllpTLSClientCA {
                do { settings.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(authority)) } catch {
                    throw TLSSettingsError("mllp-tls-client-ca \(authority) holds no PEM certificate: \(error)")
                }
                settings.certificateVerification = .noHostnameVerification
            }
            do { return try NIOSSLContext(configuration: settings) } catch {
                throw TLSSettingsError("the MLLP TLS settings do not make a TLS context (does the key belong to the certificate?): \(error)")
            }
        }
    }

    /// A TLS setting that stops the start, saying which.
    struct TLSSettingsError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    func run() async throws {
        let configuration = services.configuration
        guard configuration.mllpPort > 0,
              let results = services.modules.compactMap({ $0 as? Results }).first else {
            // A service that returns ends the whole application: with no port it waits for the shutdown instead.
            try? await gracefulShutdown()
            return
        }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .bind(host: configuration.host, port: configuration.mllpPort) { [tls] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        Gauge(label: "karna.mllp.listening").record(1)
        logger.info("MLLP\(tls == nil ? "" : " over TLS\(configuration.mllpTLSClientCA == nil ? "" : " (client certificates required)")"): taking HL7 v2 on \(configuration.host):\(configuration.mllpPort) for \(results.ingest.channels.channels.map(\.id).joined(separator: ", "))")
        let limit = configuration.mllpMaxMessageBytes
        await cancelWhenGracefulShutdown {
            try? await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection, ingest: results.ingest, limit: limit) }
                    }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, ingest: ResultIngest, limit: Int) async {
        let peer = connection.channel.remoteAddress?.description ?? "unknown peer"
        // The channel's state for `/metrics`: how many lab connections are open now.
        let open = Meter(label: "karna.mllp.connections")
        open.increment()
        defer { open.decrement() }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var framer = MLLPFramer(maximumBytes: limit)
                for try await buffer in inbound {
                    for frame in try framer.append(buffer.readableBytesView) {
                        let session = services.gateway.session(.job("karna-mllp"), action: "hl7-result")
                        let receipt = await ingest.receive(frame, session: session)
                        try await outbound.write(ByteBuffer(bytes: MLLPFramer.frame(receipt.acknowledgement)))
                        log(receipt, peer: peer)
                    }
                }
            }
        } catch {
            logger.warning("MLLP: connection from \(peer) closed: \(error)")
        }
    }

    private func log(_ receipt: ResultIngest.Receipt, peer: String) {
        let channel = receipt.channel ?? "unknown channel"
        Counter(label: "karna.mllp.messages", dimensions: [("channel", receipt.channel ?? "unknown"), ("ack", receipt.code.rawValue)]).increment()
        switch receipt.code {
        case .accepted:
            logger.info("MLLP: \(receipt.controlID) from \(channel) stored\(receipt.duplicate ? " earlier (a resend)" : "") - AA")
            for alarm in receipt.alarms {
                logger.warning("MLLP alarm: a critical value from \(channel) - Task/\(alarm) for the responsible doctor")
            }
            if let task = receipt.unmatched {
                logger.warning("MLLP alarm: a result from \(channel) matched no order; it is on the omatchade svar list as Task/\(task)")
            }
        case .error, .rejected:
            logger.warning("MLLP: \(receipt.controlID) from \(channel) at \(peer) - \(receipt.code.rawValue): \(receipt.problem ?? "")")
        }
    }
}
