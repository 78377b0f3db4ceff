public import Foundation
import NIOCore
import NIOPosix

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

        public var description: String {
            switch self {
            case .unreachable(let why): "the lab's MLLP port could not be reached: \(why)"
            case .timeout(let seconds): "the lab did not answer within \(Int(seconds)) s"
            case .closedWithoutAnswer: "the lab closed the connection without an answer"
            }
        }
    }

    /// Sends `payload` framed to `host:port`; answers the first frame that comes back, unframed.
    public static func exchange(_ payload: [UInt8], host: String, port: Int, timeoutSeconds: Double) async throws -> [UInt8] {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(Int64(timeoutSeconds * 1_000)))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure.unreachable("\(host):\(port): \(error)")
        }
        return try await withThrowingTaskGroup(of: [UInt8].self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(bytes: MLLPFramer.frame(payload)))
                    var framer = MLLPFramer()
                    for try await buffer in inbound {
                        if let frame = try framer.append(buffer.readableBytesView).first { return frame }
                    }
                    throw Failure.closedWithoutAnswer
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
