import ArgumentParser
import Foundation
import IncidentDomain

/// `--lang`: the language of what a command shows people. Without it, the user's locale decides (French when
/// `LC_ALL`, `LC_MESSAGES` or `LANG` names a French locale, English otherwise). JSON output is never translated.
struct LanguageOption: ParsableArguments {
    @Option(
        name: .long,
        help: "fr or en: the language of the text, the report and the charts (default: French in a French locale, else English)."
    )
    var lang: String?

    /// The language asked for, or the locale's; a language the ledger does not speak is refused naming the flag.
    func language(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Language {
        guard let lang else { return Language.fromLocale(environment) }
        guard let language = Language(code: lang) else {
            throw CLIError(
                "--lang: \"\(lang)\" is not a language the ledger speaks (fr or en)", exitCode: CLIError.usage)
        }
        return language
    }
}
