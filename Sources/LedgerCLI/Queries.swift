import ArgumentParser
import EventStore
import Foundation
import IncidentDomain
import ProjectionRunner
import Projections

/// What every view takes: the ledger, and the two times it is seen at.
struct QueryOptions: ParsableArguments {
    @OptionGroup var ledger: LedgerOptions
    @Option(
        name: .long,
        help:
            "The world as it was at this time: facts that had happened by then (ISO 8601, Paris local time, a day, a month, now, -2h or +1d)."
    )
    var asOf: String?
    @Option(name: .long, help: "What the ledger held at this time: events recorded by then (now, -2h and -3d too).")
    var knownAt: String?

    /// One reading of the clock for the relative times of the whole command (`--as-of -2h --known-at -1h`).
    let now = SystemClock().now()

    enum CodingKeys: CodingKey { case ledger, asOf, knownAt }

    func queryTime() throws -> QueryTime {
        QueryTime(
            asOf: try Self.instant(asOf, "--as-of", now: now),
            knownAt: try Self.instant(knownAt, "--known-at", now: now, future: false))
    }

    /// A typed query time as an instant; `future` false refuses a relative time ahead (what the ledger held, or
    /// recorded since, cannot be asked of a time that has not come).
    static func instant(_ text: String?, _ flag: String, now: Int64, future: Bool = true) throws -> Int64? {
        guard let text else { return nil }
        if !future, TimeExpression.isFuture(text) {
            throw CLIError(
                "\(flag): \"\(text)\" is ahead of now: the ledger can only have recorded what has been recorded (try now or -2h)",
                exitCode: CLIError.invalidInput)
        }
        guard let value = TimeExpression.queryInstant(text, now: { now }) else {
            throw CLIError("\(flag): \(TimeExpression.refusal(text))", exitCode: CLIError.invalidInput)
        }
        return value
    }

    /// The times as the server's query parameters, with `more`.
    func remoteQuery(_ more: [String: String?]) -> [String: String?] {
        more.merging(["asOf": asOf, "knownAt": knownAt]) { a, _ in a }
    }

    /// A line saying which times a view shows (a relative time with the instant it stood for).
    func header(_ language: Language = .english) -> String {
        QueryViews.header(
            asOf: asOf.map { TimeExpression.display($0, now: { now }) },
            knownAt: knownAt.map { TimeExpression.display($0, now: { now }) }, language: language)
    }

    /// The queries of the ledger, which keep its index caught up (saved when its files may be written).
    func queries() throws -> LedgerQueries { LedgerQueries(store: try ledger.openStoreForQueries()) }
}

/// `--incident` as `state`, `deadlines` and `audit` take it.
struct IncidentFilter: ParsableArguments {
    @Option(name: .long, help: "Only this incident stream.", completion: .custom(Completions.incidents)) var incident: String?
}

/// `--format` of the views that are text or JSON.
struct TextOrJSON: ParsableArguments {
    @Option(name: .long, help: "text or json.") var format: ViewFormat = .text
}

enum ViewFormat: String, CaseInsensitiveArgument {
    case text, json
}

func write(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// A document (a chart, a page, a report) into the file `output` names, saying so, or onto standard output.
func emitDocument(_ text: String, to output: String?) throws {
    if let output {
        guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
            throw CLIError("\(output): cannot be written", exitCode: CLIError.storage)
        }
        print("wrote \(output)")
    } else {
        write(text)
    }
}

/// Whether text for people may carry colours: standard output is a terminal and `NO_COLOR` is not set (to any
/// value, empty included), so that a pipe, a file or a user who asked for none gets plain text.
enum Terminal {
    static var showsColours: Bool {
        isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }
}

extension Ledger {
    struct State: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The current state of each incident (or one), at a chosen time.")
        @OptionGroup var query: QueryOptions
        @OptionGroup var only: IncidentFilter
        @Option(
            name: .long,
            help:
                "Only the incidents touching a site of this group (its id: group.registered's groupId) that was a member when the incident began."
        )
        var group: String?
        @OptionGroup var output: TextOrJSON
        @Flag(name: .long, help: "Text: each fact's source, recorder and position (json always has them).")
        var sources = false
        @OptionGroup var language: LanguageOption

        func validate() throws {
            if only.incident != nil, group != nil { throw ValidationError("give --incident or --group, not both") }
        }

