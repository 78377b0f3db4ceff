import Foundation

/// Structural validation of a resource against the R4 StructureDefinitions:
/// known elements, JSON kinds, cardinality, choice types, primitive formats,
/// primitive extensions (`_birthDate`), contained resources, and the Swedish
/// national identifiers. Reports every problem, each with its FHIRPath.
public struct ResourceValidator: Sendable {
    public let definitions: Definitions
    /// The value sets of the required bindings every code is checked against.
    public let valueSets: RequiredValueSets

    public init(definitions: Definitions = .r4, valueSets: RequiredValueSets = .r4) {
        self.definitions = definitions
        self.valueSets = valueSets
    }

    /// All problems with `value` as a resource; empty when it is valid.
    public func validate(_ value: JSONValue, expectedType: String? = nil) -> [FHIRIssue] {
        var run = Run(definitions: definitions, valueSets: valueSets)
        run.resource(value, expression: nil, expectedType: expectedType)
        // Invariants assume a structurally sound resource; check them only then.
        if !run.issues.contains(where: \.isError), case .object(let object) = value {
            return run.issues + InvariantChecker.r4.check(object)
        }
        return run.issues
    }

    private struct Run {
        let definitions: Definitions
        let valueSets: RequiredValueSets
        var issues: [FHIRIssue] = []

        mutating func report(_ code: IssueCode, _ message: String, at expression: String) {
            issues.append(FHIRIssue(code: code, diagnostics: message, expression: [expression]))
        }

        mutating func resource(_ value: JSONValue, expression: String?, expectedType: String?) {
            guard case .object(let object) = value else {
                report(.structure, "a resource must be a JSON object, found a \(value.kindName)", at: expression ?? "Resource")
                return
            }
            guard let typeValue = object["resourceType"] else {
                report(.required, "the resource has no 'resourceType'", at: expression ?? "Resource")
                return
            }
            guard case .string(let typeName) = typeValue else {
                report(.structure, "'resourceType' must be a string", at: expression ?? "Resource")
                return
            }
            guard definitions.isResourceType(typeName), let type = definitions.types[typeName] else {
                report(.notSupported, "'\(typeName)' is not an R4 resource type", at: expression ?? "Resource")
                return
            }
            if let expectedType, expectedType != typeName {
                report(.invalid, "the body is a \(typeName) but a \(expectedType) was expected", at: expression ?? typeName)
                return
            }
            complex(object, type: type, path: "", expression: expression ?? typeName, isResourceRoot: true)
            if typeName == "Patient", expression == nil { patientIdentity(object) }
            if typeName == "Bundle" { BundleRules.check(object, expression: expression ?? typeName, into: &issues) }
        }

        mutating func complex(_ object: JSONObject, type: TypeDefinition, path: String, expression: String, isResourceRoot: Bool = false) {
            guard let childrenPath = type.childrenPath(for: path), let properties = type.properties[childrenPath] else {
                report(.structure, "no definition for \(type.name).\(path)", at: expression)
                return
            }
            if object.isEmpty && !isResourceRoot {
                report(.structure, "an element must have a value or children; an empty object is not allowed", at: expression)
            }
            for (key, value) in object {
                if isResourceRoot && key == "resourceType" { continue }
                let childExpression = expression + "." + key
                if key.hasPrefix("_") {
                    let name = String(key.dropFirst())
                    guard let property = properties[name], definitions.primitives.contains(property.type) else {
                        report(.structure, "unknown element '\(key)': '_' may only precede a primitive element of \(type.name)", at: childExpression)
                        continue
                    }
                    primitiveExtension(value, property: property, valueMember: object[name], expression: expression + "." + name)
                    continue
                }
                guard let property = properties[key] else {
                    report(.structure, "unknown element '\(key)' in \(describe(type: type, path: childrenPath))", at: childExpression)
                    continue
                }
                element(value, property: property, owner: type, ownerPath: childrenPath, extensionMember: object["_" + key], expression: childExpression)
            }
            for child in type.children[childrenPath] ?? [] where child.min > 0 {
                let present: Bool
                if child.isChoice {
                    present = child.types.contains { object[child.name + $0.capitalizedFirst] != nil || object["_" + child.name + $0.capitalizedFirst] != nil }
                } else {
                    present = object[child.name] != nil || object["_" + child.name] != nil
                }
                if !present {
                    let shown = child.isChoice ? child.name + "[x]" : child.name
                    report(.required, "missing required element '\(shown)' (minimum cardinality \(child.min))", at: expression + "." + child.name)
                }
            }
        }

