/// A parsed FHIRPath expression.
public indirect enum FHIRPathExpression: Sendable {
    case literal(FHIRPathItem)
    case empty
    /// An identifier at the start of a path or after a dot: a member name or a type name.
    case member(FHIRPathExpression?, String)
    /// A function call; a nil receiver means the current focus.
    case function(FHIRPathExpression?, String, [FHIRPathExpression])
    case indexer(FHIRPathExpression, FHIRPathExpression)
    case negate(FHIRPathExpression)
    case binary(String, FHIRPathExpression, FHIRPathExpression)
    case typeOperator(String, FHIRPathExpression, String)
    /// `%name` (environment) or `$this`, `$index`, `$total`.
    case variable(String)
}

/// A recursive-descent (precedence-climbing) parser for FHIRPath N1 as R4 uses it.
///
/// Written by hand: no Swift FHIRPath library exists among the packages this
/// project may use, and the grammar is small.
public struct FHIRPathParser {
    enum Token: Equatable {
        case identifier(String)
        /// A backtick-delimited identifier: never a keyword.
        case delimited(String)
        case string(String)
        case number(String)
        case temporal(String)
        case symbol(String)
        case variable(String)
        case end
    }

    private var tokens: [Token] = []
    private var position = 0

    /// Parses `text`, throwing a syntax error that says where it went wrong.
    public static func parse(_ text: String) throws(FHIRPathError) -> FHIRPathExpression {
        var parser = FHIRPathParser()
        parser.tokens = try tokenize(text)
        let expression = try parser.expression(0)
        guard parser.tokens[parser.position] == .end else {
            throw FHIRPathError(.syntax, "unexpected \(parser.describe(parser.tokens[parser.position])) in '\(text)'")
        }
        return expression
    }

    // MARK: Tokens

