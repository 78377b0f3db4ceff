import FHIRCore
import Foundation
import Store
import StoreModel

/// Registering the Patientdatalag directives: care relationships, consents,
/// nödåtkomst and spärr. Each is audited with its reason in the same transaction.
extension PatientDataSession {
    /// What the principal may see of a patient's record and on what ground, for the
    /// care-relationship question, the consent dialog and "spärrad information finns".
    /// With `otherProviders`, it also names the care providers whose information about the patient the
    /// user cannot see without the patient's consent (not those the patient has blocked), from the
    /// patient's care contacts: what the consent dialog offers.
    public func accessStatus(patientID: String, otherProviders: Bool = false) async throws -> JSONObject {
        // The facts read the Patient and the directives in force already.
        let facts = try await facts(patientID)
        guard facts.exists else {
            throw FHIRError(.notFound, code: .notFound, "Patient/\(patientID) does not exist", text: "Patienten finns inte i Kärna.")
        }
        let now = Instant.now()
        let directives = facts.directives
        var members: [(key: String, value: JSONValue)] = [("patient", .string(patientID))]
        if let relationship = facts.careRelationship { members.append(("careRelationship", .string(relationship))) }
        members.append(("consentedProviders", .array(facts.consentedProviders.sorted().map { .string($0) })))
        if let emergency = facts.emergencyAccess {
            members.append(("emergencyAccessUntil", .string(Instant.format(milliseconds: emergency.validUntil ?? now))))
        }
        members.append(("hasBlockedInformation", .bool(directives.contains { $0.kind == .block })))
        members.append(("protectedIdentity", .bool(facts.protectedIdentity)))
        if principal.kind == .patient, patientID == principal.id {
            // Only the patient sees which blocks exist, to lift them.
            members.append(("blocks", .array(directives.filter { $0.kind == .block }.map { directive in
                .object(JSONObject([("id", .string(directive.id)), ("unit", directive.unitID.map { .string($0) } ?? .null),
                                    ("provider", directive.providerID.map { .string($0) } ?? .null), ("reason", .string(directive.reason))]))
            })))
        }
        if principal.kind == .practitioner, let assignment = principal.assignment {
            let decision = PDLPolicy.decide(assignment: assignment, facts: facts, recordUnit: assignment.unitID, recordProvider: assignment.providerID)
            switch decision {
            case .allowed(let basis): members.append(("access", .string(basis.rawValue)))
            case .blocked: members.append(("access", .string("blocked")))
            case .denied(let why, let text): members += [("access", .string("none")), ("reason", .string(why)), ("reasonText", .string(text))]
            }
            if otherProviders {
                var found: [String: String] = [:]
                for type in gateway.semantics.careContactTypes {
                    for contact in try await store.lookup(type, [("patient", "Patient/\(patientID)")], limit: gateway.settings.maximumContactsForProviders) {
                        guard let unit = gateway.factFinder.recordUnit(contact.object) else { continue }
                        let provider = try await gateway.directory.provider(of: unit)
                        guard provider != assignment.providerID, !facts.consentedProviders.contains(provider), !facts.blockedProviders.contains(provider),
                              !facts.blockedUnits.contains(unit) else { continue }
                        found[provider] = try await gateway.directory.unit(provider)?.name ?? provider
                    }
                }
                members.append(("otherProviders", .array(found.sorted { $0.value < $1.value }.map {
                    .object(JSONObject([("id", .string($0.key)), ("name", .string($0.value))]))
                })))
            }
        }
        // Even the question is an access: it tells whether blocked information or a protected identity exists.
        try await audit([AuditRecordBuilder(principal: principal).entry(action: "access-status", patientID: patientID, resources: [],
                                                                        basis: nil, outcome: "allowed", facts: facts)])
        return JSONObject(members)
    }

    /// Registers a care relationship for the user's unit, with a reason, for `days` (default from settings).
    /// Administrative staff may register one too: PDL 4 kap. 1 § covers those who need the record for their work in care.
    public func registerCareRelationship(patientID: String, reason: String, days: Int?) async throws -> Directive {
        let assignment = try careAssignment(allowing: [.care, .administration])
        let days = min(days ?? gateway.settings.registeredCareRelationshipDays, 365)
        return try await register(.careRelationship, patientID: patientID, unitID: assignment.unitID, providerID: assignment.providerID,
                                  practitionerID: principal.id, reason: reason, duration: Int64(days) * 86_400_000, basis: .careRelationship)
    }

