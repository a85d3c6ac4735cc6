import EventStore
import Foundation
import IncidentDomain
import LedgerTestSupport
import Testing

/// The pieces of issue 12's typing that are pure: relative times against a given "now", references to earlier
/// events, and the one "did you mean".
@Suite struct TypingTests {
    /// 2024-03-31 01:59:30 +01:00, half a minute before Paris goes to summer time.
    static let now = Timestamp(rfc3339: "2024-03-31T01:59:30+01:00")!.microseconds

    @Test func relativeTimesAreTheMinuteTheyFallIn() throws {
        let cases: [(String, String)] = [
            ("now", "2024-03-31T01:59:00+01:00"), ("-10m", "2024-03-31T01:49:00+01:00"),
            ("-2h", "2024-03-30T23:59:00+01:00"), ("-3d", "2024-03-28T01:59:00+01:00"),
            ("-1h30m", "2024-03-31T00:29:00+01:00"), ("now-1m", "2024-03-31T01:58:00+01:00"),
            // Across the change to summer time: an hour later is 03:59 in Paris.
            ("+1h", "2024-03-31T03:59:00+02:00"), (" NOW ", "2024-03-31T01:59:00+01:00"),
        ]
        for (text, expected) in cases {
            let value = try #require(TimeExpression.occurredAt(text, now: { Self.now }), "\(text)")
            #expect(value.precision == .minute, "\(text)")
            #expect(value.start.rfc3339 == expected, "\(text): \(value.start.rfc3339)")
        }
        // An interval of two relative times: from two hours ago to this minute.
        let interval = try #require(TimeExpression.occurredAt("-2h/now", now: { Self.now }))
        #expect(interval.precision == .interval && interval.start.rfc3339 == "2024-03-30T23:59:00+01:00")
        // A query time is the instant itself, not the end of its minute.
        #expect(TimeExpression.queryInstant("now", now: { Self.now }) == Self.now)
        #expect(TimeExpression.queryInstant("-2h", now: { Self.now }) == Self.now - 7_200_000_000)
        #expect(TimeExpression.isFuture("+5m") && !TimeExpression.isFuture("-5m") && !TimeExpression.isFuture("now"))
        #expect(TimeExpression.display("-2h", now: { Self.now }) == "-2h = 2024-03-30 23:59:30 +01:00")
        #expect(TimeExpression.display("2024-01-15", now: { Self.now }) == "2024-01-15")

        for bad in ["-", "+", "-m", "-2", "-2x", "--2h", "now-", "-2h-1m", "-1234567m", "yesterday", "-2 h"] {
            #expect(TimeExpression.occurredAt(bad, now: { Self.now }) == nil, "\(bad)")
        }
        #expect(TimeExpression.refusal("-2x").contains("is not a relative time"))
        #expect(TimeExpression.refusal("tomorrow").hasSuffix("2021-06-01/2021-09-12, now or -2h)"))
        // Past the years the ledger takes.
        #expect(TimeExpression.occurredAt("-999999d", now: { Self.now }) == nil)
        #expect(TimeExpression.refusal("-999999d", now: { Self.now }).contains("outside the years the ledger takes"))
    }

    @Test func referencesAreIdsPositionsOrLongEnoughPrefixes() {
        let id = "01a233d7-deb6-7168-ad08-9c0af81d1a67"
        #expect(EventReference(id) == .id(UUID(text: id)!))
        #expect(EventReference("#25") == .position(25))
        #expect(EventReference("25") == .position(25))
        #expect(EventReference("1234567") == .position(1_234_567))
        // Eight digits or more are a prefix: positions that long are written #12345678.
        #expect(EventReference("12345678") == .prefix("12345678"))
        #expect(EventReference("#12345678") == .position(12_345_678))
        #expect(EventReference("01A233D7-DEB6") == .prefix("01a233d7deb6"))
        for bad in ["#0", "0", "#", "01a233d", "01a233d7-", "-01a233d7", "01a2--33d7", "01a233g7", "#2a", ""] {
            #expect(EventReference(bad) == nil, "\(bad)")
        }
        #expect(EventReference.refusal("01a2").contains("too short a prefix"))
    }

