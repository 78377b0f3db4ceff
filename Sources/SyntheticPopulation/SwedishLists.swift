/// Name, place and code lists for the fictional Region Kärnland, with
/// weights that follow Statistics Sweden's name frequencies in shape.
enum SwedishLists {
    static let surnames: [(String, Double)] = [
        ("Andersson", 228), ("Johansson", 225), ("Karlsson", 195), ("Nilsson", 158), ("Eriksson", 138), ("Larsson", 112),
        ("Olsson", 104), ("Persson", 96), ("Svensson", 91), ("Gustafsson", 90), ("Pettersson", 88), ("Jonsson", 59),
        ("Jansson", 44), ("Hansson", 40), ("Bengtsson", 32), ("Jönsson", 30), ("Lindberg", 27), ("Jakobsson", 26),
        ("Magnusson", 26), ("Lindström", 25), ("Olofsson", 24), ("Lindqvist", 24), ("Lindgren", 24), ("Berg", 22),
        ("Axelsson", 22), ("Bergström", 22), ("Lundberg", 22), ("Lind", 21), ("Lundgren", 21), ("Lundqvist", 20),
        ("Mattsson", 20), ("Berglund", 19), ("Fredriksson", 18), ("Sandberg", 18), ("Henriksson", 18), ("Forsberg", 17),
        ("Sjöberg", 17), ("Ali", 17), ("Wallin", 16), ("Mohammed", 16), ("Engström", 16), ("Eklund", 15), ("Danielsson", 15),
        ("Lundin", 15), ("Håkansson", 15), ("Björk", 14), ("Bergman", 14), ("Gunnarsson", 14), ("Holm", 14), ("Wikström", 14),
        ("Samuelsson", 13), ("Isaksson", 13), ("Fransson", 13), ("Bergqvist", 13), ("Nordström", 13), ("Björklund", 12),
        ("Åberg", 9), ("Öberg", 9), ("Ahmed", 12), ("Hassan", 11), ("Nyström", 11), ("Holmberg", 11), ("Arvidsson", 11),
        ("Claesson", 10), ("Nyberg", 10), ("Söderberg", 10), ("Löfgren", 8), ("Åkesson", 7), ("Ström", 7), ("Hedlund", 8),
    ]
    static let femaleNames: [(String, Double)] = [
        ("Anna", 100), ("Eva", 90), ("Maria", 88), ("Karin", 75), ("Sara", 55), ("Christina", 55), ("Lena", 55), ("Emma", 52),
        ("Kerstin", 50), ("Marie", 48), ("Malin", 40), ("Ingrid", 40), ("Linnéa", 35), ("Sofia", 35), ("Hanna", 34),
        ("Elin", 33), ("Ida", 30), ("Julia", 30), ("Åsa", 28), ("Elsa", 25), ("Maja", 25), ("Astrid", 22), ("Ebba", 22),
        ("Alice", 22), ("Märta", 10), ("Agnes", 14), ("Birgitta", 30), ("Margareta", 30), ("Ulla", 20), ("Fatima", 10),
    ]
    static let maleNames: [(String, Double)] = [
        ("Lars", 100), ("Mikael", 95), ("Anders", 95), ("Johan", 90), ("Erik", 90), ("Per", 80), ("Karl", 78), ("Peter", 75),
        ("Thomas", 70), ("Jan", 70), ("Daniel", 60), ("Fredrik", 55), ("Hans", 52), ("Andreas", 50), ("Stefan", 48),
        ("Mohamed", 25), ("Mats", 40), ("Oskar", 35), ("Bengt", 35), ("Åke", 25), ("Göran", 30), ("Björn", 28), ("Nils", 28),
        ("William", 25), ("Liam", 20), ("Olle", 15), ("Noah", 18), ("Hugo", 20), ("Elias", 18), ("Jörgen", 12),
    ]
    static let streets = ["Storgatan", "Kyrkogatan", "Drottninggatan", "Skolgatan", "Järnvägsgatan", "Ängsvägen", "Björkvägen",
                          "Södra vägen", "Norra Strandgatan", "Tallstigen", "Hamngatan", "Parkvägen", "Åsvägen", "Östra Långgatan",
                          "Kvarngatan", "Lärkvägen", "Sjövägen", "Backvägen", "Älvgatan", "Torggatan"]
    /// Localities of the fictional region, with population weights and a postal code prefix.
    static let localities: [(name: String, weight: Double, postal: Int)] = [
        ("Kärnstad", 40, 411), ("Älvby", 14, 451), ("Sjöstad", 12, 461), ("Norrhamn", 8, 471), ("Åsby", 6, 441),
        ("Björkö", 4, 475), ("Östermark", 5, 431), ("Lillvik", 3, 442), ("Granudden", 3, 463), ("Tallmo", 3, 452),
        ("Storbacka", 2, 464), ("Fjällbyn", 1, 454),
    ]
    static let hospitals = [("Kärnlands universitetssjukhus", "Kärnstad"), ("Älvby lasarett", "Älvby"), ("Sjöstads sjukhus", "Sjöstad")]
    static let wards = ["Akutmottagningen", "Medicinavdelning 1", "Kirurgavdelning 2", "Barn- och ungdomsmedicin",
                        "Förlossning och BB", "Geriatriken", "Kardiologen", "Ortopedmottagningen"]

