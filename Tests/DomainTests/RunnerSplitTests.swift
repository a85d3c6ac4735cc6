import EventStore
import Foundation
import IncidentDomain
import LedgerTestSupport
import ProjectionRunner
import Testing

@testable import Projections

private func t(_ text: String) -> Int64 { Timestamp(rfc3339: text)!.microseconds }
private let hour: Int64 = 3_600_000_000

/// `Projections` holds the pure folds; `ProjectionRunner` runs them against the store and reads "now" from the
/// clock it is given.
@Suite("Pure folds and their runner")
struct RunnerSplitTests {
    /// The demo's five attacks, folded from an array of events with no store in reach, give the index and the views
    /// the runner answers over a real ledger of the same events (through its saved index, its books by stream and
    /// its caches), at the present and at an earlier (T, K).
    @Test func foldsOfAnArrayAnswerAsTheRunnerOverTheLedger() throws {
        let dir = TemporaryDirectory()
        let (store, recording) = try ledgerWithManualClock(dir)
        try load(try demoDataset(), into: store, clock: recording)
        let now = t("2024-06-01T12:00:00+02:00")
        let queries = LedgerQueries(store: store, clock: ManualClock(now))
        let index = try queries.index()
        // From here on the events are plain values.
        let events = try store.allEvents()

        let entries = try IncidentIndex.entries(folding: events)
        #expect(try store.loadProjection(IncidentIndex.projectionName).entries == entries)
        let folded = try IncidentIndex.Snapshot(checkpoint: UInt64(events.count), entries: entries)
        #expect(folded.incidents == index.incidents && folded.incidents.count == 5)
        #expect(folded.establishments() == index.establishments())
        for finess in index.establishments().keys {
            #expect(
                try IncidentIndex.incidents(touching: finess, in: store, snapshot: folded)
                    == IncidentIndex.incidents(touching: finess, in: store), "\(finess)")
        }

