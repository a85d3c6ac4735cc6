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

/// Issue 10, point 8 over HTTP: an append or a fact that is probably a mistake is stored (201) and its answer
/// lists the warnings; a clean one gets `"warnings": []`.
@Suite struct WarningRouteTests {
    let events = "/streams/\(TwoHospitals.incidentA)/events"

    func restoration(_ service: String, at day: String = "2024-01-16") -> String {
        #"{"eventType":"service.restored","occurredAt":{"precision":"day","at":"\#(day)T00:00:00+01:00"},"source":"IT desk","payload":{"establishment":"\#(TwoHospitals.a)","service":"\#(service)","extent":"full"}}"#
    }

    /// The warnings of an answer as (field, message, eventId).
    func warnings(_ answer: JSONValue) -> [(field: String, message: String, eventId: String)] {
        (answer["warnings"]?.arrayValue ?? []).map {
            ($0["field"]?.stringValue ?? "", $0["message"]?.stringValue ?? "", $0["eventId"]?.stringValue ?? "")
        }
    }

    @Test func anAppendCarriesItsWarningsAndIsStored() async throws {
        let ledger = try TwoHospitals()
        let recorder = ledger.tokens["recorder"]!
        let before = try ledger.store.lastPosition()
        try await ledger.test { client in
            // A clean fact: external email was degraded in the fixture.
            try await client.execute(
                uri: events, method: .post, headers: auth(recorder), body: body(restoration("external_email"))
            ) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                let answer = try json(response)
                #expect(answer["warnings"] == .array([]))
            }
            // Two events, the second restoring what nothing degraded: the warning names it by its id.
            try await client.execute(
                uri: events, method: .post, headers: auth(recorder),
                body: body("[\(noteBody("calls by phone")),\(restoration("telephony"))]")
            ) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                let answer = try json(response)
                let ids = answer["eventIds"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let found = warnings(answer)
                #expect(found.count == 1, "\(found)")
                #expect(found.first?.field == "payload.service")
                #expect(
                    found.first?.message
                        == "no event of \(TwoHospitals.incidentA) degraded telephony at \(TwoHospitals.a): a restoration of a service never degraded"
                )
                #expect(ids.count == 2 && found.first?.eventId == ids[1])
            }
        }
        #expect(try ledger.store.lastPosition() == before + 3, "warned events are stored")
        let last = try ledger.store.event(at: before + 3)!
        #expect(last.eventType == "service.restored" && last.payload["service"] == .string("telephony"))
    }

    /// Through /facts the fields are named as the form's inputs, so that a page shows each beside its input.
    @Test func aFactsWarningsNameTheFormsFields() async throws {
        let ledger = try TwoHospitals()
        let recorder = ledger.tokens["recorder"]!
        @Sendable func fact(_ at: String, _ fields: String) -> String {
            #"{"eventType":"service.degraded","incident":"\#(TwoHospitals.incidentA)","at":"\#(at)","source":"x","fields":\#(fields)}"#
        }
        try await ledger.test { client in
            try await client.execute(
                uri: "/facts", method: .post, headers: auth(recorder),
                body: body(fact("2024-01-16", #"{"establishment":"440000289","service":"laboratory","status":"down"}"#))
            ) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                let answer = try json(response)
                #expect(answer["warnings"] == .array([]))
            }
            try await client.execute(
                uri: "/facts", method: .post, headers: auth(recorder),
                body: body(fact("2099-01-16", #"{"establishment":"440000289","service":"labratory","status":"down"}"#))
            ) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                let found = warnings(try json(response))
                #expect(found.map(\.field) == ["at", "fields.service"], "\(found)")
                #expect(
                    found.first?.message.hasPrefix("begins 2099-01-16 00:00 +01:00, more than a day after it is recorded") == true
                )
                #expect(found.last?.message.hasSuffix("(did you mean laboratory?)") == true, "\(found)")
            }
        }
    }

    /// An incident stream that exists but was never opened (written by an older build, or locally): the server
    /// appends to it and says so.
    @Test func anIncidentNeverOpenedIsSaid() async throws {
        let ledger = try TwoHospitals()
        try ledger.append("incident:unopened", "note.added", at: "2024-01-15", ["text": .string("first")])
        try await ledger.test { client in
            try await client.execute(
                uri: "/streams/incident:unopened/events", method: .post, headers: auth(ledger.tokens["adminAll"]!),
                body: body(noteBody("second"))
            ) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                let found = warnings(try json(response))
                #expect(found.map(\.field) == ["streamId"])
                #expect(found.first?.message.contains("incident:unopened has no incident.opened") == true)
            }
        }
    }

    /// The CLI as a client prints the server's warnings as a local run does.
    @Test func theCLIThroughTheServerPrintsTheWarnings() throws {
        let ledger = try TwoHospitals()
        let server = try ServerProcess(directory: ledger.directory.path)
        let remote = ["--server", "http://127.0.0.1:\(server.port)/", "--token", ledger.tokens["recorder"]!]
        let recorded = try runProduct(
            "ledger",
            remote + [
                "record", "service.restored", "--incident", TwoHospitals.incidentA, "--at", "2024-01-16", "--source", "IT",
                "--set", "establishment=\(TwoHospitals.a)", "--set", "service=telephony", "--set", "extent=full",
            ])
        #expect(recorded.status == 0, "\(recorded.stderr)")
        #expect(recorded.stdout.hasPrefix("recorded service.restored at position"))
        #expect(
            recorded.stderr
                == "warning: --set service: no event of \(TwoHospitals.incidentA) degraded telephony at \(TwoHospitals.a): a restoration of a service never degraded\n"
        )
        let appended = try runProduct(
            "ledger", remote + ["append", "--stream", TwoHospitals.incidentA],
            input: noteBody("clean") + "\n" + restoration("pharmacy") + "\n")
        #expect(appended.status == 0, "\(appended.stderr)")
        #expect(
            appended.stderr
                == "warning: standard input line 2: $.payload.service: no event of \(TwoHospitals.incidentA) degraded pharmacy at \(TwoHospitals.a): a restoration of a service never degraded\n"
        )
        #expect(try ledger.store.event(at: try ledger.store.lastPosition())?.payload["service"] == .string("pharmacy"))
    }
}
