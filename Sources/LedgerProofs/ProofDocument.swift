/// A value in a proof document: the document is one flat JSON object of these (docs/verifying-format.md).
public enum ProofDocumentValue: Hashable, Sendable {
    case string(String)
    case integer(UInt64)
    case strings([String])
}

/// One member of a proof document's JSON object.
public struct ProofDocumentField: Hashable, Sendable {
    public let name: String
    public let value: ProofDocumentValue

    public init(_ name: String, _ value: ProofDocumentValue) {
        self.name = name
        self.value = value
    }
}

/// Why a proof document was refused, naming the member.
public struct ProofDocumentError: Error, Equatable, CustomStringConvertible {
    public let reason: String

    package init(_ reason: String) { self.reason = reason }

    public var description: String { "malformed proof: \(reason)" }
}

/// An inclusion proof as `ledger prove EVENT-ID` prints it and tools/verify_proofs.py reads it: the
/// event's leaf is at `leafIndex` (its position - 1) in the tree the signed checkpoint commits to.
public struct InclusionProofDocument: Hashable, Sendable {
    public var treeSize: UInt64
    public var leafIndex: UInt64
    public var leafHash: MerkleHash
    /// RFC 9162 PATH, the sibling nearest the leaf first.
    public var hashes: [MerkleHash]
    /// The signed checkpoint's note text, at `treeSize`.
    public var checkpoint: String
    /// The leaf itself: the event's canonical bytes (UTF-8 JSON text), when the proof carries it.
    public var leaf: String?

    public init(
        treeSize: UInt64, leafIndex: UInt64, leafHash: MerkleHash, hashes: [MerkleHash], checkpoint: String,
        leaf: String? = nil
    ) {
        self.treeSize = treeSize
        self.leafIndex = leafIndex
        self.leafHash = leafHash
        self.hashes = hashes
        self.checkpoint = checkpoint
        self.leaf = leaf
    }

    /// The members, in the order the JSON writes them (sorted by name, as the ledger's canonical JSON).
    public var fields: [ProofDocumentField] {
        var fields = [
            ProofDocumentField("checkpoint", .string(checkpoint)),
            ProofDocumentField("hashes", .strings(hashes.map(\.base64))),
        ]
        if let leaf { fields.append(ProofDocumentField("leaf", .string(leaf))) }
        fields += [
            ProofDocumentField("leafHash", .string(leafHash.base64)),
            ProofDocumentField("leafIndex", .integer(leafIndex)),
            ProofDocumentField("treeSize", .integer(treeSize)),
            ProofDocumentField("type", .string("inclusion")),
        ]
        return fields
    }

    /// The document read back from its members, refusing a missing, unknown or ill-typed one.
    public init(fields: [String: ProofDocumentValue]) throws(ProofDocumentError) {
        var reader = try FieldReader(fields, type: "inclusion")
        treeSize = try reader.integer("treeSize")
        leafIndex = try reader.integer("leafIndex")
        leafHash = try reader.hash("leafHash")
        hashes = try reader.hashes("hashes")
        checkpoint = try reader.string("checkpoint")
        leaf = try reader.optionalString("leaf")
        try reader.refuseOthers()
    }

    /// The document as one line of JSON.
    public var json: String { ProofJSON.object(fields) }

    /// Checks everything the document claims: the checkpoint is signed by a trusted key and is at
    /// `treeSize`, the leaf (when given) has `leafHash`, and the path leads from it to the root.
    /// Returns the checkpoint and the trusted keys that signed it.
    @discardableResult
    public func verify(trusting trustedKeys: [NoteVerifierKey]) throws -> (checkpoint: Checkpoint, signers: [NoteVerifierKey]) {
        let (head, signers) = try Checkpoint.verified(SignedNote(parsing: checkpoint), trusting: trustedKeys)
        guard head.size == treeSize else {
            throw ProofDocumentError("treeSize is \(treeSize) but the checkpoint is at size \(head.size)")
        }
        if let leaf, MerkleTree.leafHash(Array(leaf.utf8)) != leafHash {
            throw ProofDocumentError("leafHash is not the hash of leaf")
        }
        try MerkleTree.verifyInclusion(
            leafHash: leafHash, leafIndex: leafIndex, treeSize: treeSize, proof: hashes, root: head.root)
        return (head, signers)
    }
}

/// A consistency proof as `ledger prove --from OLD --to NEW` prints it: the tree of the new checkpoint
/// extends that of the old one.
public struct ConsistencyProofDocument: Hashable, Sendable {
    public var oldSize: UInt64
    public var newSize: UInt64
    /// RFC 9162 PROOF(oldSize, D[newSize]).
    public var hashes: [MerkleHash]
    /// The older signed checkpoint's note text.
    public var old: String
    /// The newer signed checkpoint's note text.
    public var new: String

    public init(oldSize: UInt64, newSize: UInt64, hashes: [MerkleHash], old: String, new: String) {
        self.oldSize = oldSize
        self.newSize = newSize
        self.hashes = hashes
        self.old = old
        self.new = new
    }

