import Foundation

extension FHIRPathEngine {
    // swiftlint:disable:next cyclomatic_complexity function_body_length
    func call(_ name: String, input: [FHIRPathItem], arguments: [FHIRPathExpression], context: Context,
              focus: [FHIRPathItem]) throws(FHIRPathError) -> [FHIRPathItem] {
        /// Evaluates argument `i` against the outer focus (not per item).
        func argument(_ i: Int) throws(FHIRPathError) -> [FHIRPathItem] {
            guard i < arguments.count else { return [] }
            return try eval(arguments[i], context.this ?? focus, context)
        }
        /// Evaluates argument 0 with each input item as `$this`.
        func lambda(_ item: FHIRPathItem, _ index: Int, _ i: Int = 0, total: [FHIRPathItem]? = nil) throws(FHIRPathError) -> [FHIRPathItem] {
            var inner = context
            inner.this = [item]
            inner.index = index
            inner.total = total ?? context.total
            return try eval(arguments[i], [item], inner)
        }
        func arity(_ allowed: ClosedRange<Int>) throws(FHIRPathError) {
            guard allowed.contains(arguments.count) else {
                throw FHIRPathError(.semantic, "\(name)() takes \(allowed.lowerBound == allowed.upperBound ? "\(allowed.lowerBound)" : "\(allowed.lowerBound)–\(allowed.upperBound)") arguments, not \(arguments.count)")
            }
        }
        func single() throws(FHIRPathError) -> FHIRPathItem? {
            guard input.count <= 1 else { throw FHIRPathError(.execution, "\(name)() needs a single item but got \(input.count)") }
            return input.first?.systemValue ?? input.first
        }
        func string() throws(FHIRPathError) -> String? {
            guard let item = try single() else { return nil }
            if case .string(let s) = item { return s }
            throw FHIRPathError(.execution, "\(name)() needs a string")
        }
        func typeArgument() throws(FHIRPathError) -> String {
            guard arguments.count == 1 else { throw FHIRPathError(.semantic, "\(name)() takes a type") }
            let type = try typeName(of: arguments[0])
            try checkType(type)
            return type
        }
        func math(_ f: (Double) -> Double, keepInteger: Bool = false) throws(FHIRPathError) -> [FHIRPathItem] {
            guard let item = try single() else { return [] }
            if keepInteger, case .integer = item { return [item] }
            guard let d = decimalItem(item) else { throw FHIRPathError(.execution, "\(name)() needs a number") }
            let r = f(d.double)
            guard r.isFinite else { return [] }
            return [.decimal(FHIRPathDecimal(Decimal(r), scale: Self.naturalScale(Decimal(r), limit: 8)))]
        }

        switch name {
        // Existence
        case "empty": try arity(0...0); return [.boolean(input.isEmpty)]
        case "exists":
            try arity(0...1)
            if arguments.isEmpty { return [.boolean(!input.isEmpty)] }
            for (i, item) in input.enumerated() where try boolean(lambda(item, i), "exists") == true { return [.boolean(true)] }
            return [.boolean(false)]
        case "all":
            try arity(1...1)
            for (i, item) in input.enumerated() where try boolean(lambda(item, i), "all") != true { return [.boolean(false)] }
            return [.boolean(true)]
        case "allTrue", "anyTrue", "allFalse", "anyFalse":
            for item in input {
                guard case .boolean? = item.systemValue else { throw FHIRPathError(.execution, "\(name)() needs booleans") }
            }
            switch name {
            case "allTrue": return [.boolean(input.allSatisfy { if case .boolean(true)? = $0.systemValue { true } else { false } })]
            case "anyTrue": return [.boolean(input.contains { if case .boolean(true)? = $0.systemValue { true } else { false } })]
            case "allFalse": return [.boolean(input.allSatisfy { if case .boolean(false)? = $0.systemValue { true } else { false } })]
            default: return [.boolean(input.contains { if case .boolean(false)? = $0.systemValue { true } else { false } })]
            }
        case "subsetOf":
            let other = try argument(0)
            return [.boolean(input.allSatisfy { item in other.contains { equal(item, $0) == true } })]
        case "supersetOf":
            let other = try argument(0)
            return [.boolean(other.allSatisfy { item in input.contains { equal(item, $0) == true } })]
        case "count": return [.integer(input.count)]
        case "distinct": return distinct(input)
        case "isDistinct": return [.boolean(distinct(input).count == input.count)]

        // Filtering and projection
        case "where":
            try arity(1...1)
            var result: [FHIRPathItem] = []
            for (i, item) in input.enumerated() where try boolean(lambda(item, i), "where") == true { result.append(item) }
            return result
        case "select":
            try arity(1...1)
            var result: [FHIRPathItem] = []
            for (i, item) in input.enumerated() { result += try lambda(item, i) }
            return result
        case "repeat":
            try arity(1...1)
            var result: [FHIRPathItem] = []
            var queue = input
            var guardCount = 0
            while !queue.isEmpty, guardCount < 10_000 {
                var next: [FHIRPathItem] = []
                for (i, item) in queue.enumerated() {
                    for found in try lambda(item, i) where !result.contains(where: { equal($0, found) == true }) {
                        result.append(found)
                        next.append(found)
                    }
                }
                queue = next
                guardCount += 1
            }
            return result
        case "ofType":
            let type = try typeArgument()
            return input.filter { isType($0, type, exactPrimitive: true) }
        case "as":
            let type = try typeArgument()
            guard input.count <= 1 else { throw FHIRPathError(.execution, "as() needs a single item") }
            return input.filter { isType($0, type, exactPrimitive: true) }
        case "is":
            let type = try typeArgument()
            guard input.count <= 1 else { throw FHIRPathError(.execution, "is() needs a single item") }
            return input.first.map { [.boolean(isType($0, type))] } ?? []
        case "aggregate":
            try arity(1...2)
            var total = arguments.count > 1 ? try argument(1) : []
            for (i, item) in input.enumerated() { total = try lambda(item, i, total: total) }
            return total

        // Subsetting
        case "single":
            guard input.count <= 1 else { throw FHIRPathError(.execution, "single() found \(input.count) items") }
            return input
        case "first": return input.first.map { [$0] } ?? []
        case "last": return input.last.map { [$0] } ?? []
        case "tail": return Array(input.dropFirst())
        case "skip":
            guard let n = try integer(argument(0), "skip()") else { return [] }
            return Array(input.dropFirst(max(0, n)))
        case "take":
            guard let n = try integer(argument(0), "take()") else { return [] }
            return Array(input.prefix(max(0, n)))
        case "intersect":
            let other = try argument(0)
            return distinct(input.filter { item in other.contains { equal(item, $0) == true } })
        case "exclude":
            let other = try argument(0)
            return input.filter { item in !other.contains { equal(item, $0) == true } }
        case "union": return distinct(input + (try argument(0)))
        case "combine": return input + (try argument(0))

        // Conditional
        case "iif":
            try arity(2...3)
            guard input.count <= 1 else { throw FHIRPathError(.execution, "iif() needs a single focus") }
            var inner = context
            if let item = input.first { inner.this = [item] }
            let criterion = try eval(arguments[0], input.isEmpty ? focus : input, inner)
            if let first = criterion.first, criterion.count > 1 || { if case .boolean? = first.systemValue { return false }; return true }() {
                throw FHIRPathError(.execution, "iif() needs a boolean criterion")
            }
            let condition = try boolean(criterion, "iif")
            if condition == true { return try eval(arguments[1], input.isEmpty ? focus : input, inner) }
            return arguments.count > 2 ? try eval(arguments[2], input.isEmpty ? focus : input, inner) : []

        // Conversion
        case "toBoolean", "convertsToBoolean":
            let value = try single().flatMap(toBoolean)
            return name == "toBoolean" ? (value.map { [.boolean($0)] } ?? []) : (input.isEmpty ? [] : [.boolean(value != nil)])
        case "toInteger", "convertsToInteger":
            let value = try single().flatMap(toInteger)
            return name == "toInteger" ? (value.map { [.integer($0)] } ?? []) : (input.isEmpty ? [] : [.boolean(value != nil)])
        case "toDecimal", "convertsToDecimal":
            let value = try single().flatMap(toDecimal)
            return name == "toDecimal" ? (value.map { [.decimal($0)] } ?? []) : (input.isEmpty ? [] : [.boolean(value != nil)])
        case "toString", "convertsToString":
            let value = try single().flatMap(text)
            return name == "toString" ? (value.map { [.string($0)] } ?? []) : (input.isEmpty ? [] : [.boolean(value != nil)])
        case "toDate", "convertsToDate", "toDateTime", "convertsToDateTime", "toTime", "convertsToTime":
            let kind: FHIRPathTemporal.Kind = name.hasSuffix("DateTime") ? .dateTime : name.hasSuffix("Date") ? .date : .time
            let value = try single().flatMap { toTemporal($0, kind) }
            return name.hasPrefix("to") ? (value.map { [.temporal($0)] } ?? []) : (input.isEmpty ? [] : [.boolean(value != nil)])
        case "toQuantity", "convertsToQuantity":
            var value = try single().flatMap(toQuantity)
            if let unit = try singleString(argument(0), "toQuantity()"), let q = value {
                value = q.unit == unit ? q : nil
            }
            return name == "toQuantity" ? (value.map { [.quantity($0)] } ?? []) : (input.isEmpty ? [] : [.boolean(value != nil)])

        // Strings
        case "indexOf":
            guard let s = try string(), let sub = try singleString(argument(0), "indexOf()") else { return [] }
            if sub.isEmpty { return [.integer(0)] }
            guard let range = s.range(of: sub) else { return [.integer(-1)] }
            return [.integer(s.distance(from: s.startIndex, to: range.lowerBound))]
        case "substring":
            guard let s = try string(), let start = try integer(argument(0), "substring()") else { return [] }
            let chars = Array(s)
            guard start >= 0, start < chars.count else { return [] }
            let length = arguments.count > 1 ? try integer(argument(1), "substring()") ?? chars.count : chars.count
            return [.string(String(chars[start..<min(chars.count, start + max(0, length))]))]
        case "startsWith":
            guard let s = try string(), let p = try singleString(argument(0), "startsWith()") else { return [] }
            return [.boolean(s.hasPrefix(p))]
        case "endsWith":
            guard let s = try string(), let p = try singleString(argument(0), "endsWith()") else { return [] }
            return [.boolean(s.hasSuffix(p))]
        case "contains":
            guard let s = try string(), let p = try singleString(argument(0), "contains()") else { return [] }
            return [.boolean(p.isEmpty || s.contains(p))]
        case "upper": return try string().map { [.string($0.uppercased())] } ?? []
        case "lower": return try string().map { [.string($0.lowercased())] } ?? []
        case "replace":
            guard let s = try string(), let pattern = try singleString(argument(0), "replace()"),
                  let replacement = try singleString(argument(1), "replace()") else { return [] }
            if pattern.isEmpty { return [.string(replacement + s.map { String($0) + replacement }.joined())] }
            return [.string(s.replacingOccurrences(of: pattern, with: replacement))]
        case "matches", "matchesFull":
            guard let s = try string(), let pattern = try singleString(argument(0), "\(name)()") else { return [] }
            let anchored = name == "matchesFull" ? "^(?:\(pattern))$" : pattern
            guard let regex = try? NSRegularExpression(pattern: anchored, options: [.dotMatchesLineSeparators]) else {
                throw FHIRPathError(.execution, "'\(pattern)' is not a valid regular expression")
            }
            return [.boolean(regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil)]
        case "replaceMatches":
            guard let s = try string(), let pattern = try singleString(argument(0), "replaceMatches()"),
                  let replacement = try singleString(argument(1), "replaceMatches()") else { return [] }
            if pattern.isEmpty { return [.string(s)] }
            guard let regex = try? NSRegularExpression(pattern: pattern) else { throw FHIRPathError(.execution, "'\(pattern)' is not a valid regular expression") }
            return [.string(regex.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: replacement))]
        case "length": return try string().map { [.integer($0.count)] } ?? []
        case "toChars": return try string().map { $0.map { .string(String($0)) } } ?? []
        case "trim": return try string().map { [.string($0.trimmingCharacters(in: .whitespacesAndNewlines))] } ?? []
        case "split":
            guard let s = try string(), let separator = try singleString(argument(0), "split()") else { return [] }
            return s.components(separatedBy: separator).map { .string($0) }
        case "join":
            let separator = try singleString(argument(0), "join()") ?? ""
            var parts: [String] = []
            for item in input {
                guard case .string(let s)? = item.systemValue else { throw FHIRPathError(.execution, "join() needs strings") }
                parts.append(s)
            }
            return [.string(parts.joined(separator: separator))]
        case "encode", "decode":
            guard let s = try string(), let format = try singleString(argument(0), "\(name)()") else { return [] }
            return codec(s, format: format, encode: name == "encode").map { [.string($0)] } ?? []
        case "escape", "unescape":
            guard let s = try string(), let format = try singleString(argument(0), "\(name)()") else { return [] }
            return [.string(escape(s, format: format, unescape: name == "unescape"))]

        // Math
        case "abs":
            guard let item = try single() else { return [] }
            switch item {
            case .integer(let i): return [.integer(abs(i))]
            case .decimal(let d): return [.decimal(FHIRPathDecimal(abs(d.value), scale: d.scale))]
            case .quantity(var q): q.value.value = abs(q.value.value); return [.quantity(q)]
            default: throw FHIRPathError(.execution, "abs() needs a number")
            }
        case "ceiling": return try math({ $0.rounded(.up) }, keepInteger: true).map(integral)
        case "floor": return try math({ $0.rounded(.down) }, keepInteger: true).map(integral)
        case "truncate": return try math({ $0.rounded(.towardZero) }, keepInteger: true).map(integral)
        case "exp": return try math { Foundation.exp($0) }
        case "ln": return try math { Foundation.log($0) }
        case "sqrt": return try math { $0 < 0 ? .nan : $0.squareRoot() }
        case "log":
            guard let base = try argument(0).first.flatMap(decimalItem) else { return [] }
            return try math { Foundation.log($0) / Foundation.log(base.double) }
        case "power":
            guard let item = try single(), let exponent = try argument(0).first?.systemValue else { return [] }
            if case .integer(let b) = item, case .integer(let e) = exponent, e >= 0 {
                return [.integer(Int(pow(Double(b), Double(e))))]
            }
            guard let e = decimalItem(exponent) else { return [] }
            return try math { pow($0, e.double) }
        case "round":
            guard let item = try single(), let d = decimalItem(item) else { return [] }
            let digits = try integer(argument(0), "round()") ?? 0
            var rounded = Decimal(), v = d.value
            NSDecimalRound(&rounded, &v, digits, .plain)
            return [.decimal(FHIRPathDecimal(rounded, scale: digits))]

        // Tree navigation and utility
        case "children":
            return input.flatMap { item -> [FHIRPathItem] in
                guard case .node(let node) = item else { return [] }
                return allChildren(of: node)
            }
        case "descendants":
            var result: [FHIRPathItem] = []
            var queue = input
            while !queue.isEmpty {
                let next = queue.flatMap { item -> [FHIRPathItem] in
                    guard case .node(let node) = item else { return [] }
                    return allChildren(of: node)
                }
                result += next
                queue = next
            }
            return result
        case "trace":
            if arguments.count > 1 { _ = try eval(arguments[1], input, context) }
            return input
        case "now":
            return [.temporal(Self.now(kind: .dateTime))]
        case "today":
            return [.temporal(Self.now(kind: .date))]
        case "timeOfDay":
            return [.temporal(Self.now(kind: .time))]
        case "not":
            guard let b = try boolean(input, "not()") else { return [] }
            return [.boolean(!b)]
        case "type":
            return input.map { item in
                if case .node(let node) = item { return .typeInfo(namespace: "FHIR", name: node.typeName) }
                return .typeInfo(namespace: "System", name: systemTypeName(item))
            }

        // FHIR additions
        case "extension":
            guard let url = try singleString(argument(0), "extension()") else { return [] }
            var result: [FHIRPathItem] = []
            for case .node(let node) in input {
                for ext in (try? children(of: node, named: "extension")) ?? [] {
                    if case .node(let e) = ext, e.object?["url"]?.stringValue == url { result.append(ext) }
                }
            }
            return result
        case "hasValue":
            return [.boolean(input.count == 1 && input[0].systemValue != nil && { if case .node(let n) = input[0] { return n.value != nil && n.object == nil } ; return true }())]
        case "getValue":
            return input.count == 1 ? (input[0].systemValue.map { [$0] } ?? []) : []
        case "resolve":
            return input.compactMap { resolve($0, context: context) }
        case "conformsTo":
            guard let url = try singleString(argument(0), "conformsTo()") else { return [] }
            let prefix = "http://hl7.org/fhir/StructureDefinition/"
            guard url.hasPrefix(prefix), definitions.types[String(url.dropFirst(prefix.count))] != nil else {
                throw FHIRPathError(.execution, "conformsTo() knows only the core StructureDefinitions, not '\(url)'")
            }
            return input.map { item in
                guard case .node(let node) = item else { return .boolean(false) }
                return .boolean(definitions.type(node.typeName, derivesFrom: String(url.dropFirst(prefix.count))))
            }
        case "memberOf", "htmlChecks", "htmlchecks":
            // Profiles and terminology are checked elsewhere; these constraints pass here.
            return input.isEmpty ? [] : [.boolean(true)]
        case "sort":
            return try sort(input, arguments: arguments, context: context)
        case "lowBoundary", "highBoundary":
            guard let item = try single() else { return [] }
            let precision = try integer(argument(0), "\(name)()")
            return boundary(item, precision: precision, low: name == "lowBoundary").map { [$0] } ?? []
        case "precision":
            guard let item = try single() else { return [] }
            switch item {
            case .decimal(let d): return [.integer(d.scale)]
            case .integer: return [.integer(0)]
            case .temporal(let t):
                let digits = t.kind == .time ? [2, 4, 6, 9] : [4, 6, 8, 10, 12, 14, 17]
                let index = t.kind == .time ? t.precision - 4 : t.precision - 1
                let ms = t.second != nil && (t.millisecond != nil || t.fractionDigits > 0)
                return [.integer(ms ? (t.kind == .time ? 9 : 17) : digits[max(0, min(index, digits.count - 1))])]
            default: return []
            }
        case "comparable":
            guard case .quantity(let p)? = try single(), case .quantity(let q)? = try argument(0).first?.systemValue else { return [] }
            return [.boolean(commensurable(p, q) != nil)]
        default:
            throw FHIRPathError(.semantic, "unknown function \(name)()")
        }
    }

    private func integral(_ item: FHIRPathItem) -> FHIRPathItem {
        if case .decimal(let d) = item { return .integer(NSDecimalNumber(decimal: d.value).intValue) }
        return item
    }

    /// The type named by a function argument such as `Quantity` or `FHIR.string`.
    func typeName(of expression: FHIRPathExpression) throws(FHIRPathError) -> String {
        switch expression {
        case .member(nil, let name): return name
        case .member(let base?, let name): return try typeName(of: base) + "." + name
        default: throw FHIRPathError(.semantic, "expected a type name")
        }
    }

    static func now(kind: FHIRPathTemporal.Kind) -> FHIRPathTemporal {
        let ms = Int(Date().timeIntervalSince1970 * 1000)
        let (y, m, d) = CivilCalendar.date(fromDaysSince1970: ms / 86_400_000)
        var t = FHIRPathTemporal(kind: kind)
        t.year = y
        let inDay = ms % 86_400_000
        if kind != .time { t.month = m; t.day = d }
        if kind != .date {
            t.hour = inDay / 3_600_000; t.minute = inDay / 60_000 % 60; t.second = inDay / 1000 % 60; t.millisecond = inDay % 1000
            t.fractionDigits = 3
            if kind == .dateTime { t.zoneMinutes = 0 }
        }
        return t
    }

    /// `resolve()`: contained (`#id`), Bundle entries by fullUrl, else a typed stub so `resolve() is Patient` works.
    func resolve(_ item: FHIRPathItem, context: Context) -> FHIRPathItem? {
        var reference: String?
        switch item {
        case .string(let s): reference = s
        case .node(let node):
            reference = node.object?["reference"]?.stringValue ?? (node.object == nil ? node.value?.stringValue : nil)
        default: break
        }
        guard let reference else { return nil }
        if case .node(let root)? = context.variables["rootResource"]?.first, let object = root.object {
            if reference.hasPrefix("#"), case .array(let contained)? = object["contained"] {
                for case .object(let resource) in contained where resource["id"]?.stringValue == String(reference.dropFirst()) {
                    return .node(.resource(resource))
                }
            }
            if case .array(let entries)? = object["entry"] {
                for case .object(let entry) in entries {
                    if let full = entry["fullUrl"]?.stringValue, full == reference || full.hasSuffix("/" + reference),
                       case .object(let resource)? = entry["resource"] {
                        return .node(.resource(resource))
                    }
                }
            }
        }
        guard let key = ResourceKey(reference: reference) ?? ResourceKey(absoluteReference: reference), definitions.types[key.type] != nil else { return nil }
        let stub = JSONObject([("resourceType", .string(key.type)), ("id", .string(key.id))])
        return .node(.resource(stub))
    }

    func sort(_ input: [FHIRPathItem], arguments: [FHIRPathExpression], context: Context) throws(FHIRPathError) -> [FHIRPathItem] {
        var keyed: [(FHIRPathItem, [(FHIRPathItem?, Bool)])] = []
        for item in input {
            var keys: [(FHIRPathItem?, Bool)] = []
            if arguments.isEmpty { keys.append((item.systemValue, false)) }
            for argument in arguments {
                var descending = false
                var expression = argument
                if case .negate(let inner) = argument { descending = true; expression = inner }
                var inner = context
                inner.this = [item]
                keys.append((try eval(expression, [item], inner).first?.systemValue, descending))
            }
            keyed.append((item, keys))
        }
        var failure: FHIRPathError?
        keyed.sort { a, b in
            for (x, y) in zip(a.1, b.1) {
                guard let l = x.0 else { if y.0 != nil { return !x.1 } else { continue } }
                guard let r = y.0 else { return x.1 }
                do {
                    let order = try compare(l, r)
                    if order == .orderedSame || order == nil { continue }
                    return (order == .orderedAscending) != x.1
                } catch let error as FHIRPathError { failure = error; return false } catch { return false }
            }
            return false
        }
        if let failure { throw failure }
        return keyed.map(\.0)
    }

    // MARK: Conversions

    func toBoolean(_ item: FHIRPathItem) -> Bool? {
        switch item {
        case .boolean(let b): return b
        case .integer(let i): return i == 1 ? true : i == 0 ? false : nil
        case .decimal(let d): return d.value == 1 ? true : d.value == 0 ? false : nil
        case .string(let s):
            switch s.lowercased() {
            case "true", "t", "yes", "y", "1", "1.0": return true
            case "false", "f", "no", "n", "0", "0.0": return false
            default: return nil
            }
        default: return nil
        }
    }

    func toInteger(_ item: FHIRPathItem) -> Int? {
        switch item {
        case .integer(let i): return i
        case .boolean(let b): return b ? 1 : 0
        case .string(let s):
            guard s.range(of: #"^[+-]?\d+$"#, options: .regularExpression) != nil else { return nil }
            return Int(s)
        default: return nil
        }
    }

    func toDecimal(_ item: FHIRPathItem) -> FHIRPathDecimal? {
        switch item {
        case .integer(let i): return FHIRPathDecimal(Decimal(i), scale: 0)
        case .decimal(let d): return d
        case .boolean(let b): return FHIRPathDecimal(b ? 1 : 0, scale: 1)
        case .string(let s):
            guard s.range(of: #"^[+-]?\d+(\.\d+)?$"#, options: .regularExpression) != nil else { return nil }
            return FHIRPathDecimal(s)
        default: return nil
        }
    }

    func text(_ item: FHIRPathItem) -> String? {
        switch item {
        case .boolean(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .decimal(let d): return d.text
        case .string(let s): return s
        case .temporal(let t): return t.literal
        case .quantity(let q): return q.text
        default: return nil
        }
    }

    func toTemporal(_ item: FHIRPathItem, _ kind: FHIRPathTemporal.Kind) -> FHIRPathTemporal? {
        switch item {
        case .temporal(var t):
            if t.kind == kind { return t }
            if kind == .dateTime, t.kind == .date { t.kind = .dateTime; return t }
            if kind == .date, t.kind == .dateTime {
                var d = FHIRPathTemporal(kind: .date); d.year = t.year; d.month = t.month; d.day = t.day
                return d
            }
            return nil
        case .string(let s):
            if kind == .time { return FHIRPathTemporal.parse("T" + s, kind: .time) }
            guard let t = FHIRPathTemporal.parse(s) else { return nil }
            return toTemporal(.temporal(t), kind)
        default: return nil
        }
    }

    func toQuantity(_ item: FHIRPathItem) -> FHIRPathQuantity? {
        switch item {
        case .quantity(let q): return q
        case .integer, .decimal: return decimalItem(item).map { FHIRPathQuantity(value: $0, unit: "1") }
        case .boolean(let b): return FHIRPathQuantity(value: FHIRPathDecimal(b ? 1 : 0, scale: 1), unit: "1")
        case .string(let s):
            let pattern = #"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:'([^']+)'|([a-z]+))?\s*$"#
            guard let regex = try? NSRegularExpression(pattern: pattern),
                  let match = regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)),
                  let numberRange = Range(match.range(at: 1), in: s), let value = FHIRPathDecimal(String(s[numberRange]))
            else { return nil }
            if let unitRange = Range(match.range(at: 2), in: s) { return FHIRPathQuantity(value: value, unit: String(s[unitRange])) }
            if let wordRange = Range(match.range(at: 3), in: s) {
                let word = String(s[wordRange])
                guard Self.calendarSeconds[word] != nil || ["year", "years", "month", "months"].contains(word) else { return nil }
                return FHIRPathQuantity(value: value, unit: word)
            }
            return FHIRPathQuantity(value: value, unit: "1")
        default: return nil
        }
    }

    func codec(_ s: String, format: String, encode: Bool) -> String? {
        switch (format, encode) {
        case ("hex", true): return s.utf8.map { String(format: "%02x", $0) }.joined()
        case ("hex", false):
            var bytes: [UInt8] = []
            var chars = Array(s)
            guard chars.count % 2 == 0 else { return nil }
            while !chars.isEmpty {
                guard let b = UInt8(String(chars.prefix(2)), radix: 16) else { return nil }
                bytes.append(b)
                chars.removeFirst(2)
            }
            return String(decoding: bytes, as: UTF8.self)
        case ("base64", true): return Data(s.utf8).base64EncodedString()
        case ("urlbase64", true):
            return Data(s.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        case ("base64", false), ("urlbase64", false):
            let standard = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            return Data(base64Encoded: standard).map { String(decoding: $0, as: UTF8.self) }
        default: return nil
        }
    }

    func escape(_ s: String, format: String, unescape: Bool) -> String {
        let pairs: [(String, String)] = format == "html"
            ? [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\"", "&quot;"), ("'", "&#39;")]
            : [("\\", "\\\\"), ("\"", "\\\""), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")]
        var out = s
        if unescape {
            for (plain, escaped) in pairs.reversed() { out = out.replacingOccurrences(of: escaped, with: plain) }
        } else {
            for (plain, escaped) in pairs { out = out.replacingOccurrences(of: plain, with: escaped) }
        }
        return out
    }

    // MARK: Boundaries

    func boundary(_ item: FHIRPathItem, precision: Int?, low: Bool) -> FHIRPathItem? {
        switch item {
        case .integer, .decimal:
            let d = decimalItem(item)!
            guard let value = decimalBoundary(d, precision: precision, low: low) else { return nil }
            return .decimal(value)
        case .quantity(let q):
            guard let value = decimalBoundary(q.value, precision: precision, low: low) else { return nil }
            return .quantity(FHIRPathQuantity(value: value, unit: q.unit))
        case .temporal(let t):
            return temporalBoundary(t, precision: precision, low: low).map { .temporal($0) }
        default:
            return nil
        }
    }

    private func decimalBoundary(_ d: FHIRPathDecimal, precision: Int?, low: Bool) -> FHIRPathDecimal? {
        let target = precision ?? 8
        guard target >= 0, target <= 28 else { return nil }
        // The value stands for an interval half a unit of its last digit wide on each side.
        var half = Decimal(5)
        for _ in 0...d.scale { half /= 10 }
        let edge = low ? d.value - half : d.value + half
        var rounded = Decimal(), e = edge
        let mode: NSDecimalNumber.RoundingMode = (low ? .down : .up)
        if target < d.scale + 1 {
            NSDecimalRound(&rounded, &e, target, d.value < 0 ? (low ? .down : .up) : (low ? .down : .up))
            // Rounding towards the interval keeps the boundary inside it.
            var plain = Decimal(), v = d.value
            NSDecimalRound(&plain, &v, target, mode)
            if low, d.value >= 0 { rounded = plain } else if !low, d.value < 0 { rounded = plain }
        } else {
            rounded = edge
        }
        return FHIRPathDecimal(rounded, scale: target)
    }

    private func temporalBoundary(_ t: FHIRPathTemporal, precision: Int?, low: Bool) -> FHIRPathTemporal? {
        var r = t
        if t.kind == .time {
            let p = precision ?? 9
            guard [2, 4, 6, 9].contains(p) else { return nil }
            r.minute = p >= 4 ? (t.minute ?? (low ? 0 : 59)) : nil
            r.second = p >= 6 ? (t.second ?? (low ? 0 : 59)) : nil
            r.millisecond = p >= 9 ? (t.millisecond ?? (low ? 0 : 999)) : nil
            r.fractionDigits = p >= 9 ? 3 : 0
            return r
        }
        let p = precision ?? (t.kind == .date ? 8 : 17)
        guard [4, 6, 8, 10, 12, 14, 17].contains(p) else { return nil }
        r.month = p >= 6 ? (t.month ?? (low ? 1 : 12)) : nil
        r.day = p >= 8 ? (t.day ?? (low ? 1 : FHIRDateTime.daysIn(month: r.month ?? 12, year: t.year))) : nil
        if t.kind == .date && p > 8 { r.kind = .dateTime }
        if p > 8 {
            r.hour = t.hour ?? (low ? 0 : 23)
            r.minute = p >= 12 ? (t.minute ?? (low ? 0 : 59)) : nil
            r.second = p >= 14 ? (t.second ?? (low ? 0 : 59)) : nil
            r.millisecond = p >= 17 ? (t.millisecond ?? (low ? 0 : 999)) : nil
            r.fractionDigits = p >= 17 ? 3 : 0
            r.zoneMinutes = t.zoneMinutes ?? (low ? 14 * 60 : -12 * 60)
        } else {
            r.kind = .date
            r.hour = nil; r.minute = nil; r.second = nil; r.millisecond = nil; r.zoneMinutes = nil; r.fractionDigits = 0
        }
        return r
    }
}
