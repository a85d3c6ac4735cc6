import Crypto
import Foundation

/// Why a signed note, a key or a checkpoint was refused: one line naming what and why.
public enum SignedNoteError: Error, Equatable, CustomStringConvertible {
    /// The note's text breaks the signed-note format.
    case malformedNote(String)
    /// A signer or verifier key string is not well formed, or its key hash does not match the key.
    case malformedKey(String)
    /// The note's body is not a well-formed checkpoint.
    case malformedCheckpoint(String)
    /// A signature line from a trusted key does not verify over the body.
    case invalidSignature(keyName: String, keyID: UInt32)
    /// No signature line comes from a trusted key; `signers` names those that were there.
    case noTrustedSignature(signers: [String])
    /// Two different trusted keys share a name and key ID, so a signature line could be either's.
    case ambiguousTrustedKey(keyName: String, keyID: UInt32)

    public var description: String {
        switch self {
        case .malformedNote(let reason): "malformed signed note: \(reason)"
        case .malformedKey(let reason): "malformed key: \(reason)"
        case .malformedCheckpoint(let reason): "malformed checkpoint: \(reason)"
        case .invalidSignature(let keyName, let keyID):
            "the signature by trusted key \(keyName)+\(KeyID.hex(keyID)) does not verify: the note was changed or forged"
        case .noTrustedSignature(let signers):
            signers.isEmpty
                ? "no signature from a trusted key"
                : "no signature from a trusted key (signed by \(signers.joined(separator: ", ")))"
        case .ambiguousTrustedKey(let keyName, let keyID):
            "two different trusted keys are named \(keyName)+\(KeyID.hex(keyID))"
        }
    }
}

/// The C2SP signed-note key ID: the first four bytes, big-endian, of
/// SHA-256(name ‖ 0x0A ‖ signature type ‖ public key).
enum KeyID {
    static let ed25519Type: UInt8 = 0x01

    static func of(name: String, publicKey: [UInt8]) -> UInt32 {
        var hasher = SHA256()
        hasher.update(data: Array(name.utf8) + [0x0a, ed25519Type] + publicKey)
        return Array(hasher.finalize()).prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func hex(_ id: UInt32) -> String { Hex.encode(bytes(id)) }

    static func bytes(_ id: UInt32) -> [UInt8] {
        [UInt8(id >> 24), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff)]
    }

