import EventStore
import Foundation
import IncidentDomain
import LedgerTestSupport
import ProjectionRunner
import Projections
import Testing

/// The deadline board's pure rules: the words for a length of time, the durations typed for a window, and the
/// order and figures of the board over the demo ledger at many times.
@Suite("The deadline board")
struct DeadlineBoardTests {
    static let minute: Int64 = 60_000_000

    @Test func lengthsOfTimeInWordsAreRoundedDown() {
        let minute = Self.minute
        let cases: [(Int64, String)] = [
            (0, "0 min"), (59_999_999, "under 1 min"), (minute, "1 min"), (59 * minute, "59 min"), (60 * minute, "1 h"),
            (320 * minute, "5 h 20 min"), (1439 * minute + 59_999_999, "23 h 59 min"), (1440 * minute, "1 day"),
            (1500 * minute, "1 day 1 h"), (3 * 1440 * minute + 299 * minute, "3 days 4 h"), (-5 * minute, "0 min"),
        ]
        for (micros, words) in cases {
            #expect(DeadlineBoard.durationText(micros) == words, "\(micros) µs")
        }
    }

    @Test func aWindowIsAWholeNumberOfMinutesHoursOrDays() {
        #expect(DurationExpression.microseconds("30m") == 30 * Self.minute)
        #expect(DurationExpression.microseconds("24h") == 1440 * Self.minute)
        #expect(DurationExpression.microseconds("3d") == 3 * 1440 * Self.minute)
        #expect(DurationExpression.microseconds("0m") == 0)
        #expect(DurationExpression.microseconds("999999d") == 999_999 * 1440 * Self.minute)
        for refused in ["", "m", "24", "1.5h", "+3d", "-3d", " 3d", "3d ", "3 d", "3D", "2w", "1234567m", "٣d", "３d", "1h30m"] {
            #expect(DurationExpression.microseconds(refused) == nil, "\(refused.debugDescription)")
        }
    }

    /// The board's text in French: the built-in rules' titles, legal bases and recipients and the starting facts
    /// in French words, where the English board keeps the rule set's texts and the stored summaries.
    @Test func theFrenchBoardNamesTheObligationsInFrench() throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        try load(try demoDataset(), into: store, clock: clock)
        let at = QueryTime(asOf: try #require(Timestamp(rfc3339: "2024-04-23T12:00:00+02:00")).microseconds)
        let board = DeadlineBoard(try LedgerQueries(store: store).deadlines(at: at), reference: at.reference)
        let french = QueryViews.deadlinesText(board, language: .french)
        let english = QueryViews.deadlinesText(board, language: .english)
        #expect(french.contains("Signalement d'incident de sécurité en santé (sans délai)"))
        #expect(
            french.contains(
                "(Code de la santé publique L1111-8-2, D1111-16-2 à 16-4, destinataire : portail du CERT Santé et ARS)"))
        #expect(french.contains("Plainte sous 72 h pour l'indemnisation par l'assureur cyber (Code des assurances L12-10-1"))
        #expect(french.contains("déclenchée par : détection : AP-HP"))
        for english in ["Health-sector", "Personal data breach", "Complaint within", "GDPR", "started by", "detected:"] {
            #expect(!french.contains(english), "\(english) in the French board")
        }
        #expect(english.contains("Health-sector security incident report (sans délai) (Code de la santé publique L1111-8-2"))
        #expect(english.contains("started by: detected: AP-HP"))
        for item in board.items {
            #expect(item.clock.startedByFact.summaryText(language: .english) == item.clock.startedBySummary)
        }
    }

    /// At times around the start of every clock of the demo's five attacks: the open clocks with a due time first by that time, then
    /// the open ones without, then the closed ones; a running clock's time left and an overdue one's lateness add
    /// up to its due time; and each filter keeps exactly the clocks it names.
    @Test func theBoardOfTheDemoIsInOrderAndItsFiguresAddUp() throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        try load(try demoDataset(), into: store, clock: clock)
        let queries = LedgerQueries(store: store)
        let hour: Int64 = 60 * Self.minute
        let day = 24 * hour
        // Around each clock's start: before its first alert threshold, between the thresholds, after them all.
        let starts = Set(try queries.deadlines(at: .now).flatMap { $0.clocks.map(\.startedAt.earliest) })
        let times = starts.sorted().flatMap { start in
            [1, 23, 25, 47, 71, 73, 30 * 24].map { start + $0 * hour + 7 * Self.minute }
        }
        var seen = Set<ObligationClock.Status>()
        for time in times {
            let at = QueryTime(asOf: time)
            let all = try queries.deadlines(at: at)
            let board = DeadlineBoard(all, reference: at.reference)
            #expect(board.items.count == all.map(\.clocks.count).reduce(0, +))
            for (earlier, later) in zip(board.items, board.items.dropFirst()) {
                let rank = { (item: DeadlineBoard.Item) in item.isOpen ? (item.dueAt == nil ? 1 : 0) : 2 }
                #expect(rank(earlier) <= rank(later))
                if rank(earlier) == 0, rank(later) == 0 {
                    #expect(earlier.dueAt!.microseconds <= later.dueAt!.microseconds)
                }
            }
            for item in board.items {
                seen.insert(item.clock.status)
                switch item.clock.status {
                case .running where item.dueAt != nil:
                    #expect(item.dueIn.map { at.reference + $0 } == item.dueAt?.microseconds && item.overdueBy == nil)
                case .overdue:
                    #expect(item.overdueBy.map { at.reference - $0 } == item.dueAt?.microseconds && item.dueIn == nil)
                default:
                    #expect(item.dueIn == nil && item.overdueBy == nil && item.dueText == nil)
                }
            }
            let window = 2 * day
            let soon = DeadlineBoard(all, reference: at.reference, filter: .init(dueWithin: window))
            #expect(soon.items == board.items.filter { $0.overdueBy != nil || ($0.dueIn.map { $0 <= window } ?? false) })
            let overdue = DeadlineBoard(all, reference: at.reference, filter: .init(statuses: [.overdue, .met]))
            #expect(overdue.items == board.items.filter { [.overdue, .met].contains($0.clock.status) })
        }
        #expect(seen.isSuperset(of: [.running, .overdue, .met, .keptByLedger]), "\(seen)")
    }
}
