import FHIRCore
import SyntheticPopulation
import Testing

@Suite("Synthetic population") struct RegionGeneratorTests {
    let generator = RegionGenerator(seed: 7, patientCount: 2000)

    @Test func theSameSeedGivesTheSameRegionAndAnotherSeedAnother() {
        let again = RegionGenerator(seed: 7, patientCount: 2000)
        let other = RegionGenerator(seed: 8, patientCount: 2000)
        for n in [0, 17, 1999] {
            #expect(generator.patient(n).map { JSONWriter.bytes(.object($0)) } == again.patient(n).map { JSONWriter.bytes(.object($0)) })
            #expect(generator.patient(n).map { JSONWriter.bytes(.object($0)) } != other.patient(n).map { JSONWriter.bytes(.object($0)) })
        }
        #expect(generator.organisations().map { JSONWriter.bytes(.object($0)) } == again.organisations().map { JSONWriter.bytes(.object($0)) })
    }

    @Test func everyResourceIsValidR4() {
        let validator = ResourceValidator()
        var resources = generator.organisations()
        for n in 0..<200 { resources += generator.patient(n) }
        for resource in resources {
            let issues = validator.validate(.object(resource))
            #expect(issues.isEmpty, "\(resource.resourceType ?? "")/\(resource["id"]?.stringValue ?? ""): \(issues.map(\.diagnostics))")
        }
    }

    @Test func personalNumbersAreValidUniqueAndSomeAreCoordinationNumbers() throws {
        var seen = Set<String>()
        var coordination = 0
        for n in 0..<2000 {
            let patient = try #require(generator.patient(n).first)
            let identifier = try #require(patient["identifier"]?.arrayValue?.first?.objectValue)
            let value = try #require(identifier["value"]?.stringValue)
            let identity = try SwedishPersonalIdentity(value)
            #expect(seen.insert(identity.canonical).inserted, "duplicate \(value)")
            if identity.kind == .samordningsnummer {
                coordination += 1
                #expect(identifier["system"]?.stringValue == SwedishPersonalIdentity.samordningsnummerSystem)
            }
            // The ninth digit is odd for men, even for women.
            let ninth = try #require(identity.canonical.dropFirst(10).first?.wholeNumberValue)
            #expect((ninth % 2 == 1) == (patient["gender"]?.stringValue == "male"))
        }
        #expect(coordination > 10 && coordination < 100)
        // Patients sharing a serial number (n ≡ k mod 500) are the ones that could collide: all must differ.
        var sameSerial = Set<String>()
        for k in 0..<3 {
            for j in 0..<365 {
                let patient = try #require(generator.patient(k + 500 * j).first)
                let value = try #require(patient["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
                #expect(sameSerial.insert(try SwedishPersonalIdentity(value).canonical).inserted, "duplicate \(value) for patient \(k + 500 * j)")
            }
        }
    }

    @Test("a region of 1.8 million: patients a cycle of slots apart, the demo cast among them, never share a personnummer, and the pyramid keeps its shape")
    func personalNumbersStayUniqueBeyondOneCycle() throws {
        let region = RegionGenerator(seed: 1, patientCount: 1_800_000)
        let cycles = 10
        let referenceYear = RegionGenerator.referenceDay.year
        // The slots of the first 40 patients (the demo cast among them) and a spread of others, in every cycle.
        let slots = Array(0..<40) + stride(from: 40, to: RegionGenerator.patientsPerCycle, by: 997)
        var ages: [Int] = []
        for slot in slots {
            var seen: [String: Int] = [:]
            for cycle in 0..<cycles {
                let n = slot + cycle * RegionGenerator.patientsPerCycle
                let patient = try #require(region.patient(n).first)
                let value = try #require(patient["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
                let identity = try SwedishPersonalIdentity(value)
                if let earlier = seen.updateValue(n, forKey: identity.canonical) {
                    Issue.record("patients \(earlier) and \(n) share \(value)")
                }
                let birth = try #require(patient["birthDate"]?.stringValue)
                #expect(birth <= "2026-06-30", "patient \(n) born \(birth), after the reference day")
                ages.append(referenceYear - (Int(birth.prefix(4)) ?? 0))
            }
        }
        // The demo cast keeps its ages (pat-1 is cast at 72 in SwedishLists.demoCast).
        let cast = try #require(region.patient(0).first?["birthDate"]?.stringValue)
        #expect(cast.hasPrefix(String(referenceYear - 72)))
        // Moving a year down to its cycle's nearest year shifts ages by under ten years: the young and old stay.
        let children = ages.filter { $0 < 18 }.count, elderly = ages.filter { $0 >= 80 }.count
        #expect(Double(children) / Double(ages.count) > 0.12, "\(children) children of \(ages.count)")
        #expect(Double(elderly) / Double(ages.count) > 0.02, "\(elderly) over 80 of \(ages.count)")
        #expect(ages.allSatisfy { $0 <= 104 + cycles * 2 })
    }

