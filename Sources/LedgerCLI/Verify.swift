import ArgumentParser
import EventStore
import Foundation
import Projections

extension Ledger {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the hash chain and every index entry; exit 1 at the first mismatch.")
        @OptionGroup var ledger: LedgerOptions

        func run() throws {
            let store = try ledger.openStoreForReading()
            let report = try store.verify(progress: Supervisor.reached)
            if let problem = report.problem {
                throw CLIError(
                    "verification failed: \(store.directory)/data.mdb: \(problem.description)", exitCode: CLIError.verifyFailed)
            }
            // The saved incident index must be what the log gives, or queries would answer from something else.
            if let problem = try IncidentIndex.verify(store) {
                throw CLIError("verification failed: \(store.directory)/data.mdb: \(problem)", exitCode: CLIError.verifyFailed)
            }
            print(
                "verified \(report.eventsChecked) events and \(report.indexEntriesChecked) index entries; head hash \(report.headHash)"
            )
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show counts, sizes and the LMDB version.")
        @OptionGroup var ledger: LedgerOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() throws {
            let s = try ledger.openStoreForReading().statistics()
            let rows: [(String, JSONValue)] = [
                ("events", .number(JSONNumber(lexeme: Substring(String(s.events)))!)),
                ("streams", .number(JSONNumber(s.streams))),
                ("headHash", .string(s.headHash)),
                ("lastRecordedAt", s.lastRecordedAt.map { .string($0.rfc3339Micros) } ?? .null),
                ("mapSize", .number(JSONNumber(s.mapSize))),
                ("usedBytes", .number(JSONNumber(s.usedBytes))),
                ("fileSize", .number(JSONNumber(s.fileSize))),
                ("readersInUse", .number(JSONNumber(s.readersInUse))),
                ("maximumReaders", .number(JSONNumber(s.maximumReaders))),
                ("lmdbVersion", .string(s.lmdbVersion)),
            ]
            if json {
                print(CanonicalJSON.string(.object(Dictionary(uniqueKeysWithValues: rows))))
            } else {
                for (name, value) in rows {
                    let text = value.stringValue ?? (value == .null ? "-" : CanonicalJSON.string(value))
                    print(name.padding(toLength: 16, withPad: " ", startingAt: 0) + text)
                }
            }
        }
    }
}
