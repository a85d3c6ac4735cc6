#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Finds the members of a JSON object in its bytes without decoding the rest: a projector that routes on two
/// or three fields of a stored event skips the others at the speed of a byte loop, where ``JSONParser`` would
/// build every string, number and dictionary.
///
/// It trusts nothing: malformed or truncated bytes end the walk with `false`, never a crash. It does not
/// validate what it skips (that is ``JSONParser``'s and `verify`'s job); decode a found value with
/// ``JSONParser`` or ``JSONMembers/string(_:)``.
package enum JSONMembers {
    /// Calls `body` with each member's key (the bytes between the quotes, escapes left as they are) and
    /// value (its whole JSON text) of the object in `object`, until `body` returns false.
    /// - Returns: false when the bytes are not an object that the walk could follow to its end.
    @discardableResult
    package static func forEach(
        in object: UnsafeRawBufferPointer, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) rethrows -> Bool {
        var i = skipSpace(object, 0)
        guard i < object.count, object[i] == UInt8(ascii: "{") else { return false }
        i = skipSpace(object, i + 1)
        if i < object.count, object[i] == UInt8(ascii: "}") { return true }
        while i < object.count {
            guard object[i] == UInt8(ascii: "\""), let keyEnd = endOfString(object, i) else { return false }
            let key = UnsafeRawBufferPointer(rebasing: object[(i + 1)..<(keyEnd - 1)])
            i = skipSpace(object, keyEnd)
            guard i < object.count, object[i] == UInt8(ascii: ":") else { return false }
            let valueStart = skipSpace(object, i + 1)
            guard let valueEnd = endOfValue(object, valueStart) else { return false }
            guard try body(key, UnsafeRawBufferPointer(rebasing: object[valueStart..<valueEnd])) else { return true }
            i = skipSpace(object, valueEnd)
            guard i < object.count else { return false }
            if object[i] == UInt8(ascii: "}") { return true }
            guard object[i] == UInt8(ascii: ",") else { return false }
            i = skipSpace(object, i + 1)
        }
        return false
    }

    /// The value of member `name` in `object`, or nil when absent or unreadable.
    package static func value(of name: StaticString, in object: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var found: UnsafeRawBufferPointer?
        forEach(in: object) { candidate, value in
            if key(candidate, is: name) {
                found = value
                return false
            }
            return true
        }
        return found
    }

    /// Decodes a JSON string value; nil when `value` is not a string.
    package static func string(_ value: UnsafeRawBufferPointer) -> String? {
        guard value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") else { return nil }
        let inner = UnsafeRawBufferPointer(rebasing: value[1..<(value.count - 1)])
        // The common case has no escape: its bytes are the string's UTF-8.
        if !inner.contains(UInt8(ascii: "\\")) { return String(decoding: inner, as: UTF8.self) }
        return (try? JSONParser.parse(value))?.stringValue
    }

    /// Whether `key` (as handed to ``forEach(in:_:)``) is `name`.
    package static func key(_ key: UnsafeRawBufferPointer, is name: StaticString) -> Bool {
        key.count == name.utf8CodeUnitCount && (key.count == 0 || memcmp(key.baseAddress!, name.utf8Start, key.count) == 0)
    }

    private static func skipSpace(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int {
        var i = start
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        return i
    }

    /// The index just past the string that opens at `start`, or nil when it is not closed. Skips eight bytes
    /// at a time while none of them is a quote or a backslash (most strings have no escape at all).
    private static func endOfString(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int? {
        let count = bytes.count
        var i = start + 1
        while i < count {
            while i + 8 <= count {
                let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if hasByte(word, UInt8(ascii: "\"")) || hasByte(word, UInt8(ascii: "\\")) { break }
                i += 8
            }
            guard i < count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "\""): return i + 1
            case UInt8(ascii: "\\"): i += 2
            default: i += 1
            }
        }
        return nil
    }

    /// Whether one of the eight bytes of `word` is `byte` (the classic has-zero-byte test on `word ^ byte…`).
    @inline(__always)
    private static func hasByte(_ word: UInt64, _ byte: UInt8) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let x = word ^ (ones &* UInt64(byte))
        return (x &- ones) & ~x & 0x8080_8080_8080_8080 != 0
    }

    /// The index just past the value that starts at `start`: a string, a nested object or array (brackets
    /// counted, strings inside skipped), or a scalar (up to the next delimiter).
    private static func endOfValue(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return endOfString(bytes, start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = start
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    guard let end = endOfString(bytes, i) else { return nil }
                    i = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default:
                    break
                }
                i += 1
            }
            return nil
        default:
            var i = start
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09:
                    return i > start ? i : nil
                default:
                    i += 1
                }
            }
            return i > start ? i : nil
        }
    }
}
