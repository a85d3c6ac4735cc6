import Foundation
import IncidentDomain
import LedgerTestSupport
import Testing

@testable import EventStore
@testable import Projections

/// What an older build could store and this one refuses at input (years 0001 and 9999 in any offset) must
/// still read: every view and every rendering of it is total.
@Suite("Views are total on any stored value")
struct TotalViewTests {
    /// A stored event as its canonical JSON would decode.
    func stored(_ position: UInt64, _ type: String, _ occurredAt: String, _ payload: String) throws -> RecordedEvent {
        let json = try JSONParser.parse(
            #"{"actor":"a","eventId":"\#(UUID().lowercasedString)","eventType":"\#(type)","occurredAt":\#(occurredAt),"payload":\#(payload),"position":\#(position),"previousHash":"\#(String(repeating: "0", count: 64))","recordedAt":"2024-01-16T10:00:00.00000\#(position)Z","schemaVersion":1,"source":"s","streamId":"incident:x","streamVersion":\#(position)}"#
        )
        return try EventCodec.decode(json: json, hash: nil, requireHash: false)
    }

    @Test(arguments: [
        #"{"precision":"instant","at":"0001-01-01T00:00:00+14:00"}"#,
        #"{"precision":"instant","at":"9999-12-31T23:59:59-23:59"}"#,
        #"{"precision":"interval","from":"0001-01-01T00:00:00Z","to":"9999-12-31T23:59:59Z"}"#,
        #"{"precision":"month","at":"9999-12-01T00:00:00+14:00"}"#,
    ])
    func extremeYearsRenderInEveryForm(_ occurredAt: String) throws {
        let finess = "440000289"
        let events = [
            try stored(1, "incident.opened", #"{"precision":"day","at":"2024-01-15T00:00:00+01:00"}"#, #"{"establishments":["\#(finess)"],"title":"X"}"#),
            try stored(2, "attack.detected", occurredAt, #"{"description":"d"}"#),
            try stored(3, "service.degraded", occurredAt, #"{"establishment":"\#(finess)","service":"telephony","status":"down"}"#),
            try stored(4, "service.restored", #"{"precision":"day","at":"2024-01-16T00:00:00+01:00"}"#, #"{"establishment":"\#(finess)","extent":"partial","service":"telephony","capacityPercent":33.5}"#),
        ]
        let book = FactBook(folding: events)
        let facts = try #require(book.incidents["incident:x"])
        for time in [QueryTime.now, QueryTime(asOf: Timestamp.supportedRange.lowerBound), QueryTime(asOf: Timestamp.supportedRange.upperBound)] {
            let timeline = RecoveryTimeline.compute(
                establishment: nil, finess: finess, incidentId: "incident:x", facts: facts, at: time)
            #expect(TimelineRendering.svg(timeline).hasSuffix("</svg>\n") || TimelineRendering.svg(timeline).contains("</svg>"))
            #expect(TimelineRendering.html([timeline]).contains("</html>"))
            #expect(!TimelineRendering.terminal(timeline).isEmpty)
            #expect(TimelineRendering.json(timeline)["lanes"] != nil)
            let state = IncidentState.compute(incidentId: "incident:x", facts: facts, at: time)
            #expect(!state.flattened.isEmpty)
        }
        #expect(!AuditTrail.compute(book: book, filter: .init(), at: .now).isEmpty)
    }
}
