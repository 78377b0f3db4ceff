import FHIRCore
import Foundation
import Store
import StoreModel

/// The care providers (vårdgivare) and care units (vårdenheter) as a tree of
/// Organizations, the positions and their permissions, and users' assignments.
/// Organisations change rarely: the tree is cached and reloaded after a write
/// to an Organization or after `maximumAge`.
public actor OrganisationDirectory {
    /// One Organization in the tree.
    public struct Unit: Sendable, Equatable {
        public let id: String
        public let name: String
        public let parentID: String?
        /// False once wound up: kept for the records that name it, no longer offered for new work.
        public var active = true
    }

    let store: any ResourceStore
    private var units: [String: Unit] = [:]
    /// Every organisation's name by `Organization/id`, built with the tree.
    private var names: [String: String] = [:]
    private var positionsByCode: [String: Position] = [:]
    private var loadedAt: ContinuousClock.Instant?
    private let maximumAge: Duration

    public init(store: any ResourceStore, maximumAge: Duration = .seconds(300)) {
        self.store = store
        self.maximumAge = maximumAge
    }

    /// Forgets the cache; the next lookup reloads.
    public func invalidate() { loadedAt = nil }

    private func loadIfStale() async throws {
        if let loadedAt, ContinuousClock.now - loadedAt < maximumAge { return }
        var loaded: [String: Unit] = [:]
        let organisations = try await store.lookup("Organization", [], limit: 100_000)
        for stored in organisations {
            let object = stored.object
            loaded[stored.id] = Unit(id: stored.id, name: object["name"]?.stringValue ?? stored.id,
                                     parentID: object.reference("partOf").map(\.id), active: object["active"]?.boolValue != false)
        }
        units = loaded
        names = Dictionary(uniqueKeysWithValues: loaded.values.map { ("Organization/\($0.id)", $0.name) })
        var positions = Dictionary(Position.defaults.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        for record in try await store.controlRecords(kind: ControlKind.position, patientID: nil) {
            if let position = try? JSONDecoder().decode(Position.self, from: Data(record.json)) { positions[position.code] = position }
        }
        positionsByCode = positions
        loadedAt = .now
    }

    /// Every organisation's name by its reference (`Organization/id`), for showing references without a display.
    public func referenceNames() async throws -> [String: String] {
        try await loadIfStale()
        return names
    }

    /// The care provider a unit belongs to: the root of its `partOf` chain.
    public func provider(of unitID: String) async throws -> String {
        try await loadIfStale()
        return providerLoaded(unitID)
    }

    private func providerLoaded(_ unitID: String) -> String {
        var current = unitID
        var seen: Set<String> = [current]
        while let parent = units[current]?.parentID, seen.insert(parent).inserted {
            current = parent
        }
        return current
    }

    /// Why an organisation may not be placed under `parentID` (nil: made a care provider of its own), or
    /// nil when it may. `pending` are the `partOf` of organisations written in the same commit.
    public func placementProblem(of id: String, under parentID: String?, pending: [String: String?] = [:]) async throws -> PlacementProblem? {
        try await loadIfStale()
        /// `start` and the organisations above it, up to its provider (or to a loop already stored).
        func chain(from start: String) -> [String] {
            var chain = [start]
            var seen: Set<String> = [start]
            while let next = pending[chain[chain.count - 1]] ?? units[chain[chain.count - 1]]?.parentID, seen.insert(next).inserted { chain.append(next) }
            return chain
        }
        let above = parentID.map(chain(from:)) ?? []
        if parentID == id { return .partOfItself }
        if let parentID, above.contains(id) { return .underItsOwnPart(parentID) }
        // Only an organisation the tree already knows has records and assignments that name its provider.
        guard let existing = units[id], existing.parentID != parentID else { return nil }
        let (before, after) = (providerLoaded(id), above.last ?? id)
        return before == after ? nil : .otherProvider(from: before, to: after)
    }

    /// Why a place in the organisation tree is refused.
    public enum PlacementProblem: Sendable, Equatable {
        case partOfItself
        /// The intended parent is itself part of the organisation: the tree would become a loop.
        case underItsOwnPart(String)
        /// Its records belong to its care provider (vårdgivare); a move to another would hand them over
        /// without the patient's records being transferred under Patientdatalagen.
        case otherProvider(from: String, to: String)
    }

    /// The active organisations that are part of another (care units and clinics), by name: where a referral can go.
    public func careUnits() async throws -> [Unit] {
        try await loadIfStale()
        let parents = Set(units.values.compactMap(\.parentID))
        return units.values.filter { $0.active && $0.parentID != nil && !parents.contains($0.id) }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    /// The care providers that active care units belong to, by name: what a spärr can cover whole.
    public func careProviders() async throws -> [Unit] {
        let providers = Set(try await careUnits().map { providerLoaded($0.id) })
        return providers.compactMap { units[$0] }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    public func unit(_ id: String) async throws -> Unit? {
        try await loadIfStale()
        return units[id]
    }

    /// Every position, configured or default.
    public func positions() async throws -> [Position] {
        try await loadIfStale()
        return positionsByCode.values.sorted { $0.code < $1.code }
    }

    /// Stores an administrator's configuration of a position.
    public func configure(_ position: Position, audit: [AuditEntry]) async throws {
        let json = try JSONEncoder().encode(position)
        try await store.writeControlRecords([ControlRecord(kind: ControlKind.position, key: position.code, json: [UInt8](json))], deleting: [], audit: audit)
        loadedAt = nil
    }

    /// A user's active assignments (PractitionerRoles with a known position and purpose).
    public func assignments(practitionerID: String) async throws -> [Assignment] {
        try await loadIfStale()
        let roles = try await store.lookup("PractitionerRole", [("practitioner", "Practitioner/\(practitionerID)")])
        return roles.compactMap { assignment(from: $0) }.sorted { $0.unitName < $1.unitName }
    }

    /// One assignment by PractitionerRole id, if it is active and well-formed.
    public func assignment(id: String) async throws -> Assignment? {
        guard let stored = try await store.read(type: "PractitionerRole", id: id) else { return nil }
        return try await assignment(stored)
    }

    /// The assignment a PractitionerRole already read stands for, if it is active and well-formed.
    public func assignment(_ role: StoredResource) async throws -> Assignment? {
        try await loadIfStale()
        guard role.type == "PractitionerRole", !role.isDeleted else { return nil }
        return assignment(from: role)
    }

    private func assignment(from stored: StoredResource) -> Assignment? {
        let role = stored.object
        guard role["active"]?.boolValue != false,
              let practitioner = role.reference("practitioner"), let unit = role.reference("organization"),
              let positionCode = role.codes("code", system: Position.system).first, let position = positionsByCode[positionCode]
        else { return nil }
        let purpose = role.codes("code", system: AssignmentPurpose.system).first.flatMap(AssignmentPurpose.init(rawValue:)) ?? .care
        return Assignment(id: stored.id, practitionerID: practitioner.id, unitID: unit.id, providerID: providerLoaded(unit.id),
                          unitName: units[unit.id]?.name ?? unit.id, purpose: purpose, position: position)
    }
}

/// The kinds of control record the access layer keeps.
public enum ControlKind {
    public static let position = "position"
    public static let account = "account"
    public static let client = "client"
    public static let directive = "pdl-directive"
    public static let signingKey = "signing-key"
    public static let authorizationCode = "auth-code"
    public static let refreshToken = "refresh-token"
    public static let revokedToken = "revoked-token"
    /// A refresh-token family ended because one of its rotated tokens was replayed.
    public static let revokedRefreshFamily = "revoked-refresh-family"
    /// A region's configuration documents (fee schedule and the like).
    public static let configuration = "configuration"
    public static let launch = "launch-context"
    public static let review = "audit-review"
    public static let session = "login-session"
}