        let knownAt = t("2021-09-16T09:09:59+02:00")
        for time in [QueryTime.now, QueryTime(asOf: t("2021-09-10T00:00:00+02:00"), knownAt: knownAt)] {
            // The pure side reads its clocks where the runner would: at T, else at the pinned now.
            let pinned = time.answered(at: now)
            let book = FactBook(folding: events.filter { $0.recordedAt.microseconds <= (time.knownAt ?? .max) })
            let streams = book.incidents.keys.sorted()
            let states = streams.map { IncidentState.compute(incidentId: $0, facts: book.incidents[$0]!, at: pinned) }
            #expect(try queries.states(at: time) == states.filter { $0.factCount > 0 }, "\(time)")
            let clocks = streams.map {
                ObligationClock.compute(
                    facts: book.incidents[$0]!, establishments: book.establishments, rules: ObligationRules.defaultRules,
                    at: pinned)
            }
            #expect(try queries.deadlines(at: time).map(\.clocks) == clocks, "\(time)")
            #expect(
                try queries.audit(AuditTrail.Filter(), at: time) == AuditTrail.compute(book: book, filter: .init(), at: pinned))
            for finess in book.establishments.keys.sorted() {
                let timelines = book.incidents(touching: finess).map {
                    RecoveryTimeline.compute(
                        establishment: book.establishments[finess], finess: finess, incidentId: $0,
                        facts: book.incidents[$0]!, at: pinned)
                }
                #expect(try queries.timelines(establishment: finess, at: time) == timelines, "\(finess) at \(time)")
            }
        }
    }

    /// With no as-of time, a deadline's elapsed time and status come from the clock the runner was given, and from
    /// nothing else: moving that clock moves them, and an as-of time, or the instant a time was already answered at, is read instead.
    @Test func aPinnedClockPinsTheDeadlines() throws {
        let dir = TemporaryDirectory()
        let (store, recording) = try ledgerWithManualClock(dir)
        let finess = "440000289"
        try load(
            [
                line(
                    "2024-03-04T12:00:00+01:00", "establishment.registered", "2024-03-04",
                    ["finess": .string(finess), "name": .string("CHU Test"), "city": .string("Nantes")],
                    stream: "establishment:\(finess)"),
                line(
                    "2024-03-04T12:01:00+01:00", "incident.opened", "2024-03-04 11:00",
                    ["title": .string("Test attack"), "establishments": .array([.string(finess)])]),
                line("2024-03-04T12:02:00+01:00", "attack.detected", "2024-03-04 10:00", ["description": .string("alert")]),
                line(
                    "2024-03-04T12:03:00+01:00", "service.degraded", "2024-03-04 10:00",
                    ["establishment": .string(finess), "service": .string("telephony"), "status": .string("down")]),
            ], into: store, clock: recording)
        let detected = t("2024-03-04T10:00:00+01:00")
        let clock = ManualClock(detected + 10 * hour)
        let queries = LedgerQueries(store: store, clock: clock)
        func byRule(_ time: QueryTime) throws -> [String: ObligationClock] {
            Dictionary(uniqueKeysWithValues: try queries.deadlines(at: time)[0].clocks.map { ($0.rule.id, $0) })
        }

        var clocks = try byRule(.now)
        // The complaint to the insurer is due 72 h after the detection; the CERT Santé report is overdue after 24 h.
        #expect(clocks["insurance-complaint"]?.deadline?.microseconds == detected + 72 * hour)
        #expect(clocks["insurance-complaint"]?.elapsedHours == 10)
        #expect(clocks["insurance-complaint"]?.status == .running)
        #expect(clocks["csp-l1111-8-2"]?.elapsedHours == 10)
        #expect(clocks["csp-l1111-8-2"]?.status == .running)
        // The ongoing outage runs to the same now.
        let timeline = try #require(try queries.timelines(establishment: finess, at: .now).first)
        #expect(timeline.reference == detected + 10 * hour)

        clock.set(detected + 30 * hour)
        clocks = try byRule(.now)
        #expect(clocks["csp-l1111-8-2"]?.elapsedHours == 30)
        #expect(clocks["csp-l1111-8-2"]?.status == .overdue)
        #expect(clocks["insurance-complaint"]?.status == .running)

        clock.set(detected + 80 * hour)
        clocks = try byRule(.now)
        #expect(clocks["insurance-complaint"]?.elapsedHours == 80)
        #expect(clocks["insurance-complaint"]?.status == .overdue)

        // An as-of time is what the clocks are read at, whatever the clock says; so is the instant a time was answered at.
        #expect(try byRule(QueryTime(asOf: detected + 5 * hour))["insurance-complaint"]?.elapsedHours == 5)
        #expect(try byRule(QueryTime(answeredAt: detected + 2 * hour))["insurance-complaint"]?.elapsedHours == 2)
        #expect(try byRule(QueryTime(answeredAt: detected + 2 * hour))["csp-l1111-8-2"]?.status == .running)
    }

    /// The Projections module does no store I/O and reads no clock. Its sources never name the store (the only
    /// way to its reads, writes and projection storage: `EventStoreError` and the value types stay usable) nor a
    /// clock or file API. The same scan finds the store and the clock in the runner, so it would catch them.
    @Test func projectionsNeitherReachTheStoreNorReadAClock() throws {
        let forbidden = [
            #"\bEventStore\b"#, #"\bLedgerQueries\b"#, #"import (LMDB|CLMDB|ProjectionRunner)\b"#,
            #"\.(scanLog|loadProjection|saveProjection|clearProjection|checkProjection|appendAtomically)\("#,
            #"\bDate\(\)"#, #"\bDate\.now\b"#, #"\bclock_gettime\b"#, #"\bgettimeofday\b"#, #"\bSystemClock\b"#,
            #"\bRecordingClock\b"#, #"\.now\(\)"#, #"\btimeOrdered\(\)"#, #"\bProcessInfo\b"#, #"\bFileManager\b"#,
            #"\bFileHandle\b"#,
        ].map { try! NSRegularExpression(pattern: $0) }
        func findings(in folder: String) throws -> [String] {
            let directory = packageRoot() + "/Sources/" + folder
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".swift") }
            #expect(files.count >= 3, "\(directory) has Swift sources")
            var found: [String] = []
            for file in files.sorted() {
                let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    // Code only: prose may name what the code must not call.
                    let code = String(line.trimmingCharacters(in: .whitespaces).hasPrefix("//") ? "" : line)
                    if code.hasPrefix("import EventStore") { continue }
                    let range = NSRange(code.startIndex..., in: code)
                    for pattern in forbidden where pattern.firstMatch(in: code, range: range) != nil {
                        found.append("\(folder)/\(file):\(number + 1): \(pattern.pattern): \(code)")
                    }
                }
            }
            return found
        }
        let inProjections = try findings(in: "Projections")
        #expect(inProjections.isEmpty, "\(inProjections.joined(separator: "\n"))")
        let inRunner = try findings(in: "ProjectionRunner").joined(separator: "\n")
        #expect(inRunner.contains(#"\bEventStore\b"#) && inRunner.contains(#".now\(\)"#), "\(inRunner)")
    }
}
