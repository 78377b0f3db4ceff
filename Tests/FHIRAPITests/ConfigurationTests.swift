import KarnaServer
import Testing
import FHIRAPI

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
}
