import Testing

@testable import EventStore

@Suite("JSON and time encodings")
struct JSONTests {
    /// Equality and order agree: of any two timestamps exactly one of <, ==, > holds, the same instant in two
    /// offsets included (different canonical bytes, so not equal, and ordered by offset).
    @Test func timestampOrderAgreesWithEquality() {
        let instants: [Int64] = [-1, 0, 1, 1_705_278_000_000_000]
        let offsets: [Int32] = [-3600, 0, 3600, 7200]
        let all = instants.flatMap { t in offsets.map { Timestamp(microseconds: t, offsetSeconds: $0) } }
        for a in all {
            for b in all {
                let holding = [a < b, a == b, b < a].filter { $0 }.count
                #expect(holding == 1, "\(a.rfc3339) vs \(b.rfc3339)")
                if a == b { #expect(a.hashValue == b.hashValue) }
            }
        }
        let z = Timestamp(rfc3339: "2024-01-15T00:20:00Z")!
        let paris = Timestamp(rfc3339: "2024-01-15T01:20:00+01:00")!
        #expect(z.microseconds == paris.microseconds && z != paris && z < paris)
        // The instant still decides whenever the instants differ.
        #expect(Timestamp(rfc3339: "2024-01-15T01:19:00+01:00")! < z)
    }

    @Test func canonicalFormSortsKeysAndSpellsNumbersOnce() throws {
        let value = try JSONParser.parse(
            #"{"b": [1, 2.50, -0, 1E15, 1e-5, 2.0, 1e-7], "a": "é\"\n\u0001", "c": {"z": null, "y": true}}"#)
        #expect(
            CanonicalJSON.string(value)
                == #"{"a":"é\"\n\u0001","b":[1,2.5,0,1000000000000000,0.00001,2,1e-7],"c":{"y":true,"z":null}}"#)
    }

    @Test(arguments: [
        (#"{"a":1,}"#, "expected a string key"),
        (#"{"a":1,"a":2}"#, "duplicate key \"a\""),
        (#"[01]"#, "leading zeros are not allowed"),
        (#""\ud800""#, "unpaired surrogate escape"),
        ("\"tab\there\"", "control character in string (must be escaped)"),
        (#"{"a":1} x"#, "unexpected data after the value"),
        (#"1e999"#, "1e999 is outside ±(2^53−1), the numbers every JSON reader keeps exact"),
        (#"{"a":"#, "unexpected end of input"),
    ])
    func malformedJSONIsRefusedWithItsReason(input: String, reason: String) {
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(input) }
        #expect(error?.message == reason)
    }

    /// The member walk finds what the full parser finds, and on every truncation of the text, or on bytes
    /// that are not an object, it stops with false instead of reading past the end.
    @Test func memberWalkAgreesWithTheParserAndStopsOnBrokenBytes() throws {
        let text =
            #"{"a":"x\"}","b":[1,{"c":"]"},[]],"d":{"e":{"f":null}},"g":-1.5e+3,"h":true,"i":"","j":{},"k":[],"l":"a long string that goes past the short loop \\\\\" and on \\\\","m":0}"#
        let parsed = try JSONParser.parse(text).objectValue!
        var walked: [String: JSONValue] = [:]
        let complete = Array(text.utf8).withUnsafeBytes { bytes in
            JSONMembers.forEach(in: bytes) { key, value in
                walked[String(decoding: key, as: UTF8.self)] = try? JSONParser.parse(value)
                return true
            }
        }
        #expect(complete)
        #expect(walked == parsed)
        Array(text.utf8).withUnsafeBytes { bytes in
            #expect(JSONMembers.value(of: "a", in: bytes).flatMap(JSONMembers.string) == "x\"}")
            #expect(JSONMembers.value(of: "i", in: bytes).flatMap(JSONMembers.string) == "")
            #expect(JSONMembers.value(of: "z", in: bytes) == nil)
        }
        for end in 0..<text.utf8.count {
            let prefix = Array(text.utf8.prefix(end))
            #expect(prefix.withUnsafeBytes { JSONMembers.forEach(in: $0) { _, _ in true } } == false, "prefix of \(end) bytes")
        }
        for broken in [#"[1]"#, #"{"a" 1}"#, #"{"a":1 "b":2}"#, #"{a:1}"#, #""s""#, ""] {
            #expect(Array(broken.utf8).withUnsafeBytes { JSONMembers.forEach(in: $0) { _, _ in true } } == false, "\(broken)")
        }
    }

    /// The member iterator on bytes that trip a byte walker: escaped quotes and backslashes in keys and values,
    /// brackets inside strings, nested objects and arrays, UTF-8 and \u escapes, empty objects, white space.
    /// It hands out the members ``JSONMembers/forEach(in:_:)`` and the parser find, stays ended once ended,
    /// and never completes on a prefix.
    @Test func memberWalkIteratorOnTrickyBytes() throws {
        let text =
            #" { "a\"b" : "x\\\"}" , "n":{"m":{"k":[1,"]}",{"z":"{"}]},"o":[]},"ü":"日本 é","u":"\u00e9\ud83d\ude00","e":{} ,"t":true,"x":-1.5e+3 } "#
        let bytes = Array(text.utf8)
        let parsed = try JSONParser.parse(text).objectValue!
        try bytes.withUnsafeBytes { object in
            var members = JSONMembers.Members(object)
            var keys: [String] = []
            var values: [String: JSONValue] = [:]
            while let (key, value) = members.next() {
                keys.append(String(decoding: key, as: UTF8.self))
                values[String(decoding: key, as: UTF8.self)] = try JSONParser.parse(value)
            }
            #expect(members.isComplete)
            let endsThere = members.next() == nil
            #expect(endsThere && members.isComplete)
            #expect(keys == [#"a\"b"#, "n", "ü", "u", "e", "t", "x"])
            // Keys come as stored (escapes kept); values are whole JSON texts that parse to the parser's.
            #expect(values[#"a\"b"#] == parsed["a\"b"])
            for key in ["n", "ü", "u", "e", "t", "x"] { #expect(values[key] == parsed[key], "\(key)") }
            var viaForEach: [String] = []
            #expect(
                JSONMembers.forEach(in: object) { key, _ in
                    viaForEach.append(String(decoding: key, as: UTF8.self))
                    return true
                })
            #expect(viaForEach == keys)
            // A nested object walks the same way, and an empty one is complete at once.
            let nested = try #require(JSONMembers.value(of: "n", in: object))
            var inner = JSONMembers.Members(nested)
            let m = inner.next()
            let o = inner.next()
            let innerEnds = inner.next() == nil
            #expect(m.map { String(decoding: $0.key, as: UTF8.self) } == "m")
            #expect(o.map { String(decoding: $0.value, as: UTF8.self) } == "[]")
            #expect(innerEnds && inner.isComplete)
            let empty = try #require(JSONMembers.value(of: "e", in: object))
            var none = JSONMembers.Members(empty)
            let nothing = none.next() == nil
            #expect(nothing && none.isComplete)
            // Strings read in place only when they hold no escape.
            let ü = try #require(JSONMembers.value(of: "ü", in: object))
            #expect(JSONMembers.plainString(ü).map { String(decoding: $0, as: UTF8.self) } == "日本 é")
            let u = try #require(JSONMembers.value(of: "u", in: object))
            let escaped = JSONMembers.plainString(u) == nil
            #expect(escaped && JSONMembers.string(u) == "é😀")
            #expect(JSONMembers.stringBytes(u).map { String(decoding: $0, as: UTF8.self) } == #"\u00e9\ud83d\ude00"#)
            let notAString = JSONMembers.plainString(try #require(JSONMembers.value(of: "t", in: object))) == nil
            #expect(notAString)
        }
        // What follows an object's closing brace is not the walk's business (the envelope goes on after a payload).
        for empty in ["{}", " { \n } ", "{}, \"next\": 1}"] {
            let complete = Array(empty.utf8).withUnsafeBytes { object in
                var walk = JSONMembers.Members(object)
                return walk.next() == nil && walk.isComplete
            }
            #expect(complete, "\(empty)")
        }
        // Every prefix that stops before the closing brace ends the walk unfinished, and it stays ended.
        for end in 0...(bytes.count - 2) {
            let prefix = Array(bytes.prefix(end))
            let (complete, again) = prefix.withUnsafeBytes { object in
                var walk = JSONMembers.Members(object)
                while walk.next() != nil {}
                return (walk.isComplete, walk.next() != nil)
            }
            #expect(!complete && !again, "prefix of \(end) bytes")
        }
    }

    @Test func deepNestingIsRefusedInsteadOfExhaustingTheStack() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(deep) }
        #expect(error?.message.contains("nested deeper") == true)
    }

    @Test func timestampsKeepTheirOffsetAndRoundTrip() throws {
        let t = try #require(Timestamp(rfc3339: "2024-01-15T01:20:00+01:00"))
        #expect(t.microseconds == 1_705_278_000_000_000)
        #expect(t.offsetSeconds == 3600)
        #expect(t.rfc3339 == "2024-01-15T01:20:00+01:00")
        #expect(Timestamp(rfc3339: "2024-02-30T00:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "2024-01-15T01:20:00") == nil)
        #expect(Timestamp(rfc3339: "2024-01-15T01:20:00.1234567Z") == nil)
        #expect(Timestamp(rfc3339: "2024-02-29T23:59:59.5Z")?.rfc3339 == "2024-02-29T23:59:59.500000Z")
        #expect(Timestamp(microseconds: 0).rfc3339Micros == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp(microseconds: -1).rfc3339Micros == "1969-12-31T23:59:59.999999Z")
        // Paris: winter +01:00, summer +02:00.
        #expect(t.inZone().offsetSeconds == 3600)
        #expect(Timestamp(rfc3339: "2021-09-12T08:00:00Z")!.inZone().rfc3339 == "2021-09-12T10:00:00+02:00")
        let local = LocalDateTime(year: 2021, month: 9, day: 12, hour: 10)!
        #expect(Timestamp(local: local).rfc3339 == "2021-09-12T10:00:00+02:00")
    }

    @Test func occurredAtWindowsFollowTheirPrecision() throws {
        let day = try #require(OccurredAt(precision: .day, start: Timestamp(rfc3339: "2024-01-15T00:00:00+01:00")!))
        #expect(day.latest - day.earliest == 86_400_000_000)
        let month = try #require(OccurredAt(precision: .month, start: Timestamp(rfc3339: "2024-02-01T00:00:00+01:00")!))
        #expect(month.latest - month.earliest == 29 * 86_400_000_000)
        #expect(OccurredAt(precision: .day, start: Timestamp(rfc3339: "2024-01-15T01:00:00+01:00")!) == nil)
        // The last month the calendar accepts still has an end.
        let last = try #require(OccurredAt(precision: .month, start: Timestamp(rfc3339: "9999-12-01T00:00:00Z")!))
        #expect(last.latest - last.earliest == 31 * 86_400_000_000)
        let summer = try OccurredAt(
            json: JSONParser.parse(
                #"{"precision":"interval","from":"2021-06-01T00:00:00+02:00","to":"2021-09-12T00:00:00+02:00"}"#),
            path: "$.occurredAt")
        let august = Timestamp(rfc3339: "2021-08-01T00:00:00+02:00")!.microseconds
        #expect(summer.isPossible(by: august))
        #expect(!summer.isCertain(by: august))
        #expect(summer.isCertain(by: summer.latest))
        // Certain from the window's last instant (latest is exclusive): an as-of of the last day's end.
        #expect(summer.isCertain(by: summer.latest - 1) && !summer.isCertain(by: summer.latest - 2))
        let instant = OccurredAt.instant(Timestamp(microseconds: august))
        #expect(instant.isCertain(by: august) && !instant.isCertain(by: august - 1))
        let error = #expect(throws: EventStoreError.self) {
            try OccurredAt(
                json: JSONParser.parse(#"{"precision":"hour","at":"2024-01-15T01:20:00+01:00"}"#), path: "$.occurredAt")
        }
        #expect(error?.field == "$.occurredAt.at")
    }
}
