import StoreModel
import FHIRCore

/// The two SQL dialects the stores speak.
enum SQLDialect: Sendable {
    case sqlite, postgres

    /// The head-row predicate for a live (not deleted) resource.
    func live(_ alias: String) -> String {
        self == .sqlite ? "\(alias).deleted = 0" : "NOT \(alias).deleted"
    }

    /// One record's rows of an index table, by their owner index. SQLite otherwise takes the covering
    /// lookup index for "the lowest date of this record" and reads every row of the parameter per
    /// record (13 s for a page of 500 sorted laboratory results, 0.16 s with this).
    func owner(_ table: String) -> String {
        self == .sqlite ? " INDEXED BY \(table)_owner" : ""
    }
}

/// A bound value.
enum SQLValue: Sendable, Hashable {
    case text(String)
    case integer(Int64)
    case real(Double)
}

/// SQL text with its bound values; placeholders are `?` (SQLite) or `$n` (PostgreSQL).
struct SQLStatement: Sendable {
    var sql: String
    var binds: [SQLValue]
}

extension SQLStatement {
    /// The SQL with every PostgreSQL placeholder `$n` renumbered `$(n + offset)`, to join statements
    /// into one. Search SQL holds no `$` but its placeholders: every value is bound.
    func shiftingPlaceholders(by offset: Int) -> String {
        guard offset > 0 else { return sql }
        var result = ""
        var digits = ""
        var inPlaceholder = false
        func flush() {
            if inPlaceholder { result += "$" + (Int(digits).map { String($0 + offset) } ?? digits) }
            inPlaceholder = false
            digits = ""
        }
        for character in sql {
            if inPlaceholder, character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            flush()
            if character == "$" { inPlaceholder = true } else { result.append(character) }
        }
        flush()
        return result
    }
}

/// Builds search SQL from a parsed query: every filter becomes an
/// `id IN (SELECT id FROM search_<kind> …)` over the index tables, which the
/// planners of both databases drive from the most selective index.
struct SearchSQL {
    let dialect: SQLDialect
    private(set) var binds: [SQLValue] = []
    private var aliasCounter = 0
    /// Check every top-level filter per candidate instead of starting from the most selective one.
    var scan = false
    /// The top-level filter to start from, when the store has measured which is most selective.
    var driver: Int?
    /// The driver is a one-patient filter: a handful of candidates, so even negated filters are checked per candidate.
    var onePatientDriver = false
    /// The driving filter's ids are asked for as distinct (see `plannedPage`).
    var distinctDriver = false
    /// Every top-level filter is a check per candidate, fenced: the candidates come from a join the
    /// statement makes itself (`firstMatchPerPatient`).
    var checksPerCandidate = false

    init(dialect: SQLDialect) { self.dialect = dialect }

    mutating func bind(_ value: SQLValue) -> String {
        binds.append(value)
        // Numbered placeholders: fragments are built out of textual order (values before their enclosing subquery).
        return dialect == .sqlite ? "?\(binds.count)" : "$\(binds.count)"
    }

    mutating func text(_ s: String) -> String { bind(.text(s)) }
    mutating func int(_ i: Int64) -> String { bind(.integer(i)) }
    mutating func real(_ d: Double) -> String { bind(.real(d)) }

    // MARK: Whole queries

    /// The ids of one page of matches, in the query's order; `limit` rows at most.
    ///
    /// With `scan`, no filter drives: the resources of the type are read in id order and each filter
    /// is checked per candidate, which finds a page of a broad search without reading all its matches.
    /// With `versions`, each row also names the current version (for `withVersions`).
    static func page(_ query: SearchQuery, limit: Int, dialect: SQLDialect, scan: Bool = false, driver: Int? = nil, distinctDriver: Bool = false,
                     versions: Bool = false) -> SQLStatement {
        var b = SearchSQL(dialect: dialect)
        b.scan = scan
        b.distinctDriver = distinctDriver
        // One patient's records start from the patient, always: a patient has few records next to
        // any other filter's matches, and every other filter is checked per record (fenced below).
        let patient = query.filters.firstIndex(where: isOnePatient)
        b.driver = driver ?? (scan ? nil : patient)
        b.onePatientDriver = b.driver != nil && b.driver == patient
        let predicate = b.matches(query.type, query.filters, alias: "r")
        var from = "resource r"
        var keys: [String] = []
        // The first key's value expression, for the keyset condition of a one-key sort.
        var firstValue: String?
        for (n, key) in query.sort.enumerated() {
            if n == 0, key.type == "date", let patient = query.filters.lazy.compactMap(onePatientID).first {
                // One patient's records by date: their date rows are one range of the patient index. A
                // record whose compartment patient is another (it names this one elsewhere) has no row
                // there and falls back to the lookup by owner.
                let (column, aggregate) = key.descending ? ("high", "max") : ("low", "min")
                if dialect == .postgres {
                    // Looked up per record from that index alone: PostgreSQL runs one patient's searches
                    // with a generic plan (PreparedSearches), which joined the range below as a nested
                    // loop that read it once per record (40 ms for 432 observations instead of 2).
                    firstValue = "COALESCE((SELECT \(aggregate)(d.\(column)) FROM search_date d WHERE d.patient_id = \(b.text(patient))"
                        + " AND d.resource_type = r.resource_type AND d.parameter = \(b.text(key.parameter)) AND d.id = r.id), \(b.sortValue(key)))"
                    keys.append(firstValue! + " \(key.descending ? "DESC" : "ASC") NULLS LAST")
                } else {
                    // SQLite reads the range once and joins it, instead of a lookup per record.
                    from += " LEFT JOIN (SELECT id, \(aggregate)(\(column)) AS k FROM search_date WHERE patient_id = \(b.text(patient))"
                        + " AND resource_type = \(b.text(query.type)) AND parameter = \(b.text(key.parameter)) GROUP BY id) sk ON sk.id = r.id"
                    firstValue = "COALESCE(sk.k, \(b.sortValue(key)))"
                    keys.append(firstValue! + " \(key.descending ? "DESC" : "ASC") NULLS LAST")
                }
            } else {
                if n == 0, key.parameter != "_id" { firstValue = b.sortValue(key) }
                keys.append(b.sortExpression(key, type: query.type))
            }
        }
        var keyset = ""
        if query.isKeysetSorted, let cursor = query.sortAfter, let value = firstValue {
            keyset = " AND " + b.keyset(value: value, id: "r.id", cursor: cursor, descending: query.sort[0].descending, orNull: true)
        }
        var sql = "SELECT r.id\(versions ? ", r.version_id" : "") FROM \(from) WHERE " + predicate + keyset
        if query.sort.isEmpty {
            if let before = query.beforeID {
                sql += " AND r.id < " + b.text(before) + " ORDER BY r.id DESC"
            } else {
                if let after = query.afterID { sql += " AND r.id > " + b.text(after) }
                sql += " ORDER BY r.id"
            }
        } else if query.isKeysetSorted {
            // Ties follow the key's direction, as the sort index is read (sortedPage) and as `_after` continues.
            sql += " ORDER BY " + keys[0] + ", r.id" + (query.sort[0].descending ? " DESC" : "")
        } else {
            sql += " ORDER BY " + keys.joined(separator: ", ") + ", r.id"
        }
        sql += " LIMIT " + b.int(Int64(limit))
        if !query.sort.isEmpty, query.offset > 0 { sql += " OFFSET " + b.int(Int64(query.offset)) }
        return SQLStatement(sql: sql, binds: b.binds)
    }

