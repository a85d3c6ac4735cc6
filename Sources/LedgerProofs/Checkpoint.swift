/// A C2SP tlog-checkpoint: the body of a signed note committing to the log's Merkle tree at one size.
///
/// ```text
/// <origin>
/// <tree size, decimal>
/// <root hash, base64>
/// [extension lines]
/// ```
public struct Checkpoint: Hashable, Sendable {
    /// Which log this is the head of; the same for all of a ledger's checkpoints.
    public let origin: String
    /// How many leaves (events) the tree has.
    public let size: UInt64
    /// The tree's root at that size.
    public let root: MerkleHash
    /// Opaque lines after the root, each non-empty; the ledger writes one when a dataset set its clock.
    public let extensionLines: [String]

    /// A checkpoint of these values; refuses an origin or extension line a body cannot carry.
    public init(origin: String, size: UInt64, root: MerkleHash, extensionLines: [String] = []) throws(SignedNoteError) {
        if let problem = Self.lineProblem(origin, named: "the origin") { throw .malformedCheckpoint(problem) }
        for (offset, line) in extensionLines.enumerated() {
            if let problem = Self.lineProblem(line, named: "extension line \(offset + 1)") {
                throw .malformedCheckpoint(problem)
            }
        }
        self.origin = origin
        self.size = size
        self.root = root
        self.extensionLines = extensionLines
    }

    /// Reads a checkpoint from a note body, strictly: the body ends with a newline, has at least three
    /// lines and no empty one, the size is decimal without a leading zero, the root is 32 bytes of
    /// canonical base64.
    public init(body: String) throws(SignedNoteError) {
        if let problem = SignedNote.controlCharacterProblem(Array(body.utf8)) { throw .malformedCheckpoint(problem) }
        guard body.utf8.last == 0x0a else { throw .malformedCheckpoint("the text does not end with a newline") }
        let lines = splitBytes(body, at: 0x0a, maxSplits: Int.max).dropLast()
        guard lines.count >= 3 else {
            throw .malformedCheckpoint("it has \(lines.count) lines; a checkpoint has an origin, a size and a root")
        }
        let sizeText = lines[1]
        guard !sizeText.isEmpty, sizeText.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw .malformedCheckpoint("the tree size \"\(sizeText)\" is not a decimal number")
        }
        guard sizeText == "0" || !sizeText.hasPrefix("0") else {
            throw .malformedCheckpoint("the tree size \"\(sizeText)\" has a leading zero")
        }
        guard let size = UInt64(sizeText) else {
            throw .malformedCheckpoint("the tree size \(sizeText) is larger than any log")
        }
        guard let rootBytes = StrictBase64.decode(lines[2]) else {
            throw .malformedCheckpoint("the root hash \"\(lines[2])\" is not base64")
        }
        guard let root = MerkleHash(bytes: rootBytes) else {
            throw .malformedCheckpoint("the root hash is \(rootBytes.count) bytes, not 32")
        }
        try self.init(origin: lines[0], size: size, root: root, extensionLines: Array(lines.dropFirst(3)))
    }

    /// The note body.
    public var body: String {
        ([origin, String(size), root.base64] + extensionLines).map { $0 + "\n" }.joined()
    }

    /// A signed note of this checkpoint, signed by each of `signers`.
    public func signed(by signers: [NoteSignerKey]) throws(SignedNoteError) -> SignedNote {
        try SignedNote(signing: body, with: signers)
    }

    /// The checkpoint a signed note carries, after checking the note against the trusted keys (see
    /// ``SignedNote/verify(trusting:)``). Returns it with the trusted keys that signed.
    public static func verified(
        _ note: SignedNote, trusting trustedKeys: [NoteVerifierKey]
    ) throws(SignedNoteError) -> (checkpoint: Checkpoint, signers: [NoteVerifierKey]) {
        let checkpoint = try Checkpoint(body: note.body)
        let signers = try note.verify(trusting: trustedKeys)
        return (checkpoint, signers)
    }

    private static func lineProblem(_ line: String, named name: String) -> String? {
        if line.isEmpty { return "\(name) is empty" }
        if let control = line.unicodeScalars.first(where: { $0.value < 0x20 }) {
            return "\(name) contains the control character U+\(Hex.encode([0, UInt8(control.value)]).uppercased())"
        }
        return nil
    }
}
