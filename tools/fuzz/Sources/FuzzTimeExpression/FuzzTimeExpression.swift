import FuzzSupport

@testable import EventStore
@testable import IncidentDomain

/// Time expressions as people type them: never a crash; an accepted one is within the supported range, its JSON
/// form reads back as the same occurredAt, and a refused one gets a reason.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTimeExpression(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let text = String(decoding: input, as: UTF8.self)
    _ = TimeExpression.queryInstant(text)
    guard let occurred = TimeExpression.occurredAt(text) else {
        if TimeExpression.refusal(text).isEmpty { fuzzFailure("a refused time expression got no reason", input: input) }
        return 0
    }
    guard occurred.earliest <= occurred.latest else {
        fuzzFailure("earliest \(occurred.earliest) after latest \(occurred.latest)", input: input)
    }
    guard Timestamp.supportedRange.contains(occurred.earliest), occurred.latest <= Timestamp.supportedRange.upperBound else {
        fuzzFailure("accepted \(occurred) outside the supported range", input: input)
    }
    let back: OccurredAt
    do { back = try OccurredAt(json: occurred.json, path: "$.occurredAt") } catch {
        fuzzFailure("the JSON of accepted \(occurred) is refused: \(error)", input: input)
    }
    guard back == occurred else { fuzzFailure("\(occurred) reads back as \(back)", input: input) }
    return 0
}