    /// Registers the patient's consent (samtycke) that the user's unit reads `providerID`'s records.
    public func registerConsent(patientID: String, providerID: String, reason: String, days: Int?) async throws -> Directive {
        let assignment = try careAssignment()
        guard try await store.read(type: "Organization", id: providerID) != nil else {
            throw FHIRError(.invalid, code: .invalid, "provider: Organization/\(providerID) does not exist")
        }
        let duration = days.map { Int64(min($0, 3_650)) * 86_400_000 }
        return try await register(.consent, patientID: patientID, unitID: assignment.unitID, providerID: providerID,
                                  practitionerID: principal.id, reason: reason, duration: duration, basis: .consent)
    }

    /// Opens the record by nödåtkomst: personal, time-limited, flagged for review.
    public func openEmergencyAccess(patientID: String, reason: String) async throws -> Directive {
        let assignment = try careAssignment()
        guard principal.permissions.emergencyAccess else {
            throw try await deny(patientID: patientID, "nödåtkomst is for care professions; the position \(assignment.position.display) has no emergencyAccess permission",
                                 text: "Nödåtkomst är förbehållen vårdprofessioner. Din befattning (\(assignment.position.display)) ger inte nödåtkomst.")
        }
        let directive = try await register(.emergencyAccess, patientID: patientID, unitID: assignment.unitID, providerID: assignment.providerID,
                                           practitionerID: principal.id, reason: reason,
                                           duration: Int64(gateway.settings.emergencyAccessHours) * 3_600_000, basis: .emergencyAccess)
        cache.forget(patientID)
        return directive
    }

    /// Registers a spärr on a unit's or a provider's information. A spärr is the patient's decision: the
    /// patient registers it themselves, or staff at a unit with a care relationship with the patient
    /// register it on the patient's request (`patientRequest`: how the patient asked), for information of
    /// their own care provider.
    public func block(patientID: String, unitID: String?, providerID: String?, reason: String, patientRequest: String? = nil) async throws -> Directive {
        guard (unitID == nil) != (providerID == nil) else {
            throw FHIRError(.invalid, code: .required, "name exactly one of unit and provider to block")
        }
        if principal.kind == .patient, principal.id != patientID {
            throw FHIRError(.forbidden, code: .forbidden, "a patient may block only their own record")
        }
        if principal.kind == .system { throw FHIRError(.forbidden, code: .forbidden, "a system client cannot register a spärr") }
        let organisation = unitID ?? providerID!
        guard try await store.read(type: "Organization", id: organisation) != nil else {
            throw FHIRError(.invalid, code: .invalid, "Organization/\(organisation) does not exist")
        }
        var request: String?
        if principal.kind == .practitioner {
            let assignment = try careAssignment(allowing: [.care, .administration])
            request = patientRequest?.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let request, request.count >= 3 else {
                throw FHIRError(.invalid, code: .required, "patientRequest: record how the patient asked for the spärr (at least 3 characters); "
                                + "a spärr is the patient's decision", expression: ["patientRequest"])
            }
            let facts = try await facts(patientID)
            guard facts.careRelationship != nil else {
                throw try await deny(patientID: patientID, "a spärr is registered by a unit that cares for the patient; you have no care relationship "
                                     + "(vårdrelation) with the patient at \(assignment.unitName)",
                                     text: "En spärr registreras av en enhet som vårdar patienten. Du har ingen vårdrelation med patienten vid \(assignment.unitName).", facts: facts)
            }
            let ownerProvider = try await gateway.directory.provider(of: organisation)
            guard ownerProvider == assignment.providerID else {
                throw try await deny(patientID: patientID, "Organization/\(organisation) belongs to another care provider; its own staff register "
                                     + "a spärr of its information",
                                     text: "Enheten hör till en annan vårdgivare. Dess egen personal registrerar spärr av dess uppgifter.", facts: facts)
            }
        }
        return try await register(.block, patientID: patientID, unitID: unitID, providerID: providerID, practitionerID: nil, reason: reason,
                                  duration: nil, basis: principal.kind == .patient ? .ownRecord : .careRelationship, patientRequest: request)
    }

