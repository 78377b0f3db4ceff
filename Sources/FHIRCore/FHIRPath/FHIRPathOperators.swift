import Foundation

extension FHIRPathEngine {
    func binary(_ op: String, _ leftExpression: FHIRPathExpression, _ rightExpression: FHIRPathExpression,
                _ focus: [FHIRPathItem], _ context: Context) throws(FHIRPathError) -> [FHIRPathItem] {
        let left = try eval(leftExpression, focus, context)
        // `and`/`or`/`implies` short-circuit as the three-valued tables allow.
        switch op {
        case "and":
            let l = try boolean(left, "and")
            if l == false { return [.boolean(false)] }
            let r = try boolean(eval(rightExpression, focus, context), "and")
            if r == false { return [.boolean(false)] }
            if l == true, r == true { return [.boolean(true)] }
            return []
        case "or":
            let l = try boolean(left, "or")
            if l == true { return [.boolean(true)] }
            let r = try boolean(eval(rightExpression, focus, context), "or")
            if r == true { return [.boolean(true)] }
            if l == false, r == false { return [.boolean(false)] }
            return []
        case "implies":
            let l = try boolean(left, "implies")
            if l == false { return [.boolean(true)] }
            let r = try boolean(eval(rightExpression, focus, context), "implies")
            if r == true { return [.boolean(true)] }
            if l == true, r == false { return [.boolean(false)] }
            return []
        default:
            break
        }
        let right = try eval(rightExpression, focus, context)
        switch op {
        case "xor":
            guard let l = try boolean(left, "xor"), let r = try boolean(right, "xor") else { return [] }
            return [.boolean(l != r)]
        case "|":
            return distinct(left + right)
        case "=":
            guard !left.isEmpty, !right.isEmpty else { return [] }
            return collectionsEqual(left, right).map { [.boolean($0)] } ?? []
        case "!=":
            guard !left.isEmpty, !right.isEmpty else { return [] }
            return collectionsEqual(left, right).map { [.boolean(!$0)] } ?? []
        case "~":
            return [.boolean(collectionsEquivalent(left, right))]
        case "!~":
            return [.boolean(!collectionsEquivalent(left, right))]
        case "in", "contains":
            let (element, collection) = op == "in" ? (left, right) : (right, left)
            guard !element.isEmpty else { return [] }
            guard element.count == 1 else { throw FHIRPathError(.execution, "'\(op)' needs a single item") }
            return [.boolean(collection.contains { equal(element[0], $0) == true })]
        case "<", ">", "<=", ">=":
            guard !left.isEmpty, !right.isEmpty else { return [] }
            guard left.count == 1, right.count == 1 else { throw FHIRPathError(.execution, "'\(op)' needs single values") }
            guard let order = try compare(left[0], right[0]) else { return [] }
            switch op {
            case "<": return [.boolean(order == .orderedAscending)]
            case ">": return [.boolean(order == .orderedDescending)]
            case "<=": return [.boolean(order != .orderedDescending)]
            default: return [.boolean(order != .orderedAscending)]
            }
        case "&":
            guard left.count <= 1, right.count <= 1 else { throw FHIRPathError(.execution, "'&' needs single values") }
            let l = try singleString(left, "&") ?? "", r = try singleString(right, "&") ?? ""
            return [.string(l + r)]
        default:
            guard !left.isEmpty, !right.isEmpty else { return [] }
            guard left.count == 1, right.count == 1 else { throw FHIRPathError(.execution, "'\(op)' needs single values") }
            guard let l = left[0].systemValue, let r = right[0].systemValue else { return [] }
            return try arithmetic(op, l, r).map { [$0] } ?? []
        }
    }

    // MARK: Equality

    func distinct(_ items: [FHIRPathItem]) -> [FHIRPathItem] {
        var result: [FHIRPathItem] = []
        for item in items where !result.contains(where: { equal($0, item) == true }) { result.append(item) }
        return result
    }

    func collectionsEqual(_ a: [FHIRPathItem], _ b: [FHIRPathItem]) -> Bool? {
        guard a.count == b.count else { return false }
        var unknown = false
        for (x, y) in zip(a, b) {
            switch equal(x, y) {
            case false?: return false
            case nil: unknown = true
            default: break
            }
        }
        return unknown ? nil : true
    }

