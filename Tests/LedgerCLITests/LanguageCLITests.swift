import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws
    -> ProcessOutput
{
    try runProduct(
        "ledger", arguments, input: input, environment: ["LEDGER_ACTOR": "cell@ch-test.example"].merging(environment) { $1 })
}

/// Issue 12, item 3 through the real CLI: each human view says its words in French with `--lang fr` and in English
/// with `--lang en`, French by default in a French locale; JSON is the same in both; an unknown language is refused.
@Suite("--lang: French and English human output", .serialized)
struct LanguageCLITests {
    static let nantes = "440000289"
    static let incident = "incident:chu-nantes-2024-01"
    static let asOf = "2024-01-20 12:00"

    func demo() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let made = try ledger(["demo", "--data-dir", dir.path])
        #expect(made.status == 0, "\(made.stderr)")
        return dir
    }

    /// `command` in both languages: each output holds its own words and not the other language's.
    func both(
        _ dir: TemporaryDirectory, _ command: [String], french: [String], english: [String], input: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let fr = try ledger(command + ["--data-dir", dir.path, "--lang", "fr"], input: input)
        let en = try ledger(command + ["--data-dir", dir.path, "--lang", "en"], input: input)
        #expect(fr.status == 0, "\(command) fr: \(fr.stderr)", sourceLocation: sourceLocation)
        #expect(en.status == 0, "\(command) en: \(en.stderr)", sourceLocation: sourceLocation)
        for word in french {
            #expect(fr.stdout.contains(word), "\(command) fr lacks \"\(word)\":\n\(fr.stdout)", sourceLocation: sourceLocation)
            #expect(!en.stdout.contains(word), "\(command) en holds \"\(word)\"", sourceLocation: sourceLocation)
        }
        for word in english {
            #expect(en.stdout.contains(word), "\(command) en lacks \"\(word)\":\n\(en.stdout)", sourceLocation: sourceLocation)
            #expect(!fr.stdout.contains(word), "\(command) fr holds \"\(word)\"", sourceLocation: sourceLocation)
        }
    }

    @Test func stateInBothLanguages() throws {
        let dir = try demo()
        try both(
            dir, ["state", "--incident", Self.incident, "--as-of", Self.asOf],
            french: [
                "phase : ", " faits", "services perturbés :", "Messagerie externe", "(UTC+01:00)", "15 janvier 2024 à 1 h 20",
                "corrigé : date entre le ",
            ],
            english: [
                "phase: ", " facts", "services not working normally:", "External email", "down since 2024-01-15 01:20 +01:00",
                "corrected: time between ",
            ])
    }

    @Test func aGroupsStateInBothLanguages() throws {
        let dir = try demo()
        try both(
            dir, ["state", "--group", "chu-nantes", "--as-of", Self.asOf],
            french: ["groupement chu-nantes : ", "membres : ", "phase : "],
            english: ["group chu-nantes: ", "members: ", "phase: "])
    }

    @Test func timelineTextSVGAndHTMLInBothLanguages() throws {
        let dir = try demo()
        let timeline = ["timeline", "--hospital", Self.nantes, "--as-of", Self.asOf]
        try both(
            dir, timeline, french: ["légende : ", "jalons", "délai de confinement", "janv. 2024"],
            english: ["legend: ", "milestones", "time to containment"])
        try both(
            dir, timeline + ["--format", "svg"],
            french: ["chronologie du rétablissement", "situation au ", "heures de Paris", "janv.", "Jalons : "],
            english: ["recovery timeline", "as of ", "times in Europe/Paris", "Milestones: "])
        try both(
            dir, timeline + ["--format", "html"], french: ["<html lang=\"fr\">", "Chronologie du rétablissement : "],
            english: ["<html lang=\"en\">", "Recovery timeline: "])
    }

    @Test func deadlinesInBothLanguages() throws {
        let dir = try demo()
        try both(
            dir, ["deadlines", "--incident", Self.incident, "--as-of", Self.asOf],
            french: ["déclenchée : ", "déclenchée par : ", "destinataire : "], english: ["started ", "started by: ", ", to "])
        // The time left, in each language's words.
        try both(
            dir, ["deadlines", "--incident", Self.incident, "--as-of", "2024-01-15 12:00"], french: ["reste "],
            english: ["due in "])
    }

    @Test func auditReadAndStatsInBothLanguages() throws {
        let dir = try demo()
        try both(
            dir, ["audit", "--incident", Self.incident], french: ["source : ", "champs : "], english: ["source: ", "fields: "])
        try both(
            dir, ["read", "--limit", "2"], french: ["ENREGISTRÉ (PARIS)", "AUTEUR"], english: ["RECORDED (PARIS)", "ACTOR"])
        try both(dir, ["stats"], french: ["événements ", "version du registre"], english: ["events ", "ledgerVersion"])
    }

    @Test func recordAndAppendConfirmInBothLanguages() throws {
        let dir = try demo()
        let note = ["record", "note.added", "--incident", Self.incident, "--at", "2024-01-20 10:00", "--source", "test"]
        let fr = try ledger(note + ["--set", "text=une note", "--data-dir", dir.path, "--lang", "fr"])
        #expect(fr.status == 0 && fr.stdout.hasPrefix("enregistré : note.added en position "), "\(fr.stdout)\(fr.stderr)")
        let en = try ledger(note + ["--set", "text=a note", "--data-dir", dir.path, "--lang", "en"])
        #expect(en.status == 0 && en.stdout.hasPrefix("recorded note.added at position "), "\(en.stdout)\(en.stderr)")
        let event = """
            {"eventType":"note.added","streamId":"\(Self.incident)","occurredAt":{"precision":"minute","at":"2024-01-20T11:00:00+01:00"},"source":"test","payload":{"text":"x"}}
            """
        let appendedFr = try ledger(["append", "--data-dir", dir.path, "--lang", "fr"], input: event)
        #expect(
            appendedFr.status == 0 && appendedFr.stdout.hasPrefix("1 événement(s) ajouté(s) à \(Self.incident)"),
            "\(appendedFr.stdout)\(appendedFr.stderr)")
        let appendedEn = try ledger(["append", "--data-dir", dir.path, "--lang", "en"], input: event)
        #expect(
            appendedEn.status == 0 && appendedEn.stdout.hasPrefix("appended 1 event(s) to \(Self.incident)"),
            "\(appendedEn.stdout)\(appendedEn.stderr)")
    }

    @Test func aFrenchLocaleIsFrenchByDefaultAndTheCLocaleEnglish() throws {
        let dir = try demo()
        let command = ["state", "--incident", Self.incident, "--as-of", Self.asOf, "--data-dir", dir.path]
        let french = try ledger(command, environment: ["LC_ALL": "", "LC_MESSAGES": "", "LANG": "fr_FR.UTF-8"])
        #expect(french.status == 0 && french.stdout.contains("phase : "), "\(french.stdout)\(french.stderr)")
        let messages = try ledger(command, environment: ["LC_ALL": "", "LC_MESSAGES": "fr_CA.UTF-8", "LANG": "en_US.UTF-8"])
        #expect(messages.stdout.contains("phase : "), "\(messages.stdout)")
        let c = try ledger(command, environment: ["LC_ALL": "C"])
        #expect(c.status == 0 && c.stdout.contains("phase: ") && !c.stdout.contains("phase : "), "\(c.stdout)")
        // --lang wins over the locale.
        let asked = try ledger(command + ["--lang", "en"], environment: ["LC_ALL": "fr_FR.UTF-8"])
        #expect(asked.stdout.contains("phase: "), "\(asked.stdout)")
    }

    @Test func jsonIsTheSameInBothLanguagesAndAnUnknownLanguageIsRefused() throws {
        let dir = try demo()
        for command in [
            ["state", "--incident", Self.incident], ["deadlines", "--incident", Self.incident],
            ["timeline", "--hospital", Self.nantes], ["audit", "--incident", Self.incident],
        ] {
            let base = command + ["--as-of", Self.asOf, "--format", "json", "--data-dir", dir.path]
            let fr = try ledger(base + ["--lang", "fr"])
            let en = try ledger(base + ["--lang", "en"])
            #expect(fr.status == 0 && !fr.stdout.isEmpty, "\(command): \(fr.stderr)")
            #expect(fr.stdout == en.stdout, "\(command): JSON differs by language")
        }
        let refused = try ledger(["state", "--data-dir", dir.path, "--lang", "de"])
        #expect(refused.status == 2 && refused.stdout.isEmpty && refused.stderr.contains("--lang"), "\(refused.stderr)")
    }
}
