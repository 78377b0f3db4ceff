public import Access
public import FHIRCore
public import StoreModel

/// The ordinator's list of verbal and telephone orders to confirm (obekräftade muntliga ordinationer):
/// each with who recorded it and when, and overdue once it has waited longer than the configured time
/// (`administration.verbalOrderConfirmMinutes`) — the alarm the ward and the ordinator see.
public struct VerbalOrders: Sendable {
    /// One order waiting for its ordinator's confirmation.
    public struct Item: Sendable {
        public var order: StoredResource
        public var patientID: String?
        public var drug: String
        /// muntlig | telefon
        public var kind: String
        public var recordedBy: String?
        /// Who recorded it as a reference, when it carries no display (a page shows the name).
        public var recorderReference: String?
        public var recordedAt: Int64
        public var overdue: Bool
    }

    public var items: [Item]
    public var overdueCount: Int { items.filter(\.overdue).count }

    /// The unconfirmed orders naming `roleID` as ordinator, oldest first.
    public static func read(roleID: String, now: Int64 = Instant.now(), session: PatientDataSession,
                            rules: MedicationSafetyRules.Administration) async throws -> VerbalOrders {
        let query = try SearchQuery.parse(type: "MedicationRequest", parameters: [
            ("requester", "PractitionerRole/\(roleID)"), ("_tag", "\(OrdinationRule.confirmationSystem)|\(OrdinationRule.unconfirmedCode)"),
        ], strict: true)
        let limit = Int64(rules.verbalOrderConfirmMinutes) * 60_000
        let items = try await session.search(query, limit: 500).resources.map { record -> Item in
            let object = record.object
            // When it was given: the time the nurse wrote, else when it was recorded.
            let at = object["authoredOn"]?.stringValue.flatMap(Instant.parse) ?? record.lastUpdated
            return Item(order: record, patientID: object.referenceID("subject", type: "Patient"), drug: Display.concept(object["medicationCodeableConcept"]),
                        kind: OrdinationRule.verbalOrder(object) ?? "muntlig", recordedBy: object["recorder"].map { Display.reference($0) },
                        recorderReference: object["recorder"]?.objectValue?["display"] == nil ? object["recorder"]?.objectValue?["reference"]?.stringValue : nil,
                        recordedAt: at, overdue: now - at > limit)
        }
        return VerbalOrders(items: items.sorted { $0.recordedAt < $1.recordedAt })
    }

    /// As `$unconfirmed-orders` answers: `overdueCount`, then an `order` per item.
    public var parameters: ParametersBuilder {
        var out = ParametersBuilder()
        out.add("overdueCount", int: overdueCount)
        for item in items {
            var part = ParametersBuilder()
            part.add("order", reference: "MedicationRequest/\(item.order.id)")
            part.add("patient", reference: item.patientID.map { "Patient/\($0)" })
            part.add("drug", item.drug)
            part.add("kind", item.kind)
            part.add("recordedBy", item.recordedBy)
            part.add("recordedAt", SwedishTime.format(item.recordedAt))
            part.add("overdue", bool: item.overdue)
            out.add("order", part: part)
        }
        return out
    }
}
