import Foundation

/// One setting of a Kärna server, declared once by the part that uses it (a module declares its
/// own): its key, what it means, its default and what values it takes. The flag (`--key`), the
/// environment variable (`KARNA_KEY`), the settings-file key, `karna --help` and the README's
/// table are all made from this declaration.
public struct Setting: Sendable {
    /// What values the setting takes.
    public enum Kind: Sendable {
        case integer(ClosedRange<Int>)
        case text
        case choice([String])
    }

    /// Lower-case words joined by dashes: `max-body-bytes`.
    public let key: String
    public let kind: Kind
    /// The default as text, for help and docs (nil: unset unless given).
    public let defaultText: String?
    /// What it means, for people.
    public let meaning: String
    /// Never printed or logged (a secret).
    public let isSecret: Bool

    public init(key: String, kind: Kind, defaultText: String?, meaning: String, isSecret: Bool = false) {
        self.key = key
        self.kind = kind
        self.defaultText = defaultText
        self.meaning = meaning
        self.isSecret = isSecret
    }

    public static func integer(_ key: String, default value: Int, _ range: ClosedRange<Int>, _ meaning: String) -> Setting {
        Setting(key: key, kind: .integer(range), defaultText: String(value), meaning: meaning)
    }

    public static func text(_ key: String, default value: String?, secret: Bool = false, _ meaning: String) -> Setting {
        Setting(key: key, kind: .text, defaultText: value, meaning: meaning, isSecret: secret)
    }

    public static func choice(_ key: String, default value: String, _ values: [String], _ meaning: String) -> Setting {
        Setting(key: key, kind: .choice(values), defaultText: value, meaning: meaning)
    }

    /// `--max-body-bytes`.
    public var flag: String { "--" + key }
    /// `KARNA_MAX_BODY_BYTES`.
    public var variable: String { "KARNA_" + key.uppercased().replacingOccurrences(of: "-", with: "_") }

    /// The default as a whole number (for integer settings).
    public var defaultInteger: Int { defaultText.flatMap(Int.init) ?? 0 }
}

/// Where a part reads its settings from; the composition root's reader resolves each key from the
/// flags, then the environment, then an optional settings file, then the declared default, and
/// refuses a bad value with a message naming where it came from.
public protocol SettingsReader: Sendable {
    func integer(_ setting: Setting) throws -> Int
    /// nil when unset and without a default.
    func text(_ setting: Setting) throws -> String?
    /// Where a given value came from (`--port`, `KARNA_PORT`, the file), for messages about it.
    func source(_ setting: Setting) -> String
}

extension SettingsReader {
    /// A text setting that has a default.
    public func string(_ setting: Setting) throws -> String {
        try text(setting) ?? setting.defaultText ?? ""
    }
}
