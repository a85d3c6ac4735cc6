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
                other content) while it keeps a private copy of each event as checked (its payload in canonical form);
                the second appends from that copy in batches of --batch-size events, each one atomic and durable, so
                memory stays bounded and what is written is exactly what was checked. Bad input writes nothing. Only a failure of the storage itself, or
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
            // Pass 1: every rule, nothing written; each event checked goes to the spool as the store will take it.
            var count = 0
            // Warnings are counted; the first few are kept to print, with their line.
            var warnings: [String] = []
            var warningCount = 0
            var records: [UInt8] = []
            records.reserveCapacity(Spool.chunk + (64 << 10))
            // What the checks remember of the input (its ids, what the warnings compare with) ends with this pass.
            do {
                var seen = InputTargets()
                // The ids of the input's retries (already stored, so not in `seen`): with `seen`, every id met.
                var retries = Set<UUID>()
                let context = LedgerWarningContext(store: store, keepsInputFacts: false)
                try NDJSONLines.forEach(file, name: name) { number, line in
                    let (event, prepared) = try parse(line, number, actor: actorName, store: store)
                    let stream = prepared.streamId
                    if let id = event.eventId {
                        guard !seen.contains(id), !retries.contains(id) else {
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
                            retries.insert(id)
                            try spool.add(prepared, to: &records)
                            count += 1
                            return
                        }
                    }
                    do {
                        try seen.admit(event, streamId: stream, path: "$", lookup: inLedger)
                    } catch let error as EventStoreError {
                        throw CLIError("\(name) line \(number): \(error.description)", exitCode: CLIError.exitCode(for: error))
                    }
                    // The context keys events by id: the one the event will be stored under.
                    var identified = event
                    identified.eventId = prepared.eventId
                    for warning in try IntakeWarnings.check(identified, streamId: stream, context: context) {
                        warningCount += 1
                        if warnings.count < Self.warningsShown {
                            warnings.append("\(name) line \(number): $.\(warning.field): \(warning.message)")
                        }
                    }
                    context.note(identified, streamId: stream)
                    try spool.add(prepared, to: &records)
                    count += 1
                }
            }
            try spool.flush(&records)
            guard count > 0 else { throw CLIError("\(name): holds no event", exitCode: CLIError.invalidInput) }
            // Pass 2: append from the spool, a batch per transaction, the events as they were checked.
            var batch: [PreparedEvent] = []
            batch.reserveCapacity(batchSize)
            var first: UInt64?
            var last: UInt64 = 0
            var batches = 0
            var stored = 0
            func flush() throws {
                guard !batch.isEmpty else { return }
                let results: [AppendResult]
                do {
                    results = try store.appendPrepared(batch)
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
            }
            try spool.forEach { event in
                batch.append(event)
                if batch.count == batchSize { try flush() }
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

        /// The line's event, as read and as the store will append it (checked, with its id and canonical payload).
        private func parse(_ line: UnsafeRawBufferPointer, _ number: Int, actor actorName: String, store: EventStore) throws
            -> (ProposedEvent, PreparedEvent)
        {
            let json: JSONValue
            do { json = try JSONParser.parse(line) } catch {
                throw CLIError("\(name) line \(number): \(error)", exitCode: CLIError.invalidInput)
            }
            do {
                // The envelope's rules are the store's check below, which keeps the payload's canonical bytes.
                let parsed = try ProposedEvent.fromJSON(json, defaultActor: actorName, principal: actor, checkingEnvelope: false)
                let prepared = try store.prepareForBulk(
                    parsed.event, streamId: parsed.streamId, path: "$", missingStream: "required for an import")
                return (parsed.event, prepared)
            } catch {
                throw CLIError("\(name) line \(number): \(error.description)", exitCode: CLIError.exitCode(for: error))
            }
        }
    }
}

/// A private temporary file (mode 0600, removed when it is released): the one copy of an input that is read
/// once and used twice, held as the events checked (``PreparedEvent`` records), so that the second pass
/// neither parses nor encodes again.
final class Spool {
    let path: String
    let handle: FileHandle
    /// Records are written and read in chunks of about this size.
    static let chunk = 1 << 20

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

    /// Adds `event` to `records`, writing them out once they fill a chunk.
    func add(_ event: PreparedEvent, to records: inout [UInt8]) throws {
        event.encode(into: &records)
        if records.count >= Self.chunk { try flush(&records) }
    }

    func flush(_ records: inout [UInt8]) throws {
        guard !records.isEmpty else { return }
        do { try handle.write(contentsOf: records) } catch {
            throw CLIError(
                "\(NSTemporaryDirectory()): cannot keep a copy of the input: \(error.localizedDescription)",
                exitCode: CLIError.storage)
        }
        records.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with each event written, in order, reading the file from its start in chunks.
    func forEach(_ body: (PreparedEvent) throws -> Void) throws {
        func unreadable(_ reason: String) -> CLIError {
            CLIError("\(path): the import's copy of its input \(reason)", exitCode: CLIError.storage)
        }
        guard let reader = FileHandle(forReadingAtPath: path) else { throw unreadable("cannot be read") }
        defer { try? reader.close() }
        var carry: [UInt8] = []
        while true {
            let chunk: Data
            do { chunk = try reader.read(upToCount: Self.chunk) ?? Data() } catch {
                throw unreadable("cannot be read: \(error.localizedDescription)")
            }
            if chunk.isEmpty { break }
            carry.append(contentsOf: chunk)
            var start = 0
            try carry.withUnsafeBytes { buffer in
                while let length = PreparedEvent.recordLength(UnsafeRawBufferPointer(rebasing: buffer[start...])),
                    start + length <= buffer.count
                {
                    guard
                        let event = PreparedEvent.decode(from: UnsafeRawBufferPointer(rebasing: buffer[start..<(start + length)]))
                    else { throw unreadable("is damaged") }
                    try body(event)
                    start += length
                }
            }
            carry.removeFirst(start)
        }
        guard carry.isEmpty else { throw unreadable("ends in the middle of an event") }
    }
}
