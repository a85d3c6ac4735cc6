import Crypto
import EventStore
import Foundation
import LedgerProofs
import LedgerTestSupport
import PropertyBased
import Testing

/// Proofs made in Swift, written in the documented JSON (docs/verifying-format.md) and checked by
/// tools/verify_proofs.py, which shares no code with us: random trees verify, tampered ones are refused.
@Suite("Proof documents checked by the standalone Python verifier")
struct PythonVerifierTests {
    static let origin = "ledger.example/chu-nantes"
    static let log = try! NoteSignerKey.generate(name: origin)
    static let regulator = try! NoteSignerKey.generate(name: "cnil.example/witness")

    /// What a run of the verifier printed and how it ended.
    struct VerifierRun {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs tools/verify_proofs.py with `arguments`.
    static func verifier(_ arguments: [String]) throws -> VerifierRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", packageRoot() + "/tools/verify_proofs.py"] + arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Standard output to its end first; the error output is one line, well within a pipe's buffer.
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return VerifierRun(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self))
    }

    static func keyArguments(_ keys: [NoteSignerKey]) -> [String] {
        keys.flatMap { ["--key", $0.verifierKey.encoded] }
    }

    /// A signed checkpoint of the first `size` leaves of `store`.
    static func checkpoint(_ store: MemorySubtreeStore, size: UInt64, signers: [NoteSignerKey]) throws -> String {
        try Checkpoint(origin: origin, size: size, root: MerkleTree.root(ofSize: size, in: store)).signed(by: signers).text
    }

    static func write(_ text: String, _ name: String, in dir: TemporaryDirectory) throws -> String {
        let path = dir.path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func randomTreesProofsVerifyInPython() async throws {
        await propertyCheck(count: 3, input: Gen.int(in: 1...300).array(of: 8...12), Gen.int(in: 0...1_000_000)) {
            sizes, pick in
            let dir = TemporaryDirectory()
            try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
            var inclusions: [String] = []
            var consistencies: [String] = []
            var checkpoints: [String] = []
            for (number, size) in sizes.enumerated() {
                let leaves = sampleLeaves(size, seed: pick + number)
                let store = MemorySubtreeStore(leaves: leaves)
                let n = UInt64(size)
                let index = UInt64((pick + number) % size)
                let old = UInt64((pick / 7 + number) % (size + 1))
                let head = try Self.checkpoint(store, size: n, signers: [Self.log, Self.regulator])
                let inclusion = InclusionProofDocument(
                    treeSize: n, leafIndex: index, leafHash: MerkleTree.leafHash(leaves[Int(index)]),
                    hashes: try MerkleTree.inclusionProof(leafIndex: index, treeSize: n, in: store), checkpoint: head,
                    leaf: number % 2 == 0 ? String(decoding: leaves[Int(index)], as: UTF8.self) : nil)
                try inclusion.verify(trusting: [Self.log.verifierKey])
                let consistency = ConsistencyProofDocument(
                    oldSize: old, newSize: n, hashes: try MerkleTree.consistencyProof(from: old, to: n, in: store),
                    old: try Self.checkpoint(store, size: old, signers: [Self.log]), new: head)
                try consistency.verify(trusting: [Self.log.verifierKey])
                inclusions.append(try Self.write(inclusion.json, "inclusion-\(number).json", in: dir))
                consistencies.append(try Self.write(consistency.json, "consistency-\(number).json", in: dir))
                checkpoints.append(try Self.write(head, "checkpoint-\(number).txt", in: dir))
            }
            for (kind, files) in [("inclusion", inclusions), ("consistency", consistencies), ("checkpoint", checkpoints)] {
                let result = try Self.verifier([kind] + Self.keyArguments([Self.log]) + files)
                #expect(result.status == 0, "\(kind): \(result.stderr)")
                #expect(result.stdout.split(separator: "\n").count == files.count, "\(result.stdout)")
            }
            // The regulator's key alone is enough for the cosigned checkpoints, and names it.
            let cosigned = try Self.verifier(["checkpoint"] + Self.keyArguments([Self.regulator]) + checkpoints)
            #expect(cosigned.status == 0, "\(cosigned.stderr)")
            #expect(cosigned.stdout.contains("signed by \(Self.regulator.name)+"))
        }
    }

    @Test func tamperedDocumentsAreRefusedByPythonNamingWhat() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let leaves = sampleLeaves(77, seed: 3)
        let store = MemorySubtreeStore(leaves: leaves)
        let head = try Self.checkpoint(store, size: 77, signers: [Self.log])
        let proof = InclusionProofDocument(
            treeSize: 77, leafIndex: 40, leafHash: MerkleTree.leafHash(leaves[40]),
            hashes: try MerkleTree.inclusionProof(leafIndex: 40, treeSize: 77, in: store), checkpoint: head,
            leaf: String(decoding: leaves[40], as: UTF8.self))
        let consistency = ConsistencyProofDocument(
            oldSize: 50, newSize: 77, hashes: try MerkleTree.consistencyProof(from: 50, to: 77, in: store),
            old: try Self.checkpoint(store, size: 50, signers: [Self.log]), new: head)
        let good = [
            try Self.verifier(["inclusion"] + Self.keyArguments([Self.log]) + [Self.write(proof.json, "good.json", in: dir)]),
            try Self.verifier(
                ["consistency"] + Self.keyArguments([Self.log]) + [Self.write(consistency.json, "c.json", in: dir)]),
        ]
        for result in good { #expect(result.status == 0, "\(result.stderr)") }

        // A log that rewrote leaf 10 after the old checkpoint, and signed its new head.
        var rewritten = leaves
        rewritten[10] = Array("{\"rewritten\":true}".utf8)
        let rewrittenStore = MemorySubtreeStore(leaves: rewritten)
        var forkedConsistency = consistency
        forkedConsistency.new = try Self.checkpoint(rewrittenStore, size: 77, signers: [Self.log])
        forkedConsistency.hashes = try MerkleTree.consistencyProof(from: 50, to: 77, in: rewrittenStore)

        var changedHash = proof
        changedHash.hashes[2] = flipped(proof.hashes[2])
        var changedIndex = proof
        changedIndex.leafIndex = 41
        var changedLeaf = proof
        changedLeaf.leaf = proof.leaf! + " "
        var unleafedChange = proof
        unleafedChange.leaf = nil
        unleafedChange.leafHash = MerkleTree.leafHash(leaves[41])
        var changedSize = proof
        changedSize.treeSize = 78
        var forgedHead = proof
        forgedHead.checkpoint = head.replacingOccurrences(of: "\n77\n", with: "\n78\n")
        var untrustedHead = proof
        untrustedHead.checkpoint = try Self.checkpoint(store, size: 77, signers: [Self.regulator])
        var shortProof = proof
        shortProof.hashes.removeLast()
        var changedOldSize = consistency
        changedOldSize.oldSize = 49

        let refused: [(name: String, kind: String, json: String, reason: String)] = [
            ("changed proof hash", "inclusion", changedHash.json, "misses the root"),
            ("another leaf index", "inclusion", changedIndex.json, "misses the root"),
            ("changed leaf", "inclusion", changedLeaf.json, "leafHash is not the leaf's"),
            ("another leaf's hash", "inclusion", unleafedChange.json, "misses the root"),
            ("wrong tree size", "inclusion", changedSize.json, "is not in the checkpoint"),
            ("forged checkpoint", "inclusion", forgedHead.json, "does not verify"),
            ("checkpoint by an untrusted key", "inclusion", untrustedHead.json, "no signature from a trusted key"),
            ("proof cut short", "inclusion", shortProof.json, "fewer hashes"),
            ("rewritten log", "consistency", forkedConsistency.json, "not a consistent extension"),
            ("wrong old size", "consistency", changedOldSize.json, "not of one log at oldSize"),
            ("wrong type", "consistency", proof.json, "not 'consistency'"),
            ("not JSON", "inclusion", "{\"type\": \"inclusion\",", "malformed input"),
        ]
        for (number, tamper) in refused.enumerated() {
            let path = try Self.write(tamper.json, "tampered-\(number).json", in: dir)
            let result = try Self.verifier([tamper.kind] + Self.keyArguments([Self.log]) + [path])
            #expect(result.status == 1, "\(tamper.name) was not refused: \(result.stdout)")
            #expect(result.stderr.contains(path) && result.stderr.contains(tamper.reason), "\(tamper.name): \(result.stderr)")
            // The Swift side refuses it too.
            let fields = try? fieldsOf(tamper.json)
            if tamper.kind == "inclusion", let fields, let document = try? InclusionProofDocument(fields: fields) {
                #expect(throws: (any Error).self, "\(tamper.name)") { try document.verify(trusting: [Self.log.verifierKey]) }
            }
            if tamper.kind == "consistency", let fields, let document = try? ConsistencyProofDocument(fields: fields) {
                #expect(throws: (any Error).self, "\(tamper.name)") { try document.verify(trusting: [Self.log.verifierKey]) }
            }
        }
        // A malformed trusted key is a usage problem named as such.
        let badKey = try Self.verifier(["checkpoint", "--key", "x+00000000+AA==", try Self.write(head, "h.txt", in: dir)])
        #expect(badKey.status == 1 && badKey.stderr.contains("--key"), "\(badKey.stderr)")
    }

    @Test func theEventLineItselfIsCheckedAsTheLeaf() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        // Events as the ledger exports them: the leaf is the canonical JSON without "hash".
        let events: [JSONValue] = (1...9).map { position in
            .object([
                "position": .number(JSONNumber(position)), "eventType": .string("note.added"),
                "payload": .object(["text": .string("réseau coupé \(position)")]),
            ])
        }
        let leaves = events.map { CanonicalJSON.encode($0) }
        let store = MemorySubtreeStore(leaves: leaves)
        let proof = InclusionProofDocument(
            treeSize: 9, leafIndex: 4, leafHash: MerkleTree.leafHash(leaves[4]),
            hashes: try MerkleTree.inclusionProof(leafIndex: 4, treeSize: 9, in: store),
            checkpoint: try Self.checkpoint(store, size: 9, signers: [Self.log]),
            leaf: String(decoding: leaves[4], as: UTF8.self))
        let proofPath = try Self.write(proof.json, "proof.json", in: dir)

        func exported(_ event: JSONValue) -> String {
            guard case .object(var members) = event else { return "" }
            members["hash"] = .string(sha256Hex(CanonicalJSON.encode(event)))
            return CanonicalJSON.string(.object(members)) + "\n"
        }
        let good = try Self.verifier(
            ["inclusion", "--event", Self.write(exported(events[4]), "event.ndjson", in: dir)] + Self.keyArguments([Self.log])
                + [proofPath])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(!good.stdout.contains("its hash only"))

        // Another event, with a hash that matches its own bytes: not this leaf.
        let other = try Self.verifier(
            ["inclusion", "--event", Self.write(exported(events[5]), "other.ndjson", in: dir)] + Self.keyArguments([Self.log])
                + [proofPath])
        #expect(other.status == 1 && other.stderr.contains("the proof's leaf is not this event"), "\(other.stderr)")
        // The right event with its text changed and the stated hash kept.
        let line = exported(events[4]).replacingOccurrences(of: "coupé", with: "rétabli")
        let edited = try Self.verifier(
            ["inclusion", "--event", Self.write(line, "edited.ndjson", in: dir)] + Self.keyArguments([Self.log]) + [proofPath])
        #expect(edited.status == 1 && edited.stderr.contains("the proof's leaf is not this event"), "\(edited.stderr)")
        // The right event with another stated hash.
        let rehashed = exported(events[4]).replacingOccurrences(of: #""hash":""#, with: #""hash":"0"#)
        let wrongHash = try Self.verifier(
            ["inclusion", "--event", Self.write(rehashed, "rehashed.ndjson", in: dir)] + Self.keyArguments([Self.log]) + [proofPath])
        #expect(wrongHash.status == 1 && wrongHash.stderr.contains("the event's hash is not that of its bytes"), "\(wrongHash.stderr)")
        // Python's == takes 5.0 for 5 and true for 1: the verifier keeps JSON types apart, and refuses duplicate keys.
        for (name, line, reason) in [
            ("float", exported(events[4]).replacingOccurrences(of: #""position":5"#, with: #""position":5.0"#), "the proof's leaf is not this event"),
            ("duplicate", exported(events[4]).replacingOccurrences(of: #"{"#, with: #"{"position":5,"#), "a duplicate key"),
        ] {
            let run = try Self.verifier(
                ["inclusion", "--event", Self.write(line, "\(name).ndjson", in: dir)] + Self.keyArguments([Self.log]) + [proofPath])
            #expect(run.status == 1 && run.stderr.contains(reason), "\(name): \(run.stderr)")
        }
    }

    /// The verifier stays short enough to read whole, and imports only the standard library and
    /// `cryptography`: nothing of ours, so checking with it does not mean trusting us.
    @Test func theVerifierIsShortAndImportsNothingOfOurs() throws {
        let source = try String(contentsOfFile: packageRoot() + "/tools/verify_proofs.py", encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count < 150, "\(lines.count) lines")
        let imports = lines.filter { $0.hasPrefix("import ") || $0.hasPrefix("from ") || $0.contains(" import ") }
        let standard: Set = ["argparse", "base64", "binascii", "hashlib", "json", "sys"]
        for line in imports {
            let modules =
                line.hasPrefix("from ")
                ? [String(line.split(separator: " ")[1].split(separator: ".")[0])]
                : line.dropFirst("import ".count).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for module in modules { #expect(standard.contains(module) || module == "cryptography", "\(line)") }
        }
        #expect(imports.count == 3)
    }

    @Test func documentsRoundTripThroughTheLedgersJSONInItsCanonicalSpelling() throws {
        let leaves = sampleLeaves(13, seed: 9)
        let store = MemorySubtreeStore(leaves: leaves)
        let head = try Self.checkpoint(store, size: 13, signers: [Self.log, Self.regulator])
        let inclusion = InclusionProofDocument(
            treeSize: 13, leafIndex: 12, leafHash: MerkleTree.leafHash(leaves[12]),
            hashes: try MerkleTree.inclusionProof(leafIndex: 12, treeSize: 13, in: store), checkpoint: head,
            leaf: String(decoding: leaves[12], as: UTF8.self))
        let consistency = ConsistencyProofDocument(
            oldSize: 0, newSize: 13, hashes: [], old: try Self.checkpoint(store, size: 0, signers: [Self.log]), new: head)

        // The CLI will print the members with the ledger's canonical JSON: the same text as `json`.
        #expect(CanonicalJSON.string(jsonValue(inclusion.fields)) == inclusion.json)
        #expect(CanonicalJSON.string(jsonValue(consistency.fields)) == consistency.json)
        #expect(try InclusionProofDocument(fields: fieldsOf(inclusion.json)) == inclusion)
        #expect(try ConsistencyProofDocument(fields: fieldsOf(consistency.json)) == consistency)
        try consistency.verify(trusting: [Self.regulator.verifierKey, Self.log.verifierKey])

        var fields = try fieldsOf(inclusion.json)
        fields["extra"] = .string("x")
        #expect(throws: ProofDocumentError("unknown member extra")) { try InclusionProofDocument(fields: fields) }
        fields["extra"] = nil
        fields["hashes"] = .strings(["AAAA"])
        #expect(throws: ProofDocumentError("hashes[0] is not 32 bytes in base64")) { try InclusionProofDocument(fields: fields) }
        fields["hashes"] = nil
        #expect(throws: ProofDocumentError("hashes is missing or not an array of strings")) {
            try InclusionProofDocument(fields: fields)
        }
        #expect(throws: ProofDocumentError("type is \"inclusion\", not \"consistency\"")) {
            try ConsistencyProofDocument(fields: fieldsOf(inclusion.json))
        }
    }
}

/// The members of a proof document's JSON, read with the ledger's parser as the CLI will.
func fieldsOf(_ json: String) throws -> [String: ProofDocumentValue] {
    guard case .object(let members) = try JSONParser.parse(json) else { throw ProofDocumentError("not an object") }
    return try members.mapValues { value in
        switch value {
        case .string(let text): return .string(text)
        case .number(let number):
            guard let integer = UInt64(number.text) else { throw ProofDocumentError("\(number.text) is not a count") }
            return .integer(integer)
        case .array(let elements):
            return .strings(
                try elements.map { element in
                    guard case .string(let text) = element else { throw ProofDocumentError("not a string") }
                    return text
                })
        default: throw ProofDocumentError("unexpected \(value.typeName)")
        }
    }
}

/// A document's members as the ledger's JSON value.
func jsonValue(_ fields: [ProofDocumentField]) -> JSONValue {
    .object(
        Dictionary(
            uniqueKeysWithValues: fields.map { field in
                let value: JSONValue =
                    switch field.value {
                    case .string(let text): .string(text)
                    case .integer(let number): .number(JSONNumber(number))
                    case .strings(let texts): .array(texts.map { .string($0) })
                    }
                return (field.name, value)
            }))
}

/// Lowercase hex SHA-256, as the ledger spells an event's hash.
func sha256Hex(_ bytes: [UInt8]) -> String {
    MerkleHash(bytes: Array(SHA256.hash(data: bytes)))!.hex
}
