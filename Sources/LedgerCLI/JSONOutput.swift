import EventStore
import Foundation

/// The CLI's JSON documents (`--format json` of `state`, `timeline`, `deadlines`, `audit` and `read`, and
/// `stats --json`): one object whose `formatVersion` names the version of its schema in schemas/outputs/
/// (docs/projections.md, "JSON documents"). A list is the member named for what it holds (`incidents`,
/// `timelines`, `clocks`, `entries`, `events`); an object output gets `formatVersion` among its members. Through
/// `--server` the service's answer is wrapped the same way, so that both print the same document.
enum JSONOutput {
    /// Raised when a change would break a reader of version 1: a member removed, renamed or retyped.
    static let formatVersion = 1

    /// A list output: `{"formatVersion": 1, key: items}`.
    static func document(_ key: String, _ items: [JSONValue]) -> JSONValue {
        .object([key: .array(items), "formatVersion": .number(JSONNumber(formatVersion))])
    }

    /// An object output (a group's view, the statistics) with `formatVersion` among its members.
    static func document(_ object: JSONValue) -> JSONValue {
        guard case .object(let members) = object else {
            preconditionFailure("the views given here are JSON objects")
        }
        return .object(members.merging(["formatVersion": .number(JSONNumber(formatVersion))]) { _, version in version })
    }

    /// The service's JSON answer as the CLI prints the same view: a list under `key`, an object with its members.
    static func document(server body: Data, key: String) throws -> JSONValue {
        let answer: JSONValue
        do { answer = try JSONParser.parse(body) } catch {
            throw CLIError("--server: the answer is not JSON: \(error)", exitCode: CLIError.storage)
        }
        if let items = answer.arrayValue { return document(key, items) }
        if answer.objectValue != nil { return document(answer) }
        throw CLIError("--server: the answer is neither a JSON array nor an object", exitCode: CLIError.storage)
    }

    /// Prints a document on one line.
    static func emit(_ document: JSONValue) {
        write(CanonicalJSON.string(document) + "\n")
    }
}
