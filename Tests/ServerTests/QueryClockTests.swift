import EventStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import LedgerServer
import Testing

/// The service answers through the same runner as the CLI, with the clock it was given.
@Suite struct QueryClockTests {
    /// A pinned clock pins the deadlines the service serves: the CERT Santé report, overdue 24 h after the
    /// detection, is running 10 h after it and overdue 30 h after it; an `asOf` is read instead of the clock.
    @Test func theServiceReadsNowFromItsClock() async throws {
        let detected = Timestamp(rfc3339: "2024-01-15T01:20:00+01:00")!.microseconds
        let hour: Int64 = 3_600_000_000
        let clock = ManualClock(detected + 10 * hour)
        let ledger = try TwoHospitals(clock: clock)
        try ledger.append(TwoHospitals.incidentA, "attack.detected", at: "2024-01-15 01:20", ["description": .string("alert")])
        func report(_ query: String = "") async throws -> (hours: Double?, status: String?) {
            try await ledger.test { client in
                try await client.execute(
                    uri: "/incidents/\(TwoHospitals.incidentA)/deadlines\(query)", method: .get,
                    headers: auth(ledger.tokens["reader"])
                ) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    let clocks = try json(response).arrayValue ?? []
                    let report = clocks.first { $0["rule"]?.stringValue == "csp-l1111-8-2" }
                    return (report?["elapsedHours"]?.numberValue?.doubleValue, report?["status"]?.stringValue)
                }
            }
        }
        var answer = try await report()
        #expect(answer.hours == 10 && answer.status == "running", "\(answer)")
        clock.set(detected + 30 * hour)
        answer = try await report()
        #expect(answer.hours == 30 && answer.status == "overdue", "\(answer)")
        answer = try await report("?asOf=2024-01-15T06:20:00%2B01:00")
        #expect(answer.hours == 5 && answer.status == "running", "\(answer)")
    }

    /// The deadline routes count the time left from the pinned clock, most urgent first, and take `dueWithin` and
    /// `status` as the CLI takes --due-within and --status; a malformed one is a 400 naming it.
    @Test func theDeadlineRoutesSayTheTimeLeftMostUrgentFirst() async throws {
        let detected = Timestamp(rfc3339: "2024-01-15T01:20:00+01:00")!.microseconds
        let hour: Int64 = 3_600_000_000
        // 30 h 10 min after the detection: the CERT Santé report overdue by 6 h 10 min, the insurance complaint due
        // in 41 h 50 min.
        let ledger = try TwoHospitals(clock: ManualClock(detected + 30 * hour + 10 * 60_000_000))
        try ledger.append(TwoHospitals.incidentA, "attack.detected", at: "2024-01-15 01:20", ["description": .string("alert")])
        func clocks(_ query: String) async throws -> (status: HTTPResponse.Status, body: JSONValue) {
            try await ledger.test { client in
                try await client.execute(
                    uri: "/incidents/\(TwoHospitals.incidentA)/deadlines\(query)", method: .get,
                    headers: auth(ledger.tokens["reader"])
                ) { response in (response.status, try json(response)) }
            }
        }
        let all = try await clocks("")
        #expect(all.status == .ok)
        let items = all.body.arrayValue ?? []
        // No GDPR clock (email alone), no NIS1 one (not an essential operator).
        #expect(items.map { $0["rule"]?.stringValue } == ["csp-l1111-8-2", "insurance-complaint"], "\(items)")
        let report = try #require(items.first)
        #expect(report["overdueBySeconds"] == .number(JSONNumber(22_200)) && report["dueInSeconds"] == .null, "\(report)")
        #expect(report["dueText"] == .string("overdue by 6 h 10 min"))
        #expect(report["dueAt"] == .string("2024-01-16T01:20:00+01:00"))
        let complaint = try #require(items.last)
        #expect(complaint["dueInSeconds"] == .number(JSONNumber(150_600)))
        #expect(complaint["dueText"] == .string("due in 1 day 17 h"))

        let soon = try await clocks("?dueWithin=24h&status=overdue,running")
        #expect(soon.body.arrayValue?.map { $0["rule"] } == [report["rule"]], "\(soon.body)")
        let text = try await ledger.test { client in
            try await client.execute(
                uri: "/deadlines?format=text&dueWithin=2d", method: .get, headers: auth(ledger.tokens["reader"])
            ) { response in String(buffer: response.body) }
        }
        #expect(
            text.hasPrefix("OVERDUE        overdue by 6 h 10 min: without delay, alert threshold 2024-01-16 01:20 +01:00\n"),
            "\(text)")
        #expect(!text.contains("\u{1B}["), "the service never colours")

        for (query, field) in [("?dueWithin=24", "dueWithin"), ("?dueWithin=1w", "dueWithin"), ("?status=late", "status")] {
            let refused = try await clocks(query)
            #expect(refused.status == .badRequest, "\(query)")
            #expect(refused.body["field"] == .string(field), "\(query): \(refused.body)")
        }
    }
}
