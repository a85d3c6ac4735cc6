import ArgumentParser
import EventStore
import Foundation
import IncidentDomain
import LedgerProofs
import ProjectionRunner

extension Ledger {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the hash chain, every index entry and the Merkle tree; exit 1 at the first mismatch.",
            discussion: """
                With --checkpoint, the ledger must also be a consistent extension of that signed checkpoint (same origin,
                at least its size, the same root at its size: not truncated, rewritten or forked), and the checkpoint's
                signatures must verify against the --trust keys (at least one; every trusted signer on it must verify).
                """)
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "A signed checkpoint the ledger must extend.") var checkpoint: String?
        @Option(name: .long, help: "A verifier key (or a file holding one) trusted to sign checkpoints (repeat).")
        var trust: [String] = []

        func validate() throws {
            if checkpoint != nil, trust.isEmpty { throw ValidationError("--checkpoint needs at least one --trust key") }
            if checkpoint == nil, !trust.isEmpty { throw ValidationError("--trust goes with --checkpoint") }
        }

        func run() throws {
            if let remote = Remote.current {
                guard checkpoint == nil else {
                    throw CLIError(
                        "--checkpoint: check a checkpoint on a copy of the ledger (ledger backup), not through --server",
                        exitCode: CLIError.usage)
                }
                let report = try JSONParser.parse(try remote.call("GET", "verify").body)
                if let problem = report["problem"]?.stringValue {
                    throw CLIError(
                        "verification failed: \(remote.base.absoluteString): \(problem)", exitCode: CLIError.verifyFailed)
                }
                func n(_ key: String) -> String { report[key]?.numberValue?.text ?? "?" }
                print(
                    "verified \(n("events")) events, \(n("indexEntries")) index entries and \(n("subtrees")) Merkle subtrees; head hash \(report["headHash"]?.stringValue ?? "?")"
                )
                if let setBy = report["recordedAtSetBy"]?.stringValue {
                    print(
                        "recordedAt times were set by \(setBy), not by the ledger's clock: the chain holds, the times are the dataset's"
                    )
                }
                return
            }
            let store = try ledger.openStoreForReading()
            // The chain, then the saved incident index: it must be what the log gives, or queries would answer
            // from something else.
            let (report, problem) = try LedgerQueries(store: store).verify(progress: Supervisor.reached)
            if let problem {
                throw CLIError("verification failed: \(store.directory)/data.mdb: \(problem)", exitCode: CLIError.verifyFailed)
            }
            if let checkpoint {
                let note = try KeyFiles.note(checkpoint, option: "--checkpoint")
                let keys = try trust.map { try KeyFiles.verifierKey($0) }
                let verified: (checkpoint: LedgerProofs.Checkpoint, signers: [NoteVerifierKey])
                do { verified = try LedgerProofs.Checkpoint.verified(note, trusting: keys) } catch {
                    throw CLIError("verification failed: \(checkpoint): \(error)", exitCode: CLIError.verifyFailed)
                }
                if let problem = try store.consistencyProblem(with: verified.checkpoint) {
                    throw CLIError("verification failed: \(checkpoint): \(problem)", exitCode: CLIError.verifyFailed)
                }
                print(
                    "extends the checkpoint of \(verified.checkpoint.size) events signed by \(verified.signers.map(\.name).joined(separator: ", "))"
                )
            }
            print(
                "verified \(report.eventsChecked) events, \(report.indexEntriesChecked) index entries and \(report.subtreesChecked) Merkle subtrees; head hash \(report.headHash)"
            )
            if let setBy = try store.clockProvenance() {
                print(
                    "recordedAt times were set by \(setBy), not by the ledger's clock: the chain holds, the times are the dataset's"
                )
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show counts, sizes, and the LMDB and ledger versions.")
        @OptionGroup var ledger: LedgerOptions
        @Flag(name: .long, help: "Print JSON.") var json = false
        @OptionGroup var language: LanguageOption

        func run() throws {
            let m = Messages.of(try language.language())
            if let remote = Remote.current {
                let body = try remote.call("GET", "stats").body
                if json { return JSONOutput.emit(try JSONOutput.document(server: body, key: "statistics")) }
                guard case .object(let members) = try JSONParser.parse(body) else { return }
                return printRows(Self.order.map { ($0, members[$0] ?? .null) }, m)
            }
            let store = try ledger.openStoreForReading()
            let s = try store.statistics()
            let rows: [(String, JSONValue)] = [
                (
                    "recordedAtSetBy",
                    try store.clockProvenance().map(JSONValue.string) ?? .string(Messages.english("cli.stats.clock"))
                ),
                ("events", .number(JSONNumber(s.events))),
                ("streams", .number(JSONNumber(s.streams))),
                ("headHash", .string(s.headHash)),
                ("lastRecordedAt", s.lastRecordedAt.map { .string($0.rfc3339Micros) } ?? .null),
                ("mapSize", .number(JSONNumber(s.mapSize))),
                ("usedBytes", .number(JSONNumber(s.usedBytes))),
                ("fileSize", .number(JSONNumber(s.fileSize))),
                ("readersInUse", .number(JSONNumber(s.readersInUse))),
                ("maximumReaders", .number(JSONNumber(s.maximumReaders))),
                ("lmdbVersion", .string(s.lmdbVersion)),
                ("ledgerVersion", .string(LedgerVersion.current)),
            ]
            if json {
                JSONOutput.emit(JSONOutput.document(.object(Dictionary(uniqueKeysWithValues: rows))))
            } else {
                printRows(rows, m)
            }
        }

        /// The rows in the order the local command prints them (also for the service's answer).
        static let order = [
            "recordedAtSetBy", "events", "streams", "headHash", "lastRecordedAt", "mapSize", "usedBytes", "fileSize",
            "readersInUse",
            "maximumReaders", "lmdbVersion", "ledgerVersion",
        ]

        /// The rows named in `m`'s language (English: the JSON keys), values as stored.
        func printRows(_ rows: [(String, JSONValue)], _ m: Messages) {
            let names = rows.map { m("cli.stats.\($0.0)") }
            let width = max(16, (names.map(\.count).max() ?? 0) + 1)
            for ((_, value), name) in zip(rows, names) {
                var text = value.stringValue ?? (value == .null ? "-" : CanonicalJSON.string(value))
                // JSON keeps the English words of the one value that is words (the service sends the same).
                if text == Messages.english("cli.stats.clock") { text = m("cli.stats.clock") }
                print(name.padding(toLength: width, withPad: " ", startingAt: 0) + text)
            }
        }
    }
}