    /// Page statements' matches as their current versions, each part in its page's order and tagged
    /// with its index: one PostgreSQL statement instead of a search and a read per part, as every
    /// statement there is a round trip and a plan.
    static func withVersions(_ pages: [(page: SQLStatement, type: String)]) -> SQLStatement {
        var binds: [SQLValue] = []
        var parts: [String] = []
        for (index, part) in pages.enumerated() {
            let page = part.page.shiftingPlaceholders(by: binds.count)
            binds += part.page.binds
            binds.append(.text(part.type))
            // The page names each match's current version (pages read live heads only); a window over
            // the page's rows numbers them in the page's order, which the join then does not keep.
            parts.append("""
                (SELECT \(index) AS part, k.n, v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.json, v.seq, v.patient_id
                FROM (SELECT page.id, page.version_id, row_number() OVER () AS n FROM (\(page)) AS page) AS k
                JOIN resource_version v ON v.resource_type = $\(binds.count) AND v.id = k.id AND v.version_id = k.version_id)
                """)
        }
        return SQLStatement(sql: "SELECT part, resource_type, id, version_id, last_updated, method, json, seq, patient_id FROM ("
                                + parts.joined(separator: " UNION ALL ") + ") AS found ORDER BY part, n", binds: binds)
    }

    /// How many index rows the most selective filter matches, up to `cap`: the store starts from that
    /// filter when the number is small, and scans in id order when it is large.
    /// Neither database can estimate how many rows one parameter of one type matches (SQLite keeps
    /// no statistics here; PostgreSQL's describe a whole index table), so the store counts each
    /// filter's index rows up to this cap and `plannedPage` picks the plan from those counts.
    static let scanThreshold = 3000

    /// A probe that counts fewer rows than this settles the plan: the stores stop probing there.
    static let settledCount = 100

    /// The probes, most selective kind first (a patient reference before a status), so the stores can stop
    /// at the first small count instead of paying a round trip for every filter.
    static func probes(_ query: SearchQuery, cap: Int, dialect: SQLDialect) -> [(filter: Int, statement: SQLStatement)] {
        // Backward pages keep the default plan. A sorted search is probed too: today's appointments at a
        // unit must start from today's dates, not from every appointment the unit ever had.
        guard query.beforeID == nil else { return [] }
        // One patient's records (a chart's searches): the patient reference drives, no need to count.
        if query.filters.contains(where: isOnePatient) { return [] }
        let query = withCodeDateFilter(query)
        return query.filters.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.compactMap { index, filter in
            if case .chain(let parameter, let targetTypes, let filters) = filter {
                return chainProbe(query.type, parameter: parameter, targetTypes: targetTypes, filters: filters, cap: cap, dialect: dialect).map { (index, $0) }
            }
            guard rank(filter) < 9, case .values(let parameter, let kind, let modifier, let values) = filter else { return nil }
            var b = SearchSQL(dialect: dialect)
            // References of one type are one array on PostgreSQL (`anyOf`): one capped count over them decides as the sum would.
            if b.referenceArray(values, modifier: modifier) != nil {
                let sql = "SELECT count(*) FROM (SELECT 1 FROM search_reference WHERE resource_type = \(b.text(query.type))"
                    + " AND parameter = \(b.text(parameter)) AND \(b.anyOf(values, modifier: nil)) LIMIT \(b.int(Int64(cap)))) AS probe"
                return (index, SQLStatement(sql: sql, binds: b.binds))
            }
            // One capped count per value, summed: an OR of several values would make PostgreSQL combine
            // bitmaps of every matching row before the LIMIT (tens of ms for `status=active,on-hold`),
            // while each single-value scan stops at the cap.
            let counts = values.map { value in
                "(SELECT count(*) FROM (SELECT 1 FROM \(table(kind))\(b.indexHint(kind, [value], modifier: modifier)) WHERE resource_type = \(b.text(query.type))"
                    + " AND parameter = \(b.text(parameter)) AND \(b.anyOf([value], modifier: modifier)) LIMIT \(b.int(Int64(cap)))) AS probe)"
            }
            let sql = "SELECT " + counts.joined(separator: " + ")
            return (index, SQLStatement(sql: sql, binds: b.binds))
        }
    }

    /// The probe of a chained filter on one target type with one plain filter (`patient.gender=female`): the
    /// reference rows to matching targets, up to `cap`. A broad chain is then checked per record read in
    /// sort order; a narrow one (`patient.identifier=…`) is found first.
    static func chainProbe(_ type: String, parameter: String, targetTypes: [String], filters: [String: SearchFilter], cap: Int,
                           dialect: SQLDialect) -> SQLStatement? {
        guard targetTypes.count == 1, let target = targetTypes.first,
              case .values(let innerParameter, let kind, let modifier, let values)? = filters[target], !isNegated(modifier, values) else { return nil }
        var b = SearchSQL(dialect: dialect)
        let targets = "SELECT id FROM \(table(kind)) WHERE resource_type = \(b.text(target)) AND parameter = \(b.text(innerParameter))"
            + " AND \(b.anyOf(values, modifier: modifier))"
        let sql = "SELECT count(*) FROM (SELECT 1 FROM search_reference WHERE resource_type = \(b.text(type)) AND parameter = \(b.text(parameter))"
            + " AND target_type = \(b.text(target)) AND target_id IN (\(targets)) LIMIT \(b.int(Int64(cap)))) AS probe"
        return SQLStatement(sql: sql, binds: b.binds)
    }

    /// For SQLite, which has no statistics to choose between the two date indexes: the one on `low`
    /// for ranges bounded above (eq, lt, le, sa, ap), the one on `high` for ranges bounded below.
    func indexHint(_ kind: String, _ values: [SearchValue], modifier: String? = nil) -> String {
        if dialect == .sqlite, modifier == Self.codeDateSpan { return " INDEXED BY search_composite_code_date" }
        guard dialect == .sqlite, kind == "date", case .date(let prefix, _, _)? = values.first else { return "" }
        switch prefix {
        case .gt, .ge, .eb: return " INDEXED BY search_date_lookup1"
        default: return " INDEXED BY search_date_lookup0"
        }
    }

