import Foundation
import LMDB
import LedgerTestSupport
import Testing

@testable import EventStore

/// The secondary indexes (actor, type, occurredAt) are written behind the commit: these tests hold the
/// promise that goes with it, that a read through them still sees every committed event, in index order.
@Suite("Secondary indexes behind the commit")
struct DeferredIndexTests {
    static let actors = ["alice", "bob", "carol"]
    static let types = ["note.added", "attack.detected", "service.degraded"]

    /// What each read must give, computed from the whole log.
    static func expected(_ selection: EventSelection, in log: [RecordedEvent]) -> [RecordedEvent] {
        switch selection {
        case .actor(let actor): return log.filter { $0.actor == actor }
        case .eventType(let type): return log.filter { $0.eventType == type }
        case .occurred(let from, let to):
            return log.filter { event in
                let at = event.occurredAt.earliest
                return (from.map { at >= $0 } ?? true) && (to.map { at <= $0 } ?? true)
            }
            .sorted { ($0.occurredAt.earliest, $0.position) < ($1.occurredAt.earliest, $1.position) }
        case .log, .stream: return log
        }
    }

    static func checkReads(_ store: EventStore, _ random: inout SeededRandom, _ comment: Comment) throws {
        let log = try store.allEvents()
        var selections: [EventSelection] = actors.map { .actor($0) } + types.map { .eventType($0) }
        let a = Int64(random.below(400)) * 1_000_000
        selections += [.occurred(from: nil, to: nil), .occurred(from: a, to: a + 150_000_000), .occurred(from: a, to: nil)]
        for selection in selections {
            let want = expected(selection, in: log)
            #expect(try store.events(selection) == want, "\(selection) forward, \(comment)")
            #expect(try store.events(selection, direction: .backward) == want.reversed(), "\(selection) backward, \(comment)")
            // A small limit pages in steps where the tail's events and the index's alternate.
            let limit = 1 + random.below(5)
            #expect(
                try store.events(selection, limit: limit) == Array(want.prefix(limit)), "\(selection) limit \(limit), \(comment)")
            #expect(
                try store.events(selection, direction: .backward, limit: limit) == Array(want.reversed().prefix(limit)),
                "\(selection) backward limit \(limit), \(comment)")
        }
    }

    static func event(_ i: Int, _ random: inout SeededRandom) -> ProposedEvent {
        var event = note("n\(i)", actor: actors[random.below(actors.count)])
        event.eventType = types[random.below(types.count)]
        event.payload = .object(["text": .string("n\(i)")])
        event.occurredAt = .instant(Timestamp(microseconds: Int64(random.below(400)) * 1_000_000))
        return event
    }

    @Test func readsThroughTheSecondaryIndexesSeeEveryCommittedEventWhileTheyLag() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        var random = SeededRandom(seed: 20_261_202)
        var lagged = false
        var caughtUp = 0
        var lastIndexed: UInt64 = 0
        for i in 0..<(Int(EventStore.indexLag) * 2 + 40) {
            let event = Self.event(i, &random)
            // Both single-commit paths: the group committer and the synchronous batch of one request.
            if i % 2 == 0 {
                _ = try await store.append([event], to: "incident:\(i % 3)")
            } else {
                _ = try store.appendAtomically([AppendRequest(streamId: "incident:\(i % 3)", events: [event])])
            }
            let (head, indexed) = try store.readTransaction { txn in
                (try store.head(in: txn).position, try store.indexedThrough(in: txn))
            }
            #expect(head - indexed < EventStore.indexLag, "after append \(i)")
            if indexed < head { lagged = true }
            if indexed > lastIndexed { caughtUp += 1 }
            lastIndexed = indexed
            if i % 9 == 0 { try Self.checkReads(store, &random, "after append \(i)") }
        }
        // The indexes lagged and were caught up by later commits, twice over this many appends.
        #expect(lagged)
        #expect(caughtUp == 2)
        try Self.checkReads(store, &random, "at the end")
        let report = try store.verify()
        #expect(report.isValid, "\(String(describing: report.problem))")
        // A read-only opening writes nothing and still merges the tail.
        let reader = try EventStore.open(at: dir.path, readOnly: true)
        try Self.checkReads(reader, &random, "read-only")
    }

    @Test func aCatchUpReadsBackTheEventsItsProcessDidNotWrite() throws {
        let dir = TemporaryDirectory()
        var random = SeededRandom(seed: 5)
        // A first opening leaves 100 events waiting; the second knows nothing of them but what the log says.
        do {
            let store = try EventStore.create(at: dir.path)
            for i in 0..<100 {
                _ = try store.appendAtomically([AppendRequest(streamId: "incident:a", events: [Self.event(i, &random)])])
            }
            #expect(try store.readTransaction { txn in try store.indexedThrough(in: txn) } == 0)
        }
        let store = try EventStore.open(at: dir.path)
        for i in 100..<130 {
            _ = try store.appendAtomically([AppendRequest(streamId: "incident:b", events: [Self.event(i, &random)])])
        }
        #expect(try store.readTransaction { txn in try store.indexedThrough(in: txn) } == 128)
        let report = try store.verify()
        #expect(report.isValid, "\(String(describing: report.problem))")
        try Self.checkReads(store, &random, "after a catch-up across openings")
    }

    @Test func aBulkBatchIndexesEverythingItWrote() throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        var random = SeededRandom(seed: 7)
        let events = (0..<10).map { Self.event($0, &random) }
        let prepared = try events.map { try store.prepareForBulk($0, streamId: "incident:bulk", path: "$") }
        _ = try store.appendPrepared(prepared)
        #expect(try store.readTransaction { txn in try store.indexedThrough(in: txn) } == 10)
        // Fewer single appends than the lag: behind again, and every read still whole.
        for i in 0..<3 {
            _ = try store.appendAtomically([AppendRequest(streamId: "incident:x", events: [Self.event(i, &random)])])
        }
        #expect(try store.readTransaction { txn in try store.indexedThrough(in: txn) } == 10)
        try Self.checkReads(store, &random, "after the bulk batch")
        #expect(try store.verify().isValid)
    }

    @Test func verifyFindsAMissingOrAnExtraSecondaryEntry() async throws {
        var random = SeededRandom(seed: 11)
        for damage in ["missing below indexed-through", "extra past indexed-through", "indexed-through past the head"] {
            let dir = TemporaryDirectory()
            let store = try EventStore.create(at: dir.path)
            let events = (0..<200).map { Self.event($0, &random) }
            _ = try store.appendAtomically([AppendRequest(streamId: "incident:a", events: events)])
            for i in 0..<5 { _ = try await store.append([Self.event(i, &random)], to: "incident:b") }
            #expect(try store.verify().isValid)
            let last = try store.event(at: 205)!
            let first = try store.event(at: 1)!
            try store.environment.write { txn in
                switch damage {
                case "missing below indexed-through":
                    _ = try txn.delete(store.tables.byActor, key: Keys.named(first.actor, position: 1))
                case "extra past indexed-through":
                    try txn.put(store.tables.byType, key: Keys.named(last.eventType, position: 205), value: [])
                default:
                    try txn.put(store.tables.meta, key: EventStore.indexedThroughKey, value: Keys.position(206))
                }
            }
            let report = try store.verify()
            #expect(!report.isValid, "\(damage)")
            #expect(
                report.problem?.description.contains(
                    damage == "missing below indexed-through"
                        ? "by-actor" : damage == "extra past indexed-through" ? "by-type" : "indexed-through") == true,
                "\(damage): \(String(describing: report.problem))")
        }
    }

    @Test func aFormatThreeLedgerIsReadAsItIsAndUpgradedInPlaceWhenOpenedForWriting() throws {
        let dir = TemporaryDirectory()
        var random = SeededRandom(seed: 3)
        do {
            let store = try EventStore.create(at: dir.path)
            let events = (0..<150).map { Self.event($0, &random) }
            _ = try store.appendAtomically([AppendRequest(streamId: "incident:a", events: events)])
            // What format 3 left: every index written, no indexed-through, its own marker.
            try store.environment.write { txn in
                _ = try txn.delete(store.tables.meta, key: EventStore.indexedThroughKey)
                try txn.put(store.tables.meta, key: Array("format".utf8), value: Array(EventStore.formatThreeMarker.utf8))
            }
        }
        func marker(_ store: EventStore) throws -> String? {
            try store.readTransaction { txn in
                try txn.get(store.tables.meta, key: Array("format".utf8)).map { String(decoding: $0, as: UTF8.self) }
            }
        }
        let reader = try EventStore.open(at: dir.path, readOnly: true)
        #expect(try marker(reader) == EventStore.formatThreeMarker)
        #expect(try reader.readTransaction { txn in try reader.indexedThrough(in: txn) } == 150)
        try Self.checkReads(reader, &random, "format 3, read-only")
        #expect(try reader.verify().isValid)
        let writer = try EventStore.open(at: dir.path)
        #expect(try marker(writer) == EventStore.formatMarker)
        #expect(try writer.readTransaction { txn in try writer.indexedThrough(in: txn) } == 150)
        _ = try writer.appendAtomically([AppendRequest(streamId: "incident:a", events: [Self.event(150, &random)])])
        try Self.checkReads(writer, &random, "upgraded")
        #expect(try writer.verify().isValid)
    }
    @Test func aFormatFourLedgerWithItsTreeWrittenInEveryCommitIsReadAsItIsAndUpgradedInPlace() async throws {
        let dir = TemporaryDirectory()
        var random = SeededRandom(seed: 4)
        do {
            let store = try EventStore.create(at: dir.path)
            let events = (0..<150).map { Self.event($0, &random) }
            _ = try store.appendAtomically([AppendRequest(streamId: "incident:a", events: events)])
            for i in 150..<155 { _ = try await store.append([Self.event(i, &random)], to: "incident:b") }
            // What format 4 left: the tail's secondary entries waiting, but its subtrees written with each event.
            try store.environment.write { txn in
                var frontier = try store.treeFrontier(ofSize: 150, in: txn)
                for position in UInt64(151)...155 {
                    let canonical = try #require(
                        try txn.withValue(store.tables.events, key: Keys.position(position)) { value in
                            value.withUnsafeBytes { Array($0[EventCodec.hashSize...]) }
                        })
                    for subtree in try EventStore.subtreesCompleted(by: canonical, at: position, frontier: &frontier) {
                        try txn.put(store.tables.merkle, key: subtree.address.storageKey, value: subtree.hash.bytes)
                    }
                }
                try txn.put(store.tables.meta, key: Array("format".utf8), value: Array(EventStore.formatFourMarker.utf8))
            }
        }
        func marker(_ store: EventStore) throws -> String? {
            try store.readTransaction { txn in
                try txn.get(store.tables.meta, key: Array("format".utf8)).map { String(decoding: $0, as: UTF8.self) }
            }
        }
        let reader = try EventStore.open(at: dir.path, readOnly: true)
        #expect(try marker(reader) == EventStore.formatFourMarker)
        #expect(try reader.readTransaction { txn in try reader.indexedThrough(in: txn) } == 150)
        let report = try reader.verify()
        #expect(report.isValid, "\(String(describing: report.problem))")
        #expect(report.subtreesChecked == EventStore.storedSubtreeCount(ofSize: 155))
        let root = try reader.treeRoot().root
        try Self.checkReads(reader, &random, "format 4, read-only")
        let writer = try EventStore.open(at: dir.path)
        #expect(try marker(writer) == EventStore.formatMarker)
        #expect(try writer.readTransaction { txn in try writer.indexedThrough(in: txn) } == 155)
        #expect(try writer.treeRoot().root == root)
        _ = try await writer.append([Self.event(155, &random)], to: "incident:b")
        try Self.checkReads(writer, &random, "upgraded from format 4")
        let upgraded = try writer.verify()
        #expect(upgraded.isValid, "\(String(describing: upgraded.problem))")
        #expect(upgraded.subtreesChecked == EventStore.storedSubtreeCount(ofSize: 155))
    }
}

extension SeededRandom {
    /// A value in `0 ..< n`.
    fileprivate mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
