import ArgumentParser
import EventStore
import Foundation
import IncidentDomain
import LedgerProofs
import Logging

/// `ledger`: record, read and verify an incident ledger from the command line.
@main
struct Ledger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "An append-only, hash-chained ledger of what happened during a hospital cyberattack.",
        discussion: exitCodes,
        version: LedgerVersion.current,
        subcommands: [
            Init.self, Record.self, Append.self, Import.self, Read.self, State.self, Timeline.self, Deadlines.self, Report.self,
            Audit.self,
            Verify.self, Key.self, CheckpointCommand.self, Prove.self, Export.self, CheckBundle.self, Restore.self, Backup.self,
            Merge.self, Migrate.self,
            Stats.self, Rebuild.self, Serve.self, Token.self, Demo.self,
        ]
    )

    /// The exit codes, one a line, laid out for the screen by ``HelpText``.
    static var exitCodes: String {
        "Exit codes, the same for every command:\n"
            + HelpText.list([
                ("0", "success"),
                ("1", "verify found a mismatch"),
                (
                    "2",
                    "the command line's shape (an unknown command, option or event type, a missing option, a value outside "
                        + "an option's fixed choices)"
                ),
                (
                    "3",
                    "a value that breaks its rule (a time, a FINESS, a field, malformed JSON, a number outside ±(2^53−1), "
                        + "blank text, an argument that is not UTF-8, an event breaking a rule, a payload over 1 MiB, an "
                        + "incident or establishment the ledger does not hold)"
                ),
                ("4", "conflict (wrong expected version, an event id reused with other content)"),
                (
                    "5",
                    "the ledger's files (none there, not a ledger, already a ledger, another format, unreadable or "
                        + "damaged, permission denied, a command stopped by a fault signal on damaged data)"
                ),
                ("6", "storage or I/O failure (a full disk, a failed write)"),
            ])
    }

    /// Runs the command and turns every error into one line on stderr and a documented exit code.
    static func main() {
        // Arguments reach Swift already decoded, with invalid UTF-8 replaced by U+FFFD: check the raw bytes, so
        // that nothing is ever stored other than what was typed.
        for index in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[index], String(validatingCString: raw) != nil else {
                FileHandle.standardError.write(Data("ledger: error: argument \(index) is not valid UTF-8\n".utf8))
                Foundation.exit(CLIError.invalidInput)
            }
        }
        // A server logs as it runs and stops on SIGTERM itself: it runs unsupervised.
        let serving = CommandLine.arguments.dropFirst().first == "serve"
        if !serving { Supervisor.superviseUnlessChild() }
        do {
            try bootstrapLogging(serving: serving)
            let arguments = try Remote.extract(from: Array(CommandLine.arguments.dropFirst()))
            if Remote.current != nil, let first = arguments.first, !first.hasPrefix("-"), !Remote.commands.contains(first) {
                throw CLIError(
                    "\(first): works on a ledger directory, not through --server (through it: \(Remote.commands.sorted().joined(separator: ", ")))",
                    exitCode: CLIError.usage)
            }
            var command = try parseAsRoot(RelativeTimes.attached(arguments))
            try command.run()
            if let pendingNote { FileHandle.standardError.write(Data(pendingNote.utf8)) }
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("ledger: error: \(error.message)\n".utf8))
            Foundation.exit(error.exitCode)
        } catch let error as EventStoreError {
            FileHandle.standardError.write(Data("ledger: error: \(describe(error))\n".utf8))
            Foundation.exit(CLIError.exitCode(for: error))
        } catch let error as IntakeError {
            let cli = CLIError(error)
            FileHandle.standardError.write(Data("ledger: error: \(cli.message)\n".utf8))
            Foundation.exit(cli.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)  // --help and --version print and succeed
            }
            // Usage errors: ArgumentParser's own message, with our exit code.
            let message = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("ledger: error: \(message.replacingOccurrences(of: "Error: ", with: ""))\n".utf8))
            Foundation.exit(CLIError.usage)
        }
    }
}

/// Sends every log record (the store's, the server's) to stderr from `$LEDGER_LOG_LEVEL`, by default from
/// `warning` for commands, whose stderr holds their errors and warnings only, and from `info` for `serve`, which
/// logs a line per request. Once per process, before any store is opened: a store keeps the logger it was given.
func bootstrapLogging(serving: Bool) throws(CLIError) {
    var level: Logger.Level = serving ? .info : .warning
    if let text = ProcessInfo.processInfo.environment["LEDGER_LOG_LEVEL"] {
        guard let named = Logger.Level(rawValue: text) else {
            throw CLIError(
                "LEDGER_LOG_LEVEL: \"\(text)\" is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))",
                exitCode: CLIError.usage)
        }
        level = named
    }
    let chosen = level
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = chosen
        return handler
    }
}

/// `--at -2h` as ArgumentParser would not read it: a word beginning with a dash is an option to it (`-2h` the
/// short options `-2` and `-h`, help), so a time option followed by what looks like a relative time is given
/// its value attached (`--at=-2h`). A bad one (`-10x`) then reaches the option's own one-line refusal.
enum RelativeTimes {
    static let options: Set<String> = ["--at", "--as-of", "--known-at", "--since"]