    /// Exactly 8 lowercase hex digits, as the key strings spell the ID.
    static func parse(_ text: String) -> UInt32? {
        guard text.utf8.count == 8, let bytes = Hex.decode(text) else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// `text` cut at each `separator` byte, at most `maxSplits` times, empty fields kept. Bytes, not
/// characters, so that a combining mark after a separator cannot hide it.
func splitBytes(_ text: String, at separator: UInt8, maxSplits: Int) -> [String] {
    text.utf8.split(separator: separator, maxSplits: maxSplits, omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
}

/// The signed-note rule for key names: non-empty, no Unicode space, no `+` (which separates the fields
/// of a key string), and no control character (a note cannot carry one).
func keyNameProblem(_ name: some StringProtocol) -> String? {
    if name.isEmpty { return "the key name is empty" }
    for scalar in name.unicodeScalars {
        if scalar == "+" { return "the key name \"\(name)\" contains '+'" }
        if scalar.properties.isWhitespace { return "the key name \"\(name)\" contains a space" }
        if scalar.value < 0x20 { return "the key name contains a control character" }
    }
    return nil
}

/// The public half of an Ed25519 note key, in the signed-note verifier key form
/// `<name>+<key ID hex8>+<base64(0x01 ‖ public key)>`: what a party trusts to check signatures.
public struct NoteVerifierKey: Hashable, Sendable, CustomStringConvertible {
    /// The key's name, which its signature lines carry (often the log's origin).
    public let name: String
    /// The four bytes that tell this key's signatures from those of other keys with the same name.
    public let keyID: UInt32
    /// The 32-byte Ed25519 public key.
    public let publicKey: [UInt8]

    /// The verifier key for `publicKey` under `name`.
    public init(name: String, publicKey: [UInt8]) throws(SignedNoteError) {
        if let problem = keyNameProblem(name) { throw .malformedKey(problem) }
        guard publicKey.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)) != nil else {
            throw .malformedKey("an Ed25519 public key is 32 bytes, not \(publicKey.count)")
        }
        self.name = name
        self.publicKey = publicKey
        self.keyID = KeyID.of(name: name, publicKey: publicKey)
    }

    /// Reads a verifier key string; refuses it unless every field is well formed and the key ID is the
    /// one the name and key give.
    public init(encoded: String) throws(SignedNoteError) {
        let fields = splitBytes(encoded, at: UInt8(ascii: "+"), maxSplits: 2)
        guard fields.count == 3 else { throw .malformedKey("a verifier key is <name>+<key ID>+<key>") }
        if let problem = keyNameProblem(fields[0]) { throw .malformedKey(problem) }
        guard let statedID = KeyID.parse(fields[1]) else {
            throw .malformedKey("the key ID \"\(fields[1])\" of \(fields[0]) is not 8 lowercase hex digits")
        }
        guard let keyData = StrictBase64.decode(fields[2]) else {
            throw .malformedKey("the key data of \(fields[0]) is not base64")
        }
        guard keyData.first == KeyID.ed25519Type else {
            throw .malformedKey("the key of \(fields[0]) is not of type 0x01 (Ed25519)")
        }
        guard keyData.count == 33 else { throw .malformedKey("the Ed25519 key of \(fields[0]) is not 32 bytes") }
        try self.init(name: fields[0], publicKey: Array(keyData.dropFirst()))
        guard keyID == statedID else {
            throw .malformedKey("the key ID \(fields[1]) of \(fields[0]) does not match its key (\(KeyID.hex(keyID)))")
        }
    }

    /// The verifier key string.
    public var encoded: String {
        "\(name)+\(KeyID.hex(keyID))+\(StrictBase64.encode([KeyID.ed25519Type] + publicKey))"
    }

    public var description: String { encoded }

    /// Whether `signature` (the bytes after the key ID) is this key's Ed25519 signature of `body`.
    public func isValidSignature(_ signature: [UInt8], of body: String) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return signature.count == 64 && key.isValidSignature(signature, for: Array(body.utf8))
    }
}

/// The private half of an Ed25519 note key, in the signed-note signer key form
/// `PRIVATE+KEY+<name>+<key ID hex8>+<base64(0x01 ‖ seed)>`. Whoever holds the string can sign.
public struct NoteSignerKey: Sendable {
    public let name: String
    public let keyID: UInt32
    private let seed: [UInt8]
    private let publicKey: [UInt8]

    /// A new random key named `name`.
    public static func generate(name: String) throws(SignedNoteError) -> NoteSignerKey {
        try NoteSignerKey(name: name, seed: Array(Curve25519.Signing.PrivateKey().rawRepresentation))
    }

    /// The key with this 32-byte Ed25519 seed (RFC 8032's private key).
    public init(name: String, seed: [UInt8]) throws(SignedNoteError) {
        if let problem = keyNameProblem(name) { throw .malformedKey(problem) }
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw .malformedKey("an Ed25519 private key is a 32-byte seed, not \(seed.count) bytes")
        }
        self.name = name
        self.seed = seed
        self.publicKey = Array(key.publicKey.rawRepresentation)
        self.keyID = KeyID.of(name: name, publicKey: publicKey)
    }

    /// Reads a signer key string; refuses it unless every field is well formed and the key ID is the one
    /// the name and the derived public key give.
    public init(encoded: String) throws(SignedNoteError) {
        let fields = splitBytes(encoded, at: UInt8(ascii: "+"), maxSplits: 4)
        guard fields.count == 5, fields[0] == "PRIVATE", fields[1] == "KEY" else {
            throw .malformedKey("a signer key is PRIVATE+KEY+<name>+<key ID>+<key>")
        }
        if let problem = keyNameProblem(fields[2]) { throw .malformedKey(problem) }
        guard let statedID = KeyID.parse(fields[3]) else {
            throw .malformedKey("the key ID \"\(fields[3])\" of \(fields[2]) is not 8 lowercase hex digits")
        }
        guard let keyData = StrictBase64.decode(fields[4]) else {
            throw .malformedKey("the key data of \(fields[2]) is not base64")
        }
        guard keyData.first == KeyID.ed25519Type else {
            throw .malformedKey("the key of \(fields[2]) is not of type 0x01 (Ed25519)")
        }
        guard keyData.count == 33 else { throw .malformedKey("the Ed25519 seed of \(fields[2]) is not 32 bytes") }
        try self.init(name: fields[2], seed: Array(keyData.dropFirst()))
        guard keyID == statedID else {
            throw .malformedKey("the key ID \(fields[3]) of \(fields[2]) does not match its key (\(KeyID.hex(keyID)))")
        }
    }

    /// The signer key string: a secret, for a 0600 file.
    public var encoded: String {
        "PRIVATE+KEY+\(name)+\(KeyID.hex(keyID))+\(StrictBase64.encode([KeyID.ed25519Type] + seed))"
    }

    /// The verifier key others use to check this key's signatures.
    public var verifierKey: NoteVerifierKey {
        // Built from a key already checked: cannot fail.
        try! NoteVerifierKey(name: name, publicKey: publicKey)
    }

    /// This key's signature of `body`, as a note carries it.
    public func signature(of body: String) -> NoteSignature {
        let key = try! Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        let signature = try! key.signature(for: Array(body.utf8))
        return NoteSignature(keyName: name, keyID: keyID, signature: Array(signature))
    }
}

