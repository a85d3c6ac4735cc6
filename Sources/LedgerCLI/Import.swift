import ArgumentParser
import EventStore
import Foundation
import IncidentDomain

extension Ledger {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bulk-import a large NDJSON file of events, streaming, in batches.",
            discussion: """
                The input (a file, or '-' for standard input: a pipe works) is read once. The first pass checks every
                line (envelope and domain rules, corrections pointing at earlier events, event ids already stored with
                other content) while it keeps a private copy of what it read; the second appends from that copy in
                batches of --batch-size events, each one atomic and durable, so memory stays bounded and what is
                written is exactly what was checked. Bad input writes nothing. Only a failure of the storage itself, or
                another writer storing a clashing event id meanwhile, can stop it between batches: the error then says
                which positions were written. Events take the same form as for `ledger append` and must name their
                streamId.
                """)
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "The NDJSON file ('-': standard input).") var file: String
        @Option(name: .long, help: "Events per transaction.") var batchSize: Int = 10_000
        @Option(
            name: .long,
            help:
                "Who records: every event's actor; an event naming another actor is refused (default: the event's own actor, else $LEDGER_ACTOR, else the OS user)."
        )
        var actor: String?

        func validate() throws {
            guard (1...1_000_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 1000000") }
        }

        var name: String { file == "-" ? "standard input" : file }

        func run() throws {
            let store = try ledger.openStore()
            let actorName = defaultActor(actor)
            let inLedger = DomainRules.lookup(in: store)
            let spool = try Spool()
            // Pass 1: every rule, nothing written; the bytes read are copied to the spool as they come.
            var seen: [UUID: DomainRules.Target] = [:]
            var ids = Set<UUID>()
            var count = 0
            // Warnings are counted; the first few are kept to print, with their line.
            let context = LedgerWarningContext(store: store, keepsInputFacts: false)
            var warnings: [String] = []
            var warningCount = 0
            try NDJSONLines.forEach(file, name: name, copyingTo: spool.handle) { number, line in
                let (event, stream) = try parse(line, number, actor: actorName)
                if let id = event.eventId {
                    guard ids.insert(id).inserted else {
                        throw CLIError(
                            "\(name) line \(number): $.eventId: \(id.lowercasedString) appears twice in the input",
                            exitCode: CLIError.conflict)
                    }
                    // A stored event under this id must be this one (a retry), else nothing may be written.
                    if let stored = try store.event(id: id) {
                        if let field = stored.differingField(from: event, streamId: stream) {
                            throw CLIError(
                                "\(name) line \(number): $.eventId: \(id.lowercasedString) is already stored at position \(stored.position) with a different \(field)",
                                exitCode: CLIError.conflict)
                        }
                        // A retry: the append writes nothing for it. The rules would judge it against its own
                        // effect (a retraction "already retracted"), and the warnings against itself.
                        count += 1
                        return
                    }
                }
                do {
                    try DomainRules().check(event, streamId: stream, path: "$") { id in try seen[id] ?? inLedger(id) }
                    try DomainRules.note(event, streamId: stream, in: &seen, lookup: inLedger)
                } catch let error as EventStoreError {
                    throw CLIError("\(name) line \(number): \(error.description)", exitCode: CLIError.exitCode(for: error))
                }
                // An event without an id gets one when appended; the context only needs one to key it by.
                var identified = event
                identified.eventId = event.eventId ?? UUID()
                for warning in try IntakeWarnings.check(identified, streamId: stream, context: context) {
                    warningCount += 1
                    if warnings.count < Self.warningsShown {
                        warnings.append("\(name) line \(number): $.\(warning.field): \(warning.message)")
                    }
                }
                context.note(identified, streamId: stream)
                count += 1
            }
            guard count > 0 else { throw CLIError("\(name): holds no event", exitCode: CLIError.invalidInput) }
            (seen, ids) = ([:], [])
            // Pass 2: append from the spool, a batch per transaction.
            var batch: [AppendRequest] = []
            var inBatch = 0
            var first: UInt64?
            var last: UInt64 = 0
            var batches = 0
            var stored = 0
            func flush() throws {
                guard inBatch > 0 else { return }
                let results: [AppendResult]
                do {
                    results = try store.appendAtomically(batch)
                } catch let error as EventStoreError {
                    let written = first.map { "batches 1-\(batches) were written (positions \($0)-\(last)); nothing after" }
                    throw CLIError(
                        "\(name): batch \(batches + 1): \(error.description)"
                            + (written.map { "; \($0)" } ?? "; nothing was written"),
                        exitCode: CLIError.exitCode(for: error))
                }
                for result in results where !result.wasAlreadyStored {
                    first = first ?? result.positions.first
                    last = result.positions.last ?? last
                    stored += result.positions.count
                }
                batches += 1
                batch.removeAll(keepingCapacity: true)
                inBatch = 0
            }
            try NDJSONLines.forEach(spool.path, name: name) { number, line in
                let (event, stream) = try parse(line, number, actor: actorName)
                if let lastRequest = batch.last, lastRequest.streamId == stream {
                    batch[batch.count - 1].events.append(event)
                } else {
                    batch.append(AppendRequest(streamId: stream, events: [event]))
                }
                inBatch += 1
                if inBatch == batchSize { try flush() }
            }
            try flush()
            let warned =
                warningCount == 0
                ? ""
                : "; \(warningCount) warning\(warningCount == 1 ? "" : "s")"
                    + (warningCount > warnings.count ? " (the first \(warnings.count) on stderr)" : " (on stderr)")
            if stored == 0 {
                print("already stored: all \(count) events of \(name) were in the ledger; nothing written")
            } else {
                print(
                    "imported \(stored) events in \(batches) batches: positions \(first ?? 0)-\(last)"
                        + (stored < count ? " (\(count - stored) already stored)" : "") + warned)
            }
            if !warnings.isEmpty {
                FileHandle.standardError.write(Data(warnings.map { "warning: \($0)\n" }.joined().utf8))
            }
        }

        /// An import of a whole archive may warn thousands of times: the count is said, the first few shown.
        static let warningsShown = 5

        private func parse(_ line: UnsafeRawBufferPointer, _ number: Int, actor actorName: String) throws -> (
            ProposedEvent, String
        ) {
            let json: JSONValue
            do { json = try JSONParser.parse(line) } catch {
                throw CLIError("\(name) line \(number): \(error)", exitCode: CLIError.invalidInput)
            }
            do {
                let parsed = try ProposedEvent.fromJSON(json, defaultActor: actorName, principal: actor)
                guard let stream = parsed.streamId else { throw EventStoreError.invalid("$.streamId", "required for an import") }
                return (parsed.event, stream)
            } catch let error as EventStoreError {
                throw CLIError("\(name) line \(number): \(error.description)", exitCode: CLIError.exitCode(for: error))
            }
        }
    }
}

/// A private temporary file (mode 0600, removed when it is released): the one copy of an input that is read
/// once and used twice.
final class Spool {
    let path: String
    let handle: FileHandle

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/ledger-import-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw CLIError(
                "\(NSTemporaryDirectory()): cannot create a temporary file: \(String(cString: strerror(errno)))",
                exitCode: CLIError.storage)
        }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    deinit { unlink(path) }
}
