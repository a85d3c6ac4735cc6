// The benchmark of issue 4: the ledger side by side with raw LMDB, SQLite and eventsourcing, one run, one
// machine, one workload. Run it through tools/bench/run (which builds everything in release first).
import ArgumentParser
@testable import EventStore
import Foundation
@testable import IncidentDomain
@testable import ProjectionRunner
@testable import Projections

@main
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger-bench", abstract: "Measure the ledger against raw LMDB, SQLite and eventsourcing.")

    @Flag(help: "100,000 events instead of 1,000,000: a day-to-day run of under two minutes.") var quick = false
    @Option(help: "Events in the workload (default 1,000,000; 100,000 with --quick).") var events: Int?
    @Option(help: "Single durable appends to time.") var singles: Int?
    @Option(help: "Concurrent appending tasks.") var tasks: Int = 64
    @Option(help: "Where to write results (JSON, Markdown, SVG).") var results: String = "tools/bench/results"
    @Option(help: "The release `ledger` binary.") var ledger: String = ".build/release/ledger"
    @Option(help: "The compiled raw LMDB comparator.") var rawLMDB: String = "tools/bench/results/raw_lmdb"
    @Flag(help: "Skip the Python comparators (SQLite, eventsourcing).") var skipPython = false
    @Option(help: "Only write the workload to this file, and stop (for profiling).") var workloadOnly: String?
    @Flag(help: "Only the durable-append phases (1 and 2), then stop (for profiling).") var appendsOnly = false
    @Flag(help: "Only the concurrent in-process appends and the HTTP phase (8), on a small ledger.") var httpOnly = false
    @Option(help: "Only run the timeline queries (part 5) against this existing ledger, and print the figures.")
    var queryOnly: String?

    mutating func run() async throws {
        let total = events ?? (quick ? 100_000 : 1_000_000)
        if let workloadOnly {
            try workload(total).write(to: workloadOnly)
            return
        }
        if let queryOnly {
            var report = Report(events: total, singles: 0, concurrent: 0, tasks: tasks)
            try measureTimelines(try EventStore.open(at: queryOnly), hospital: workload(total).finess(7), into: &report)
            for note in report.notes { print(note) }
            return
        }
        let singleCount = singles ?? (quick ? 2_000 : 10_000)
        let concurrentCount = quick ? 12_800 : 64_000
        try FileManager.default.createDirectory(atPath: results, withIntermediateDirectories: true)
        let work = results + "/work"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var report = Report(events: total, singles: singleCount, concurrent: concurrentCount, tasks: tasks)

        let workloadPath = work + "/workload.ndjson"
        let workload = self.workload(total)
        let generated = now()
        try workload.write(to: workloadPath)
        let size = (try FileManager.default.attributesOfItem(atPath: workloadPath)[.size] as? Int) ?? 0
        log(
            "workload: \(total) events, \(size / total) bytes a line on average, written in \(String(format: "%.1f", now() - generated)) s"
        )
        let sample = try sampleEvents(workloadPath, count: singleCount + concurrentCount)
        // Writing the workload leaves hundreds of MB of dirty pages: flush them now, or the kernel writes
        // them back during the durable-append phases and every fsync waits behind it.
        sync()

        // 1. Single durable appends, one event per transaction, one writer; then the same on a ledger without
        // its Merkle tree (a benchmark ledger): the difference is what the tree costs.
        for (suffix, tree) in [("", true), ("_notree", false)] {
            let store = try EventStore.create(at: work + "/singles" + suffix, configuration: Self.configuration(tree: tree))
            let run = try await measureSingleAppends(store, Array(sample.prefix(singleCount)))
            report.ledger["single\(suffix)_events_per_s"] = run.eventsPerSecond
            report.ledger["single\(suffix)_p50_us"] = run.p50
            report.ledger["single\(suffix)_p99_us"] = run.p99
            log("single appends\(tree ? "" : ", without the tree"): \(fmt(run.eventsPerSecond)) events/s")
        }
        // The same through the synchronous API, which commits in the caller's thread: the difference is the
        // cost of the hop to the group-commit writer and back.
        do {
            let store = try EventStore.create(at: work + "/singles-sync")
            var latencies: [Double] = []
            let start = now()
            for (stream, event) in sample.prefix(singleCount) {
                let t = now()
                _ = try store.appendAtomically([AppendRequest(streamId: stream, events: [event])])
                latencies.append((now() - t) * 1e6)
            }
            report.ledger["single_sync_events_per_s"] = Double(singleCount) / (now() - start)
            report.ledger["single_sync_p50_us"] = percentile(latencies, 0.5)
            log("single appends, synchronous API: \(fmt(report.ledger["single_sync_events_per_s"]!)) events/s")
        }

        // 2. Concurrent durable appends from `tasks` tasks: the group commit; with the tree, then without.
        for (suffix, tree) in [("", true), ("_notree", false)] {
            let store = try EventStore.create(at: work + "/concurrent" + suffix, configuration: Self.configuration(tree: tree))
            let run = try await measureConcurrentAppends(
                store, Array(sample.dropFirst(singleCount).prefix(concurrentCount)), tasks: tasks)
            report.ledger["concurrent\(suffix)_events_per_s"] = run.eventsPerSecond
            report.ledger["concurrent\(suffix)_p99_us"] = run.p99
            log(
                "concurrent appends (\(tasks) tasks)\(tree ? "" : ", without the tree"): \(fmt(run.eventsPerSecond)) events/s")
        }
        if appendsOnly {
            try? FileManager.default.removeItem(atPath: work)
            return
        }
        if httpOnly {
            try measureHTTP(
                binary: ledger, work: work, clients: tasks, perClient: quick ? 200 : 1000, bigLedger: nil,
                hospital: workload.finess(7),
                into: &report)
            print(report.markdown())
            try? FileManager.default.removeItem(atPath: work)
            return
        }

        sync()
        // 3. Bulk import through `ledger import`, and 4. the projection rebuild, each in its own process so
        // that its peak memory is its own.
        let ledgerDir = work + "/ledger"
        _ = try runMeasured(ledger, ["init", "--data-dir", ledgerDir])
        /// Runs one `ledger` command over the whole workload and reports its rate and peak memory under `key`.
        func measureLedger(_ name: String, key: String, _ arguments: [String]) throws {
            let run = try runMeasured(ledger, arguments)
            guard run.status == 0 else { throw BenchError("ledger \(name) failed: \(run.output)") }
            report.ledger["\(key)_events_per_s"] = Double(total) / run.seconds
            report.ledger["\(key)_peak_mib"] = run.peakMemoryMiB
            report.ledger["\(key)_peak_anon_mib"] = run.peakAnonymousMiB
            report.ledger["\(key)_peak_file_mib"] = run.peakFileMiB
            log(
                "\(name): \(fmt(report.ledger["\(key)_events_per_s"]!)) events/s, peak RSS \(fmt(run.peakMemoryMiB)) MiB (anonymous \(fmt(run.peakAnonymousMiB)), file \(fmt(run.peakFileMiB)))"
            )
        }
        try measureLedger("bulk import", key: "bulk", ["import", "--data-dir", ledgerDir, "--file", workloadPath])
        try measureLedger("rebuild", key: "rebuild", ["rebuild", "--data-dir", ledgerDir])

        // 5. As-of timeline queries for one establishment, and 6. verify.
        do {
            let store = try EventStore.open(at: ledgerDir)
            try measureTimelines(store, hospital: workload.finess(7), into: &report)
            let start = now()
            let verified = try store.verify()
            guard verified.isValid else { throw BenchError("verify failed: \(verified.problem!)") }
            report.ledger["verify_events_per_s"] = Double(verified.eventsChecked) / (now() - start)
            log("verify: \(fmt(report.ledger["verify_events_per_s"]!)) events/s")
            // 7. Format 3 on the same ledger: proofs, checkpoint signing, then export and restore.
            try measureProofs(store, into: &report)
            let signed = try measureCheckpointSigning(store, into: &report)
            try measureExportAndRestore(store, signed, work: work, into: &report)
        }
        // 8. The HTTP service: appends from keep-alive clients, live delivery, timelines on this ledger.
        try measureHTTP(
            binary: ledger, work: work, clients: tasks, perClient: quick ? 200 : 1000, bigLedger: ledgerDir,
            hospital: workload.finess(7),
            into: &report)

        // The comparators, on the same workload file.
        let raw = try runMeasured(rawLMDB, ["--dir", work + "/raw", "--input", workloadPath, "--singles", String(singleCount)])
        guard raw.status == 0 else { throw BenchError("raw_lmdb failed: \(raw.output)") }
        report.others["raw-lmdb"] = try parseFigures(raw.output)
        log("raw LMDB: \(raw.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        if !skipPython {
            let sqlite = try runMeasured(
                "/usr/bin/env",
                [
                    "python3", "tools/bench/comparators/sqlite_bench.py", "--dir", work + "/sqlite", "--input", workloadPath,
                    "--singles", String(singleCount),
                ])
            guard sqlite.status == 0 else { throw BenchError("sqlite_bench failed: \(sqlite.output)") }
            report.others["sqlite"] = try parseFigures(sqlite.output)
            log("SQLite: \(sqlite.output.trimmingCharacters(in: .whitespacesAndNewlines))")
            let es = try runMeasured(
                "/usr/bin/env",
                [
                    "python3", "tools/bench/comparators/eventsourcing_bench.py", "--dir", work + "/es", "--input", workloadPath,
                    "--singles", String(singleCount), "--bulk", String(total),
                ])
            guard es.status == 0 else { throw BenchError("eventsourcing_bench failed: \(es.output)") }
            report.others["eventsourcing"] = try parseFigures(es.output)
            log("eventsourcing: \(es.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }

        let table = report.markdown()
        print(table)
        try table.write(toFile: results + "/results.md", atomically: true, encoding: .utf8)
        try CanonicalJSON.string(report.json()).write(toFile: results + "/results.json", atomically: true, encoding: .utf8)
        try report.svg().write(toFile: results + "/results.svg", atomically: true, encoding: .utf8)
        log("wrote \(results)/results.md, results.json and results.svg")
        try? FileManager.default.removeItem(atPath: work)
    }

    /// A new ledger's configuration: the default, or a benchmark ledger without its Merkle tree.
    static func configuration(tree: Bool) -> EventStoreConfiguration {
        var configuration = EventStoreConfiguration()
        configuration.keepsMerkleTree = tree
        return configuration
    }

    /// The benchmark's workload of `total` events.
    func workload(_ total: Int) -> Workload {
        Workload(events: total, establishments: 200, incidents: max(10, total / 1000), seed: 2024)
    }
}

/// What a run of durable appends measured: events/s and latencies in µs.
struct AppendRun {
    let eventsPerSecond: Double
    let p50: Double
    let p99: Double
}

/// Part 1: `sample` appended one event per durable transaction through the group-commit API, one writer.
func measureSingleAppends(_ store: EventStore, _ sample: [(String, ProposedEvent)]) async throws -> AppendRun {
    var latencies: [Double] = []
    let start = now()
    for (stream, event) in sample {
        let t = now()
        _ = try await store.append([event], to: stream)
        latencies.append((now() - t) * 1e6)
    }
    return AppendRun(
        eventsPerSecond: Double(sample.count) / (now() - start), p50: percentile(latencies, 0.5),
        p99: percentile(latencies, 0.99))
}

/// Part 2: `batches` split between `tasks` tasks, each appending one event at a time (the group commit).
func measureConcurrentAppends(_ store: EventStore, _ batches: [(String, ProposedEvent)], tasks: Int) async throws
    -> AppendRun
{
    let perTask = batches.count / tasks
    let start = now()
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for t in 0..<tasks {
            let mine = Array(batches[(t * perTask)..<((t + 1) * perTask)])
            group.addTask {
                var own: [Double] = []
                for (stream, event) in mine {
                    let begin = now()
                    _ = try await store.append([event], to: stream)
                    own.append((now() - begin) * 1e6)
                }
                return own
            }
        }
        return try await group.reduce(into: [Double]()) { $0 += $1 }
    }
    return AppendRun(
        eventsPerSecond: Double(latencies.count) / (now() - start), p50: percentile(latencies, 0.5),
        p99: percentile(latencies, 0.99))
}