    /// The page statement for the measured counts: start from the smallest filter when it is small;
    /// scan in id order when the only filter is broad; otherwise start from the usually most selective.
    /// `scanBudget`: the most resources a PostgreSQL scan checks before it finds the page from the matches instead (`threshold` unless set).
    static func plannedPage(_ query: SearchQuery, limit: Int, dialect: SQLDialect, counts: [(filter: Int, count: Int)],
                            threshold: Int, scanBudget: Int? = nil, versions: Bool = false) -> SQLStatement {
        // The filter indexes of `counts` are those of the query `probes` counted.
        let query = withCodeDateFilter(query)
        let smallest = counts.min(by: { $0.count < $1.count })
        // A one-key sort over many matches (or no filter at all) reads the sort index in order; one
        // patient's records, or a filter with few matches, are found first and sorted.
        if query.isKeysetSorted, smallest.map({ $0.count >= threshold }) ?? query.filters.isEmpty, !query.filters.contains(where: isOnePatient) {
            return sortedPage(query, limit: limit, dialect: dialect, versions: versions)
        }
        guard let smallest else { return page(query, limit: limit, dialect: dialect, versions: versions) }
        if smallest.count < threshold {
            // The code+date rows of a window are nearly all matches, but not in id order: PostgreSQL checked each of
            // 1,591 before sorting them for a page of 41 (87 ms); asked for them distinct it sorts the ids first and
            // checks only the page's (3.5 ms at 100,000 patients).
            let distinct = dialect == .postgres && isCodeDateFilter(query.filters[smallest.filter])
            return page(query, limit: limit, dialect: dialect, driver: smallest.filter, distinctDriver: distinct, versions: versions)
        }
        // A broad window starts from its code+date rows too, every other filter checked per candidate: left to itself
        // PostgreSQL joined all 36,721 rows of the code to the window's 3,218 (134 ms at 100,000 patients).
        if let first = query.filters.first, isCodeDateFilter(first) {
            return page(query, limit: limit, dialect: dialect, driver: 0, distinctDriver: dialect == .postgres, versions: versions)
        }
        // Scanning in id order finds a page early only when the page is in id order.
        // Otherwise every filter matched thousands. PostgreSQL then estimates the semi-join on the
        // driving filter's index rows as a fraction of them (172 patients for the 4,685 whose name
        // starts "lind") and probes the resources once per index row (33 ms); asked for distinct ids
        // it sorts them and stops after the page (5 ms; Observations by code and date 718 → 177 ms).
        // Not for small drivers: there it chose a parallel plan whose workers took 10 ms to start.
        // One filter with thousands of matches is found by reading the type in id order: a page of a common
        // name costs its page, not its matches. On PostgreSQL also beside negations (the patient search's
        // `active:not=false`), each checked per candidate too.
        if dialect == .postgres, query.sort.isEmpty, query.filters.filter({ !isNegation($0) }).count == 1 {
            return boundedScan(query, limit: limit, budget: scanBudget ?? threshold, versions: versions)
        }
        return page(query, limit: limit, dialect: dialect, scan: query.filters.count == 1 && query.sort.isEmpty, distinctDriver: dialect == .postgres,
                    versions: versions)
    }

    /// A search of a code in a date window (`Observation?code=…&date=ge…&date=lt…`) with one more filter, on the
    /// code+date rows (SearchIndexEntries.codeDate): the window's records of the code as one range of one index.
    /// It is implied by the two it joins — a record matching the code and every date filter has a row of that
    /// code whose span reaches the window (each date filter bounds some date of it from below or above, and the
    /// span holds them all) — so the matches are the same and the filters themselves are still checked; the
    /// planner starts from it when its count is the smallest. Not for one patient's records, which start from
    /// the patient.
    static func withCodeDateFilter(_ query: SearchQuery) -> SearchQuery {
        guard let pair = SearchIndexEntries.codeDate[query.type], !query.filters.contains(where: isOnePatient),
              let codes = codeDateCodes(query, pair) else { return query }
        var lower = Int64.min, upper = Int64.max
        for filter in query.filters {
            if case .values(pair.date, _, nil, let values) = filter, values.count == 1, case .date(let prefix, let low, let high) = values[0] {
                // The bound each prefix sets on a matching date's high (from below) or low (from above), as dateCondition reads them.
                switch prefix {
                case .eq: lower = max(lower, low); upper = min(upper, high)
                case .ge: lower = max(lower, low)
                case .gt, .sa: lower = max(lower, high)
                case .le: upper = min(upper, high)
                case .lt, .eb: upper = min(upper, low)
                case .ne, .ap: break
                }
            }
        }
        guard lower != .min || upper != .max else { return query }
        var implied = query
        // First: of the filters as selective by kind, the one that implies the code's.
        implied.filters.insert(.values(parameter: SearchIndexEntries.codeDateParameter, type: "composite", modifier: codeDateSpan,
                                       values: codes.map { .composite(system: $0.system, code: $0.code, second: .date(.eq, low: lower, high: upper)) }), at: 0)
        return implied
    }

    /// The codes of the query's one plain filter on the pair's code parameter, each with a code; nil when there is
    /// none, more than one, or a value without a code (`system|`).
    static func codeDateCodes(_ query: SearchQuery, _ pair: SearchIndexEntries.CodeDate) -> [(system: String?, code: String)]? {
        let filters = query.filters.compactMap { filter -> [SearchValue]? in
            if case .values(pair.code, _, nil, let values) = filter { return values }
            return nil
        }
        guard filters.count == 1, !filters[0].isEmpty else { return nil }
        let codes = filters[0].compactMap { value -> (system: String?, code: String)? in
            if case .token(let system, let code?) = value { return (system, code) }
            return nil
        }
        return codes.count == filters[0].count ? codes : nil
    }

    /// Whether the filter is the one `withCodeDateFilter` adds.
    static func isCodeDateFilter(_ filter: SearchFilter) -> Bool {
        if case .values(_, _, Self.codeDateSpan?, _) = filter { return true }
        return false
    }

    /// The modifier of the implied code+date filter: its date is a span to reach, not a value to compare.
    static let codeDateSpan = "span"

