/// The Bundle rules R4 states in prose rather than as invariants (bundle.html): a fullUrl is absolute
/// and names the entry's resource; in a document or message every reference resolves inside the
/// Bundle; a searchset's links are absolute and of the paging relations.
enum BundleRules {
    static let pagingRelations: Set<String> = ["self", "first", "previous", "prev", "next", "last"]

    static func check(_ bundle: JSONObject, expression: String, into issues: inout [FHIRIssue]) {
        let type = bundle["type"]?.stringValue
        let entries = (bundle["entry"]?.arrayValue ?? []).map(\.objectValue)
        var fullUrls = Set<String>()
        for (i, entry) in entries.enumerated() {
            guard let entry, let fullUrl = entry["fullUrl"]?.stringValue else { continue }
            let at = "\(expression).entry[\(i)].fullUrl"
            fullUrls.insert(fullUrl)
            if fullUrl.hasPrefix("urn:uuid:") {
                if fullUrl.dropFirst(9).wholeMatch(of: /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/) == nil {
                    issues.append(FHIRIssue(code: .value, diagnostics: "'\(fullUrl)' is not a urn:uuid: followed by a UUID", expression: [at]))
                }
                continue
            }
            if fullUrl.hasPrefix("urn:oid:") { continue }
            guard let colon = fullUrl.firstIndex(of: ":"), fullUrl[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }),
                  fullUrl[..<colon].first?.isLetter == true else {
                issues.append(FHIRIssue(code: .value, diagnostics: "a fullUrl must be absolute (a URL, urn:uuid: or urn:oid:); '\(fullUrl)' is relative",
                                        expression: [at]))
                continue
            }
            // A RESTful fullUrl names the resource it carries: [base]/Type/id.
            if fullUrl.hasPrefix("http"), let resource = entry["resource"]?.objectValue, let id = resource.id, let resourceType = resource.resourceType,
               !fullUrl.hasSuffix("/\(resourceType)/\(id)") {
                issues.append(FHIRIssue(code: .value, diagnostics: "the fullUrl must end with \(resourceType)/\(id), the resource it carries", expression: [at]))
            }
        }
        if type == "document" || type == "message" {
            for (i, entry) in entries.enumerated() {
                guard let resource = entry?["resource"] else { continue }
                let unresolved = resource.references().first { reference in
                    guard !reference.hasPrefix("#"), !fullUrls.contains(reference) else { return false }
                    return (reference.hasPrefix("urn:") || (!reference.contains("://") && reference.split(separator: "/").count == 2))
                        && !fullUrls.contains(where: { $0.hasSuffix("/" + reference) })
                }
                if let unresolved {
                    issues.append(FHIRIssue(code: .notFound, diagnostics: "in a \(type!) every reference must resolve inside the Bundle; '\(unresolved)' matches no entry's fullUrl",
                                            expression: ["\(expression).entry[\(i)].resource"]))
                }
            }
        }
        if type == "searchset" {
            for (i, link) in (bundle["link"]?.arrayValue ?? []).enumerated() {
                guard let link = link.objectValue else { continue }
                let at = "\(expression).link[\(i)]"
                if let relation = link["relation"]?.stringValue, !pagingRelations.contains(relation) {
                    issues.append(FHIRIssue(code: .value, diagnostics: "a searchset's link relation is one of \(pagingRelations.sorted().joined(separator: ", ")); got '\(relation)'",
                                            expression: ["\(at).relation"]))
                }
                if let url = link["url"]?.stringValue, !url.contains("://") {
                    issues.append(FHIRIssue(code: .value, diagnostics: "a searchset's link url must be absolute; '\(url)' is relative", expression: ["\(at).url"]))
                }
            }
        }
    }
}
