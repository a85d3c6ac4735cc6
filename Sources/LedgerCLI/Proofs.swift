import ArgumentParser
import EventStore
import Foundation
import IncidentDomain
import LedgerProofs

/// Private signing keys live in files of their own, mode 0600, never in data.mdb.
enum KeyFiles {
    /// The key file from `--key`, else $LEDGER_SIGNING_KEY.
    static func path(_ explicit: String?) throws -> String {
        guard let path = explicit ?? ProcessInfo.processInfo.environment["LEDGER_SIGNING_KEY"], !path.isEmpty else {
            throw CLIError(
                "--key: required (or set $LEDGER_SIGNING_KEY): the signing key file made by `ledger key init`",
                exitCode: CLIError.usage)
        }
        return path
    }

    static func load(_ path: String) throws -> NoteSignerKey {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw CLIError(
                "\(path): \(errno == EACCES ? "permission denied" : "no such key file")", exitCode: CLIError.invalidInput)
        }
        guard st.st_mode & 0o077 == 0 else {
            throw CLIError(
                "\(path): a private key readable by others (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 it",
                exitCode: CLIError.invalidInput)
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw CLIError("\(path): cannot be read", exitCode: CLIError.invalidInput)
        }
        do {
            return try NoteSignerKey(encoded: text.trimmingCharacters(in: .newlines))
        } catch {
            throw CLIError("\(path): not a signing key: \(error)", exitCode: CLIError.invalidInput)
        }
    }

    /// A trusted verifier key: the key text itself, or a file holding it.
    static func verifierKey(_ argument: String, option: String = "--trust") throws -> NoteVerifierKey {
        var text = argument
        if FileManager.default.fileExists(atPath: argument) {
            guard let data = FileManager.default.contents(atPath: argument), let contents = String(data: data, encoding: .utf8)
            else { throw CLIError("\(option) \(argument): cannot be read", exitCode: CLIError.invalidInput) }
            text = contents.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        do {
            return try NoteVerifierKey(encoded: text)
        } catch {
            throw CLIError("\(option) \(argument): not a verifier key: \(error)", exitCode: CLIError.invalidInput)
        }
    }

    /// A signed note read from a file ('-': standard input).
    static func note(_ path: String, option: String) throws -> SignedNote {
        let handle: FileHandle
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let opened = FileHandle(forReadingAtPath: path) else {
                throw CLIError(
                    "\(option) \(path): \(FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")",
                    exitCode: CLIError.invalidInput)
            }
            handle = opened
        }
        // At most one byte past the limit is read: /dev/zero or an endless pipe takes no memory.
        let data: Data
        do { data = try handle.read(upToCount: (1 << 20) + 1) ?? Data() } catch {
            throw CLIError("\(option) \(path): cannot be read: \(error.localizedDescription)", exitCode: CLIError.invalidInput)
        }
        // A checkpoint is a few lines and at most 100 signatures: a file far larger is none.
        guard data.count <= 1 << 20 else {
            throw CLIError(
                "\(option) \(path): \(data.count) bytes, too large for a signed checkpoint", exitCode: CLIError.invalidInput)
        }
        do {
            return try SignedNote(parsing: Array(data))
        } catch {
            throw CLIError("\(path): not a signed checkpoint: \(error)", exitCode: CLIError.invalidInput)
        }
    }

    /// Writes `text` to `path` (refusing to replace a file unless `replacing`), or prints it.
    static func write(_ text: String, to path: String?, mode: mode_t = 0o644, replacing: Bool = true) throws {
        guard let path else {
            print(text, terminator: "")
            return
        }
        let flags = O_WRONLY | O_CREAT | (replacing ? O_TRUNC : O_EXCL)
        let fd = open(path, flags, mode)
        guard fd >= 0 else {
            throw CLIError(
                "\(path): \(errno == EEXIST ? "already exists; not replaced" : String(cString: strerror(errno)))",
                exitCode: errno == EEXIST ? CLIError.invalidInput : CLIError.storage)
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
        } catch {
            throw CLIError("\(path): cannot be written: \(error.localizedDescription)", exitCode: CLIError.storage)
        }
    }
}