    static func tokenize(_ text: String) throws(FHIRPathError) -> [Token] {
        let c = Array(text.unicodeScalars)
        var i = 0
        var tokens: [Token] = []
        func isIdentStart(_ s: Unicode.Scalar) -> Bool { s == "_" || (s.properties.isAlphabetic && s.isASCII) }
        func isIdentPart(_ s: Unicode.Scalar) -> Bool { isIdentStart(s) || ("0"..."9").contains(s) }
        func quoted(_ close: Unicode.Scalar) throws(FHIRPathError) -> String {
            i += 1
            var out = ""
            while i < c.count, c[i] != close {
                if c[i] == "\\", i + 1 < c.count {
                    i += 1
                    switch c[i] {
                    case "n": out += "\n"
                    case "r": out += "\r"
                    case "t": out += "\t"
                    case "f": out += "\u{0C}"
                    case "u":
                        guard i + 4 < c.count, let code = UInt32(String(String.UnicodeScalarView(c[(i + 1)...(i + 4)])), radix: 16),
                              let scalar = Unicode.Scalar(code) else { throw FHIRPathError(.syntax, "bad \\u escape") }
                        out.unicodeScalars.append(scalar)
                        i += 4
                    default: out.unicodeScalars.append(c[i])
                    }
                } else {
                    out.unicodeScalars.append(c[i])
                }
                i += 1
            }
            guard i < c.count else { throw FHIRPathError(.syntax, "unterminated \(close == "'" ? "string" : "identifier") in '\(text)'") }
            i += 1
            return out
        }
        while i < c.count {
            let s = c[i]
            if s.properties.isWhitespace { i += 1; continue }
            if s == "/", i + 1 < c.count, c[i + 1] == "/" {
                while i < c.count, c[i] != "\n" { i += 1 }
                continue
            }
            if s == "/", i + 1 < c.count, c[i + 1] == "*" {
                i += 2
                while i + 1 < c.count, !(c[i] == "*" && c[i + 1] == "/") { i += 1 }
                guard i + 1 < c.count else { throw FHIRPathError(.syntax, "unterminated comment in '\(text)'") }
                i += 2
                continue
            }
            if s == "'" { tokens.append(.string(try quoted("'"))); continue }
            if s == "`" { tokens.append(.delimited(try quoted("`"))); continue }
            if s == "@" {
                var j = i + 1
                while j < c.count, c[j].properties.isAlphabetic || ("0"..."9").contains(c[j]) || "-:.+TZ".unicodeScalars.contains(c[j]) {
                    // A '+' or '-' after the time belongs to a zone only when digits follow.
                    if (c[j] == "+" || c[j] == "-"), !(j + 1 < c.count && ("0"..."9").contains(c[j + 1])) { break }
                    // A '.' ends the literal when a function name follows (`@2014.lowBoundary()`).
                    if c[j] == ".", !(j + 1 < c.count && ("0"..."9").contains(c[j + 1])) { break }
                    j += 1
                }
                tokens.append(.temporal(String(String.UnicodeScalarView(c[(i + 1)..<j]))))
                i = j
                continue
            }
            if ("0"..."9").contains(s) {
                var j = i
                while j < c.count, ("0"..."9").contains(c[j]) { j += 1 }
                if j + 1 < c.count, c[j] == ".", ("0"..."9").contains(c[j + 1]) {
                    j += 1
                    while j < c.count, ("0"..."9").contains(c[j]) { j += 1 }
                }
                tokens.append(.number(String(String.UnicodeScalarView(c[i..<j]))))
                if j < c.count, c[j] == "L" { j += 1 }
                i = j
                continue
            }
            if s == "%" || s == "$" {
                i += 1
                if i < c.count, c[i] == "`" || c[i] == "'" {
                    tokens.append(.variable(try quoted(c[i])))
                    continue
                }
                let start = i
                while i < c.count, isIdentPart(c[i]) || c[i] == "-" { i += 1 }
                let name = String(String.UnicodeScalarView(c[start..<i]))
                tokens.append(.variable(s == "$" ? "$" + name : name))
                continue
            }
            if isIdentStart(s) {
                let start = i
                while i < c.count, isIdentPart(c[i]) { i += 1 }
                tokens.append(.identifier(String(String.UnicodeScalarView(c[start..<i]))))
                continue
            }
            let two = i + 1 < c.count ? String(String.UnicodeScalarView([s, c[i + 1]])) : ""
            if ["<=", ">=", "!=", "!~"].contains(two) { tokens.append(.symbol(two)); i += 2; continue }
            if "+-*/|&=~<>()[]{},.".unicodeScalars.contains(s) { tokens.append(.symbol(String(s))); i += 1; continue }
            throw FHIRPathError(.syntax, "unexpected character '\(s)' at \(i) in '\(text)'")
        }
        tokens.append(.end)
        return tokens
    }

    func describe(_ token: Token) -> String {
        switch token {
        case .identifier(let s), .delimited(let s): "'\(s)'"
        case .string(let s): "string '\(s)'"
        case .number(let s): "number \(s)"
        case .temporal(let s): "@\(s)"
        case .symbol(let s): "'\(s)'"
        case .variable(let s): "%\(s)"
        case .end: "end of expression"
        }
    }

    // MARK: Expressions

    /// Binding powers, lowest first, as the FHIRPath operator precedence table lists them.
    private static func infix(_ token: Token) -> (String, Int)? {
        switch token {
        case .identifier("implies"): ("implies", 1)
        case .identifier("or"): ("or", 2)
        case .identifier("xor"): ("xor", 2)
        case .identifier("and"): ("and", 3)
        case .identifier("in"): ("in", 4)
        case .identifier("contains"): ("contains", 4)
        case .symbol(let s) where ["=", "~", "!=", "!~"].contains(s): (s, 5)
        case .symbol(let s) where ["<", ">", "<=", ">="].contains(s): (s, 6)
        case .symbol("|"): ("|", 7)
        case .identifier("is"): ("is", 8)
        case .identifier("as"): ("as", 8)
        case .symbol(let s) where ["+", "-", "&"].contains(s): (s, 9)
        case .symbol(let s) where ["*", "/"].contains(s): (s, 10)
        case .identifier("div"): ("div", 10)
        case .identifier("mod"): ("mod", 10)
        default: nil
        }
    }

    private mutating func expression(_ minimum: Int) throws(FHIRPathError) -> FHIRPathExpression {
        var left = try unary()
        while let (op, power) = Self.infix(tokens[position]), power > minimum {
            position += 1
            if op == "is" || op == "as" {
                left = .typeOperator(op, left, try typeSpecifier())
                continue
            }
            let right = try expression(power)
            left = .binary(op, left, right)
        }
        return left
    }

    private mutating func typeSpecifier() throws(FHIRPathError) -> String {
        var name = try identifierName()
        while tokens[position] == .symbol("."), case .identifier(let next) = tokens[position + 1] {
            position += 2
            name += "." + next
        }
        return name
    }

    private mutating func identifierName() throws(FHIRPathError) -> String {
        switch tokens[position] {
        case .identifier(let s), .delimited(let s):
            position += 1
            return s
        default:
            throw FHIRPathError(.syntax, "expected a name but found \(describe(tokens[position]))")
        }
    }

    private mutating func unary() throws(FHIRPathError) -> FHIRPathExpression {
        if tokens[position] == .symbol("-") {
            position += 1
            return .negate(try unary())
        }
        if tokens[position] == .symbol("+") {
            position += 1
            return try unary()
        }
        return try postfix(try term())
    }

    private mutating func postfix(_ start: FHIRPathExpression) throws(FHIRPathError) -> FHIRPathExpression {
        var expression = start
        while true {
            if tokens[position] == .symbol(".") {
                position += 1
                let name = try identifierName()
                if tokens[position] == .symbol("(") {
                    expression = .function(expression, name, try arguments())
                } else {
                    expression = .member(expression, name)
                }
            } else if tokens[position] == .symbol("[") {
                position += 1
                let index = try self.expression(0)
                try expect("]")
                expression = .indexer(expression, index)
            } else {
                return expression
            }
        }
    }

    private mutating func expect(_ symbol: String) throws(FHIRPathError) {
        guard tokens[position] == .symbol(symbol) else {
            throw FHIRPathError(.syntax, "expected '\(symbol)' but found \(describe(tokens[position]))")
        }
        position += 1
    }

    private mutating func arguments() throws(FHIRPathError) -> [FHIRPathExpression] {
        try expect("(")
        var list: [FHIRPathExpression] = []
        if tokens[position] == .symbol(")") { position += 1; return list }
        while true {
            list.append(try expression(0))
            if tokens[position] == .symbol(",") { position += 1; continue }
            try expect(")")
            return list
        }
    }

    private static let calendarUnits: Set<String> = [
        "year", "years", "month", "months", "week", "weeks", "day", "days",
        "hour", "hours", "minute", "minutes", "second", "seconds", "millisecond", "milliseconds",
    ]

    private mutating func term() throws(FHIRPathError) -> FHIRPathExpression {
        let token = tokens[position]
        position += 1
        switch token {
        case .number(let text):
            let number: FHIRPathItem = text.contains(".") ? .decimal(FHIRPathDecimal(text)!) : (Int(text).map { .integer($0) } ?? .decimal(FHIRPathDecimal(text)!))
            // A number followed by a unit is a Quantity literal.
            if case .string(let unit) = tokens[position] {
                position += 1
                return .literal(.quantity(FHIRPathQuantity(value: FHIRPathDecimal(text)!, unit: unit)))
            }
            if case .identifier(let unit) = tokens[position], Self.calendarUnits.contains(unit) {
                position += 1
                return .literal(.quantity(FHIRPathQuantity(value: FHIRPathDecimal(text)!, unit: unit)))
            }
            return .literal(number)
        case .string(let s):
            return .literal(.string(s))
        case .temporal(let text):
            guard let value = FHIRPathTemporal.parse(text) else { throw FHIRPathError(.syntax, "'@\(text)' is not a valid date or time") }
            return .literal(.temporal(value))
        case .variable(let name):
            return .variable(name)
        case .symbol("("):
            let inner = try expression(0)
            try expect(")")
            return inner
        case .symbol("{"):
            try expect("}")
            return .empty
        case .identifier("true"):
            return .literal(.boolean(true))
        case .identifier("false"):
            return .literal(.boolean(false))
        case .identifier(let name), .delimited(let name):
            if tokens[position] == .symbol("(") {
                return .function(nil, name, try arguments())
            }
            return .member(nil, name)
        default:
            throw FHIRPathError(.syntax, "unexpected \(describe(token))")
        }
    }
}
