import ArgumentParser
import EventStore
import Foundation
import IncidentDomain
import LedgerProofs

/// Writes to `path` through a temporary file renamed into place once complete and synced: a bundle or
/// export is whole or absent, never half-written.
func writeWhole(_ path: String, _ body: (FileHandle) throws -> Void) throws {
    let temporary = path + ".partial-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else {
        throw CLIError("\(path): cannot be written: \(String(cString: strerror(errno)))", exitCode: CLIError.storage)
    }
    let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    do {
        try body(handle)
        try handle.synchronize()
        guard rename(temporary, path) == 0 else {
            throw CLIError("\(path): cannot be written: \(String(cString: strerror(errno)))", exitCode: CLIError.storage)
        }
    } catch {
        unlink(temporary)
        throw error
    }
}

extension Ledger {
    enum ExportFormat: String, CaseInsensitiveArgument { case bundle, cloudevents }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a bundle: the stored events with their hashes and a signed checkpoint covering them.",
            discussion: """
                The bundle (NDJSON: a header, the events as `read --format ndjson` prints them, the signed checkpoint) is
                what `ledger restore` and `ledger merge` read. It covers the ledger up to its latest checkpoint when that
                is the head, else up to a checkpoint this command signs with --key. --from POS exports a suffix (with the
                hash and subtrees before it, so that it still verifies); --stream S one stream (with an inclusion proof
                per event). --format cloudevents writes the events as CloudEvents 1.0 instead, one per line, for other
                systems: that file carries no checkpoint and cannot be restored.
                """)
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "The bundle file to write (not replaced if it exists).") var output: String
        @Option(name: .long, help: "Export from this position on.") var from: UInt64 = 1
        @Option(name: .long, help: "Export only this stream.") var stream: String?
        @Option(name: .long, help: "bundle or cloudevents.") var format: ExportFormat = .bundle
        @Option(
            name: .long,
            help:
                "A signing key file: its signature goes on the head's checkpoint (needed when the head has none yet; default: $LEDGER_SIGNING_KEY)."
        )
        var key: String?

        func run() throws {
            guard !FileManager.default.fileExists(atPath: output) else {
                throw CLIError("\(output): already exists; not replaced", exitCode: CLIError.invalidInput)
            }
            let store = try ledger.openStore()
            if format == .cloudevents {
                let source = try store.origin()
                var count = 0
                try writeWhole(output) { handle in
                    var buffer: [UInt8] = []
                    let selection: EventSelection = stream.map { .stream($0) } ?? .log(fromPosition: from)
                    try store.read(selection) { event in
                        guard event.position >= from else { return true }
                        CanonicalJSON.write(event.cloudEvent(source: source), into: &buffer)
                        buffer.append(0x0A)
                        count += 1
                        if buffer.count > 1 << 20 {
                            try handle.write(contentsOf: buffer)
                            buffer.removeAll(keepingCapacity: true)
                        }
                        return true
                    }
                    try handle.write(contentsOf: buffer)
                }
                print("exported \(count) events as CloudEvents 1.0 to \(output)")
                return
            }
            let head = try store.lastPosition()
            var note = try store.storedCheckpoint()
            let current = try store.currentCheckpoint()
            if key != nil || ProcessInfo.processInfo.environment["LEDGER_SIGNING_KEY"] != nil {
                // A key given: its signature goes on the head's checkpoint (added to one already stored there).
                note = try signCheckpoint(of: store, with: try KeyFiles.load(try KeyFiles.path(key)))
            } else if let stored = note, stored.body == current.body {
                // Already signed at the head: the bundle carries that checkpoint as it is.
            } else {
                throw CLIError(
                    "--key: required: the head (position \(head)) has no checkpoint yet, and a bundle carries one",
                    exitCode: CLIError.usage)
            }
            let signers = try store.knownVerifierKeys(of: note!)
            var header: BundleHeader?
            try writeWhole(output) { handle in
                header = try store.exportBundle(from: from, stream: stream, checkpoint: note!, verifierKeys: signers, to: handle)
            }
            let h = header!
            print(
                "exported \(h.eventCount) events (positions \(h.fromPosition)-\(h.toPosition)\(h.stream.map { " of \($0)" } ?? "")) of \(h.origin) to \(output), with the checkpoint of \(h.treeSize) events"
            )
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an exact replica of a bundle's ledger in a new directory: same positions, recordedAt, hashes, head.",
            discussion: """
                Every event's bytes and hash, the chain, the Merkle root against its checkpoint, and the checkpoint's
                signature (against --trust keys; without them, against the keys the bundle states, which proves only that
                it is intact) are checked in one read while the replica is written into a directory of its own beside the
                target (NAME.partial-XXXXXX); only once all of them held, and the replica's own root and head agree, is it
                renamed into place. If anything fails nothing is left at the target; a killed restore leaves its
                NAME.partial-* directory, which can be removed.
                """)
        @Argument(help: "The bundle file.") var bundle: String
        @Option(name: .long, help: "The new ledger directory (must not exist).") var dataDir: String
        @Option(name: .long, help: "A verifier key (or a file holding one) trusted to sign the bundle's checkpoint (repeat).")
        var trust: [String] = []

        func run() throws {
            let keys = try trust.map { try KeyFiles.verifierKey($0) }
            let verified = try EventStore.restore(bundle: bundle, into: dataDir, trusting: keys)
            print(
                "restored \(verified.header.eventCount) events of \(verified.checkpoint.origin) into \(dataDir); head hash \(verified.lastHash); checkpoint signed by \(signerText(verified))"
            )
        }
    }

    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A hot, compacted copy of the ledger in a new directory, verified before it says so.")
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "The new directory for the copy (must not exist).") var output: String

        func run() throws {
            let report = try ledger.openStore().backup(to: output)
            print("backed up \(report.eventsChecked) events to \(output) and verified the copy; head hash \(report.headHash)")
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append another ledger's events from its bundle (an offline laptop's), keeping their provenance.",
            discussion: """
                After the bundle's chain, root and signature verify, its events not yet here are appended as new events
                with an `origin` (the other ledger's name, the event's position, hash and recordedAt there), keeping their
                ids, actors and sources; the domain's rules apply to them as to any input. Events this ledger already holds
                (its own, back from a replica) and events merged before are skipped, so merging the same bundle again
                writes nothing. A bundle that does not extend what was merged before from its origin is refused, naming the
                first event that differs; the first merge from an origin starts at its position 1. All or nothing.
                """)
        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "The bundle file.") var bundle: String
        @Option(
            name: .long,
            help: "A verifier key (or a file holding one) trusted to sign the bundle's checkpoint (repeat; required).")
        var trust: [String] = []

        func validate() throws {
            // A merge writes on the strength of the signature: the keys must be the reader's, not the bundle's.
            guard !trust.isEmpty else {
                throw ValidationError("--trust: required: the verifier key of the ledger the bundle comes from")
            }
        }

        func run() throws {
            let store = try ledger.openStore()
            let verified = try EventStore.verifyBundle(at: bundle, trusting: try trust.map { try KeyFiles.verifierKey($0) })
            let before = try store.mergeState(of: verified.header.origin)
            let candidates = try store.mergeCandidates(verified, bundle: bundle)
            // The same rules as every input, each event seeing the ones before it in the merge.
            var earlier = InputTargets()
            let inLedger = DomainRules.lookup(in: store)
            for (i, (stream, event)) in candidates.events.enumerated() {
                do {
                    try earlier.admit(event, streamId: stream, path: "$", lookup: inLedger)
                } catch let error as EventStoreError {
                    let position = event.origin.map { "position \($0.position)" } ?? "event \(i + 1)"
                    throw CLIError("\(bundle): \(position): \(error.description)", exitCode: CLIError.exitCode(for: error))
                }
            }
            let positions = try store.appendMerged(candidates.events, of: verified, expecting: before)
            let skipped = [
                candidates.mergedBefore > 0 ? "\(candidates.mergedBefore) merged before" : nil,
                candidates.alreadyHere > 0 ? "\(candidates.alreadyHere) already here" : nil,
            ].compactMap { $0 }.joined(separator: ", ")
            if positions.isEmpty {
                print(
                    "nothing new from \(verified.header.origin): \(skipped.isEmpty ? "an empty bundle" : skipped); nothing written"
                )
            } else {
                print(
                    "merged \(positions.count) events of \(verified.header.origin) at positions \(positions.first!)-\(positions.last!)"
                        + (skipped.isEmpty ? "" : " (\(skipped))") + "; checkpoint signed by \(signerText(verified))")
            }
        }
    }
}

