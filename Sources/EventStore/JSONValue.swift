/// A JSON value as the ledger stores it: objects are unordered maps, numbers keep their canonical text.
///
/// The ledger parses JSON itself (``JSONParser``) so that errors can name the JSON path, numbers keep
/// their exact value, and every stored value has one canonical spelling (``CanonicalJSON``).
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
    public var typeName: String {
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

/// A JSON number in canonical form: integers as plain digits (any size), other numbers as the shortest
/// text that reads back to the same IEEE double (the spelling Python's `json.dumps` also produces).
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The canonical text.
    public let text: String

    /// Canonicalises a JSON number lexeme; nil when it does not fit a finite double.
    public init?(lexeme: Substring) {
        if !lexeme.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
            var digits = lexeme.drop(while: { $0 == "-" })
            if digits.isEmpty { return nil }
            digits = digits.drop(while: { $0 == "0" })
            if digits.isEmpty {
                text = "0"
            } else {
                text = (lexeme.first == "-" ? "-" : "") + digits
            }
            return
        }
        guard let value = Double(lexeme), value.isFinite else { return nil }
        text = value.description
    }

    public init(_ value: Int) { text = String(value) }

    /// A finite double; nil for infinity or NaN.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        text = value.description  // keeps "2.0": a double stays a double, as in Python

    }

    /// The value as an integer, when it is one that fits.
    public var intValue: Int? { Int(text) }
    /// The value as a double.
    public var doubleValue: Double { Double(text) ?? .nan }
    /// True when the canonical text is an integer literal.
    public var isInteger: Bool { !text.contains(where: { $0 == "." || $0 == "e" }) }
    public var description: String { text }
}
