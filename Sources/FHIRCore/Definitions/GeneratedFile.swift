import Foundation

/// The files `scripts/generate_definitions.py` writes into FHIRCore's bundle, read once at start-up.
enum GeneratedFile {
    /// The named file's contents decoded by `decode`; a missing or unreadable file stops the process, as
    /// no resource could be checked without it.
    static func load<T>(_ name: String, _ decode: (Data) throws -> T) -> T {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Generated")
            ?? Bundle.module.url(forResource: name, withExtension: "json")
        else { fatalError("\(name).json is missing from the FHIRCore bundle; run scripts/generate_definitions.py") }
        do {
            return try decode(Data(contentsOf: url))
        } catch {
            fatalError("\(name).json cannot be read: \(error)")
        }
    }
}
