import FuzzSupport

@testable import EventStore

/// The member walker on stored bytes trusts nothing: any bytes end the walk, never a crash. On bytes the full
/// parser reads as an object, the walk reaches the end and finds the same members with the same values.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONMembers(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    // Exactly `size` bytes, so a read past the end is AddressSanitizer's to catch.
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: input.count, alignment: 1)
    defer { bytes.deallocate() }
    bytes.copyBytes(from: input)
    let object = UnsafeRawBufferPointer(bytes)
    var walked: [(key: String?, value: JSONValue?)] = []
    let complete = JSONMembers.forEach(in: object) { key, value in
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        quoted.append(contentsOf: key)
        quoted.append(UInt8(ascii: "\""))
        let name = quoted.withUnsafeBytes { JSONMembers.string($0) }
        walked.append((name, try? JSONParser.parse(value)))
        _ = JSONMembers.string(value)
        return true
    }
    _ = JSONMembers.value(of: "eventType", in: object)
    _ = JSONMembers.value(of: "payload", in: object).map { JSONMembers.string($0) }
    guard let parsed = try? JSONParser.parse(input), let members = parsed.objectValue else { return 0 }
    guard complete else { fuzzFailure("the walk stopped on bytes the parser reads as an object", input: input) }
    guard walked.count == members.count else {
        fuzzFailure("the walk found \(walked.count) members, the parser \(members.count)", input: input)
    }
    for (key, value) in walked {
        guard let key, let expected = members[key] else {
            fuzzFailure("the walk found a key the parser did not: \(String(describing: key))", input: input)
        }
        guard value == expected else { fuzzFailure("member \(key): the walk's value differs from the parser's", input: input) }
    }
    return 0
}
