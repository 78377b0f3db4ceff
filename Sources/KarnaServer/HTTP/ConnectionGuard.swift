import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The limits one connection lives under (issue 31, item 9). Without them 1,100 idle sockets from one
/// client, under the common limit of 1,024 open files, locked everyone out, and slowloris connections
/// that trickle a header never ended.
public struct ConnectionLimits: Sendable, Equatable {
    /// Time from opening a connection to a complete request head.
    public var headerSeconds: Double
    /// Time from the request head to the end of its body.
    public var bodySeconds: Double
    /// Time a kept-alive connection may wait for its next request.
    public var idleSeconds: Double
    /// Open connections one client address may hold at once; further ones are closed at once.
    public var perClient: Int

    public init(headerSeconds: Double = 10, bodySeconds: Double = 60, idleSeconds: Double = 75, perClient: Int = 64) {
        self.headerSeconds = headerSeconds
        self.bodySeconds = bodySeconds
        self.idleSeconds = idleSeconds
        self.perClient = perClient
    }
}

/// Open connections per client address, shared by every connection of one server.
final class ConnectionCounts: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Counts one more connection of `address`; false (and not counted) when it already holds `limit`.
    func open(_ address: String, limit: Int) -> Bool {
        counts.withLock { counts in
            let now = counts[address, default: 0]
            guard now < limit else { return false }
            counts[address] = now + 1
            return true
        }
    }

    func close(_ address: String) {
        counts.withLock { counts in
            let left = counts[address, default: 1] - 1
            counts[address] = left > 0 ? left : nil
        }
    }

    func count(_ address: String) -> Int { counts.withLock { $0[address, default: 0] } }
}

/// Closes a connection that does not send its request head, its body or its next request in time,
/// and refuses one past its client's connection limit. Sits right after the HTTP decoder, so it sees
/// whole heads: a head trickled byte by byte is never complete and runs into the header deadline.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Phase { case waitingForHead, readingBody, responding }

    private let limits: ConnectionLimits
    private let counts: ConnectionCounts
    private let logger: Logger
    private var phase = Phase.waitingForHead
    private var deadline: Scheduled<Void>?
    private var countedAddress: String?

    init(limits: ConnectionLimits, counts: ConnectionCounts, logger: Logger) {
        self.limits = limits
        self.counts = counts
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { opened(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        opened(context: context)
        context.fireChannelActive()
    }

    private func opened(context: ChannelHandlerContext) {
        guard countedAddress == nil else { return }
        if let address = context.channel.remoteAddress?.ipAddress {
            guard counts.open(address, limit: limits.perClient) else {
                logger.notice("refused a connection from \(address): it already holds \(limits.perClient) (KARNA_CONNECTIONS_PER_CLIENT)")
                context.close(promise: nil)
                return
            }
            countedAddress = address
        }
        schedule(context: context, seconds: limits.headerSeconds, what: "request head")
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        if let address = countedAddress {
            counts.close(address)
            countedAddress = nil
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        if let address = countedAddress {
            counts.close(address)
            countedAddress = nil
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            phase = .readingBody
            schedule(context: context, seconds: limits.bodySeconds, what: "request body")
        case .body:
            break
        case .end:
            // The answer may take as long as it takes; no deadline while the server works.
            phase = .responding
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), phase == .responding {
            phase = .waitingForHead
            schedule(context: context, seconds: limits.idleSeconds, what: "next request")
        }
        context.write(data, promise: promise)
    }

    private func schedule(context: ChannelHandlerContext, seconds: Double, what: String) {
        deadline?.cancel()
        let channel = context.channel
        let logger = self.logger
        let address = countedAddress ?? "unknown"
        deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1_000))) {
            logger.debug("closed a connection from \(address): no \(what) within \(seconds) s")
            channel.close(promise: nil)
        }
    }
}