    /// Lifts a spärr: only the patient can.
    public func unblock(patientID: String, directiveID: String) async throws {
        guard principal.kind == .patient, principal.id == patientID else {
            throw try await deny(patientID: patientID, "only the patient can lift a spärr", text: "Bara patienten kan häva en spärr.")
        }
        guard let record = try await store.controlRecord(kind: ControlKind.directive, key: directiveID), var directive = Directive.from(record),
              directive.patientID == patientID, directive.kind == .block, directive.revokedAt == nil
        else { throw FHIRError(.notFound, code: .notFound, "no active spärr \(directiveID) on Patient/\(patientID)") }
        directive.revokedAt = Instant.now()
        directive.revokedBy = principal.reference
        let entry = AuditRecordBuilder(principal: principal).entry(action: "unblock", patientID: patientID, resources: [], basis: .ownRecord,
                                                                   outcome: "allowed", facts: nil, reason: directive.reason)
        try await store.writeControlRecords([directive.record], deleting: [], audit: [entry])
    }

    private func careAssignment(allowing purposes: Set<AssignmentPurpose> = [.care]) throws -> Assignment {
        guard principal.kind == .practitioner, let assignment = principal.assignment else {
            throw FHIRError(.forbidden, code: .forbidden, "only a practitioner acting under an assignment can register this")
        }
        guard purposes.contains(assignment.purpose) else {
            throw FHIRError(.forbidden, code: .forbidden, "the assignment at \(assignment.unitName) is not for care (vård och behandling)")
        }
        return assignment
    }

    private func register(_ kind: Directive.Kind, patientID: String, unitID: String?, providerID: String?, practitionerID: String?,
                          reason: String, duration: Int64?, basis: AccessBasis, patientRequest: String? = nil) async throws -> Directive {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard reason.count >= 3 else {
            throw FHIRError(.invalid, code: .required, "reason: a reason of at least 3 characters is required", expression: ["reason"])
        }
        guard let patient = try await store.read(type: "Patient", id: patientID), !patient.isDeleted else {
            throw FHIRError(.notFound, code: .notFound, "Patient/\(patientID) does not exist", text: "Patienten finns inte i Kärna.")
        }
        let now = Instant.now()
        var directive = Directive(id: UUID().uuidString.lowercased(), kind: kind, patientID: patientID, unitID: unitID, providerID: providerID,
                                  practitionerID: practitionerID, reason: reason, validFrom: now, validUntil: duration.map { now + $0 },
                                  registeredBy: principal.reference)
        directive.patientRequest = patientRequest
        let facts = principal.kind == .practitioner ? try await facts(patientID) : nil
        // Registered under basis nödåtkomst, the record carries the emergency-access review flag.
        let entry = AuditRecordBuilder(principal: principal).entry(action: kind.rawValue, patientID: patientID, resources: [], basis: basis,
                                                                   outcome: "allowed", facts: facts, reason: reason)
        try await store.writeControlRecords([directive.record], deleting: [], audit: [entry])
        cache.forget(patientID)
        return directive
    }
}

/// Administration of positions and their permissions (systemförvaltare only), audited.
extension PatientDataSession {
    public func positions() async throws -> [Position] {
        try await gateway.directory.positions()
    }

    /// Creates a practitioner's login (systemförvaltare only), audited with the account's name, together
    /// with `writing` (the Practitioner and their first assignment) in one transaction: an invalid or
    /// existing username — also one taken in the same instant — writes nothing, so nobody's password is
    /// replaced by mistake and no practitioner is left without a login.
    public func createAccount(_ accounts: AccountService, username: String, practitionerID: String, displayName: String,
                              password: String, totpSecret: String, writing operations: [WriteOperation] = []) async throws {
        guard principal.permissions.administer else {
            throw try await deny(patientID: nil, "creating accounts needs a systemförvaltare assignment (administer permission)",
                                 text: "Att skapa konton kräver ett uppdrag som systemförvaltare.")
        }
        let name = username.lowercased()
        guard AccountService.isValidUsername(name) else {
            throw FHIRError(.invalid, code: .value, "username: 2–64 letters a–z, digits, '.', '_' or '-'; got '\(username)'", expression: ["username"])
        }
        guard try await accounts.account(name) == nil else {
            throw FHIRError(.conflict, code: .duplicate, "username: '\(name)' is taken", expression: ["username"])
        }
        let entry = AuditRecordBuilder(principal: principal).entry(action: "create-account", patientID: nil, resources: ["Practitioner/\(practitionerID)"],
                                                                   basis: nil, outcome: "allowed", facts: nil, reason: name)
        let account = try accounts.newAccount(username: name, kind: .practitioner, subjectID: practitionerID, displayName: displayName,
                                              password: password, totpSecret: totpSecret)
        do {
            _ = try await commit(operations, inserting: [try AccountService.record(account)], audit: [entry])
        } catch is ControlRecordTaken {
            throw FHIRError(.conflict, code: .duplicate, "username: '\(name)' is taken", expression: ["username"])
        }
    }

