import FHIRCore
import Foundation

/// Reads the release files code-list owners publish (ICD-10-SE and KVÅ from Socialstyrelsen, ATC,
/// NPU) into a `CodeSystemContent`, so a region can load full, current versions.
///
/// The files are delimited text (tab, semicolon or comma; UTF-8 or Latin-1) with a code column and a
/// text column; lines whose code does not have the format's shape (headings, chapter ranges, notes)
/// are skipped and counted. Columns and delimiter can be named when a release changes its layout.
public struct ReleaseFileImporter: Sendable {
    /// A code list Kärna knows how to read, with its canonical system URL and code shape.
    public enum Format: String, Sendable, CaseIterable {
        case icd10SE = "icd-10-se"
        case kva
        case atc
        case npu
        /// Kärna's own: `code<TAB>display[<TAB>parent]` with `# url:`/`# title:`… header lines.
        case karna

        public var system: String {
            switch self {
            case .icd10SE: KnownSystems.icd10SE
            case .kva: KnownSystems.kva
            case .atc: KnownSystems.atc
            case .npu: KnownSystems.npu
            case .karna: ""
            }
        }

        var title: String {
            switch self {
            case .icd10SE: "ICD-10-SE"
            case .kva: "KVÅ (Klassifikation av vårdåtgärder)"
            case .atc: "ATC"
            case .npu: "NPU"
            case .karna: ""
            }
        }

        /// Whether a (normalised) code has this list's shape.
        func accepts(_ code: String) -> Bool {
            let scalars = Array(code.unicodeScalars)
            func letter(_ i: Int) -> Bool { i < scalars.count && ("A"..."Z").contains(scalars[i]) }
            func digit(_ i: Int) -> Bool { i < scalars.count && ("0"..."9").contains(scalars[i]) }
            switch self {
            case .icd10SE:
                guard scalars.count >= 3, letter(0), digit(1), digit(2) || scalars[2] == "A" || scalars[2] == "B" else { return false }
                if scalars.count == 3 { return true }
                return scalars.count >= 5 && scalars.count <= 7 && scalars[3] == "." && scalars[4...].allSatisfy { ("0"..."9").contains($0) || ("A"..."Z").contains($0) }
            case .kva:
                return (5...6).contains(scalars.count) && letter(0) && letter(1) && scalars.allSatisfy { ("0"..."9").contains($0) || ("A"..."Z").contains($0) }
            case .atc:
                let pattern: [Character] = ["L", "D", "D", "L", "L", "D", "D"]
                guard [1, 3, 4, 5, 7].contains(scalars.count) else { return false }
                return zip(scalars.indices, pattern).allSatisfy { i, kind in kind == "L" ? letter(i) : digit(i) }
            case .npu:
                return scalars.count == 8 && letter(0) && letter(1) && letter(2) && (3..<8).allSatisfy(digit)
            case .karna:
                return !code.isEmpty
            }
        }

        /// The written code in canonical form: ICD-10-SE with its dot (release files often leave it
        /// out) and without dagger/asterisk marks; the others upper case.
        func normalise(_ raw: String) -> String {
            var code = raw.trimmingCharacters(in: .whitespaces).uppercased()
            if self == .karna { return raw.trimmingCharacters(in: .whitespaces) }
            code.removeAll { "†*+#\u{2020}".contains($0) }
            if self == .icd10SE, code.count > 3, !code.contains(".") {
                code.insert(".", at: code.index(code.startIndex, offsetBy: 3))
            }
            return code
        }

        /// The parent code: ICD-10-SE's shorter code, ATC's level above; none for KVÅ and NPU.
        func parent(of code: String, known: Set<String>) -> String? {
            switch self {
            case .icd10SE:
                var candidate = code
                while candidate.count > 3 {
                    candidate.removeLast()
                    if candidate.hasSuffix(".") { candidate.removeLast() }
                    if known.contains(candidate) { return candidate }
                }
                return nil
            case .atc:
                let levels = [1, 3, 4, 5]
                return levels.reversed().first { $0 < code.count && known.contains(String(code.prefix($0))) }.map { String(code.prefix($0)) }
            default:
                return nil
            }
        }
    }

    /// What the import found, for the command's report.
    public struct Result: Sendable {
        public var codeSystem: CodeSystemContent
        public var skippedLines: Int
    }

    public var format: Format
    public var version: String?
    /// 1-based columns; nil picks the format's default (first and second, or by header name).
    public var codeColumn: Int?
    public var displayColumn: Int?
    public var delimiter: Character?
    /// Overrides the format's system URL (Kärna's own lists name theirs in the file).
    public var url: String?
    public var source: String?

    public init(format: Format, version: String? = nil, codeColumn: Int? = nil, displayColumn: Int? = nil, delimiter: Character? = nil,
                url: String? = nil, source: String? = nil) {
        self.format = format
        self.version = version
        self.codeColumn = codeColumn
        self.displayColumn = displayColumn
        self.delimiter = delimiter
        self.url = url
        self.source = source
    }