    public var fields: [ProofDocumentField] {
        [
            ProofDocumentField("hashes", .strings(hashes.map(\.base64))),
            ProofDocumentField("new", .string(new)),
            ProofDocumentField("newSize", .integer(newSize)),
            ProofDocumentField("old", .string(old)),
            ProofDocumentField("oldSize", .integer(oldSize)),
            ProofDocumentField("type", .string("consistency")),
        ]
    }

    public init(fields: [String: ProofDocumentValue]) throws(ProofDocumentError) {
        var reader = try FieldReader(fields, type: "consistency")
        oldSize = try reader.integer("oldSize")
        newSize = try reader.integer("newSize")
        hashes = try reader.hashes("hashes")
        old = try reader.string("old")
        new = try reader.string("new")
        try reader.refuseOthers()
    }

    public var json: String { ProofJSON.object(fields) }

    /// Checks both checkpoints' signatures against the trusted keys, that their sizes are `oldSize` and
    /// `newSize`, that both name the same log, and that the proof leads from the old root to the new.
    @discardableResult
    public func verify(trusting trustedKeys: [NoteVerifierKey]) throws -> (old: Checkpoint, new: Checkpoint) {
        let (oldHead, _) = try Checkpoint.verified(SignedNote(parsing: old), trusting: trustedKeys)
        let (newHead, _) = try Checkpoint.verified(SignedNote(parsing: new), trusting: trustedKeys)
        guard oldHead.size == oldSize else {
            throw ProofDocumentError("oldSize is \(oldSize) but the old checkpoint is at size \(oldHead.size)")
        }
        guard newHead.size == newSize else {
            throw ProofDocumentError("newSize is \(newSize) but the new checkpoint is at size \(newHead.size)")
        }
        guard oldHead.origin.utf8.elementsEqual(newHead.origin.utf8) else {
            throw ProofDocumentError("the checkpoints are of two logs, \(oldHead.origin) and \(newHead.origin)")
        }
        try MerkleTree.verifyConsistency(
            oldSize: oldSize, newSize: newSize, oldRoot: oldHead.root, newRoot: newHead.root, proof: hashes)
        return (oldHead, newHead)
    }
}

/// Reads a document's members once each, so that what is left over can be refused.
private struct FieldReader {
    private var remaining: [String: ProofDocumentValue]

    init(_ fields: [String: ProofDocumentValue], type: String) throws(ProofDocumentError) {
        remaining = fields
        guard case .string(let stated)? = remaining.removeValue(forKey: "type") else {
            throw ProofDocumentError("type is missing or not a string")
        }
        guard stated == type else { throw ProofDocumentError("type is \"\(stated)\", not \"\(type)\"") }
    }

    mutating func integer(_ name: String) throws(ProofDocumentError) -> UInt64 {
        guard case .integer(let value)? = remaining.removeValue(forKey: name) else {
            throw ProofDocumentError("\(name) is missing or not a non-negative integer")
        }
        return value
    }

    mutating func string(_ name: String) throws(ProofDocumentError) -> String {
        guard let value = try optionalString(name) else { throw ProofDocumentError("\(name) is missing") }
        return value
    }

    mutating func optionalString(_ name: String) throws(ProofDocumentError) -> String? {
        switch remaining.removeValue(forKey: name) {
        case nil: return nil
        case .string(let value)?: return value
        default: throw ProofDocumentError("\(name) is not a string")
        }
    }

    mutating func hash(_ name: String) throws(ProofDocumentError) -> MerkleHash {
        guard let hash = MerkleHash(base64: try string(name)) else {
            throw ProofDocumentError("\(name) is not 32 bytes in base64")
        }
        return hash
    }

    mutating func hashes(_ name: String) throws(ProofDocumentError) -> [MerkleHash] {
        guard case .strings(let values)? = remaining.removeValue(forKey: name) else {
            throw ProofDocumentError("\(name) is missing or not an array of strings")
        }
        var hashes: [MerkleHash] = []
        for (offset, value) in values.enumerated() {
            guard let hash = MerkleHash(base64: value) else {
                throw ProofDocumentError("\(name)[\(offset)] is not 32 bytes in base64")
            }
            hashes.append(hash)
        }
        return hashes
    }

    func refuseOthers() throws(ProofDocumentError) {
        if let unknown = remaining.keys.sorted().first { throw ProofDocumentError("unknown member \(unknown)") }
    }
}

/// The JSON spelling of a document: one object, no white space, strings escaped as the ledger's
/// canonical JSON escapes them (`"`, `\`, control characters; nothing else).
enum ProofJSON {
    static func object(_ fields: [ProofDocumentField]) -> String {
        "{" + fields.map { string($0.name) + ":" + value($0.value) }.joined(separator: ",") + "}"
    }

    private static func value(_ value: ProofDocumentValue) -> String {
        switch value {
        case .string(let text): string(text)
        case .integer(let number): String(number)
        case .strings(let texts): "[" + texts.map(string).joined(separator: ",") + "]"
        }
    }

    private static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += "\\u00" + Hex.encode([UInt8(scalar.value)])
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
