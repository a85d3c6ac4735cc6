import EventStore
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

    /// Dates, axis ticks and durations are written with other parts in each language ("2024-01-15" against
    /// "15 janv. 2024", "3 h 20 min" against "3 h 20"): those keys may use any of their parts, and only those.
    static let partsByPrefix: [(prefix: String, parts: Set<String>)] = [
        ("date.", Messages.dateParts), ("chart.tick.", Messages.dateParts),
        ("deadline.duration.", ["days", "hours", "minutes", "minutes2"]),
    ]

    @Test func bothLanguagesFillTheSamePlaceholders() {
        for (key, english) in MessageTables.english {
            guard let french = MessageTables.french[key] else { continue }
            if let parts = Self.partsByPrefix.first(where: { key.hasPrefix($0.prefix) })?.parts {
                for text in [english, french] {
                    #expect(Messages.placeholders(text).isSubset(of: parts), "\(key): \(text)")
                }
                continue
            }
            #expect(
                Messages.placeholders(english) == Messages.placeholders(french),
                "\(key): \(english) / \(french)")
        }
    }

    @Test func everyCatalogueIdHasALabelInBothLanguages() throws {
        // The Swift catalogue, and the JSON one beside it (schemas/catalogue.json), walked in full.
        var keys: [String] = []
        for spec in Catalogue.all {
            keys.append("catalogue.event.\(spec.eventType)")
            if spec.milestone != nil { keys.append("chart.milestone.\(spec.eventType)") }
            for field in spec.fields {
                keys.append("catalogue.field.\(field.name)")
                if case .oneOf(let values) = field.kind {
                    keys += values.map { "catalogue.value.\(field.name).\($0)" }
                }
            }
        }
        keys += Services.standard.map { "catalogue.service.\($0.id)" }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schemas/catalogue.json")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let types = try #require(json["eventTypes"] as? [String: [String: Any]])
        for (type, entry) in types {
            keys.append("catalogue.event.\(type)")
            keys += (entry["fields"] as? [String] ?? []).map { "catalogue.field.\($0)" }
        }
        keys += (json["standardServices"] as? [String] ?? []).map { "catalogue.service.\($0)" }
        #expect(keys.count > 200)
        for language in Language.allCases {
            let m = Messages(language)
            let missing = Set(keys.filter { !m.has($0) }).sorted()
            #expect(missing == [], "\(language): no label for \(missing)")
        }
        // And no label for an id the catalogue does not have (a renamed field left behind).
        let known = Set(keys)
        let stale = MessageTables.english.keys.filter { $0.hasPrefix("catalogue.") && !known.contains($0) }.sorted()
        #expect(stale == [], "labels of no catalogue id: \(stale)")
    }

    @Test func everyBuiltInRuleHasItsTextsInBothLanguages() {
        #expect(!ObligationRules.defaultRules.isEmpty)
        for rule in ObligationRules.defaultRules {
            let own = ["title": rule.title, "legalBasis": rule.legalBasis, "recipient": rule.recipient]
            for (part, text) in own {
                let key = "rule.\(rule.id).\(part)"
                #expect(MessageTables.english[key] == text, "\(key): the English words are the rule's own")
                #expect(MessageTables.french[key] != nil, "\(key) missing in French")
            }
            #expect(rule.title(language: .english) == rule.title)
            #expect(rule.legalBasis(language: .english) == rule.legalBasis)
            #expect(rule.recipient(language: .english) == rule.recipient)
            #expect(rule.title(language: .french) == MessageTables.french["rule.\(rule.id).title"])
            #expect(rule.title(language: .french) != rule.title, "\(rule.id): a French title")
        }
        let csp = ObligationRules.defaultRules.first { $0.id == "csp-l1111-8-2" }
        #expect(csp?.title(language: .french) == "Signalement d'incident de sécurité en santé (sans délai)")
        #expect(csp?.legalBasis(language: .french).hasPrefix("Code de la santé publique L1111-8-2") == true)
        let cnil = ObligationRules.defaultRules.first { $0.id == "gdpr-33-cnil" }
        #expect(cnil?.legalBasis(language: .french) == "RGPD art. 33(1)")
    }

    @Test func aRuleTheTablesDoNotKnowKeepsItsOwnTexts() throws {
        let json = #"""
            {"rules": [
              {"id": "regional-ars-report", "title": "Rapport à l'ARS Bretagne", "legalBasis": "convention régionale",
               "recipient": "ARS Bretagne", "startsOn": {"eventType": "attack.detected"}, "inForceFrom": "2020-01-01"},
              {"id": "gdpr-33-cnil", "title": "Breach notice (our wording)", "legalBasis": "GDPR art. 33(1)",
               "recipient": "CNIL", "startsOn": {"eventType": "attack.detected"}, "inForceFrom": "2020-01-01"}
            ]}
            """#
        let rules = try ObligationRules.parse(try JSONParser.parse(json), source: "rules.json")
        for language in Language.allCases {
            #expect(rules[0].title(language: language) == "Rapport à l'ARS Bretagne")
            #expect(rules[0].recipient(language: language) == "ARS Bretagne")
            // A built-in id with a title of its own keeps it; its legal basis, the built-in one, is translated.
            #expect(rules[1].title(language: language) == "Breach notice (our wording)")
        }
        #expect(rules[1].legalBasis(language: .french) == "RGPD art. 33(1)")
    }

    @Test func catalogueLabelsAndTheirFallback() {
        let fr = Messages(.french)
        let en = Messages(.english)
        #expect(fr.eventType("authority.notified") == "Autorité notifiée")
        #expect(en.eventType("authority.notified") == "Authority notified")
        #expect(fr.field("peopleAffected") == "personnes concernées")
        #expect(fr.value("ambulance_diversion", field: "measure") == "délestage des ambulances")
        #expect(Services.label("patient_record", language: .french) == "Dossier patient informatisé (DPI)")
        #expect(Services.label("patient_record") == "Patient record (DPI)")
        #expect(Catalogue.spec(for: "complaint.filed")?.label(language: .french) == "Plainte déposée")
        // Unknown ids: the raw id (a service: its id made readable).
        #expect(fr.eventType("later.type") == "later.type")
        #expect(fr.field("newField") == "newField")
        #expect(fr.value("free text", field: "measure") == "free text")
        #expect(Services.label("emergency_software", language: .french) == "Emergency software")
    }

    @Test func datesInBothLanguagesFromTheTables() throws {
        // 2021-09-12 14:00 in Paris (summer time, +02:00); the 1st of a month in French is "1er".
        let t = Timestamp(microseconds: 1_631_448_000_000_000)
        #expect(Messages(.french).time(t) == "12 septembre 2021 à 14 h 00 (UTC+02:00)")
        #expect(Messages(.french).time(t, offsets: false) == "12 septembre 2021 à 14 h 00")
        #expect(Messages(.french).day(t) == "12 sept. 2021")
        #expect(Messages(.english).time(t) == "2021-09-12 14:00 +02:00")
        #expect(Messages(.english).day(t) == "2021-09-12")
        let first = Timestamp(microseconds: 1_630_447_200_000_000)  // 2021-09-01 00:00 +02:00
        #expect(Messages(.french).day(first) == "1er sept. 2021")
        let midnight = try #require(Timestamp(rfc3339: "2021-09-01T00:00:00+02:00"))
        let day = try #require(OccurredAt(precision: .day, start: midnight))
        #expect(Messages(.french).occurred(day) == "1er septembre 2021 (à la journée près)")
        #expect(Messages(.english).occurred(day) == "2021-09-01 (day)")
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
