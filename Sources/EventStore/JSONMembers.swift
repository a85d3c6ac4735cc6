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
        var members = Members(object)
        while let (key, value) = members.next() {
            guard try body(key, value) else { return true }
        }
        return members.isComplete
    }

    /// The members of one object, one at a time: the walk of ``JSONMembers/forEach(in:_:)`` as an iterator,
    /// which a projector on the hot path of a rebuild drives itself, with no closure called per member and
    /// nothing allocated.
    ///
    /// `next()` hands each member's key (the bytes between the quotes, escapes left as they are) and value
    /// (its whole JSON text), and nil at the closing brace or on bytes it cannot follow: ``isComplete`` tells
    /// which.
    package struct Members: IteratorProtocol, Sequence {
        private let bytes: UnsafeRawBufferPointer
        /// Where the walk goes on from: the opening brace, then just past the last value handed out.
        private var offset = 0
        private var state = State.atStart

        private enum State { case atStart, inside, complete, malformed }

        /// The walk over the object in `object` (its first byte, after white space, must open it).
        package init(_ object: UnsafeRawBufferPointer) { bytes = object }

        /// Whether the walk reached the object's closing brace; false while it goes on and after bytes it
        /// could not follow.
        package var isComplete: Bool { state == .complete }

        package mutating func next() -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
            var i: Int
            switch state {
            case .complete, .malformed:
                return nil
            case .atStart:
                i = skipSpace(bytes, 0)
                guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return fail() }
                i = skipSpace(bytes, i + 1)
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { return finish() }
                state = .inside
            case .inside:
                i = skipSpace(bytes, offset)
                guard i < bytes.count else { return fail() }
                if bytes[i] == UInt8(ascii: "}") { return finish() }
                guard bytes[i] == UInt8(ascii: ",") else { return fail() }
                i = skipSpace(bytes, i + 1)
            }
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let keyEnd = endOfString(bytes, i) else { return fail() }
            let key = UnsafeRawBufferPointer(rebasing: bytes[(i + 1)..<(keyEnd - 1)])
            i = skipSpace(bytes, keyEnd)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return fail() }
            let valueStart = skipSpace(bytes, i + 1)
            guard let valueEnd = endOfValue(bytes, valueStart) else { return fail() }
            offset = valueEnd
            return (key, UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd]))
        }

        private mutating func fail() -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
            state = .malformed
            return nil
        }

        private mutating func finish() -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
            state = .complete
            return nil
        }
    }

    /// The value of member `name` in `object`, or nil when absent or unreadable.
    package static func value(of name: StaticString, in object: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var members = Members(object)
        while let (candidate, value) = members.next() {
            if key(candidate, is: name) { return value }
        }
        return nil
    }

    /// Decodes a JSON string value; nil when `value` is not a string.
    package static func string(_ value: UnsafeRawBufferPointer) -> String? {
        guard value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") else { return nil }
        let inner = UnsafeRawBufferPointer(rebasing: value[1..<(value.count - 1)])
        // The common case has no escape: its bytes are the string's UTF-8.
        if !inner.contains(UInt8(ascii: "\\")) { return String(decoding: inner, as: UTF8.self) }
        return (try? JSONParser.parse(value))?.stringValue
    }

    /// The bytes between the quotes of a JSON string value, escapes left as they are; nil when `value` is not
    /// a string.
    package static func stringBytes(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") else { return nil }
        return UnsafeRawBufferPointer(rebasing: value[1..<(value.count - 1)])
    }

    /// The UTF-8 of a JSON string value that holds no escape, read in place (nothing decoded, nothing
    /// allocated); nil when `value` is not a string or has an escape (decode it with ``string(_:)``).
    package static func plainString(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let inner = stringBytes(value), !inner.contains(UInt8(ascii: "\\")) else { return nil }
        return inner
    }

    /// Whether `key` (as handed to ``forEach(in:_:)``) is `name`. Compares a word at a time (keys are short;
    /// a call to `memcmp` would cost more than the comparison), and inlines where the name is known.
    @inlinable
    package static func key(_ key: UnsafeRawBufferPointer, is name: StaticString) -> Bool {
        let count = name.utf8CodeUnitCount
        guard key.count == count else { return false }
        guard count > 0, let stored = key.baseAddress else { return count == 0 }
        let wanted = UnsafeRawPointer(name.utf8Start)
        guard count >= 8 else {
            for i in 0..<count
            where stored.load(fromByteOffset: i, as: UInt8.self) != wanted.load(fromByteOffset: i, as: UInt8.self) {
                return false
            }
            return true
        }
        var i = 0
        while i + 8 <= count {
            guard
                stored.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    == wanted.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            else { return false }
            i += 8
        }
        // The last word, overlapping the one before: the bytes left over.
        return i == count
            || stored.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                == wanted.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
    }

    private static func skipSpace(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int {
        var i = start
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        return i
    }

    /// The index just past the string that opens at `start`, or nil when it is not closed. Finds each quote
    /// with `memchr` (most strings are long text with no escape at all) and takes it as the end unless an
    /// odd number of backslashes stands right before it: the escapes a left-to-right reading would pair up.
    private static func endOfString(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        let first = start + 1
        var i = first
        while i < count {
            guard let found = memchr(base + i, Int32(UInt8(ascii: "\"")), count - i) else { return nil }
            let quote = base.distance(to: UnsafeRawPointer(found))
            var backslash = quote - 1
            while backslash >= first, bytes[backslash] == UInt8(ascii: "\\") { backslash -= 1 }
            if (quote - 1 - backslash) % 2 == 0 { return quote + 1 }
            i = quote + 1
        }
        return nil
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