    static func attached(_ arguments: [String]) -> [String] {
        guard arguments.first != "---completion" else { return arguments }
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                result += arguments[index...]
                break
            }
            if options.contains(argument), index + 1 < arguments.count, looksRelative(arguments[index + 1]) {
                result.append(argument + "=" + arguments[index + 1])
                index += 2
                continue
            }
            result.append(argument)
            index += 1
        }
        return result
    }

    /// A dash then a digit: no option of the ledger looks like that, a time before now does.
    static func looksRelative(_ word: String) -> Bool {
        let scalars = Array(word.unicodeScalars.prefix(2))
        return scalars.count == 2 && scalars[0] == "-" && ("0"..."9").contains(scalars[1])
    }
}

/// Options every command that touches a ledger takes.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: "The ledger directory (default: $LEDGER_DATA_DIR, else ./ledger-data).", completion: .directory)
    var dataDir: String?

    var directory: String {
        dataDir ?? ProcessInfo.processInfo.environment["LEDGER_DATA_DIR"] ?? "ledger-data"
    }

    /// Opens the ledger to write.
    func openStore(configuration: EventStoreConfiguration = .init()) throws -> EventStore {
        Supervisor.opened(directory)
        return try noteClock(EventStore.open(at: directory, configuration: configuration))
    }
}

/// Says once on stderr when the ledger's recordedAt times were set by a dataset, so that no output of such a
/// ledger passes for the ledger's own record of when things were known. Printed after the command succeeds, so that an error stays the one line on stderr.
func noteClock(_ store: EventStore) throws -> EventStore {
    if let setBy = try store.clockProvenance() {
        pendingNote = "ledger: note: \(store.directory): recordedAt times were set by \(setBy), not by the ledger's clock\n"
    }
    return store
}

/// The note of the ledger the command opened, if any (one command, one thread).
nonisolated(unsafe) var pendingNote: String?

/// An error the CLI reports itself, with its exit code.
struct CLIError: Error {
    static let verifyFailed: Int32 = 1
    static let usage: Int32 = 2
    static let invalidInput: Int32 = 3
    static let conflict: Int32 = 4
    static let ledgerProblem: Int32 = 5
    static let storage: Int32 = 6

    let message: String
    let exitCode: Int32

    init(_ message: String, exitCode: Int32) {
        self.message = message
        self.exitCode = exitCode
    }

    static func exitCode(for error: EventStoreError) -> Int32 { exitCode(for: error.code) }

    /// An intake's refusal, with the exit code of its kind (a multi-stream expected version is the command line's shape).
    init(_ error: IntakeError) {
        self.init(error.message, exitCode: error.field == "expectedVersion" ? CLIError.usage : CLIError.exitCode(for: error.code))
    }

    static func exitCode(for code: EventStoreError.Code) -> Int32 {
        switch code {
        case .invalidEvent, .payloadTooLarge: invalidInput
        case .wrongExpectedVersion, .eventIdConflict: conflict
        case .noLedger, .notALedger, .corrupted, .unreadable: ledgerProblem
        default: storage
        }
    }
}

extension Ledger {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an empty ledger.")
        @OptionGroup var ledger: LedgerOptions
        @Option(
            name: .long,
            help:
                "The ledger's name, the first line of its signed checkpoints, e.g. chu-nantes.fr/incidents (default: a new unique one)."
        )
        var origin: String?

        func run() throws {
            let fm = FileManager.default
            if fm.fileExists(atPath: ledger.directory + "/data.mdb") {
                throw CLIError("\(ledger.directory): already holds a ledger", exitCode: CLIError.ledgerProblem)
            }
            Supervisor.willCreate(
                [ledger.directory, ledger.directory + "/data.mdb", ledger.directory + "/lock.mdb"].filter {
                    !fm.fileExists(atPath: $0)
                })
            var configuration = EventStoreConfiguration()
            if let origin {
                guard (try? LedgerProofs.Checkpoint(origin: origin, size: 0, root: MerkleTree.emptyRoot)) != nil,
                    !origin.contains(" ")
                else {
                    throw CLIError(
                        "--origin \"\(origin)\": a name without spaces or control characters", exitCode: CLIError.invalidInput)
                }
                configuration.origin = origin
            }
            let store = try EventStore.create(at: ledger.directory, configuration: configuration)
            print("created an empty ledger in \(ledger.directory), origin \(try store.origin())")
        }
    }
}

/// The actor recorded when none is given: $LEDGER_ACTOR, else the operating-system user.
func defaultActor(_ explicit: String?) -> String {
    if let explicit { return explicit }
    if let actor = ProcessInfo.processInfo.environment["LEDGER_ACTOR"], !actor.isEmpty { return actor }
    return ProcessInfo.processInfo.userName.isEmpty ? "unknown" : ProcessInfo.processInfo.userName
}
