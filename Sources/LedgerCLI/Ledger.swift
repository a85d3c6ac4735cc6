import ArgumentParser
import EventStore
import Foundation

/// `ledger`: record, read and verify an incident ledger from the command line.
@main
struct Ledger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "An append-only, hash-chained ledger of what happened during a hospital cyberattack.",
        discussion: """
            Exit codes: 0 success; 1 verify found a mismatch; 2 usage error; 3 invalid input (malformed JSON,
            an event breaking a rule, a payload too large); 4 conflict (wrong expected version, event id
            reused with other content); 5 no ledger, not a ledger, already a ledger, unreadable (permission
            denied) or damaged files, including a command stopped by a fault signal on damaged data; 6 storage or
            I/O failure.
            """,
        subcommands: [
            Init.self, Record.self, Append.self, Import.self, Read.self, State.self, Timeline.self, Deadlines.self, Audit.self,
            Verify.self,
            Stats.self, Rebuild.self, Demo.self,
        ]
    )

    /// Runs the command and turns every error into one line on stderr and a documented exit code.
    static func main() {
        Supervisor.superviseUnlessChild()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("ledger: error: \(error.message)\n".utf8))
            Foundation.exit(error.exitCode)
        } catch let error as EventStoreError {
            FileHandle.standardError.write(Data("ledger: error: \(describe(error))\n".utf8))
            Foundation.exit(CLIError.exitCode(for: error))
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

/// Options every command that touches a ledger takes.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: "The ledger directory (default: $LEDGER_DATA_DIR, else ./ledger-data).")
    var dataDir: String?

    var directory: String {
        dataDir ?? ProcessInfo.processInfo.environment["LEDGER_DATA_DIR"] ?? "ledger-data"
    }

    func openStore() throws -> EventStore {
        Supervisor.opened(directory)
        return try EventStore.open(at: directory)
    }
}

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

    static func exitCode(for error: EventStoreError) -> Int32 {
        switch error.code {
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

        func run() throws {
            let fm = FileManager.default
            if fm.fileExists(atPath: ledger.directory + "/data.mdb") {
                throw CLIError("\(ledger.directory): already holds a ledger", exitCode: CLIError.ledgerProblem)
            }
            Supervisor.willCreate(
                [ledger.directory, ledger.directory + "/data.mdb", ledger.directory + "/lock.mdb"].filter { !fm.fileExists(atPath: $0) })
            _ = try EventStore.create(at: ledger.directory)
            print("created an empty ledger in \(ledger.directory)")
        }
    }
}

/// The actor recorded when none is given: $LEDGER_ACTOR, else the operating-system user.
func defaultActor(_ explicit: String?) -> String {
    if let explicit { return explicit }
    if let actor = ProcessInfo.processInfo.environment["LEDGER_ACTOR"], !actor.isEmpty { return actor }
    return ProcessInfo.processInfo.userName.isEmpty ? "unknown" : ProcessInfo.processInfo.userName
}
