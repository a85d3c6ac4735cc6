import EventStore
import Foundation
import IncidentDomain

/// A fresh ledger directory under the temporary directory, removed when the value is released.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init() {
        path = NSTemporaryDirectory() + "ledger-test-" + UUID().uuidString
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The directory holding the built products (`ledger`, `CrashChild`): the test bundle's own.
public func productsDirectory() -> URL {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
}

/// A note event at a fixed minute, for tests that need any valid event.
public func note(_ text: String, stream: String = "incident:test", actor: String = "analyst@example.org", id: UUID? = nil)
    -> ProposedEvent
{
    ProposedEvent(
        eventId: id, eventType: "note.added",
        occurredAt: OccurredAt(precision: .minute, start: Timestamp(rfc3339: "2024-01-15T01:20:00+01:00")!)!,
        actor: actor, source: "test", payload: .object(["text": .string(text)]))
}

extension EventStore {
    /// Every event of the log, in order.
    public func allEvents() throws -> [RecordedEvent] { try events(.log()) }
}

/// What a finished process printed and how it ended.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// The environment of a child the tests start: the test's own without the ledger's defaults (`LEDGER_DATA_DIR`,
/// `LEDGER_ACTOR`) and in the C locale (`LC_ALL=C`), so that the ledger's human output is English whatever the
/// machine's locale (a French one would make it French); then `extra`, which may ask for another locale.
public func childEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "LEDGER_DATA_DIR")
    env.removeValue(forKey: "LEDGER_ACTOR")
    env["LC_ALL"] = "C"
    for (key, value) in extra { env[key] = value }
    return env
}

/// Runs a built product with `arguments`, feeding `input` on standard input.
public func runProduct(
    _ name: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
    currentDirectory: String? = nil
) throws -> ProcessOutput {
    try runExecutable(
        productsDirectory().appendingPathComponent(name).path, arguments, input: input, environment: environment,
        currentDirectory: currentDirectory)
}

/// Runs any executable (a system tool, or a product through `setpriv`) the way ``runProduct(_:_:input:environment:currentDirectory:)`` does.
public func runExecutable(
    _ path: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
    currentDirectory: String? = nil
) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = childEnvironment(environment)
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let stdout = Pipe()
    let stderr = Pipe()
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = stdin
    // A child that exits early closes its input: the write must fail, not kill the test run with SIGPIPE.
    signal(SIGPIPE, SIG_IGN)
    try process.run()
    // Written from another thread: a large input must not block while the child fills its output pipe.
    let writer = Thread {
        if let input { try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    // Read both pipes to the end before waiting, so a large output cannot block the child.
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
        errData = stderr.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = stdout.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessOutput(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// The repository's top folder (where Package.swift is).
public func packageRoot() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

/// One line of the demo dataset: when it was recorded, and the input event.
public struct DatasetLine: Sendable {
    public let recordAt: Timestamp
    public let event: JSONValue

    public init(recordAt: Timestamp, event: JSONValue) {
        self.recordAt = recordAt
        self.event = event
    }
}

/// The demo dataset, tools/demo/dataset.ndjson.
public func demoDataset() throws -> [DatasetLine] {
    let data = try Data(contentsOf: URL(fileURLWithPath: packageRoot() + "/tools/demo/dataset.ndjson"))
    return try data.split(separator: UInt8(ascii: "\n")).map { line in
        let json = try JSONParser.parse(line)
        return DatasetLine(recordAt: Timestamp(rfc3339: json["recordAt"]!.stringValue!)!, event: json["event"]!)
    }
}

/// Appends dataset lines through the library's public path (envelope rules, domain rules, append), the
/// ledger's clock set to each line's recordAt.
public func load(_ lines: some Sequence<DatasetLine>, into store: EventStore, clock: ManualClock) throws {
    for line in lines {
        let parsed = try ProposedEvent.fromJSON(line.event, defaultActor: "test")
        try DomainRules().check(parsed.event, streamId: parsed.streamId!, path: "$", lookup: DomainRules.lookup(in: store))
        clock.set(line.recordAt.microseconds)
        _ = try store.appendAtomically([AppendRequest(streamId: parsed.streamId!, events: [parsed.event])])
    }
}

/// A fresh ledger whose clock the test sets.
public func ledgerWithManualClock(_ dir: TemporaryDirectory) throws -> (EventStore, ManualClock) {
    let clock = ManualClock(0)
    var configuration = EventStoreConfiguration()
    configuration.clock = clock
    return (try EventStore.create(at: dir.path, configuration: configuration), clock)
}

/// What python3 printed running `script` on `input`.
public struct PythonRun: Error, CustomStringConvertible {
    public let output: ProcessOutput
    public var description: String { "python3 exited \(output.status): \(output.stderr)" }
}

/// Runs python3 with `script`, feeding `input`; returns standard output, or throws when it exits non-zero.
public func python(_ script: String, input: String) throws -> String {
    let run = try runExecutable("/usr/bin/env", ["python3", "-c", script], input: input)
    guard run.status == 0 else { throw PythonRun(output: run) }
    return run.stdout
}

/// The list a `--format json` document of the CLI holds (`{"formatVersion": 1, "incidents": [...]}` gives the
/// incidents), after checking that it is such a document: formatVersion 1 and one list member beside it.
public func documentList(_ stdout: String, _ key: String) throws -> JSONValue {
    let document = try JSONParser.parse(stdout)
    guard let members = document.objectValue, members["formatVersion"] == .number(JSONNumber(1)), members.count == 2,
        let list = members[key], list.arrayValue != nil
    else { throw DocumentShape(text: String(stdout.prefix(200))) }
    return list
}

/// A CLI output that is not the JSON document expected.
public struct DocumentShape: Error, CustomStringConvertible {
    public let text: String
    public var description: String { "not a {formatVersion: 1, <list>} document: \(text)" }
}
