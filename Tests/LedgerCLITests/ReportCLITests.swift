import EventStore
import Foundation
import LedgerTestSupport
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

private func ledger(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessOutput {
    try runProduct(
        "ledger", arguments,
        environment: ["LEDGER_ACTOR": "cell@ch-test.example", "LANG": "C.UTF-8"].merging(environment) { $1 })
}

/// The elements of a page read as XML, in document order: a report that is not well-formed makes the parser
/// fail, and the test with it.
private final class Elements: NSObject, XMLParserDelegate {
    var names: [String] = []
    /// The `data-incident` of each incident section, in order.
    var sections: [String] = []
    /// The `data-status` of each row of the deadlines table, in order.
    var statuses: [String] = []
    /// The class of each table, in order.
    var tables: [String] = []
    /// Every `id` of the page (sections, the charts' patterns), to check none is given twice.
    var ids: [String] = []

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        names.append(name)
        if name == "section", let id = attributes["data-incident"] { sections.append(id) }
        if name == "table" { tables.append(attributes["class"] ?? "") }
        if let id = attributes["id"] { ids.append(id) }
        if name == "tr", let status = attributes["data-status"] { statuses.append(status) }
    }

    static func parse(_ html: String) throws -> Elements {
        let parser = XMLParser(data: Data(html.utf8))
        let elements = Elements()
        parser.delegate = elements
        guard parser.parse() else {
            throw ReportNotWellFormed(
                reason: parser.parserError.map { "\($0)" } ?? "unknown", line: parser.lineNumber)
        }
        return elements
    }
}

private struct ReportNotWellFormed: Error, CustomStringConvertible {
    let reason: String
    let line: Int
    var description: String { "the report is not well-formed XML at line \(line): \(reason)" }
}

/// `ledger report` on the demo ledger (issue 12, item 2): one self-contained page that opens with the deadlines,
/// then one section per incident; French or English by --lang (or the locale); --as-of changes what it shows;
/// unknown incidents, hospitals and groups fail with nothing written.
@Suite("ledger report: the situation report", .serialized)
struct ReportCLITests {
    static let incidents = [
        "incident:clinique-anjou-2021-01", "incident:aphp-2021-09", "incident:chu-rennes-2023-06",
        "incident:chu-nantes-2024-01", "incident:ch-cannes-2024-04",
    ]
    /// A week after the Cannes attack: every incident of the demo has begun.
    static let asOf = "2024-04-23 12:00"

