import CBZip2
import Foundation

/// Decompresses bzip2 data with Debian's libbz2, every stream of it (as `bzip2 -d` does for concatenated files).
enum BZip2 {
    struct Error: Swift.Error, CustomStringConvertible {
        let description: String
    }

    static func decompress(_ input: [UInt8]) throws -> [UInt8] {
        // libbz2 keeps a pointer back to its stream, so the stream needs a stable address:
        // `&localVariable` may hand C a temporary copy.
        let stream = UnsafeMutablePointer<bz_stream>.allocate(capacity: 1)
        stream.initialize(to: bz_stream())
        defer {
            BZ2_bzDecompressEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        guard BZ2_bzDecompressInit(stream, 0, 0) == BZ_OK else { throw Error(description: "libbz2 could not start decompressing") }
        let inputBuffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(input.count, 1))
        defer { inputBuffer.deallocate() }
        _ = input.withUnsafeBytes { source in
            memcpy(inputBuffer.baseAddress!, source.baseAddress!, input.count)
        }
        let chunkSize = 1 << 20
        let chunk = UnsafeMutableBufferPointer<CChar>.allocate(capacity: chunkSize)
        defer { chunk.deallocate() }
        stream.pointee.next_in = inputBuffer.baseAddress
        stream.pointee.avail_in = UInt32(input.count)
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 8)
        while true {
            stream.pointee.next_out = chunk.baseAddress
            stream.pointee.avail_out = UInt32(chunkSize)
            let result = BZ2_bzDecompress(stream)
            let produced = chunkSize - Int(stream.pointee.avail_out)
            chunk.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: produced) { bytes in
                output.append(contentsOf: UnsafeBufferPointer(start: bytes, count: produced))
            }
            if result == BZ_STREAM_END {
                guard stream.pointee.avail_in > 0 else { return output }
                // pbzip2 and lbzip2 write several streams one after another: the next begins where this one ended.
                let (next, left) = (stream.pointee.next_in, stream.pointee.avail_in)
                BZ2_bzDecompressEnd(stream)
                stream.pointee = bz_stream()
                guard BZ2_bzDecompressInit(stream, 0, 0) == BZ_OK else { throw Error(description: "libbz2 could not start decompressing the next stream") }
                (stream.pointee.next_in, stream.pointee.avail_in) = (next, left)
                continue
            }
            guard result == BZ_OK else {
                throw Error(description: "the bzip2 data is damaged (libbz2 status \(result))")
            }
            if stream.pointee.avail_in == 0 && produced == 0 {
                throw Error(description: "the bzip2 data is cut short")
            }
        }
    }
}