/// Part 5: 201 as-of timeline queries for `hospital` (the first one cold), and where a warm query's time goes.
func measureTimelines(_ store: EventStore, hospital: String, into report: inout Report) throws {
    let queries = LedgerQueries(store: store)
    var random = Workload.Random(state: 99)
    let from = Timestamp(rfc3339: "2024-01-01T00:00:00+01:00")!.microseconds
    var latencies: [Double] = []
    var cold = 0.0
    var lanes = 0
    for q in 0..<201 {
        let asOf = from + Int64(random.below(400 * 24)) * 3_600_000_000
        let t = now()
        let timelines = try queries.timelines(establishment: hospital, at: QueryTime(asOf: asOf))
        let elapsed = (now() - t) * 1e3
        if q == 0 { cold = elapsed } else { latencies.append(elapsed) }
        lanes += timelines.reduce(0) { $0 + $1.lanes.count }
    }
    // Where a warm query's time goes, for the report's notes.
    do {
        let asOf = QueryTime(asOf: from + 200 * 24 * 3_600_000_000)
        var t = now()
        let snapshot = try queries.index()
        let indexMs = (now() - t) * 1e3
        t = now()
        let streams = try IncidentIndex.incidents(touching: hospital, in: store)
        let touchingMs = (now() - t) * 1e3
        t = now()
        let position = try queries.position(at: asOf)
        let establishments = snapshot.establishments(upTo: position)
        let establishmentsMs = (now() - t) * 1e3
        var bookMs = 0.0
        var computeMs = 0.0
        var facts = 0
        for stream in streams {
            t = now()
            let book = try queries.incidentBook(stream, upTo: position, establishments: establishments)
            bookMs += (now() - t) * 1e3
            t = now()
            let list = book.incidents[stream] ?? []
            facts += list.count
            _ = RecoveryTimeline.compute(
                establishment: establishments[hospital], finess: hospital, incidentId: stream, facts: list, at: asOf)
            computeMs += (now() - t) * 1e3
        }
        report.notes.append(
            "a warm timeline query: index \(fmt(indexMs)) ms, incidents naming the hospital \(fmt(touchingMs)) ms, establishments \(fmt(establishmentsMs)) ms, \(streams.count) incident books \(fmt(bookMs)) ms; views computed from scratch over \(facts) facts \(fmt(computeMs)) ms (a query pays this once per incident version: later ones reuse what it read)"
        )
    }
    report.ledger["timeline_cold_ms"] = cold
    report.ledger["timeline_p50_ms"] = percentile(latencies, 0.5)
    report.ledger["timeline_p99_ms"] = percentile(latencies, 0.99)
    report.notes.append("timeline queries: establishment \(hospital), \(lanes / 201) lanes a query on average")
    log(
        "timeline query: cold \(fmt(cold)) ms, p50 \(fmt(report.ledger["timeline_p50_ms"]!)) ms, p99 \(fmt(report.ledger["timeline_p99_ms"]!)) ms"
    )
}