extension Ledger {
    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make or show a checkpoint signing key (Ed25519, C2SP signed-note form).",
            subcommands: [KeyInit.self, KeyShow.self])
    }

    struct KeyInit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Make a signing key in a new file (mode 0600) and print its verifier key, the text others trust.",
            discussion: """
                The key is named after the ledger (its origin) unless --name says otherwise: a regulator's or an
                insurer's own key for cosigning gets a name of its own. Keep the file outside the ledger directory and
                give the verifier key to whoever checks your checkpoints.
                """)
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "The new key file (not replaced if it exists).") var output: String
        @Option(name: .long, help: "The key's name (default: the ledger's origin).") var name: String?

        func run() throws {
            let keyName: String
            if let name { keyName = name } else { keyName = try ledger.openStoreForReading().origin() }
            let key: NoteSignerKey
            do { key = try NoteSignerKey.generate(name: keyName) } catch {
                throw CLIError("--name \(keyName): \(error)", exitCode: CLIError.invalidInput)
            }
            try KeyFiles.write(key.encoded + "\n", to: output, mode: 0o600, replacing: false)
            print(key.verifierKey.encoded)
        }
    }

    struct KeyShow: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a key file's verifier key.")
        @Option(name: .long, help: "The signing key file (default: $LEDGER_SIGNING_KEY).") var key: String?
        func run() throws { print(try KeyFiles.load(try KeyFiles.path(key)).verifierKey.encoded) }
    }

    struct CheckpointCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Sign the ledger's head as a C2SP checkpoint, store it and print it; cosign or show one.",
            subcommands: [CheckpointSign.self, CheckpointCosign.self, CheckpointShow.self], defaultSubcommand: CheckpointSign.self
        )
    }

    struct CheckpointSign: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign",
            abstract: "Sign the current head (origin, size, Merkle root), store it in the ledger and print it.")
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "The signing key file (default: $LEDGER_SIGNING_KEY).") var key: String?
        @Option(name: .long, help: "Also write the checkpoint to this file.") var output: String?

        func run() throws {
            let signer = try KeyFiles.load(try KeyFiles.path(key))
            let store = try ledger.openStore()
            let note = try signCheckpoint(of: store, with: signer)
            if let output { try KeyFiles.write(note.text, to: output) }
            print(note.text, terminator: "")
        }
    }

    struct CheckpointCosign: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cosign",
            abstract: "Add your signature line to a checkpoint (a regulator, an insurer), after checking it.",
            discussion: """
                With --trust, the signatures already on it must verify against those keys; with --data-dir, the ledger
                there must be a consistent extension of it. The cosigned checkpoint goes to --output or standard output.
                """)
        @Option(name: .long, help: "Your signing key file (default: $LEDGER_SIGNING_KEY).") var key: String?
        @Argument(help: "The checkpoint file ('-': standard input).") var file: String
        @Option(name: .long, help: "Verifier keys the existing signatures must verify against (repeat).") var trust: [String] = []
        @Option(name: .long, help: "A ledger to check the checkpoint against.") var dataDir: String?
        @Option(name: .long, help: "Write the cosigned checkpoint here.") var output: String?

        func validate() throws {
            // A witness that checks nothing witnesses nothing.
            guard !trust.isEmpty || dataDir != nil else {
                throw ValidationError("give --trust (the keys already on it) or --data-dir (a ledger it must match), or both")
            }
        }

        func run() throws {
            let signer = try KeyFiles.load(try KeyFiles.path(key))
            let note = try KeyFiles.note(file, option: "checkpoint")
            let checkpoint: LedgerProofs.Checkpoint
            do { checkpoint = try LedgerProofs.Checkpoint(body: note.body) } catch {
                throw CLIError("\(file): \(error)", exitCode: CLIError.invalidInput)
            }
            if !trust.isEmpty {
                do { _ = try note.verify(trusting: try trust.map { try KeyFiles.verifierKey($0) }) } catch {
                    throw CLIError("\(file): \(error)", exitCode: CLIError.verifyFailed)
                }
            }
            if let dataDir, let problem = try EventStore.open(at: dataDir).consistencyProblem(with: checkpoint) {
                throw CLIError("\(file): \(problem)", exitCode: CLIError.verifyFailed)
            }
            try KeyFiles.write(note.cosigned(by: signer).text, to: output)
        }
    }

    struct CheckpointShow: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Print a stored checkpoint (the latest by default).")
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "The tree size of the checkpoint.") var size: UInt64?
        func run() throws {
            guard let note = try ledger.openStoreForReading().storedCheckpoint(size: size) else {
                throw CLIError(
                    "\(ledger.directory): no checkpoint\(size.map { " of \($0) events" } ?? "") stored (make one with `ledger checkpoint`)",
                    exitCode: CLIError.invalidInput)
            }
            print(note.text, terminator: "")
        }
    }
}

/// Signs the store's current head with `signer` and stores the checkpoint; the one already stored at that
/// size gets the new signature added.
func signCheckpoint(of store: EventStore, with signer: NoteSignerKey) throws -> SignedNote {
    let checkpoint = try store.currentCheckpoint()
    var note: SignedNote
    do { note = try checkpoint.signed(by: [signer]) } catch {
        throw CLIError("checkpoint: \(error)", exitCode: CLIError.invalidInput)
    }
    // The same checkpoint already stored: this key's line is added, or replaces one it had (never trusted as is).
    if let stored = try store.storedCheckpoint(size: checkpoint.size), stored.body == note.body {
        note = stored.cosigned(by: signer)
    }
    try store.storeCheckpoint(note)
    try store.rememberVerifierKey(signer.verifierKey)
    return note
}

