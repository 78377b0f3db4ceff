/// The Minimal Lower Layer Protocol's frames on a TCP stream: `0x0B`, the message, `0x1C 0x0D`.
///
/// TCP delivers bytes, not messages: a frame may come in several reads and one read may hold several
/// frames. The framer keeps what it has not yet seen the end of, and gives back whole frames only.
public struct MLLPFramer: Sendable {
    public static let startBlock: UInt8 = 0x0B
    public static let endBlock: UInt8 = 0x1C
    public static let carriageReturn: UInt8 = 0x0D

    /// The largest message taken; a longer one is an error, not memory without end.
    public let maximumBytes: Int
    private var buffer: [UInt8] = []
    private var inFrame = false

    /// What went wrong on the stream.
    public enum FramingError: Error, Equatable, CustomStringConvertible {
        case tooLarge(limit: Int)
        public var description: String {
            switch self {
            case .tooLarge(let limit): "an MLLP frame exceeded \(limit) bytes (the mllp-max-message-bytes setting)"
            }
        }
    }

    public init(maximumBytes: Int = 4 * 1024 * 1024) {
        self.maximumBytes = maximumBytes
    }

    /// Takes the bytes of one read; answers the frames it completed, their payloads without the framing.
    /// Bytes outside a frame (line noise, a keep-alive newline) are skipped.
    public mutating func append(_ bytes: some Sequence<UInt8>) throws(FramingError) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for byte in bytes {
            if !inFrame {
                if byte == Self.startBlock {
                    inFrame = true
                    buffer.removeAll(keepingCapacity: true)
                }
                continue
            }
            if byte == Self.carriageReturn, buffer.last == Self.endBlock {
                buffer.removeLast()
                frames.append(buffer)
                buffer.removeAll(keepingCapacity: true)
                inFrame = false
                continue
            }
            if byte == Self.startBlock {
                // A new start inside a frame: the sender gave up on the last one; begin again.
                buffer.removeAll(keepingCapacity: true)
                continue
            }
            buffer.append(byte)
            if buffer.count > maximumBytes {
                buffer.removeAll()
                inFrame = false
                throw .tooLarge(limit: maximumBytes)
            }
        }
        return frames
    }

    /// `payload` framed for sending.
    public static func frame(_ payload: some Collection<UInt8>) -> [UInt8] {
        var framed: [UInt8] = [startBlock]
        framed.reserveCapacity(payload.count + 3)
        framed.append(contentsOf: payload)
        framed.append(endBlock)
        framed.append(carriageReturn)
        return framed
    }
}
