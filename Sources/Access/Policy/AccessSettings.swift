import FHIRCore

/// The configurable limits of the access rules, with the region's defaults.
public struct AccessSettings: Sendable {
    /// How long after a care contact ends the care relationship lasts.
    public var careRelationshipDays: Int
    /// How long a hand-registered care relationship lasts unless the user says otherwise.
    public var registeredCareRelationshipDays: Int
    /// How long a nödåtkomst lasts.
    public var emergencyAccessHours: Int
    /// The care provider that records without a unit tag (imported, legacy) belong to.
    public var defaultProviderID: String
    /// Most matches a search examines to count what the user may see; above it the total is left out.
    public var maximumVisibleCount: Int
    /// Most care contacts read to find which other care providers hold information about a patient (the consent dialog).
    public var maximumContactsForProviders: Int
    /// How deeply chains and `_has` may nest in one search parameter (deeper is refused with 400).
    public var maximumChainDepth = 2
    /// Most readable records one chained or `_has` part of a search may match (more is refused with 400).
    public var maximumChainMatches = 1_000
    /// Whether a reference in a write must name a resource that exists (off only for bulk imports whose bundles point outside themselves).
    public var checkReferences = true

    public init(careRelationshipDays: Int = 30, registeredCareRelationshipDays: Int = 14, emergencyAccessHours: Int = 4,
                defaultProviderID: String = "region-karnland", maximumVisibleCount: Int = 5_000, maximumContactsForProviders: Int = 500) {
        self.maximumContactsForProviders = maximumContactsForProviders
        self.careRelationshipDays = careRelationshipDays
        self.registeredCareRelationshipDays = registeredCareRelationshipDays
        self.emergencyAccessHours = emergencyAccessHours
        self.defaultProviderID = defaultProviderID
        self.maximumVisibleCount = maximumVisibleCount
    }
}

/// Tags the gateway puts on what it writes, so every record says where it was made.
public enum RecordTags {
    /// `meta.tag` system whose code is the care unit (vårdenhet, an Organization id) that made the record.
    public static let careUnit = "https://karna.se/fhir/CodeSystem/vardenhet"
    /// `meta.security` system and codes that mark skyddade personuppgifter.
    public static let confidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
    public static let protectedCodes: Set<String> = ["R", "V"]

    /// The care unit a record's tag names, if any.
    public static func unit(of object: JSONObject) -> String? {
        for tag in object["meta"]?.objectValue?["tag"]?.arrayValue ?? [] {
            if let tag = tag.objectValue, tag["system"]?.stringValue == careUnit, let code = tag["code"]?.stringValue { return code }
        }
        return nil
    }

    /// Whether a Patient has skyddade personuppgifter (a protected identity).
    public static func isProtected(_ patient: JSONObject) -> Bool {
        (patient["meta"]?.objectValue?["security"]?.arrayValue ?? []).contains { coding in
            guard let coding = coding.objectValue else { return false }
            return coding["system"]?.stringValue == confidentiality && protectedCodes.contains(coding["code"]?.stringValue ?? "")
        }
    }
}

extension AccessSettings {
    /// The Patientdatalag settings, declared once (flag, variable, file key, help and README come from here).
    public enum Keys {
        public static let careRelationshipDays = Setting.integer("care-relationship-days", default: 30, 0...3_650,
                                                                 "days a care relationship lasts after a care contact ends")
        public static let emergencyAccessHours = Setting.integer("emergency-access-hours", default: 4, 1...72, "hours a nödåtkomst lasts")
        public static let defaultProvider = Setting.text("default-provider", default: "region-karnland", "care provider of records without a unit tag")
        public static let maxChainDepth = Setting.integer("max-chain-depth", default: 2, 1...6, "how deeply chains and _has may nest in one search parameter")
        public static let maxChainMatches = Setting.integer("max-chain-matches", default: 1_000, 10...100_000,
                                                            "most readable records one chained or _has part of a search may match")
        public static let referenceCheck = Setting.choice("reference-check", default: "on", ["on", "off"],
                                                          "on: a write's references must name resources that exist; off for a bulk import whose bundles point outside themselves")
        public static let all = [careRelationshipDays, emergencyAccessHours, defaultProvider, maxChainDepth, maxChainMatches, referenceCheck]
    }

    /// The settings as the server's reader resolves them.
    public init(reading settings: any SettingsReader) throws {
        self.init(careRelationshipDays: try settings.integer(Keys.careRelationshipDays), emergencyAccessHours: try settings.integer(Keys.emergencyAccessHours),
                  defaultProviderID: try settings.string(Keys.defaultProvider))
        maximumChainDepth = try settings.integer(Keys.maxChainDepth)
        maximumChainMatches = try settings.integer(Keys.maxChainMatches)
        checkReferences = try settings.string(Keys.referenceCheck) == "on"
    }
}
