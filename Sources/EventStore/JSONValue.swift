/// A JSON value as the ledger stores it: objects are unordered maps, numbers keep their canonical text.
///
/// The ledger parses JSON itself (``JSONParser``) so that errors can name the JSON path, numbers keep
/// their exact value, and every stored value has one canonical spelling (``CanonicalJSON``).
///
/// Strings and keys keep the code points they were given (nothing is normalised), but `==` and hashing are
/// Swift's `String` ones, by canonical equivalence: `"é"` composed (U+00E9) equals `"e\u{301}"` although their
/// canonical bytes, and so the event hashes, differ. Compare ``CanonicalJSON/encode(_:)`` when bytes matter (as
/// an idempotent retry does). For the same reason an object cannot hold two keys equal after normalisation, and
/// ``JSONParser`` refuses them.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The members, when this is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// This object with only the members named (those it has), nil when this is not an object: what a
    /// check that reads a few members keeps of a payload it holds for long.
    package func keeping(_ names: some Sequence<String>) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        var kept: [String: JSONValue] = [:]
        for name in names { kept[name] = members[name] }
        return .object(kept)
    }
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var numberValue: JSONNumber? {
        if case .number(let n) = self { return n }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    /// The member `key`, when this is an object holding it.
    public subscript(key: String) -> JSONValue? { objectValue?[key] }

    /// The JSON type's name, for error messages.
    package var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON number in canonical form: the IEEE double it denotes, spelled as ECMAScript's `Number::toString`
/// spells it (RFC 8785, JSON Canonicalization Scheme): `2.0` is `2`, `1e-5` is `0.00001`, `1e21` is `1e+21`.
///
/// Only I-JSON numbers (RFC 7493) exist: the text is always a JSON number lexeme, integers lie within
/// ±(2^53−1) so that every JSON reader (JavaScript, Python's 4,300-digit limit) reads the same value, and
/// other numbers are finite doubles. Negative zero is spelled as zero: `-0` and `0` are one value.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The canonical text.
    public let text: String

    /// The largest integer magnitude I-JSON keeps exact: 2^53 − 1.
    public static let maximumSafeInteger: Int64 = (1 << 53) - 1

    /// Why a lexeme is not a number the ledger stores, or nil when it is one.
    package static func refusal(ofLexeme lexeme: Substring) -> String? {
        switch Lexeme(lexeme) {
        case nil: "\"\(lexeme.prefix(40))\" is not a JSON number"
        case .integer?:
            JSONNumber(lexeme: lexeme) == nil
                ? "\(lexeme.prefix(40)) is outside ±(2^53−1), the integers every JSON reader keeps exact" : nil
        case .fraction?:
            JSONNumber(lexeme: lexeme) == nil
                ? "\(lexeme.prefix(40)) is outside ±(2^53−1), the numbers every JSON reader keeps exact" : nil
        }
    }

    /// The two shapes of a JSON number lexeme: `-?(0|[1-9][0-9]*)`, and the same with a fraction or an exponent.
    private enum Lexeme {
        case integer, fraction

        init?(_ lexeme: Substring) {
            var bytes = lexeme.utf8[...]
            if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            func digits() -> Int {
                let count = bytes.prefix { $0 >= 0x30 && $0 <= 0x39 }.count
                bytes = bytes.dropFirst(count)
                return count
            }
            let first = bytes.first
            let integerDigits = digits()
            guard integerDigits > 0, first != UInt8(ascii: "0") || integerDigits == 1 else { return nil }
            var shape = Lexeme.integer
            if bytes.first == UInt8(ascii: ".") {
                bytes = bytes.dropFirst()
                guard digits() > 0 else { return nil }
                shape = .fraction
            }
            if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
                bytes = bytes.dropFirst()
                if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
                guard digits() > 0 else { return nil }
                shape = .fraction
            }
            guard bytes.isEmpty else { return nil }
            self = shape
        }
    }

    /// Canonicalises a JSON number lexeme; nil when it is not a JSON number (`+1`, `inf`, `1.`, `0x10`) or
    /// lies outside ±(2^53−1).
    package init?(lexeme: Substring) {
        guard let shape = Lexeme(lexeme) else { return nil }
        switch shape {
        case .integer:
            let negative = lexeme.first == "-"
            let digits = lexeme.drop(while: { $0 == "-" || $0 == "0" })
            guard digits.utf8.count <= 16, let magnitude = Int64(digits.isEmpty ? "0" : digits),
                magnitude <= Self.maximumSafeInteger
            else { return nil }
            text = magnitude == 0 ? "0" : (negative ? "-" : "") + digits
        case .fraction:
            // Beyond 2^53 a double is an integer that JSON readers spell and read differently (ECMAScript writes
            // 1e20 as 100000000000000000000, which Python reads as an int and I-JSON forbids): not taken.
            guard let value = Double(lexeme), value.isFinite, value.magnitude <= Double(Self.maximumSafeInteger) else {
                return nil
            }
            text = Self.ecmaScriptText(value)
        }
    }

    /// An integer; one outside ±(2^53−1) is clamped to that range, which only the ledger's own counters could reach.
    public init(_ value: Int) {
        text = String(min(max(Int64(value), -Self.maximumSafeInteger), Self.maximumSafeInteger))
    }

    /// A count of the ledger's (a position, a version), clamped to 2^53 − 1 like ``init(_:)-(Int)``.
    public init(_ value: UInt64) { text = String(min(value, UInt64(Self.maximumSafeInteger))) }

    /// A double within ±(2^53−1); nil for infinity, NaN or larger magnitudes.
    public init?(_ value: Double) {
        guard value.isFinite, value.magnitude <= Double(Self.maximumSafeInteger) else { return nil }
        text = Self.ecmaScriptText(value)
    }

    /// ECMAScript's `Number::toString(value)` for a finite double (ECMA-262 §6.1.6.1.20), as RFC 8785 §3.2.2.3
    /// requires. The shortest digits that read back to the same double come from Swift's `description`
    /// (shortest round trip, nearest on ties, like ECMAScript); only their layout is ECMAScript's.
    static func ecmaScriptText(_ value: Double) -> String {
        if value == 0 { return "0" }
        var described = Substring(value.magnitude.description)
        // Swift writes d.ddd, ddd.ddd, 0.000ddd or d.ddde±x: collect the digits and where the point falls.
        var exponent = 0
        if let e = described.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(described[described.index(after: e)...]) ?? 0
            described = described[..<e]
        }
        var digits = ""
        var pointAt = 0  // digits before the decimal point, in `described`
        var seenPoint = false
        for c in described {
            if c == "." {
                seenPoint = true
            } else {
                digits.append(c)
                if !seenPoint { pointAt += 1 }
            }
        }
        // Leading zeros move the point; trailing zeros are not significant.
        let leading = digits.prefix { $0 == "0" }.count
        digits.removeFirst(leading)
        pointAt -= leading
        while digits.last == "0" { digits.removeLast() }
        let k = digits.count
        let n = pointAt + exponent  // value = 0.digits × 10^n
        var out = value < 0 ? "-" : ""
        if k <= n && n <= 21 {
            out += digits + String(repeating: "0", count: n - k)
        } else if 0 < n && n <= 21 {
            out += digits.prefix(n) + "." + digits.dropFirst(n)
        } else if -6 < n && n <= 0 {
            out += "0." + String(repeating: "0", count: -n) + digits
        } else {
            let e = n - 1
            out +=
                String(digits.prefix(1)) + (k > 1 ? "." + digits.dropFirst(1) : "") + "e" + (e < 0 ? "-" : "+") + String(abs(e))
        }
        return out
    }

    /// The value as an integer, when it is one that fits.
    public var intValue: Int? { Int(text) }
    /// The value as a double.
    public var doubleValue: Double { Double(text) ?? .nan }
    /// True when the canonical text is an integer literal.
    public var isInteger: Bool { !text.contains(where: { $0 == "." || $0 == "e" }) }
    public var description: String { text }
}
