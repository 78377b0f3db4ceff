import FHIRCore
import Testing

/// Issue 22, item 1: a narrative is shown by every client that reads the record; only safe XHTML is stored.
@Suite("Narrative XHTML rules (txt-1, txt-2)")
struct NarrativeRulesTests {
    static let ns = #"xmlns="http://www.w3.org/1999/xhtml""#

    @Test("R4's basic formatting, tables, images, character references and comments are accepted")
    func safeNarrativesPass() {
        let good = [
            "<div \(Self.ns)><p>Blodtryck <b>140/90</b> mmHg</p></div>",
            "<div \(Self.ns)>\n  <table><tr><th scope=\"col\">Analys</th><td colspan=\"2\">5&#160;mmol/l &lt; 6</td></tr></table>\n</div>",
            "<div \(Self.ns) lang=\"sv\" xml:lang=\"sv\"><a href=\"https://example.org/x\">länk</a><br/><!-- kommentar --></div>",
            "<div \(Self.ns)><img src=\"#bild\" alt=\"\"/></div>",
            "<div \(Self.ns)><span style=\"color: red\">Allergi</span></div>",
        ]
        for xhtml in good { #expect(NarrativeRules.problem(xhtml) == nil, "\(xhtml)") }
    }

    @Test("scripts, event handlers, executing links, malformed XML and a missing namespace are refused, naming what is wrong")
    func unsafeNarrativesAreRefused() {
        let bad: [(String, String)] = [
            ("<div \(Self.ns)><script>alert(1)</script></div>", "<script>"),
            ("<div \(Self.ns)><p onclick=\"alert(1)\">x</p></div>", "'onclick'"),
            ("<div \(Self.ns)><a href=\" java&#x09;script:alert(1)\">x</a></div>", "runs code"),
            ("<div \(Self.ns)><a href=\"JAVASCRIPT:alert(1)\">x</a></div>", "runs code"),
            ("<div \(Self.ns)><p style=\"width: expression(alert(1))\">x</p></div>", "CSS"),
            ("<div \(Self.ns)><iframe src=\"https://example.org\"></iframe></div>", "<iframe>"),
            ("<div \(Self.ns)><form><input/></form></div>", "<form>"),
            ("<div \(Self.ns)><p>x</div>", "</div> closes <p>"),
            ("<div \(Self.ns)><p>x</p>", "never closed"),
            ("<div \(Self.ns)>a &nbsp; b</div>", "&nbsp;"),
            ("<div \(Self.ns)>a & b</div>", "&amp;"),
            ("<div>x</div>", "XHTML namespace"),
            ("<div xmlns=\"http://example.org\">x</div>", "XHTML namespace"),
            ("<div \(Self.ns)>   </div>", "txt-2"),
            ("<p \(Self.ns)>x</p>", "single <div>"),
            ("<div \(Self.ns)>x</div><div \(Self.ns)>y</div>", "after the root element"),
            ("<div \(Self.ns)><p id=\"a\" id=\"b\">x</p></div>", "twice"),
            ("<div \(Self.ns)><!DOCTYPE html>x</div>", "declarations"),
            ("<div \(Self.ns)><p><svg xmlns=\"http://www.w3.org/2000/svg\"/></p></div>", "<svg>"),
        ]
        for (xhtml, says) in bad {
            let problem = NarrativeRules.problem(xhtml)
            #expect(problem?.contains(says) == true, "\(xhtml) → \(problem ?? "accepted")")
        }
    }

    @Test("the validator reports a bad narrative at its path, and never quotes the narrative's text")
    func validatorReportsThePath() throws {
        let patient = #"{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Anna Svensson<script>steal()</script></div>"}}"#
        let issues = ResourceValidator().validate(try JSONParser.parse(patient))
        #expect(issues.map(\.expression) == [["Patient.text.div"]])
        #expect(issues.first?.diagnostics.contains("<script>") == true)
        #expect(issues.first?.diagnostics.contains("Anna") == false)
    }
}
