import Foundation
import LMDB
import LedgerTestSupport
import Testing

@testable import EventStore

@Suite("Appending and reading")
struct AppendTests {
    @Test func appendAssignsGapFreePositionsVersionsAndAChain() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        let first = try await store.append([note("one"), note("two")], to: "incident:a", expectedVersion: .noStream)
        let second = try await store.append([note("three")], to: "incident:b")
        let third = try await store.append([note("four")], to: "incident:a", expectedVersion: .exactly(2))
        #expect(first.positions == [1, 2])
        #expect(second.positions == [3])
        #expect(third.positions == [4])
        #expect(third.streamVersion == 3)
        let events = try store.allEvents()
        #expect(events.map(\.position) == [1, 2, 3, 4])
        #expect(events.map(\.streamVersion) == [1, 2, 1, 3])
        #expect(events[0].previousHash == String(repeating: "0", count: 64))
        for (earlier, later) in zip(events, events.dropFirst()) {
            #expect(later.previousHash == earlier.hash)
            #expect(later.recordedAt.microseconds > earlier.recordedAt.microseconds)
        }
        #expect(try store.verify().isValid)
        // Versions and the head come from the log and the streams index: a stream whose id extends another's
        // is a stream of its own.
        _ = try await store.append([note("five")], to: "incident:ab")
        #expect(try store.streamVersion(of: "incident:a") == 3)
        #expect(try store.streamVersion(of: "incident:ab") == 1)
        #expect(try store.streamVersion(of: "incident:") == 0)
        let statistics = try store.statistics()
        #expect(statistics.events == 5 && statistics.streams == 3)
        #expect(statistics.lastRecordedAt == (try store.event(at: 5))?.recordedAt)
        #expect(try store.lastPosition(recordedAtOrBefore: events[2].recordedAt.microseconds) == 3)
        #expect(try store.lastPosition(recordedAtOrBefore: events[0].recordedAt.microseconds - 1) == 0)
        #expect(try store.lastPosition(recordedAtOrBefore: .max) == 5)
        // Events sent without an id get a time-ordered one (UUID version 7), in the order they were appended.
        let ids = events.map { $0.eventId.lowercasedString }
        #expect(ids.allSatisfy { $0.dropFirst(14).first == "7" && "89ab".contains($0.dropFirst(19).first!) })
        #expect(ids.map { $0.prefix(13) } == ids.map { $0.prefix(13) }.sorted())
    }

    @Test func aDamagedIndexEntryIsReportedInsteadOfReadPastItsEnd() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        let id = UUID()
        _ = try await store.append([note("one", id: id)], to: "incident:a")
        try store.environment.write { txn in try txn.put(store.tables.eventIds, key: Keys.eventId(id), value: [1, 2, 3]) }
        let error = #expect(throws: EventStoreError.self) { try store.event(id: id) }
        #expect(error?.description.contains("an index points at a missing event") == true)
        await #expect(throws: EventStoreError.self) { try await store.append([note("one", id: id)], to: "incident:a") }
        #expect(try store.verify().isValid == false)
    }

    @Test func aLedgerOfAnotherFormatIsRefusedWithBothFormats() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try EventStore.create(at: dir.path)
            try store.environment.write { txn in
                try txn.put(
                    store.tables.meta, key: Array("format".utf8), value: Array("IncidentLedger event store, format 2".utf8))
            }
        }
        let error = #expect(throws: EventStoreError.self) { try EventStore.open(at: dir.path) }
        #expect(error?.description.contains("holds a ledger in format 2; this build reads format 5") == true)
        #expect(error?.description.contains("ledger migrate --from") == true)
    }

    @Test func timeOrderedIdsStartWithTheirMilliseconds() {
        let id = UUID.timeOrdered(milliseconds: 1_700_000_000_000).lowercasedString
        #expect(id.hasPrefix("018bcfe5-6800-7"))
        #expect(UUID.timeOrdered(milliseconds: 1_700_000_000_001).lowercasedString > id)
        #expect(UUID.timeOrdered(milliseconds: 1_700_000_000_000) != UUID.timeOrdered(milliseconds: 1_700_000_000_000))
    }

    @Test func aWrongExpectedVersionSaysBothVersionsAndWritesNothing() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        _ = try await store.append([note("one")], to: "incident:a")
        let before = try store.statistics()
        let transactionsBefore = store.environment.info.lastTransactionId
        for expected in [ExpectedVersion.noStream, .exactly(5), .exactly(0)] {
            let error = await #expect(throws: EventStoreError.self) {
                try await store.append([note("x")], to: "incident:a", expectedVersion: expected)
            }
            #expect(error?.code == .wrongExpectedVersion)
            #expect(error?.message.contains("expected version \(expected)") == true)
            #expect(error?.message.contains("at 1") == true)
        }
        let missing = await #expect(throws: EventStoreError.self) {
            try await store.append([note("x")], to: "incident:none", expectedVersion: .streamExists)
        }
        #expect(missing?.message.contains("no-stream (0)") == true)
        let after = try store.statistics()
        #expect(after.events == before.events && after.headHash == before.headHash && after.usedBytes == before.usedBytes)
        #expect(store.environment.info.lastTransactionId == transactionsBefore)
    }

    @Test func retryingAStoredBatchReturnsItsPositionsAndWritesNothing() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        let batch = [note("one", id: UUID()), note("two", id: UUID())]
        let original = try await store.append(batch, to: "incident:a", expectedVersion: .noStream)
        _ = try await store.append([note("other")], to: "incident:a")
        let retry = try await store.append(batch, to: "incident:a", expectedVersion: .noStream)
        #expect(retry.positions == original.positions)
        #expect(retry.wasAlreadyStored)
        #expect(try store.lastPosition() == 3)

        var changed = batch
        changed[1].payload = .object(["text": .string("something else")])
        let conflict = await #expect(throws: EventStoreError.self) { try await store.append(changed, to: "incident:a") }
        #expect(conflict?.code == .eventIdConflict)
        #expect(conflict?.message.contains("different payload") == true)

        let mixed = await #expect(throws: EventStoreError.self) {
            try await store.append([batch[0], note("new", id: UUID())], to: "incident:a")
        }
        #expect(mixed?.code == .eventIdConflict)
        let twice = await #expect(throws: EventStoreError.self) {
            try await store.append([batch[0], batch[0]], to: "incident:z")
        }
        #expect(twice?.message.contains("appears twice") == true)
        #expect(try store.lastPosition() == 3)
    }

    @Test func invalidEventsAreRefusedByFieldAndNothingIsWritten() async throws {
        let dir = TemporaryDirectory()
        var configuration = EventStoreConfiguration()
        configuration.payloadLimit = 1000
        let store = try EventStore.create(at: dir.path, configuration: configuration)
        var badType = note("x")
        badType.eventType = "Service Degraded"
        var badActor = note("x")
        badActor.actor = "line\nbreak"
        var badPayload = note("x")
        badPayload.payload = .array([])
        var big = note("x")
        big.payload = .object(["text": .string(String(repeating: "a", count: 2000))])
        let cases: [(ProposedEvent, String, String, EventStoreError.Code)] = [
            (badType, "incident:a", "$.eventType", .invalidEvent),
            (badActor, "incident:a", "$.actor", .invalidEvent),
            (badPayload, "incident:a", "$.payload", .invalidEvent),
            (big, "incident:a", "$.payload", .payloadTooLarge),
            (note("x"), "bad stream id", "$.streamId", .invalidEvent),
        ]
        for (event, stream, field, code) in cases {
            let error = await #expect(throws: EventStoreError.self) { try await store.append([event], to: stream) }
            #expect(error?.field == field)
            #expect(error?.code == code)
        }
        #expect(try store.lastPosition() == 0)
    }

    @Test func readsFilterByStreamActorTypeTimeAndIdAcrossManyPages() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        var requests: [AppendRequest] = []
        for i in 0..<600 {
            var event = note("n\(i)", stream: "", actor: i % 3 == 0 ? "alice" : "bob", id: UUID())
            event.occurredAt = .instant(Timestamp(microseconds: Int64(1_000_000 * (600 - i))))
            if i % 5 == 0 { event.eventType = "attack.detected" }
            requests.append(AppendRequest(streamId: "incident:\(i % 2)", events: [event]))
        }
        _ = try store.appendAtomically(requests)
        let stream = try store.events(.stream("incident:1"))
        #expect(stream.count == 300)
        #expect(stream.map(\.streamVersion) == Array(1...300))
        let window = try store.events(.stream("incident:1", fromVersion: 10, toVersion: 12))
        #expect(window.map(\.streamVersion) == [10, 11, 12])
        let backward = try store.events(.stream("incident:0"), direction: .backward, limit: 3)
        #expect(backward.map(\.streamVersion) == [300, 299, 298])
        #expect(try store.events(.actor("alice")).count == 200)
        #expect(try store.events(.actor("alice")).allSatisfy { $0.actor == "alice" })
        #expect(try store.events(.eventType("attack.detected")).count == 120)
        let early = try store.events(.occurred(from: 1_000_000, to: 10_000_000))
        #expect(early.count == 10)
        #expect(early.map(\.occurredAt.earliest) == early.map(\.occurredAt.earliest).sorted())
        let log = try store.events(.log(fromPosition: 590))
        #expect(log.map(\.position) == Array(590...600))
        #expect(try store.events(.log(), direction: .backward, limit: 2).map(\.position) == [600, 599])
        let someone = stream[42]
        #expect(try store.event(id: someone.eventId) == someone)
        #expect(try store.event(at: someone.position) == someone)
        #expect(try store.event(at: 601) == nil)
        #expect(try store.event(id: UUID()) == nil)
        // Known-at: what the ledger held at a time.
        let cut = try store.allEvents()[99].recordedAt.microseconds
        #expect(try store.lastPosition(recordedAtOrBefore: cut) == 100)
        #expect(try store.lastPosition(recordedAtOrBefore: 0) == 0)
    }

    @Test func storedBytesAreTheCanonicalEncodingOfTheEnvelope() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        var event = note("ünïcode \"quoted\"\n")
        event.reason = "corrected after a call"
        event.metadata = EventMetadata(correlationId: "c-1", causationId: "c-0")
        event.occurredAt = try OccurredAt(
            json: JSONParser.parse(
                #"{"precision":"interval","from":"2021-06-01T00:00:00+02:00","to":"2021-09-12T00:00:00+02:00"}"#),
            path: "$")
        _ = try await store.append([event], to: "incident:a")
        let stored = try #require(try store.event(at: 1))
        let canonical = CanonicalJSON.encode(stored.hashedJSON)
        #expect(EventCodec.hex(canonical.withUnsafeBytes { EventCodec.digest($0) }) == stored.hash)
        // Checked against an independent RFC 8785 implementation too (PyPI rfc8785), not only against the
        // CanonicalJSON under test: the envelope as `ledger read` prints it, re-canonicalised and hashed in Python.
        let independent = try python(
            """
            import hashlib, json, sys, rfc8785
            event = json.loads(sys.stdin.read())
            stated = event.pop("hash")
            body = rfc8785.dumps(event)
            print(hashlib.sha256(body).hexdigest(), body.hex())
            """, input: CanonicalJSON.string(stored.json))
        let parts = independent.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(parts.first == stored.hash)
        #expect(parts.last == canonical.map { String(format: "%02x", $0) }.joined(), "the same bytes, not only the same hash")
        #expect(stored.reason == "corrected after a call")
        #expect(stored.metadata.correlationId == "c-1")
        #expect(stored.occurredAt == event.occurredAt)
        #expect(try store.verify().isValid)
    }

    @Test func concurrentAppendsAreGroupCommittedAndAllLand() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        let transactionsBefore = store.environment.info.lastTransactionId
        let appends = 256
        let positions = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for i in 0..<appends {
                group.addTask { try await store.append([note("n\(i)")], to: "incident:\(i % 8)").positions }
            }
            return try await group.reduce(into: [UInt64]()) { $0 += $1 }
        }
        #expect(positions.sorted() == Array(1...UInt64(appends)))
        let transactions = store.environment.info.lastTransactionId - transactionsBefore
        #expect(transactions < appends, "\(appends) appends took \(transactions) write transactions")
        #expect(try store.verify().isValid)
        let versions = try (0..<8).map { try store.streamVersion(of: "incident:\($0)") }
        #expect(versions.allSatisfy { $0 == 32 })
    }

    @Test func aConflictInAGroupFailsOnlyThatAppend() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        _ = try await store.append([note("seed")], to: "incident:a")
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<50 {
                // Half of them expect a version the stream never has.
                let expected: ExpectedVersion = i.isMultiple(of: 2) ? .any : .exactly(999)
                group.addTask { (try? await store.append([note("n\(i)")], to: "incident:a", expectedVersion: expected)) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 25)
        #expect(try store.lastPosition() == 26)
        #expect(try store.verify().isValid)
    }

    @Test func readersRunWhileTheWriterAppends() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        let writer = Task {
            for i in 0..<200 { _ = try await store.append([note("n\(i)")], to: "incident:a") }
        }
        var reads = 0
        // Bounded: a writer that throws ends the reads, and `writer.value` below then fails the test instead of
        // the loop waiting for events that never come.
        for _ in 0..<50_000 {
            let events = try store.allEvents()
            // Every read is a consistent prefix of the log.
            #expect(events.map(\.position) == Array(0..<UInt64(events.count)).map { $0 + 1 })
            reads += 1
            if events.count == 200 { break }
            await Task.yield()
        }
        try await writer.value
        #expect(reads > 1)
    }

    @Test func aGrowingMapIsInvisibleToAppends() async throws {
        let dir = TemporaryDirectory()
        var configuration = EventStoreConfiguration()
        configuration.environment.initialMapSize = 256 << 10
        let store = try EventStore.create(at: dir.path, configuration: configuration)
        let text = String(repeating: "x", count: 2000)
        let requests = (0..<1000).map { AppendRequest(streamId: "incident:big", events: [note("\($0) \(text)")]) }
        _ = try store.appendAtomically(requests)
        #expect(store.environment.mapSize > 256 << 10)
        #expect(try store.lastPosition() == 1000)
        #expect(try store.verify().isValid)
    }

    @Test func openingRefusesMissingForeignAndCorruptDirectories() throws {
        let dir = TemporaryDirectory()
        let missing = #expect(throws: EventStoreError.self) { try EventStore.open(at: dir.path) }
        #expect(missing?.code == .noLedger)
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let empty = #expect(throws: EventStoreError.self) { try EventStore.open(at: dir.path) }
        #expect(empty?.code == .noLedger)
        // An LMDB environment that is not a ledger.
        do {
            let env = try Environment(directory: dir.path)
            let db = try env.openDatabase("something")
            try env.write { txn in try txn.put(db, key: [1], value: [2]) }
        }
        let foreign = #expect(throws: EventStoreError.self) { try EventStore.open(at: dir.path) }
        #expect(foreign?.code == .notALedger)
        // Garbage where data.mdb should be.
        let garbage = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: garbage.path, withIntermediateDirectories: true)
        try Data(repeating: 0x5A, count: 16384).write(to: URL(fileURLWithPath: garbage.path + "/data.mdb"))
        let corrupt = #expect(throws: EventStoreError.self) { try EventStore.open(at: garbage.path) }
        #expect(corrupt?.code == .corrupted)
        #expect(corrupt?.field == garbage.path + "/data.mdb")
    }
}