    @Test func prefixesAreLookedUpInTheIdIndex() throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        let ids = [
            "0190f3a2-7b1c-7d4e-9f00-000000000001", "0190f3a2-7b1c-7d4e-9f00-000000000002",
            "0190f3a3-0000-7000-8000-000000000003", "ffffffff-0000-7000-8000-000000000004",
        ].map { UUID(text: $0)! }
        for (index, id) in ids.enumerated() {
            let stream = index == 3 ? "incident:b" : "incident:a"
            _ = try store.appendAtomically([AppendRequest(streamId: stream, events: [note("n\(index)", stream: stream, id: id)])])
        }
        func found(_ prefix: String) throws -> [UInt64]? { try store.events(withIdPrefix: prefix, limit: 10)?.map(\.position) }
        #expect(try found("0190f3a2") == [1, 2])
        #expect(try found("0190f3a") == [1, 2, 3], "an odd number of digits bounds the last half byte")
        #expect(try found("0190F3A3-") == [3])
        #expect(try found("ffffffff") == [4])
        #expect(try found("fffffff") == [4], "the half byte f has no successor within its byte")
        #expect(try found("0190f3a4") == [])
        #expect(try found("0190f3a2-7b1c-7d4e-9f00-000000000002") == [2])
        #expect(try found("xyz") == nil)
        #expect(try store.events(withIdPrefix: "0190f3a", limit: 2)?.count == 2)

        let directory = StoredEventDirectory(store: store)
        #expect(try EventReference.resolve("#3", field: "f", stream: "incident:a", in: directory) == ids[2])
        #expect(try EventReference.resolve("0190f3a3", field: "f", stream: "incident:a", in: directory) == ids[2])
        // Only in another stream: found, for the rules to say where.
        #expect(try EventReference.resolve("ffffffff", field: "f", stream: "incident:a", in: directory) == ids[3])
        #expect(throws: IntakeError.self) {
            try EventReference.resolve("0190f3a2", field: "f", stream: "incident:a", in: directory)
        }
        #expect(throws: IntakeError.self) { try EventReference.resolve("#9", field: "f", stream: nil, in: directory) }
    }

    @Test func theNearestNameIsOneHelper() {
        #expect(Suggestion.nearest(to: "polise", among: ["police", "gendarmerie", "prosecutor"]) == "police")
        #expect(Suggestion.nearest(to: "Police", among: ["police", "gendarmerie"]) == "police")
        #expect(Suggestion.nearest(to: "mairie", among: ["police", "gendarmerie", "prosecutor"]) == nil)
        #expect(Suggestion.nearest(to: "emergency", among: ["laboratory", "emergency_department"]) == "emergency_department")
        #expect(
            Suggestion.nearest(to: "incident:aphp-2021-9", among: ["incident:aphp-2021-09", "incident:chu-nantes-2024-01"])
                == "incident:aphp-2021-09")
        // Stream ids are compared after their kind: another hospital's incident of the same shape is no typo.
        let incidents = ["incident:chu-nantes-2024-01", "incident:aphp-2021-09"]
        #expect(
            Suggestion.hint(forStream: "incident:chu-nantes-2024-1", among: incidents)
                == " (did you mean incident:chu-nantes-2024-01?)")
        #expect(Suggestion.hint(forStream: "incident:chu-rennes-2023-6", among: incidents) == "")
        #expect(Suggestion.nearest(to: "incident:chu-rennes-2023-6", among: incidents) != nil, "what the kind would hide")
        #expect(Suggestion.match("POLICE", among: ["police"]) == "police")
        #expect(Suggestion.match("polic", among: ["police"]) == nil)
        #expect(Suggestion.match("a", among: ["A", "a"]) == "a", "an exact match wins over case")
        #expect(Suggestion.match("b", among: ["A", "a"]) == nil)
        #expect(Suggestion.editDistance("kitten", "sitting") == 3)
        #expect(Suggestion.editDistance("", "abc") == 3)
        #expect(Suggestion.editDistance("é", "e") == 1)
    }
}