    func collectionsEquivalent(_ a: [FHIRPathItem], _ b: [FHIRPathItem]) -> Bool {
        guard a.count == b.count else { return false }
        var remaining = b
        for x in a {
            guard let index = remaining.firstIndex(where: { equivalent(x, $0) }) else { return false }
            remaining.remove(at: index)
        }
        return true
    }

    /// `=` on two items: nil when unknown (dates of different precision).
    func equal(_ x: FHIRPathItem, _ y: FHIRPathItem) -> Bool? {
        if case .node(let a) = x, case .node(let b) = y, a.systemValue == nil || b.systemValue == nil {
            guard let av = a.value, let bv = b.value else { return false }
            return av == bv
        }
        guard let a = x.systemValue, let b = y.systemValue else { return false }
        switch (a, b) {
        case (.boolean(let p), .boolean(let q)): return p == q
        case (.string(let p), .string(let q)): return p == q
        case (.integer(let p), .integer(let q)): return p == q
        case (.integer, .decimal), (.decimal, .integer), (.decimal, .decimal): return decimal(a)! == decimal(b)!
        case (.temporal(let p), .temporal(let q)):
            guard p.kind == q.kind || (p.kind != .time && q.kind != .time) else { return false }
            return p.compare(to: q).map { $0 == .orderedSame }
        case (.quantity(let p), .quantity(let q)):
            guard let (l, r) = commensurable(p, q) else { return false }
            return l == r
        case (.typeInfo(let n1, let m1), .typeInfo(let n2, let m2)): return n1 == n2 && m1 == m2
        default: return false
        }
    }

