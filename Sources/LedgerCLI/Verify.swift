import ArgumentParser
import EventStore
import Foundation

extension Ledger {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the hash chain and every index entry; exit 1 at the first mismatch.")
        @OptionGroup var ledger: LedgerOptions

        func run() throws {
            let store = try ledger.openStore()
            let report = try store.verify()
            if let problem = report.problem {
                throw CLIError("verification failed: \(problem.description)", exitCode: CLIError.verifyFailed)
            }
            print(
                "verified \(report.eventsChecked) events, \(report.indexEntriesChecked) index entries and \(report.subtreesChecked) Merkle subtrees; head hash \(report.headHash)"
            )
            if let setBy = try store.clockProvenance() {
                print("recordedAt times were set by \(setBy), not by the ledger's clock: the chain holds, the times are the dataset's")
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show counts, sizes and the LMDB version.")
        @OptionGroup var ledger: LedgerOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() throws {
            let store = try ledger.openStore()
            let s = try store.statistics()
            let rows: [(String, JSONValue)] = [
                ("recordedAtSetBy", try store.clockProvenance().map(JSONValue.string) ?? .string("the ledger's clock")),
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
