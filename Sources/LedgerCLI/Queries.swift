import ArgumentParser
import EventStore
import Foundation
import IncidentDomain
import ProjectionRunner
import Projections

/// The two times every query takes.
struct QueryOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "The world as it was at this time: facts that had happened by then (ISO 8601, Paris local time, a day or a month).")
    var asOf: String?
    @Option(name: .long, help: "What the ledger held at this time: events recorded by then.")
    var knownAt: String?

    func queryTime() throws -> QueryTime {
        func instant(_ text: String?, _ flag: String) throws -> Int64? {
            guard let text else { return nil }
            guard let value = TimeExpression.queryInstant(text) else {
                throw CLIError("\(flag): \(TimeExpression.refusal(text))", exitCode: CLIError.invalidInput)
            }
            return value
        }
        return QueryTime(asOf: try instant(asOf, "--as-of"), knownAt: try instant(knownAt, "--known-at"))
    }

    /// The times as the server's query parameters, with `more`.
    func remoteQuery(_ more: [String: String?]) -> [String: String?] {
        more.merging(["asOf": asOf, "knownAt": knownAt]) { a, _ in a }
    }

    /// A line saying which times a view shows.
    func header() -> String { QueryViews.header(asOf: asOf, knownAt: knownAt) }
}

enum ViewFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

