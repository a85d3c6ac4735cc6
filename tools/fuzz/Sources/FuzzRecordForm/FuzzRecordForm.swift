import FuzzSupport

@testable import EventStore
@testable import IncidentDomain

/// `ledger record --set field=value`: the conversion of typed text fields into an event never crashes, and
/// the event it makes passes or fails the same envelope and domain rules as any other input, by error.
///
/// Input layout, one item a line: the event type (or, when it is a single byte, a pick from the catalogue by
/// that byte), `--at`, `--incident`, `--source`, then `field=value` pairs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordForm(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let lines = String(decoding: input, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(
        String.init)
    guard lines.count >= 4 else { return 0 }
    var eventType = lines[0]
    if eventType.utf8.count == 1 {
        eventType = Catalogue.all[Int(eventType.utf8.first!) % Catalogue.all.count].eventType
    }
    let fields = lines.dropFirst(4).map { line -> (name: String, value: String) in
        guard let equals = line.firstIndex(of: "=") else { return (line, "") }
        return (String(line[..<equals]), String(line[line.index(after: equals)...]))
    }
    let form = RecordForm(
        eventType: eventType, incident: lines[2].isEmpty ? nil : lines[2], at: lines[1], source: lines[3], fields: fields)
    let made: (json: JSONValue, streamId: String)
    do { made = try form.event(naming: .commandLine) } catch {
        if error.message.isEmpty { fuzzFailure("a refused form got an empty message", input: input) }
        return 0
    }
    // What the form made is ordinary event JSON: the envelope and the domain rules judge it, never crash on it.
    guard let (event, stream) = try? ProposedEvent.fromJSON(made.json, defaultActor: "fuzz") else { return 0 }
    guard stream == made.streamId else {
        fuzzFailure("the stream \(String(describing: stream)) is not \(made.streamId)", input: input)
    }
    try? DomainRules().check(event, streamId: made.streamId, path: "$") { _ in nil }
    return 0
}
