import Access
import FHIRCore
import Foundation
import StoreModel
import Terminology

/// Documentation's demo journal: notes of every default type (signed, unsigned, corrected,
/// entered-in-error), diagnoses and procedures on the demo care contacts, problems and attention
/// signals for pat-1…pat-10, written after `karna seed` by the demo users through the same module and
/// gateway users call.
extension Documentation {
    /// What the demo journal holds, for the seed's summary line.
    public struct DemoSummary: Sendable, Equatable {
        public var notes = 0, diagnoses = 0, signals = 0
    }

    public func seedDemo(_ demo: DemoContext) async throws -> [String] {
        guard let summary = try await populateDemoJournal(demo) else { return [] }
        return ["demo journal: \(summary.notes) notes, \(summary.diagnoses) diagnoses, \(summary.signals) attention signals"]
    }

    /// Writes the demo journal; nil when it is there already or the demo care contacts are not.
    public func populateDemoJournal(_ demo: DemoContext) async throws -> DemoSummary? {
        let documentation = self
        let job = demo.job("demo-documentation")
        guard demo.patients >= 10, try await job.read(type: "Encounter", id: "demo-contact-pat-10") != nil else { return nil }
        let existing = try await job.search(try SearchQuery.parse(type: "Composition", parameters: [("subject", "Patient/pat-1")], strict: true), limit: 1)
        guard existing.resources.isEmpty else { return nil }

        func session(_ assignmentID: String, _ name: String) async throws -> PatientDataSession? {
            try await demo.practitioner(assignmentID: assignmentID, name: name, action: "demo-documentation")
        }
        guard let doctorVC = try await session("demo-lakare-uppdrag-1", "Anna Lindqvist"),
              let doctorWard = try await session("demo-lakare-uppdrag-2", "Anna Lindqvist"),
              let nurse = try await session("demo-sjukskoterska-uppdrag-1", "Erik Sandberg"),
              let secretary = try await session("demo-sekreterare-uppdrag-1", "Maria Holm")
        else { return nil }
        let midwife = try await session("demo-barnmorska-uppdrag-1", "Lena Dahl")
        let notes = documentation.notes
        var summary = DemoSummary()
        let hour: Int64 = 3_600_000
        let now = Instant.now()

        func note(_ template: String, _ patient: Int, _ sections: [String: String], by session: PatientDataSession, hoursAgo: Int64 = 1,
                  sign: Bool = true, responsible: String? = nil) async throws -> StoredResource {
            let draft = try await notes.write(Notes.Draft(template: template, patientID: "pat-\(patient)", encounterID: "demo-contact-pat-\(patient)",
                                                          eventTime: now - hoursAgo * hour, sections: sections, responsibleRoleID: responsible), session: session)
            summary.notes += 1
            return sign ? try await notes.sign(noteID: draft.id, session: session) : draft
        }

        // Vårdcentralen
        _ = try await note("lakaranteckning-besok", 1, [
            "kontaktorsak": "Hjärtklappning och trötthet sedan två veckor.",
            "anamnes": "Tidigare frisk förutom hypertoni. Ingen bröstsmärta. Ingen andnöd i vila.",
            "status": "AT: Opåverkad. Cor: Oregelbunden rytm, frekvens 110/min, inga blåsljud. BT 150/90.",
            "bedomning": "Förmaksflimmer, sannolikt debut de senaste veckorna. CHA2DS2-VASc 2.",
            "atgard": "EKG: förmaksflimmer. Insätter apixaban och metoprolol.",
            "planering": "Remiss till medicinkliniken för ställningstagande till elkonvertering. Återbesök 4 veckor.",
        ], by: doctorVC, hoursAgo: 2)
        _ = try await documentation.diagnoses.register(encounterID: "demo-contact-pat-1", main: "I48.9", secondary: ["I10"], procedures: ["AF037"], session: doctorVC)
        summary.diagnoses += 2
        _ = try await note("telefonanteckning", 2, [
            "kontaktorsak": "Patienten ringer om svullnad i läppar efter jordnötter.",
            "bedomning": "Misstänkt allergisk reaktion, nu avklingande. Inga andningsbesvär.",
            "atgard": "Råd om antihistamin. Förskriver adrenalinpenna. Allergiutredning bokas.",
        ], by: doctorVC, hoursAgo: 5)
        // A dictated note, transcribed by the secretary, waiting for the doctor's signature (vidimering).
        _ = try await note("lakaranteckning-besok", 3, [
            "kontaktorsak": "Kontroll av diabetes.", "status": "BT 135/80. Fötter: normal sensibilitet, inga sår.",
            "bedomning": "Välreglerad typ 2-diabetes, HbA1c 48.", "planering": "Fortsatt metformin. Ny kontroll om 6 månader.",
        ], by: secretary, hoursAgo: 3, sign: false, responsible: "demo-lakare-uppdrag-1")
        _ = try await documentation.diagnoses.register(encounterID: "demo-contact-pat-3", main: "E11.9", secondary: [], procedures: ["XS200"], session: doctorVC)
        summary.diagnoses += 1
        // A note corrected after signing: the earlier version stays readable.
        let corrected = try await note("lakaranteckning-besok", 4, [
            "kontaktorsak": "Sår på underben som inte läker.", "status": "Sår 2 x 3 cm medialt på vänster underben, rodnad runt om.",
            "bedomning": "Sårinfektion. Odling tagen.", "planering": "Omläggning varannan dag på vårdcentralen.",
        ], by: doctorVC, hoursAgo: 26)
        _ = try await notes.correct(noteID: corrected.id, sections: ["bedomning": "Sårinfektion. Odling: MRSA. Smittskyddsanmälan gjord."],
                                    reason: "Odlingssvar inkommet, bedömningen kompletterad", session: doctorVC)
        _ = try await note("lakaranteckning-besok", 5, [
            "kontaktorsak": "Ryggvärk efter lyft.", "status": "Palpationsöm paravertebralt L4-L5, neurologi u.a.",
            "bedomning": "Lumbago.", "planering": "Ibuprofen vid behov, fysioterapi. Åter vid försämring.",
        ], by: doctorVC, hoursAgo: 4)
        _ = try await documentation.diagnoses.register(encounterID: "demo-contact-pat-5", main: "M54.5", secondary: [], procedures: [], session: doctorVC)
        summary.diagnoses += 1
        let wrong = try await note("lakaranteckning-besok", 5, [
            "kontaktorsak": "Kontroll av astma.", "status": "Lungor: ingen obstruktivitet.", "bedomning": "Välkontrollerad astma.",
        ], by: doctorVC, hoursAgo: 1)
        _ = try await notes.markEnteredInError(noteID: wrong.id, reason: "Skriven på fel patient", session: doctorVC)
        if let midwife {
            _ = try await note("barnmorskeanteckning", 2, [
                "graviditet": "Graviditetsvecka 28+3. Normalt förlopp.", "status": "SF-mått 27 cm, fosterljud 140/min, BT 115/70.",
                "bedomning": "Normal graviditet.", "planering": "Nästa besök v. 32.",
            ], by: midwife, hoursAgo: 30)
        }

        // Avdelningen
        _ = try await note("lakaranteckning-inskrivning", 6, [
            "inkomstorsak": "Feber och hosta i fyra dagar, tilltagande andfåddhet.",
            "aktuellt": "Insjuknade med feber 39°, produktiv hosta. Sökte akuten i går kväll.",
            "tidigare-sjukdomar": "KOL, hypertoni.", "sociala": "Bor med make i villa, klarar sig själv.",
            "lakemedel": "Se läkemedelslistan.", "status": "AT: Påverkad. Lungor: rassel basalt höger. Sat 89 % på luft. Temp 38,9.",
            "bedomning": "Pneumoni höger underlob hos patient med KOL.", "planering": "Bensylpenicillin iv, syrgas till sat 90-92 %, CRP i morgon.",
        ], by: doctorWard, hoursAgo: 20)
        _ = try await note("daganteckning", 6, [
            "aktuellt": "Feberfri sedan i natt, mindre andfådd.", "status": "Sat 93 % på 1 liter syrgas. CRP 140 → 90.",
            "bedomning": "Förbättras.", "planering": "Fortsatt iv antibiotika ett dygn, sedan peroral.",
        ], by: doctorWard, hoursAgo: 2)
        _ = try await note("sjukskoterskeanteckning", 6, [
            "omvardnadsstatus": "Sover oroligt, hostar. Äter halva portioner.", "atgard": "Lägesändring var tredje timme, syrgas 1 liter.",
            "planering": "Näringsdryck mellan måltider.",
        ], by: nurse, hoursAgo: 6)
        _ = try await documentation.diagnoses.register(encounterID: "demo-contact-pat-6", main: "J18.9", secondary: ["J44.9"], procedures: [], session: doctorWard)
        summary.diagnoses += 2
        _ = try await note("epikris", 7, [
            "inkomstorsak": "Andfåddhet och bensvullnad.", "vardforlopp": "Behandlad med diuretika iv med god effekt, viktnedgång 4 kg.",
            "diagnos": "Hjärtsvikt (I50.9).", "lakemedel": "Furosemid insatt, se läkemedelslistan.",
            "uppfoljning": "Återbesök hjärtsviktsmottagningen om 2 veckor, vikt dagligen.",
        ], by: doctorWard, hoursAgo: 1)
        _ = try await documentation.diagnoses.register(encounterID: "demo-contact-pat-7", main: "I50.9", secondary: [], procedures: [], session: doctorWard)
        summary.diagnoses += 1
        _ = try await note("daganteckning", 8, ["aktuellt": "Ont i höften efter fall.", "bedomning": "Utreds för höftfraktur."], by: doctorWard, hoursAgo: 3,
                           sign: false)

        // Attention signals: allergies first in the banner, then infection, treatment and care limitation.
        let signals = documentation.attentionSignals
        _ = try await signals.recordAllergy(AttentionSignals.Allergy(patientID: "pat-1", substanceSystem: KnownSystems.atc, substanceCode: "J01CE02",
                                                                     category: "medication", reaction: "Urtikaria och andnöd", severity: "severe",
                                                                     criticality: "high"), session: doctorVC)
        _ = try await signals.recordAllergy(AttentionSignals.Allergy(patientID: "pat-2", substanceSystem: KarnaValueSets.allergenSystem, substanceCode: "jordnot",
                                                                     category: "food", reaction: "Svullnad i läppar", severity: "moderate", criticality: "high"),
                                            session: doctorVC)
        _ = try await signals.recordAllergy(AttentionSignals.Allergy(patientID: "pat-9", substanceSystem: KnownSystems.atc, substanceCode: "M01AE01",
                                                                     category: "medication", reaction: "Magbesvär", severity: "mild", criticality: "low",
                                                                     certainty: "unconfirmed"), session: doctorWard)
        _ = try await signals.record(patientID: "pat-1", kind: .treatment, code: "antikoagulantia", note: "Apixaban sedan november", decidedByRoleID: nil,
                                     decidedAt: nil, session: doctorVC)
        _ = try await signals.record(patientID: "pat-4", kind: .infection, code: "mrsa", note: "Sår underben, odling", decidedByRoleID: nil, decidedAt: nil,
                                     session: doctorVC)
        _ = try await signals.record(patientID: "pat-6", kind: .careLimitation, code: "ej-hlr", note: "Beslutat efter samtal med patient och make",
                                     decidedByRoleID: "demo-lakare-uppdrag-2", decidedAt: String(Instant.format(milliseconds: now).prefix(10)), session: doctorWard)
        _ = try await signals.record(patientID: "pat-7", kind: .treatment, code: "pacemaker", note: nil, decidedByRoleID: nil, decidedAt: nil, session: doctorWard)
        summary.signals = 7
        _ = try await documentation.diagnoses.addProblem(patientID: "pat-3", code: "E11", onset: "2019-03-01", note: "Tablettbehandlad", session: doctorVC)
        // The visit's diagnoses become problems when the doctor puts them on the list: pat-1's new atrial fibrillation and known hypertension.
        _ = try await documentation.diagnoses.addProblem(patientID: "pat-1", code: "I48.9", onset: nil, note: "Nyupptäckt, antikoagulantia insatt", session: doctorVC)
        _ = try await documentation.diagnoses.addProblem(patientID: "pat-1", code: "I10", onset: "2015-05-01", note: nil, session: doctorVC)
        return summary
    }
}
