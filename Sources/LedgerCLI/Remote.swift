import EventStore
import Foundation
import IncidentDomain

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The CLI as a client of `ledger serve`: with `--server URL --token T` (or `$LEDGER_SERVER`, `$LEDGER_TOKEN`),
/// `record`, `append`, `state`, `timeline`, `deadlines`, `audit`, `verify` and `stats` ask the service instead of
/// opening a directory, and print what they print locally. The actor is the token's principal.
struct Remote: Sendable {
    let base: URL
    let token: String

    /// The server named on the command line or in the environment, if any.
    nonisolated(unsafe) static var current: Remote?

    /// Takes `--server` and `--token` out of the arguments (they may come before or after the command).
    static func extract(from arguments: [String]) throws -> [String] {
        var rest: [String] = []
        var server = ProcessInfo.processInfo.environment["LEDGER_SERVER"].flatMap { $0.isEmpty ? nil : $0 }
        var token = ProcessInfo.processInfo.environment["LEDGER_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            var matched = false
            for (flag, assign) in [("--server", { (v: String) in server = v }), ("--token", { (v: String) in token = v })] {
                if argument == flag {
                    guard index + 1 < arguments.count else { throw CLIError("\(flag): needs a value", exitCode: CLIError.usage) }
                    assign(arguments[index + 1])
                    index += 1
                    matched = true
                } else if argument.hasPrefix(flag + "=") {
                    assign(String(argument.dropFirst(flag.count + 1)))
                    matched = true
                }
            }
            if !matched { rest.append(argument) }
            index += 1
        }
        if let server {
            guard let url = URL(string: server.hasSuffix("/") ? server : server + "/"),
                ["http", "https"].contains(url.scheme ?? "")
            else {
                throw CLIError("--server: \"\(server)\" is not an http:// or https:// URL", exitCode: CLIError.usage)
            }
            guard let token else { throw CLIError("--server needs --token (or $LEDGER_TOKEN)", exitCode: CLIError.usage) }
            current = Remote(base: url, token: token)
        }
        return rest
    }

    /// Refuses a command that works on a directory only.
    static func refuse(_ command: String) throws {
        if current != nil {
            throw CLIError("\(command): works on a ledger directory, not through --server", exitCode: CLIError.usage)
        }
    }

