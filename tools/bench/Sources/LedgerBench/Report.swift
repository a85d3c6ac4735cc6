@testable import EventStore
import Foundation

/// Every figure of one run, the ratios, and the targets of issues 4 and 8 with met or not.
struct Report {
    let events: Int
    let singles: Int
    let concurrent: Int
    let tasks: Int
    var ledger: [String: Double] = [:]
    var others: [String: [String: Double]] = [:]
    var notes: [String] = []

    static let systems = ["raw-lmdb", "sqlite", "eventsourcing"]

    /// One operation across the systems: the ledger's figure and each other system's.
    struct Row {
        let operation: String
        let unit: String
        let ledgerKey: String
        let otherKey: String?
    }

    static let rows = [
        Row(
            operation: "single durable appends", unit: "events/s", ledgerKey: "single_events_per_s",
            otherKey: "single_events_per_s"),
        Row(operation: "single append p50", unit: "µs", ledgerKey: "single_p50_us", otherKey: "single_p50_us"),
        Row(operation: "single append p99", unit: "µs", ledgerKey: "single_p99_us", otherKey: "single_p99_us"),
        Row(
            operation: "single appends, synchronous API", unit: "events/s", ledgerKey: "single_sync_events_per_s",
            otherKey: "single_events_per_s"),
        Row(
            operation: "single append p50, synchronous API", unit: "µs", ledgerKey: "single_sync_p50_us",
            otherKey: "single_p50_us"),
        Row(operation: "concurrent durable appends", unit: "events/s", ledgerKey: "concurrent_events_per_s", otherKey: nil),
        Row(operation: "concurrent append p99", unit: "µs", ledgerKey: "concurrent_p99_us", otherKey: nil),
        Row(
            operation: "single durable appends, without the tree", unit: "events/s", ledgerKey: "single_notree_events_per_s",
            otherKey: "single_events_per_s"),
        Row(
            operation: "single append p50, without the tree", unit: "µs", ledgerKey: "single_notree_p50_us",
            otherKey: "single_p50_us"),
        Row(
            operation: "single append p99, without the tree", unit: "µs", ledgerKey: "single_notree_p99_us",
            otherKey: "single_p99_us"),
        Row(
            operation: "concurrent durable appends, without the tree", unit: "events/s",
            ledgerKey: "concurrent_notree_events_per_s", otherKey: nil),
        Row(
            operation: "concurrent append p99, without the tree", unit: "µs", ledgerKey: "concurrent_notree_p99_us",
            otherKey: nil),
        Row(operation: "bulk import", unit: "events/s", ledgerKey: "bulk_events_per_s", otherKey: "bulk_events_per_s"),
        Row(
            operation: "rebuild / full scan / replay", unit: "events/s", ledgerKey: "rebuild_events_per_s",
            otherKey: "scan_events_per_s"),
        Row(operation: "as-of timeline query, first (cold)", unit: "ms", ledgerKey: "timeline_cold_ms", otherKey: nil),
        Row(operation: "as-of timeline query p50", unit: "ms", ledgerKey: "timeline_p50_ms", otherKey: nil),
        Row(operation: "as-of timeline query p99", unit: "ms", ledgerKey: "timeline_p99_ms", otherKey: nil),
        Row(operation: "verify", unit: "events/s", ledgerKey: "verify_events_per_s", otherKey: nil),
        Row(operation: "inclusion proof p50", unit: "µs", ledgerKey: "inclusion_proof_p50_us", otherKey: nil),
        Row(operation: "inclusion proof p99", unit: "µs", ledgerKey: "inclusion_proof_p99_us", otherKey: nil),
        Row(operation: "consistency proof p50", unit: "µs", ledgerKey: "consistency_proof_p50_us", otherKey: nil),
        Row(operation: "consistency proof p99", unit: "µs", ledgerKey: "consistency_proof_p99_us", otherKey: nil),
        Row(operation: "checkpoint signed and stored p50", unit: "µs", ledgerKey: "checkpoint_p50_us", otherKey: nil),
        Row(operation: "checkpoint signed and stored p99", unit: "µs", ledgerKey: "checkpoint_p99_us", otherKey: nil),
        Row(operation: "export (bundle of the whole ledger)", unit: "events/s", ledgerKey: "export_events_per_s", otherKey: nil),
        Row(operation: "restore (from that bundle)", unit: "events/s", ledgerKey: "restore_events_per_s", otherKey: nil),
        Row(operation: "HTTP durable appends (keep-alive clients)", unit: "events/s", ledgerKey: "http_append_events_per_s", otherKey: nil),
        Row(operation: "HTTP append p50", unit: "µs", ledgerKey: "http_append_p50_us", otherKey: nil),
        Row(operation: "HTTP append p99", unit: "µs", ledgerKey: "http_append_p99_us", otherKey: nil),
        Row(operation: "live delivery after the 201, p50", unit: "ms", ledgerKey: "sse_delay_p50_ms", otherKey: nil),
        Row(operation: "live delivery after the 201, p99", unit: "ms", ledgerKey: "sse_delay_p99_ms", otherKey: nil),
        Row(operation: "HTTP timeline request p50", unit: "ms", ledgerKey: "http_timeline_p50_ms", otherKey: nil),
        Row(operation: "HTTP timeline request p99", unit: "ms", ledgerKey: "http_timeline_p99_ms", otherKey: nil),
        Row(operation: "peak RSS, bulk import", unit: "MiB", ledgerKey: "bulk_peak_mib", otherKey: nil),
        Row(operation: "  of which anonymous (heap)", unit: "MiB", ledgerKey: "bulk_peak_anon_mib", otherKey: nil),
        Row(operation: "  of which mapped ledger file", unit: "MiB", ledgerKey: "bulk_peak_file_mib", otherKey: nil),
        Row(operation: "peak RSS, rebuild", unit: "MiB", ledgerKey: "rebuild_peak_mib", otherKey: nil),
        Row(operation: "  of which anonymous (heap)", unit: "MiB", ledgerKey: "rebuild_peak_anon_mib", otherKey: nil),
        Row(operation: "  of which mapped ledger file", unit: "MiB", ledgerKey: "rebuild_peak_file_mib", otherKey: nil),
    ]