extension Ledger {
    struct CheckBundle: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-bundle",
            abstract: "Check a bundle without a ledger: its events, chain, Merkle root or inclusion proofs, and signature.")
        @Argument(help: "The bundle file.") var bundle: String
        @Option(name: .long, help: "A verifier key (or a file holding one) trusted to sign the bundle's checkpoint (repeat).")
        var trust: [String] = []

        func run() throws {
            let verified = try EventStore.verifyBundle(at: bundle, trusting: try trust.map { try KeyFiles.verifierKey($0) })
            let h = verified.header
            print(
                "\(bundle): \(h.eventCount) events (positions \(h.fromPosition)-\(h.toPosition)\(h.stream.map { " of \($0)" } ?? "")) of \(h.origin) check out against the checkpoint of \(h.treeSize) events signed by \(signerText(verified))"
                    + (h.stream == nil
                        ? ""
                        : "; each is proved in the ledger, versions 1-\(h.eventCount) with no gap; that none came after is the exporter's word")
            )
        }
    }
}

/// Who signed a bundle's checkpoint, and whether the reader pinned the key.
func signerText(_ verified: VerifiedBundle) -> String {
    verified.signers.map(\.name).joined(separator: ", ")
        + (verified.signersWerePinned ? "" : " (checked with the key the bundle states: pass --trust to pin it)")
}

extension Ledger {
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a format-2 ledger into a new ledger of this format (5), keeping positions, ids and recordedAt.",
            discussion: """
                Format 3 hashes the RFC 8785 form of each event, so the hashes are new; the old head hash and count are kept
                in the new ledger (`migrated-from` in its meta table) and printed here, to tie old checkpoints to it. The old
                ledger is only read.
                """)
        @Option(name: .long, help: "The format-2 ledger directory.") var from: String
        @Option(name: .long, help: "The new ledger directory (must not exist).") var dataDir: String
        @Option(name: .long, help: "The new ledger's origin name (default: a new unique one).") var origin: String?

        func run() throws {
            var configuration = EventStoreConfiguration()
            if let origin { configuration.origin = origin }
            let report = try EventStore.migrate(fromFormat2: from, into: dataDir, configuration: configuration)
            print(
                "migrated \(report.events) events from \(from) (format 2, head hash \(report.oldHeadHash)) into \(dataDir) (format 5, head hash \(report.newHeadHash))"
            )
        }
    }
}