    /// Sends a request and returns the body of a 2xx answer; a problem becomes the CLI's one-line error
    /// with the exit code of its kind.
    func call(
        _ method: String, _ path: String, query: [String: String?] = [:], headers: [String: String] = [:], body: Data? = nil
    )
        throws -> (status: Int, body: Data)
    {
        var components = URLComponents(url: base.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        let items = query.compactMap { key, value in value.map { URLQueryItem(name: key, value: $0) } }.sorted {
            $0.name < $1.name
        }
        if !items.isEmpty { components.queryItems = items }
        // `+` is a space in a query to most servers: encode it, for times like 2024-01-15T08:00:00+01:00.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        var request = URLRequest(url: components.url!)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Data?, URLResponse?, (any Error)?)
        URLSession.shared.dataTask(with: request) { data, response, error in
            result = (data, response, error)
            done.signal()
        }.resume()
        done.wait()
        guard let http = result.1 as? HTTPURLResponse else {
            throw CLIError(
                "--server \(base.absoluteString): \(result.2?.localizedDescription ?? "no answer")", exitCode: CLIError.storage)
        }
        let data = result.0 ?? Data()
        guard (200..<300).contains(http.statusCode) else {
            let detail = (try? JSONParser.parse(data))?["detail"]?.stringValue ?? "HTTP \(http.statusCode)"
            throw CLIError(detail, exitCode: Self.exitCode(status: http.statusCode))
        }
        return (http.statusCode, data)
    }

    /// The CLI's exit code for an HTTP status: the same kinds as a local run.
    static func exitCode(status: Int) -> Int32 {
        switch status {
        case 400, 404, 413, 422: CLIError.invalidInput
        case 409: CLIError.conflict
        case 401, 403: CLIError.ledgerProblem
        default: CLIError.storage
        }
    }

    /// GETs a view and prints its body as it came; with `format=json`, as the document the local command prints
    /// (its list under `key`, with `formatVersion`).
    func printView(_ path: String, query: [String: String?], key: String) throws {
        let body = try call("GET", path, query: query).body
        if (query["format"] ?? nil) == "json" { return JSONOutput.emit(try JSONOutput.document(server: body, key: key)) }
        write(String(decoding: body, as: UTF8.self))
    }

    /// What the server answered to an append.
    struct Appended {
        let streamId: String
        let positions: [UInt64]
        let eventIds: [String]
        let streamVersion: UInt64
        let wasAlreadyStored: Bool
        /// The server's warnings, each placed at its event's index in the request by its event id.
        let warnings: [EventWarning]
    }

    /// The commands that work through `--server`.
    static let commands: Set<String> = ["record", "append", "state", "timeline", "deadlines", "audit", "verify", "stats"]

    /// Appends events (JSON) to one stream and returns the server's result.
    func append(_ json: JSONValue, to stream: String, expected: ExpectedVersion) throws -> Appended {
        var headers: [String: String] = [:]
        switch expected {
        case .any: break
        case .noStream: headers["If-None-Match"] = "*"
        case .streamExists: headers["If-Match"] = "*"
        case .exactly(let version): headers["If-Match"] = "\"\(version)\""
        }
        let answer = try call("POST", "streams/\(stream)/events", headers: headers, body: Data(CanonicalJSON.string(json).utf8))
        let result = try JSONParser.parse(answer.body)
        func number(_ value: JSONValue?) -> UInt64 { value?.numberValue.flatMap { UInt64(exactly: $0.doubleValue) } ?? 0 }
        let eventIds = result["eventIds"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let warnings = (result["warnings"]?.arrayValue ?? []).compactMap { warning -> EventWarning? in
            guard let field = warning["field"]?.stringValue, let message = warning["message"]?.stringValue,
                let id = warning["eventId"]?.stringValue, let eventId = UUID(text: id)
            else { return nil }
            return EventWarning(
                index: eventIds.firstIndex(of: eventId.lowercasedString) ?? 0, eventId: eventId,
                warning: IntakeWarning(field: field, message: message))
        }
        return Appended(
            streamId: result["streamId"]?.stringValue ?? stream,
            positions: result["positions"]?.arrayValue?.map(number) ?? [],
            eventIds: eventIds,
            streamVersion: number(result["streamVersion"]),
            wasAlreadyStored: result["alreadyStored"] == .bool(true), warnings: warnings)
    }
}

/// The events a correction through `--server` may name: those of its own stream, listed through the service
/// (what the principal reads), once per command.
final class RemoteEventDirectory: EventReference.Directory {
    let remote: Remote
    private var listed: [String: [EventReference.Candidate]] = [:]

    init(remote: Remote) { self.remote = remote }

    /// The stream's events, page by page; none when the service knows no such stream (or hides it).
    func events(of stream: String) throws -> [EventReference.Candidate] {
        if let known = listed[stream] { return known }
        var found: [EventReference.Candidate] = []
        var from: UInt64 = 1
        while true {
            let page: JSONValue
            do {
                page = try JSONParser.parse(
                    try remote.call("GET", "streams/\(stream)/events", query: ["from": String(from), "limit": "1000"]).body)
            } catch let error as CLIError where error.exitCode == CLIError.invalidInput {
                break  // 404: no such stream (of those the principal reaches)
            }
            let events = page["events"]?.arrayValue ?? []
            for event in events {
                guard let id = event["eventId"]?.stringValue.flatMap(UUID.init(text:)),
                    let position = event["position"]?.numberValue?.intValue, let type = event["eventType"]?.stringValue
                else { continue }
                found.append(EventReference.Candidate(id: id, position: UInt64(position), streamId: stream, eventType: type))
            }
            guard page["next"]?.stringValue != nil, !events.isEmpty else { break }
            from += UInt64(events.count)
        }
        listed[stream] = found
        return found
    }

    func candidate(at position: UInt64, in stream: String?) throws -> EventReference.Candidate? {
        guard let stream else { return nil }
        return try events(of: stream).first { $0.position == position }
    }

    func candidates(withIdPrefix prefix: String, in stream: String?, limit: Int) throws -> [EventReference.Candidate] {
        guard let stream else { return [] }
        return Array(
            try events(of: stream).filter { $0.id.lowercasedString.filter { $0 != "-" }.hasPrefix(prefix) }.prefix(limit))
    }
}