    /// PostgreSQL's scan in id order, bounded: the next `budget` resources of the type are checked one by
    /// one, and when they hold no full page (the filter is rarer than its thousands of matches made it
    /// look: one in several hundred), the page is found from the filter's matches instead, in the same
    /// statement. At 100,000 patients a name search for "nils" took 10 ms scanning and 17 from its
    /// matches; one for "lund" (3,024 matches) 21 ms scanning and 10 from its matches. Each branch
    /// runs only when its condition holds (PostgreSQL evaluates an uncorrelated condition once, first).
    static func boundedScan(_ query: SearchQuery, limit: Int, budget: Int, versions: Bool) -> SQLStatement {
        var b = SearchSQL(dialect: .postgres)
        b.scan = true
        let type = b.text(query.type)
        var candidates = "FROM resource r WHERE r.resource_type = \(type) AND NOT r.deleted"
        if let after = query.afterID { candidates += " AND r.id > " + b.text(after) }
        candidates += " ORDER BY r.id LIMIT " + b.int(Int64(budget))
        // The candidates as a subquery, not a common table: PostgreSQL then knows they come in id order and
        // stops at the page; read from a table expression it checked all of them and sorted the matches.
        let found = "SELECT r.id\(versions ? ", r.version_id" : "") FROM (SELECT r.resource_type, r.id, r.version_id, r.deleted \(candidates)) r"
            + " WHERE " + b.matches(query.type, query.filters, alias: "r") + " ORDER BY r.id LIMIT " + b.int(Int64(limit))
        // A full page, or every remaining resource of the type checked: the scan answered. The second
        // count runs only when the first fails.
        let answered = "(SELECT count(*) FROM found) = \(b.int(Int64(limit))) OR (SELECT count(*) FROM (SELECT 1 \(candidates)) c) < \(b.int(Int64(budget)))"
        let matched = page(query, limit: limit, dialect: .postgres, distinctDriver: true, versions: versions)
        let sql = "WITH found AS MATERIALIZED (\(found)) SELECT * FROM found WHERE \(answered)"
            + " UNION ALL SELECT * FROM (\(matched.shiftingPlaceholders(by: b.binds.count))) AS matched WHERE NOT (\(answered))"
        return SQLStatement(sql: sql, binds: b.binds + matched.binds)
    }

    /// At most this many patients in one `firstMatchPerPatient` statement.
    static let patientsPerStatement = 500

    /// For each of `patientIDs`, the first of `queries` (in order) with a match when its one-patient
    /// filter is set to that patient, and its lowest matching id: rows `(patient id, "Type/id")`, only
    /// for patients with a match. A page that lists thirty patients asks for their care-relationship
    /// grounds in one statement, instead of one per patient and ground, each planned and sent on its
    /// own (the week view's four patients made 16). Nil when a query has no one-patient filter.
    static func firstMatchPerPatient(_ queries: [SearchQuery], patientIDs: [String], dialect: SQLDialect) -> SQLStatement? {
        guard !patientIDs.isEmpty, !queries.isEmpty else { return nil }
        var b = SearchSQL(dialect: dialect)
        b.checksPerCandidate = true
        // The patients as one JSON array: the statement's text is then the same for any list, so
        // PostgreSQL prepares and plans it once per connection (planned anew per call it cost more
        // than the statements per patient it replaced).
        let list = b.text(JSONWriter.string(.array(patientIDs.map { .string($0) })))
        let patients = dialect == .postgres ? "SELECT jsonb_array_elements_text(\(list)::text::jsonb)" : "SELECT value FROM json_each(\(list))"
        var matches: [String] = []
        for query in queries {
            guard let index = query.filters.firstIndex(where: isOnePatient), case .values(let parameter, _, _, _) = query.filters[index] else { return nil }
            var others = query.filters
            others.remove(at: index)
            // The patient's index rows for the parameter are one range of the lookup index, in id
            // order: the first that passes the checks is the answer and the rest are never read.
            matches.append("(SELECT \(b.text(query.type + "/")) || p.id FROM search_reference p JOIN resource r ON r.resource_type = p.resource_type AND r.id = p.id"
                + " WHERE p.resource_type = \(b.text(query.type)) AND p.parameter = \(b.text(parameter)) AND p.target_id = pt.id"
                + " AND p.target_type = \(b.text("Patient")) AND " + b.matches(query.type, others, alias: "r") + " ORDER BY p.id LIMIT 1)")
        }
        // COALESCE runs a later query only for a patient the earlier ones found nothing for (both databases).
        let ground = matches.count == 1 ? matches[0] : "COALESCE(" + matches.joined(separator: ", ") + ")"
        return SQLStatement(sql: "WITH pt(id) AS (\(patients)) SELECT id, ground FROM (SELECT pt.id, \(ground) AS ground FROM pt) AS found"
                                + " WHERE ground IS NOT NULL", binds: b.binds)
    }

    /// `firstMatchPerPatient` for any number of patients, `patientsPerStatement` at a time.
    static func firstMatchStatements(_ queries: [SearchQuery], patientIDs: [String], dialect: SQLDialect) throws -> [SQLStatement] {
        if let query = queries.first(where: { !$0.filters.contains(where: isOnePatient) }) {
            throw FHIRError(.internalError, code: .exception, "a first match per patient needs a filter on one patient, the \(query.type) search has none")
        }
        return stride(from: 0, to: patientIDs.count, by: patientsPerStatement).compactMap { start in
            firstMatchPerPatient(queries, patientIDs: Array(patientIDs[start..<min(start + patientsPerStatement, patientIDs.count)]), dialect: dialect)
        }
    }

    /// The number of matches.
    static func count(_ query: SearchQuery, dialect: SQLDialect) -> SQLStatement {
        var b = SearchSQL(dialect: dialect)
        let sql = "SELECT count(*) FROM resource r WHERE " + b.matches(query.type, query.filters, alias: "r")
        return SQLStatement(sql: sql, binds: b.binds)
    }

    /// `(type, id)` of the resources that `ids` of `sourceType` reference through `parameter` (`*` for all), for `_include`.
    static func referenced(sourceType: String, ids: [String], parameter: String, targetType: String?, dialect: SQLDialect) -> SQLStatement {
        var b = SearchSQL(dialect: dialect)
        var sql = "SELECT DISTINCT target_type, target_id FROM search_reference WHERE resource_type = \(b.text(sourceType)) AND target_id <> ''"
        sql += " AND id IN (" + ids.map { b.text($0) }.joined(separator: ", ") + ")"
        if parameter != "*" { sql += " AND parameter = " + b.text(parameter) }
        if let targetType { sql += " AND target_type = " + b.text(targetType) }
        return SQLStatement(sql: sql, binds: b.binds)
    }

    /// `(type, id)` of the `sourceType` resources whose `parameter` references one of `ids` of `targetType`, for `_revinclude`.
    static func referencing(sourceType: String, parameter: String, targetType: String, ids: [String], dialect: SQLDialect) -> SQLStatement {
        var b = SearchSQL(dialect: dialect)
        var sql = "SELECT DISTINCT resource_type, id FROM search_reference WHERE resource_type = \(b.text(sourceType))"
        if parameter != "*" { sql += " AND parameter = " + b.text(parameter) }
        sql += " AND target_type = " + b.text(targetType)
        sql += " AND target_id IN (" + ids.map { b.text($0) }.joined(separator: ", ") + ")"
        return SQLStatement(sql: sql, binds: b.binds)
    }

    // MARK: Filters

