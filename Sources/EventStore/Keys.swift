import Foundation

/// How index keys are laid out: big-endian integers so that LMDB's bytewise order is numeric order,
/// and text keys ended by a 0 byte (text may hold no 0 byte) so that one name is never a prefix of another.
enum Keys {
    static func bigEndian(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// Signed microseconds ordered bytewise: flip the sign bit.
    static func orderedTime(_ microseconds: Int64) -> [UInt8] {
        bigEndian(UInt64(bitPattern: microseconds) ^ (1 << 63))
    }

    /// The 8 bytes at `offset` as a big-endian integer; 0 (a position no event has) when they are not all
    /// there, so that a damaged entry is reported as pointing nowhere instead of being read past its end.
    static func readBigEndian(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64 {
        guard offset >= 0, offset + 8 <= bytes.count else { return 0 }
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[offset + i]) }
        return value
    }

    /// The same, read from a view into the map.
    static func readBigEndian(_ bytes: RawSpan, at offset: Int = 0) -> UInt64 {
        bytes.withUnsafeBytes { readBigEndian($0, at: offset) }
    }

    static func position(_ position: UInt64) -> [UInt8] { bigEndian(position) }

    static func text(_ text: String) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(text.utf8.count + 1)
        key.append(contentsOf: text.utf8)
        key.append(0)
        return key
    }

    // Built in one buffer each: these run several times for every event appended.
    static func stream(_ streamId: String, version: UInt64) -> [UInt8] { named(streamId, position: version) }

    static func named(_ name: String, position: UInt64) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(name.utf8.count + 9)
        key.append(contentsOf: name.utf8)
        key.append(0)
        withUnsafeBytes(of: position.bigEndian) { key.append(contentsOf: $0) }
        return key
    }

    static func occurred(_ earliest: Int64, position: UInt64) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(16)
        withUnsafeBytes(of: (UInt64(bitPattern: earliest) ^ (1 << 63)).bigEndian) { key.append(contentsOf: $0) }
        withUnsafeBytes(of: position.bigEndian) { key.append(contentsOf: $0) }
        return key
    }

    static func eventId(_ id: UUID) -> [UInt8] {
        withUnsafeBytes(of: id.uuid) { Array($0) }
    }
}

extension RawSpan {
    /// The bytes of the view, copied out of the map so that they outlive the transaction.
    var copiedBytes: [UInt8] { withUnsafeBytes { Array($0) } }
}
