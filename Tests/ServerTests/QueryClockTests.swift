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
}