    /// The filters as one predicate. The most selective filter becomes an `id IN (…)` the planner
    /// starts from; the others are checked per candidate with `EXISTS` on the index tables' owner
    /// index, so a broad filter (a date range, a gender) never materialises its whole match set.
    mutating func matches(_ type: String, _ filters: [SearchFilter], alias: String) -> String {
        var parts = ["\(alias).resource_type = " + text(type), dialect.live(alias)]
        let topLevel = alias == "r"
        let chosen = topLevel ? driver : nil
        let ordered = filters.enumerated().sorted {
            ($0.offset == chosen ? -1 : Self.rank($0.element), $0.offset) < ($1.offset == chosen ? -1 : Self.rank($1.element), $1.offset)
        }.map(\.element)
        for (n, filter) in ordered.enumerated() {
            if (scan || checksPerCandidate) && topLevel {
                parts.append(check(filter, type: type, alias: alias))
            } else if n > 0, case .values(let parameter, let kind, let modifier, let values) = filter {
                parts.append(correlated(parameter: parameter, kind: kind, modifier: modifier, values: values, type: type, alias: alias))
            } else {
                parts.append(condition(filter, type: type, id: "\(alias).id", distinct: topLevel && distinctDriver))
            }
        }
        return parts.joined(separator: " AND ")
    }

    /// One filter checked for one candidate record (`alias`) by lookups of its own rows, never as a set of matches.
    mutating func check(_ filter: SearchFilter, type: String, alias: String) -> String {
        switch filter {
        case .values(let parameter, let kind, let modifier, let values):
            correlated(parameter: parameter, kind: kind, modifier: modifier, values: values, type: type, alias: alias)
        case .chain(let parameter, let targetTypes, let filters):
            correlatedChain(parameter: parameter, targetTypes: targetTypes, filters: filters, alias: alias)
        default:
            condition(filter, type: type, id: "\(alias).id")
        }
    }

    /// A filter on exactly one Patient by reference (`patient=Patient/1`, `subject=Patient/1`): a patient has few
    /// records next to a whole type, so it is the filter to start from.
    static func isOnePatient(_ filter: SearchFilter) -> Bool { onePatientID(filter) != nil }

    /// The patient's id when the filter is on exactly one Patient by reference.
    static func onePatientID(_ filter: SearchFilter) -> String? {
        guard case .values(_, "reference", let modifier, let values) = filter, modifier == nil || modifier == "Patient", values.count == 1,
              case .reference(let type, let id, nil) = values[0], type == "Patient" else { return nil }
        return id
    }

    /// How selective a filter usually is (lower: fewer matches), to pick the one the query starts from.
    static func rank(_ filter: SearchFilter) -> Int {
        switch filter {
        case .ids: return 0
        case .anyOf: return 1
        case .values(_, let kind, let modifier, let values):
            if isNegated(modifier, values) || modifier == "text" || modifier == "contains" { return 9 }
            switch kind {
            case "reference": return 1
            case "token": return values.contains { if case .token(_, nil) = $0 { return true }; return false } ? 6 : 2
            case "composite", "uri": return 2
            case "string": return modifier == "exact" ? 2 : 3
            case "quantity", "number": return 4
            default: return 5
            }
        case .chain, .reverseChain: return 6
        case .missing: return 9
        }
    }

    /// `[NOT] EXISTS` over one parameter's index rows of the candidate resource.
    mutating func correlated(parameter: String, kind: String, modifier: String?, values: [SearchValue], type: String, alias: String) -> String {
        let negate = Self.isNegated(modifier, values)
        let alternatives = anyOf(values, modifier: modifier)
        // SQLite without statistics would probe by value (scanning every row with that code for each
        // candidate); the owner index (resource_type, id, parameter) is the right one per candidate.
        let table = Self.table(kind)
        var hint = dialect == .sqlite ? " INDEXED BY \(table)_owner" : ""
        // A system and a code name one entry of the covering lookup index (type, parameter, code, system,
        // id): one seek, where the owner index also reads the table's row (a page of 500 laboratory
        // results of one code sorted by date, checking 10,000 candidates: 92 ms → 18 ms).
        if dialect == .sqlite, kind == "token", modifier == nil, values.count == 1, case .token(_?, _?) = values[0] {
            hint = " INDEXED BY search_token_lookup0"
        }
        // When the store measured which filter to start from, PostgreSQL must not turn a check into a
        // join it starts from instead, trusting statistics that describe a whole index table, not one
        // parameter's values: it began today's appointments at a unit from the unit's 15,000
        // appointments (1.1 s) instead of the measured 30 of today. OFFSET 0 keeps the check per
        // candidate (a subquery with an offset is never pulled up). A negated check stays a join when
        // the driver may have thousands of candidates: an anti-join against the few `active=false` rows
        // is what makes a name search fast. From one patient's records every check is per record
        // (a care-relationship lookup went from 39 ms to 0.2 ms at 100,000 patients). A scan in id order
        // (`scan`) is a check per candidate by design: unfenced, PostgreSQL turned `birthdate=lt…` into a
        // join from all 91,506 matches and sorted them (714 ms at 100,000 patients) where reading the
        // patients in id order finds the page in 47 (1.7 ms).
        let perCandidate = checksPerCandidate || (scan && alias == "r" && !negate) || driver != nil && (!negate || onePatientDriver)
        let fence = dialect == .postgres && perCandidate ? " OFFSET 0" : ""
        return "\(negate ? "NOT EXISTS" : "EXISTS") (SELECT 1 FROM \(table) s\(hint) WHERE s.resource_type = \(alias).resource_type AND s.id = \(alias).id"
            + " AND s.parameter = \(text(parameter)) AND \(alternatives)\(fence))"
    }

    /// A chained filter (`patient.gender=female`) checked from the candidate: its reference rows, then each
    /// target's own rows, all by owner. As a set (`IN (every female patient's observations)`) it was built
    /// anew for every page read in sort order: 240 ms a page at 100,000 patients, 3 ms this way.
    mutating func correlatedChain(parameter: String, targetTypes: [String], filters: [String: SearchFilter], alias: String) -> String {
        aliasCounter += 1
        let link = "x\(aliasCounter)"
        var alternatives: [String] = []
        for target in targetTypes {
            guard let inner = filters[target] else { continue }
            aliasCounter += 1
            let candidate = "c\(aliasCounter)"
            let checks = ["\(candidate).resource_type = \(text(target))", "\(candidate).id = \(link).target_id", dialect.live(candidate),
                          check(inner, type: target, alias: candidate)]
            alternatives.append("(\(link).target_type = \(text(target)) AND EXISTS (SELECT 1 FROM resource \(candidate) WHERE "
                                + checks.joined(separator: " AND ") + "))")
        }
        let fence = dialect == .postgres && checksPerCandidate ? " OFFSET 0" : ""
        return "EXISTS (SELECT 1 FROM search_reference \(link)\(dialect.owner("search_reference")) WHERE \(link).resource_type = \(alias).resource_type"
            + " AND \(link).id = \(alias).id AND \(link).parameter = \(text(parameter)) AND (" + (alternatives.isEmpty ? "1 = 0" : alternatives.joined(separator: " OR ")) + ")\(fence))"
    }

