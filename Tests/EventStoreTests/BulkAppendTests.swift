import Foundation
import LedgerTestSupport
import Testing

@testable import EventStore

/// The bulk path (`prepareForBulk`, the spool's records, `appendPrepared`) against the shared one
/// (`appendAtomically`): the same events must become the same stored bytes, hashes and tree.
@Suite("Bulk appends of prepared events")
struct BulkAppendTests {
    /// Events that exercise every part of the envelope's canonical form: ids given and not, reasons, both and
    /// one metadata id, every precision, intervals, offsets east and west, fractions, non-ASCII and escaped
    /// text, keys that sort differently by UTF-16 than by scalar, numbers with other spellings, nesting, and
    /// runs of one stream beside interleaved streams.
    static func events() throws -> [(stream: String, event: ProposedEvent)] {
        let lines = [
            #"{"streamId":"incident:a","eventId":"0190f3a2-7b1c-7d4e-9f00-0000000000a1","eventType":"note.added","occurredAt":{"precision":"minute","at":"2024-01-15T01:20:00+01:00"},"source":"cell","payload":{"text":"caf\u00e9 \"quoted\" \\ tab\tline\nend \ud83d\ude00","n":1.50,"big":1e2,"neg":-0.0,"z":[true,false,null,{"b":1,"a":2}],"\uff61":1,"\ud83d\ude00":2}}"#,
            #"{"streamId":"incident:a","eventType":"note.added","occurredAt":{"precision":"instant","at":"2024-01-15T01:20:00.123456-09:30"},"source":"s","reason":"why ☃","metadata":{"correlationId":"c-1","causationId":"k-1"},"payload":{"text":"x"}}"#,
            #"{"streamId":"incident:a","eventType":"note.added","occurredAt":{"precision":"interval","from":"2021-06-01T00:00:00Z","to":"2021-09-12T00:00:00.5Z"},"source":"s","metadata":{"correlationId":"only"},"payload":{"text":"y"}}"#,
            #"{"streamId":"incident:b","eventType":"note.added","occurredAt":{"precision":"day","at":"0002-03-01T00:00:00+14:00"},"source":"s","metadata":{"causationId":"only"},"payload":{"text":"z"}}"#,
            #"{"streamId":"incident:a","eventType":"note.added","occurredAt":{"precision":"month","at":"9999-11-01T00:00:00-12:00"},"actor":"someone@example.org","source":"s","schemaVersion":7,"payload":{}}"#,
            #"{"streamId":"incident:b","eventType":"note.added","occurredAt":{"precision":"hour","at":"1969-12-31T23:00:00Z"},"source":"s","payload":{"text":"before the epoch"}}"#,
        ]
        return try lines.map { line in
            let parsed = try ProposedEvent.fromJSON(try JSONParser.parse(line), defaultActor: "analyst@example.org")
            return (parsed.streamId!, parsed.event)
        }
    }

    static func store(at dir: TemporaryDirectory, clock: ManualClock) throws -> EventStore {
        var configuration = EventStoreConfiguration()
        configuration.clock = clock
        return try EventStore.create(at: dir.path, configuration: configuration)
    }

    static func storedBytes(_ store: EventStore) throws -> [[UInt8]] {
        var all: [[UInt8]] = []
        _ = try store.scanLog(fromPosition: 1, limit: .max) { _, canonical in all.append(Array(canonical)) }
        return all
    }

    @Test func preparedEventsAreStoredAsTheSharedPathStoresThem() throws {
        let clock = ManualClock(1_733_000_000_000_000)
        let (bulkDir, sharedDir) = (TemporaryDirectory(), TemporaryDirectory())
        let bulk = try Self.store(at: bulkDir, clock: clock)
        let shared = try Self.store(at: sharedDir, clock: clock)
        let events = try Self.events()
        let prepared = try events.map { try bulk.prepareForBulk($0.event, streamId: $0.stream, path: "$") }
        #expect(prepared.map(\.idIsNew) == events.map { $0.event.eventId == nil })
        // The shared path gets the ids the bulk path gave, and the same runs of one stream.
        var requests: [AppendRequest] = []
        for (item, prepared) in zip(events, prepared) {
            var event = item.event
            event.eventId = prepared.eventId
            if requests.last?.streamId == item.stream {
                requests[requests.count - 1].events.append(event)
            } else {
                requests.append(AppendRequest(streamId: item.stream, events: [event]))
            }
        }
        // Two batches each, so that the second starts from a stored head (and the tree's cached edge).
        let bulkResults = try bulk.appendPrepared(Array(prepared[..<3])) + bulk.appendPrepared(Array(prepared[3...]))
        let sharedResults = try shared.appendAtomically([requests[0]]) + shared.appendAtomically(Array(requests[1...]))
        #expect(bulkResults == sharedResults)
        let bytes = try Self.storedBytes(bulk)
        #expect(bytes.count == events.count)
        #expect(bytes == (try Self.storedBytes(shared)))
        // And both are the canonical encoding of the envelope as it reads back (what verify also checks).
        for (stored, event) in zip(bytes, try bulk.allEvents()) {
            #expect(stored == CanonicalJSON.encode(event.hashedJSON), "\(event.position)")
        }
        #expect(try bulk.verify().isValid)
        #expect(try bulk.treeRoot().root == (try shared.treeRoot().root))
    }