        func describe(type: TypeDefinition, path: String) -> String {
            path.isEmpty ? type.name : "\(type.name).\(path)"
        }

        mutating func element(_ value: JSONValue, property: TypeDefinition.Property, owner: TypeDefinition, ownerPath: String,
                              extensionMember: JSONValue?, expression: String) {
            let element = property.element
            let isPrimitive = definitions.primitives.contains(property.type)
            if element.isRepeating {
                guard case .array(let items) = value else {
                    report(.structure, "'\(element.name)' repeats (max \(element.max)) and must be a JSON array, found a \(value.kindName)", at: expression)
                    return
                }
                if items.isEmpty {
                    report(.structure, "an empty array is not allowed; leave '\(element.name)' out instead", at: expression)
                }
                if let max = Int(element.max), items.count > max {
                    report(.structure, "'\(element.name)' allows at most \(max) items, found \(items.count)", at: expression)
                }
                let extensions = extensionMember?.arrayValue
                for (i, item) in items.enumerated() {
                    let itemExpression = "\(expression)[\(i)]"
                    if case .null = item {
                        let hasExtension = extensions.map { i < $0.count && $0[i] != .null } ?? false
                        if !(isPrimitive && hasExtension) {
                            report(.structure, "null is only allowed in a primitive array where '_\(element.name)' has extensions at the same index", at: itemExpression)
                        }
                        continue
                    }
                    single(item, property: property, owner: owner, ownerPath: ownerPath, expression: itemExpression)
                }
            } else {
                if case .array = value {
                    report(.structure, "'\(element.name)' has maximum cardinality 1 and must not be an array", at: expression)
                    return
                }
                single(value, property: property, owner: owner, ownerPath: ownerPath, expression: expression)
            }
        }

        mutating func single(_ value: JSONValue, property: TypeDefinition.Property, owner: TypeDefinition, ownerPath: String, expression: String) {
            let element = property.element
            let typeName = property.type
            if definitions.primitives.contains(typeName) {
                if let problem = PrimitiveFormat.problem(type: typeName, value: value) {
                    report(.value, "invalid \(typeName): \(problem)", at: expression)
                } else if let binding = element.requiredBinding, case .string(let code) = value {
                    boundCode(code, binding: binding, expression: expression)
                } else if let binding = element.extensibleBinding, case .string(let code) = value,
                          let valueSet = valueSets.valueSets[binding], !valueSet.contains(code: code) {
                    issues.append(FHIRIssue(severity: .warning, code: .codeInvalid,
                                            diagnostics: "'\(code)' is not in the value set \(valueSet.title) (\(binding)), which this element is bound to (extensible: allowed only when no code there fits)",
                                            expression: [expression]))
                }
                return
            }
            if typeName == "Resource" {
                resource(value, expression: expression, expectedType: nil)
                if case .object(let inner) = value, inner["contained"] != nil, ownerPath == "" && element.name == "contained" {
                    report(.invariant, "a contained resource must not contain resources (dom-2)", at: expression + ".contained")
                }
                return
            }
            guard case .object(let object) = value else {
                report(.structure, "expected a JSON object for \(typeName), found a \(value.kindName)", at: expression)
                return
            }
            if element.contentReference != nil || owner.children[element.path] != nil {
                complex(object, type: owner, path: element.path, expression: expression)
                return
            }
            guard let type = definitions.types[typeName] else {
                report(.structure, "no definition for the type \(typeName)", at: expression)
                return
            }
            complex(object, type: type, path: "", expression: expression)
            if typeName == "CodeableConcept", let binding = element.requiredBinding { boundConcept(object, binding: binding, expression: expression) }
            if typeName == "CodeableConcept" || typeName == "Coding", let binding = element.extensibleBinding, let valueSet = valueSets.valueSets[binding] {
                let codings = typeName == "Coding" ? [JSONValue.object(object)] : (object["coding"]?.arrayValue ?? [])
                let inSet = codings.contains { coding in
                    guard let system = coding.objectValue?["system"]?.stringValue, let code = coding.objectValue?["code"]?.stringValue else { return false }
                    return valueSet.contains(system: system, code: code)
                }
                if !inSet {
                    issues.append(FHIRIssue(severity: .warning, code: .codeInvalid,
                                            diagnostics: "no coding is from the value set \(valueSet.title) (\(binding)), which this element is bound to (extensible: allowed only when no code there fits)",
                                            expression: [expression]))
                }
            }
            if typeName == "Identifier" { swedishIdentifier(object, expression: expression) }
            if typeName == "Coding" || typeName == "Identifier" || definitions.type(typeName, derivesFrom: "Quantity") { absoluteSystem(object, expression: expression) }
            if typeName == "Attachment" { attachmentSize(object, expression: expression) }
            if typeName == "Reference", !element.targets.isEmpty { referenceTarget(object, targets: element.targets, expression: expression) }
        }

