import Access
import Configuration
import FHIRCore
import Foundation

/// The settings as swift-configuration reads them: flags over `KARNA_*` environment variables over an
/// optional JSON settings file (`--config-file` / `KARNA_CONFIG_FILE`: `{"port": 8080, …}`) over the
/// declared defaults. A value that does not fit its declaration stops start-up naming where it came from.
struct SettingsSource: SettingsReader {
    private let reader: ConfigReader
    private let flags: [String: String]
    private let environment: [String: String]
    private let file: (path: String, values: [String: String])?

    init(flags: [String: String], environment: [String: String]) throws {
        self.flags = flags
        self.environment = environment
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map {
                (AbsoluteConfigKey(["karna", $0.key]), ConfigValue(.string($0.value), isSecret: false))
            })),
            // KARNA_MAX_BODY_BYTES is the key karna.max-body-bytes in swift-configuration's encoding.
            EnvironmentVariablesProvider(environmentVariables: environment),
        ]
        let path = flags["config-file"] ?? environment["KARNA_CONFIG_FILE"]
        if let path, !path.isEmpty {
            let values = try Self.readFile(path)
            providers.append(InMemoryProvider(name: "file", values: Dictionary(uniqueKeysWithValues: values.map {
                (AbsoluteConfigKey(["karna", $0.key]), ConfigValue(.string($0.value), isSecret: false))
            })))
            file = (path, values)
        } else {
            file = nil
        }
        reader = ConfigReader(providers: providers)
    }

    /// The keys the settings file sets.
    var fileKeys: Set<String> { Set(file?.values.keys.map { $0 } ?? []) }

    func text(_ setting: Setting) throws -> String? {
        guard let value = reader.string(forKey: ConfigKey(["karna", setting.key]), isSecret: setting.isSecret), !value.isEmpty else {
            return setting.defaultText
        }
        if case .choice(let values) = setting.kind, !values.contains(value) {
            throw KarnaConfiguration.Error(description: "\(source(setting)) must be one of \(values.joined(separator: ", ")); got '\(value)'")
        }
        return value
    }

    func integer(_ setting: Setting) throws -> Int {
        guard case .integer(let range) = setting.kind else { preconditionFailure("\(setting.key) is not a whole-number setting") }
        guard let text = reader.string(forKey: ConfigKey(["karna", setting.key])), !text.isEmpty else { return setting.defaultInteger }
        guard let number = Int(text), range.contains(number) else {
            throw KarnaConfiguration.Error(description: "\(source(setting)) must be a whole number from \(range.lowerBound) to \(range.upperBound); got '\(text)'")
        }
        return number
    }

    func source(_ setting: Setting) -> String {
        if flags[setting.key] != nil { return setting.flag }
        if let value = environment[setting.variable], !value.isEmpty { return setting.variable }
        if let file, file.values[setting.key] != nil { return "\(setting.key) in \(file.path)" }
        return "\(setting.variable)/\(setting.flag)"
    }

    /// A settings file: one JSON object of keys and values (numbers, strings or booleans).
    static func readFile(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KarnaConfiguration.Error(description: "KARNA_CONFIG_FILE/--config-file: cannot read \(path)")
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(Array(data))
        } catch {
            throw KarnaConfiguration.Error(description: "\(path) is not JSON: \(error)")
        }
        guard case .object(let object) = document else {
            throw KarnaConfiguration.Error(description: "\(path) must hold one JSON object of settings, such as {\"port\": 8080}")
        }
        var values: [String: String] = [:]
        for (key, value) in object {
            switch value {
            case .string(let text): values[key] = text
            case .number(let text): values[key] = text
            case .bool(let flag): values[key] = flag ? "on" : "off"
            default: throw KarnaConfiguration.Error(description: "\(path): \(key) must be a number, a string or a boolean")
            }
        }
        return values
    }
}
