#!/usr/bin/env python3
"""Writes Kärna's synthetic NPL sample: a small total export and a delta after it, in the layout and XML
form of Läkemedelsverket's NPL product export (Productdata/<nplid>.xml with one npl:medprod each, and the
Lexicondata code lists that name forms and substances).

The products, NPL-ids and package ids are made up (every name ends in "Kärna"): the sample is test and
demo data for `karna drugs import`, not a drug register. The element names follow public NPL 4.x files;
the current schema is not verified (see docs/medication.md).

    python3 scripts/make-npl-sample.py   # rewrites Sources/Terminology/Shipped/npl and the test delta
"""
import os
import shutil
from xml.sax.saxutils import quoteattr, escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOTAL = os.path.join(ROOT, "Sources/Terminology/Shipped/npl/20261201_Total_NPL")
DELTA = os.path.join(ROOT, "Tests/TerminologyTests/Fixtures/npl/20261203_Delta_NPL")

FORMS = {  # lexicon code -> Swedish term
    "TAB": "tablett", "FICOTA": "filmdragerad tablett", "DEPTAB": "depottablett", "CAPS": "kapsel",
    "ORSO": "oral lösning", "INJSO": "injektionsvätska, lösning", "INFSO": "infusionsvätska, lösning",
}
SUBSTANCES = {  # lexicon id -> substance name
    "IDKARNA00000001": "paracetamol", "IDKARNA00000002": "ibuprofen", "IDKARNA00000003": "warfarinnatrium",
    "IDKARNA00000004": "metoprololsuccinat", "IDKARNA00000005": "amlodipin", "IDKARNA00000006": "ramipril",
    "IDKARNA00000007": "metforminhydroklorid", "IDKARNA00000008": "insulin human", "IDKARNA00000009": "heparinnatrium",
    "IDKARNA00000010": "morfinhydroklorid", "IDKARNA00000011": "kaliumklorid", "IDKARNA00000012": "fenoximetylpenicillin",
    "IDKARNA00000013": "nitrofurantoin", "IDKARNA00000014": "sertralin", "IDKARNA00000015": "apixaban",
    "IDKARNA00000016": "ciklosporin", "IDKARNA00000017": "natriumklorid", "IDKARNA00000018": "salbutamol",
}
# nplid, name, form, strength, ATC, substance ids, packages (nplpackid, text), sales stopped
TOTAL_PRODUCTS = [
    ("19990101000017", "Paracetamol Kärna", "TAB", "500 mg", "N02BE01", ["IDKARNA00000001"], [("20000101000019", "100 tablett(er) burk")], False),
    ("19990101000024", "Paracetamol Kärna", "ORSO", "24 mg/ml", "N02BE01", ["IDKARNA00000001"], [("20000101000026", "100 milliliter flaska")], False),
    ("19990101000031", "Ibuprofen Kärna", "FICOTA", "400 mg", "M01AE01", ["IDKARNA00000002"], [("20000101000033", "30 tablett(er) blister")], False),
    ("19990101000048", "Warfarin Kärna", "TAB", "2,5 mg", "B01AA03", ["IDKARNA00000003"], [("20000101000040", "100 tablett(er) burk")], False),
    ("19990101000055", "Metoprolol Kärna", "DEPTAB", "50 mg", "C07AB02", ["IDKARNA00000004"], [("20000101000057", "100 tablett(er) blister")], False),
    ("19990101000062", "Amlodipin Kärna", "TAB", "5 mg", "C08CA01", ["IDKARNA00000005"], [("20000101000064", "98 tablett(er) blister")], False),
    ("19990101000079", "Ramipril Kärna", "CAPS", "5 mg", "C09AA05", ["IDKARNA00000006"], [("20000101000071", "100 kapsel/kapslar blister")], False),
    ("19990101000086", "Metformin Kärna", "FICOTA", "500 mg", "A10BA02", ["IDKARNA00000007"], [("20000101000088", "100 tablett(er) burk")], False),
    ("19990101000093", "Insulin Kärna", "INJSO", "100 E/ml", "A10AB01", ["IDKARNA00000008"], [("20000101000095", "5 x 3 milliliter cylinderampull")], False),
    ("19990101000109", "Heparin Kärna", "INJSO", "5000 E/ml", "B01AB01", ["IDKARNA00000009"], [("20000101000101", "10 x 5 milliliter injektionsflaska")], False),
    ("19990101000116", "Morfin Kärna", "INJSO", "10 mg/ml", "N02AA01", ["IDKARNA00000010"], [("20000101000118", "10 x 1 milliliter ampull")], False),
    ("19990101000123", "Morfin Kärna", "TAB", "10 mg", "N02AA01", ["IDKARNA00000010"], [("20000101000125", "100 tablett(er) burk")], True),
    ("19990101000130", "Kaliumklorid Kärna", "DEPTAB", "750 mg", "A12BA01", ["IDKARNA00000011"], [("20000101000132", "100 tablett(er) burk")], False),
    ("19990101000147", "Fenoximetylpenicillin Kärna", "FICOTA", "1 g", "J01CE02", ["IDKARNA00000012"], [("20000101000149", "20 tablett(er) blister")], False),
    ("19990101000154", "Nitrofurantoin Kärna", "TAB", "50 mg", "J01XE01", ["IDKARNA00000013"], [("20000101000156", "30 tablett(er) burk")], False),
    ("19990101000161", "Sertralin Kärna", "FICOTA", "50 mg", "N06AB06", ["IDKARNA00000014"], [("20000101000163", "100 tablett(er) blister")], False),
    ("19990101000178", "Apixaban Kärna", "FICOTA", "5 mg", "B01AF02", ["IDKARNA00000015"], [("20000101000170", "60 tablett(er) blister")], False),
    ("19990101000185", "Ciklosporin Kärna", "CAPS", "25 mg", "L04AD01", ["IDKARNA00000016"], [("20000101000187", "50 kapsel/kapslar blister")], False),
    ("19990101000192", "Natriumklorid Kärna", "INFSO", "9 mg/ml", "B05BB01", ["IDKARNA00000017"], [("20000101000194", "10 x 1000 milliliter påse")], False),
    ("19990101000208", "Salbutamol Kärna", "ORSO", "2 mg/ml", "R03AC02", ["IDKARNA00000018"], [("20000101000200", "10 x 2,5 milliliter endosbehållare")], False),
]
# The delta: one new strength, one product whose sales stop, one whose package text changes.
DELTA_PRODUCTS = [
    ("19990101000215", "Paracetamol Kärna", "TAB", "1 g", "N02BE01", ["IDKARNA00000001"], [("20000101000217", "100 tablett(er) burk")], False),
    ("19990101000048", "Warfarin Kärna", "TAB", "2,5 mg", "B01AA03", ["IDKARNA00000003"], [("20000101000040", "100 tablett(er) burk")], True),
    ("19990101000062", "Amlodipin Kärna", "TAB", "5 mg", "C08CA01", ["IDKARNA00000005"], [("20000101000064", "100 tablett(er) blister")], False),
]


