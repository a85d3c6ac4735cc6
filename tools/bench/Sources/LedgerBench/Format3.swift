// Part 7, issue 8: what format 3 adds, measured on the benchmark's big ledger (the one `ledger import` wrote):
// proofs, checkpoint signing, bundle export and restore. The tree's cost on appends is in parts 1 and 2.
@testable import EventStore
import Foundation
@testable import LedgerProofs

/// Inclusion proofs timed (random positions, against the whole log), and as many consistency proofs (between two
/// random sizes), each through the public API: one read transaction a proof.
let proofSamples = 5_000

/// Latency of `proofSamples` inclusion and consistency proofs, in µs.
func measureProofs(_ store: EventStore, into report: inout Report) throws {
    let size = try store.treeRoot().size
    guard size > 0 else { throw BenchError("the ledger is empty: no proofs to time") }
    var random = Workload.Random(state: 8)
    var inclusion: [Double] = []
    var consistency: [Double] = []
    var hashes = 0
    for _ in 0..<proofSamples {
        let position = 1 + UInt64(random.below(Int(size)))
        let t = now()
        hashes += try store.inclusionProof(position: position, size: size).count
        inclusion.append((now() - t) * 1e6)
    }
    for _ in 0..<proofSamples {
        let a = 1 + UInt64(random.below(Int(size)))
        let b = 1 + UInt64(random.below(Int(size)))
        let t = now()
        hashes += try store.consistencyProof(from: min(a, b), to: max(a, b)).count
        consistency.append((now() - t) * 1e6)
    }
    report.ledger["inclusion_proof_p50_us"] = percentile(inclusion, 0.5)
    report.ledger["inclusion_proof_p99_us"] = percentile(inclusion, 0.99)
    report.ledger["consistency_proof_p50_us"] = percentile(consistency, 0.5)
    report.ledger["consistency_proof_p99_us"] = percentile(consistency, 0.99)
    report.notes.append(
        "proofs: \(proofSamples) inclusion proofs at random positions of the tree of \(size) events and \(proofSamples) consistency proofs between random sizes, \(fmt(Double(hashes) / Double(2 * proofSamples))) hashes a proof on average; after verify, so the tree's pages are in the page cache"
    )
    log(
        "proofs: inclusion p50 \(fmt(report.ledger["inclusion_proof_p50_us"]!)) µs, p99 \(fmt(report.ledger["inclusion_proof_p99_us"]!)) µs; consistency p50 \(fmt(report.ledger["consistency_proof_p50_us"]!)) µs, p99 \(fmt(report.ledger["consistency_proof_p99_us"]!)) µs"
    )
}

/// Checkpoints signed and stored.
let checkpointSamples = 300

/// A signed checkpoint of the whole ledger as a key holder makes one: `currentCheckpoint()` (the root), `signed`
/// (Ed25519) and `storeCheckpoint` (checked against the tree, then one durable write), `checkpointSamples` times.
/// Returns the last signed note and its key, for the export.
func measureCheckpointSigning(_ store: EventStore, into report: inout Report) throws -> (SignedNote, NoteSignerKey) {
    let key = try NoteSignerKey.generate(name: "bench.incidentledger.invalid")
    var total: [Double] = []
    var root: [Double] = []
    var sign: [Double] = []
    var storing: [Double] = []
    var note: SignedNote?
    for _ in 0..<checkpointSamples {
        let t0 = now()
        let checkpoint = try store.currentCheckpoint()
        let t1 = now()
        let signed = try checkpoint.signed(by: [key])
        let t2 = now()
        try store.storeCheckpoint(signed)
        let t3 = now()
        total.append((t3 - t0) * 1e6)
        root.append((t1 - t0) * 1e6)
        sign.append((t2 - t1) * 1e6)
        storing.append((t3 - t2) * 1e6)
        note = signed
    }
    report.ledger["checkpoint_p50_us"] = percentile(total, 0.5)
    report.ledger["checkpoint_p99_us"] = percentile(total, 0.99)
    report.notes.append(
        "checkpoint signing (\(checkpointSamples) times): currentCheckpoint p50 \(fmt(percentile(root, 0.5))) µs, signed (Ed25519) p50 \(fmt(percentile(sign, 0.5))) µs, storeCheckpoint (checked against the tree, one durable commit) p50 \(fmt(percentile(storing, 0.5))) µs"
    )
    log(
        "checkpoint signing: p50 \(fmt(report.ledger["checkpoint_p50_us"]!)) µs, p99 \(fmt(report.ledger["checkpoint_p99_us"]!)) µs"
    )
    return (note!, key)
}

/// `exportBundle` of the whole ledger to a file (synced, as `ledger export` does), then `EventStore.restore` of
/// that bundle into a new directory (both reads of the bundle, the writes, and the replica's verify).
func measureExportAndRestore(
    _ store: EventStore, _ signed: (note: SignedNote, key: NoteSignerKey), work: String, into report: inout Report
) throws {
    let path = work + "/ledger.bundle"
    let events = Double(try Checkpoint(body: signed.note.body).size)
    guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
        throw BenchError("cannot write \(path)")
    }
    var start = now()
    try store.exportBundle(checkpoint: signed.note, verifierKeys: [signed.key.verifierKey], to: handle)
    try handle.synchronize()
    report.ledger["export_events_per_s"] = events / (now() - start)
    try handle.close()
    let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    log("export: \(fmt(report.ledger["export_events_per_s"]!)) events/s, \(bytes / 1_048_576) MiB")
    sync()
    // Where a restore's time goes: one of its two reads of the bundle, timed alone (every line parsed, hashed,
    // chained and folded into the tree, the signature checked).
    start = now()
    _ = try EventStore.verifyBundle(at: path, trusting: [signed.key.verifierKey])
    let check = now() - start
    start = now()
    let restored = try EventStore.restore(bundle: path, into: work + "/restored", trusting: [signed.key.verifierKey])
    let restoreSeconds = now() - start
    report.ledger["restore_events_per_s"] = events / restoreSeconds
    guard restored.header.eventCount == UInt64(events) else { throw BenchError("the restore holds \(restored.header.eventCount) events") }
    report.notes.append(
        "export and restore: a bundle of \(Int(events)) events, \(bytes / 1_048_576) MiB; the restore reads it once (each event checked and written in batches of 10,000, then the signed root, the replica's own root and its head compared), in the benchmark's process: \(fmt(restoreSeconds)) s, where one check of the bundle alone takes \(fmt(check)) s (\(fmt(events / check)) events/s)"
    )
    log("restore: \(fmt(report.ledger["restore_events_per_s"]!)) events/s")
    try? FileManager.default.removeItem(atPath: path)
    try? FileManager.default.removeItem(atPath: work + "/restored")
}
