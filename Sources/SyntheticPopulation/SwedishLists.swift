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

    /// ICD-10-SE diagnoses with how often a visit carries them.
    static let diagnoses: [((String, String), Double)] = [
        (("J06.9", "Akut övre luftvägsinfektion, ospecificerad"), 14), (("I10", "Essentiell hypertoni"), 12),
        (("E11.9", "Diabetes mellitus typ 2 utan komplikationer"), 7), (("M54.5", "Lumbago"), 8),
        (("J45.9", "Astma, ospecificerad"), 5), (("F32.9", "Depressiv episod, ospecificerad"), 5),
        (("N39.0", "Urinvägsinfektion utan angiven lokalisation"), 6), (("I48.9", "Förmaksflimmer och förmaksfladder, ospecificerat"), 3),
        (("R07.4", "Bröstsmärtor, ospecificerade"), 4), (("S52.5", "Fraktur på distala delen av radius"), 2),
        (("Z00.0", "Allmän hälsoundersökning"), 9), (("K59.0", "Förstoppning"), 3), (("L30.9", "Dermatit, ospecificerad"), 4),
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
}
