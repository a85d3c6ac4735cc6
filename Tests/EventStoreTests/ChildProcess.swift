import Foundation
import LedgerTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A running `CrashChild` (Tests/CrashChild/main.swift) whose output is gathered as it comes, so that a test waits
/// for a line with a deadline: a child that hangs fails the test instead of hanging it. Released, it kills the child.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: the output is in `Gathered` boxes; the process is only started, watched and killed.
    private let process = Process()
    private let output = Gathered()
    private let errors = Gathered()
    private let drained = DispatchGroup()

    /// Bytes read from one pipe. The reading threads hold these, not the ChildProcess, so that releasing it kills
    /// the child (a child left running would keep its thread, and so itself, alive).
    private final class Gathered: @unchecked Sendable {
        // @unchecked: `bytes` is only touched under `lock`.
        private let lock = NSLock()
        private var bytes = Data()
        func append(_ chunk: Data) { lock.withLock { bytes.append(chunk) } }
        var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
    }

    /// Starts `CrashChild arguments…` with `environment` added to the test's own.
    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = productsDirectory().appendingPathComponent("CrashChild")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        gather(stdout.fileHandleForReading, into: output)
        gather(stderr.fileHandleForReading, into: errors)
    }

    private func gather(_ handle: FileHandle, into box: Gathered) {
        drained.enter()
        Thread.detachNewThread { [drained] in
            while case let chunk = handle.availableData, !chunk.isEmpty { box.append(chunk) }
            drained.leave()
        }
    }

    var isRunning: Bool { process.isRunning }
    var stdout: String { output.text }
    var stderr: String { errors.text }

    /// The complete lines of standard output so far (a line the kill cut short is left out).
    var lines: [Substring] {
        let text = stdout
        let lines = text.split(separator: "\n")
        return text.hasSuffix("\n") || lines.isEmpty ? lines : Array(lines.dropLast())
    }

    /// Waits until `condition` holds for the lines printed so far; false when `timeout` seconds pass first or the
    /// child exits without it.
    func waitFor(timeout: TimeInterval = 30, _ condition: ([Substring]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(lines) { return true }
            if !process.isRunning {
                drained.wait()
                return condition(lines)
            }
            usleep(2_000)
        }
        return false
    }

    /// Waits for a line starting with `prefix`; returns it, or nil after `timeout` seconds or an exit without it.
    func waitForLine(startingWith prefix: String, timeout: TimeInterval = 30) -> Substring? {
        guard waitFor(timeout: timeout, { $0.contains { $0.hasPrefix(prefix) } }) else { return nil }
        return lines.first { $0.hasPrefix(prefix) }
    }

    /// Waits for the child to end and for its output to be read; false when it still runs after `timeout` seconds
    /// (it is then killed, so that no test leaves a child behind).
    @discardableResult
    func waitForExit(timeout: TimeInterval = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(2_000) }
        guard !process.isRunning else {
            kill()
            process.waitUntilExit()
            drained.wait()
            return false
        }
        process.waitUntilExit()
        drained.wait()
        return true
    }

    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// Whether it ended by a signal (SIGKILL) rather than by exiting.
    var wasKilled: Bool { process.terminationReason == .uncaughtSignal }
    var exitStatus: Int32 { process.terminationStatus }

    deinit {
        if process.isRunning {
            kill()
            process.waitUntilExit()
        }
    }
}
