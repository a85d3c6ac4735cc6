import FuzzSupport

@testable import LedgerProofs

/// Signed notes and the checkpoints they carry (a bundle's trailer, `ledger checkpoint verify`, a witness's
/// cosignature): never a crash; what parses prints back to the same note and the same checkpoint.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSignedNote(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    if let body = String(validating: input, as: UTF8.self) { checkCheckpoint(body, input: input) }
    guard let note = try? SignedNote(parsing: input) else { return 0 }
    let again: SignedNote
    do { again = try SignedNote(parsing: note.text) } catch {
        fuzzFailure("the text of a parsed note does not parse: \(error)", input: input)
    }
    guard again == note else { fuzzFailure("the note's text reads back as another note", input: input) }
    _ = try? note.verify(trusting: [])
    checkCheckpoint(note.body, input: input)
    return 0
}

func checkCheckpoint(_ body: String, input: [UInt8]) {
    guard let checkpoint = try? Checkpoint(body: body) else { return }
    guard checkpoint.body == body else { fuzzFailure("the checkpoint prints as \(checkpoint.body)", input: input) }
    let again: Checkpoint
    do { again = try Checkpoint(body: checkpoint.body) } catch {
        fuzzFailure("the body of a parsed checkpoint does not parse: \(error)", input: input)
    }
    guard again == checkpoint else { fuzzFailure("the checkpoint reads back as another", input: input) }
}