    func other(_ system: String, _ key: String?) -> Double? { key.flatMap { others[system]?[$0] } }

    func ratio(_ a: Double?, _ b: Double?) -> Double? {
        guard let a, let b, b > 0 else { return nil }
        return a / b
    }

    /// The targets: what, the measured value, the bound, met or not.
    func targets() -> [(String, Double?, String, Bool?)] {
        let l = ledger
        let raw = others["raw-lmdb"] ?? [:]
        let sqlite = others["sqlite"] ?? [:]
        let es = others["eventsourcing"] ?? [:]
        func check(_ value: Double?, _ test: (Double) -> Bool) -> Bool? { value.map(test) }
        let single = ratio(l["single_events_per_s"], raw["single_events_per_s"])
        let concurrentSelf = ratio(l["concurrent_events_per_s"], l["single_events_per_s"])
        let concurrentSQLite = ratio(l["concurrent_events_per_s"], sqlite["single_events_per_s"])
        let bulk = ratio(l["bulk_events_per_s"], raw["bulk_events_per_s"])
        let replay = ratio(l["rebuild_events_per_s"], es["scan_events_per_s"])
        let restore = ratio(l["restore_events_per_s"], l["bulk_events_per_s"])
        let http = ratio(l["http_append_events_per_s"], l["concurrent_events_per_s"])
        return [
            ("single appends ÷ raw LMDB single commits", single, "≥ 0.8", check(single) { $0 >= 0.8 }),
            ("concurrent ÷ ledger single", concurrentSelf, "≥ 10", check(concurrentSelf) { $0 >= 10 }),
            ("concurrent ÷ SQLite single commits", concurrentSQLite, "> 1", check(concurrentSQLite) { $0 > 1 }),
            ("bulk import ÷ raw LMDB bulk", bulk, "≥ 0.3", check(bulk) { $0 >= 0.3 }),
            ("rebuild events/s", l["rebuild_events_per_s"], "≥ 1,000,000", check(l["rebuild_events_per_s"]) { $0 >= 1_000_000 }),
            ("rebuild ÷ eventsourcing replay", replay, "≥ 10", check(replay) { $0 >= 10 }),
            ("timeline query p99 (ms)", l["timeline_p99_ms"], "< 5", check(l["timeline_p99_ms"]) { $0 < 5 }),
            ("peak RSS, import (MiB)", l["bulk_peak_mib"], "< 300", check(l["bulk_peak_mib"]) { $0 < 300 }),
            (
                "peak anonymous memory, import (MiB)", l["bulk_peak_anon_mib"], "< 300",
                check(l["bulk_peak_anon_mib"]) { $0 < 300 }
            ),
            ("peak RSS, rebuild (MiB)", l["rebuild_peak_mib"], "< 300", check(l["rebuild_peak_mib"]) { $0 < 300 }),
            (
                "peak anonymous memory, rebuild (MiB)", l["rebuild_peak_anon_mib"], "< 300",
                check(l["rebuild_peak_anon_mib"]) { $0 < 300 }
            ),
            // Issue 8.
            (
                "inclusion proof p99 (µs)", l["inclusion_proof_p99_us"], "< 1000 (1 ms)",
                check(l["inclusion_proof_p99_us"]) { $0 < 1000 }
            ),
            (
                "consistency proof p99 (µs)", l["consistency_proof_p99_us"], "< 1000 (1 ms)",
                check(l["consistency_proof_p99_us"]) { $0 < 1000 }
            ),
            ("restore ÷ bulk import", restore, "≥ 1", check(restore) { $0 >= 1 }),
            // Issue 9.
            ("HTTP appends ÷ in-process concurrent appends", http, "≥ 0.5", check(http) { $0 >= 0.5 }),
            ("live delivery p99 (ms)", l["sse_delay_p99_ms"], "< 50", check(l["sse_delay_p99_ms"]) { $0 < 50 }),
        ]
    }

