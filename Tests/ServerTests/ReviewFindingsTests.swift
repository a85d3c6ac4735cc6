import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentDomain
import LedgerServer
import LedgerTestSupport
import NIOCore
import Testing

/// What a review of the service found, kept fixed.
@Suite struct ReviewFindingsTests {
    /// A shared incident of Nantes and Rennes, with one fact of each hospital.
    static func sharedIncident(_ ledger: TwoHospitals) throws -> (nantes: UUID, rennes: UUID) {
        let shared = "incident:ght-2024"
        try ledger.append(
            shared, "incident.opened", at: "2024-01-15",
            ["title": .string("Shared"), "establishments": .array([.string(TwoHospitals.a), .string(TwoHospitals.b)])])
        try ledger.append(
            shared, "service.degraded", at: "2024-01-15 02:00",
            ["establishment": .string(TwoHospitals.a), "service": .string("laboratory"), "status": .string("down")])
        let nantes = try ledger.store.event(at: try ledger.store.lastPosition())!.eventId
        try ledger.append(
            shared, "service.degraded", at: "2024-01-15 03:00",
            ["establishment": .string(TwoHospitals.b), "service": .string("laboratory"), "status": .string("down")])
        let rennes = try ledger.store.event(at: try ledger.store.lastPosition())!.eventId
        return (nantes, rennes)
    }

    static func correction(_ target: UUID, changes: String, id: UUID = UUID.timeOrdered()) -> String {
        """
        {"eventId":"\(id.uuidString.lowercased())","eventType":"event.corrected","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"x","reason":"typo","payload":{"correctedEventId":"\(target.uuidString.lowercased())","changes":\(changes)}}
        """
    }

    @Test func aRecorderNeitherRewritesAnotherHospitalsFactsNorMovesItsOwnThere() async throws {
        let ledger = try TwoHospitals()
        let (nantes, rennes) = try Self.sharedIncident(ledger)
        let recorder = ledger.tokens["recorder"]!
        let before = try ledger.store.lastPosition()
        let retraction = """
            {"eventType":"event.retracted","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"x","reason":"r","payload":{"retractedEventId":"\(rennes.uuidString.lowercased())"}}
            """
        try await ledger.test { client in
            for refused in [
                Self.correction(rennes, changes: #"{"status":"degraded"}"#), retraction,
                Self.correction(nantes, changes: #"{"establishment":"350005179"}"#),
            ] {
                let response = try await client.execute(
                    uri: "/streams/incident:ght-2024/events", method: .post, headers: auth(recorder), body: body(refused))
                #expect(response.status == .forbidden, "\(String(buffer: response.body))")
            }
            // Its own fact it may correct.
            let own = try await client.execute(
                uri: "/streams/incident:ght-2024/events", method: .post, headers: auth(recorder),
                body: body(Self.correction(nantes, changes: #"{"status":"degraded"}"#)))
            #expect(own.status == .created, "\(String(buffer: own.body))")
        }
        #expect(try ledger.store.lastPosition() == before + 1)
    }

    @Test func aRetriedRetractionIsStoredOnce() async throws {
        let ledger = try TwoHospitals()
        let (nantes, _) = try Self.sharedIncident(ledger)
        let id = UUID.timeOrdered()
        let retraction = """
            {"eventId":"\(id.uuidString.lowercased())","eventType":"event.retracted","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"x","reason":"r","payload":{"retractedEventId":"\(nantes.uuidString.lowercased())"}}
            """
        try await ledger.test { client in
            let first = try await client.execute(
                uri: "/streams/incident:ght-2024/events", method: .post, headers: auth(ledger.tokens["recorder"]),
                body: body(retraction))
            #expect(first.status == .created)
            let again = try await client.execute(
                uri: "/streams/incident:ght-2024/events", method: .post, headers: auth(ledger.tokens["recorder"]),
                body: body(retraction))
            #expect(again.status == .ok, "\(String(buffer: again.body))")
        }
    }

    @Test func hostileHeadersAndIdsAreBadRequestsNotCrashes() async throws {
        let ledger = try TwoHospitals()
        try await ledger.test { client in
            let overflow = try await client.execute(
                uri: "/events/live", method: .get,
                headers: auth(ledger.tokens["auditorAll"], [HTTPField.Name("Last-Event-ID")!: "18446744073709551615"]))
            #expect(overflow.status == .badRequest)
            for uri in ["/streams/incident:x%00/events", "/events?stream=incident:x%00", "/incidents/incident:x%00"] {
                let response = try await client.execute(uri: uri, method: .get, headers: auth(ledger.tokens["auditorAll"]))
                #expect(response.status == .badRequest, "\(uri): \(String(buffer: response.body))")
            }
        }
    }
}
