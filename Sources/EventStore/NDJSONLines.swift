import Foundation

/// Reads a file line by line in 1 MiB chunks, never the whole file: imports of any size use bounded memory.
package enum NDJSONLines {
    /// The longest line read: an event's payload is at most 1 MiB, so a longer line is no event, and an endless
    /// one must not take the memory.
    package static let maximumLineLength = 4 << 20

    /// Calls `body` with each non-blank line of `path` ('-': standard input) and its number, copying every byte
    /// read to `copy` when one is given.
    package static func forEach(
        _ path: String, name: String? = nil, copyingTo copy: FileHandle? = nil,
        _ body: (Int, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let name = name ?? path
        let handle: FileHandle
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let opened = FileHandle(forReadingAtPath: path) else {
                let exists = FileManager.default.fileExists(atPath: path)
                throw EventStoreError(.invalidEvent, field: name, exists ? "cannot be read" : "no such file")
            }
            handle = opened
        }
        defer { if path != "-" { try? handle.close() } }
        var carry: [UInt8] = []
        var number = 0
        func emit(_ line: UnsafeRawBufferPointer) throws {
            number += 1
            var end = line.count
            if end > 0, line[end - 1] == 0x0D { end -= 1 }
            let trimmed = UnsafeRawBufferPointer(rebasing: line[0..<end])
            if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            try body(number, trimmed)
        }
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw EventStoreError(.invalidEvent, field: name, "cannot be read: \(error.localizedDescription)")
            }
            if chunk.isEmpty { break }
            if let copy {
                do { try copy.write(contentsOf: chunk) } catch {
                    throw EventStoreError(
                        .storage, field: NSTemporaryDirectory(), "cannot keep a copy of \(name): \(error.localizedDescription)")
                }
            }
            try chunk.withUnsafeBytes { buffer in
                var start = 0
                // memchr: the generic search went a byte at a time through a slice.
                func nextNewline() -> Int? {
                    guard start < buffer.count, let base = buffer.baseAddress,
                        let found = memchr(base + start, 0x0A, buffer.count - start)
                    else { return nil }
                    return base.distance(to: UnsafeRawPointer(found))
                }
                while let newline = nextNewline() {
                    if carry.isEmpty {
                        try emit(UnsafeRawBufferPointer(rebasing: buffer[start..<newline]))
                    } else {
                        carry.append(contentsOf: buffer[start..<newline])
                        try carry.withUnsafeBytes { try emit($0) }
                        carry.removeAll(keepingCapacity: true)
                    }
                    start = newline + 1
                }
                carry.append(contentsOf: buffer[start...])
                if carry.count > maximumLineLength {
                    throw EventStoreError(
                        .invalidEvent, field: "\(name) line \(number + 1)",
                        "longer than \(maximumLineLength >> 20) MiB: not an event")
                }
            }
        }
        if !carry.isEmpty { try carry.withUnsafeBytes { try emit($0) } }
    }
}