    /// What a systemförvaltare may do to an existing login.
    public enum AccountChange: String, Sendable {
        /// A new password (shown once; the user must choose their own at the next login) and, with it, no lock.
        case resetPassword = "reset-password"
        /// As `resetPassword`, and a new TOTP secret (a lost or replaced phone).
        case resetPasswordAndAuthenticator = "reset-password-and-authenticator"
        case unlock
        /// The login stops working at once, also for sessions already open; nothing is deleted.
        case disable
        case enable
    }

    /// Changes an existing login (systemförvaltare only), audited with the account's name. Answers the
    /// new password and TOTP secret where the change made them.
    public func changeAccount(_ accounts: AccountService, username: String, _ change: AccountChange) async throws -> (password: String?, totpSecret: String?) {
        guard principal.permissions.administer else {
            throw try await deny(patientID: nil, "changing accounts needs a systemförvaltare assignment (administer permission)",
                                 text: "Att ändra konton kräver ett uppdrag som systemförvaltare.")
        }
        guard var account = try await accounts.account(username) else {
            throw FHIRError(.notFound, code: .notFound, "username: no account '\(username)'", expression: ["username"])
        }
        if account.subjectID == principal.id, change == .disable {
            throw FHIRError(.invalid, code: .businessRule, "a systemförvaltare cannot disable their own account", expression: ["username"])
        }
        var password: String?, secret: String?
        switch change {
        case .resetPassword, .resetPasswordAndAuthenticator:
            let temporary = AccountService.temporaryPassword()
            account.passwordHash = try accounts.hasher.hash(temporary)
            account.mustChangePassword = true
            account.passwordChangedAt = Instant.now()
            password = temporary
            if change == .resetPasswordAndAuthenticator {
                let newSecret = TOTP.newSecret()
                account.totpSecret = newSecret
                account.lastTOTPStep = nil
                secret = newSecret
            }
            account.failedAttempts = 0
            account.lockedUntil = nil
        case .unlock:
            account.failedAttempts = 0
            account.lockedUntil = nil
        case .disable: account.disabled = true
        case .enable: account.disabled = false
        }
        let entry = AuditRecordBuilder(principal: principal).entry(action: "account-\(change.rawValue)", patientID: nil, resources: [account.fhirUser],
                                                                   basis: nil, outcome: "allowed", facts: nil, reason: account.username)
        try await accounts.save(account, audit: [entry])
        return (password, secret)
    }

    /// Replaces a position's permissions; takes effect for new sessions at once on this server.
    public func configure(_ position: Position) async throws {
        guard principal.permissions.administer else {
            throw try await deny(patientID: nil, "configuring positions needs a systemförvaltare assignment (administer permission)",
                                 text: "Att ställa in befattningar kräver ett uppdrag som systemförvaltare.")
        }
        guard !position.code.isEmpty, position.code.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw FHIRError(.invalid, code: .invalid, "code must be letters, digits and '-'; got '\(position.code)'", expression: ["code"])
        }
        let entry = AuditRecordBuilder(principal: principal).entry(action: "configure-position", patientID: nil, resources: [], basis: nil,
                                                                   outcome: "allowed", facts: nil, reason: "\(position.code): read \(position.permissions.read.sorted()), write \(position.permissions.write.sorted())")
        try await gateway.directory.configure(position, audit: [entry])
    }
}

extension PatientDataSession {
    /// Audits a read of the patient's information held by a national service (Nationella läkemedelslistan),
    /// which the gateway's store does not hold: who read, on which attested access type (`accessType`, the
    /// service's own code) and what came back. A read by nödåtkomst needs the nödåtkomst opened through the
    /// PDL dialogue first and is flagged for log review like any other.
    public func auditNationalRead(patientID: String, service: String, accessType: String, emergency: Bool, resources: [String],
                                  outcome: String = "allowed") async throws {
        let facts = try await facts(patientID)
        if emergency, facts.emergencyAccess == nil {
            throw FHIRError(.forbidden, code: .forbidden, "reading \(service) by nödåtkomst needs a nödåtkomst opened for the patient first",
                            text: "Öppna nödåtkomst för patienten först (med skäl).")
        }
        try await audit([AuditRecordBuilder(principal: principal).entry(
            action: "national-read", patientID: patientID, resources: resources, basis: emergency ? .emergencyAccess : nil, outcome: outcome,
            facts: facts, detail: [("service", .string(service)), ("accessType", .string(accessType))])])
    }
}
