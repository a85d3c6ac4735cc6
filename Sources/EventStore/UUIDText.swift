import Foundation

/// UUID text without Foundation's slow paths (its parser goes through sscanf): the ledger reads and
/// writes millions of ids. Always lowercase on output, as the canonical encoding requires.
extension UUID {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A new time-ordered id (UUID version 7, RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.
    ///
    /// The ledger gives one to every event that arrives without an id. Ids made one after another sort
    /// together, so the event-id index grows at its end like the log instead of touching a random page of
    /// the index for every event: group commits write a few pages for their ids instead of one each.
    package static func timeOrdered(milliseconds: UInt64 = UInt64(Date().timeIntervalSince1970 * 1000)) -> UUID {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * UInt64(i))) }
        let random = (generator.next() as UInt64, generator.next() as UInt64)
        for i in 6..<16 { bytes[i] = UInt8(truncatingIfNeeded: (i < 8 ? random.0 : random.1) >> (8 * UInt64(i % 8))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)  // version 7
        bytes[8] = 0x80 | (bytes[8] & 0x3F)  // variant 10
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10],
                bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }

    /// `6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b`: the canonical, lowercase form.
    package var lowercasedString: String {
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                var i = 0
                for (n, byte) in bytes.enumerated() {
                    if n == 4 || n == 6 || n == 8 || n == 10 {
                        out[i] = UInt8(ascii: "-")
                        i += 1
                    }
                    out[i] = Self.hexDigits[Int(byte >> 4)]
                    out[i + 1] = Self.hexDigits[Int(byte & 0xF)]
                    i += 2
                }
                return 36
            }
        }
    }

    /// Parses the 36-character hyphenated form, in either case; nil for anything else.
    package init?(text: String) {
        var text = text
        let parsed: uuid_t? = text.withUTF8 { chars in
            guard chars.count == 36 else { return nil }
            var bytes = [UInt8](repeating: 0, count: 16)
            var c = 0
            for n in 0..<16 {
                if c == 8 || c == 13 || c == 18 || c == 23 {
                    guard chars[c] == UInt8(ascii: "-") else { return nil }
                    c += 1
                }
                guard let high = Self.nibble(chars[c]), let low = Self.nibble(chars[c + 1]) else { return nil }
                bytes[n] = high << 4 | low
                c += 2
            }
            return (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            )
        }
        guard let parsed else { return nil }
        self.init(uuid: parsed)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
