import EventStore
import Foundation

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

/// Runs a built product with `arguments`, feeding `input` on standard input.
public func runProduct(
    _ name: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
    currentDirectory: String? = nil
) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = productsDirectory().appendingPathComponent(name)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "LEDGER_DATA_DIR")
    env.removeValue(forKey: "LEDGER_ACTOR")
    for (key, value) in environment { env[key] = value }
    process.environment = env
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let stdout = Pipe()
    let stderr = Pipe()
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
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
