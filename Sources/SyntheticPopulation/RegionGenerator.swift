import FHIRCore
import Foundation

/// Generates a deterministic, realistic population of the fictional Region
/// Kärnland: its organisations and practitioners, then each patient's record
/// one at a time (so a caller can stream millions in constant memory).
///
/// The same seed and patient number always give the same resources, whatever
/// the date: every time is measured from a fixed reference day.
public struct RegionGenerator: Sendable {
    public let seed: UInt64
    public let patientCount: Int
    /// The day the generated histories end ("today" for the synthetic region).
    public static let referenceDay = (year: 2026, month: 6, day: 30)
    /// Patients in one cycle of personnummer slots (500 serials per sex × 365 birth days); each further cycle
    /// takes its own birth years (see `patient(_:)`).
    public static let patientsPerCycle = 182_500
    /// The most patients one seed generates: eleven cycles, so a cycle's birth years are at most ten apart
    /// and the age pyramid keeps its shape — more than a Swedish region's 1.8 million inhabitants.
    public static let maximumPatientCount = 2_000_000

    public init(seed: UInt64, patientCount: Int) {
        self.seed = seed
        self.patientCount = patientCount
    }

    var practitionerCount: Int { max(20, patientCount / 250) }
    var primaryCareIDs: [String] { SwedishLists.localities.map { "vc-" + slug($0.name) } }

    // MARK: Organisations and practitioners

    /// The region, its hospitals with their wards, primary-care centres and practitioners.
    public func organisations() -> [JSONObject] {
        var out: [JSONObject] = []
        let regionID = "region-karnland"
        out.append(object([
            ("resourceType", .string("Organization")), ("id", .string(regionID)),
            ("identifier", .array([identifier("urn:oid:1.2.752.29.4.19", "SE2321000999-0001")])),
            ("active", .bool(true)), ("type", .array([concept("http://terminology.hl7.org/CodeSystem/organization-type", "govt", "Region")])),
            ("name", .string("Region Kärnland")),
        ]))
        for (i, (name, town)) in SwedishLists.hospitals.enumerated() {
            let hospitalID = "hosp-\(i + 1)"
            out.append(object([
                ("resourceType", .string("Organization")), ("id", .string(hospitalID)),
                ("identifier", .array([identifier("urn:oid:1.2.752.29.4.19", "SE2321000999-1\(i)00")])),
                ("active", .bool(true)), ("type", .array([concept("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Sjukhus")])),
                ("name", .string(name)), ("address", .array([address(street: "Sjukhusvägen 1", postal: "\(400 + i * 10) 00", city: town, use: "work")])),
                ("partOf", reference("Organization/\(regionID)")),
            ]))
            for (w, ward) in SwedishLists.wards.enumerated() {
                out.append(object([
                    ("resourceType", .string("Organization")), ("id", .string("\(hospitalID)-ward-\(w + 1)")),
                    ("identifier", .array([identifier("urn:oid:1.2.752.29.4.19", "SE2321000999-1\(i)\(String(format: "%02d", w + 1))")])),
                    ("active", .bool(true)), ("type", .array([concept("http://terminology.hl7.org/CodeSystem/organization-type", "dept", "Vårdenhet")])),
                    ("name", .string("\(ward), \(name)")), ("partOf", reference("Organization/\(hospitalID)")),
                ]))
            }
        }
        for (i, locality) in SwedishLists.localities.enumerated() {
            out.append(object([
                ("resourceType", .string("Organization")), ("id", .string(primaryCareIDs[i])),
                ("identifier", .array([identifier("urn:oid:1.2.752.29.4.19", "SE2321000999-2\(String(format: "%03d", i))")])),
                ("active", .bool(true)), ("type", .array([concept("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Vårdcentral")])),
                ("name", .string("Vårdcentralen \(locality.name)")),
                ("address", .array([address(street: "Torget 2", postal: "\(locality.postal) 30", city: locality.name, use: "work")])),
                ("partOf", reference("Organization/\(regionID)")),
            ]))
        }
        var random = SeededRandom(seed: seed ^ 0x5EED_0F_0A)
        for n in 0..<practitionerCount {
            let female = random.chance(0.55)
            let given = random.weighted(female ? SwedishLists.femaleNames : SwedishLists.maleNames)
            let family = random.weighted(SwedishLists.surnames)
            out.append(object([
                ("resourceType", .string("Practitioner")), ("id", .string("pract-\(n + 1)")),
                ("identifier", .array([identifier("urn:oid:1.2.752.29.4.19", "SE2321000999-P\(String(format: "%05d", n + 1))")])),
                ("active", .bool(true)),
                ("name", .array([.object(JSONObject([("family", .string(family)), ("given", .array([.string(given)]))]))])),
                ("gender", .string(female ? "female" : "male")),
                ("qualification", .array([.object(JSONObject([("code", concept("urn:oid:1.2.752.29.23.1.6", n % 3 == 0 ? "SJ" : "LK", n % 3 == 0 ? "Sjuksköterska" : "Läkare"))]))])),
            ]))
        }
        return out
    }