    /// A filter that excludes (`:not`, `ne`): it never drives a plan.
    static func isNegation(_ filter: SearchFilter) -> Bool {
        guard case .values(_, _, let modifier, let values) = filter else { return false }
        return isNegated(modifier, values)
    }

    /// Whether a filter selects resources *without* a matching row (`:not`, or the `ne` prefix).
    static func isNegated(_ modifier: String?, _ values: [SearchValue]) -> Bool {
        modifier == "not" || values.contains { value in
            switch value {
            case .date(.ne, _, _), .number(.ne, _, _, _), .quantity(.ne, _, _, _, _, _): true
            default: false
            }
        }
    }

    /// The values' predicates joined by OR (comma-separated values), in parentheses.
    mutating func anyOf(_ values: [SearchValue], modifier: String?) -> String {
        // Many references of one type (a board's or a ward's patients): one array parameter on PostgreSQL. An OR of
        // sixty pairs costs its planner milliseconds per statement; the index scan over the array finds the same rows.
        if let (type, ids) = referenceArray(values, modifier: modifier) {
            return "(target_type = \(text(type)) AND target_id = ANY(\(text(Self.arrayLiteral(ids)))::text[]))"
        }
        var alternatives: [String] = []
        for value in values { alternatives.append(valueCondition(value, modifier: modifier)) }
        return "(" + alternatives.joined(separator: " OR ") + ")"
    }

    /// The target type and ids when `anyOf` writes these values as one array: on PostgreSQL, several plain
    /// references (`Type/id`, no modifier) all to the same type.
    func referenceArray(_ values: [SearchValue], modifier: String?) -> (type: String, ids: [String])? {
        guard dialect == .postgres, modifier == nil, values.count > 1 else { return nil }
        var type: String?
        var ids: [String] = []
        for value in values {
            guard case .reference(let valueType?, let id?, nil) = value, type == nil || type == valueType else { return nil }
            type = valueType
            ids.append(id)
        }
        return type.map { ($0, ids) }
    }