func log(_ text: String) {
    FileHandle.standardError.write(Data(("bench: " + text + "\n").utf8))
}

func fmt(_ value: Double) -> String {
    value >= 100 ? String(format: "%.0f", value) : value >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
}

/// The events of the workload's first lines, parsed as the library's append takes them.
func sampleEvents(_ path: String, count: Int) throws -> [(String, ProposedEvent)] {
    var out: [(String, ProposedEvent)] = []
    let text = try String(contentsOfFile: path, encoding: .utf8)
    for line in text.split(separator: "\n") {
        if out.count == count { break }
        let parsed = try ProposedEvent.fromJSON(try JSONParser.parse(String(line)), defaultActor: "bench")
        // Corrections point at events of the bulk ledger: not part of this sample.
        if parsed.event.eventType == "event.corrected" { continue }
        out.append((parsed.streamId!, parsed.event))
    }
    return out
}

/// Reads a comparator's one-line JSON of figures.
func parseFigures(_ output: String) throws -> [String: Double] {
    guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
        throw BenchError("no JSON in: \(output)")
    }
    var figures: [String: Double] = [:]
    for (key, value) in try JSONParser.parse(String(line)).objectValue ?? [:] {
        if let number = value.numberValue { figures[key] = number.doubleValue }
    }
    return figures
}