    /// Decodes the bytes (UTF-8, else Latin-1/Windows-1252 as older Socialstyrelsen files are) and reads them.
    public func read(bytes: [UInt8], fileName: String) throws(FHIRError) -> Result {
        var data = bytes
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data.removeFirst(3) }
        let text = String(validating: data, as: UTF8.self) ?? String(data: Data(data), encoding: .windowsCP1252) ?? String(decoding: data, as: UTF8.self)
        return try read(text: text, fileName: fileName)
    }

    public func read(text: String, fileName: String) throws(FHIRError) -> Result {
        var header: [String: String] = [:]
        var rows: [(line: Int, fields: [String])] = []
        var chosen = delimiter
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = rawLine.trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if line.hasPrefix("#") {
                let body = line.dropFirst().trimmingCharacters(in: .whitespaces)
                if let colon = body.firstIndex(of: ":") {
                    header[body[..<colon].lowercased()] = body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                continue
            }
            // One delimiter for the file, from its first line (texts may hold the others).
            let separator = chosen ?? Self.guessDelimiter(line)
            chosen = separator
            rows.append((number + 1, Self.split(line, delimiter: separator)))
        }
        // A header row names its columns: find code and text by name when not given.
        var codeIndex = (codeColumn ?? 1) - 1
        var displayIndex = (displayColumn ?? 2) - 1
        if let first = rows.first, !format.accepts(format.normalise(first.fields[safe: codeIndex] ?? "")) {
            let names = first.fields.map { $0.lowercased() }
            if codeColumn == nil, let i = names.firstIndex(where: { ["kod", "code", "npu code", "atc code", "atc-kod", "atckod"].contains($0) }) { codeIndex = i }
            if displayColumn == nil, let i = names.firstIndex(where: { ["text", "titel", "title", "name", "namn", "benämning", "short definition", "kodtext"].contains($0) }) {
                displayIndex = i
            }
        }
        guard codeIndex >= 0, displayIndex >= 0 else { throw FHIRError(.invalid, code: .value, "columns are numbered from 1") }
        var concepts: [(code: String, display: String, parent: String?)] = []
        var skipped = 0
        for row in rows {
            guard let rawCode = row.fields[safe: codeIndex] else { skipped += 1; continue }
            let code = format.normalise(rawCode)
            guard format.accepts(code) else { skipped += 1; continue }
            let display = (row.fields[safe: displayIndex] ?? "").trimmingCharacters(in: .whitespaces)
            guard !display.isEmpty else {
                throw FHIRError(.invalid, code: .value, "\(fileName) line \(row.line): code \(code) has no text in column \(displayIndex + 1)")
            }
            let parent = format == .karna ? row.fields[safe: 2].flatMap { $0.isEmpty ? nil : $0 } : nil
            concepts.append((code, display, parent))
        }
        guard !concepts.isEmpty else {
            throw FHIRError(.invalid, code: .value, "\(fileName): no \(format.rawValue) codes found (\(rows.count) lines read, code column \(codeIndex + 1)); check --format and --code-column")
        }
        let known = Set(concepts.map(\.code))
        let url = self.url ?? header["url"] ?? format.system
        guard !url.isEmpty else { throw FHIRError(.invalid, code: .required, "\(fileName): no '# url:' line names the code system") }
        let content = header["content"] ?? "complete"
        let system = CodeSystemContent(
            url: url, version: version ?? header["version"], name: header["name"] ?? format.rawValue,
            title: header["title"] ?? format.title, content: content,
            source: source ?? header["source"] ?? "imported from \(fileName)",
            concepts: concepts.map { Concept(code: $0.code, display: $0.display, parent: $0.parent ?? format.parent(of: $0.code, known: known)) })
        return Result(codeSystem: system, skippedLines: skipped)
    }

    static func guessDelimiter(_ line: String) -> Character {
        var unquoted = ""
        var quoted = false
        for character in line {
            if character == "\"" { quoted.toggle() } else if !quoted { unquoted.append(character) }
        }
        for candidate: Character in ["\t", ";", ","] where unquoted.contains(candidate) { return candidate }
        return " "
    }

    /// Splits a line on the delimiter, honouring double quotes (CSV exports quote texts with commas).
    static func split(_ line: String, delimiter: Character) -> [String] {
        if delimiter == " " {
            // Code, then the rest of the line as text.
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            return parts.map(String.init)
        }
        var fields: [String] = []
        var current = ""
        var quoted = false
        let characters = Array(line)
        var i = 0
        while i < characters.count {
            let character = characters[i]
            if quoted {
                if character == "\"" {
                    if i + 1 < characters.count, characters[i + 1] == "\"" { current.append("\""); i += 1 } else { quoted = false }
                } else {
                    current.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == delimiter {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
            i += 1
        }
        fields.append(current)
        return fields
    }
}

/// The canonical URLs of the Swedish code lists Kärna reads.
public enum KnownSystems {
    /// ICD-10-SE (Socialstyrelsen), by its OID as Swedish systems exchange it.
    public static let icd10SE = "urn:oid:1.2.752.116.1.1.1.1.3"
    /// KVÅ, Klassifikation av vårdåtgärder (Socialstyrelsen).
    public static let kva = "urn:oid:1.2.752.116.1.3.2.1.4"
    /// ATC (WHO Collaborating Centre for Drug Statistics Methodology).
    public static let atc = "http://www.whocc.no/atc"
    /// NPU (Nomenclature for Properties and Units), laboratory analyses.
    public static let npu = "urn:oid:1.2.208.176.2.1"
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