    /// A chronic condition and how common it is by age and sex: the share of people with it, in age bands
    /// (the lower bound of each band), from public Swedish figures, rounded: hypertension from
    /// Folkhälsomyndigheten's national public health survey (about a quarter of adults, rising with age);
    /// type 2 diabetes from the National Diabetes Register (about 5 % of the population, most after 50);
    /// asthma from the Swedish asthma and allergy reports (about 8 % of children and adults); atrial
    /// fibrillation from population studies (about 3 % of adults, 10–15 % after 75); depression from
    /// Socialstyrelsen's prevalence figures (more common in women).
    struct Chronic: Sendable {
        let code: String
        let display: String
        let minimumAge: Int
        /// (age from, share for women, share for men), ascending by age.
        let bands: [(from: Int, female: Double, male: Double)]

        func prevalence(_ age: Int, _ female: Bool) -> Double {
            guard age >= minimumAge, let band = bands.last(where: { $0.from <= age }) else { return 0 }
            return female ? band.female : band.male
        }
    }

    static let chronicConditions: [Chronic] = [
        Chronic(code: "I10", display: "Essentiell hypertoni", minimumAge: 18,
                bands: [(18, 0.03, 0.05), (35, 0.08, 0.12), (45, 0.18, 0.24), (55, 0.32, 0.38), (65, 0.48, 0.50), (75, 0.60, 0.58)]),
        Chronic(code: "E11.9", display: "Diabetes mellitus typ 2 utan komplikationer", minimumAge: 25,
                bands: [(25, 0.005, 0.008), (40, 0.025, 0.04), (50, 0.05, 0.08), (65, 0.10, 0.15), (75, 0.12, 0.17)]),
        Chronic(code: "J45.9", display: "Astma, ospecificerad", minimumAge: 3,
                bands: [(3, 0.06, 0.09), (13, 0.08, 0.07), (20, 0.09, 0.07), (65, 0.08, 0.07)]),
        Chronic(code: "I48.9", display: "Förmaksflimmer och förmaksfladder, ospecificerat", minimumAge: 40,
                bands: [(40, 0.005, 0.01), (55, 0.02, 0.04), (65, 0.05, 0.08), (75, 0.11, 0.15), (85, 0.16, 0.20)]),
        Chronic(code: "F32.9", display: "Depressiv episod, ospecificerad", minimumAge: 13,
                bands: [(13, 0.04, 0.02), (18, 0.07, 0.04), (65, 0.05, 0.03)]),
    ]

    /// An acute complaint and who it fits: the ages it is seen at, and the sex if it is one sex's.
    struct Acute: Sendable {
        let code: String
        let display: String
        let ages: ClosedRange<Int>
        let femaleOnly: Bool

        init(_ code: String, _ display: String, ages: ClosedRange<Int> = 0...120, femaleOnly: Bool = false) {
            (self.code, self.display, self.ages, self.femaleOnly) = (code, display, ages, femaleOnly)
        }

        func fits(_ age: Int, _ female: Bool) -> Bool { ages.contains(age) && (female || !femaleOnly) }
    }

    /// Acute diagnoses of a visit with how often a visit carries them (among those the patient fits).
    static let acuteDiagnoses: [(Acute, Double)] = [
        (Acute("J06.9", "Akut övre luftvägsinfektion, ospecificerad"), 14), (Acute("M54.5", "Lumbago", ages: 16...120), 8),
        (Acute("N39.0", "Urinvägsinfektion utan angiven lokalisation", ages: 1...120), 6),
        (Acute("R07.4", "Bröstsmärtor, ospecificerade", ages: 18...120), 4), (Acute("S52.5", "Fraktur på distala delen av radius", ages: 4...120), 2),
        (Acute("Z00.0", "Allmän hälsoundersökning"), 9), (Acute("K59.0", "Förstoppning"), 3), (Acute("L30.9", "Dermatit, ospecificerad"), 4),
        (Acute("H66.9", "Otitis media, ospecificerad", ages: 0...12), 6),
    ]

