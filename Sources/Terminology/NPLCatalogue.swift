import FHIRCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The drug catalogue (läkemedelskatalog) from Läkemedelsverket's NPL export: one concept per medicinal
/// product, coded by its NPL-id, with form, strength, ATC code, active substances and packages as
/// properties. A total export replaces the catalogue; a delta changes the products it names. Products
/// are never removed, only made inactive (not orderable), because ordinations keep pointing at them.
public enum NPLCatalogue {
    /// The NPL-id naming system, the code system of the catalogue's concepts (as the Swedish FHIR profiles name it).
    public static let system = "http://electronichealth.se/fhir/NamingSystem/nplid"
    /// The NPL package id (NPL-pack-id) naming system.
    public static let packageSystem = "http://electronichealth.se/fhir/NamingSystem/nplpackid"
    /// Kärna's value set over the catalogue: every orderable product (type-ahead in the ordination form).
    public static let valueSet = "https://karna.se/fhir/ValueSet/lakemedelsprodukter"
    /// The CodeSystem resource id the catalogue is stored under.
    public static let resourceID = "npl"

    /// Whether an export is the whole register or the changes since the last one.
    public enum Kind: String, Sendable {
        case total = "Total"
        case delta = "Delta"
    }

    /// One medicinal product as the export describes it.
    public struct Product: Sendable, Equatable {
        public var nplID: String
        public var name: String
        public var form: String
        public var strength: String
        public var atc: String?
        public var substances: [String]
        public var packages: [(id: String, text: String)]
        /// Sales stopped or deregistered: kept for the records that name it, not orderable.
        public var withdrawn: Bool

        public init(nplID: String, name: String, form: String, strength: String, atc: String?, substances: [String],
                    packages: [(id: String, text: String)], withdrawn: Bool) {
            self.nplID = nplID
            self.name = name
            self.form = form
            self.strength = strength
            self.atc = atc
            self.substances = substances
            self.packages = packages
            self.withdrawn = withdrawn
        }

        public static func == (a: Product, b: Product) -> Bool {
            a.nplID == b.nplID && a.name == b.name && a.form == b.form && a.strength == b.strength && a.atc == b.atc
                && a.substances == b.substances && a.withdrawn == b.withdrawn
                && a.packages.map { "\($0.id) \($0.text)" } == b.packages.map { "\($0.id) \($0.text)" }
        }

        /// "Paracetamol Kärna tablett 500 mg": how the product reads in lists and on an ordination.
        public var display: String { [name, form, strength].filter { !$0.isEmpty }.joined(separator: " ") }

        var concept: Concept {
            var properties: [Concept.Property] = [.init("name", name)]
            if !form.isEmpty { properties.append(.init("form", form)) }
            if !strength.isEmpty { properties.append(.init("strength", strength)) }
            if let atc { properties.append(.init("atc", atc)) }
            properties += substances.map { .init("substance", $0) }
            properties += packages.map { .init("package", "\($0.id) \($0.text)") }
            return Concept(code: nplID, display: display, inactive: withdrawn, properties: properties)
        }
    }

    /// One export read: its kind, the date it was made (the file date), and its products.
    public struct Export: Sendable {
        public var kind: Kind
        public var date: String
        public var products: [Product]

        public init(kind: Kind, date: String, products: [Product]) {
            self.kind = kind
            self.date = date
            self.products = products
        }
    }

    /// The property codes concepts carry.
    static let propertyDefinitions: [(code: String, description: String)] = [
        ("name", "Produktnamn (medprodname)"), ("form", "Läkemedelsform"), ("strength", "Styrka"),
        ("atc", "ATC-kod"), ("substance", "Aktiv substans"), ("package", "Förpackning: NPL-pack-id och text"),
    ]

    // MARK: Reading an export