/// One signature line of a note: `— <key name> <base64(key ID ‖ signature)>`.
public struct NoteSignature: Hashable, Sendable {
    public let keyName: String
    public let keyID: UInt32
    /// The signature proper, without the key ID.
    public let signature: [UInt8]

    public init(keyName: String, keyID: UInt32, signature: [UInt8]) {
        self.keyName = keyName
        self.keyID = keyID
        self.signature = signature
    }

    /// The line, without its newline. The dash is U+2014 EM DASH.
    public var line: String {
        "\u{2014} \(keyName) \(StrictBase64.encode(KeyID.bytes(keyID) + signature))"
    }

    /// Who signed, as the verifier key string's first two fields spell it.
    public var signer: String { "\(keyName)+\(KeyID.hex(keyID))" }
}

/// A C2SP signed note: a body of text ending in a newline, a blank line, and one or more signature lines,
/// each over the body.
public struct SignedNote: Hashable, Sendable {
    /// Go's sumdb/note stops there too; the spec asks verifiers to accept at least 16.
    public static let maximumSignatures = 100

    /// The signed text, final newline included.
    public let body: String
    /// The signature lines, in order.
    public let signatures: [NoteSignature]

    /// A note of `body` signed by each of `signers`.
    public init(signing body: String, with signers: [NoteSignerKey]) throws(SignedNoteError) {
        if let problem = Self.bodyProblem(body) { throw .malformedNote(problem) }
        guard !signers.isEmpty else { throw .malformedNote("a note needs at least one signature") }
        self.body = body
        self.signatures = signers.map { $0.signature(of: body) }
    }