    @Test func afewPatientsUseMostCare() {
        let sizes = (0..<2000).map { generator.patient($0).count }.sorted()
        let median = sizes[sizes.count / 2]
        let top = sizes.suffix(20).reduce(0, +) / 20
        #expect(median >= 2 && median <= 20, "median \(median)")
        #expect(top > median * 8, "top 1 % average \(top), median \(median)")
        #expect(sizes.first == 1)   // some have no visits at all
    }

    @Test("diagnoses a clinician believes: no chronic adult disease in children, prevalence rising with age, not the same list for everyone")
    func diagnosesFitAgeAndSex() throws {
        var children = 0, childrenWithAdultDisease = 0, old = 0, oldWithHypertension = 0
        var problemLists = Set<[String]>(), withProblems = 0
        for n in 0..<2000 {
            let resources = generator.patient(n)
            let patient = resources[0]
            let born = Int(patient["birthDate"]?.stringValue?.prefix(4) ?? "") ?? 0
            let age = RegionGenerator.referenceDay.year - born
            let codes = resources.filter { $0.resourceType == "Condition" }.compactMap { $0["code"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue }
            let problems = resources.filter { $0.resourceType == "Condition" && $0["category"]?.arrayValue?.first?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue == "problem-list-item" }
                .compactMap { $0["code"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue }.sorted()
            if !problems.isEmpty { withProblems += 1; problemLists.insert(problems) }
            if age < 18 {
                children += 1
                if codes.contains(where: { ["I10", "E11.9", "I48.9", "R07.4"].contains($0) }) { childrenWithAdultDisease += 1 }
            }
            if age >= 65 {
                old += 1
                if problems.contains("I10") { oldWithHypertension += 1 }
            }
        }
        #expect(children > 200 && childrenWithAdultDisease == 0, "\(childrenWithAdultDisease) of \(children) children with hypertension, type 2 diabetes, atrial fibrillation or chest pain")
        let share = Double(oldWithHypertension) / Double(old)
        #expect(share > 0.35 && share < 0.7, "hypertension in \(Int(share * 100)) % of those 65 and older")
        #expect(withProblems > 300 && withProblems < 1400, "\(withProblems) of 2,000 with a chronic condition")
        #expect(problemLists.count >= 12, "only \(problemLists.count) different problem lists")
    }
}

@Suite("Seeded medication histories")
struct SeededMedicationTests {
    @Test("inpatient stays carry ordinations with structured dosages and the doses given under them, each within the stay")
    func stays() throws {
        let generator = RegionGenerator(seed: 1, patientCount: 3000)
        var orders = 0, doses = 0, notGiven = 0, asNeeded = 0
        for n in 0..<3000 {
            let records = generator.patient(n)
            let stays = Dictionary(records.filter { $0.resourceType == "Encounter" }.map { ($0["id"]?.stringValue ?? "", $0) }, uniquingKeysWith: { a, _ in a })
            let ordinations = Dictionary(records.filter { $0.resourceType == "MedicationRequest" && $0["id"]?.stringValue?.contains("-ord-") == true }
                .map { ($0["id"]?.stringValue ?? "", $0) }, uniquingKeysWith: { a, _ in a })
            for (_, order) in ordinations {
                orders += 1
                let dosage = try #require(order["dosageInstruction"]?.arrayValue?.first?.objectValue)
                #expect(dosage["doseAndRate"]?.arrayValue?.first?.objectValue?["doseQuantity"] != nil)
                #expect(dosage["route"] != nil && order["reasonCode"] != nil && order["requester"] != nil)
                if dosage["asNeededCodeableConcept"] != nil { asNeeded += 1; #expect(dosage["maxDosePerPeriod"] != nil) }
                let stay = try #require(stays[order["encounter"]?.objectValue?["reference"]?.stringValue?.split(separator: "/").last.map(String.init) ?? ""])
                #expect(stay["class"]?.objectValue?["code"]?.stringValue == "IMP")
            }
            for dose in records where dose.resourceType == "MedicationAdministration" {
                doses += 1
                let order = try #require(ordinations[dose["request"]?.objectValue?["reference"]?.stringValue?.split(separator: "/").last.map(String.init) ?? ""])
                let stay = try #require(stays[order["encounter"]?.objectValue?["reference"]?.stringValue?.split(separator: "/").last.map(String.init) ?? ""])
                let given = try #require(dose["effectiveDateTime"]?.stringValue)
                let period = try #require(stay["period"]?.objectValue)
                #expect(String(given.prefix(10)) >= String((period["start"]?.stringValue ?? "").prefix(10)))
                if dose["status"]?.stringValue == "not-done" { notGiven += 1; #expect(dose["statusReason"] != nil) }
            }
        }
        #expect(orders > 100 && doses > orders * 3 && asNeeded > 10 && notGiven > 0, "\(orders) ordinations, \(doses) doses, \(asNeeded) vid behov, \(notGiven) not given")
    }
}