    /// Reads an export from its files (paths relative to the export's root, as in the zip):
    /// `Productdata/*.xml` (one `npl:medprod` each) and the `Lexicondata/*.xml` code lists that name the
    /// forms and substances. Kind and date come from the export's name (`20261201_Total_NPL`) unless given.
    public static func read(files: [(path: String, bytes: [UInt8])], exportName: String, kind: Kind? = nil, date: String? = nil) throws(FHIRError) -> Export {
        let named = Self.nameParts(exportName)
        guard let kind = kind ?? named.kind else {
            throw FHIRError(.invalid, code: .required, "\(exportName): say whether the export is a total or a delta (the name holds neither _Total_ nor _Delta_; use --kind)")
        }
        guard let date = date ?? named.date else {
            throw FHIRError(.invalid, code: .required, "\(exportName): the export's date is not in its name (YYYYMMDD_…); give it with --date YYYY-MM-DD")
        }
        guard Self.isDate(date) else { throw FHIRError(.invalid, code: .value, "the export date must be YYYY-MM-DD; got '\(date)'") }
        let forms = try lexicon(files, "Lexicondata/pharmaceutical-form-lx.xml")
        let substances = try lexicon(files, "Lexicondata/substance-lx.xml")
        var products: [Product] = []
        for file in files.sorted(by: { $0.path < $1.path }) where Self.isProductFile(file.path) {
            let root = try XMLTree.parse(file.bytes, name: file.path)
            guard root.name == "npl:medprod" else {
                throw FHIRError(.invalid, code: .structure, "\(file.path): expected an npl:medprod document, found <\(root.name)>")
            }
            products.append(try product(root, file: file.path, forms: forms, substances: substances))
        }
        guard !products.isEmpty || kind == .delta else {
            throw FHIRError(.invalid, code: .required, "\(exportName): a total export holds products under Productdata/; none found")
        }
        return Export(kind: kind, date: date, products: products)
    }

    static func isProductFile(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return parts.count >= 2 && parts[parts.count - 2] == "Productdata" && path.hasSuffix(".xml")
    }

    static func product(_ root: XMLTree, file: String, forms: [String: String], substances: [String: String]) throws(FHIRError) -> Product {
        guard let nplID = root.child("mpa:nplid")?.text, nplID.count == 14, nplID.allSatisfy(\.isNPLDigit) else {
            throw FHIRError(.invalid, code: .required, "\(file): mpa:nplid is missing or not 14 digits", expression: ["npl:medprod/mpa:nplid"])
        }
        guard let name = root.child("npl:names")?.child("mpa:medprodname")?.attributes["v"], !name.isEmpty else {
            throw FHIRError(.invalid, code: .required, "\(file): product \(nplID) has no npl:names/mpa:medprodname", expression: ["npl:medprod/npl:names"])
        }
        let formCode = root.child("mpa:pharmaceutical-form-lx")?.attributes["v"]
        let form = formCode.map { forms[$0] ?? $0.lowercased() } ?? ""
        let strength = root.child("mpa:strength-text")?.child("mpa:v")?.text ?? ""
        let atc = root.child("npl:classifications")?.child("mpa:atc-code-lx")?.attributes["v"].flatMap { $0.isEmpty ? nil : $0 }
        let active = root.child("npl:pharmaceutical-products")?.children("npl:pharmaceutical-product")
            .flatMap { $0.child("npl:composition")?.children("npl:ingredient") ?? [] }
            .filter { $0.child("mpa:ingredient-role-lx")?.attributes["v"] == "ACTI" }
            .compactMap { $0.child("mpa:substance-lx")?.attributes["v"] } ?? []
        var seen = Set<String>()
        let substanceNames = active.compactMap { substances[$0] }.filter { seen.insert($0).inserted }
        let packages = (root.child("npl:packages")?.children("npl:package") ?? []).compactMap { package -> (id: String, text: String)? in
            guard let id = package.child("mpa:nplpackid")?.text else { return nil }
            return (id, package.child("mpa:pack-text")?.child("mpa:v")?.text ?? "")
        }
        // Sales stopped (flag) or a deregistration date: the product is kept but can no longer be ordered.
        let stopped = root.child("npl:flags")?.child("mpa:salesstopped")?.attributes["v"] == "Y"
        let deregistered = root.child("mpa:deregistration-date") != nil
        return Product(nplID: nplID, name: name, form: form, strength: strength, atc: atc, substances: substanceNames,
                       packages: packages, withdrawn: stopped || deregistered)
    }

