import EventStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import LedgerServer
import LedgerTestSupport
import Testing

/// Issue 12, points 6 and 7, over HTTP: relative times read against the service's clock, the version in
/// /stats, and a mistyped incident refused with the id meant among those the principal reaches.
@Suite struct TypingRouteTests {
    @Test func relativeQueryTimesAreReadAgainstTheServicesClock() async throws {
        // 2024-01-15 11:20 in Paris: ten hours after the degradation of 01:20.
        let clock = ManualClock(Timestamp(rfc3339: "2024-01-15T11:20:00+01:00")!.microseconds)
        let ledger = try TwoHospitals(clock: clock)
        let incident = "/incidents/\(TwoHospitals.incidentA)"
        try await ledger.test { client in
            // Five hours ago the degradation had happened; twelve hours ago nothing had.
            try await client.execute(
                uri: incident + "?asOf=-5h&format=text", method: .get, headers: auth(ledger.tokens["reader"])
            ) {
                response in
                let text = String(buffer: response.body)
                #expect(response.status == .ok, "\(text)")
                #expect(text.hasPrefix("(as of -5h = 2024-01-15 06:20 +01:00)\n"), "\(text)")
                #expect(text.contains("External email: down since 2024-01-15 01:20 +01:00"), "\(text)")
            }
            try await client.execute(uri: incident + "?asOf=-12h", method: .get, headers: auth(ledger.tokens["reader"])) {
                response in
                #expect(response.status == .notFound, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: incident + "?knownAt=%2B1h", method: .get, headers: auth(ledger.tokens["reader"])) {
                response in
                #expect(response.status == .badRequest)
                let problem = try json(response)
                #expect(problem["field"]?.stringValue == "knownAt")
                #expect(problem["detail"]?.stringValue?.hasPrefix("knownAt: \"+1h\" is ahead of now") == true, "\(problem)")
            }
            try await client.execute(uri: incident + "?asOf=-2x", method: .get, headers: auth(ledger.tokens["reader"])) {
                response in
                let problem = try json(response)
                #expect(response.status == .badRequest)
                #expect(problem["detail"]?.stringValue?.contains("is not a relative time") == true, "\(problem)")
            }
        }
    }

    @Test func statsReportTheLedgersVersion() async throws {
        let ledger = try TwoHospitals()
        try await ledger.test { client in
            try await client.execute(uri: "/stats", method: .get, headers: auth(ledger.tokens["auditorAll"])) { response in
                let stats = try json(response)
                #expect(response.status == .ok)
                #expect(stats["ledgerVersion"]?.stringValue == LedgerVersion.current, "\(stats)")
            }
        }
    }

    /// `record --server` resolves a position or a prefix among the events of its incident as the service lists
    /// them to the token: it sees nothing of another hospital's.
    @Test func theCLIThroughTheServerNamesEarlierEventsByPosition() throws {
        let ledger = try TwoHospitals()
        // Positions: 1-3 Nantes (registration, opening, degradation), 4-6 Rennes.
        let degradation = try #require(try ledger.store.event(at: 3))
        #expect(degradation.streamId == TwoHospitals.incidentA && degradation.eventType == "service.degraded")
        let server = try ServerProcess(directory: ledger.directory.path)
        let remote = ["--server", "http://127.0.0.1:\(server.port)/", "--token", ledger.tokens["recorder"]!]
        func correct(_ reference: String) throws -> ProcessOutput {
            try runProduct(
                "ledger",
                remote + [
                    "record", "event.corrected", "--incident", TwoHospitals.incidentA, "--at", "2024-01-16", "--source", "IT",
                    "--reason", "it was degraded, not down", "--set", "correctedEventId=\(reference)", "--set",
                    #"changes={"status":"degraded"}"#,
                ])
        }
        let corrected = try correct("#3")
        #expect(corrected.status == 0, "\(corrected.stderr)")
        #expect(
            try ledger.store.allEvents().last?.payload["correctedEventId"]?.stringValue == degradation.eventId.lowercasedString)
        let prefix = String(degradation.eventId.lowercasedString.filter { $0 != "-" }.prefix(20))
        let again = try correct(prefix)
        #expect(again.status == 0, "\(again.stderr)")
        let rennes = try correct("#6")
        #expect(
            rennes.status == 3
                && rennes.stderr
                    == "ledger: error: --set correctedEventId=#6: no event of \(TwoHospitals.incidentA) is at position 6\n",
            "\(rennes.stderr)")
    }

    @Test func aMistypedIncidentIsRefusedWithTheIdMeantAmongThoseReached() async throws {
        let ledger = try TwoHospitals()
        try await ledger.test { client in
            // Nantes' recorder is told of Nantes' incident…
            try await client.execute(
                uri: "/streams/incident:chu-nantes-2024-1/events", method: .post, headers: auth(ledger.tokens["recorder"]),
                body: body(noteBody("x"))
            ) { response in
                let problem = try json(response)
                #expect(response.status == .notFound)
                #expect(
                    problem["detail"]?.stringValue
                        == "incident:chu-nantes-2024-1: no such incident (of those you reach) (did you mean "
                        + "incident:chu-nantes-2024-01?); a new one's first event must be incident.opened")
            }
            // …and never of Rennes' incident, which it does not reach.
            try await client.execute(
                uri: "/streams/incident:chu-rennes-2023-6/events", method: .post, headers: auth(ledger.tokens["recorder"]),
                body: body(noteBody("x"))
            ) { response in
                #expect(response.status == .notFound)
                let detail = try json(response)["detail"]?.stringValue ?? ""
                #expect(!detail.contains("did you mean") && !detail.contains("chu-rennes-2023-06"), "\(detail)")
            }
        }
        #expect(try ledger.store.streamVersion(of: "incident:chu-nantes-2024-1") == 0)
    }
}