    /// A PostgreSQL array literal of texts, each element quoted (a search's id is the client's text).
    static func arrayLiteral(_ texts: [String]) -> String {
        "{" + texts.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}"
    }

    /// Every index table, for removing a resource's old rows.
    static let indexTables = ["token", "string", "date", "reference", "quantity", "number", "uri", "composite"].map(table)

    static func table(_ kind: String) -> String {
        switch kind {
        case "token": "search_token"
        case "string": "search_string"
        case "date": "search_date"
        case "reference": "search_reference"
        case "quantity": "search_quantity"
        case "number": "search_number"
        case "uri": "search_uri"
        default: "search_composite"
        }
    }

    mutating func condition(_ filter: SearchFilter, type: String, id: String, distinct: Bool = false) -> String {
        switch filter {
        case .ids(let ids):
            return "\(id) IN (" + ids.map { text($0) }.joined(separator: ", ") + ")"
        case .missing(let parameter, let kind, let missing):
            let sub = "SELECT id FROM \(Self.table(kind)) WHERE resource_type = \(text(type)) AND parameter = \(text(parameter))"
            return "\(id) \(missing ? "NOT IN" : "IN") (\(sub))"
        case .values(let parameter, let kind, let modifier, let values):
            let alternatives = anyOf(values, modifier: modifier)
            let negated = Self.isNegated(modifier, values)
            let sub = "SELECT \(distinct && !negated ? "DISTINCT " : "")id FROM \(Self.table(kind))\(indexHint(kind, values, modifier: modifier)) WHERE resource_type = \(text(type))"
                + " AND parameter = \(text(parameter)) AND \(alternatives)"
            return "\(id) \(negated ? "NOT IN" : "IN") (\(sub))"
        case .chain(let parameter, let targetTypes, let filters):
            var alternatives: [String] = []
            for target in targetTypes {
                guard let inner = filters[target] else { continue }
                aliasCounter += 1
                let alias = "c\(aliasCounter)"
                alternatives.append("(target_type = \(text(target)) AND target_id IN (SELECT \(alias).id FROM resource \(alias) WHERE "
                                    + matches(target, [inner], alias: alias) + "))")
            }
            return "\(id) IN (SELECT id FROM search_reference WHERE resource_type = \(text(type)) AND parameter = \(text(parameter)) AND ("
                + alternatives.joined(separator: " OR ") + "))"
        case .reverseChain(let sourceType, let parameter, let inner):
            aliasCounter += 1
            let alias = "h\(aliasCounter)"
            return "\(id) IN (SELECT target_id FROM search_reference WHERE resource_type = \(text(sourceType)) AND parameter = \(text(parameter))"
                + " AND target_type = \(text(type)) AND id IN (SELECT \(alias).id FROM resource \(alias) WHERE "
                + matches(sourceType, [inner], alias: alias) + "))"
        case .anyOf(let filters):
            return "(" + filters.map { condition($0, type: type, id: id) }.joined(separator: " OR ") + ")"
        }
    }

    /// One value's predicate over its index table's columns.
    mutating func valueCondition(_ value: SearchValue, modifier: String?) -> String {
        switch value {
        case .token(let system, let code):
            var parts: [String] = []
            if let system { parts.append("system = " + text(system)) }
            if let code { parts.append("code = " + text(code)) }
            return "(" + parts.joined(separator: " AND ") + ")"
        case .text(let folded):
            return "text LIKE " + text("%" + Self.escapeLike(folded) + "%") + " ESCAPE '\\'"
        case .string(let raw):
            switch modifier {
            case "exact": return "exact = " + text(raw)
            case "contains": return "value LIKE " + text("%" + Self.escapeLike(SearchText.fold(raw)) + "%") + " ESCAPE '\\'"
            default:
                // Starts-with as a range, so the (parameter, value) index answers it.
                let folded = SearchText.fold(raw)
                return "(value >= \(text(folded)) AND value < \(text(folded + "\u{10FFFF}")))"
            }
        case .date(let prefix, let low, let high):
            return dateCondition(prefix, low: low, high: high, lowColumn: "low", highColumn: "high")
        case .number(let prefix, let v, let low, let high):
            return numberCondition(prefix, value: v, low: low, high: high, column: "value")
        case .quantity(let prefix, let v, let low, let high, let system, let code):
            var parts = [numberCondition(prefix, value: v, low: low, high: high, column: "value")]
            if let system { parts.append("system = " + text(system)) }
            if let code { parts.append("(code = \(text(code)) OR unit = \(text(code)))") }
            return "(" + parts.joined(separator: " AND ") + ")"
        case .reference(let type, let id, let url):
            if let url { return "url = " + text(url) }
            var parts: [String] = []
            if let type { parts.append("target_type = " + text(type)) }
            if let id { parts.append("target_id = " + text(id)) }
            return "(" + parts.joined(separator: " AND ") + ")"
        case .uri(let uri):
            switch modifier {
            case "below": return "uri LIKE " + text(Self.escapeLike(uri) + "%") + " ESCAPE '\\'"
            case "above": return text(uri) + " LIKE (uri || '%')"
            default: return "uri = " + text(uri)
            }
        case .composite(let system, let code, let second):
            var parts: [String] = []
            if let system { parts.append("system1 = " + text(system)) }
            if let code { parts.append("code1 = " + text(code)) }
            switch second {
            case .token(let s, let c):
                if let s { parts.append("system2 = " + text(s)) }
                if let c { parts.append("code2 = " + text(c)) }
            case .string(let raw):
                let folded = SearchText.fold(raw)
                parts.append("(code2 >= \(text(folded)) AND code2 < \(text(folded + "\u{10FFFF}")))")
            case .number(let prefix, let v, let low, let high):
                parts.append(numberCondition(prefix, value: v, low: low, high: high, column: "number2"))
            case .quantity(let prefix, let v, let low, let high, let s, let c):
                parts.append(numberCondition(prefix, value: v, low: low, high: high, column: "number2"))
                if let s { parts.append("system2 = " + text(s)) }
                if let c { parts.append("code2 = " + text(c)) }
            case .date(let prefix, let low, let high):
                if modifier == Self.codeDateSpan {
                    if low != .min { parts.append("high2 >= " + int(low)) }
                    if high != .max { parts.append("low2 <= " + int(high)) }
                } else {
                    parts.append(dateCondition(prefix, low: low, high: high, lowColumn: "low2", highColumn: "high2"))
                }
            default:
                break
            }
            return "(" + parts.joined(separator: " AND ") + ")"
        }
    }

    /// Date prefixes over ranges, as FHIR R4 search §3.1.1.4.1.1 defines them; `ne` is `eq` negated by the caller.
    mutating func dateCondition(_ prefix: SearchValue.Prefix, low: Int64, high: Int64, lowColumn l: String, highColumn h: String) -> String {
        // Each form also bounds one column on both sides where the semantics allow (low ≤ high always),
        // so the (parameter, low) or (parameter, high) index answers it as a range.
        switch prefix {
        case .eq, .ne: return "(\(l) >= \(int(low)) AND \(l) <= \(int(high)) AND \(h) <= \(int(high)))"
        case .gt: return "\(h) > " + int(high)
        case .lt: return "\(l) < " + int(low)
        case .ge: return "(\(h) >= \(int(low)) AND (\(h) > \(int(high)) OR \(l) >= \(int(low))))"
        case .le: return "(\(l) <= \(int(high)) AND (\(l) < \(int(low)) OR \(h) <= \(int(high))))"
        case .sa: return "\(l) > " + int(high)
        case .eb: return "\(h) < " + int(low)
        case .ap:
            // Approximately: the value's range widened by 10 % of its distance from now overlaps the resource's.
            let now = Int64(Date.timeIntervalSinceReferenceDate * 1000) + 978_307_200_000
            let gap = abs(now - low) / 10
            return "(\(l) <= \(int(high + gap)) AND \(h) >= \(int(low - gap)))"
        }
    }

    mutating func numberCondition(_ prefix: SearchValue.Prefix, value: Double, low: Double, high: Double, column c: String) -> String {
        switch prefix {
        case .eq, .ne: return "(\(c) >= \(real(low)) AND \(c) < \(real(high)))"
        case .gt, .sa: return "\(c) > " + real(value)
        case .lt, .eb: return "\(c) < " + real(value)
        case .ge: return "\(c) >= " + real(value)
        case .le: return "\(c) <= " + real(value)
        case .ap: return "(\(c) >= \(real(value - abs(value) * 0.1)) AND \(c) <= \(real(value + abs(value) * 0.1)))"
        }
    }

    static func escapeLike(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    // MARK: Sorting

    mutating func sortExpression(_ key: SearchQuery.SortKey, type: String) -> String {
        let direction = key.descending ? "DESC" : "ASC"
        if key.parameter == "_id" { return "r.id \(direction)" }
        return "\(sortValue(key)) \(direction) NULLS LAST"
    }

    /// Only what comes after `cursor` in a one-key order: a later value, the same value with a later id,
    /// or (with `orNull`) no value at all, as those come last; after a match without a value, only others
    /// without one and with a later id.
    mutating func keyset(value: String, id: String, cursor: SortCursor, descending: Bool, orNull: Bool) -> String {
        let later = descending ? "<" : ">"
        guard let last = cursor.value else {
            return "\(value) IS NULL AND \(id) \(later) " + text(cursor.id)
        }
        let bound: String
        switch last {
        case .integer(let n): bound = int(n)
        case .real(let x): bound = real(x)
        case .text(let t): bound = text(t)
        }
        let lastID = text(cursor.id)
        // `>=` first, so the sort index is read from the cursor on rather than from its start.
        let after = "\(value) \(later)= \(bound) AND (\(value) \(later) \(bound) OR \(id) \(later) \(lastID))"
        return orNull ? "(\(value) IS NULL OR (\(after)))" : after
    }

    /// The index table and column a sort key reads (a date's `low` ascending, `high` descending).
    static func sortColumn(_ key: SearchQuery.SortKey) -> (table: String, column: String) {
        switch key.type {
        case "string": ("search_string", "value")
        case "date": ("search_date", key.descending ? "high" : "low")
        case "token": ("search_token", "code")
        case "reference": ("search_reference", "target_id")
        case "quantity": ("search_quantity", "value")
        case "number": ("search_number", "value")
        default: ("search_uri", "uri")
        }
    }

    /// A page of a one-key sorted search over many matches, read in the order of the sort index: the
    /// index rows of the key's parameter from the cursor on, each checked against the filters, until
    /// the page is full — so a later page costs what the first does, instead of sorting every match
    /// again (an offset page over 40,000 laboratory results took 40 s). Each record's row is the one
    /// holding its sort value (its lowest ascending, highest descending), so it appears once. Records
    /// without a value follow in id order, read only when the valued ones run out.
    static func sortedPage(_ query: SearchQuery, limit: Int, dialect: SQLDialect, versions: Bool = false) -> SQLStatement {
        let key = query.sort[0]
        let (table, column) = sortColumn(key)
        let direction = key.descending ? "DESC" : "ASC"
        var b = SearchSQL(dialect: dialect)
        b.scan = true
        // Every filter is checked per record read in sort order; PostgreSQL must not start from one of
        // them instead (its statistics put 360 rows on a code with 34,000).
        b.checksPerCandidate = true
        let selected = "r.id" + (versions ? ", r.version_id" : "")
        var parts: [String] = []
        if query.sortAfter == nil || query.sortAfter?.value != nil {
            let type = b.text(query.type)
            var valued: String
            var column = column
            if let (system, code) = codeDateSort(query) {
                // One code newest first: that code's code+date rows, read backwards in the index, hold each record's
                // latest date (the span's high is the highest of its dates, the value this sort orders by).
                column = "high2"
                let hint = dialect == .sqlite ? " INDEXED BY search_composite_code_date" : ""
                valued = "SELECT \(dialect == .sqlite ? "DISTINCT " : "")s.high2 AS k, s.id AS id\(versions ? ", r.version_id" : "") FROM search_composite s\(hint)"
                    + " \(dialect == .sqlite ? "CROSS JOIN" : "JOIN") resource r ON r.resource_type = s.resource_type AND r.id = s.id"
                    + " WHERE s.resource_type = \(type) AND s.parameter = \(b.text(SearchIndexEntries.codeDateParameter)) AND s.code1 = \(b.text(code))"
                if let system {
                    valued += " AND s.system1 = " + b.text(system)
                } else if dialect == .postgres {
                    // The same code in two systems is two rows of one record: the first by row address stands for it.
                    valued += " AND NOT EXISTS (SELECT 1 FROM search_composite o WHERE o.resource_type = s.resource_type AND o.id = s.id"
                        + " AND o.parameter = s.parameter AND o.code1 = s.code1 AND o.ctid < s.ctid OFFSET 0)"
                }
            } else if dialect == .sqlite {
                let parameter = b.text(key.parameter)
                // SQLite must read the sort index first and in order (its planner, counting rows, otherwise
                // starts from the resources and sorts them all: 4.6 s for a page at 100,000 patients, 8 ms
                // this way), and keeps that order only when the distinct rows name the resource's id (with
                // the index row's, it sorted every match again: 2.4 s a page, 2 ms this way).
                let sortIndex = "\(table)_lookup\(table == "search_date" && key.descending ? 1 : 0)"
                let aggregate = key.descending ? "max" : "min"
                valued = "SELECT DISTINCT s.\(column) AS k, r.id AS id\(versions ? ", r.version_id" : "") FROM \(table) s INDEXED BY \(sortIndex) CROSS JOIN resource r"
                    + " ON r.resource_type = s.resource_type AND r.id = s.id"
                    + " WHERE s.resource_type = \(type) AND s.parameter = \(parameter)"
                    + " AND s.\(column) = (SELECT \(aggregate)(o.\(column)) FROM \(table) o\(dialect.owner(table)) WHERE o.resource_type = s.resource_type AND o.id = s.id AND o.parameter = s.parameter)"
            } else {
                // PostgreSQL: the record's one row is the first by value, then by row address, so no
                // DISTINCT (whose sort it would not do incrementally). As a fenced NOT EXISTS, not an
                // equality with a subquery: that estimated 1 row in 200 and the planner, expecting
                // fewer matches than a page, sorted all 600,000 observations (6.5 s) instead of
                // reading the index in order (16 ms).
                let beats = key.descending ? ">" : "<"
                let parameter = b.text(key.parameter)
                valued = "SELECT s.\(column) AS k, s.id AS id\(versions ? ", r.version_id" : "") FROM \(table) s JOIN resource r"
                    + " ON r.resource_type = s.resource_type AND r.id = s.id"
                    + " WHERE s.resource_type = \(type) AND s.parameter = \(parameter)"
                    + " AND NOT EXISTS (SELECT 1 FROM \(table) o WHERE o.resource_type = s.resource_type AND o.id = s.id AND o.parameter = s.parameter"
                    + " AND (o.\(column) \(beats) s.\(column) OR (o.\(column) = s.\(column) AND o.ctid < s.ctid)) OFFSET 0)"
            }
            if let cursor = query.sortAfter {
                valued += " AND " + b.keyset(value: "s.\(column)", id: "s.id", cursor: cursor, descending: key.descending, orNull: false)
            }
            valued += " AND " + b.matches(query.type, query.filters, alias: "r")
            valued += " ORDER BY s.\(column) \(direction), s.id \(direction) LIMIT " + b.int(Int64(limit))
            parts.append("SELECT \(selected.replacingOccurrences(of: "r.", with: "v.")) FROM (\(valued)) AS v")
        }
        // Every record has a `_lastUpdated`: no tail of records without one to look for (that look reads
        // every record of the type once the valued ones run out: 1.2 s over 600,000 observations).
        if key.parameter != "_lastUpdated" || parts.isEmpty {
            var missing = "SELECT \(selected) FROM resource r WHERE " + b.matches(query.type, query.filters, alias: "r")
                + " AND NOT EXISTS (SELECT 1 FROM \(table) s WHERE s.resource_type = r.resource_type AND s.id = r.id AND s.parameter = \(b.text(key.parameter)))"
            if let cursor = query.sortAfter, cursor.value == nil {
                missing += " AND r.id \(key.descending ? "<" : ">") " + b.text(cursor.id)
            }
            missing += " ORDER BY r.id \(direction) LIMIT " + b.int(Int64(limit))
            parts.append("SELECT * FROM (\(missing)) AS m")
        }
        // UNION ALL reads its parts in order and stops at the limit: the records without a value are
        // read only when the valued ones do not fill the page.
        let sql = parts.count == 1 ? parts[0] : "SELECT * FROM (" + parts.joined(separator: " UNION ALL ") + ") AS p LIMIT " + b.int(Int64(limit))
        return SQLStatement(sql: sql, binds: b.binds)
    }

    /// The one code of a search of a code+date type sorted newest first by that date (`code=…&_sort=-date`), whose
    /// page `sortedPage` reads from the code's rows of the code+date index instead of from every record's dates,
    /// each checked for the code (a page of one code's results took 69 ms at 100,000 patients that way).
    static func codeDateSort(_ query: SearchQuery) -> (system: String?, code: String)? {
        guard query.sort.count == 1, let key = query.sort.first, key.descending, let pair = SearchIndexEntries.codeDate[query.type],
              key.parameter == pair.date, let codes = codeDateCodes(query, pair), codes.count == 1 else { return nil }
        return codes[0]
    }

    /// A record's value for a sort key: the highest (descending) or lowest of its index rows.
    mutating func sortValue(_ key: SearchQuery.SortKey) -> String {
        let (table, column) = Self.sortColumn(key)
        let aggregate = key.descending ? "max" : "min"
        return "(SELECT \(aggregate)(s.\(column)) FROM \(table) s\(dialect.owner(table)) WHERE s.resource_type = r.resource_type AND s.id = r.id AND s.parameter = \(text(key.parameter)))"
    }
}

import Foundation
