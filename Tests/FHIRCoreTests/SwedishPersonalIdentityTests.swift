@testable import FHIRCore
import Testing

@Suite("Personnummer and samordningsnummer")
struct SwedishPersonalIdentityTests {
    let today = (year: 2026, month: 11, day: 22)

    /// Skatteverket SKV 704: all common written forms mean the same number.
    @Test(arguments: ["19121212-1212", "191212121212", "121212+1212", " 121212+1212 "])
    func everyCommonFormParsesToTheCanonicalForm(text: String) throws {
        let id = try SwedishPersonalIdentity(text, today: today)
        #expect(id.canonical == "191212121212")
        #expect(id.kind == .personnummer)
        #expect(id.formatted == "19121212-1212")
    }

    /// A ten-digit number means the most recent matching year; '+' means a hundred years earlier.
    @Test func centuryFollowsTheSeparator() throws {
        #expect(try SwedishPersonalIdentity("121212-1212", today: today).canonical == "201212121212")
        #expect(try SwedishPersonalIdentity("1212121212", today: today).birthYear == 2012)
        #expect(try SwedishPersonalIdentity("121212+1212", today: today).birthYear == 1912)
        #expect(try SwedishPersonalIdentity("811218-9876", today: today).birthYear == 1981)
    }

    /// Samordningsnummer: day of birth plus 60 (SKV 707).
    @Test func samordningsnummerAddsSixtyToTheDay() throws {
        let id = try SwedishPersonalIdentity("701063-2391", today: today)
        #expect(id.kind == .samordningsnummer)
        #expect(id.birthDay == 3)
        #expect(id.kind.oid == "1.2.752.129.2.1.3.3")
    }

    @Test(arguments: ["19121212-1213", "191313121212", "19120230-1212", "1212", "19121212-12a2", "20301212-1212", "121212+-1212"])
    func invalidNumbersAreRefusedWithAReason(text: String) {
        #expect(throws: SwedishPersonalIdentity.ParseError.self) { try SwedishPersonalIdentity(text, today: today) }
    }

    @Test func luhnCheckDigit() {
        #expect(SwedishPersonalIdentity.luhnCheckDigit([1, 2, 1, 2, 1, 2, 1, 2, 1]) == 2)
        #expect(SwedishPersonalIdentity.luhnCheckDigit([8, 1, 1, 2, 1, 8, 9, 8, 7]) == 6)
    }
}
