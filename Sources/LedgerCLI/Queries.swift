import ArgumentParser
import EventStore
import Foundation
import IncidentDomain
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

    /// A line saying which times a view shows.
    func header() -> String {
        var parts: [String] = []
        if let asOf { parts.append("as of \(asOf)") }
        if let knownAt { parts.append("as known at \(knownAt)") }
        return parts.isEmpty ? "" : "(\(parts.joined(separator: ", ")))\n"
    }
}

enum ViewFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

func write(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

func number(_ value: Double?) -> JSONValue {
    value.flatMap(JSONNumber.init).map(JSONValue.number) ?? .null
}

func summaryJSON(_ s: FactSummary) -> JSONValue {
    .object([
        "eventId": .string(s.eventId.lowercasedString), "eventType": .string(s.eventType), "occurredAt": s.occurredAt.json,
        "possible": .bool(s.possible), "summary": .string(s.summary), "corrected": .bool(s.corrected),
    ])
}

extension Ledger {
    struct State: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The current state of each incident (or one), at a chosen time.")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var time: QueryOptions
        @Option(name: .long, help: "Only this incident stream.") var incident: String?
        @Option(name: .long, help: "text or json.") var format: ViewFormat = .text

        func run() throws {
            let store = try ledger.openStoreForQueries()
            let queries = LedgerQueries(store: store)
            let states = try queries.states(incident: incident, at: try time.queryTime())
            let names = try queries.index().establishments()
            if format == .json {
                write(CanonicalJSON.string(.array(states.map { stateJSON($0) })) + "\n")
                return
            }
            var out = time.header()
            if states.isEmpty { out += "no incident\n" }
            for s in states {
                out += "\(s.incidentId): \(s.title)\n  phase: \(s.phase.rawValue)"
                out +=
                    s.possibleCount > 0
                    ? " (\(s.factCount) facts, \(s.possibleCount) only possible at that time)\n" : " (\(s.factCount) facts)\n"
                let hit = s.establishments.map { names[$0].map { "\($0.name) (\($0.finess))" } ?? $0 }
                if !hit.isEmpty { out += "  establishments: \(hit.joined(separator: ", "))\n" }
                for (label, fact) in [
                    ("intrusion", s.intrusion), ("detected", s.detectedAt), ("crisis cell", s.crisisCell),
                    ("contained", s.containedAt),
                    ("closed", s.closedAt),
                ] {
                    if let fact {
                        out += "  \(label): \(TimelineRendering.describe(fact.occurredAt))\(fact.possible ? " (possible)" : "")\n"
                    }
                }
                if !s.servicesNotNormal.isEmpty {
                    out += "  services not working normally:\n"
                    for c in s.servicesNotNormal {
                        let name = names[c.establishment]?.name ?? c.establishment
                        out +=
                            "    \(name) / \(Services.label(c.service)): \(c.status.rawValue.replacingOccurrences(of: "_", with: " "))"
                        out += (c.status == .down ? "" : c.capacityPercent.map { " (\(FigureText.of($0)) %)" } ?? "")
                        out += " since \(c.since.inZone().humanReadable)\n"
                    }
                }
                if !s.servicesRestored.isEmpty {
                    out +=
                        "  services restored: " + s.servicesRestored.map { Services.label($0.service) }.joined(separator: ", ")
                        + "\n"
                }
                let lists: [(String, [FactSummary])] = [
                    ("data", s.dataBreach), ("ransom", s.ransom), ("claims", s.claims), ("complaints", s.complaints),
                    ("notifications", s.notifications), ("investigations", s.investigations), ("care impact", s.careImpacts),
                    ("people informed", s.personsNotified),
                ]
                for (label, list) in lists where !list.isEmpty {
                    out += "  \(label):\n"
                    for item in list {
                        out +=
                            "    - \(item.summary) [\(TimelineRendering.describe(item.occurredAt))]\(item.corrected ? " (corrected)" : "")\n"
                    }
                }
                out += "\n"
            }
            write(out)
        }

        func stateJSON(_ s: IncidentState) -> JSONValue {
            func condition(_ c: ServiceCondition) -> JSONValue {
                .object([
                    "establishment": .string(c.establishment), "service": .string(c.service),
                    "status": .string(c.status.rawValue),
                    "capacityPercent": number(c.capacityPercent), "since": .string(c.since.rfc3339),
                    "possible": .bool(c.possible),
                ])
            }
            var m: [String: JSONValue] = [
                "incident": .string(s.incidentId), "title": .string(s.title), "phase": .string(s.phase.rawValue),
                "establishments": .array(s.establishments.map { .string($0) }),
                "servicesNotNormal": .array(s.servicesNotNormal.map(condition)),
                "servicesRestored": .array(s.servicesRestored.map(condition)),
                "facts": .number(JSONNumber(s.factCount)), "possibleFacts": .number(JSONNumber(s.possibleCount)),
            ]
            for (key, fact) in [
                ("intrusion", s.intrusion), ("detected", s.detectedAt), ("crisisCell", s.crisisCell),
                ("contained", s.containedAt),
                ("closed", s.closedAt),
            ] {
                m[key] = fact.map(summaryJSON) ?? .null
            }
            let lists: [(String, [FactSummary])] = [
                ("dataBreach", s.dataBreach), ("ransom", s.ransom), ("claims", s.claims), ("complaints", s.complaints),
                ("notifications", s.notifications), ("investigations", s.investigations), ("careImpacts", s.careImpacts),
                ("personsNotified", s.personsNotified),
            ]
            for (key, list) in lists { m[key] = .array(list.map(summaryJSON)) }
            m["peopleAffected"] = s.peopleAffected.map { .number(JSONNumber($0)) } ?? .null
            return .object(m)
        }
    }

    struct Timeline: ParsableCommand {
        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, svg, html }
        static let configuration = CommandConfiguration(
            abstract: "The recovery timeline of one establishment: service lanes over time, milestones, metrics.")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var time: QueryOptions
        @Option(name: .long, help: "The establishment's FINESS number.") var hospital: String
        @Option(name: .long, help: "text (a terminal chart), json, svg (a Gantt chart) or html (a report).")
        var format: Format = .text
        @Option(name: .long, help: "Write to this file instead of standard output.") var output: String?
        @Option(name: .long, help: "Columns of the terminal chart.") var width: Int = 60

        func validate() throws {
            guard (20...400).contains(width) else { throw ValidationError("--width must be between 20 and 400") }
        }

        func run() throws {
            guard PayloadValidator.isFINESS(hospital) else {
                throw CLIError(
                    "--hospital: \"\(hospital)\" is not a FINESS number (9 characters: département 01-95, 2A, 2B or 97, then 7 digits)",
                    exitCode: CLIError.invalidInput)
            }
            let store = try ledger.openStoreForQueries()
            let timelines = try LedgerQueries(store: store).timelines(establishment: hospital, at: try time.queryTime())
            let text: String
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
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                    throw CLIError("\(output): cannot be written", exitCode: CLIError.storage)
                }
                print("wrote \(output)")
            } else {
                write(text)
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
            let store = try ledger.openStoreForQueries()
            let all = try LedgerQueries(store: store).deadlines(incident: incident, rules: ruleSet, at: try time.queryTime())
            if format == .json {
                write(
                    CanonicalJSON.string(.array(all.flatMap { entry in entry.clocks.map { clockJSON($0, entry.incident) } }))
                        + "\n")
                return
            }
            var out = time.header()
            for (incident, clocks) in all {
                out += "\(incident)\n"
                if clocks.isEmpty { out += "  no obligation applies yet\n" }
                for c in clocks {
                    out +=
                        "  \(c.status.rawValue.uppercased().replacingOccurrences(of: "_", with: " ").padding(toLength: 15, withPad: " ", startingAt: 0))"
                    out += "\(c.rule.title) (\(c.rule.legalBasis), to \(c.rule.recipient))\n"
                    out += "                 started \(TimelineRendering.describe(c.startedAt))"
                    if let deadline = c.deadline { out += ", deadline \(deadline.inZone().humanReadable)" }
                    if let done = c.satisfiedAt { out += ", done \(TimelineRendering.describe(done))" }
                    if let decision = c.notRequiredBy {
                        out += ", not required from \(TimelineRendering.describe(decision.occurredAt))"
                    }
                    let closed = c.satisfiedAt != nil || c.notRequiredBy != nil
                    out += ", \(TimelineRendering.formatHours(c.elapsedHours)) \(closed ? "after the start" : "elapsed")\n"
                    out += "                 started by: \(c.startedBySummary)\n"
                    if let decision = c.notRequiredBy { out += "                 not required: \(decision.summary)\n" }
                }
            }
            write(out)
        }

        func clockJSON(_ c: ObligationClock, _ incident: String) -> JSONValue {
            .object([
                "incident": .string(incident), "rule": .string(c.rule.id), "title": .string(c.rule.title),
                "legalBasis": .string(c.rule.legalBasis), "recipient": .string(c.rule.recipient),
                "status": .string(c.status.rawValue),
                "startedBy": .string(c.startedBy.lowercasedString), "startedAt": c.startedAt.json,
                "startedBySummary": .string(c.startedBySummary),
                "deadline": c.deadline.map { .string($0.inZone().rfc3339) } ?? .null,
                "satisfiedBy": c.satisfiedBy.map { .string($0.lowercasedString) } ?? .null,
                "satisfiedAt": c.satisfiedAt?.json ?? .null,
                "notRequiredBy": c.notRequiredBy.map { .string($0.eventId.lowercasedString) } ?? .null,
                "notRequiredAt": c.notRequiredBy?.occurredAt.json ?? .null,
                "notRequiredReason": c.notRequiredBy.map { .string($0.summary) } ?? .null,
                "elapsedHours": number(c.elapsedHours),
            ])
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
            let store = try ledger.openStoreForQueries()
            let entries = try LedgerQueries(store: store).audit(
                AuditTrail.Filter(actor: actor, incident: incident, since: sinceMicros), at: try time.queryTime())
            if format == .json {
                write(CanonicalJSON.string(.array(entries.map(entryJSON))) + "\n")
                return
            }
            var out = time.header()
            if entries.isEmpty { out += "no recorded event matches\n" }
            for e in entries {
                out += "#\(e.position) \(e.recordedAt.inZone().humanReadable)  \(e.actor)  \(e.streamId)\n"
                out += "  \(e.eventType): \(e.summary)\n  source: \(e.source)\n"
                if let reason = e.reason { out += "  reason: \(reason)\n" }
                for change in e.changes {
                    out += "  changed \(change.field): \(change.before ?? "(none)") -> \(change.after ?? "(none)")\n"
                }
                for revision in e.laterRevisions {
                    out +=
                        "  later \(revision.kind.rawValue) by \(revision.actor) at #\(revision.position) (\(revision.recordedAt.inZone().humanReadable)): \(revision.reason)\n"
                }
            }
            write(out)
        }

        func entryJSON(_ e: AuditEntry) -> JSONValue {
            .object([
                "position": .number(JSONNumber(e.position)),
                "eventId": .string(e.eventId.lowercasedString),
                "streamId": .string(e.streamId), "eventType": .string(e.eventType),
                "recordedAt": .string(e.recordedAt.rfc3339Micros),
                "actor": .string(e.actor), "source": .string(e.source), "reason": e.reason.map { .string($0) } ?? .null,
                "summary": .string(e.summary), "target": e.target.map { .string($0.lowercasedString) } ?? .null,
                "changes": .array(
                    e.changes.map {
                        .object([
                            "field": .string($0.field), "before": $0.before.map { .string($0) } ?? .null,
                            "after": $0.after.map { .string($0) } ?? .null,
                        ])
                    }),
                "laterRevisions": .array(
                    e.laterRevisions.map {
                        .object([
                            "kind": .string($0.kind.rawValue), "eventId": .string($0.eventId.lowercasedString),
                            "actor": .string($0.actor), "reason": .string($0.reason),
                        ])
                    }),
            ])
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

/// `--since` takes the start of what it names: "since 2024-01-15" includes that whole day.
enum TimelineStartParser {
    static func start(_ text: String) -> Int64? { TimeExpression.occurredAt(text)?.earliest }
}