func write(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

extension Ledger {
    struct State: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The current state of each incident (or one), at a chosen time.")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var time: QueryOptions
        @Option(name: .long, help: "Only this incident stream.") var incident: String?
        @Option(
            name: .long,
            help:
                "Only the incidents touching a site of this group (its id: group.registered's groupId) that was a member when the incident began."
        )
        var group: String?
        @Option(name: .long, help: "text or json.") var format: ViewFormat = .text
        @Flag(name: .long, help: "Text: each fact's source, recorder and position (json always has them).")
        var sources = false

        func validate() throws {
            if incident != nil, group != nil { throw ValidationError("give --incident or --group, not both") }
        }

        func run() throws {
            if let remote = Remote.current {
                guard group == nil else {
                    throw CLIError(
                        "--group: the HTTP service has no group view yet; query the ledger directly", exitCode: CLIError.usage)
                }
                return try remote.printView(
                    "incidents",
                    query: time.remoteQuery([
                        "format": format.rawValue, "incident": incident, "sources": sources ? "true" : nil,
                    ]))
            }
            let queries = LedgerQueries(store: try ledger.openStoreForQueries())
            // One reading of the clock for the whole answer: the states, the groups and the group's members.
            let at = queries.answered(try time.queryTime())
            if let group {
                let view = try requireGroup(group) { try queries.states(group: $0, at: at) }
                let groups = try queries.groupDirectory(at: at)
                if format == .json {
                    write(CanonicalJSON.string(GroupViews.stateJSON(view, groups: groups)) + "\n")
                    return
                }
                let names = try queries.index().establishments()
                write(time.header() + GroupViews.stateText(view, names: names, groups: groups, sources: sources))
                return
            }
            try requireIncident(incident, queries)
            let report = try queries.stateReport(incident: incident, at: at)
            if format == .json {
                write(CanonicalJSON.string(.array(report.states.map { QueryViews.stateJSON($0, groups: report.groups) })) + "\n")
                return
            }
            write(
                time.header()
                    + QueryViews.stateText(report.states, names: report.names, sources: sources, groups: report.groups))
        }

    }

    struct Timeline: ParsableCommand {
        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, svg, html }
        static let configuration = CommandConfiguration(
            abstract:
                "The recovery timeline of one establishment, or of every site of a group: service lanes over time, milestones, metrics."
        )
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var time: QueryOptions
        @Option(name: .long, help: "The establishment's FINESS number.") var hospital: String?
        @Option(name: .long, help: "A group's id: the lanes of each site that was a member when the incident began.") var group:
            String?
        @Option(name: .long, help: "With --group: only this incident (svg draws one incident: the first, without it).")
        var incident: String?
        @Option(name: .long, help: "text (a terminal chart), json, svg (a Gantt chart) or html (a report).")
        var format: Format = .text
        @Option(name: .long, help: "Write to this file instead of standard output.") var output: String?
        @Option(name: .long, help: "Columns of the terminal chart.") var width: Int = 60

        func validate() throws {
            guard (20...400).contains(width) else { throw ValidationError("--width must be between 20 and 400") }
            guard (hospital == nil) != (group == nil) else { throw ValidationError("give --hospital or --group (one of them)") }
            guard incident == nil || group != nil else { throw ValidationError("--incident goes with --group") }
        }

        func run() throws {
            if let group { return try runGroup(group) }
            let hospital = hospital!
            guard PayloadValidator.isFINESS(hospital) else {
                throw CLIError(
                    "--hospital: \"\(hospital)\" is not a FINESS number (9 characters: département 01-95, 2A, 2B or 97, then 7 digits)",
                    exitCode: CLIError.invalidInput)
            }
            let text: String
            if let remote = Remote.current {
                let query = time.remoteQuery(["format": format.rawValue, "width": String(width)])
                text = String(
                    decoding: try remote.call("GET", "establishments/\(hospital)/timeline", query: query).body, as: UTF8.self)
            } else {
                let queries = LedgerQueries(store: try ledger.openStoreForQueries())
                let timelines = try queries.timelines(establishment: hospital, at: try time.queryTime())
                if timelines.isEmpty, try !queries.knows(establishment: hospital) {
                    throw CLIError(
                        "\(hospital): no establishment registered and no incident touches it", exitCode: CLIError.invalidInput)
                }
                switch format {
                case .text:
                    text =
                        time.header()
                        + (timelines.isEmpty
                            ? "no incident touches \(hospital)\n"
                            : timelines.map { TimelineRendering.terminal($0, width: width) }.joined(separator: "\n"))
                case .json: text = CanonicalJSON.string(.array(timelines.map(TimelineRendering.json))) + "\n"
                case .svg:
                    guard let first = timelines.first else {
                        throw CLIError("no incident touches \(hospital): nothing to draw", exitCode: CLIError.invalidInput)
                    }
                    text = TimelineRendering.svg(first)
                case .html: text = TimelineRendering.html(timelines)
                }
            }
            try emit(text)
        }

        private func emit(_ text: String) throws {
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                    throw CLIError("\(output): cannot be written", exitCode: CLIError.storage)
                }
                print("wrote \(output)")
            } else {
                write(text)
            }
        }

        /// `--group`: the lanes of every member site an incident touches on one chart per incident.
        private func runGroup(_ group: String) throws {
            if Remote.current != nil {
                throw CLIError(
                    "--group: the HTTP service has no group view yet; query the ledger directly", exitCode: CLIError.usage)
            }
            let queries = LedgerQueries(store: try ledger.openStoreForQueries())
            let at = try time.queryTime()
            var view = try requireGroup(group) { try queries.timelines(group: $0, at: at) }
            if let incident {
                try requireIncident(incident, queries)
                view = view.filtered { $0.incidentId == incident }
            }
            let names = try queries.index().establishments()
            switch format {
            case .text: try emit(time.header() + GroupViews.timelineText(view, names: names, width: width))
            case .json: try emit(CanonicalJSON.string(GroupViews.timelineJSON(view)) + "\n")
            case .svg:
                guard let svg = GroupViews.timelineSVG(view) else {
                    throw CLIError(
                        "no incident touches a member of \(group)\(incident.map { " in \($0)" } ?? ""): nothing to draw",
                        exitCode: CLIError.invalidInput)
                }
                try emit(svg)
            case .html: try emit(TimelineRendering.html(group: view.group.name, timelines: view.items))
            }
        }
    }

    struct Deadlines: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The regulatory clocks of each incident: started when, deadline, met, running, overdue or not required.")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var time: QueryOptions
        @Option(name: .long, help: "Only this incident stream.") var incident: String?
        @Option(name: .long, help: "A JSON rule set to use instead of the built-in one (see docs/obligations.md).")
        var rules: String?
        @Option(name: .long, help: "text or json.") var format: ViewFormat = .text

        func run() throws {
            if let remote = Remote.current {
                guard rules == nil else {
                    throw CLIError("--rules: the server uses its own rule set; give none with --server", exitCode: CLIError.usage)
                }
                return try remote.printView(
                    incident.map { "incidents/\($0)/deadlines" } ?? "deadlines",
                    query: time.remoteQuery(["format": format.rawValue]))
            }
            var ruleSet = ObligationRules.defaultRules
            if let rules {
                guard let data = FileManager.default.contents(atPath: rules) else {
                    throw CLIError("\(rules): no such file", exitCode: CLIError.invalidInput)
                }
                do {
                    ruleSet = try ObligationRules.parse(try JSONParser.parse(data), source: rules)
                } catch let error as JSONSyntaxError {
                    throw CLIError("\(rules): \(error)", exitCode: CLIError.invalidInput)
                }
            }
            let queries = LedgerQueries(store: try ledger.openStoreForQueries())
            try requireIncident(incident, queries)
            let all = try queries.deadlines(incident: incident, rules: ruleSet, at: try time.queryTime())
            if format == .json {
                write(
                    CanonicalJSON.string(
                        .array(all.flatMap { entry in entry.clocks.map { QueryViews.clockJSON($0, incident: entry.incident) } }))
                        + "\n")
                return
            }
            write(time.header() + QueryViews.deadlinesText(all))
        }

    }

    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who recorded or corrected what, when, from which source and why, and what it changed.")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var time: QueryOptions
        @Option(name: .long, help: "Only events recorded by this actor.") var actor: String?
        @Option(name: .long, help: "Only this incident stream.") var incident: String?
        @Option(name: .long, help: "Only events recorded at or after this time.") var since: String?
        @Option(name: .long, help: "text or json.") var format: ViewFormat = .text

        func run() throws {
            var sinceMicros: Int64?
            if let since {
                guard let parsed = TimelineStartParser.start(since) else {
                    throw CLIError("--since: \(TimeExpression.refusal(since))", exitCode: CLIError.invalidInput)
                }
                sinceMicros = parsed
            }
            if let remote = Remote.current {
                return try remote.printView(
                    "audit",
                    query: time.remoteQuery(["format": format.rawValue, "actor": actor, "incident": incident, "since": since]))
            }
            let queries = LedgerQueries(store: try ledger.openStoreForQueries())
            // Another stream (an establishment's, a group's) is a filter of the audit, not an incident to check.
            if let incident, incident.hasPrefix(StreamKind.incident.prefix) { try requireIncident(incident, queries) }
            let entries = try queries.audit(
                AuditTrail.Filter(actor: actor, incident: incident, since: sinceMicros), at: try time.queryTime())
            if format == .json {
                write(CanonicalJSON.string(.array(entries.map(QueryViews.auditJSON))) + "\n")
                return
            }
            write(time.header() + QueryViews.auditText(entries))
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

/// `--since` takes the start of what it names: "since 2024-01-15" includes that whole day.
enum TimelineStartParser {
    static func start(_ text: String) -> Int64? { TimeExpression.occurredAt(text)?.earliest }
}