    // MARK: Patients

    /// How many cycles of personnummer slots this population fills.
    var cycles: Int { max(1, (patientCount + Self.patientsPerCycle - 1) / Self.patientsPerCycle) }
    static let referenceDayNumber = CivilCalendar.daysSince1970(year: referenceDay.year, month: referenceDay.month, day: referenceDay.day)

    /// The birth day of a patient of `age` born on day `dayOfYear` of its year, never after the reference day.
    static func birthDayNumber(age: Int, dayOfYear: Int) -> Int {
        let day = CivilCalendar.daysSince1970(year: referenceDay.year - age, month: 1, day: 1) + dayOfYear
        return day > referenceDayNumber ? day - 365 : day
    }

    /// The birth year of patient `n` in a population of several cycles: the cycle's own years (those ≡ cycle mod
    /// cycles), the drawn year moved down to the nearest of them, so patients of different cycles sharing a slot
    /// never share a year. A demo cast member keeps its cast age, so a later cycle's patient in its slot steps past
    /// the cast member's year.
    func laterCycleBirthYear(_ n: Int, year drawn: Int, dayOfYear: Int) -> Int {
        let cycle = n / Self.patientsPerCycle
        var year = drawn - ((drawn - cycle) % cycles + cycles) % cycles
        let castYear = SwedishLists.demoCast[n % Self.patientsPerCycle].map {
            CivilCalendar.date(fromDaysSince1970: Self.birthDayNumber(age: $0.age, dayOfYear: dayOfYear)).year
        }
        while CivilCalendar.daysSince1970(year: year, month: 1, day: 1) + dayOfYear > Self.referenceDayNumber || year == castYear { year -= cycles }
        return year
    }

    /// The resource id of patient number `n` (0-based).
    public func patientID(_ n: Int) -> String { "pat-\(n + 1)" }