    /// A lexicon file of `commonTerm`s: the code (`mpaId`) to its Swedish term name.
    static func lexicon(_ files: [(path: String, bytes: [UInt8])], _ suffix: String) throws(FHIRError) -> [String: String] {
        guard let file = files.first(where: { $0.path == suffix || $0.path.hasSuffix("/" + suffix) }) else { return [:] }
        let root = try XMLTree.parse(file.bytes, name: file.path)
        var terms: [String: String] = [:]
        for term in root.descendants("commonTerm") {
            guard let id = term.child("mpaId")?.text else { continue }
            let names = term.children("term-name")
            let swedish = names.first { $0.attributes["xml:lang"] == "sv" } ?? names.first
            if let name = swedish.flatMap({ $0.attributes["v"] ?? $0.text }), !name.isEmpty { terms[id] = name }
        }
        return terms
    }

    static func nameParts(_ name: String) -> (kind: Kind?, date: String?) {
        let base = (name as NSString).lastPathComponent
        let kind: Kind? = base.contains("_Total_") || base.hasSuffix("_Total") ? .total : base.contains("_Delta_") || base.hasSuffix("_Delta") ? .delta : nil
        let digits = base.prefix(8)
        guard digits.count == 8, digits.allSatisfy(\.isNPLDigit) else { return (kind, nil) }
        let date = "\(digits.prefix(4))-\(digits.dropFirst(4).prefix(2))-\(digits.suffix(2))"
        return (kind, Self.isDate(date) ? date : nil)
    }

    static func isDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let month = Int(parts[1]), let day = Int(parts[2]), parts.allSatisfy({ $0.allSatisfy(\.isNPLDigit) }) else { return false }
        return (1...12).contains(month) && (1...31).contains(day)
    }

    // MARK: Applying an export

    /// What applying an export did.
    public struct Change: Sendable {
        public var catalogue: CodeSystemContent
        public var added: Int
        public var changed: Int
        public var withdrawn: Int
        public var unchanged: Int
        /// False when the catalogue already was what the export makes it (an import run twice).
        public var isChange: Bool { added + changed + withdrawn > 0 }
    }

    /// Applies an export to the stored catalogue (nil before the first total). A total makes every
    /// product it omits inactive; a delta touches only its products. An export older than the catalogue,
    /// or a delta without a total before it, is refused by name.
    public static func apply(_ export: Export, to current: CodeSystemContent?) throws(FHIRError) -> Change {
        let currentDate = current?.version.flatMap { Self.isDate($0) ? $0 : nil }
        if export.kind == .delta, current == nil {
            throw FHIRError(.invalid, code: .businessRule, "a delta export (\(export.date)) needs a total import first: import the latest total, then the deltas after it")
        }
        if let currentDate, export.date < currentDate {
            throw FHIRError(.conflict, code: .businessRule, "the catalogue is from \(currentDate); this \(export.kind.rawValue.lowercased()) export from \(export.date) is older and would undo later changes")
        }
        var concepts = current.map { current in current.order.compactMap { current.concepts[$0] } } ?? []
        var index = Dictionary(uniqueKeysWithValues: concepts.enumerated().map { ($1.code, $0) })
        var added = 0, changed = 0, withdrawn = 0, unchanged = 0
        for product in export.products {
            let concept = product.concept
            if let at = index[product.nplID] {
                if concepts[at] == concept { unchanged += 1; continue }
                if concept.inactive, !concepts[at].inactive { withdrawn += 1 } else { changed += 1 }
                concepts[at] = concept
            } else {
                index[product.nplID] = concepts.count
                concepts.append(concept)
                added += 1
            }
        }
        if export.kind == .total {
            let named = Set(export.products.map(\.nplID))
            for at in concepts.indices where !named.contains(concepts[at].code) && !concepts[at].inactive {
                concepts[at].inactive = true
                withdrawn += 1
            }
        }
        let history = current.map { previous in previous.source.isEmpty ? [] : [previous.source] } ?? []
        let isChange = added + changed + withdrawn > 0 || current == nil
        let source = isChange ? (export.kind == .total ? [] : history) + ["NPL \(export.kind.rawValue.lowercased()) \(export.date)"] : history
        let catalogue = CodeSystemContent(
            url: system, version: isChange || currentDate == nil ? export.date : current?.version, name: "NPL", title: "Läkemedelskatalog (NPL)",
            content: "complete", source: source.joined(separator: "; "), concepts: concepts, propertyDefinitions: propertyDefinitions)
        return Change(catalogue: catalogue, added: added, changed: changed, withdrawn: withdrawn, unchanged: unchanged)
    }
}

