import FHIRCore
import StoreModel

/// Writes a Bundle's bytes directly, splicing stored resources in as they are
/// so that listing versions never parses and re-encodes them.
struct BundleWriter {
    /// One entry: the resource bytes (already JSON) and its other members.
    struct Entry {
        var fullUrl: String?
        var resource: [UInt8]?
        var search: JSONValue?
        var request: JSONValue?
        var response: JSONValue?
    }

    let type: String
    var total: Int?
    var links: [(relation: String, url: String)] = []
    var entries: [Entry] = []

    init(type: String) { self.type = type }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + entries.reduce(0) { $0 + ($1.resource?.count ?? 0) + 200 })
        out.append(contentsOf: Array(#"{"resourceType":"Bundle","type":"#.utf8))
        JSONWriter.writeString(type, into: &out)
        if let total {
            out.append(contentsOf: Array(#","total":"#.utf8))
            out.append(contentsOf: Array(String(total).utf8))
        }
        if !links.isEmpty {
            out.append(contentsOf: Array(#","link":"#.utf8))
            JSONWriter.write(.array(links.map { .object(JSONObject([("relation", .string($0.relation)), ("url", .string($0.url))])) }), into: &out)
        }
        if !entries.isEmpty {
            out.append(contentsOf: Array(#","entry":["#.utf8))
            for (i, entry) in entries.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "{"))
                var first = true
                func member(_ name: String) {
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    JSONWriter.writeString(name, into: &out)
                    out.append(UInt8(ascii: ":"))
                }
                if let fullUrl = entry.fullUrl { member("fullUrl"); JSONWriter.writeString(fullUrl, into: &out) }
                if let resource = entry.resource { member("resource"); out.append(contentsOf: resource) }
                if let search = entry.search { member("search"); JSONWriter.write(search, into: &out) }
                if let request = entry.request { member("request"); JSONWriter.write(request, into: &out) }
                if let response = entry.response { member("response"); JSONWriter.write(response, into: &out) }
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
