#!/usr/bin/env python3
"""Generate FHIRCore's R4 tables from the official R4 definitions.

Reads ../shared/fhir-r4/ (StructureDefinitions, SearchParameters, the Patient
CompartmentDefinition) and writes one compact JSON file that FHIRCore loads as
a package resource. The output is committed so a fresh clone builds without
../shared. Rerun after changing this script:

    python3 scripts/generate_definitions.py [--shared ../shared]
"""
import argparse
import gzip
import json
import os
import re

FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"


# Invariants whose R4 expression is wrong, by (type, key): the published text -> what it means.
# que-7 tests `answer is Boolean`, the System type, which a FHIR `boolean` is not (the FHIRPath suite's
# testType12: `Patient.active.is(Boolean).not()` is true), so as published it refuses every Questionnaire
# with an `exists` enableWhen. The FHIR type `boolean` is what the invariant means.
CORRECTED_INVARIANTS = {
    ("Questionnaire", "que-7"): {"operator = 'exists' implies (answer is Boolean)": "operator = 'exists' implies (answer is boolean)"},
}


def type_code(t):
    """The FHIR type name of an element type, mapping System.* to the FHIR primitive."""
    code = t["code"]
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", []):
            if ext["url"] == FHIR_TYPE_EXT:
                return ext["valueUrl"]
        return "string"
    return code


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=os.path.join(here, "..", "..", "shared"))
    parser.add_argument("--out", default=os.path.join(here, "..", "Sources", "FHIRCore", "Definitions", "Generated", "r4-definitions.json"))
    args = parser.parse_args()
    fhir = os.path.join(args.shared, "fhir-r4")

    sds = json.load(gzip.open(os.path.join(fhir, "structure-definitions.json.gz")))
    bundle = json.load(gzip.open(os.path.join(fhir, "required-valuesets.json.gz")))
    held_value_sets = {e["resource"]["url"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ValueSet"}
    types = {}
    primitives = {}
    for entry in sds["entry"]:
        sd = entry["resource"]
        if sd.get("derivation") == "constraint" or sd["kind"] == "logical":
            continue
        name = sd["name"]
        elements = []
        root = sd["snapshot"]["element"][0]
        for el in sd["snapshot"]["element"][1:]:
            path = el["path"].split(".", 1)[1]
            if sd["kind"] == "primitive-type" and path == "value":
                regex = None
                for t in el.get("type", []):
                    for ext in t.get("extension", []):
                        if ext["url"] == REGEX_EXT:
                            regex = ext["valueString"]
                primitives[name] = {"regex": regex, "maxLength": el.get("maxLength")}
                continue
            row = {
                "path": path,
                "min": el["min"],
                "max": el["max"],
            }
            codes = [type_code(t) for t in el.get("type", [])]
            # Resource.id is an `id` in the spec text; the snapshot types it as a System.String.
            if path == "id" and sd["kind"] == "resource":
                codes = ["id"]
            if codes:
                row["types"] = codes
            # The resource types a Reference may point at (Reference(Patient|Group)); "Resource" means any.
            targets = sorted({p.rsplit("/", 1)[1] for t in el.get("type", []) if t["code"] == "Reference" for p in t.get("targetProfile", [])})
            if targets and "Resource" not in targets:
                row["targets"] = targets
            if "contentReference" in el:
                row["ref"] = el["contentReference"].lstrip("#").split(".", 1)[1]
            if el.get("isSummary"):
                row["summary"] = True
            if el.get("isModifier"):
                row["modifier"] = True
            binding = el.get("binding") or {}
            if binding.get("strength") == "required" and binding.get("valueSet"):
                # The version suffix (|4.0.1) names the release these definitions are; the table is keyed by the bare URL.
                row["binding"] = binding["valueSet"].split("|")[0]
            elif binding.get("strength") == "extensible" and binding.get("valueSet", "").split("|")[0] in held_value_sets:
                # Extensible bindings to value sets the table holds: a code outside them is a warning, not an error.
                row["extensible"] = binding["valueSet"].split("|")[0]
            elements.append(row)
        types[name] = {
            "kind": sd["kind"],
            "abstract": sd["abstract"],
            "base": (sd.get("baseDefinition") or "").rsplit("/", 1)[-1] or None,
            "elements": elements,
        }

    # Invariants (FHIRPath constraints) by type and element path ("" for the root).
    constraints = {}
    for entry in sds["entry"]:
        sd = entry["resource"]
        if sd.get("derivation") == "constraint" or sd["kind"] == "logical":
            continue
        for el in sd["snapshot"]["element"]:
            path = el["path"].split(".", 1)[1] if "." in el["path"] else ""
            for c in el.get("constraint", []):
                # Constraints inherited from a base type are checked where the base defines them.
                source = c.get("source", "")
                if source and not source.endswith("/" + sd["name"]):
                    continue
                if "expression" not in c:
                    continue
                expression = CORRECTED_INVARIANTS.get((sd["name"], c["key"]), {}).get(c["expression"], c["expression"])
                constraints.setdefault(sd["name"], {}).setdefault(path, []).append({
                    "key": c["key"], "severity": c["severity"], "expression": expression, "human": c.get("human", ""),
                })

    sps = json.load(gzip.open(os.path.join(fhir, "search-parameters.json.gz")))
    search = {}
    for entry in sps["entry"]:
        sp = entry["resource"]
        for base in sp.get("base", []):
            expression = sp.get("expression")
            if expression and len(sp["base"]) > 1:
                # Shared parameters list one expression per base, joined by '|'.
                parts = [p.strip() for p in expression.split("|")]
                own = [p for p in parts if re.match(r"^\(?%s[.\s)]" % re.escape(base), p)]
                expression = " | ".join(own) if own else expression
            row = {
                "name": sp["code"],
                "type": sp["type"],
                "expression": expression,
                "targets": sp.get("target", []),
                "url": sp["url"],
            }
            if sp.get("component"):
                row["components"] = [{"definition": c["definition"], "expression": c["expression"]} for c in sp["component"]]
            search.setdefault(base, []).append(row)
    for params in search.values():
        params.sort(key=lambda p: p["name"])

    compartment = json.load(open(os.path.join(fhir, "compartmentdefinition-patient.json")))
    patient_compartment = {r["code"]: r["param"] for r in compartment["resource"] if r.get("param")}

    out = {
        "fhirVersion": "4.0.1",
        "primitives": primitives,
        "types": types,
        "searchParameters": search,
        "patientCompartment": patient_compartment,
        "constraints": constraints,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    write_value_sets(fhir, os.path.join(os.path.dirname(args.out), "r4-valuesets.json"))
    print("wrote %s: %d types, %d primitives, %d resource types with search parameters" % (
        args.out, len(types), len(primitives), len(search)))


# Systems a required value set includes whole but that the release does not carry as a CodeSystem:
# they are grammars or external lists, checked by rule (FHIRCore's RequiredValueSets names each rule).
EXTERNAL_RULES = {
    "urn:ietf:bcp:13": "mime-type",
    "http://unitsofmeasure.org": "ucum",
    "urn:iso:std:iso:4217": "currency",
}

# A required value set the R4 release binds to but does not include: the HL7 v3 confidentiality
# codes (terminology.hl7.org, CodeSystem v3-Confidentiality, the "Confidentiality" concept domain).
SUPPLEMENT_VALUE_SETS = [{
    "url": "http://terminology.hl7.org/ValueSet/v3-ConfidentialityClassification",
    "name": "v3.ConfidentialityClassification", "title": "V3 Value SetConfidentialityClassification",
    "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
    "concepts": [["U", "unrestricted"], ["L", "low"], ["M", "moderate"], ["N", "normal"], ["R", "restricted"], ["V", "very restricted"]],
}]


def write_value_sets(fhir, out_path):
    """The required bindings' value sets and code systems, for validation and the terminology service."""
    bundle = json.load(gzip.open(os.path.join(fhir, "required-valuesets.json.gz")))
    resources = [e["resource"] for e in bundle["entry"]]
    systems = {}
    for cs in (r for r in resources if r["resourceType"] == "CodeSystem"):
        concepts = []

        def walk(items, parent):
            for c in items:
                row = [c["code"], c.get("display", c["code"])]
                if parent:
                    row.append(parent)
                concepts.append(row)
                walk(c.get("concept", []), c["code"])
        walk(cs.get("concept", []), None)
        systems[cs["url"]] = {"name": cs.get("name", cs["id"]), "title": cs.get("title", cs.get("name", cs["id"])),
                              "version": cs.get("version"), "concepts": concepts}
    value_sets = {}
    for vs in (r for r in resources if r["resourceType"] == "ValueSet"):
        compose = vs.get("compose", {})
        assert not compose.get("exclude"), vs["url"]
        include = []
        for item in compose.get("include", []):
            assert "filter" not in item and "valueSet" not in item, vs["url"]
            system = item["system"]
            rule = {"system": system}
            if item.get("concept"):
                rule["codes"] = [c["code"] for c in item["concept"]]
            elif system in EXTERNAL_RULES:
                rule["rule"] = EXTERNAL_RULES[system]
            elif system not in systems:
                raise SystemExit("%s includes %s, which is neither in the release nor a known rule" % (vs["url"], system))
            include.append(rule)
        value_sets[vs["url"]] = {"name": vs.get("name", vs["id"]), "title": vs.get("title", vs.get("name", vs["id"])),
                                 "version": vs.get("version"), "include": include}
    for extra in SUPPLEMENT_VALUE_SETS:
        systems.setdefault(extra["system"], {"name": "v3.Confidentiality", "title": "Confidentiality", "version": None,
                                             "concepts": extra["concepts"]})
        value_sets[extra["url"]] = {"name": extra["name"], "title": extra["title"], "version": None,
                                    "include": [{"system": extra["system"]}]}
    with open(out_path, "w") as f:
        json.dump({"codeSystems": systems, "valueSets": value_sets}, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    print("wrote %s: %d value sets, %d code systems" % (out_path, len(value_sets), len(systems)))


if __name__ == "__main__":
    main()
