import Foundation
import Testing

@testable import IncidentDomain

@Suite struct LocalizationTests {
    @Test func everyKeyIsInBothLanguages() {
        let english = Set(MessageTables.english.keys)
        let french = Set(MessageTables.french.keys)
        #expect(english.subtracting(french).sorted() == [], "keys missing in French")
        #expect(french.subtracting(english).sorted() == [], "keys missing in English")
        #expect(english.count > 1)
    }

    @Test func bothLanguagesFillTheSamePlaceholders() {
        for (key, english) in MessageTables.english {
            guard let french = MessageTables.french[key] else { continue }
            #expect(
                Messages.placeholders(english) == Messages.placeholders(french),
                "\(key): \(english) / \(french)")
        }
    }

    @Test func noMessageIsEmptyOrUntranslatedMarker() {
        for language in Language.allCases {
            for (key, text) in MessageTables.table(for: language) {
                #expect(!text.trimmingCharacters(in: .whitespaces).isEmpty, "\(language) \(key) is empty")
                #expect(!text.contains("TODO"), "\(language) \(key): \(text)")
            }
        }
    }

    @Test func placeholdersAreFilled() {
        #expect(Messages.fill("due in {d} ({at})", ["d": "2 h", "at": "14:00"]) == "due in 2 h (14:00)")
        #expect(Messages.fill("{missing} stays", [:]) == "{missing} stays")
        #expect(Messages.fill("unclosed {brace", ["brace": "x"]) == "unclosed {brace")
        #expect(Messages(.french)("language.name") == "Français")
        #expect(Messages(.english)("no.such.key") == "no.such.key")
    }

    @Test func languageFromLocaleAndCode() {
        #expect(Language.fromLocale(["LANG": "fr_FR.UTF-8"]) == .french)
        #expect(Language.fromLocale(["LC_ALL": "en_GB.UTF-8", "LANG": "fr_FR.UTF-8"]) == .english)
        #expect(Language.fromLocale(["LC_ALL": "", "LC_MESSAGES": "fr_CA", "LANG": "en_US"]) == .french)
        #expect(Language.fromLocale(["LANG": "C.UTF-8"]) == .english)
        #expect(Language.fromLocale([:]) == .english)
        #expect(Language(code: "FR") == .french)
        #expect(Language(code: "English") == .english)
        #expect(Language(code: "de") == nil)
    }
}