        /// A `code` with a required binding is one of its value set's codes: a status outside its value set
        /// would drop the record out of every search that filters on status.
        mutating func boundCode(_ code: String, binding: String, expression: String) {
            // A binding to a value set the release does not carry (one LOINC answer list) cannot be judged here.
            guard let valueSet = valueSets.valueSets[binding], !valueSet.contains(code: code) else { return }
            report(.codeInvalid, "'\(code)' is not in the value set \(valueSet.title) (\(binding)), which this element is bound to (required)", at: expression)
        }

        /// A CodeableConcept with a required binding has a coding from its value set, and every coding in
        /// one of the value set's systems is one of its codes.
        mutating func boundConcept(_ concept: JSONObject, binding: String, expression: String) {
            guard let valueSet = valueSets.valueSets[binding] else { return }
            let systems = valueSet.systems
            var found = false
            for (i, coding) in (concept["coding"]?.arrayValue ?? []).enumerated() {
                guard let coding = coding.objectValue, let system = coding["system"]?.stringValue, let code = coding["code"]?.stringValue else { continue }
                if valueSet.contains(system: system, code: code) {
                    found = true
                } else if systems.contains(system) {
                    report(.codeInvalid, "'\(code)' is not in the value set \(valueSet.title) (\(binding)), which this element is bound to (required)",
                           at: "\(expression).coding[\(i)].code")
                    found = true
                }
            }
            if !found {
                report(.codeInvalid, "no coding is from the value set \(valueSet.title) (\(binding)), which this element is bound to (required)", at: expression)
            }
        }

        /// A code system or identifier namespace is an absolute URI (`http://snomed.info/sct`, `urn:oid:…`):
        /// "SNOMED" or "ICD10" names nothing another system can look up.
        mutating func absoluteSystem(_ object: JSONObject, expression: String) {
            guard let system = object["system"]?.stringValue else { return }
            let scheme = system.prefix { $0 != ":" }
            if scheme.count == system.count || scheme.isEmpty || !(scheme.first?.isLetter ?? false)
                || !scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) {
                report(.value, "system must be an absolute URI (such as http://snomed.info/sct or urn:oid:1.2.752.129.2.1.3.1); '\(system)' is not", at: expression + ".system")
            }
        }

        /// With inline data, `size` is the number of bytes the data holds.
        mutating func attachmentSize(_ object: JSONObject, expression: String) {
            guard let data = object["data"]?.stringValue, case .number(let sizeText)? = object["size"], let size = Int(sizeText) else { return }
            let padding = data.reversed().prefix { $0 == "=" }.count
            let characters = data.filter { !$0.isWhitespace }.count
            let decoded = characters / 4 * 3 - padding
            if decoded != size {
                report(.value, "size is \(size) but the data holds \(decoded) bytes", at: expression + ".size")
            }
        }

        /// A literal reference names a resource of a type the element allows (`Encounter.subject` a Patient or Group).
        mutating func referenceTarget(_ reference: JSONObject, targets: [String], expression: String) {
            guard let text = reference["reference"]?.stringValue, !text.hasPrefix("#"), !text.contains("?") else { return }
            // Relative `Type/id`, or absolute `…/Type/id` (also with `/_history/n`).
            var parts = text.split(separator: "/").map(String.init)
            if parts.count >= 4, parts[parts.count - 2] == "_history" { parts.removeLast(2) }
            guard parts.count >= 2, !text.hasPrefix("urn:") else { return }
            let type = parts[parts.count - 2]
            guard definitions.isResourceType(type) else { return }
            if !targets.contains(type) {
                report(.value, "must refer to \(targets.joined(separator: " or ")); '\(text)' is a \(type)", at: expression + ".reference")
            }
        }

