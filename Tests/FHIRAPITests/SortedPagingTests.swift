import FHIRAPI
import FHIRCore
import Foundation
import HTTPTypes
import KarnaTesting
import Store
import Testing

/// Issue 22, item 5: a one-key `_sort` pages by keyset — every match once, in order, whatever the plan.
@Suite("Sorted paging by keyset")
struct SortedPagingTests {
    /// Follows `next` links from the first page; the ids in the order served.
    func allPages(_ api: API, _ path: String) async throws -> [String] {
        var ids: [String] = []
        var next: String? = path
        var pages = 0
        while let url = next, pages < 100 {
            let response = try await api.send(.get, url)
            #expect(response.status == 200, "\(url): \(response.text)")
            let bundle = try #require(response.json)
            ids += (bundle["entry"]?.arrayValue ?? []).compactMap { $0.objectValue?["resource"]?.objectValue?["id"]?.stringValue }
            next = (bundle["link"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["relation"]?.stringValue == "next" }?["url"]?.stringValue
                .map { String($0.dropFirst(base.count - "/fhir".count)) }
            if let link = next { #expect(link.contains("_after="), "a one-key sort continues by keyset: \(link)") }
            pages += 1
        }
        return ids
    }

    @Test("dates ascending and descending, ties and records without a date, with and without a filter, on both backends", arguments: backends)
    func datesPageInOrder(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            // 23 observations: dates with ties, two without a date, two of another status.
            var expected: [(date: String?, id: String, status: String)] = []
            for i in 0..<23 {
                let date: String? = i % 11 == 5 ? nil : "2026-0\(1 + i % 4)-1\(i % 3)"
                let status = i % 7 == 3 ? "amended" : "final"
                let dateMember = date.map { #","effectiveDateTime":"\#($0)""# } ?? ""
                let created = try await api.create(#"{"resourceType":"Observation","status":"\#(status)","code":{"text":"Vikt"}\#(dateMember)}"#)
                expected.append((date, try #require(created["id"]?.stringValue), status))
            }
            func order(descending: Bool, status: String? = nil) -> [String] {
                let rows = expected.filter { status == nil || $0.status == status }
                let dated = rows.filter { $0.date != nil }.sorted { a, b in
                    a.date! == b.date! ? (descending ? a.id > b.id : a.id < b.id) : (descending ? a.date! > b.date! : a.date! < b.date!)
                }
                let undated = rows.filter { $0.date == nil }.sorted { descending ? $0.id > $1.id : $0.id < $1.id }
                return (dated + undated).map(\.id)
            }
            #expect(try await allPages(api, "/fhir/Observation?_sort=date&_count=4") == order(descending: false))
            #expect(try await allPages(api, "/fhir/Observation?_sort=-date&_count=4") == order(descending: true))
            #expect(try await allPages(api, "/fhir/Observation?status=final&_sort=date&_count=5") == order(descending: false, status: "final"))
            #expect(try await allPages(api, "/fhir/Observation?status=final&_sort=-date&_count=3") == order(descending: true, status: "final"))
            // _lastUpdated: the order they were written in.
            #expect(try await allPages(api, "/fhir/Observation?_sort=_lastUpdated&_count=6") == expected.map(\.id))
            #expect(try await allPages(api, "/fhir/Observation?_sort=-_lastUpdated&_count=6") == expected.map(\.id).reversed())
        }
    }

    @Test("strings and tokens page by keyset; a write between pages neither repeats nor skips a match")
    func stringsAndWritesBetweenPages() async throws {
        try await withAPI(.sqlite) { api in
            let families = ["Öberg", "Andersson", "Berg", "Berg", "Ceder", "Dahl", "Ek", "Falk", "Gran", "Holm"]
            var ids: [(family: String, id: String)] = []
            for family in families {
                let created = try await api.create(#"{"resourceType":"Patient","name":[{"family":"\#(family)"}],"gender":"female"}"#)
                ids.append((family, try #require(created["id"]?.stringValue)))
            }
            let byFamily = try await allPages(api, "/fhir/Patient?_sort=family&_count=3")
            #expect(Set(byFamily) == Set(ids.map(\.id)) && byFamily.count == ids.count)
            #expect(byFamily.first == ids[1].id, "Andersson first")

            // Page one, then a new patient sorting before the cursor, then the rest: nothing repeated or lost.
            let first = try #require(try await api.send(.get, "/fhir/Patient?_sort=family&_count=4").json)
            let seen = (first["entry"]?.arrayValue ?? []).compactMap { $0.objectValue?["resource"]?.objectValue?["id"]?.stringValue }
            let next = try #require((first["link"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["relation"]?.stringValue == "next" }?["url"]?.stringValue)
            _ = try await api.create(#"{"resourceType":"Patient","name":[{"family":"Aaberg"}]}"#)
            let rest = try await allPages(api, String(next.dropFirst(base.count - "/fhir".count)))
            #expect(Set(seen).isDisjoint(with: rest))
            #expect(Set(seen + rest) == Set(ids.map(\.id)))

            #expect(try await allPages(api, "/fhir/Patient?_sort=gender&_count=4").count == ids.count + 1)
            let bad = try await api.send(.get, "/fhir/Patient?_sort=family,gender&_after=t:x~abc")
            #expect(bad.status == 400)
        }
    }

    @Test("read in sort-index order (every filter counted as broad): chained filters checked per record, undated records last, on both backends",
          arguments: backends)
    func sortIndexOrderWithChains(backend: StoreBackend) async throws {
        // A threshold of one index row sends every sorted search down the sort-index plan a region's
        // millions take; a chain that matches nothing is still found first.
        let store = try await backend.makeStore(scanThreshold: 1)
        try await withAPI(on: store) { api in
            var patients: [(id: String, female: Bool)] = []
            // Names with two rows per record, one pair equal: each record is still served once.
            let names = [#","name":[{"family":"Berg"},{"family":"Ahl"}]"#, #","name":[{"family":"Ek"},{"family":"Ek"}]"#, #","name":[{"family":"Dahl"}]"#, ""]
            for (female, name) in zip([true, false, true, false], names) {
                let created = try await api.create(#"{"resourceType":"Patient","gender":"\#(female ? "female" : "male")"\#(name)}"#)
                patients.append((try #require(created["id"]?.stringValue), female))
            }
            let p = patients.map(\.id)
            #expect(try await allPages(api, "/fhir/Patient?_sort=family&_count=1") == [p[0], p[2], p[1], p[3]])
            #expect(try await allPages(api, "/fhir/Patient?_sort=-family&_count=2") == [p[1], p[2], p[0], p[3]])
            // In write order: 14 observations over the four patients, three without a date, two amended.
            var written: [(id: String, female: Bool, date: String?, final: Bool)] = []
            for i in 0..<14 {
                let patient = patients[i % 4]
                let date: String? = i % 5 == 2 ? nil : "2026-0\(1 + (i * 7) % 9)-1\(i % 3)"
                let final = i % 6 != 4
                let dateMember = date.map { #","effectiveDateTime":"\#($0)""# } ?? ""
                let created = try await api.create(#"{"resourceType":"Observation","status":"\#(final ? "final" : "amended")","code":{"text":"Vikt"},"subject":{"reference":"Patient/\#(patient.id)"}\#(dateMember)}"#)
                written.append((try #require(created["id"]?.stringValue), patient.female, date, final))
            }
            func byDate(_ rows: [(id: String, female: Bool, date: String?, final: Bool)], descending: Bool) -> [String] {
                let dated = rows.filter { $0.date != nil }.sorted { a, b in
                    a.date! == b.date! ? (descending ? a.id > b.id : a.id < b.id) : (descending ? a.date! > b.date! : a.date! < b.date!)
                }
                return (dated + rows.filter { $0.date == nil }.sorted { descending ? $0.id > $1.id : $0.id < $1.id }).map(\.id)
            }
            let women = written.filter(\.female)
            #expect(try await allPages(api, "/fhir/Observation?patient.gender=female&_sort=-_lastUpdated&_count=3") == women.map(\.id).reversed())
            #expect(try await allPages(api, "/fhir/Observation?patient.gender=female&_sort=_lastUpdated&_count=4") == women.map(\.id))
            #expect(try await allPages(api, "/fhir/Observation?patient.gender=female&_sort=date&_count=2") == byDate(women, descending: false))
            #expect(try await allPages(api, "/fhir/Observation?subject:Patient.gender=male&status=final&_sort=-date&_count=2")
                    == byDate(written.filter { !$0.female && $0.final }, descending: true))
            #expect(try await allPages(api, "/fhir/Observation?_sort=-date&_count=5") == byDate(written, descending: true))
            #expect(try await allPages(api, "/fhir/Observation?patient.gender=other&_sort=date&_count=2").isEmpty)
        }
        try await store.close()
    }
}