    func cell(_ value: Double?) -> String { value.map(fmt) ?? "–" }

    func markdown() -> String {
        var out =
            "# IncidentLedger benchmark\n\n\(events) events (\(singles) single appends, \(concurrent) concurrent appends from \(tasks) tasks); "
        out += "every write durable.\n\n"
        out +=
            "| operation | unit | ledger | raw LMDB | SQLite | eventsourcing | ledger ÷ raw LMDB | ledger ÷ SQLite | ledger ÷ eventsourcing |\n"
        out += "|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
        for row in Self.rows {
            let l = ledger[row.ledgerKey]
            let values = Self.systems.map { other($0, row.otherKey) }
            out += "| \(row.operation) | \(row.unit) | \(cell(l)) | " + values.map(cell).joined(separator: " | ") + " | "
            out += values.map { cell(ratio(l, $0)) }.joined(separator: " | ") + " |\n"
        }
        out += "\n| target | measured | bound | met |\n|---|---:|---|---|\n"
        for (name, value, bound, met) in targets() {
            out += "| \(name) | \(cell(value)) | \(bound) | \(met.map { $0 ? "yes" : "no" } ?? "not measured") |\n"
        }
        for note in treeCost() { out += "\n- \(note)" }
        for note in notes { out += "\n- \(note)" }
        return out + "\n"
    }

    /// What keeping the Merkle tree costs durable appends: the same appends on a ledger without it, same run.
    func treeCost() -> [String] {
        var lines: [String] = []
        for (name, key) in [("single appends", "single"), ("concurrent appends", "concurrent")] {
            guard let with = ledger["\(key)_events_per_s"], let without = ledger["\(key)_notree_events_per_s"] else { continue }
            lines.append(
                "the Merkle tree's cost on \(name): \(fmt(with)) events/s with it, \(fmt(without)) without (\(String(format: "%+.1f", (with / without - 1) * 100)) %)"
            )
        }
        return lines
    }

    func json() -> JSONValue {
        func object(_ figures: [String: Double]) -> JSONValue {
            .object(figures.compactMapValues { JSONNumber($0).map(JSONValue.number) })
        }
        var systems: [String: JSONValue] = ["ledger": object(ledger)]
        for (name, figures) in others { systems[name] = object(figures) }
        return .object([
            "events": .number(JSONNumber(events)), "singles": .number(JSONNumber(singles)),
            "concurrent": .number(JSONNumber(concurrent)), "tasks": .number(JSONNumber(tasks)), "systems": .object(systems),
            "targets": .array(
                targets().map { name, value, bound, met in
                    .object([
                        "target": .string(name), "measured": value.flatMap(JSONNumber.init).map(JSONValue.number) ?? .null,
                        "bound": .string(bound), "met": met.map(JSONValue.bool) ?? .null,
                    ])
                }),
        ])
    }

    /// Events per second per operation and system, on a log scale.
    func svg() -> String {
        let operations: [(String, String, String?)] = [
            ("single appends", "single_events_per_s", "single_events_per_s"),
            ("concurrent appends", "concurrent_events_per_s", nil),
            ("bulk import", "bulk_events_per_s", "bulk_events_per_s"),
            ("rebuild / scan / replay", "rebuild_events_per_s", "scan_events_per_s"),
            ("verify", "verify_events_per_s", nil),
            ("export", "export_events_per_s", nil),
            ("restore", "restore_events_per_s", nil),
        ]
        let colors = ["ledger": "#2c7fb8", "raw-lmdb": "#7f7f7f", "sqlite": "#f0a30a", "eventsourcing": "#a05195"]
        let names = ["ledger"] + Self.systems
        let width = 900.0, left = 180.0, barHeight = 14.0, groupGap = 18.0
        let maxLog = 7.0  // 10 million events/s
        var y = 50.0
        var body = ""
        for (label, ledgerKey, otherKey) in operations {
            body += "<text x=\"10\" y=\"\(y + 2 * barHeight)\" font-weight=\"bold\">\(label)</text>\n"
            for name in names {
                let value = name == "ledger" ? ledger[ledgerKey] : other(name, otherKey)
                if let value, value > 0 {
                    let w = max(1, (log10(value) / maxLog) * (width - left - 120))
                    body +=
                        "<rect x=\"\(left)\" y=\"\(y)\" width=\"\(w)\" height=\"\(barHeight - 2)\" fill=\"\(colors[name]!)\"/>"
                    body +=
                        "<text x=\"\(left + w + 4)\" y=\"\(y + barHeight - 4)\" font-size=\"11\">\(name): \(fmt(value))</text>\n"
                }
                y += barHeight
            }
            y += groupGap
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(y + 20))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <text x="10" y="24" font-size="15" font-weight="bold">Events per second (log scale), \(events) events, durable writes</text>
            \(body)</svg>

            """
    }
}
