import ArgumentParser
import EventStore
import Foundation
import IncidentDomain

extension Ledger {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bulk-import a large NDJSON file of events, streaming, in batches.",
            discussion: """
                Two passes over the file, so that memory stays bounded and bad input writes nothing: the first checks
                every line (envelope and domain rules, corrections pointing at earlier events); the second appends in
                batches of --batch-size events, each one atomic and durable. Events take the same form as for
                `ledger append` and must name their streamId.
                """)
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "The NDJSON file.") var file: String
        @Option(name: .long, help: "Events per transaction.") var batchSize: Int = 10_000
        @Option(name: .long, help: "Who records events that name no actor (default: $LEDGER_ACTOR, else the OS user).")
        var actor: String?

        func validate() throws {
            guard (1...1_000_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 1000000") }
        }

        func run() throws {
            let store = try ledger.openStore()
            let actorName = defaultActor(actor)
            let inLedger = DomainRules.lookup(in: store)
            // Pass 1: every rule, nothing written. Remembers each event's stream and type for corrections.
            var seen: [UUID: DomainRules.Target] = [:]
            var count = 0
            try NDJSONLines.forEach(file) { number, line in
                let (event, stream) = try parse(line, number, actor: actorName)
                if let id = event.eventId {
                    guard seen[id] == nil else {
                        throw CLIError(
                            "\(file) line \(number): $.eventId: \(id.lowercasedString) appears twice in the file",
                            exitCode: CLIError.conflict)
                    }
                    seen[id] = DomainRules.Target(streamId: stream, eventType: event.eventType)
                }
                do {
                    try DomainRules().check(event, streamId: stream, path: "$") { id in try seen[id] ?? inLedger(id) }
                } catch let error as EventStoreError {
                    throw CLIError("\(file) line \(number): \(error.description)", exitCode: CLIError.exitCode(for: error))
                }
                count += 1
            }
            guard count > 0 else { throw CLIError("\(file): holds no event", exitCode: CLIError.invalidInput) }
            seen = [:]
            // Pass 2: append, a batch per transaction.
            var batch: [AppendRequest] = []
            var inBatch = 0
            var first: UInt64?
            var last: UInt64 = 0
            var batches = 0
            func flush() throws {
                guard inBatch > 0 else { return }
                let results = try store.appendAtomically(batch)
                first = first ?? results.first?.positions.first
                last = results.last?.positions.last ?? last
                batches += 1
                batch.removeAll(keepingCapacity: true)
                inBatch = 0
            }
            try NDJSONLines.forEach(file) { number, line in
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
            print("imported \(count) events in \(batches) batches: positions \(first ?? 0)-\(last)")
        }

        private func parse(_ line: UnsafeRawBufferPointer, _ number: Int, actor actorName: String) throws -> (
            ProposedEvent, String
        ) {
            let json: JSONValue
            do { json = try JSONParser.parse(line) } catch {
                throw CLIError("\(file) line \(number): \(error)", exitCode: CLIError.invalidInput)
            }
            do {
                let parsed = try ProposedEvent.fromJSON(json, defaultActor: actorName)
                guard let stream = parsed.streamId else { throw EventStoreError.invalid("$.streamId", "required for an import") }
                return (parsed.event, stream)
            } catch let error as EventStoreError {
                throw CLIError("\(file) line \(number): \(error.description)", exitCode: CLIError.exitCode(for: error))
            }
        }
    }
}

/// Reads a file line by line in 1 MiB chunks, never the whole file: imports of any size use bounded memory.
enum NDJSONLines {
    static func forEach(_ path: String, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw CLIError("\(path): \(exists ? "cannot be read" : "no such file")", exitCode: CLIError.invalidInput)
        }
        defer { try? handle.close() }
        var carry: [UInt8] = []
        var number = 0
        func emit(_ line: UnsafeRawBufferPointer) throws {
            number += 1
            var end = line.count
            if end > 0, line[end - 1] == 0x0D { end -= 1 }
            let trimmed = UnsafeRawBufferPointer(rebasing: line[0..<end])
            if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            try body(number, trimmed)
        }
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw CLIError("\(path): cannot be read: \(error.localizedDescription)", exitCode: CLIError.invalidInput)
            }
            if chunk.isEmpty { break }
            try chunk.withUnsafeBytes { buffer in
                var start = 0
                while let newline = buffer[start...].firstIndex(of: 0x0A) {
                    if carry.isEmpty {
                        try emit(UnsafeRawBufferPointer(rebasing: buffer[start..<newline]))
                    } else {
                        carry.append(contentsOf: buffer[start..<newline])
                        try carry.withUnsafeBytes { try emit($0) }
                        carry.removeAll(keepingCapacity: true)
                    }
                    start = newline + 1
                }
                carry.append(contentsOf: buffer[start...])
            }
        }
        if !carry.isEmpty { try carry.withUnsafeBytes { try emit($0) } }
    }
}
