/// The names of the search index tables, one per parameter kind.
enum SearchIndexTables {
    static let all = ["search_token", "search_string", "search_date", "search_reference",
                      "search_quantity", "search_number", "search_uri", "search_composite"]
}