        func run() throws {
            if let remote = Remote.current {
                guard group == nil else {
                    throw CLIError(
                        "--group: the HTTP service has no group view yet; query the ledger directly", exitCode: CLIError.usage)
                }
                return try remote.printView(
                    "incidents",
                    query: query.remoteQuery([
                        "format": output.format.rawValue, "incident": only.incident, "sources": sources ? "true" : nil,
                    ]), key: "incidents")
            }
            let language = try language.language()
            let queries = try query.queries()
            // One reading of the clock for the whole answer: the states, the groups and the group's members.
            let at = queries.answered(try query.queryTime())
            if let group {
                let view = try requireGroup(group) { try queries.states(group: $0, at: at) }
                let groups = try queries.groupDirectory(at: at)
                if output.format == .json {
                    return JSONOutput.emit(JSONOutput.document(GroupViews.stateJSON(view, groups: groups)))
                }
                let names = try queries.index().establishments()
                write(
                    query.header(language)
                        + GroupViews.stateText(view, names: names, groups: groups, sources: sources, language: language))
                return
            }
            try requireIncident(only.incident, queries)
            let report = try queries.stateReport(incident: only.incident, at: at)
            if output.format == .json {
                return JSONOutput.emit(
                    JSONOutput.document("incidents", report.states.map { QueryViews.stateJSON($0, groups: report.groups) }))
            }
            write(
                query.header(language)
                    + QueryViews.stateText(
                        report.states, names: report.names, sources: sources, groups: report.groups, language: language))
        }

    }

    struct Timeline: ParsableCommand {
        enum Format: String, CaseInsensitiveArgument { case text, json, svg, html }
        static let configuration = CommandConfiguration(
            abstract:
                "The recovery timeline of one establishment, or of every site of a group: service lanes over time, milestones, metrics."
        )
        @OptionGroup var query: QueryOptions
        @Option(name: .long, help: "The establishment's FINESS number.", completion: .custom(Completions.establishments))
        var hospital: String?
        @Option(name: .long, help: "A group's id: the lanes of each site that was a member when the incident began.") var group:
            String?
        @Option(
            name: .long, help: "With --group: only this incident (svg draws one incident: the first, without it).",
            completion: .custom(Completions.incidents))
        var incident: String?
        @Option(name: .long, help: "text (a terminal chart), json, svg (a Gantt chart) or html (a report).")
        var format: Format = .text
        @Option(name: .long, help: "Write to this file instead of standard output.") var output: String?
        @Option(name: .long, help: "Columns of the terminal chart.") var width: Int = 60
        @OptionGroup var language: LanguageOption

        func validate() throws {
            guard (20...400).contains(width) else { throw ValidationError("--width must be between 20 and 400") }
            guard (hospital == nil) != (group == nil) else { throw ValidationError("give --hospital or --group (one of them)") }
            guard incident == nil || group != nil else { throw ValidationError("--incident goes with --group") }
        }

        func run() throws {
            let language = try language.language()
            if let group { return try runGroup(group, language) }
            let hospital = hospital!
            guard PayloadValidator.isFINESS(hospital) else {
                throw CLIError(
                    "--hospital: \"\(hospital)\" is not a FINESS number (9 characters: département 01-95, 2A, 2B or 97, then 7 digits)",
                    exitCode: CLIError.invalidInput)
            }
            let text: String
            if let remote = Remote.current {
                let parameters = query.remoteQuery(["format": format.rawValue, "width": String(width)])
                let body = try remote.call("GET", "establishments/\(hospital)/timeline", query: parameters).body
                text =
                    format == .json
                    ? CanonicalJSON.string(try JSONOutput.document(server: body, key: "timelines")) + "\n"
                    : String(decoding: body, as: UTF8.self)
            } else {
                let queries = try query.queries()
                let timelines = try queries.timelines(establishment: hospital, at: try query.queryTime())
                if timelines.isEmpty, try !queries.knows(establishment: hospital) {
                    throw CLIError(
                        "\(hospital): no establishment registered and no incident touches it", exitCode: CLIError.invalidInput)
                }
                switch format {
                case .text:
                    text =
                        query.header(language)
                        + (timelines.isEmpty
                            ? Messages.of(language)("chart.terminal.none", ["hospital": hospital]) + "\n"
                            : timelines.map { TimelineRendering.terminal($0, width: width, language: language) }
                                .joined(separator: "\n"))
                case .json:
                    text = CanonicalJSON.string(JSONOutput.document("timelines", timelines.map(TimelineRendering.json))) + "\n"
                case .svg:
                    guard let first = timelines.first else {
                        throw CLIError("no incident touches \(hospital): nothing to draw", exitCode: CLIError.invalidInput)
                    }
                    text = TimelineRendering.svg(first, language: language)
                case .html: text = TimelineRendering.html(timelines, language: language)
                }
            }
            try emit(text)
        }

        private func emit(_ text: String) throws { try emitDocument(text, to: output) }

        /// `--group`: the lanes of every member site an incident touches on one chart per incident.
        private func runGroup(_ group: String, _ language: Language) throws {
            if Remote.current != nil {
                throw CLIError(
                    "--group: the HTTP service has no group view yet; query the ledger directly", exitCode: CLIError.usage)
            }
            let queries = try query.queries()
            let at = try query.queryTime()
            var view = try requireGroup(group) { try queries.timelines(group: $0, at: at) }
            if let incident {
                try requireIncident(incident, queries)
                view = view.filtered { $0.incidentId == incident }
            }
            let names = try queries.index().establishments()
            switch format {
            case .text:
                try emit(query.header(language) + GroupViews.timelineText(view, names: names, width: width, language: language))
            case .json: try emit(CanonicalJSON.string(JSONOutput.document(GroupViews.timelineJSON(view))) + "\n")
            case .svg:
                guard let svg = GroupViews.timelineSVG(view, language: language) else {
                    throw CLIError(
                        "no incident touches a member of \(group)\(incident.map { " in \($0)" } ?? ""): nothing to draw",
                        exitCode: CLIError.invalidInput)
                }
                try emit(svg)
            case .html: try emit(TimelineRendering.html(group: view.group.name, timelines: view.items, language: language))
            }
        }
    }

    struct Deadlines: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The regulatory clocks, most urgent first: due in how long or overdue by how long, the due time, met or not required.",
            discussion: """
                Overdue clocks come first (the most overdue first), then the running ones by due time, then those \
                running without a due time, then the met, not required and kept by the ledger. An obligation "without \
                delay" falls due at its rule's alert threshold. On a terminal the first line of a clock is red when \
                overdue, yellow when due within 24 h and green when met (never with NO_COLOR set, nor into a pipe or a \
                file); its status is always written out. --as-of fixes the time the figures are counted from.
                """)
        @OptionGroup var query: QueryOptions
        @OptionGroup var only: IncidentFilter
        @Option(name: .long, help: "A JSON rule set to use instead of the built-in one (see docs/obligations.md).")
        var rules: String?
        @Option(
            name: .long,
            help: "Only the open clocks due within this time (30m, 24h, 3d) of the view's time, the overdue ones included.")
        var dueWithin: String?
        @Option(name: .long, help: "Only the clocks of this status (repeat for several).")
        var status: [ObligationClock.Status] = []
        @OptionGroup var output: TextOrJSON
        @OptionGroup var language: LanguageOption

        func run() throws {
            let language = try language.language()
            let window = try dueWithin.map { text in
                guard let micros = DurationExpression.microseconds(text) else {
                    throw CLIError("--due-within: \(DurationExpression.refusal(text))", exitCode: CLIError.invalidInput)
                }
                return micros
            }
            if let remote = Remote.current {
                guard rules == nil else {
                    throw CLIError("--rules: the server uses its own rule set; give none with --server", exitCode: CLIError.usage)
                }
                return try remote.printView(
                    only.incident.map { "incidents/\($0)/deadlines" } ?? "deadlines",
                    query: query.remoteQuery([
                        "format": output.format.rawValue, "dueWithin": dueWithin,
                        "status": status.isEmpty ? nil : status.map(\.rawValue).joined(separator: ","),
                    ]), key: "clocks")
            }
            let ruleSet = try obligationRules(rules)
            let queries = try query.queries()
            try requireIncident(only.incident, queries)
            // One reading of the clock (the one relative times use): the folds and the time left count from it.
            let at = try query.queryTime().answered(at: query.now)
            let board = DeadlineBoard(
                try queries.deadlines(incident: only.incident, rules: ruleSet, at: at), reference: at.reference,
                filter: DeadlineBoard.Filter(dueWithin: window, statuses: Set(status)))
            if output.format == .json {
                return JSONOutput.emit(JSONOutput.document("clocks", board.items.map(QueryViews.clockJSON)))
            }
            write(
                query.header(language) + QueryViews.deadlinesText(board, colours: Terminal.showsColours, language: language))
        }
    }

    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who recorded or corrected what, when, from which source and why, and what it changed.")
        @OptionGroup var query: QueryOptions
        @Option(name: .long, help: "Only events recorded by this actor.") var actor: String?
        @OptionGroup var only: IncidentFilter
        @Option(name: .long, help: "Only events recorded at or after this time (now, -2h and -3d too).") var since: String?
        @OptionGroup var output: TextOrJSON
        @OptionGroup var language: LanguageOption

        func run() throws {
            let language = try language.language()
            var sinceMicros: Int64?
            if let since {
                if TimeExpression.isFuture(since) {
                    throw CLIError(
                        "--since: \"\(since)\" is ahead of now: nothing is recorded yet then (try -2h or -3d)",
                        exitCode: CLIError.invalidInput)
                }
                guard let parsed = TimelineStartParser.start(since, now: query.now) else {
                    throw CLIError("--since: \(TimeExpression.refusal(since))", exitCode: CLIError.invalidInput)
                }
                sinceMicros = parsed
            }
            if let remote = Remote.current {
                return try remote.printView(
                    "audit",
                    query: query.remoteQuery([
                        "format": output.format.rawValue, "actor": actor, "incident": only.incident, "since": since,
                    ]), key: "entries")
            }
            let queries = try query.queries()
            // Another stream (an establishment's, a group's) is a filter of the audit, not an incident to check.
            if only.incident?.hasPrefix(StreamKind.incident.prefix) == true { try requireIncident(only.incident, queries) }
            let entries = try queries.audit(
                AuditTrail.Filter(actor: actor, incident: only.incident, since: sinceMicros), at: try query.queryTime())
            if output.format == .json {
                return JSONOutput.emit(JSONOutput.document("entries", entries.map(QueryViews.auditJSON)))
            }
            write(query.header(language) + QueryViews.auditText(entries, language: language))
        }

    }

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop the saved projections and fold the whole log again.")
        @OptionGroup var ledger: LedgerOptions

        func run() throws {
            let index = try LedgerQueries(store: try ledger.openStore()).rebuild()
            print(
                "rebuilt the incident index from \(index.checkpoint) events: \(index.incidents.count) incidents, \(index.establishments().count) establishments"
            )
        }
    }
}

