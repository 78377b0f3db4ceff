import Crypto
import FHIRCore
import Foundation

/// One audit record as the access gateway writes it; the store gives it its
/// place in the chain (sequence number and hashes).
public struct AuditEntry: Sendable, Equatable {
    /// Milliseconds since 1970, UTC.
    public var recordedAt: Int64
    /// Who acted: `Practitioner/id`, `Patient/id` or `Client/id`.
    public var actor: String
    /// The patient whose data was touched, if any.
    public var patientID: String?
    /// read, vread, search, history, create, update, delete, emergency-access, consent, block, login …
    public var action: String
    /// `allowed`, `denied` or `failed`.
    public var outcome: String
    /// Systematic-review flags (nödåtkomst, no care relationship, same surname …), empty when none.
    public var flags: [String]
    /// The whole record as JSON: assignment, unit, purpose, basis, resources, reason.
    public var json: [UInt8]

    public init(recordedAt: Int64, actor: String, patientID: String?, action: String, outcome: String, flags: [String], json: [UInt8]) {
        self.recordedAt = recordedAt
        self.actor = actor
        self.patientID = patientID
        self.action = action
        self.outcome = outcome
        self.flags = flags
        self.json = json
    }
}

/// An audit record as stored: its entry, its sequence number and its link in the hash chain.
public struct AuditRecord: Sendable, Equatable {
    public var sequence: Int64
    public var entry: AuditEntry
    /// The hash of the record before this one ("" for the first).
    public var previousHash: String
    public var hash: String

    public init(sequence: Int64, entry: AuditEntry, previousHash: String, hash: String) {
        self.sequence = sequence
        self.entry = entry
        self.previousHash = previousHash
        self.hash = hash
    }
}

/// Which audit records a reviewer wants, newest first unless `ascending`.
public struct AuditQuery: Sendable {
    public var patientID: String?
    public var actor: String?
    public var flag: String?
    public var action: String?
    /// Time window, ms since 1970, inclusive.
    public var from: Int64?
    public var to: Int64?
    /// Paging: records with a sequence number above / below these.
    public var afterSequence: Int64?
    public var beforeSequence: Int64?
    public var ascending: Bool
    public var limit: Int
    /// The `flag` value that matches any flagged record.
    public static let anyFlag = "*"

    public init(patientID: String? = nil, actor: String? = nil, flag: String? = nil, action: String? = nil, from: Int64? = nil, to: Int64? = nil,
                afterSequence: Int64? = nil, beforeSequence: Int64? = nil, ascending: Bool = false, limit: Int = 100) {
        self.patientID = patientID
        self.actor = actor
        self.flag = flag
        self.action = action
        self.from = from
        self.to = to
        self.afterSequence = afterSequence
        self.beforeSequence = beforeSequence
        self.ascending = ascending
        self.limit = limit
    }
}

/// The hash chain over audit records: each record's hash covers every stored
/// column and the previous record's hash, so changing, removing or reordering
/// a record breaks the chain from that record on.
public enum AuditChain {
    /// SHA-256, hex, of the record's columns and its predecessor's hash.
    public static func hash(previous: String, sequence: Int64, entry: AuditEntry) -> String {
        var hasher = SHA256()
        let header = [previous, String(sequence), String(entry.recordedAt), entry.actor, entry.patientID ?? "", entry.action,
                      entry.outcome, entry.flags.joined(separator: ","), ""].joined(separator: "\n")
        hasher.update(data: Data(header.utf8))
        hasher.update(data: entry.json)
        return hex(hasher.finalize())
    }

    /// Lower-case hex, without Foundation's format machinery (one hash per audit record is on every request's path).
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// What `verify` found wrong, naming the record.
    public struct Break: Sendable, Equatable, CustomStringConvertible {
        public let sequence: Int64
        public let reason: String
        public var description: String { "audit record \(sequence): \(reason)" }
    }

    /// Checks records given in sequence order, continuing from `previous` (the hash before the first,
    /// and its sequence number); returns the first break, or nil.
    public static func verify(_ records: [AuditRecord], previousHash: String, previousSequence: Int64) -> Break? {
        var expectedPrevious = previousHash
        var lastSequence = previousSequence
        for record in records {
            if record.sequence != lastSequence + 1 {
                return Break(sequence: record.sequence, reason: "records \(lastSequence + 1)…\(record.sequence - 1) are missing (removed or renumbered)")
            }
            if record.previousHash != expectedPrevious {
                return Break(sequence: record.sequence, reason: "its link to the previous record does not match (reordered, or the previous record was replaced)")
            }
            if hash(previous: record.previousHash, sequence: record.sequence, entry: record.entry) != record.hash {
                return Break(sequence: record.sequence, reason: "its content does not match its hash (changed after it was written)")
            }
            expectedPrevious = record.hash
            lastSequence = record.sequence
        }
        return nil
    }
}

/// A small piece of access-layer state that is not a FHIR resource: credentials,
/// OAuth clients, PDL directives, refresh tokens, review decisions. Stored as JSON under (kind, key).
public struct ControlRecord: Sendable, Equatable {
    public var kind: String
    public var key: String
    /// The patient the record concerns, for per-patient lookups (consents, blocks).
    public var patientID: String?
    public var json: [UInt8]
    public var updatedAt: Int64

    public init(kind: String, key: String, patientID: String? = nil, json: [UInt8], updatedAt: Int64 = Instant.now()) {
        self.kind = kind
        self.key = key
        self.patientID = patientID
        self.json = json
        self.updatedAt = updatedAt
    }
}
