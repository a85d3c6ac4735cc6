import EventStore
import Foundation
import IncidentDomain
import LedgerTestSupport
import ProjectionRunner
import Projections
import Testing

/// The situation report over the demo ledger at many times, with the runner's clock pinned: one row per clock in
/// the board's order, each status in words of the report's table in both languages (no key shows), overdue ones
/// marked in words, and the generation time the pinned clock's.
@Suite("The situation report")
struct SituationReportTests {
    static let hour: Int64 = 3_600_000_000

    @Test func everyClockAtEveryTimeIsARowInWordsInBothLanguages() throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        try load(try demoDataset(), into: store, clock: clock)
        // "Now" for the runner: a pinned instant, which the report must say it was generated at.
        let now = Timestamp(rfc3339: "2024-05-01T09:30:00+02:00")!.microseconds
        let queries = LedgerQueries(store: store, clock: ManualClock(now))
        let starts = Set(try queries.deadlines(at: .now).flatMap { $0.clocks.map(\.startedAt.earliest) })
        let times: [Int64?] = [nil] + starts.sorted().flatMap { start in [1, 25, 73].map { start + $0 * Self.hour } }
        var statuses = Set<ObligationClock.Status>()
        for time in times {
            let report = try queries.situationReport(.all, at: QueryTime(asOf: time))
            #expect(report.time.answeredAt == now)
            #expect(report.board.reference == (time ?? now))
            for language in Language.allCases {
                let html = report.html(Messages(language))
                #expect(!html.contains("report."), "a key without its words at \(time ?? 0) in \(language)")
                // Its dates in the language's words.
                let generated = language == .french ? "1er mai 2024 à 9 h 30 (UTC+02:00)" : "2024-05-01 09:30 +02:00"
                #expect(html.contains("<dd class=\"generated\">\(generated)</dd>"), "\(language)")
                let rows = html.components(separatedBy: "<tr class=\"").dropFirst().compactMap { row -> String? in
                    guard let status = row.components(separatedBy: "data-status=\"").dropFirst().first else { return nil }
                    return status.components(separatedBy: "\"").first
                }
                #expect(rows == report.board.items.map(\.clock.status.rawValue), "\(rows)")
                let overdue = report.board.items.filter { $0.clock.status == .overdue }.count
                let mark = "⚠ " + Messages(language)("report.status.overdue")
                #expect(html.components(separatedBy: "<strong class=\"mark\">\(mark)</strong>").count - 1 == overdue)
            }
            statuses.formUnion(report.board.items.map(\.clock.status))
        }
        #expect(statuses.isSuperset(of: [.running, .overdue, .met, .keptByLedger]), "\(statuses)")
    }

    /// Every word the report looks up by a value (a status, a phase, a service's condition) is in both tables.
    @Test func theWordsForEveryValueAreInBothTables() {
        let phases: [IncidentPhase] = [.detected, .contained, .recovering, .restored, .closed]
        let conditions: [ServiceCondition.Status] = [.down, .degraded, .partiallyRestored, .restored]
        let keys =
            ObligationClock.Status.allCases.map { "report.status.\($0.rawValue)" }
            + phases.map { "report.phase.\($0.rawValue)" } + conditions.map { "report.condition.\($0.rawValue)" }
        for language in Language.allCases {
            for key in keys { #expect(Messages(language).has(key), "\(language): \(key)") }
        }
    }
}
