import Foundation
import LedgerTestSupport
import PropertyBased
import Testing

@testable import EventStore

/// Random scripts of appends, retries and conflicting appends, checked against a simple model after
/// every step: the ledger must behave like an array of batches. And random awkward JSON (``AwkwardJSON``):
/// its canonical bytes survive the parser and the store, whatever its text, numbers, nesting and spelling.
///
/// Each property runs its default number of cases, or `$LEDGER_PROPERTY_CASES` (`make nightly`).
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
        await propertyCheck(count: propertyCases(40), input: Gen.int(in: 0...9_999).array(of: 1...12)) { script in
            let dir = TemporaryDirectory()
            let store = try EventStore.create(at: dir.path)
            var batches: [Batch] = []
            var versions = [0, 0, 0]
            for (i, step) in script.map(Step.init).enumerated() {
                switch step {
                case .append(let stream, let size, let expectCorrectly):
                    // Awkward payloads: the log must give back their exact bytes.
                    var random = AwkwardJSON(seed: UInt64(i * 10_000 + script[i]))
                    let events = (0..<size).map { _ in
                        var event = note("step \(i)", actor: "actor-\(stream)", id: UUID())
                        event.payload = random.object(depth: 4)
                        return event
                    }
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
                // Bytes, not `==`: Swift's string equality would take "é" composed for "e\u{301}".
                #expect(CanonicalJSON.encode(event.payload) == CanonicalJSON.encode(proposed.payload))
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

    static let seeds = Gen.int(in: 0...Int.max)

    /// Whether `text` holds `part` byte for byte.
    func contains(_ text: String, _ part: String) -> Bool {
        let bytes = Array(text.utf8)
        let needle = Array(part.utf8)
        guard needle.count <= bytes.count else { return false }
        return (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    @Test func canonicalBytesSurviveTheParserWhateverTheSpelling() async {
        await propertyCheck(count: propertyCases(300), input: Self.seeds) { seed in
            var random = AwkwardJSON(seed: UInt64(seed))
            let value = random.value(depth: 6)
            let encoded = CanonicalJSON.encode(value)
            let decoded = try JSONParser.parse(encoded)
            #expect(CanonicalJSON.encode(decoded) == encoded, "seed \(seed)")
            // Another text of the same value (white space, escapes, key order, other number lexemes) reads to the
            // same canonical bytes.
            let spelled = random.spelling(of: value)
            let reread = try JSONParser.parse(spelled)
            #expect(
                CanonicalJSON.encode(reread) == encoded,
                "seed \(seed): \(spelled) read as \(CanonicalJSON.string(reread)), not \(CanonicalJSON.string(value))")
        }
    }

    @Test func nestingIsReadToTheParsersLimitAndRefusedPastItInOneLine() async {
        await propertyCheck(count: propertyCases(100), input: Gen.int(in: 0...80), Self.seeds) { depth, seed in
            var random = AwkwardJSON(seed: UInt64(seed))
            let value = random.tower(depth: depth)
            let encoded = CanonicalJSON.encode(value)
            if depth <= JSONParser.maximumDepth {
                let decoded = try JSONParser.parse(encoded)
                #expect(CanonicalJSON.encode(decoded) == encoded, "depth \(depth)")
            } else {
                let error = #expect(throws: JSONSyntaxError.self, "depth \(depth)") { try JSONParser.parse(encoded) }
                #expect(error?.message == "nested deeper than \(JSONParser.maximumDepth) levels", "\(String(describing: error))")
            }
        }
    }

    @Test func storableDoublesKeepTheirValueAndOthersAreRefusedByTheirKey() async {
        await propertyCheck(count: propertyCases(500), input: Self.seeds) { seed in
            var random = AwkwardJSON(seed: UInt64(seed))
            let d = random.storableDouble()
            let number = try #require(JSONNumber(d), "\(d)")
            // The canonical text reads back to the same double (-0.0 is spelled 0: one value).
            #expect(Double(number.text) == d, "\(d) spelled \(number.text)")
            #expect(d != 0 || number.text == "0")
            #expect(JSONNumber(lexeme: Substring(d.description))?.text == number.text, "\(d)")

            let key = "k" + random.string()
            let lexeme = random.outOfRangeLexeme()
            let text = "{\"n\":1,\(JSONParser.quoted(key)):\(lexeme)}"
            let error = #expect(throws: JSONSyntaxError.self, "\(lexeme)") { try JSONParser.parse(text) }
            let message = error?.message ?? ""
            #expect(message.contains("\(JSONParser.quoted(key)): \(lexeme.prefix(40)) is outside ±(2^53−1)"), "\(message)")
            #expect(!message.contains("\n") && !message.contains("\r"), "one line: \(message)")
        }
    }

    /// The decision of issue 11 on keys equal after Unicode normalisation: refused, in one line naming both
    /// spellings, wherever the object is; a key alone keeps its exact bytes.
    @Test func keysEqualAfterNormalisationAreRefusedAndAKeyAloneKeepsItsBytes() async {
        await propertyCheck(count: propertyCases(300), input: Self.seeds) { seed in
            var random = AwkwardJSON(seed: UInt64(seed))
            let (first, second) = random.equivalentKeys()
            // What the generator promises: one key to Swift, two to RFC 8785.
            #expect(first == second && !first.utf8.elementsEqual(second.utf8), "seed \(seed)")

            var others: [String: JSONValue] = [:]
            for _ in 0..<random.int(0...3) { others["other " + random.string()] = random.value(depth: 2) }
            var members = others.map { (JSONParser.quoted($0.key), CanonicalJSON.string($0.value)) }
            members.insert((JSONParser.quoted(first), "1"), at: random.int(0...members.count))
            members.insert((JSONParser.quoted(second), "2"), at: random.int(0...members.count))
            var text = "{" + members.map { "\($0.0):\($0.1)" }.joined(separator: ",") + "}"
            for _ in 0..<random.int(0...3) { text = random.chance(2) ? "[\(text)]" : "{\"in\":\(text)}" }
            let error = #expect(throws: JSONSyntaxError.self, "seed \(seed)") { try JSONParser.parse(text) }
            let message = error?.message ?? ""
            #expect(message.contains("after Unicode normalisation"), "\(message)")
            // By bytes: `contains` on strings would find either spelling in the other.
            for key in [first, second] {
                #expect(contains(message, JSONParser.quoted(key)), "seed \(seed): \(message) names \(JSONParser.quoted(key))")
            }
            #expect(!message.contains("\n") && !message.contains("\r"), "one line: \(message)")

            // Either spelling alone is read and written back as it came, escapes or not.
            for key in [first, second] {
                let value = JSONValue.object(others.merging([key: .string(key)]) { $1 })
                let parsed = try JSONParser.parse(random.spelling(of: value))
                let keys = try #require(parsed.objectValue?.keys)
                #expect(keys.contains { $0.utf8.elementsEqual(key.utf8) }, "seed \(seed)")
                #expect(CanonicalJSON.encode(parsed) == CanonicalJSON.encode(value), "seed \(seed)")
            }
        }
    }

    /// RFC 8785 sorts keys by UTF-16 code units, which puts astral keys (surrogates, D800–DFFF) before the keys
    /// from U+E000 to U+FFFF, where code-point and UTF-8 order put them after. Every object here has one key of
    /// each, so a writer sorting by code points or bytes fails every case; PyPI's rfc8785 is the judge.
    @Test func keyOrderIsRFC8785sUTF16OrderForAstralKeys() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var random = AwkwardJSON(seed: seed)
        var lines: [[UInt8]] = []
        for _ in 0..<propertyCases(300) {
            var members: [String: JSONValue] = [:]
            let high = String(Unicode.Scalar(UInt32(random.int(0xE000...0xFFFF)))!) + random.string(maximumLength: 2)
            let astral = String(Unicode.Scalar(UInt32(random.int(0x10000...0x10FFFF)))!) + random.string(maximumLength: 2)
            for _ in 0..<random.int(0...4) { members[random.string()] = random.value(depth: 1) }
            var inner: [String: JSONValue] = [random.string(): .bool(true)]
            (inner[high], inner[astral]) = (.null, .number(random.number()))
            (members[high], members[astral]) = (random.value(depth: 2), .object(inner))
            let encoded = CanonicalJSON.encode(.object(members))
            let sorted = CanonicalJSON.sortedKeys(members)
            #expect(sorted.firstIndex(of: astral)! < sorted.firstIndex(of: high)!)
            #expect(sorted != members.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) })
            lines.append(encoded)
        }
        // And RFC 8785 keeps two keys that are equal after normalisation, the reason the parser refuses them.
        let equivalent = Array(#"{"\u00e9":1,"e\u0301":2}"#.utf8)
        let answers = try rfc8785Again(lines + [equivalent])
        #expect(answers.count == lines.count + 1, "seed \(seed)")
        for (i, line) in lines.enumerated() where i < answers.count {
            #expect(
                answers[i].elementsEqual(line),
                "object \(i), seed \(seed): rfc8785 wrote \(String(decoding: answers[i], as: UTF8.self)) for \(String(decoding: line, as: UTF8.self))"
            )
        }
        if answers.count > lines.count {
            #expect(answers[lines.count] == Array("{\"e\u{301}\":2,\"\u{E9}\":1}".utf8), "both keys, in UTF-16 order")
        }
    }

    /// Through the store: two spellings of "é" are two payloads with two hashes, read back byte for byte, and a
    /// retry that changes the spelling is a conflict, not a duplicate.
    @Test func theStoreKeepsEachSpellingsBytes() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        var composed = note("é", id: UUID())
        composed.payload = .object(["\u{E9}": .string("\u{E9}")])
        var decomposed = note("é", id: UUID())
        decomposed.payload = .object(["e\u{301}": .string("e\u{301}")])
        _ = try await store.append([composed], to: "incident:spelling")
        _ = try await store.append([decomposed], to: "incident:spelling")
        let log = try store.allEvents()
        #expect(log.count == 2 && log[0].hash != log[1].hash)
        #expect(CanonicalJSON.encode(log[0].payload) == Array("{\"\u{E9}\":\"\u{E9}\"}".utf8))
        #expect(CanonicalJSON.encode(log[1].payload) == Array("{\"e\u{301}\":\"e\u{301}\"}".utf8))
        var respelled = composed
        respelled.payload = decomposed.payload
        await #expect(throws: EventStoreError.self) { try await store.append([respelled], to: "incident:spelling") }
        #expect(try store.verify().isValid)
    }
}