    func equivalent(_ x: FHIRPathItem, _ y: FHIRPathItem) -> Bool {
        guard let a = x.systemValue, let b = y.systemValue else { return equal(x, y) ?? false }
        switch (a, b) {
        case (.string(let p), .string(let q)):
            func normal(_ s: String) -> String { s.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            return normal(p) == normal(q)
        case (.integer, .decimal), (.decimal, .integer), (.decimal, .decimal):
            let p = decimalItem(a)!, q = decimalItem(b)!
            let scale = min(p.scale, q.scale)
            return FHIRPathDecimal(p.value, scale: scale).text == FHIRPathDecimal(q.value, scale: scale).text
        case (.temporal(let p), .temporal(let q)):
            return p.precision == q.precision && p.compare(to: q) == .orderedSame
        case (.quantity(let p), .quantity(let q)):
            guard let (l, r) = commensurable(p, q, equivalence: true) else { return false }
            let scale = min(p.value.scale, q.value.scale)
            return FHIRPathDecimal(l, scale: scale).text == FHIRPathDecimal(r, scale: scale).text
        default:
            return equal(a, b) ?? false
        }
    }

    func decimal(_ item: FHIRPathItem) -> Decimal? { decimalItem(item)?.value }

    func decimalItem(_ item: FHIRPathItem) -> FHIRPathDecimal? {
        switch item.systemValue {
        case .integer(let i)?: return FHIRPathDecimal(Decimal(i), scale: 0)
        case .decimal(let d)?: return d
        default: return nil
        }
    }

    func compare(_ x: FHIRPathItem, _ y: FHIRPathItem) throws(FHIRPathError) -> ComparisonResult? {
        guard let a = x.systemValue, let b = y.systemValue else { throw FHIRPathError(.execution, "cannot compare complex values") }
        switch (a, b) {
        case (.string(let p), .string(let q)): return p == q ? .orderedSame : (p < q ? .orderedAscending : .orderedDescending)
        case (.integer, .integer), (.integer, .decimal), (.decimal, .integer), (.decimal, .decimal):
            let p = decimal(a)!, q = decimal(b)!
            return p == q ? .orderedSame : (p < q ? .orderedAscending : .orderedDescending)
        case (.temporal(let p), .temporal(let q)):
            guard (p.kind == .time) == (q.kind == .time) else { throw FHIRPathError(.execution, "cannot compare a time with a date") }
            return p.compare(to: q)
        case (.quantity(let p), .quantity(let q)):
            guard let (l, r) = commensurable(p, q) else { return nil }
            return l == r ? .orderedSame : (l < r ? .orderedAscending : .orderedDescending)
        default:
            throw FHIRPathError(.execution, "cannot compare \(systemTypeName(a)) with \(systemTypeName(b))")
        }
    }

    // MARK: Quantities

    /// UCUM units Kärna converts between, as (dimension, factor to the base unit).
    static let units: [String: (String, Decimal)] = [
        "ms": ("s", Decimal(string: "0.001")!), "s": ("s", 1), "min": ("s", 60), "h": ("s", 3600), "d": ("s", 86400), "wk": ("s", 604_800),
        "g": ("g", 1), "mg": ("g", Decimal(string: "0.001")!), "kg": ("g", 1000), "ug": ("g", Decimal(string: "0.000001")!),
        "m": ("m", 1), "cm": ("m", Decimal(string: "0.01")!), "mm": ("m", Decimal(string: "0.001")!), "km": ("m", 1000),
        "L": ("L", 1), "l": ("L", 1), "mL": ("L", Decimal(string: "0.001")!), "dL": ("L", Decimal(string: "0.1")!),
        "1": ("1", 1),
    ]
    static let calendarSeconds: [String: Decimal] = [
        "week": 604_800, "weeks": 604_800, "day": 86400, "days": 86400, "hour": 3600, "hours": 3600,
        "minute": 60, "minutes": 60, "second": 1, "seconds": 1, "millisecond": Decimal(string: "0.001")!, "milliseconds": Decimal(string: "0.001")!,
    ]

    /// Both values in one unit, or nil when the units do not convert (calendar years and months never equal UCUM `a`/`mo`).
    func commensurable(_ p: FHIRPathQuantity, _ q: FHIRPathQuantity, equivalence: Bool = false) -> (Decimal, Decimal)? {
        if p.unit == q.unit { return (p.value.value, q.value.value) }
        func base(_ unit: String) -> (String, Decimal)? {
            if let calendar = Self.calendarSeconds[unit] { return ("s", calendar) }
            if ["year", "years"].contains(unit) { return equivalence ? ("a", 1) : nil }
            if ["month", "months"].contains(unit) { return equivalence ? ("mo", 1) : nil }
            if unit == "a" || unit == "mo" { return (unit, 1) }
            return Self.units[unit]
        }
        guard let (dp, fp) = base(p.unit), let (dq, fq) = base(q.unit), dp == dq else { return nil }
        return (p.value.value * fp, q.value.value * fq)
    }

    // MARK: Arithmetic

    func arithmetic(_ op: String, _ a: FHIRPathItem, _ b: FHIRPathItem) throws(FHIRPathError) -> FHIRPathItem? {
        switch (a, b) {
        case (.integer(let p), .integer(let q)) where op != "/":
            switch op {
            case "+": return .integer(p + q)
            case "-": return .integer(p - q)
            case "*": return .integer(p * q)
            case "div": return q == 0 ? nil : .integer(p / q)
            case "mod": return q == 0 ? nil : .integer(p % q)
            default: break
            }
        case (.string(let p), .string(let q)) where op == "+":
            return .string(p + q)
        case (.temporal(let t), .quantity(let q)) where op == "+" || op == "-":
            return try add(q, to: t, sign: op == "+" ? 1 : -1).map { .temporal($0) }
        case (.quantity(let p), .quantity(let q)):
            switch op {
            case "+", "-":
                guard let (l, r) = commensurable(p, q) else { return nil }
                let unit = p.unit
                let value = op == "+" ? l + r : l - r
                let factor = commensurable(FHIRPathQuantity(value: FHIRPathDecimal(1, scale: 0), unit: unit), FHIRPathQuantity(value: FHIRPathDecimal(1, scale: 0), unit: unit))!.0
                return .quantity(FHIRPathQuantity(value: FHIRPathDecimal(value / factor, scale: max(p.value.scale, q.value.scale)), unit: unit))
            case "*":
                return .quantity(FHIRPathQuantity(value: FHIRPathDecimal(p.value.value * q.value.value, scale: p.value.scale + q.value.scale),
                                                  unit: p.unit == "1" ? q.unit : q.unit == "1" ? p.unit : "\(p.unit).\(q.unit)"))
            case "/":
                guard q.value.value != 0 else { return nil }
                if let (l, r) = commensurable(p, q) {
                    return .quantity(FHIRPathQuantity(value: FHIRPathDecimal(l / r, scale: 8), unit: "1"))
                }
                return .quantity(FHIRPathQuantity(value: FHIRPathDecimal(p.value.value / q.value.value, scale: 8), unit: "\(p.unit)/\(q.unit)"))
            default: return nil
            }
        case (.quantity(let p), .integer), (.quantity(let p), .decimal):
            let factor = decimalItem(b)!
            switch op {
            case "*": return .quantity(FHIRPathQuantity(value: FHIRPathDecimal(p.value.value * factor.value, scale: p.value.scale + factor.scale), unit: p.unit))
            case "/": return factor.value == 0 ? nil : .quantity(FHIRPathQuantity(value: FHIRPathDecimal(p.value.value / factor.value, scale: 8), unit: p.unit))
            default: return nil
            }
        case (.integer, .quantity), (.decimal, .quantity):
            return op == "*" ? try arithmetic(op, b, a) : nil
        default:
            break
        }
        guard let p = decimalItem(a), let q = decimalItem(b) else {
            throw FHIRPathError(.execution, "'\(op)' cannot apply to \(systemTypeName(a)) and \(systemTypeName(b))")
        }
        switch op {
        case "+": return .decimal(FHIRPathDecimal(p.value + q.value, scale: max(p.scale, q.scale)))
        case "-": return .decimal(FHIRPathDecimal(p.value - q.value, scale: max(p.scale, q.scale)))
        case "*": return .decimal(FHIRPathDecimal(p.value * q.value, scale: p.scale + q.scale))
        case "/":
            guard q.value != 0 else { return nil }
            let result = p.value / q.value
            return .decimal(FHIRPathDecimal(result, scale: Self.naturalScale(result, limit: 8)))
        case "div":
            guard q.value != 0 else { return nil }
            var quotient = p.value / q.value, truncated = Decimal()
            NSDecimalRound(&truncated, &quotient, 0, quotient < 0 ? .up : .down)
            return .integer(NSDecimalNumber(decimal: truncated).intValue)
        case "mod":
            guard q.value != 0 else { return nil }
            var quotient = p.value / q.value, truncated = Decimal()
            NSDecimalRound(&truncated, &quotient, 0, quotient < 0 ? .up : .down)
            return .decimal(FHIRPathDecimal(p.value - truncated * q.value, scale: max(p.scale, q.scale)))
        default:
            throw FHIRPathError(.syntax, "unknown operator '\(op)'")
        }
    }

    /// The fraction digits a computed decimal needs, up to `limit` (so 2 / 2 prints `1`, 1 / 3 prints 8 digits).
    static func naturalScale(_ value: Decimal, limit: Int) -> Int {
        for scale in 0...limit {
            var rounded = Decimal(), v = value
            NSDecimalRound(&rounded, &v, scale, .plain)
            if rounded == value { return scale }
        }
        return limit
    }

    func add(_ quantity: FHIRPathQuantity, to temporal: FHIRPathTemporal, sign: Int) throws(FHIRPathError) -> FHIRPathTemporal? {
        var whole = Decimal(), v = quantity.value.value
        NSDecimalRound(&whole, &v, 0, .down)
        let n = NSDecimalNumber(decimal: whole).intValue * sign
        switch quantity.unit {
        // UCUM `a` and `mo` are averages (365.25 and 30.44 days), not calendar years and months.
        case "year", "years": return temporal.adding(months: 12 * n)
        case "month", "months": return temporal.adding(months: n)
        case "week", "weeks", "wk": return temporal.adding(milliseconds: 7 * 86_400_000 * n)
        case "day", "days", "d": return temporal.adding(milliseconds: 86_400_000 * n)
        case "hour", "hours", "h": return temporal.kind == .date ? temporal : temporal.adding(milliseconds: 3_600_000 * n)
        case "minute", "minutes", "min": return temporal.kind == .date ? temporal : temporal.adding(milliseconds: 60_000 * n)
        case "second", "seconds", "s": return temporal.kind == .date ? temporal : temporal.adding(milliseconds: 1000 * n)
        case "millisecond", "milliseconds", "ms": return temporal.kind == .date ? temporal : temporal.adding(milliseconds: n)
        default: throw FHIRPathError(.execution, "cannot add '\(quantity.unit)' to a date or time")
        }
    }
}
