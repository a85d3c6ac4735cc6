import EventStore
import Foundation
import LedgerTestSupport
import Testing

@testable import ProjectionRunner
@testable import Projections

/// The two-lane catch-up against the sequential one and against a fold of the decoded events, on a generated
/// ledger large enough for many rounds: the saved index must be the same, entry for entry, with the same seal.
@Suite struct RebuildTests {
    /// A ledger of `incidents` incidents over `establishments` registered establishments, `events` events in
    /// all: registrations (one registered twice), incidents opened naming their establishments, services
    /// degraded and restored at one of them, corrections whose changes name another, notes, and types the
    /// index ignores; deterministic for a seed, in batches of many streams.
    static func generatedLedger(_ dir: TemporaryDirectory, events: Int, incidents: Int = 60, establishments: Int = 25) throws
        -> EventStore
    {
        var configuration = EventStoreConfiguration()
        configuration.keepsMerkleTree = false
        let store = try EventStore.create(at: dir.path, configuration: configuration)
        var state: UInt64 = 13
        func random(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        func finess(_ i: Int) -> JSONValue { .string(String(format: "%02d%07d", 10 + i % 80, 20_000 + i)) }
        let at = OccurredAt(precision: .minute, start: Timestamp(rfc3339: "2024-03-01T10:00:00+01:00")!)!
        func event(_ type: String, _ payload: [String: JSONValue]) -> ProposedEvent {
            ProposedEvent(
                eventType: type, occurredAt: at, actor: "cell@test.example", source: "generated", payload: .object(payload))
        }
        var requests: [AppendRequest] = []
        for e in 0..<establishments {
            requests.append(
                AppendRequest(
                    streamId: "establishment:\(e)",
                    events: [event("establishment.registered", ["finess": finess(e), "name": .string("CH \(e)")])]))
        }
        var written = establishments
        var opened = 0
        while written < events {
            let i = opened < incidents && random(8) == 0 ? opened : random(max(opened, 1))
            let stream = "incident:gen-\(i)"
            let est = finess(i % establishments)
            let proposed: ProposedEvent
            if i == opened {
                opened += 1
                proposed = event(
                    "incident.opened", ["title": .string("n°\(i) “quoted”"), "establishments": .array([est, finess(i + 1)])])
            } else {
                switch random(10) {
                case 0...2:
                    proposed = event(
                        "service.degraded", ["establishment": est, "service": .string("telephony"), "status": .string("down")])
                case 3, 4: proposed = event("service.restored", ["establishment": est, "service": .string("telephony")])
                case 5:
                    proposed = event(
                        "event.corrected",
                        [
                            "correctedEventId": .string(UUID().uuidString),
                            "changes": .object(["establishment": finess(random(40))]),
                        ])
                case 6:
                    proposed = event(
                        "establishment.registered", ["finess": finess(random(establishments)), "name": .string("again")])
                default: proposed = event("note.added", ["text": .string("note \(written) with \\ and \"")])
                }
            }
            let target = proposed.eventType == "establishment.registered" ? "establishment:again-\(written)" : stream
            requests.append(AppendRequest(streamId: target, events: [proposed]))
            written += 1
            if requests.count == 500 {
                _ = try store.appendAtomically(requests)
                requests.removeAll()
            }
        }
        if !requests.isEmpty { _ = try store.appendAtomically(requests) }
        return store
    }

    @Test(arguments: [1, 2, 3])
    func laneRebuildEqualsTheSequentialFold(lanes: Int) throws {
        let dir = TemporaryDirectory()
        let store = try Self.generatedLedger(dir, events: 12_345)
        #expect(try store.lastPosition() == 12_345)
        // The sequential fold over decoded events, in memory: what the index must hold.
        let expected = try IncidentIndex.entries(folding: store.allEvents())
        #expect(expected.keys.contains { $0.hasPrefix("e:") } && expected.keys.contains { $0.hasPrefix("t:") })

        try IncidentIndex.rebuild(store, lanes: 1)
        let sequential = try store.loadProjection(IncidentIndex.projectionName)
        #expect(sequential.entries == expected)
        #expect(sequential.checkpoint == 12_345)
        // Runs of an odd length, so that rounds end mid-run and the last one is short.
        for eventsPerRead in [333, 5000] {
            try IncidentIndex.rebuild(store, eventsPerRead: eventsPerRead, lanes: lanes)
            let rebuilt = try store.loadProjection(IncidentIndex.projectionName)
            #expect(rebuilt == sequential, "\(lanes) lanes of \(eventsPerRead) events")
            #expect(try IncidentIndex.integrity(store) == .sound(checkpoint: 12_345))
            #expect(try IncidentIndex.verify(store) == nil)
        }
    }

    /// Catching up in steps, with two lanes, while the log grows, ends where a rebuild from scratch does.
    @Test func laneCatchUpInStepsEqualsARebuild() throws {
        let dir = TemporaryDirectory()
        let store = try Self.generatedLedger(dir, events: 3_000)
        try IncidentIndex.catchUp(store, eventsPerRead: 250, lanes: 2)
        let more = (0..<1_234).map { i in
            AppendRequest(
                streamId: "incident:late-\(i % 7)",
                events: [
                    ProposedEvent(
                        eventType: "service.degraded",
                        occurredAt: OccurredAt(precision: .day, start: Timestamp(rfc3339: "2024-03-02T00:00:00+01:00")!)!,
                        actor: "cell@test.example", source: "generated",
                        payload: .object(["establishment": .string("99000000\(i % 3)"), "service": .string("pharmacy")]))
                ])
        }
        _ = try store.appendAtomically(more)
        #expect(try IncidentIndex.catchUp(store, eventsPerRead: 250, lanes: 2) == 4_234)
        let caughtUp = try store.loadProjection(IncidentIndex.projectionName)
        try IncidentIndex.rebuild(store, lanes: 1)
        #expect(try store.loadProjection(IncidentIndex.projectionName) == caughtUp)
        #expect(caughtUp.entries.keys.contains("t:990000002/incident:late-5"))
    }
}