    /// The demo's first ten patients (pat-1…pat-10), cast for the stories the demo journal tells:
    /// age, sex and their chronic conditions (the rest of the region is drawn at random).
    static let demoCast: [Int: (age: Int, female: Bool, chronic: [String])] = [
        0: (72, false, ["I10", "I48.9"]), 1: (31, true, []), 2: (58, false, ["E11.9", "I10"]), 3: (81, true, ["I10"]),
        4: (44, true, ["J45.9"]), 5: (79, false, ["I10"]), 6: (84, true, ["I48.9", "I10"]), 7: (66, false, []),
        8: (36, true, []), 9: (23, false, []),
    ]
    static let icd10SE = "urn:oid:1.2.752.116.1.1.1.1.3"

    /// NPU laboratory tests: code, name, unit, reference range and a typical value spread.
    static let labTests: [(code: String, name: String, unit: String, low: Double, high: Double, mean: Double, spread: Double, decimals: Int)] = [
        ("NPU27300", "B—Hemoglobin A1c (IFCC); stoffkvot", "mmol/mol", 27, 42, 44, 10, 0),
        ("NPU28309", "B—Hemoglobin; masskoncentration", "g/L", 117, 153, 138, 14, 0),
        ("NPU03429", "P—Natrium; substanskoncentration", "mmol/L", 137, 145, 140, 3, 0),
        ("NPU03230", "P—Kalium; substanskoncentration", "mmol/L", 3.5, 4.4, 4.0, 0.4, 1),
        ("NPU04998", "P—Kreatinin; substanskoncentration", "µmol/L", 45, 90, 78, 20, 0),
        ("NPU19748", "P—C-reaktivt protein; masskoncentration", "mg/L", 0, 5, 6, 12, 0),
        ("NPU02192", "P—Glukos; substanskoncentration", "mmol/L", 4.2, 6.0, 5.9, 1.4, 1),
    ]
    static let npu = "urn:oid:1.2.208.176.2.1"

    /// ATC medications with a dose text, by the diagnosis that prompts them.
    static let medications: [String: [(code: String, name: String, dose: String)]] = [
        "I10": [("C09AA05", "Ramipril", "5 mg 1 gång dagligen"), ("C08CA01", "Amlodipin", "5 mg 1 gång dagligen")],
        "E11.9": [("A10BA02", "Metformin", "500 mg 2 gånger dagligen")],
        "J45.9": [("R03AC02", "Salbutamol", "0,1 mg/dos vid behov")],
        "F32.9": [("N06AB06", "Sertralin", "50 mg 1 gång dagligen")],
        "I48.9": [("B01AF02", "Apixaban", "5 mg 2 gånger dagligen"), ("C07AB02", "Metoprolol", "50 mg 1 gång dagligen")],
        "J06.9": [("N02BE01", "Paracetamol", "1 g vid behov, högst 4 g per dygn")],
        "N39.0": [("J01XE01", "Nitrofurantoin", "50 mg 3 gånger dagligen i 5 dagar")],
        "M54.5": [("M01AE01", "Ibuprofen", "400 mg vid behov, högst 3 gånger dagligen")],
    ]
    static let atc = "http://www.whocc.no/atc"

    /// Structured dosages for inpatient ordinations, by ATC code: the dose, its unit, and the ward times
    /// (FHIR `when`) or, empty, vid behov with its indication and most doses a day.
    static let wardDosages: [String: (value: Double, unit: String, when: [String], indication: String?, maxPerDay: Int)] = [
        "C09AA05": (1, "tablett", ["MORN"], nil, 0), "C08CA01": (1, "tablett", ["MORN"], nil, 0),
        "A10BA02": (1, "tablett", ["MORN", "EVE"], nil, 0), "R03AC02": (2, "inhalation", [], "andnöd", 8),
        "N06AB06": (1, "tablett", ["MORN"], nil, 0), "B01AF02": (1, "tablett", ["MORN", "EVE"], nil, 0),
        "C07AB02": (1, "tablett", ["MORN"], nil, 0), "N02BE01": (1000, "mg", [], "smärta eller feber", 4),
        "J01XE01": (1, "tablett", ["MORN", "NOON", "EVE"], nil, 0), "M01AE01": (400, "mg", [], "smärta", 3),
    ]
    /// The ward's clock times of the `when` codes (as Kärna's administration rules ship them).
    static let wardTimes: [String: String] = ["MORN": "08:00", "NOON": "12:00", "EVE": "18:00", "NIGHT": "21:00"]
}
