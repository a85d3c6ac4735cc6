import Foundation
import LMDB

extension EventStore {
    /// The events whose id begins with the hexadecimal digits `prefix` (hyphens ignored, either case), in id
    /// order, at most `limit` of them: one range read of the id index, whatever the size of the ledger. Nil when
    /// `prefix` holds anything but hex digits and hyphens, or more than an id's 32 digits.
    package func events(withIdPrefix prefix: String, limit: Int) throws -> [(id: UUID, position: UInt64)]? {
        var nibbles: [UInt8] = []
        for character in prefix.unicodeScalars where character != "-" {
            guard let value = UInt8(String(character), radix: 16) else { return nil }
            nibbles.append(value)
        }
        guard nibbles.count <= 32 else { return nil }
        // The id index is keyed by the id's 16 bytes: a prefix of whole bytes is a key prefix; a last half byte
        // bounds the range to its sixteen values.
        var lower: [UInt8] = []
        for pair in stride(from: 0, to: nibbles.count - 1, by: 2) { lower.append(nibbles[pair] << 4 | nibbles[pair + 1]) }
        let upper: [UInt8]?
        if nibbles.count % 2 == 1 {
            let high = nibbles[nibbles.count - 1]
            upper = high < 0xF ? lower + [(high + 1) << 4] : Cursor.successor(ofPrefix: lower)
            lower.append(high << 4)
        } else {
            upper = Cursor.successor(ofPrefix: lower)
        }
        return try readTransaction { txn in
            try txn.withCursor(tables.eventIds) { cursor in
                var found: [(id: UUID, position: UInt64)] = []
                guard limit > 0 else { return found }
                try cursor.forEach(from: lower.isEmpty ? nil : lower, upTo: upper) { key, value in
                    guard key.byteCount == 16, value.byteCount == 8 else {
                        throw EventStoreError(.corrupted, field: "event-ids", "index entry of \(key.byteCount) bytes")
                    }
                    let id = key.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
                    found.append((id, Keys.readBigEndian(value)))
                    return found.count < limit
                }
                return found
            }
        }
    }
}
