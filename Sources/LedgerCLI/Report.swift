import ArgumentParser
import Foundation
import IncidentDomain
import ProjectionRunner
import Projections

extension Ledger {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The situation report: one printable HTML page (A4) of the deadlines and, per incident, its state, recovery chart, care impact and sources.",
            discussion: """
                It opens with every regulatory clock of the incidents it covers, most urgent first (time remaining or \
                overdue by how long, the due time; overdue in red and marked in words), then gives each incident on a \
                page of its own: establishments, phase, services not working normally with their capacity, the \
                recovery chart with its milestones, the care impact, the figures with who claims them, and who \
                recorded what from which source. Every incident by default; --incident, --hospital or --group for one \
                of them. The page holds everything (style and charts inline, no script): open it in a browser, print \
                it, or send it.
                """)
        @OptionGroup var query: QueryOptions
        @OptionGroup var only: IncidentFilter
        @Option(
            name: .long, help: "The incidents naming this establishment (its FINESS number); the charts show its lanes.",
            completion: .custom(Completions.establishments))
        var hospital: String?
        @Option(
            name: .long,
            help: "The incidents touching a site of this group (its id) that was a member when the incident began.")
        var group: String?
        @Option(name: .long, help: "A JSON rule set to use instead of the built-in one (see docs/obligations.md).")
        var rules: String?
        @Option(name: .long, help: "Write to this file instead of standard output.") var output: String?
        @OptionGroup var language: LanguageOption

        func validate() throws {
            if [only.incident, hospital, group].compactMap({ $0 }).count > 1 {
                throw ValidationError("give one of --incident, --hospital and --group")
            }
        }

        func run() throws {
            let messages = Messages(try language.language())
            let ruleSet = try obligationRules(rules)
            let queries = try query.queries()
            // One reading of the clock for the whole report: the folds, the time left and "generated at".
            let at = try query.queryTime().answered(at: query.now)
            let scope: SituationReport.Scope
            if let incident = only.incident {
                try requireIncident(incident, queries)
                scope = .incident(incident)
            } else if let hospital {
                guard PayloadValidator.isFINESS(hospital) else {
                    throw CLIError(
                        "--hospital: \"\(hospital)\" is not a FINESS number (9 characters: département 01-95, 2A, 2B or 97, then 7 digits)",
                        exitCode: CLIError.invalidInput)
                }
                guard try queries.knows(establishment: hospital) else {
                    throw CLIError(
                        "\(hospital): no establishment registered and no incident touches it", exitCode: CLIError.invalidInput)
                }
                scope = .establishment(hospital)
            } else if let group {
                _ = try requireGroup(group) { try queries.states(group: $0, at: at) }
                scope = .group(group)
            } else {
                scope = .all
            }
            let report = try queries.situationReport(scope, rules: ruleSet, at: at)
            try emitDocument(report.html(messages), to: output)
        }
    }
}
