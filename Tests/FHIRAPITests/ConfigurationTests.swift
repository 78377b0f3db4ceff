import Access
import FHIRAPI
import Foundation
import KarnaServer
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsAreSafe() throws {
        let configuration = try KarnaConfiguration(flags: [:], environment: [:])
        #expect(configuration.port == 8080)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.databaseURL == "sqlite:./data/karna.sqlite")
        #expect(configuration.baseURL == "http://127.0.0.1:8080/fhir")
    }

    @Test func flagsWinOverEnvironment() throws {
        let configuration = try KarnaConfiguration(flags: ["port": "9000"], environment: ["KARNA_PORT": "9100", "KARNA_MAX_PAGE_SIZE": "200"])
        #expect(configuration.port == 9000)
        #expect(configuration.limits.maxPageSize == 200)
        let lists = try KarnaConfiguration(flags: ["web-log-rows": "50"], environment: ["KARNA_WEB_LOG_ROWS": "100", "KARNA_WEB_BOOK_ROWS": "800"])
        #expect((lists.webLogRows, lists.webBookRows, lists.webSearchRows) == (50, 800, 50))
    }

    /// A bad setting stops start-up with a message that names it.
    @Test(arguments: [
        (["KARNA_PORT": "eighty"], "KARNA_PORT"),
        (["KARNA_PORT": "70000"], "KARNA_PORT"),
        (["KARNA_DATABASE_URL": "mysql://x"], "KARNA_DATABASE_URL"),
        (["KARNA_BASE_URL": "not a url"], "KARNA_BASE_URL"),
        (["KARNA_MAX_BODY_BYTES": "-1"], "KARNA_MAX_BODY_BYTES"),
        (["KARNA_LOG_LEVEL": "loud"], "KARNA_LOG_LEVEL"),
        (["KARNA_WEB_LOG_ROWS": "0"], "KARNA_WEB_LOG_ROWS"),
        (["KARNA_WEB_SEARCH_ROWS": "many"], "KARNA_WEB_SEARCH_ROWS"),
        (["KARNA_NLL_AUTHORIZATION": "exchange"], "KARNA_NLL_TOKEN_EXCHANGE_URL"),
        (["KARNA_NLL_AUTHORIZATION": "exchange", "KARNA_NLL_TOKEN_EXCHANGE_URL": "https://idp.example/token"], "KARNA_NLL_TOKEN_EXCHANGE_SECRET_FILE"),
    ])
    func badSettingsAreNamed(environment: [String: String], name: String) {
        #expect {
            _ = try KarnaConfiguration(flags: [:], environment: environment)
        } throws: { error in
            (error as? KarnaConfiguration.Error)?.description.contains(name) == true
        }
    }

    @Test func passwordsAreHiddenInLogs() throws {
        let configuration = try KarnaConfiguration(flags: [:], environment: ["KARNA_DATABASE_URL": "postgres://karna:secret@db:5432/karna"])
        #expect(!configuration.redactedDatabaseURL.contains("secret"))
    }

    @Test("a settings file is read under the environment and the flags; an unknown key in it is refused by name")
    func settingsFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("karna-settings-\(UUID().uuidString).json").path
        try Data(#"{"port": 9200, "max-page-size": 300, "web-log-rows": 40, "reference-check": false}"#.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try KarnaConfiguration(flags: ["config-file": path, "web-log-rows": "60"], environment: ["KARNA_MAX_PAGE_SIZE": "250"])
        #expect(configuration.port == 9200, "the file sets what nothing else does")
        #expect(configuration.limits.maxPageSize == 250, "the environment wins over the file")
        #expect(configuration.webLogRows == 60, "a flag wins over the file")
        #expect(configuration.access.checkReferences == false)
        #expect(configuration.webSearchRows == 50, "the declared default when nothing sets it")

        try Data(#"{"prot": 9200}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try KarnaConfiguration(flags: ["config-file": path], environment: [:])
        } throws: { error in
            (error as? KarnaConfiguration.Error)?.description.contains("prot in the settings file") == true
        }
        try Data(#"{"port": 70000}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try KarnaConfiguration(flags: [:], environment: ["KARNA_CONFIG_FILE": path])
        } throws: { error in
            (error as? KarnaConfiguration.Error)?.description.contains("port in \(path)") == true
        }
    }

    @Test("an unknown flag is refused by name")
    func unknownFlag() {
        #expect {
            _ = try KarnaConfiguration(flags: ["max-bodyy-bytes": "1"], environment: [:])
        } throws: { error in
            (error as? KarnaConfiguration.Error)?.description.contains("--max-bodyy-bytes") == true
        }
    }

    @Test("each setting is declared once, and the README's settings table is the one made from the declarations")
    func readmeTableIsGenerated() throws {
        let keys = KarnaConfiguration.declared.map(\.key)
        #expect(Set(keys).count == keys.count, "a key is declared twice: \(keys.sorted())")
        #expect(keys.count > 50)
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md").standardized
        let text = try String(contentsOf: readme, encoding: .utf8)
        let begin = try #require(text.range(of: "<!-- settings:begin (generated: `swift run karna settings`) -->\n"))
        let end = try #require(text.range(of: "\n<!-- settings:end -->"))
        #expect(String(text[begin.upperBound..<end.lowerBound]) == KarnaConfiguration.markdownTable,
                "README.md's settings table differs from the declarations: replace it with the output of `swift run karna settings`")
    }
}
