import FHIRCore
import Foundation

/// Kärna's own value sets: what each coded field of the clinical modules is bound to.
public enum KarnaValueSets {
    public static let diagnoses = "https://karna.se/fhir/ValueSet/diagnoser"
    public static let procedures = "https://karna.se/fhir/ValueSet/atgarder"
    public static let medicines = "https://karna.se/fhir/ValueSet/lakemedel"
    public static let laboratoryAnalyses = "https://karna.se/fhir/ValueSet/laboratorieanalyser"
    public static let allergens = "https://karna.se/fhir/ValueSet/allergener"
    public static let infections = "https://karna.se/fhir/ValueSet/smitta"
    public static let treatments = "https://karna.se/fhir/ValueSet/behandlingar"
    public static let careLimitations = "https://karna.se/fhir/ValueSet/vardbegransningar"
    /// Kärna's code systems that are not national lists.
    public static let attentionSystem = "https://karna.se/fhir/CodeSystem/uppmarksamhet"
    public static let allergenSystem = "https://karna.se/fhir/CodeSystem/allergen"

    static var definitions: [ValueSetDefinition] {
        typealias Rule = ValueSetDefinition.Rule
        func all(_ system: String) -> Rule { Rule(system: system, codes: [], filters: [], valueSets: []) }
        func below(_ system: String, _ code: String) -> Rule { Rule(system: system, codes: [], filters: [("descendent-of", code)], valueSets: []) }
        return [
            ValueSetDefinition(url: diagnoses, name: "Diagnoser", title: "Diagnoser (ICD-10-SE)", include: [all(KnownSystems.icd10SE)]),
            ValueSetDefinition(url: procedures, name: "Atgarder", title: "Åtgärder (KVÅ)", include: [all(KnownSystems.kva)]),
            ValueSetDefinition(url: medicines, name: "Lakemedel", title: "Läkemedel (ATC eller NPL-produkt)", include: [all(KnownSystems.atc), all(NPLCatalogue.system)]),
            ValueSetDefinition(url: NPLCatalogue.valueSet, name: "Lakemedelsprodukter", title: "Läkemedelsprodukter (NPL)", include: [all(NPLCatalogue.system)]),
            ValueSetDefinition(url: laboratoryAnalyses, name: "Laboratorieanalyser", title: "Laboratorieanalyser (NPU)", include: [all(KnownSystems.npu)]),
            ValueSetDefinition(url: allergens, name: "Allergener", title: "Allergener (ATC och övriga ämnen)",
                               include: [all(KnownSystems.atc), all(allergenSystem)]),
            ValueSetDefinition(url: infections, name: "Smitta", title: "Smitta av betydelse för vården", include: [below(attentionSystem, "smitta")]),
            ValueSetDefinition(url: treatments, name: "Behandlingar", title: "Behandlingar av betydelse för vården", include: [below(attentionSystem, "behandling")]),
            ValueSetDefinition(url: careLimitations, name: "Vardbegransningar", title: "Vårdbegränsningar", include: [below(attentionSystem, "vardbegransning")]),
        ]
    }
}

/// The small code lists shipped in the repository (each file names its source and date).
enum ShippedTerminology {
    static let files: [(name: String, format: ReleaseFileImporter.Format)] = [
        ("icd-10-se", .icd10SE), ("kva", .kva), ("atc", .atc), ("npu", .npu),
        ("karna-uppmarksamhet", .karna), ("karna-allergen", .karna),
    ]

    static func load(into service: TerminologyService) {
        for file in files {
            guard let url = Bundle.module.url(forResource: file.name, withExtension: "tsv", subdirectory: "Shipped"),
                  let data = try? Data(contentsOf: url)
            else { preconditionFailure("the shipped code list \(file.name).tsv is missing from the Terminology bundle") }
            do {
                service.register(try ReleaseFileImporter(format: file.format).read(bytes: Array(data), fileName: "\(file.name).tsv").codeSystem)
            } catch {
                preconditionFailure("the shipped code list \(file.name).tsv does not read: \(error)")
            }
        }
        loadDrugCatalogueSample(into: service)
        for definition in KarnaValueSets.definitions { service.register(definition) }
        loadRequiredValueSets(into: service)
    }

    /// The synthetic NPL sample (`scripts/make-npl-sample.py`), the demo's drug catalogue until a region
    /// imports Läkemedelsverket's export with `karna drugs import`.
    static func loadDrugCatalogueSample(into service: TerminologyService) {
        guard let folder = Bundle.module.url(forResource: "npl", withExtension: nil, subdirectory: "Shipped") else {
            preconditionFailure("the NPL sample is missing from the Terminology bundle")
        }
        do {
            let export = try NPLCatalogue.readFolder(folder)
            var catalogue = try NPLCatalogue.apply(export, to: nil).catalogue
            catalogue = CodeSystemContent(url: catalogue.url, version: "\(export.date) (syntetiskt exempel)", name: catalogue.name, title: catalogue.title,
                                          content: "fragment", source: "Kärna's synthetic NPL sample (not a drug register), \(catalogue.source)",
                                          concepts: catalogue.order.compactMap { catalogue.concepts[$0] }, propertyDefinitions: catalogue.propertyDefinitions)
            service.register(catalogue)
        } catch {
            preconditionFailure("the NPL sample does not read: \(error)")
        }
    }

    /// The value sets of R4's required bindings and their code systems, so `$expand` and `$validate-code`
    /// answer for the codes the validator holds writes to. Systems checked by rule (media types, UCUM,
    /// currencies) have no concept list and are not registered.
    static func loadRequiredValueSets(into service: TerminologyService, table: RequiredValueSets = .r4) {
        for system in table.codeSystems.values {
            service.register(CodeSystemContent(
                url: system.url, version: system.version, name: system.name, title: system.title, content: "complete",
                source: "HL7 FHIR R4 (4.0.1), the code systems of its required bindings",
                concepts: system.concepts.map { Concept(code: $0.code, display: $0.display, parent: $0.parent) }))
        }
        for valueSet in table.valueSets.values {
            let rules = valueSet.include.map { ValueSetDefinition.Rule(system: $0.system, codes: $0.codes, filters: [], valueSets: []) }
            service.register(ValueSetDefinition(url: valueSet.url, name: valueSet.name, title: valueSet.title, include: rules, version: valueSet.version))
        }
    }
}
