import EventStore
import IncidentDomain
import Testing

/// Inputs the fuzz targets (tools/fuzz) broke a property on, kept so that the fix stays: each test names its
/// target and the crash file's input.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    /// FuzzTimeExpression, input `1-09-01-15`: a Paris time before 1911 took Paris mean time, UTC+00:09:21, which
    /// the RFC 3339 text wrote as +00:09; the stored `at` then named an instant 21 s from the one checked.
    @Test(arguments: ["1-09-01-15", "1900-01-15", "1900-01", "1900-01-15 01:20", "1900-01-15/1912-01-01"])
    func parisMeanTimeIsRefusedWithItsReason(_ text: String) {
        #expect(TimeExpression.occurredAt(text) == nil, "\(text)")
        let reason = TimeExpression.refusal(text)
        #expect(reason.contains("UTC+00:09:21"), "\(reason)")
    }

    /// What is accepted reads back from its own JSON as the same value (the property the target checks).
    @Test(arguments: ["1911-03-12", "1912-01-15 01:20", "1900-01-15T01:20:00+00:09", "2024-01-15 01:20"])
    func acceptedTimesReadBackFromTheirJSON(_ text: String) throws {
        let occurred = try #require(TimeExpression.occurredAt(text), "\(text)")
        #expect(try OccurredAt(json: occurred.json, path: "$") == occurred, "\(text)")
    }
}