        /// A Patient's birth date and sex agree with its personnummer or samordningsnummer, and the birth date is not in the future.
        mutating func patientIdentity(_ patient: JSONObject) {
            // Tomorrow in UTC: a child born just after midnight in Sweden is born "tomorrow" by the UTC calendar.
            let today = CivilCalendar.date(fromDaysSince1970: Int(Date().timeIntervalSince1970 / 86_400) + 1)
            let todayText = String(format: "%04d-%02d-%02d", today.year, today.month, today.day)
            let birthDate = patient["birthDate"]?.stringValue
            if let birthDate, String(birthDate.prefix(10)) > String(todayText.prefix(birthDate.count)) {
                report(.value, "the birth date \(birthDate) is in the future", at: "Patient.birthDate")
            }
            for (i, identifier) in (patient["identifier"]?.arrayValue ?? []).enumerated() {
                guard let identifier = identifier.objectValue, identifier["use"]?.stringValue != "old",
                      let system = identifier["system"]?.stringValue,
                      system == SwedishPersonalIdentity.personnummerSystem || system == SwedishPersonalIdentity.samordningsnummerSystem,
                      let value = identifier["value"]?.stringValue, let parsed = try? SwedishPersonalIdentity(value) else { continue }
                let born = String(format: "%04d-%02d-%02d", parsed.birthYear, parsed.birthMonth, parsed.birthDay)
                if let birthDate, !born.hasPrefix(birthDate) {
                    report(.businessRule, "the birth date \(birthDate) does not agree with the \(parsed.kind.rawValue) in identifier[\(i)] (born \(born))",
                           at: "Patient.birthDate")
                }
                // The second-to-last digit is odd for men, even for women (folkbokföringslagen).
                let digits = Array(parsed.canonical.filter(\.isNumber))
                guard digits.count == 12, let sexDigit = digits[10].wholeNumberValue else { continue }
                let sex = sexDigit % 2 == 1 ? "male" : "female"
                if let gender = patient["gender"]?.stringValue, gender == "male" || gender == "female", gender != sex {
                    report(.businessRule, "gender '\(gender)' does not agree with the \(parsed.kind.rawValue) in identifier[\(i)], which is a \(sex == "male" ? "man's" : "woman's")",
                           at: "Patient.gender")
                }
            }
        }

        /// `_name` carries a primitive's id and extensions: an object, or for arrays an array aligned with the values.
        mutating func primitiveExtension(_ value: JSONValue, property: TypeDefinition.Property, valueMember: JSONValue?, expression: String) {
            guard let elementType = definitions.types["Element"] else { return }
            func one(_ item: JSONValue, at path: String) {
                guard case .object(let object) = item else {
                    report(.structure, "a primitive's extension part must be an object, found a \(item.kindName)", at: path)
                    return
                }
                complex(object, type: elementType, path: "", expression: path)
            }
            if property.element.isRepeating {
                guard case .array(let items) = value else {
                    report(.structure, "'_\(property.element.name)' must be an array aligned with '\(property.element.name)'", at: expression)
                    return
                }
                if let values = valueMember?.arrayValue, values.count != items.count {
                    report(.structure, "'_\(property.element.name)' has \(items.count) items but '\(property.element.name)' has \(values.count)", at: expression)
                }
                for (i, item) in items.enumerated() where item != .null { one(item, at: "\(expression)[\(i)]") }
            } else {
                one(value, at: expression)
            }
        }

        /// Swedish national identifiers must be real numbers: right date, right check digit.
        mutating func swedishIdentifier(_ identifier: JSONObject, expression: String) {
            guard let system = identifier["system"]?.stringValue, let value = identifier["value"]?.stringValue else { return }
            let expectedKind: SwedishPersonalIdentity.Kind
            switch system {
            case SwedishPersonalIdentity.personnummerSystem: expectedKind = .personnummer
            case SwedishPersonalIdentity.samordningsnummerSystem: expectedKind = .samordningsnummer
            case Reservnummer.system:
                do { _ = try Reservnummer(value) } catch { report(.value, "invalid reservnummer: \(error.description)", at: expression + ".value") }
                return
            default: return
            }
            do {
                let parsed = try SwedishPersonalIdentity(value)
                if parsed.kind != expectedKind {
                    report(.value, "the value is a \(parsed.kind.rawValue) but the system is the \(expectedKind.rawValue) OID", at: expression + ".value")
                }
            } catch {
                report(.value, "invalid \(expectedKind.rawValue): \(error.description)", at: expression + ".value")
            }
        }
    }
}
