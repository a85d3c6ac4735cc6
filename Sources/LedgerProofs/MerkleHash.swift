import Foundation

/// A SHA-256 value in the Merkle tree: a leaf hash, a node hash or a root. Always 32 bytes.
public struct MerkleHash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes.
    public let bytes: [UInt8]

    /// The hash with these bytes; nil unless there are exactly 32.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        self.bytes = Array(bytes)
    }

    /// The hash spelled in strict standard base64 (RFC 4648 §4, padded, canonical); nil otherwise.
    public init?(base64: String) {
        guard let decoded = StrictBase64.decode(base64) else { return nil }
        self.init(bytes: decoded)
    }

    /// The hash spelled as 64 lowercase hex digits; nil otherwise.
    public init?(hex: String) {
        guard let decoded = Hex.decode(hex) else { return nil }
        self.init(bytes: decoded)
    }

    /// Standard padded base64, as in a checkpoint's root line and in proof documents.
    public var base64: String { Data(bytes).base64EncodedString() }

    /// Lowercase hex, as the ledger spells event hashes.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }
}

/// Lowercase hexadecimal, refused when in upper case, so that one value has one spelling.
enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

/// Standard padded base64 read strictly: only the canonical spelling of some bytes is accepted, so a
/// value cannot be respelled (no missing padding, no white space, no stray low bits in the last digit).
enum StrictBase64 {
    static func decode(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else { return nil }
        return Array(data)
    }

    static func encode(_ bytes: some Sequence<UInt8>) -> String { Data(bytes).base64EncodedString() }
}
