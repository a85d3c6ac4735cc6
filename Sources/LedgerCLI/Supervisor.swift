import EventStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the `ledger` command in a child process, so that damage LMDB cannot report never reaches the user
/// as a signal.
///
/// LMDB keeps no page checksums and follows whatever a page says: a damaged `data.mdb` can stop a reader
/// with SIGSEGV, SIGBUS or an assertion's SIGABRT before any check of ours runs. The `ledger` process
/// therefore re-runs itself as a child (same arguments, stdin and stdout inherited) and waits: when the
/// child exits, its status and stderr are passed on unchanged; when a fault signal stops it, the parent
/// prints one line naming the ledger file, the signal and the last position reported, removes what an
/// interrupted `ledger init` created, and exits 5. Other signals (SIGINT, SIGPIPE, SIGKILL…) are raised
/// again on the parent, so that a pipeline or a shell sees what it expects.
///
/// The child talks to the parent through an inherited pipe whose descriptor it finds in
/// `LEDGER_SUPERVISOR_FD`: lines `dir PATH` (the ledger opened), `at N` (the last position checked) and
/// `created PATH` (a file or directory `init` is about to create).
enum Supervisor {
    static let variable = "LEDGER_SUPERVISOR_FD"
    /// Signals that mean the process faulted (on damaged data, most likely) rather than was stopped.
    static let faults: [Int32: String] = [
        SIGBUS: "SIGBUS", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGILL: "SIGILL", SIGFPE: "SIGFPE", SIGTRAP: "SIGTRAP",
        SIGSYS: "SIGSYS",
    ]

    /// The child's end of the pipe to the parent; nil when unsupervised.
    nonisolated(unsafe) private static var channel: Int32?

    /// In the child, notes the channel and returns. In the parent, runs the child and never returns.
    /// When the child cannot be started, returns and the command runs unsupervised.
    static func superviseUnlessChild() {
        if let value = getenv(variable) {
            channel = Int32(String(cString: value))
            unsetenv(variable)
            return
        }
        var report: [Int32] = [0, 0]
        var errors: [Int32] = [0, 0]
        guard pipe(&report) == 0 else { return }
        guard pipe(&errors) == 0 else {
            close(report[0])
            close(report[1])
            return
        }
        for fd in [report[0], errors[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, errors[1], STDERR_FILENO)
        posix_spawn_file_actions_addclose(&actions, errors[1])
        setenv(variable, String(report[1]), 1)
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nil, CommandLine.unsafeArgv, environ)
        unsetenv(variable)
        posix_spawn_file_actions_destroy(&actions)
        close(report[1])
        close(errors[1])
        guard spawned == 0 else {
            close(report[0])
            close(errors[0])
            return
        }
        let (reported, stderrBytes) = drain(report: report[0], errors: errors[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        // WIFEXITED / WTERMSIG, spelled out: the macros are not imported.
        let signal = status & 0x7f
        if signal == 0 {
            writeAll(STDERR_FILENO, stderrBytes)
            exit((status >> 8) & 0xff)
        }
        guard let name = faults[signal] else {
            writeAll(STDERR_FILENO, stderrBytes)
            Glibc.signal(signal, SIG_DFL)
            var unblock = sigset_t()
            sigemptyset(&unblock)
            sigaddset(&unblock, signal)
            sigprocmask(SIG_UNBLOCK, &unblock, nil)
            kill(getpid(), signal)
            exit(128 + signal)
        }
        cleanUp(reported.created)
        FileHandle.standardError.write(Data((faultLine(name, reported, childStderr: stderrBytes) + "\n").utf8))
        exit(CLIError.ledgerProblem)
    }

    /// What the child reported.
    struct Reported {
        var directory: String?
        var position: UInt64?
        var created: [String] = []
    }

    /// The one line for a child stopped by `signal`; LMDB's own last words (an assertion) are kept in it.
    static func faultLine(_ signal: String, _ reported: Reported, childStderr: [UInt8]) -> String {
        // Keep LMDB's assertion or Swift's fatal error, the line that says what gave way.
        let lines = String(decoding: childStderr, as: UTF8.self).split(separator: "\n")
        let said = lines.first { $0.contains("Assertion") || $0.contains("Fatal error") }
        let lmdb = said.map { "; \($0.trimmingCharacters(in: .whitespaces))" } ?? ""
        let near = reported.position.map { " near position \($0)" } ?? ""
        let cause = "LMDB keeps no page checksums: the file is damaged\(lmdb)"
        guard let directory = reported.directory else {
            return "ledger: error: stopped with \(signal) (\(cause))"
        }
        return "ledger: error: \(directory)/data.mdb: damaged: reading it stopped with \(signal)\(near) (\(cause))"
    }

    /// Reads both pipes until the child closes them: the report lines, and its stderr kept whole.
    private static func drain(report: Int32, errors: Int32) -> (Reported, [UInt8]) {
        var reported = Reported()
        var pendingLine: [UInt8] = []
        var stderrBytes: [UInt8] = []
        var fds = [pollfd(fd: report, events: Int16(POLLIN), revents: 0), pollfd(fd: errors, events: Int16(POLLIN), revents: 0)]
        var open = 2
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open > 0 {
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress!, $0.count) }
                if n < 0, errno == EINTR { continue }
                if n <= 0 {
                    close(fds[i].fd)
                    fds[i].fd = -1
                    open -= 1
                    continue
                }
                if i == 1 {
                    stderrBytes += buffer[0..<n]
                    continue
                }
                pendingLine += buffer[0..<n]
                while let newline = pendingLine.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pendingLine[..<newline], as: UTF8.self)
                    pendingLine.removeSubrange(...newline)
                    if line.hasPrefix("dir ") {
                        reported.directory = String(line.dropFirst(4))
                    } else if line.hasPrefix("at ") {
                        reported.position = UInt64(line.dropFirst(3))
                    } else if line.hasPrefix("created ") {
                        reported.created.append(String(line.dropFirst(8)))
                    }
                }
            }
        }
        return (reported, stderrBytes)
    }

    /// Removes what an interrupted `init` created, files before their directory.
    private static func cleanUp(_ created: [String]) {
        for path in created.reversed() where unlink(path) != 0 { rmdir(path) }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
    }

    private static func send(_ line: String) {
        guard let channel else { return }
        writeAll(channel, Array((line + "\n").utf8))
    }

    /// The ledger this command opened, if any.
    nonisolated(unsafe) private(set) static var openedDirectory: String?

    /// Tells the parent which ledger the command opened: the fault line names its `data.mdb`.
    static func opened(_ directory: String) {
        openedDirectory = directory
        send("dir \(directory)")
    }

    /// Tells the parent the last position checked.
    static func reached(_ position: UInt64) { send("at \(position)") }

    /// Tells the parent that `paths` (files, or a directory listed before its files) are about to be
    /// created by this command, for removal if it dies on the way.
    static func willCreate(_ paths: [String]) {
        for path in paths { send("created \(path)") }
    }
}

/// The line for an error of the store: damage found inside an event ("position 12: …") is prefixed with the
/// ledger file it lies in, which the store's message does not name.
func describe(_ error: EventStoreError) -> String {
    guard error.code == .corrupted, let directory = Supervisor.openedDirectory, !error.description.contains("data.mdb") else {
        return error.description
    }
    return "\(directory)/data.mdb: damaged: \(error.description)"
}