/// A parsed XML document as a small tree, built with Foundation's XMLParser (libxml2); the NPL files
/// are a few kilobytes each, so a tree is simpler to read from than parser callbacks.
struct XMLTree {
    var name: String
    var attributes: [String: String]
    var elements: [XMLTree]
    var text: String?

    func child(_ name: String) -> XMLTree? { elements.first { $0.name == name } }
    func children(_ name: String) -> [XMLTree] { elements.filter { $0.name == name } }
    func descendants(_ name: String) -> [XMLTree] { elements.flatMap { ($0.name == name ? [$0] : []) + $0.descendants(name) } }

    static func parse(_ bytes: [UInt8], name: String) throws(FHIRError) -> XMLTree {
        let builder = Builder()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            let where_ = "line \(parser.lineNumber), column \(parser.columnNumber)"
            throw FHIRError(.invalid, code: .structure, "\(name): not well-formed XML at \(where_): \(parser.parserError.map { String(describing: $0) } ?? "no root element")")
        }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLTree] = []
        var root: XMLTree?

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            stack.append(XMLTree(name: qualifiedName ?? elementName, attributes: attributes, elements: [], text: nil))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text = (stack[stack.count - 1].text ?? "") + string
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            guard var element = stack.popLast() else { return }
            let trimmed = element.text?.trimmingCharacters(in: .whitespacesAndNewlines)
            element.text = trimmed?.isEmpty == false ? trimmed : nil
            if stack.isEmpty { root = element } else { stack[stack.count - 1].elements.append(element) }
        }
    }
}

extension NPLCatalogue {
    /// Reads an unpacked export: a folder named like the export (`20261201_Total_NPL`) holding
    /// `Productdata/` and `Lexicondata/`, or a folder with one such export folder inside it.
    public static func readFolder(_ folder: URL, kind: Kind? = nil, date: String? = nil) throws(FHIRError) -> Export {
        var root = folder
        let manager = FileManager.default
        if !manager.fileExists(atPath: folder.appendingPathComponent("Productdata").path),
           let inner = try? manager.contentsOfDirectory(atPath: folder.path).sorted().first(where: { manager.fileExists(atPath: folder.appendingPathComponent($0).appendingPathComponent("Productdata").path) }) {
            root = folder.appendingPathComponent(inner)
        }
        var files: [(path: String, bytes: [UInt8])] = []
        for sub in ["Productdata", "Lexicondata"] {
            let directory = root.appendingPathComponent(sub)
            for name in (try? manager.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasSuffix(".xml") {
                guard let data = manager.contents(atPath: directory.appendingPathComponent(name).path) else {
                    throw FHIRError(.invalid, code: .exception, "cannot read \(sub)/\(name) in \(root.path)")
                }
                files.append(("\(sub)/\(name)", Array(data)))
            }
        }
        return try read(files: files, exportName: root.lastPathComponent, kind: kind, date: date)
    }
}

extension Character {
    fileprivate var isNPLDigit: Bool { ("0"..."9").contains(self) }
}
