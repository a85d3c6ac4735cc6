import Foundation
import LedgerTestSupport
import PropertyBased
import Testing

@testable import EventStore

/// Random scripts of appends, retries and conflicting appends, checked against a simple model after
/// every step: the ledger must behave like an array of batches.
@Suite("Properties of the log")
struct PropertyTests {
    /// One step of a script, decoded from a random integer so the generator stays simple and shrinkable.
    enum Step {
        case append(stream: Int, size: Int, expectCorrectly: Bool)
        case retry(batch: Int)
        case conflict(stream: Int)

        init(_ n: Int) {
            switch n % 10 {
            case 0...5: self = .append(stream: n / 10 % 3, size: n / 30 % 3 + 1, expectCorrectly: n % 2 == 0)
            case 6, 7: self = .retry(batch: n / 10)
            default: self = .conflict(stream: n / 10 % 3)
            }
        }
    }

    struct Batch {
        let stream: String
        let events: [ProposedEvent]
        let positions: [UInt64]
    }

    @Test func theLogIsGapFreeReplaysExactlyAndRetriesAndConflictsChangeNothing() async throws {
        await propertyCheck(count: 40, input: Gen.int(in: 0...9_999).array(of: 1...12)) { script in
            let dir = TemporaryDirectory()
            let store = try EventStore.create(at: dir.path)
            var batches: [Batch] = []
            var versions = [0, 0, 0]
            for (i, step) in script.map(Step.init).enumerated() {
                switch step {
                case .append(let stream, let size, let expectCorrectly):
                    let events = (0..<size).map { note("step \(i) event \($0)", actor: "actor-\(stream)", id: UUID()) }
                    let expected: ExpectedVersion =
                        expectCorrectly ? (versions[stream] == 0 ? .noStream : .exactly(UInt64(versions[stream]))) : .any
                    let result = try await store.append(events, to: "incident:\(stream)", expectedVersion: expected)
                    let first = UInt64(batches.reduce(0) { $0 + $1.events.count }) + 1
                    #expect(result.positions == Array(first..<first + UInt64(size)))
                    versions[stream] += size
                    #expect(result.streamVersion == UInt64(versions[stream]))
                    batches.append(Batch(stream: "incident:\(stream)", events: events, positions: result.positions))
                case .retry(let index):
                    guard !batches.isEmpty else { continue }
                    let batch = batches[index % batches.count]
                    let before = try store.statistics()
                    let result = try await store.append(batch.events, to: batch.stream, expectedVersion: .noStream)
                    #expect(result.positions == batch.positions)
                    #expect(result.wasAlreadyStored)
                    #expect(try store.statistics().headHash == before.headHash)
                case .conflict(let stream):
                    let before = try store.statistics()
                    await #expect(throws: EventStoreError.self) {
                        try await store.append(
                            [note("never")], to: "incident:\(stream)", expectedVersion: .exactly(UInt64(versions[stream] + 7)))
                    }
                    let after = try store.statistics()
                    #expect(after.events == before.events && after.headHash == before.headHash)
                }
            }
            // Replaying the log gives back exactly what was appended, in order, gap-free.
            let log = try store.allEvents()
            let appended = batches.flatMap { batch in batch.events.map { (batch.stream, $0) } }
            #expect(log.map(\.position) == Array(0..<UInt64(appended.count)).map { $0 + 1 })
            #expect(log.count == appended.count)
            for (event, (stream, proposed)) in zip(log, appended) {
                #expect(event.streamId == stream)
                #expect(event.eventId == proposed.eventId)
                #expect(event.payload == proposed.payload)
                #expect(event.actor == proposed.actor)
                #expect(event.occurredAt == proposed.occurredAt)
            }
            // Stream versions are contiguous from 1.
            for stream in 0..<3 {
                let events = try store.events(.stream("incident:\(stream)"))
                #expect(events.map(\.streamVersion) == Array(0..<UInt64(versions[stream])).map { $0 + 1 })
            }
            #expect(try store.verify().isValid)
        }
    }

    @Test func canonicalJSONRoundTripsThroughTheParser() async {
        let text = Gen.letterOrNumber.string(of: 0...12)
        await propertyCheck(count: 200, input: text, Gen.int(in: -1_000_000...1_000_000), Gen.bool) { s, n, b in
            // "key-" keeps the generated key apart from "k": a literal with a duplicate key traps.
            let value = JSONValue.object([
                "key-" + s: .array([.number(JSONNumber(n)), .bool(b), .string(s + "\n\"\\"), .null]),
                "k": .number(JSONNumber(Double(n) / 7)!),
            ])
            let encoded = CanonicalJSON.encode(value)
            let decoded = try JSONParser.parse(encoded)
            #expect(decoded == value)
            #expect(CanonicalJSON.encode(decoded) == encoded)
        }
    }
}
