/// The languages the ledger's human output speaks: French for the French hospitals and regulators it serves,
/// English for everyone else. Stored events are never translated; only what is shown to people.
public enum Language: String, CaseIterable, Sendable, Codable {
    case french = "fr"
    case english = "en"

    /// A language named by a user (`--lang fr`, `?lang=en`): its code or its name, in any case, or a POSIX
    /// locale such as `fr_FR.UTF-8`. Nil for anything else.
    public init?(code: String) {
        let lowered = code.lowercased()
        let base = lowered.split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == "." || $0 == "@" }).first.map(String.init)
        switch base ?? lowered {
        case "fr", "french", "français", "francais": self = .french
        case "en", "english", "anglais": self = .english
        default: return nil
        }
    }

    /// The language the user's locale asks for, read from the POSIX variables in their order of precedence
    /// (`LC_ALL`, then `LC_MESSAGES`, then `LANG`; the first one set and not empty decides). French when that
    /// locale is French, English otherwise (`C`, `POSIX`, unset, or a language the ledger does not speak).
    public static func fromLocale(_ environment: [String: String]) -> Language {
        for name in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            guard let value = environment[name], !value.isEmpty else { continue }
            return Language(code: value) ?? .english
        }
        return .english
    }
}
