// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
/// For the rooms built on the module contract: an import is internal unless marked `public import`, so a
/// module's public face names exactly what it exposes (Access's contract) and leaks nothing else.
let roomSettings: [SwiftSetting] = swiftSettings + [.enableUpcomingFeature("InternalImportsByDefault")]

let package = Package(
    name: "karna",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "karna", targets: ["karna"]),
        .library(name: "FHIRCore", targets: ["FHIRCore"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "StoreModel", targets: ["StoreModel"]),
        .library(name: "Terminology", targets: ["Terminology"]),
        .library(name: "FHIRAPI", targets: ["FHIRAPI"]),
        .library(name: "KarnaServer", targets: ["KarnaServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // Already in the graph through Hummingbird; named for the connection guard's handler.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Already in the graph through Hummingbird; reads the settings (flags over environment over a file over defaults).
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        // Reads Läkemedelsverket's NPL export as published (a zip) in `karna drugs import`.
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
    ],
    targets: [
        // R4 model: JSON, generated definitions, validation, Swedish identifiers. No dependencies.
        .target(
            name: "FHIRCore",
            resources: [.copy("Definitions/Generated"), .copy("Text/Swedish")],
            swiftSettings: swiftSettings
        ),
        // A deterministic synthetic population of a fictional Swedish region, for demos and benchmarks.
        .target(
            name: "SyntheticPopulation",
            dependencies: ["FHIRCore"],
            swiftSettings: swiftSettings
        ),
        // What the store keeps, as values every layer may name: stored versions, write operations, audit entries, control records.
        .target(
            name: "StoreModel",
            dependencies: [
                "FHIRCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Persistence backends: versioned resources on SQLite (GRDB) or PostgreSQL (PostgresNIO). Only Access,
        // the composition root and test support may depend on it (Tests/ArchitectureTests checks the graph).
        .target(
            name: "Store",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                "FHIRCore",
                "StoreModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Code systems and value sets: look-up, validation, expansion, release-file importers, shipped subsets.
        .target(
            name: "Terminology",
            dependencies: ["FHIRCore"],
            resources: [.copy("Shipped")],
            swiftSettings: swiftSettings
        ),
        // Identity, organisation, the Patientdatalag rules and the audit trail: the one gateway to patient data.
        .target(
            name: "Access",
            dependencies: [
                "FHIRCore",
                "Store",
                "StoreModel",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            resources: [.copy("Defaults")],
            swiftSettings: swiftSettings
        ),
        // Patient administration: registration, care contacts and stays, appointment books, referrals, cashier.
        .target(
            name: "PatientAdministration",
            dependencies: [
                "FHIRCore",
                "StoreModel",
                "Access",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Clinical documentation: notes with sökord, signing and corrections, diagnoses, attention signals, the chart overview.
        .target(
            name: "Documentation",
            dependencies: [
                "FHIRCore",
                "StoreModel",
                "Access",
                "Terminology",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The client for E-hälsomyndigheten's Nationella läkemedelslistan (FHIR R4 over HTTPS): the headers NLL
        // requires, refused when one is missing. Knows no Kärna record; Medication's prescribing uses it.
        .target(
            name: "NLLClient",
            dependencies: ["FHIRCore", .product(name: "Metrics", package: "swift-metrics")],
            swiftSettings: roomSettings
        ),
        // HL7 version 2 (ER7) messages and MLLP framing: parse, escape, character sets, ACKs. Knows no Kärna record;
        // Results reads and writes lab messages with it.
        .target(
            name: "HL7v2",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: roomSettings
        ),
        // A DICOMweb client (QIDO-RS, WADO-RS) for the PACS. Knows no Kärna record; Results' imaging uses it.
        .target(
            name: "DICOMwebClient",
            swiftSettings: roomSettings
        ),
        // Medication (läkemedel): the chart's current medicines and the medicine codes; ordination and prescribing grow here.
        .target(
            name: "Medication",
            dependencies: ["FHIRCore", "StoreModel", "Access", "Terminology", "NLLClient"],
            resources: [.copy("DecisionSupportData")],
            swiftSettings: roomSettings
        ),
        // Results (provsvar): the chart's latest results and the analysis codes; lab over HL7 v2 and imaging grow here.
        .target(
            name: "Results",
            dependencies: ["FHIRCore", "StoreModel", "Access", "Terminology", "HL7v2", "DICOMwebClient", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "Metrics", package: "swift-metrics")],
            resources: [.copy("ResultsData")],
            swiftSettings: roomSettings
        ),
        // Care flows (vårdflöden): the emergency department with RETTS triage and the tracking board, the ED times,
        // day surgery, vital signs with NEWS2. Triage, NEWS2 and checklists are data files (CareFlowsData).
        .target(
            name: "CareFlows",
            dependencies: ["FHIRCore", "StoreModel", "Access"],
            resources: [.copy("CareFlowsData")],
            swiftSettings: roomSettings
        ),
        // Maternity care (mödrahälsovård, förlossning): the pregnancy with the basprogram as its plan, AUDIT and EPDS, the
        // MHV1 risk assessment, the gravidogram with the SF rules, the partogram, the newborn, the register reports.
        // The programme, curves, rules, lines, forms and register mapping are data files (MaternityData).
        .target(
            name: "Maternity",
            dependencies: ["FHIRCore", "StoreModel", "Access"],
            resources: [.copy("MaternityData")],
            swiftSettings: roomSettings
        ),
        // The export module: FHIR Bulk Data $export (later the OMOP database and the patient register file).
        .target(
            name: "BulkExport",
            dependencies: ["FHIRCore", "StoreModel", "Access"],
            resources: [.copy("OMOPData"), .copy("PARData")],
            swiftSettings: roomSettings
        ),
        // OpenID Connect and SMART App Launch under /auth: login, tokens, revocation.
        .target(
            name: "AuthAPI",
            dependencies: [
                "FHIRCore",
                "Access",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // FHIR R4 REST interface under /fhir.
        .target(
            name: "FHIRAPI",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                "FHIRCore",
                "StoreModel",
                "Access",
                "Terminology",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        // CDS Hooks 2.0 under /cds-services: discovery, hook calls and feedback for the modules' decision support.
        .target(
            name: "CDSHooksAPI",
            dependencies: [
                "FHIRCore",
                "StoreModel",
                "Access",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        // The clinician web app's shell under /: login, start page, chart, access questions, accounts, administration,
        // log review; server-rendered pages (Mustache templates), a little CSS and JavaScript. It imports no clinical
        // module: each module's pages come as a WebModule from its own pages target.
        .target(
            name: "WebApp",
            dependencies: [
                "FHIRCore",
                "StoreModel",
                "Access",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Templates"), .copy("Static")],
            swiftSettings: swiftSettings
        ),
        // Patient administration's web pages: registration, patient search, appointment book, waiting list, referrals, ward, cashier.
        .target(
            name: "PatientAdministrationPages",
            dependencies: [
                "FHIRCore", "StoreModel", "Access", "PatientAdministration", "WebApp",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            resources: [.copy("Templates")],
            swiftSettings: roomSettings
        ),
        // Clinical documentation's web pages: the journal, notes, attention signals, problems and diagnoses, note templates.
        .target(
            name: "DocumentationPages",
            dependencies: [
                "FHIRCore", "StoreModel", "Access", "Documentation", "Terminology", "WebApp",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            resources: [.copy("Templates")],
            swiftSettings: roomSettings
        ),
        // Medication's web pages: the patient's läkemedelslista and today's doses, the ward's MAR, verbal orders to confirm.
        .target(
            name: "MedicationPages",
            dependencies: [
                "FHIRCore", "StoreModel", "Access", "Medication", "NLLClient", "WebApp", "Terminology",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            resources: [.copy("Templates")],
            swiftSettings: roomSettings
        ),
        // Results' web pages: the Provsvar tab (cumulative table, trend), one result to open and sign, the order form,
        // results to sign, critical values to acknowledge, unmatched results, undelivered orders.
        .target(
            name: "ResultsPages",
            dependencies: [
                "FHIRCore", "StoreModel", "Access", "Results", "WebApp",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            resources: [.copy("Templates")],
            swiftSettings: roomSettings
        ),
        // Care flows' web pages: the tracking board (live over server-sent events), arrival, triage with its live
        // colour, the visit's steps and decision, the ED times, vital signs with NEWS2 and its trend, the ward's NEWS2
        // overview, day surgery with its checklists and follow-up calls.
        .target(
            name: "CareFlowsPages",
            dependencies: [
                "FHIRCore", "StoreModel", "Access", "CareFlows", "WebApp",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Templates")],
            swiftSettings: roomSettings
        ),
        // Maternity's pages: the midwife's worklist, registration, the pregnancy overview with the gravidogram (SVG and
        // a table), the visit form with AUDIT and EPDS, the delivery's partogram, the birth, the register sheets.
        .target(
            name: "MaternityPages",
            dependencies: [
                "FHIRCore", "StoreModel", "Access", "Maternity", "WebApp",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [.copy("Templates")],
            swiftSettings: roomSettings
        ),
        // Debian's libbz2, for importing the .json.bz2 bundles Synthea and data platforms ship.
        .systemLibrary(name: "CBZip2", providers: [.apt(["libbz2-dev"])]),
        // Composition root: configuration, wiring, lifecycle, import.
        .target(
            name: "KarnaServer",
            dependencies: [
                .product(name: "Configuration", package: "swift-configuration"),
                "FHIRCore",
                "Store",
                "StoreModel",
                "FHIRAPI",
                "AuthAPI",
                "CDSHooksAPI",
                "WebApp",
                "Access",
                "PatientAdministration",
                "PatientAdministrationPages",
                "Documentation",
                "DocumentationPages",
                "Medication",
                "MedicationPages",
                "NLLClient",
                "Results",
                "ResultsPages",
                "CareFlows",
                "CareFlowsPages",
                "Maternity",
                "MaternityPages",
                "BulkExport",
                "HL7v2",
                "DICOMwebClient",
                "Terminology",
                "SyntheticPopulation",
                "CBZip2",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test support: throwaway PostgreSQL servers and per-backend stores, for tests and benchmarks.
        .target(
            name: "KarnaTesting",
            dependencies: ["Store", "StoreModel", "Access", "FHIRCore"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "karna",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                "Terminology",
                "KarnaServer",
                "FHIRCore",
                "FHIRAPI",
                "Access",
                "Store",
                "StoreModel",
                "SyntheticPopulation",
                "BulkExport",
                "WebApp",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: swiftSettings
        ),
        // Reads Package.swift and the import lines: the gateway and the module rooms hold by the graph.
        .testTarget(name: "ArchitectureTests", swiftSettings: swiftSettings),
        .testTarget(name: "FHIRCoreTests", dependencies: ["FHIRCore"], swiftSettings: swiftSettings),
        .testTarget(name: "HL7v2Tests", dependencies: ["HL7v2"], swiftSettings: swiftSettings),
        .testTarget(name: "SyntheticPopulationTests", dependencies: ["SyntheticPopulation", "FHIRCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "StoreTests",
            dependencies: ["Store", "StoreModel", "FHIRCore", "KarnaTesting", .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PatientAdministrationTests",
            dependencies: ["PatientAdministration", "Access", "Store", "StoreModel", "FHIRCore", "KarnaTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "TerminologyTests", dependencies: ["Terminology", "FHIRCore"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "DocumentationTests",
            dependencies: ["Documentation", "Medication", "NLLClient", "Results", "CareFlows", "Maternity", "HL7v2", "Terminology", "PatientAdministration", "Access", "Store", "StoreModel", "FHIRCore", "KarnaTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "AccessTests", dependencies: ["Access", "PatientAdministration", "Store", "StoreModel", "FHIRCore", "KarnaTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "WebAppTests",
            dependencies: [
                "WebApp", "KarnaServer", "KarnaTesting", "Access", "Store", "StoreModel", "FHIRCore", "PatientAdministration", "Results", "CareFlows", "Maternity", "HL7v2",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FHIRAPITests",
            dependencies: [
                "FHIRAPI", "Store", "StoreModel", "FHIRCore", "KarnaServer", "KarnaTesting", "Access", "Documentation", "Medication", "PatientAdministration", "SyntheticPopulation",
                "BulkExport",
                "WebApp",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