def medprod(nplid, name, form, strength, atc, substances, packages, stopped):
    ingredients = "\n".join(f"""        <npl:ingredient id="ING{nplid}{i}" presentation-substance-name="Y">
          <mpa:ingredient-role-lx v="ACTI" lexicon="ingredient-role-lx" />
          <mpa:substance-lx v={quoteattr(s)} />
        </npl:ingredient>""" for i, s in enumerate(substances))
    packs = "\n".join(f"""    <npl:package>
      <mpa:nplpackid>{p}</mpa:nplpackid>
      <mpa:pack-text>
        <mpa:v>{escape(t)}</mpa:v>
      </mpa:pack-text>
    </npl:package>""" for p, t in packages)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Synthetic sample for Kärna's tests and demo: not a real product. -->
<npl:medprod xmlns:mpa="urn:schemas-npl:mpa:12" xmlns:npl="urn:schemas-npl:instance:12">
  <mpa:nplid>{nplid}</mpa:nplid>
  <npl:names>
    <mpa:medprodname v={quoteattr(name)} />
  </npl:names>
  <mpa:strength-text>
    <mpa:v>{escape(strength)}</mpa:v>
  </mpa:strength-text>
  <mpa:pharmaceutical-form-lx v="{form}" lexicon="pharmaceutical-form-lx" />
  <npl:classifications>
    <mpa:atc-code-lx v="{atc}" />
  </npl:classifications>
  <npl:flags>
    <mpa:salesstopped v="{'Y' if stopped else 'N'}" lexicon="yesno-lx" />
  </npl:flags>
  <npl:pharmaceutical-products>
    <npl:pharmaceutical-product id="PP{nplid}">
      <npl:composition>
{ingredients}
      </npl:composition>
    </npl:pharmaceutical-product>
  </npl:pharmaceutical-products>
  <npl:packages>
{packs}
  </npl:packages>
</npl:medprod>
"""


def lexicon(terms):
    items = "\n".join(f"""  <commonTerm>
    <mpaId>{code}</mpaId>
    <term-name xml:lang="sv" v={quoteattr(name)} />
  </commonTerm>""" for code, name in terms.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!-- Synthetic sample for Kärna. -->\n<lexicon>\n{items}\n</lexicon>\n'


def write(folder, products):
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "Productdata"))
    os.makedirs(os.path.join(folder, "Lexicondata"))
    for product in products:
        with open(os.path.join(folder, "Productdata", product[0] + ".xml"), "w", encoding="utf-8") as f:
            f.write(medprod(*product))
    with open(os.path.join(folder, "Lexicondata", "pharmaceutical-form-lx.xml"), "w", encoding="utf-8") as f:
        f.write(lexicon(FORMS))
    with open(os.path.join(folder, "Lexicondata", "substance-lx.xml"), "w", encoding="utf-8") as f:
        f.write(lexicon(SUBSTANCES))


write(TOTAL, TOTAL_PRODUCTS)
write(DELTA, DELTA_PRODUCTS)
print(f"{len(TOTAL_PRODUCTS)} products in {TOTAL}, {len(DELTA_PRODUCTS)} in {DELTA}")
