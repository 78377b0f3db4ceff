import FHIRCore
import Foundation
import StoreModel

/// An unidentified patient (okänd patient) gets a reservnummer in one write, wherever they arrive: at
/// registration in patient administration or at the emergency department's door. Here, beside the
/// gateway, so both modules make the same record from the same number series.
public enum UnidentifiedPatient {
    /// Registers a patient whose identity is unknown, in one write: a reservnummer, the
    /// sex and an estimated birth year if known, and a note on how to recognise them.
    public static func register(gender: String?, estimatedBirthYear: Int?, note: String?, session: PatientDataSession) async throws -> StoredResource {
        let (id, patient) = try await record(gender: gender, estimatedBirthYear: estimatedBirthYear, note: note, session: session)
        _ = try await session.commit(.create(patient, type: "Patient", id: id))
        return try await Records(session: session).require("Patient", id)
    }

    /// The record of an unidentified patient with its reservnummer taken, not yet written: to commit together with what
    /// brings the patient (an emergency visit), so neither is written without the other.
    public static func record(gender: String?, estimatedBirthYear: Int?, note: String?, session: PatientDataSession) async throws -> (id: String, patient: JSONObject) {
        if let gender, !["male", "female", "other", "unknown"].contains(gender) {
            throw FHIRError(.invalid, code: .value, "gender must be male, female, other or unknown; got '\(gender)'", expression: ["gender"])
        }
        let today = CivilCalendar.date(fromDaysSince1970: SwedishTime.today)
        if let year = estimatedBirthYear, !(1900...today.year).contains(year) {
            throw FHIRError(.invalid, code: .value, "estimatedBirthYear must be between 1900 and \(today.year); got \(year)", expression: ["estimatedBirthYear"])
        }
        let series = "reservnummer-" + SwedishTime.formatDay(SwedishTime.today)
        let serial = try await session.nextNumber(series: series)
        let reserve: Reservnummer
        do {
            reserve = try Reservnummer(year: today.year, month: today.month, day: today.day, serial: Int(serial))
        } catch {
            throw FHIRError(.busy, code: .exception, "no reservnummer left today: \(error.description)")
        }
        let id = UUID().uuidString.lowercased()
        var patient = JSONObject([
            ("resourceType", .string("Patient")), ("id", .string(id)),
            ("identifier", .array([FHIR.object([("use", .string("temp")), ("system", .string(Reservnummer.system)), ("value", .string(reserve.canonical))])])),
            ("active", .bool(true)),
            ("name", .array([FHIR.object([("use", .string("temp")), ("text", .string("Okänd patient \(reserve.formatted)"))])])),
            ("gender", .string(gender ?? "unknown")),
        ])
        if let year = estimatedBirthYear { patient["birthDate"] = .string(String(year)) }
        if let note, !note.isEmpty {
            patient.setExtension("https://karna.se/fhir/StructureDefinition/identifieringsnotering", "valueString", .string(note))
        }
        return (id, patient)
    }
}
