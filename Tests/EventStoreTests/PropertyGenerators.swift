import EventStore
import LedgerTestSupport

/// A seeded generator of awkward JSON (SplitMix64): text from every plane (accents, combining marks, CJK, Hangul,
/// private use, the noncharacters U+FFFE/FFFF, emoji and other astral code points, C0 and C1 controls, the
/// separators U+2028/2029, quotes and backslashes), doubles at the edges (subnormals, 5e-324, -0.0, integers
/// near 2^53, and beyond the stored range, 1e308), objects nested to the parser's limit, keys equal after
/// Unicode normalisation, and non-canonical spellings of the same values. The same seed gives the same values
/// (``SeededRandom``), so a failing case is reproduced from the seed it prints.
struct AwkwardJSON: RandomNumberGenerator {
    private var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func chance(_ oneIn: Int) -> Bool { int(1...oneIn) == 1 }
    mutating func pick<T>(_ choices: [T]) -> T { choices.randomElement(using: &self)! }

    // MARK: Text

    /// Blocks of code points, each as likely as the others whatever its size.
    static let blocks: [ClosedRange<UInt32>] = [
        0x20...0x7E,  // printable ASCII, `"`, `\` and `/` among them
        0x00...0x1F,  // C0 controls: escaped in canonical JSON
        0x7F...0x9F,  // DEL and C1 controls: not escaped
        0xC0...0x17F,  // Latin letters with accents
        0x300...0x36F,  // combining marks
        0x4E00...0x9FFF,  // CJK ideographs
        0xAC00...0xD7A3,  // Hangul syllables (each decomposes into two or three jamo)
        0x2028...0x2029,  // line and paragraph separators
        0xE000...0xF8FF,  // private use: above the surrogates, so UTF-16 sorts it after the astral planes
        0xFFF0...0xFFFF,  // specials and the noncharacters U+FFFE, U+FFFF
        0x1F300...0x1FAFF,  // emoji
        0x10000...0x10FFFF,  // any astral code point
    ]

    mutating func scalar() -> Unicode.Scalar {
        Unicode.Scalar(UInt32.random(in: pick(Self.blocks), using: &self))!
    }

    mutating func string(maximumLength: Int = 8) -> String {
        var s = String.UnicodeScalarView()
        for _ in 0..<int(0...maximumLength) { s.append(scalar()) }
        return String(s)
    }

    /// Spellings that are byte for byte different and equal after Unicode normalisation (canonically equivalent):
    /// composed and decomposed, marks in either order, singletons (U+212B ANGSTROM SIGN is U+00C5), a
    /// composition exclusion (U+FB2C), Hangul, and astral ones (U+1D15E, U+2F800).
    static let equivalentSpellings: [[String]] = [
        ["\u{E9}", "e\u{301}"], ["\u{F1}", "n\u{303}"], ["\u{C5}", "A\u{30A}", "\u{212B}"],
        ["\u{1E69}", "s\u{323}\u{307}", "s\u{307}\u{323}", "\u{1E61}\u{323}", "\u{1E63}\u{307}"],
        ["\u{AC00}", "\u{1100}\u{1161}"], ["\u{D55C}", "\u{1112}\u{1161}\u{11AB}"], ["\u{3A9}", "\u{2126}"],
        ["\u{FB2C}", "\u{5E9}\u{5BC}\u{5C1}"], ["\u{8C48}", "\u{F900}"], ["\u{1D15E}", "\u{1D157}\u{1D165}"],
        ["\u{4E3D}", "\u{2F800}"],
    ]

    /// Two spellings of one key that Swift's `String` takes as equal and RFC 8785 as two keys: the same random
    /// text around two equivalent spellings (equivalence survives any text around it).
    mutating func equivalentKeys() -> (String, String) {
        let row = pick(Self.equivalentSpellings)
        let first = int(0..<row.count)
        let second = (first + int(1..<row.count)) % row.count
        let prefix = string(maximumLength: 3)
        let suffix = string(maximumLength: 3)
        return (prefix + row[first] + suffix, prefix + row[second] + suffix)
    }

    // MARK: Numbers

    /// A finite double the ledger stores (magnitude at most 2^53 − 1), from every part of the range.
    mutating func storableDouble() -> Double {
        switch int(0..<5) {
        case 0: return Double(int(-1_000_000...1_000_000)) / 1000
        case 1:
            // Any bit pattern: subnormals, tiny and huge exponents, either sign; scaled down into the range.
            let d = Double(bitPattern: next())
            guard d.isFinite else { return 1.5 }
            return d.magnitude <= 9_007_199_254_740_991 ? d : d / 1e300 / 1e300
        case 2:
            return Double(
                sign: chance(2) ? .minus : .plus, exponent: int(-1074...52),
                significand: 1.0 + Double.random(in: 0..<1, using: &self))
        case 3:
            // Integers near 2^53, where doubles stop being exact.
            return Double(int(-16...0) + 9_007_199_254_740_991) * (chance(2) ? -1 : 1)
        default:
            return pick([
                // 5e-324 is the least subnormal, spelled so because the literal would warn.
                0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 2 * .leastNonzeroMagnitude,
                2.2250738585072014e-308, 1e-7, 1e-6, 0.1, 2.0, 1e15,
                4_503_599_627_370_495.5, 9_007_199_254_740_991, -9_007_199_254_740_991, 0.000001, 123456789012345.6,
            ])
        }
    }