    func demo() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let made = try ledger(["demo", "--data-dir", dir.path])
        #expect(made.status == 0, "\(made.stderr)")
        return dir
    }

    func report(_ dir: TemporaryDirectory, _ more: [String]) throws -> ProcessOutput {
        try ledger(["report", "--data-dir", dir.path] + more)
    }

    @Test func opensWithTheDeadlinesThenEachIncidentWellFormedAndSelfContained() throws {
        let dir = try demo()
        let out = try report(dir, ["--as-of", Self.asOf, "--lang", "en"])
        #expect(out.status == 0, "\(out.stderr)")
        let html = out.stdout
        let elements = try Elements.parse(html)
        // The incident detected last first.
        #expect(elements.sections == Self.incidents.reversed(), "\(elements.sections)")
        // The deadlines table comes before the first incident section, right after the header.
        let deadlines = try #require(html.range(of: "<section class=\"deadlines\""))
        let firstIncident = try #require(html.range(of: "<section class=\"incident\""))
        #expect(deadlines.lowerBound < firstIncident.lowerBound)
        #expect(elements.tables.first == "deadlines", "\(elements.tables.prefix(3))")
        // Five charts on one page: their patterns' ids (fills by url(#id)) and the sections' anchors are unique.
        #expect(elements.ids.count > 5 * 4 && Set(elements.ids).count == elements.ids.count, "\(elements.ids)")
        // Sorted by urgency: the overdue clocks first, then the running ones, the closed ones last.
        #expect(elements.statuses.first == "overdue", "\(elements.statuses)")
        let rank = elements.statuses.map { ["overdue": 0, "running": 1][$0] ?? 2 }
        #expect(rank == rank.sorted(), "\(elements.statuses)")
        // Overdue in words and with a mark, not by colour alone.
        #expect(html.contains("<tr class=\"overdue\" data-status=\"overdue\"><td><strong class=\"mark\">⚠ OVERDUE</strong>"))
        #expect(html.contains("overdue by "))
        // Each incident with its chart, milestones, care impact and sources.
        #expect(html.components(separatedBy: "<figure class=\"chart\"><svg").count - 1 >= Self.incidents.count)
        for heading in ["Services not working normally", "Recovery", "Care impact", "Sources: who recorded what"] {
            #expect(html.components(separatedBy: "<h3>\(heading)</h3>").count - 1 == Self.incidents.count, "\(heading)")
        }
        #expect(html.contains("authority notified (CNIL)"), "notifications are milestones")
        #expect(html.contains("<dd class=\"as-of\">2024-04-23 12:00 +02:00</dd>"), "the as-of time in the header")
        #expect(html.contains("<dd class=\"known-at\">everything recorded</dd>"))
        // Printable and self-contained: A4, no script, nothing fetched.
        #expect(html.contains("@page{size:A4;"))
        // (The charts' xmlns is a name, not a fetch; their url(#…) fills are in the page.)
        for external in ["<script", "<link", "<img", "<iframe", "src=", "href=", "@import", "url(http", "url(//"] {
            #expect(!html.contains(external), "\(external)")
        }
    }

    @Test func frenchOrEnglishByLangAndTheLocale() throws {
        let dir = try demo()
        let french = try report(dir, ["--as-of", Self.asOf, "--lang", "fr"])
        #expect(french.status == 0, "\(french.stderr)")
        #expect(french.stdout.contains("<html lang=\"fr\">"))
        for words in [
            "<h1>Point de situation — tous les incidents</h1>", "<h2>Échéances</h2>", "⚠ EN RETARD", "Services perturbés",
        ] {
            #expect(french.stdout.contains(words), "\(words)")
        }
        #expect(!french.stdout.contains("Situation report") && !french.stdout.contains("OVERDUE"))
        let english = try report(dir, ["--as-of", Self.asOf, "--lang", "en"])
        #expect(english.stdout.contains("<html lang=\"en\">") && english.stdout.contains("<h2>Deadlines</h2>"))
        #expect(!english.stdout.contains("Point de situation") && !english.stdout.contains("EN RETARD"))
        // Without --lang, a French locale gives French.
        let locale = try ledger(
            ["report", "--data-dir", dir.path, "--as-of", Self.asOf], environment: ["LANG": "fr_FR.UTF-8", "LC_ALL": ""])
        #expect(locale.status == 0 && locale.stdout.contains("<h2>Échéances</h2>"), "\(locale.stderr)")
        let refused = try report(dir, ["--lang", "de"])
        #expect(refused.status != 0 && refused.stdout.isEmpty && refused.stderr.contains("--lang"), "\(refused.stderr)")
    }

    @Test func asOfChangesWhatItShows() throws {
        let dir = try demo()
        // Before the AP-HP attack was detected only the Clinique de l'Anjou's incident had begun.
        let early = try report(dir, ["--as-of", "2021-02-01", "--lang", "en"])
        #expect(early.status == 0, "\(early.stderr)")
        #expect(try Elements.parse(early.stdout).sections == ["incident:clinique-anjou-2021-01"])
        #expect(early.stdout.contains("<dd class=\"as-of\">2021-02-01 23:59 +01:00</dd>"), "\(early.stdout.prefix(1500))")
        // Nantes on the day of its attack and a month later: the phase and the services differ.
        let nantes = ["--incident", "incident:chu-nantes-2024-01", "--lang", "en"]
        let first = try report(dir, nantes + ["--as-of", "2024-01-15 12:00"]).stdout
        let later = try report(dir, nantes + ["--as-of", "2024-03-01"]).stdout
        #expect(first != later)
        #expect(first.contains("<td>Internet access</td>") && first.contains("<td>down</td>"), "\(first)")
        func phase(_ html: String) -> String? {
            html.components(separatedBy: "<th scope=\"row\">Phase</th><td><strong>").dropFirst().first?
                .components(separatedBy: "<").first
        }
        #expect(phase(first) != nil && phase(first) != phase(later), "\(phase(first) ?? "-") / \(phase(later) ?? "-")")
        // A known-at before anything was recorded of Cannes leaves it out.
        let known = try report(dir, ["--known-at", "2024-01-31", "--lang", "en"])
        #expect(known.status == 0, "\(known.stderr)")
        #expect(!(try Elements.parse(known.stdout).sections.contains("incident:ch-cannes-2024-04")))
    }

    @Test func oneIncidentAHospitalOrAGroup() throws {
        let dir = try demo()
        let one = try report(dir, ["--incident", "incident:chu-rennes-2023-06", "--lang", "en", "--as-of", Self.asOf])
        #expect(one.status == 0, "\(one.stderr)")
        let elements = try Elements.parse(one.stdout)
        #expect(elements.sections == ["incident:chu-rennes-2023-06"])
        #expect(Set(elements.statuses).count >= 1)
        #expect(!one.stdout.contains("incident:ch-cannes-2024-04"), "only that incident's clocks")
        let hospital = try report(dir, ["--hospital", "060099014", "--lang", "en", "--as-of", Self.asOf])
        #expect(hospital.status == 0, "\(hospital.stderr)")
        #expect(try Elements.parse(hospital.stdout).sections == ["incident:ch-cannes-2024-04"])
        let group = try report(dir, ["--group", "chu-nantes", "--lang", "en", "--as-of", Self.asOf])
        #expect(group.status == 0, "\(group.stderr)")
        #expect(try Elements.parse(group.stdout).sections == ["incident:chu-nantes-2024-01"])
        #expect(group.stdout.contains("<h1>Situation report — group "), "\(group.stdout.prefix(800))")
        let both = try report(dir, ["--incident", "incident:chu-rennes-2023-06", "--group", "chu-nantes"])
        #expect(both.status != 0 && both.stdout.isEmpty)
    }

    @Test func unknownIdsFailWithOneLineAndNothingWritten() throws {
        let dir = try demo()
        let file = dir.path + "-report.html"
        defer { try? FileManager.default.removeItem(atPath: file) }
        for (arguments, says) in [
            (["--incident", "incident:nope"], "incident:nope: no such incident"),
            (["--hospital", "440000999"], "440000999: no establishment registered"),
            (["--hospital", "000000000"], "--hospital: \"000000000\" is not a FINESS number"),
            (["--group", "ght-nowhere"], "ght-nowhere: no such group"),
            (["--group", "Not A Group"], "--group: \"Not A Group\" is not a group id"),
            (["--as-of", "yesterday-ish"], "--as-of:"),
        ] {
            let out = try report(dir, arguments + ["--output", file])
            #expect(out.status != 0, "\(arguments)")
            #expect(out.stdout.isEmpty, "\(arguments): \(out.stdout)")
            // The demo ledger's note that its clock was set by a dataset aside.
            let lines = out.stderr.split(separator: "\n").filter { !$0.hasPrefix("ledger: note:") }
            #expect(lines.count == 1 && out.stderr.contains(says), "\(arguments): \(out.stderr)")
            #expect(!FileManager.default.fileExists(atPath: file), "\(arguments) wrote \(file)")
        }
        let written = try report(dir, ["--output", file, "--lang", "en"])
        #expect(written.status == 0 && written.stdout == "wrote \(file)\n", "\(written.stderr)")
        let saved = try String(contentsOfFile: file, encoding: .utf8)
        #expect(try Elements.parse(saved).sections.count == Self.incidents.count)
    }

    /// `--rules` as `deadlines` takes it: the report's clocks are that rule set's; a missing file is refused.
    @Test func anotherRuleSetGivesItsClocks() throws {
        let dir = try demo()
        let rules = dir.path + "-rules.json"
        defer { try? FileManager.default.removeItem(atPath: rules) }
        try #"""
        {"rules": [
          {"id": "board", "title": "Tell the board of directors", "legalBasis": "internal policy", "recipient": "the board",
           "startsOn": {"eventType": "attack.detected"}, "satisfiedBy": {"eventType": "incident.closed"},
           "deadlineHours": 48, "inForceFrom": "2020-01-01"}
        ]}
        """#.write(toFile: rules, atomically: true, encoding: .utf8)
        let out = try report(dir, ["--rules", rules, "--as-of", Self.asOf, "--lang", "en"])
        #expect(out.status == 0, "\(out.stderr)")
        let elements = try Elements.parse(out.stdout)
        #expect(elements.statuses.count == Self.incidents.count, "one clock per incident: \(elements.statuses)")
        #expect(out.stdout.contains("Tell the board of directors (internal policy), to the board"))
        #expect(!out.stdout.contains("GDPR art. 33"))
        let missing = try report(dir, ["--rules", dir.path + "-none.json"])
        #expect(missing.status == 3 && missing.stdout.isEmpty && missing.stderr.contains("-none.json: no such file"))
    }

    @Test func storedTextIsEscaped() throws {
        let dir = try demo()
        let recorded = try ledger([
            "record", "care.impact_reported", "--data-dir", dir.path, "--incident", "incident:ch-cannes-2024-04",
            "--at", "2024-04-20 10:00", "--source", "<script>alert(1)</script> & \"quoted\"",
            "--set", "establishment=060099014", "--set", "kind=patients_transferred", "--set", "description=<b>bold</b> & co",
        ])
        #expect(recorded.status == 0, "\(recorded.stderr)")
        let out = try report(dir, ["--incident", "incident:ch-cannes-2024-04", "--lang", "en", "--as-of", Self.asOf])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(!out.stdout.contains("<script>") && !out.stdout.contains("<b>bold"))
        #expect(out.stdout.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;"))
        #expect(out.stdout.contains("&lt;b&gt;bold&lt;/b&gt; &amp; co"))
        _ = try Elements.parse(out.stdout)
    }
}
