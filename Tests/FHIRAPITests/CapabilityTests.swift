import FHIRCore
import Foundation
import HTTPTypes
import KarnaTesting
import Testing

/// The CapabilityStatement says what the server does and no more (issue 21, item 3): it is made
/// from the modules' operation declarations and the search definitions, and every link it holds
/// leads to something the server answers.
@Suite("The CapabilityStatement is truthful")
struct CapabilityTests {
    @Test("every operation it advertises has a served OperationDefinition and is routed to a module")
    func everyOperationLinkResolves() async throws {
        try await withAPI(.sqlite) { api in
            let statement = try #require(try await api.send(.get, "/fhir/metadata").json)
            let rest = try #require(statement["rest"]?.arrayValue?.first?.objectValue)
            var links: [(type: String?, name: String, definition: String)] = []
            for operation in rest["operation"]?.arrayValue ?? [] {
                let object = try #require(operation.objectValue)
                links.append((nil, try #require(object["name"]?.stringValue), try #require(object["definition"]?.stringValue)))
            }
            for resource in rest["resource"]?.arrayValue ?? [] {
                let type = try #require(resource.objectValue?["type"]?.stringValue)
                for operation in resource.objectValue?["operation"]?.arrayValue ?? [] {
                    let object = try #require(operation.objectValue)
                    links.append((type, try #require(object["name"]?.stringValue), try #require(object["definition"]?.stringValue)))
                }
            }
            // The modules declare about ninety; a table that lost one module would show here.
            #expect(links.count > 80, "only \(links.count) operations advertised")
            #expect(links.contains { $0.type == "Patient" && $0.name == "everything" } && links.contains { $0.type == "Composition" && $0.name == "sign" }
                    && links.contains { $0.type == "Appointment" && $0.name == "book" } && links.contains { $0.type == nil && $0.name == "positions" })
            for link in links {
                #expect(link.definition.hasPrefix(base + "/OperationDefinition/"), "\(link.definition) is not served by this server")
                let path = String(link.definition.dropFirst(base.count - "/fhir".count))
                let served = try await api.send(.get, path)
                let status = served.status, text = served.text
                let definition = try #require(served.json, "\(path) answered \(status) \(text)")
                #expect(served.status == 200 && definition.resourceType == "OperationDefinition" && definition["code"]?.stringValue == link.name,
                        "\(path) answered \(served.status) \(served.text)")
                #expect(definition["url"]?.stringValue == link.definition)
                let level = definition["instance"]?.boolValue == true ? "instance" : definition["type"]?.boolValue == true ? "type" : "system"
                if let type = link.type {
                    #expect(definition["resource"]?.arrayValue?.first?.stringValue == type && level != "system", "\(path)")
                } else {
                    #expect(level == "system", "\(path)")
                }
                // Invoked with no parameters, the operation is answered by its module: refused for what is
                // missing or not found, never "not a supported operation".
                let invocation = switch level {
                case "instance": "/fhir/\(link.type!)/capability-walk/$\(link.name)"
                case "type": "/fhir/\(link.type!)/$\(link.name)"
                default: "/fhir/$\(link.name)"
                }
                let method: HTTPRequest.Method = definition["affectsState"]?.boolValue == true ? .post : .get
                let answer = try await api.send(method, invocation, method == .post ? #"{"resourceType":"Parameters"}"# : nil)
                #expect(answer.status != 501 && !answer.text.contains("is not a supported operation"),
                        "\(method.rawValue) \(invocation) is advertised but answered \(answer.status) \(answer.text)")
            }
            // An operation no module declares is refused, and not advertised.
            let unknown = try await api.send(.post, "/fhir/Patient/x/$teleport", #"{"resourceType":"Parameters"}"#)
            #expect(unknown.status == 501 && unknown.text.contains("metadata"))
            let listing = try await api.send(.get, "/fhir/OperationDefinition")
            #expect(listing.status == 200 && listing.json?["entry"]?.arrayValue?.count == links.count)
            let changed = try await api.send(.post, "/fhir/OperationDefinition", #"{"resourceType":"OperationDefinition"}"#)
            #expect(changed.status == 405)
        }
    }

    @Test("every search parameter it lists is defined in R4 and accepted by a search; only accepted interactions are listed")
    func searchParametersAndInteractionsAreTrue() async throws {
        try await withAPI(.sqlite) { api in
            let statement = try #require(try await api.send(.get, "/fhir/metadata").json)
            let resources = (statement["rest"]?.arrayValue?.first?.objectValue?["resource"]?.arrayValue ?? []).compactMap(\.objectValue)
            #expect(resources.count > 140)
            var checked = 0
            for resource in resources {
                let type = try #require(resource["type"]?.stringValue)
                let interactions = Set((resource["interaction"]?.arrayValue ?? []).compactMap { $0.objectValue?["code"]?.stringValue })
                // PATCH is advertised exactly where a stored type accepts writes (Subscription does not; AuditEvent is the server's).
                let writable = type != "AuditEvent" && type != "OperationDefinition" && type != "Subscription"
                #expect(interactions.contains("patch") == writable, "\(type): patch advertised \(interactions.contains("patch")), accepted \(writable)")
                let parameters = (resource["searchParam"]?.arrayValue ?? []).compactMap(\.objectValue)
                if type == "Observation" {
                    // More than `_id` and `identifier`: the R4 parameters the indexer evaluates.
                    #expect(parameters.count > 30 && parameters.contains { $0["name"]?.stringValue == "code-value-quantity" })
                }
                guard type != "AuditEvent", type != "OperationDefinition" else { continue }
                for parameter in parameters {
                    let name = try #require(parameter["name"]?.stringValue)
                    let url = try #require(parameter["definition"]?.stringValue)
                    #expect(Definitions.r4.searchParameter(url: url) != nil || name == "_id", "\(type).\(name): \(url) is not an R4 SearchParameter")
                    // Each listed parameter parses in a strict search: a value of its kind is accepted, not "not supported".
                    func sample(_ kind: String?) -> String {
                        switch kind {
                        case "date": "ge2020-01-01"
                        case "number", "quantity": "1"
                        default: "x"
                        }
                    }
                    var value = sample(parameter["type"]?.stringValue)
                    if parameter["type"]?.stringValue == "composite", let second = Definitions.r4.searchParameter(url: url)?.components.last {
                        value = "http://loinc.org|8480-6$" + sample(Definitions.r4.searchParameter(url: second.definition)?.type)
                    }
                    do {
                        _ = try SearchQuery.parse(type: type, parameters: [(name, value)], strict: true)
                    } catch {
                        Issue.record("\(type)?\(name)=\(value) is advertised but refused: \(error)")
                    }
                    checked += 1
                }
            }
            #expect(checked > 1_000, "only \(checked) search parameters checked")
            // The audit log is written by the server: it lists read and search only, and a create is refused.
            let audit = try #require(resources.first { $0["type"]?.stringValue == "AuditEvent" })
            #expect(Set((audit["interaction"]?.arrayValue ?? []).compactMap { $0.objectValue?["code"]?.stringValue }) == ["read", "search-type"])
            let create = try await api.send(.post, "/fhir/AuditEvent", #"{"resourceType":"AuditEvent"}"#)
            #expect(create.status == 405)
        }
    }
}