    /// Finite or not, numbers the ledger refuses: beyond ±(2^53 − 1), as a JSON lexeme.
    mutating func outOfRangeLexeme() -> String {
        pick([
            "1e308", "-1e308", "1.7976931348623157e308", "9007199254740992", "-9007199254740992", "9007199254740993",
            "9.007199254740992e15", "1e16", "1E400", "-1e400", "123456789012345678901234567890", "2e53",
            "\(Double(bitPattern: 0x4340_0000_0000_0000 | (next() & 0x000F_FFFF_FFFF_FFFF)))",
        ])
    }

    mutating func number() -> JSONNumber {
        chance(3) ? JSONNumber(int(-1_000_000...1_000_000)) : JSONNumber(storableDouble())!
    }

    // MARK: Values

    /// A value at most `depth` containers deep; sometimes a tower that goes straight to that depth.
    mutating func value(depth: Int = 5) -> JSONValue {
        if depth > 0, chance(12) { return tower(depth: depth) }
        switch int(0..<(depth > 0 ? 8 : 5)) {
        case 0: return .null
        case 1: return .bool(chance(2))
        case 2: return .number(number())
        case 3, 4: return .string(string())
        case 5, 6: return object(depth: depth)
        default: return .array((0..<int(0...4)).map { _ in value(depth: depth - 1) })
        }
    }

    mutating func object(depth: Int) -> JSONValue {
        var members: [String: JSONValue] = [:]
        // Keys equal as Swift strings fold into one member, as they would in any dictionary.
        for _ in 0..<int(0...5) { members[string()] = value(depth: depth - 1) }
        return .object(members)
    }

    /// `depth` nested containers, arrays or objects at random, around one scalar.
    mutating func tower(depth: Int) -> JSONValue {
        var value = JSONValue.string(string())
        for _ in 0..<depth { value = chance(2) ? .array([value]) : .object([string(): value]) }
        return value
    }

    // MARK: Spellings

    /// Another text of `value`: white space between tokens, keys in any order, characters escaped when they
    /// need not be (astral ones as surrogate pairs), hex digits in either case, numbers as other lexemes.
    mutating func spelling(of value: JSONValue) -> String {
        var out = ""
        spell(value, into: &out)
        return space() + out + space()
    }

    private mutating func space() -> String { chance(2) ? "" : pick([" ", "\n", "\t", "\r\n", "  \n\t"]) }

    private mutating func spell(_ value: JSONValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += lexeme(of: n)
        case .string(let s): spell(string: s, into: &out)
        case .array(let elements):
            out += "[" + space()
            for (i, element) in elements.enumerated() {
                if i > 0 { out += space() + "," + space() }
                spell(element, into: &out)
            }
            out += space() + "]"
        case .object(let members):
            out += "{" + space()
            for (i, key) in members.keys.shuffled(using: &self).enumerated() {
                if i > 0 { out += space() + "," + space() }
                spell(string: key, into: &out)
                out += space() + ":" + space()
                spell(members[key]!, into: &out)
            }
            out += space() + "}"
        }
    }

    private mutating func hex4(_ unit: UInt16) -> String {
        let digits = String(unit, radix: 16)
        let padded = String(repeating: "0", count: 4 - digits.count) + digits
        return "\\u" + (chance(2) ? padded.uppercased() : padded)
    }

    private mutating func spell(string: String, into out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            let short: String? =
                switch scalar {
                case "\"": "\\\""
                case "\\": "\\\\"
                case "\u{8}": "\\b"
                case "\u{C}": "\\f"
                case "\n": "\\n"
                case "\r": "\\r"
                case "\t": "\\t"
                case "/": chance(2) ? "\\/" : nil
                default: nil
                }
            let mustEscape = scalar.value < 0x20 || scalar == "\"" || scalar == "\\"
            if let short, !mustEscape || chance(2) {
                out += short
            } else if mustEscape || chance(4) {
                for unit in UTF16.encode(scalar)! { out += hex4(unit) }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Another JSON lexeme of the same double: Swift's spelling (`1e-07`, `2.0`), an exponent, a fraction, `-0`.
    private mutating func lexeme(of number: JSONNumber) -> String {
        let d = number.doubleValue
        switch int(0..<5) {
        case 0: return d.description
        case 1 where number.isInteger: return number.text + pick([".0", "e0", "E+0", ".000e-0"])
        case 2 where d == 0: return pick(["-0", "-0.0", "0e5", "-0E-3", "0.000"])
        case 3 where !number.isInteger && !number.text.contains("e"):
            // 0.00123 as 123e-5: the digits without the point, and the exponent that puts it back.
            let digits = number.text.filter { $0 != "." && $0 != "-" }
            let point = number.text.split(separator: ".", omittingEmptySubsequences: false)[1].count
            let trimmed = digits.drop { $0 == "0" }
            return (d < 0 ? "-" : "") + (trimmed.isEmpty ? "0" : String(trimmed)) + "e-\(point)"
        default: return number.text
        }
    }
}

/// Each JSON text read by Python and written again by PyPI's rfc8785 (an independent RFC 8785 implementation), as
/// bytes; one text a line, so none may hold a raw line feed (canonical JSON never does).
func rfc8785Again(_ texts: [[UInt8]]) throws -> [[UInt8]] {
    let script = """
        import sys, rfc8785, json
        for line in sys.stdin.buffer:
            sys.stdout.buffer.write(rfc8785.dumps(json.loads(line)) + b"\\n")
        """
    let input = texts.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n") + "\n"
    let output = try python(script, input: input).utf8
    return output.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map { Array($0) }
}