    /// Reads a signed note from its bytes, refusing anything the format does not allow.
    public init(parsing bytes: some Collection<UInt8>) throws(SignedNoteError) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformedNote("it is not valid UTF-8") }
        try self.init(parsing: text)
    }

    /// Reads a signed note from its text, refusing anything the format does not allow.
    public init(parsing text: String) throws(SignedNoteError) {
        let utf8 = Array(text.utf8)
        if let problem = Self.controlCharacterProblem(utf8) { throw .malformedNote(problem) }
        // The body ends at the last blank line: the body may hold blank lines, the signatures cannot.
        guard let split = Self.lastBlankLine(utf8) else {
            throw .malformedNote("there is no blank line between the text and the signatures")
        }
        let body = String(decoding: utf8[..<(split + 1)], as: UTF8.self)
        let block = utf8[(split + 2)...]
        guard !block.isEmpty else { throw .malformedNote("there is no signature line after the blank line") }
        guard block.last == 0x0a else { throw .malformedNote("the last signature line does not end with a newline") }
        let lines = block.dropLast().split(separator: 0x0a, omittingEmptySubsequences: false)
        guard lines.count <= Self.maximumSignatures else {
            throw .malformedNote("it has \(lines.count) signature lines, more than \(Self.maximumSignatures)")
        }
        var signatures: [NoteSignature] = []
        for (number, line) in lines.enumerated() {
            signatures.append(try Self.parseSignatureLine(String(decoding: line, as: UTF8.self), number: number + 1))
        }
        self.body = body
        self.signatures = signatures
    }

    /// The note's text: body, blank line, signature lines.
    public var text: String {
        body + "\n" + signatures.map { $0.line + "\n" }.joined()
    }

    /// The note with `signer`'s signature line added after the others, as a second party cosigns. A line
    /// already there from the same key is replaced, so cosigning twice changes nothing.
    public func cosigned(by signer: NoteSignerKey) -> SignedNote {
        let others = signatures.filter { !$0.keyName.utf8.elementsEqual(signer.name.utf8) || $0.keyID != signer.keyID }
        return SignedNote(body: body, signatures: others + [signer.signature(of: body)])
    }

    private init(body: String, signatures: [NoteSignature]) {
        self.body = body
        self.signatures = signatures
    }

    /// Checks the note against the trusted keys: every signature line from a trusted key must verify,
    /// lines from other keys are ignored, and at least one trusted key must have signed. Returns the
    /// trusted keys that signed, in the order of their lines.
    @discardableResult
    public func verify(trusting trustedKeys: [NoteVerifierKey]) throws(SignedNoteError) -> [NoteVerifierKey] {
        var verified: [NoteVerifierKey] = []
        for signature in signatures {
            // Names compare byte for byte, as the key ID hashes them: not by Unicode equivalence.
            let candidates = Set(
                trustedKeys.filter { $0.name.utf8.elementsEqual(signature.keyName.utf8) && $0.keyID == signature.keyID })
            guard let key = candidates.first else { continue }
            guard candidates.count == 1 else {
                throw .ambiguousTrustedKey(keyName: signature.keyName, keyID: signature.keyID)
            }
            guard key.isValidSignature(signature.signature, of: body) else {
                throw .invalidSignature(keyName: signature.keyName, keyID: signature.keyID)
            }
            if !verified.contains(key) { verified.append(key) }
        }
        guard !verified.isEmpty else { throw .noTrustedSignature(signers: signatures.map(\.signer)) }
        return verified
    }

    // MARK: Parsing

    /// Why `body` cannot be signed, or nil.
    static func bodyProblem(_ body: String) -> String? {
        let utf8 = Array(body.utf8)
        if let problem = controlCharacterProblem(utf8) { return problem }
        guard utf8.last == 0x0a else { return "the text does not end with a newline" }
        return nil
    }

    /// A control character other than newline, named with its line.
    static func controlCharacterProblem(_ utf8: [UInt8]) -> String? {
        var line = 1
        for byte in utf8 {
            if byte == 0x0a {
                line += 1
            } else if byte < 0x20 {
                return "line \(line) contains the control character U+\(Hex.encode([0, byte]).uppercased())"
            }
        }
        return nil
    }

    private static func lastBlankLine(_ utf8: [UInt8]) -> Int? {
        guard utf8.count >= 2 else { return nil }
        return (0..<(utf8.count - 1)).last { utf8[$0] == 0x0a && utf8[$0 + 1] == 0x0a }
    }

    private static func parseSignatureLine(_ line: String, number: Int) throws(SignedNoteError) -> NoteSignature {
        // Bytes, not characters: a combining mark after the space must not merge with it.
        let prefix = Array("\u{2014} ".utf8)
        guard line.utf8.starts(with: prefix) else {
            throw .malformedNote("signature line \(number) does not start with an em dash (U+2014) and a space")
        }
        let rest = String(decoding: line.utf8.dropFirst(prefix.count), as: UTF8.self)
        let fields = splitBytes(rest, at: UInt8(ascii: " "), maxSplits: 1)
        guard fields.count == 2 else { throw .malformedNote("signature line \(number) has no space before its signature") }
        if let problem = keyNameProblem(fields[0]) { throw .malformedNote("signature line \(number): \(problem)") }
        guard let bytes = StrictBase64.decode(fields[1]) else {
            throw .malformedNote("the signature on line \(number) (by \(fields[0])) is not base64")
        }
        guard bytes.count >= 5 else {
            throw .malformedNote("the signature on line \(number) (by \(fields[0])) is shorter than a key ID and a signature")
        }
        return NoteSignature(
            keyName: fields[0], keyID: bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) },
            signature: Array(bytes.dropFirst(4)))
    }
}
