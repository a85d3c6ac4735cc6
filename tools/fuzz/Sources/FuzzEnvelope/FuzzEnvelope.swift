import FuzzSupport

@testable import EventStore
@testable import IncidentDomain

/// Envelope and payload validation on any JSON: never a crash; a refusal names a field; an accepted event's
/// payload is then judged by the payload and domain rules, which refuse by error too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let json = try? JSONParser.parse(input) else { return 0 }
    if let stream = json["streamId"]?.stringValue { try? EnvelopeRules.checkStreamId(stream, field: "$.streamId") }
    let accepted: (event: ProposedEvent, streamId: String?)
    do { accepted = try ProposedEvent.fromJSON(json, defaultActor: "fuzz") } catch {
        if error.field.isEmpty { fuzzFailure("an envelope refusal names no field: \(error)", input: input) }
        return 0
    }
    let (event, stream) = accepted
    // The payload rules alone, then the whole domain check (the payload again, schema version, stream kind).
    try? PayloadValidator.validate(event.payload, eventType: event.eventType)
    try? DomainRules().check(event, streamId: stream ?? "incident:fuzz", path: "$") { _ in nil }
    return 0
}