    /// Everything about patient number `n` (0-based): the Patient first, then the resources that point at it.
    public func patient(_ n: Int) -> [JSONObject] {
        var random = SeededRandom(seed: seed &* 0x9E37_79B9 ^ UInt64(n) &* 0xD1B5_4A32_D192_ED03)
        let pid = patientID(n)
        var female = random.chance(0.5)
        // Age pyramid: roughly flat to 65, thinning after.
        var age = random.chance(0.8) ? random.int(0...64) : min(104, 65 + random.heavyTail(alpha: 0.9, cap: 39))
        // The demo's first patients are cast for the stories the demo journal tells about them.
        if let cast = SwedishLists.demoCast[n] { (age, female) = (cast.age, cast.female) }
        // Personnummer are unique by construction, without a lookup table: the patient number picks the
        // serial (n mod 500, per sex) and the day of the birth year (n / 500 mod 365), the age picks the
        // year. Two patients share a slot only if their numbers differ by a multiple of `patientsPerCycle`;
        // such patients are told apart by their birth year (`laterCycleBirthYear`).
        let serialIndex = n % 500, dayOfYear = n / 500 % 365
        var birthDayNumber = Self.birthDayNumber(age: age, dayOfYear: dayOfYear)
        if cycles > 1, SwedishLists.demoCast[n] == nil {
            let year = laterCycleBirthYear(n, year: CivilCalendar.date(fromDaysSince1970: birthDayNumber).year, dayOfYear: dayOfYear)
            birthDayNumber = CivilCalendar.daysSince1970(year: year, month: 1, day: 1) + dayOfYear
            age = Self.referenceDay.year - year
        }
        let (birthYear, birthMonth, birthDay) = CivilCalendar.date(fromDaysSince1970: birthDayNumber)
        let coordination = random.chance(0.02)
        let personalNumber = Self.personalNumber(year: birthYear, month: birthMonth, day: birthDay + (coordination ? 60 : 0),
                                                 serial: (serialIndex / 5) * 10 + (serialIndex % 5) * 2 + (female ? 0 : 1))
        let given = random.weighted(female ? SwedishLists.femaleNames : SwedishLists.maleNames)
        var givens: [JSONValue] = [.string(given)]
        if random.chance(0.4) { givens.append(.string(random.weighted(female ? SwedishLists.femaleNames : SwedishLists.maleNames))) }
        let family = random.weighted(SwedishLists.surnames)
        let locality = random.weighted(SwedishLists.localities.enumerated().map { ($0.offset, $0.element.weight) })
        let town = SwedishLists.localities[locality]
        let street = "\(SwedishLists.streets[random.int(0...SwedishLists.streets.count - 1)]) \(random.int(1...80))"
        let primaryCare = primaryCareIDs[locality]
        let doctor = "pract-\(random.int(1...practitionerCount))"
        var patient = object([
            ("resourceType", .string("Patient")), ("id", .string(pid)),
            ("identifier", .array([identifier(coordination ? SwedishPersonalIdentity.samordningsnummerSystem : SwedishPersonalIdentity.personnummerSystem,
                                              personalNumber)])),
            ("active", .bool(true)),
            ("name", .array([.object(JSONObject([("use", .string("official")), ("family", .string(family)), ("given", .array(givens))]))])),
            ("telecom", .array([.object(JSONObject([("system", .string("phone")), ("value", .string("07\(random.int(0...9))-\(random.int(100_0000...999_9999))")), ("use", .string("mobile"))]))])),
            ("gender", .string(female ? "female" : "male")),
            ("birthDate", .string(String(format: "%04d-%02d-%02d", birthYear, birthMonth, birthDay))),
            ("address", .array([address(street: street, postal: "\(town.postal) \(String(format: "%02d", random.int(10...99)))", city: town.name)])),
            ("generalPractitioner", .array([reference("Practitioner/\(doctor)")])),
            ("managingOrganization", reference("Organization/\(primaryCare)")),
        ])
        if age > 95, random.chance(0.3) {
            let died = instant(daysAgo: random.int(1...300), random: &random)
            patient["deceasedDateTime"] = JSONValue.string(died)
        }
        var out = [patient]

        // Chronic conditions by age and sex at Swedish prevalence (SwedishLists.chronicConditions); they
        // drive repeat visits, medications and lab series, and stand on the problem list.
        var chronic = SwedishLists.chronicConditions.filter { random.chance($0.prevalence(age, female)) }
        if let cast = SwedishLists.demoCast[n] { chronic = SwedishLists.chronicConditions.filter { cast.chronic.contains($0.code) } }
        let hypertension = chronic.contains { $0.code == "I10" }
        let diabetes = chronic.contains { $0.code == "E11.9" }
        for (index, condition) in chronic.enumerated() {
            let onsetYears = random.int(1...max(1, min(25, age - condition.minimumAge)))
            out.append(object([
                ("resourceType", .string("Condition")), ("id", .string("\(pid)-problem-\(index + 1)")),
                ("clinicalStatus", concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", nil)),
                ("verificationStatus", concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", nil)),
                ("category", .array([concept("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", nil)])),
                ("code", concept(SwedishLists.icd10SE, condition.code, condition.display)),
                ("subject", reference("Patient/\(pid)")),
                ("onsetDateTime", .string(String(format: "%04d", Self.referenceDay.year - onsetYears))),
                ("recordedDate", .string(instant(daysAgo: onsetYears * 365, random: &random))),
            ]))
        }
        // Visits: a heavy tail, more with age and chronic illness.
        var visits = random.heavyTail(alpha: 1.2, cap: 80) + (age > 70 ? 2 : 0) + (hypertension ? 2 : 0) + (diabetes ? 3 : 0)
        if random.chance(0.15) { visits = 0 }
        var encounterIndex = 0
        for _ in 0..<visits {
            encounterIndex += 1
            let eid = "\(pid)-enc-\(encounterIndex)"
            let daysAgo = random.int(1...3650)
            let inpatient = random.chance(0.08)
            let start = instant(daysAgo: daysAgo, random: &random)
            let end = inpatient ? instant(daysAgo: max(0, daysAgo - random.int(1...9)), random: &random) : Self.addMinutes(start, random.int(15...90))
            let hospital = random.int(1...SwedishLists.hospitals.count)
            let place = inpatient || random.chance(0.2) ? "hosp-\(hospital)-ward-\(random.int(1...SwedishLists.wards.count))" : primaryCare
            // A visit is for one of the patient's chronic conditions, or for an acute complaint that fits the age and sex.
            let diagnosis: (String, String) = !chronic.isEmpty && random.chance(0.5)
                ? { let c = chronic[random.int(0...chronic.count - 1)]; return (c.code, c.display) }()
                : random.weighted(SwedishLists.acuteDiagnoses.filter { $0.0.fits(age, female) }.map { (($0.0.code, $0.0.display), $0.1) })
            let cid = "\(eid)-dx"
            var encounter = object([
                ("resourceType", .string("Encounter")), ("id", .string(eid)),
                ("status", .string(daysAgo < 1 ? "in-progress" : "finished")),
                ("class", .object(JSONObject([("system", .string("http://terminology.hl7.org/CodeSystem/v3-ActCode")),
                                              ("code", .string(inpatient ? "IMP" : "AMB")), ("display", .string(inpatient ? "inpatient encounter" : "ambulatory"))]))),
                ("subject", reference("Patient/\(pid)")),
                ("participant", .array([.object(JSONObject([("individual", reference("Practitioner/\(doctor)"))]))])),
                ("period", .object(JSONObject([("start", .string(start)), ("end", .string(end))]))),
                ("reasonCode", .array([concept(SwedishLists.icd10SE, diagnosis.0, diagnosis.1)])),
                ("serviceProvider", reference("Organization/\(place)")),
            ])
            if inpatient, daysAgo >= 1, let ward = Int(place.split(separator: "-").last ?? "") {
                // The bed the finished stay was in, as a ward's records keep it (what OMOP's visit_detail is made
                // from). Named, not referenced: the synthetic region has no bed Locations. No draw from `random`,
                // so the rest of the record stays as it was.
                let bed = (n &+ encounterIndex) % 24 + 1
                let name = "\(SwedishLists.wards[ward - 1]), \(SwedishLists.hospitals[hospital - 1].0), säng \(bed)"
                encounter["location"] = .array([.object(JSONObject([
                    ("location", .object(JSONObject([("display", .string(name))]))), ("status", .string("completed")),
                    ("period", .object(JSONObject([("start", .string(start)), ("end", .string(end))]))),
                ]))])
            }
            out.append(encounter)
            out.append(object([
                ("resourceType", .string("Condition")), ("id", .string(cid)),
                ("clinicalStatus", concept("http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           chronic.contains { $0.code == diagnosis.0 } ? "active" : "resolved", nil)),
                ("verificationStatus", concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", nil)),
                ("category", .array([concept("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", nil)])),
                ("code", concept(SwedishLists.icd10SE, diagnosis.0, diagnosis.1)),
                ("subject", reference("Patient/\(pid)")), ("encounter", reference("Encounter/\(eid)")),
                ("recordedDate", .string(start)),
            ]))
            // Vital signs at about half the visits.
            if random.chance(0.5) {
                let systolic = 110 + random.int(0...30) + (hypertension ? 20 : 0) + age / 5
                out.append(bloodPressure("\(eid)-bp", pid, eid, start, systolic, systolic - 40 - random.int(0...15)))
                out.append(vital("\(eid)-hr", pid, eid, start, "8867-4", "Heart rate", Double(random.int(55...100)), "/min", "beats/minute", decimals: 0))
                if age > 1 { out.append(vital("\(eid)-wt", pid, eid, start, "29463-7", "Body weight", Double(random.int(age < 15 ? 10...60 : 50...120)), "kg", "kg", decimals: 0)) }
            }
            // Laboratory results at a third of the visits, HbA1c for diabetics.
            if random.chance(0.33) || diabetes {
                var tests = Array(SwedishLists.labTests.indices.shuffled(using: &random).prefix(random.int(1...4)))
                if diabetes, !tests.contains(0) { tests.append(0) }
                for t in tests {
                    let test = SwedishLists.labTests[t]
                    var value = max(0.1, test.mean + (random.unit() + random.unit() + random.unit() - 1.5) * test.spread)
                    if t == 0, diabetes { value += 15 }
                    out.append(lab("\(eid)-lab-\(t)", pid, eid, start, test, value))
                }
            }
            // Medications for conditions that call for them.
            if let options = SwedishLists.medications[diagnosis.0], random.chance(0.6) {
                let medication = options[random.int(0...options.count - 1)]
                out.append(object([
                    ("resourceType", .string("MedicationRequest")), ("id", .string("\(eid)-rx")),
                    ("status", .string(daysAgo < 365 ? "active" : "completed")), ("intent", .string("order")),
                    ("medicationCodeableConcept", concept(SwedishLists.atc, medication.code, medication.name)),
                    ("subject", reference("Patient/\(pid)")), ("encounter", reference("Encounter/\(eid)")),
                    ("authoredOn", .string(start)), ("requester", reference("Practitioner/\(doctor)")),
                    ("dosageInstruction", .array([.object(JSONObject([("text", .string(medication.dose))]))])),
                ]))
            }
            // A stay's ordinations and the doses given on the ward, from a stream of their own so the rest of
            // the population stays as it was generated before stays had them.
            if inpatient {
                var ward = SeededRandom(seed: (UInt64(n) &* 1_000_003 &+ UInt64(encounterIndex)) ^ 0x9E37_79B9_7F4A_7C15)
                let drugs = (chronic.map(\.code) + [diagnosis.0]).compactMap { SwedishLists.medications[$0]?.first }
                out += wardMedication(eid: eid, pid: pid, doctor: doctor, start: start, end: end, ongoing: daysAgo < 1,
                                      reason: diagnosis.1, drugs: drugs, random: &ward)
            }
        }
        // Booked appointments: some patients have one or two ahead.
        for a in 0..<(random.chance(0.25) ? random.int(1...2) : 0) {
            let start = instant(daysAgo: -random.int(1...120), random: &random)
            out.append(object([
                ("resourceType", .string("Appointment")), ("id", .string("\(pid)-appt-\(a + 1)")),
                ("status", .string("booked")),
                ("serviceType", .array([concept("http://snomed.info/sct", "394802001", "Allmänmedicin")])),
                ("start", .string(start)), ("end", .string(Self.addMinutes(start, 30))),
                ("participant", .array([
                    .object(JSONObject([("actor", reference("Patient/\(pid)")), ("status", .string("accepted"))])),
                    .object(JSONObject([("actor", reference("Practitioner/\(doctor)")), ("status", .string("accepted"))])),
                ])),
            ]))
        }
        return tagged(out, primaryCare: primaryCare)
    }

    /// Inpatient ordinations with structured dosages (distinct substances, and paracetamol vid behov at
    /// half the stays), and one MedicationAdministration per planned dose of each day of the stay (at most
    /// nine days): given, or now and then not given with the reason.
    private func wardMedication(eid: String, pid: String, doctor: String, start: String, end: String, ongoing: Bool, reason: String,
                                drugs: [(code: String, name: String, dose: String)], random: inout SeededRandom) -> [JSONObject] {
        var chosen: [(code: String, name: String)] = []
        for drug in drugs where !chosen.contains(where: { $0.code == drug.code }) && chosen.count < 3 { chosen.append((drug.code, drug.name)) }
        if random.chance(0.5), !chosen.contains(where: { $0.code == "N02BE01" }) { chosen.append(("N02BE01", "Paracetamol")) }
        func day(_ instant: String) -> Int? {
            let parts = instant.prefix(10).split(separator: "-").compactMap { Int($0) }
            return parts.count == 3 ? CivilCalendar.daysSince1970(year: parts[0], month: parts[1], day: parts[2]) : nil
        }
        guard let first = day(start), let last = day(end) else { return [] }
        var out: [JSONObject] = []
        for (index, drug) in chosen.enumerated() {
            guard let dosage = SwedishLists.wardDosages[drug.code] else { continue }
            let rid = "\(eid)-ord-\(index + 1)"
            let quantity = JSONValue.object(JSONObject([("value", .number(dosage.value == dosage.value.rounded() ? String(Int(dosage.value)) : String(dosage.value))),
                                                        ("unit", .string(dosage.unit))]))
            var repeating: [(String, JSONValue)] = [("boundsPeriod", .object(JSONObject([("start", .string(start))] + (ongoing ? [] : [("end", .string(end))]))))]
            var instruction: [(String, JSONValue)] = [("route", .object(JSONObject([("text", .string(dosage.unit == "inhalation" ? "Inhalation" : "Oralt"))])))]
            if dosage.when.isEmpty {
                instruction.append(("asNeededCodeableConcept", .object(JSONObject([("text", .string(dosage.indication ?? "vid behov"))]))))
                instruction.append(("maxDosePerPeriod", .object(JSONObject([
                    ("numerator", .object(JSONObject([("value", .number(String(dosage.maxPerDay))), ("unit", .string("dos"))]))),
                    ("denominator", .object(JSONObject([("value", .number("1")), ("unit", .string("dygn")), ("system", .string("http://unitsofmeasure.org")), ("code", .string("d"))]))),
                ]))))
            } else {
                repeating.append(("when", .array(dosage.when.map(JSONValue.string))))
            }
            instruction.append(("timing", .object(JSONObject([("repeat", .object(JSONObject(repeating.map { (key: $0.0, value: $0.1) })))]))))
            instruction.append(("doseAndRate", .array([.object(JSONObject([("doseQuantity", quantity)]))])))
            out.append(object([
                ("resourceType", .string("MedicationRequest")), ("id", .string(rid)),
                ("status", .string(ongoing ? "active" : "completed")), ("intent", .string("order")),
                ("category", .array([concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "inpatient", "Inpatient")])),
                ("medicationCodeableConcept", concept(SwedishLists.atc, drug.code, drug.name)),
                ("subject", reference("Patient/\(pid)")), ("encounter", reference("Encounter/\(eid)")),
                ("authoredOn", .string(start)), ("requester", reference("Practitioner/\(doctor)")),
                ("reasonCode", .array([.object(JSONObject([("text", .string(reason))]))])),
                ("dosageInstruction", .array([.object(JSONObject(instruction.map { (key: $0.0, value: $0.1) }))])),
            ]))
            // Vid behov: a dose on some days; scheduled: every planned time of every day of the stay.
            var given = 0
            for dayNumber in first...min(last, first + 8) {
                let (y, m, d) = CivilCalendar.date(fromDaysSince1970: dayNumber)
                let date = String(format: "%04d-%02d-%02d", y, m, d)
                let times = dosage.when.isEmpty ? (random.chance(0.4) ? ["14:00"] : []) : dosage.when.compactMap { SwedishLists.wardTimes[$0] }
                for time in times {
                    let planned = "\(date)T\(time):00+01:00"
                    guard planned >= String(start.prefix(16)), ongoing || planned <= end else { continue }
                    given += 1
                    let refused = random.chance(0.04)
                    var members: [(String, JSONValue)] = [
                        ("resourceType", .string("MedicationAdministration")), ("id", .string("\(rid)-dos-\(given)")),
                    ]
                    if !dosage.when.isEmpty {
                        members.append(("extension", .array([.object(JSONObject([("url", .string("https://karna.se/fhir/StructureDefinition/planerad-tid")),
                                                                                ("valueDateTime", .string(planned))]))])))
                    }
                    members += [
                        ("status", .string(refused ? "not-done" : "completed")),
                        ("medicationCodeableConcept", concept(SwedishLists.atc, drug.code, drug.name)),
                        ("subject", reference("Patient/\(pid)")), ("context", reference("Encounter/\(eid)")),
                        ("effectiveDateTime", .string(Self.addMinutes(planned, random.int(0...20)))),
                        ("performer", .array([.object(JSONObject([("actor", reference("Practitioner/\(doctor)"))]))])),
                        ("request", reference("MedicationRequest/\(rid)")),
                        ("dosage", .object(JSONObject([("dose", quantity)]))),
                    ]
                    if refused { members.append(("statusReason", .array([.object(JSONObject([("text", .string("Patienten avböjde"))]))]))) }
                    out.append(object(members))
                }
            }
        }
        return out
    }

    /// The `meta.tag` system naming the care unit (vårdenhet) that made a record, as the access gateway reads it.
    public static let careUnitTag = "https://karna.se/fhir/CodeSystem/vardenhet"

    /// Tags every record with the unit that made it: the encounter's serving unit for what belongs to an
    /// encounter, the patient's primary-care centre for the rest, so a spärr on a unit hides the right records.
    private func tagged(_ resources: [JSONObject], primaryCare: String) -> [JSONObject] {
        var unitOfEncounter: [String: String] = [:]
        for resource in resources where resource.resourceType == "Encounter" {
            if let id = resource["id"]?.stringValue, let unit = resource["serviceProvider"]?.objectValue?["reference"]?.stringValue?.split(separator: "/").last {
                unitOfEncounter[id] = String(unit)
            }
        }
        return resources.map { resource in
            let encounter = resource["encounter"]?.objectValue?["reference"]?.stringValue?.split(separator: "/").last.map(String.init)
                ?? (resource.resourceType == "Encounter" ? resource["id"]?.stringValue : nil)
            let unit = encounter.flatMap { unitOfEncounter[$0] } ?? primaryCare
            var tagged = resource
            let tag = JSONValue.object(JSONObject([("system", .string(Self.careUnitTag)), ("code", .string(unit))]))
            tagged.set("meta", .object(JSONObject([("tag", .array([tag]))])), insertingAt: 2)
            return tagged
        }
    }

    // MARK: Resource builders

    private func bloodPressure(_ id: String, _ pid: String, _ eid: String, _ time: String, _ systolic: Int, _ diastolic: Int) -> JSONObject {
        func component(_ code: String, _ display: String, _ value: Int) -> JSONValue {
            .object(JSONObject([("code", concept("http://loinc.org", code, display)), ("valueQuantity", quantity(Double(value), "mmHg", "mm[Hg]", decimals: 0))]))
        }
        return object([
            ("resourceType", .string("Observation")), ("id", .string(id)), ("status", .string("final")),
            ("category", .array([concept("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")])),
            ("code", concept("http://loinc.org", "85354-9", "Blood pressure panel")),
            ("subject", reference("Patient/\(pid)")), ("encounter", reference("Encounter/\(eid)")), ("effectiveDateTime", .string(time)),
            ("component", .array([component("8480-6", "Systolic blood pressure", systolic), component("8462-4", "Diastolic blood pressure", diastolic)])),
        ])
    }

    private func vital(_ id: String, _ pid: String, _ eid: String, _ time: String, _ code: String, _ display: String, _ value: Double,
                       _ unit: String, _ unitText: String, decimals: Int) -> JSONObject {
        object([
            ("resourceType", .string("Observation")), ("id", .string(id)), ("status", .string("final")),
            ("category", .array([concept("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")])),
            ("code", concept("http://loinc.org", code, display)),
            ("subject", reference("Patient/\(pid)")), ("encounter", reference("Encounter/\(eid)")), ("effectiveDateTime", .string(time)),
            ("valueQuantity", quantity(value, unitText, unit, decimals: decimals)),
        ])
    }

    private func lab(_ id: String, _ pid: String, _ eid: String, _ time: String,
                     _ test: (code: String, name: String, unit: String, low: Double, high: Double, mean: Double, spread: Double, decimals: Int),
                     _ value: Double) -> JSONObject {
        let interpretation = value < test.low ? ("L", "Low") : value > test.high ? ("H", "High") : ("N", "Normal")
        return object([
            ("resourceType", .string("Observation")), ("id", .string(id)), ("status", .string("final")),
            ("category", .array([concept("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")])),
            ("code", concept(SwedishLists.npu, test.code, test.name)),
            ("subject", reference("Patient/\(pid)")), ("encounter", reference("Encounter/\(eid)")), ("effectiveDateTime", .string(time)),
            ("valueQuantity", quantity(value, test.unit, test.unit, decimals: test.decimals)),
            ("interpretation", .array([concept("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", interpretation.0, interpretation.1)])),
            ("referenceRange", .array([.object(JSONObject([("low", quantity(test.low, test.unit, test.unit, decimals: test.decimals)),
                                                            ("high", quantity(test.high, test.unit, test.unit, decimals: test.decimals))]))])),
        ])
    }

    private func object(_ members: [(String, JSONValue)]) -> JSONObject { JSONObject(members.map { (key: $0.0, value: $0.1) }) }

    private func identifier(_ system: String, _ value: String) -> JSONValue {
        .object(JSONObject([("system", .string(system)), ("value", .string(value))]))
    }

    private func reference(_ target: String) -> JSONValue { .object(JSONObject([("reference", .string(target))])) }

    private func concept(_ system: String, _ code: String, _ display: String?) -> JSONValue {
        var coding = JSONObject([("system", .string(system)), ("code", .string(code))])
        if let display { coding["display"] = .string(display) }
        var concept = JSONObject([("coding", .array([.object(coding)]))])
        if let display { concept["text"] = .string(display) }
        return .object(concept)
    }

    private func quantity(_ value: Double, _ unit: String, _ code: String, decimals: Int) -> JSONValue {
        .object(JSONObject([("value", .number(String(format: "%.\(decimals)f", value))), ("unit", .string(unit)),
                            ("system", .string("http://unitsofmeasure.org")), ("code", .string(code))]))
    }

    private func address(street: String, postal: String, city: String, use: String = "home") -> JSONValue {
        .object(JSONObject([("use", .string(use)), ("line", .array([.string(street)])), ("postalCode", .string(postal)),
                            ("city", .string(city)), ("country", .string("SE"))]))
    }

    /// A time of day in office hours, `daysAgo` days before the reference day, in Swedish local time.
    private func instant(daysAgo: Int, random: inout SeededRandom) -> String {
        let reference = CivilCalendar.daysSince1970(year: Self.referenceDay.year, month: Self.referenceDay.month, day: Self.referenceDay.day)
        let (y, m, d) = CivilCalendar.date(fromDaysSince1970: reference - daysAgo)
        return String(format: "%04d-%02d-%02dT%02d:%02d:00+01:00", y, m, d, random.int(7...16), random.int(0...11) * 5)
    }

    static func addMinutes(_ instant: String, _ minutes: Int) -> String {
        guard let t = FHIRPathTemporal.parse(instant) else { return instant }
        return t.adding(milliseconds: minutes * 60_000).literal
    }

    private func slug(_ name: String) -> String {
        SearchText.fold(name).replacingOccurrences(of: "{", with: "a").replacingOccurrences(of: "|", with: "a").replacingOccurrences(of: "}", with: "o")
    }

    /// A personnummer (12 digits with separator) with its Luhn check digit.
    static func personalNumber(year: Int, month: Int, day: Int, serial: Int) -> String {
        let yymmdd = String(format: "%02d%02d%02d", year % 100, month, day)
        let serialText = String(format: "%03d", serial)
        let nine = (yymmdd + serialText).compactMap { $0.wholeNumberValue }
        let check = SwedishPersonalIdentity.luhnCheckDigit(nine)
        return String(format: "%04d%02d%02d-", year, month, day) + serialText + String(check)
    }
}
