/// The words of one language: every message shown to people, looked up by key in that language's table
/// (``MessageTables``). A message may hold placeholders written `{name}`, filled from the arguments.
///
/// A key missing from a table (which a test forbids) falls back to English, then to the key itself, so that
/// a forgotten translation shows up as a readable key rather than a crash.
public struct Messages: Sendable {
    public let language: Language
    private let table: [String: String]

    public init(_ language: Language) {
        self.language = language
        self.table = MessageTables.table(for: language)
    }

    /// The English words, the default of the views that take a language.
    public static let english = Messages(.english)
    /// The French words.
    public static let french = Messages(.french)

    /// The words of `language`, without building them again.
    public static func of(_ language: Language) -> Messages { language == .french ? french : english }

    /// The message `key`, with each `{name}` replaced by `arguments[name]`.
    public func callAsFunction(_ key: String, _ arguments: [String: String] = [:]) -> String {
        let template = table[key] ?? MessageTables.english[key] ?? key
        return arguments.isEmpty ? template : Self.fill(template, arguments)
    }

    /// Whether this language's table has `key` (for labels that fall back to a derived text, such as an
    /// establishment's own service ids).
    public func has(_ key: String) -> Bool { table[key] != nil }

    /// Replaces `{name}` by its argument; a placeholder without an argument is left as written.
    static func fill(_ template: String, _ arguments: [String: String]) -> String {
        var out = ""
        out.reserveCapacity(template.utf8.count + 16)
        var rest = template[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            if let value = arguments[name] { out += value } else { out += rest[open...close] }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return out
    }

    /// The placeholders a message uses, for the test that both languages fill the same ones.
    package static func placeholders(_ template: String) -> Set<String> {
        var names: Set<String> = []
        var rest = template[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.insert(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }
}

/// One table per language. Keys are grouped by the part of the ledger that shows them (`language.`, `report.`,
/// `chart.`, `deadline.`, `catalogue.`…); each table lists the same keys, which a test checks.
package enum MessageTables {
    package static func table(for language: Language) -> [String: String] {
        switch language {
        case .french: french
        case .english: english
        }
    }
}