    @Test func aRetryWritesNothingAndOtherContentUnderAStoredIdIsRefused() throws {
        let clock = ManualClock(1_733_000_000_000_000)
        let dir = TemporaryDirectory()
        let store = try Self.store(at: dir, clock: clock)
        let events = try Self.events()
        let prepared = try events.map { try store.prepareForBulk($0.event, streamId: $0.stream, path: "$") }
        _ = try store.appendPrepared(prepared)
        let before = try Self.storedBytes(store)
        // The first event's id came with it: the same event again is a retry.
        let again = try store.appendPrepared([prepared[0]])
        #expect(again.count == 1 && again[0].wasAlreadyStored && again[0].positions == [1])
        var other = events[0].event
        other.payload = .object(["text": .string("other")])
        let clash = try store.prepareForBulk(other, streamId: events[0].stream, path: "$")
        let fresh = try store.prepareForBulk(note("new", stream: "incident:c"), streamId: "incident:c", path: "$")
        #expect(throws: EventStoreError.self) { try store.appendPrepared([fresh, clash]) }
        #expect(try Self.storedBytes(store) == before)
    }

    @Test func aPreparedEventIsCheckedAsAnAppendChecksIt() throws {
        let dir = TemporaryDirectory()
        var configuration = EventStoreConfiguration()
        configuration.payloadLimit = 64
        let store = try EventStore.create(at: dir.path, configuration: configuration)
        func refusal(_ event: ProposedEvent, _ stream: String?) -> String {
            do {
                _ = try store.prepareForBulk(event, streamId: stream, path: "$", missingStream: "required for a test")
                return "accepted"
            } catch { return error.description }
        }
        #expect(refusal(note("x"), nil) == "$.streamId: required for a test")
        #expect(refusal(note("x"), "-bad").contains("$.streamId: \"-bad\" may hold only"))
        #expect(refusal(note("x", actor: "a\u{7}b"), nil) == "$.actor: must not contain control characters")
        #expect(refusal(note(String(repeating: "x", count: 100)), "incident:a").contains("bytes is over the limit of 64 bytes"))
        #expect(refusal(note("x"), "incident:a") == "accepted")
    }

    @Test func theSpoolRecordReadsBackAsWritten() throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        let prepared = try Self.events().map { try store.prepareForBulk($0.event, streamId: $0.stream, path: "$") }
        var bytes: [UInt8] = []
        for event in prepared { event.encode(into: &bytes) }
        var read: [PreparedEvent] = []
        try bytes.withUnsafeBytes { buffer in
            var at = 0
            while let length = PreparedEvent.recordLength(UnsafeRawBufferPointer(rebasing: buffer[at...])) {
                let record = UnsafeRawBufferPointer(rebasing: buffer[at..<(at + length)])
                read.append(try #require(PreparedEvent.decode(from: record)))
                // A record cut short is no record.
                #expect(PreparedEvent.decode(from: UnsafeRawBufferPointer(rebasing: record[..<(length - 1)])) == nil)
                at += length
            }
            #expect(at == buffer.count)
        }
        #expect(read == prepared)
    }

    @Test func theEnvelopesFragmentsAreTheirCanonicalJSON() throws {
        var random = SystemRandomNumberGenerator()
        let precisions: [OccurredAt.Precision] = [.instant, .minute, .hour, .day, .month]
        var checked = 0
        for _ in 0..<2000 {
            let micros = Int64.random(in: Timestamp.supportedRange, using: &random)
            let offset = Int32.random(in: -18 * 60...18 * 60, using: &random) * 60
            let start = Timestamp(microseconds: micros, offsetSeconds: offset)
            var out: [UInt8] = []
            start.appendRFC3339(to: &out)
            #expect(String(decoding: out, as: UTF8.self) == start.rfc3339)
            out = []
            start.appendRFC3339Micros(to: &out)
            #expect(String(decoding: out, as: UTF8.self) == start.rfc3339Micros)
            // Each precision at the start of its window in the timestamp's offset (month: the first of a month).
            let local = micros + Int64(offset) * 1_000_000
            func aligned(_ unit: Int64) -> Timestamp {
                let into = ((local % unit) + unit) % unit
                return Timestamp(microseconds: micros - into, offsetSeconds: offset)
            }
            let monthStart = LocalDateTime(microsecondsSinceEpoch: local)
            let firstOfMonth = Timestamp(
                microseconds: LocalDateTime(year: monthStart.year, month: monthStart.month, day: 1)!.microsecondsSinceEpoch
                    - Int64(offset) * 1_000_000, offsetSeconds: offset)
            let starts: [OccurredAt.Precision: Timestamp] = [
                .instant: start, .minute: aligned(60_000_000), .hour: aligned(3_600_000_000), .day: aligned(86_400_000_000),
                .month: firstOfMonth,
            ]
            for precision in precisions {
                guard let at = OccurredAt(precision: precision, start: starts[precision]!) else { continue }
                out = []
                at.writeCanonical(into: &out)
                #expect(out == CanonicalJSON.encode(at.json))
                checked += 1
            }
            if let interval = OccurredAt(precision: .interval, start: start, end: Timestamp(microseconds: micros + 1)) {
                out = []
                interval.writeCanonical(into: &out)
                #expect(out == CanonicalJSON.encode(interval.json))
            }
            for value in [UInt64.random(in: 0...UInt64.max, using: &random), UInt64(micros.magnitude), 0, 9, 10] {
                out = []
                appendDecimal(value, to: &out)
                #expect(String(decoding: out, as: UTF8.self) == String(value))
            }
        }
        #expect(checked == 2000 * precisions.count)
        for metadata in [
            EventMetadata(correlationId: "c"), EventMetadata(causationId: "k\n"),
            EventMetadata(correlationId: "c", causationId: "é"),
        ] {
            var out: [UInt8] = []
            metadata.writeCanonical(into: &out)
            #expect(out == CanonicalJSON.encode(metadata.json))
        }
        let id = UUID()
        var out: [UInt8] = []
        id.appendLowercased(to: &out)
        #expect(String(decoding: out, as: UTF8.self) == id.lowercasedString)
    }
}