/// `--rules`: the rule set in that JSON file, or the built-in one.
func obligationRules(_ path: String?) throws -> [ObligationRule] {
    guard let path else { return ObligationRules.defaultRules }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError("\(path): no such file", exitCode: CLIError.invalidInput)
    }
    do {
        return try ObligationRules.parse(try JSONParser.parse(data), source: path)
    } catch let error as JSONSyntaxError {
        throw CLIError("\(path): \(error)", exitCode: CLIError.invalidInput)
    }
}

/// A typo in `--incident` is an error, not an empty view (the service answers it 404 the same way).
func requireIncident(_ incident: String?, _ queries: LedgerQueries) throws {
    guard let incident else { return }
    guard try queries.hasIncident(incident) else {
        throw CLIError("\(incident): no such incident", exitCode: CLIError.invalidInput)
    }
}

/// An unknown group is an error, like an unknown incident.
func requireGroup<Item>(_ group: String, _ query: (String) throws -> GroupView<Item>?) throws -> GroupView<Item> {
    guard PayloadValidator.isGroupId(group) else {
        throw CLIError(
            "--group: \"\(group)\" is not a group id (lower-case letters and digits in words joined by -, like ght-44, or a FINESS juridique)",
            exitCode: CLIError.invalidInput)
    }
    guard let view = try query(group) else { throw CLIError("\(group): no such group", exitCode: CLIError.invalidInput) }
    return view
}

/// `--since` takes the start of what it names: "since 2024-01-15" includes that whole day; "since -2h" the
/// instant two hours ago.
enum TimelineStartParser {
    static func start(_ text: String, now: Int64) -> Int64? {
        TimeExpression.relativeInstant(text, now: { now }) ?? TimeExpression.occurredAt(text, now: { now })?.earliest
    }
}