extension Ledger {
    struct Prove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print a Merkle proof as JSON: an event's inclusion in a checkpoint, or one checkpoint's consistency with another.",
            usage: """
                ledger prove EVENT-ID|POSITION --checkpoint FILE
                ledger prove --from OLD-CHECKPOINT --to NEW-CHECKPOINT
                """,
            discussion: """
                The proof carries the signed checkpoint(s) and, for an inclusion, the event's canonical bytes: a regulator
                checks it offline with tools/verify_proofs.py and the ledger's verifier key (docs/verifying.md).
                """)
        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "The event: its id, its position (25 or #25) or a unique prefix of its id.") var event: String?
        @Option(name: .long, help: "The signed checkpoint the event must be in.") var checkpoint: String?
        @Option(name: .long, help: "The older signed checkpoint.") var from: String?
        @Option(name: .long, help: "The newer signed checkpoint.") var to: String?

        func validate() throws {
            let inclusion = event != nil || checkpoint != nil
            let consistency = from != nil || to != nil
            guard inclusion != consistency else {
                throw ValidationError("give EVENT --checkpoint FILE, or --from OLD --to NEW")
            }
            if inclusion, event == nil || checkpoint == nil {
                throw ValidationError("an inclusion proof needs EVENT and --checkpoint")
            }
            if consistency, from == nil || to == nil { throw ValidationError("a consistency proof needs --from and --to") }
        }

        func run() throws {
            let store = try ledger.openStoreForReading()
            if let event, let checkpoint {
                let (note, signed) = try checkpointOfThisLedger(checkpoint, option: "--checkpoint", in: store)
                let position = try position(of: event, in: store)
                guard position <= signed.size else {
                    throw CLIError(
                        "\(event): at position \(position), after the checkpoint's \(signed.size) events: sign a newer checkpoint",
                        exitCode: CLIError.invalidInput)
                }
                var leaf: [UInt8] = []
                _ = try store.scanLog(fromPosition: position, limit: 1) { _, canonical in leaf = Array(canonical) }
                let document = InclusionProofDocument(
                    treeSize: signed.size, leafIndex: position - 1, leafHash: MerkleTree.leafHash(leaf),
                    hashes: try store.inclusionProof(position: position, size: signed.size), checkpoint: note.text,
                    leaf: String(decoding: leaf, as: UTF8.self))
                print(document.json)
            } else if let from, let to {
                let (old, oldCheckpoint) = try checkpointOfThisLedger(from, option: "--from", in: store)
                let (new, newCheckpoint) = try checkpointOfThisLedger(to, option: "--to", in: store)
                guard oldCheckpoint.size <= newCheckpoint.size else {
                    throw CLIError(
                        "--from \(from): covers \(oldCheckpoint.size) events, more than --to's \(newCheckpoint.size)",
                        exitCode: CLIError.invalidInput)
                }
                let document = ConsistencyProofDocument(
                    oldSize: oldCheckpoint.size, newSize: newCheckpoint.size,
                    hashes: try store.consistencyProof(from: oldCheckpoint.size, to: newCheckpoint.size), old: old.text,
                    new: new.text)
                print(document.json)
            }
        }

        /// A checkpoint file that this ledger extends (a proof against any other would prove nothing).
        private func checkpointOfThisLedger(_ path: String, option: String, in store: EventStore) throws -> (
            SignedNote, LedgerProofs.Checkpoint
        ) {
            let note = try KeyFiles.note(path, option: option)
            let checkpoint: LedgerProofs.Checkpoint
            do { checkpoint = try LedgerProofs.Checkpoint(body: note.body) } catch {
                throw CLIError("\(option) \(path): \(error)", exitCode: CLIError.invalidInput)
            }
            if let problem = try store.consistencyProblem(with: checkpoint) {
                throw CLIError("\(option) \(path): \(problem)", exitCode: CLIError.verifyFailed)
            }
            return (note, checkpoint)
        }

        /// The event as `read --event-id` takes it: an id, a position (`25`, `#25`) or a unique prefix of an id.
        private func position(of text: String, in store: EventStore) throws -> UInt64 {
            if let digits = UInt64(text) {
                // A bare number of any length is a position here, as it always was.
                guard digits >= 1, digits <= (try store.lastPosition()) else {
                    throw CLIError("\(text): not an event id nor a position in the ledger", exitCode: CLIError.invalidInput)
                }
                return digits
            }
            let id: UUID
            do {
                id = try EventReference.resolve(text, field: "event", stream: nil, in: StoredEventDirectory(store: store))
            } catch {
                throw CLIError(error)
            }
            guard let position = try store.position(of: id) else {
                throw CLIError("\(text): no event has this id", exitCode: CLIError.invalidInput)
            }
            return position
        }
    }
}
