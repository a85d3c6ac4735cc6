import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Monotonic seconds.
func now() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// The value at `fraction` of sorted `samples` (nearest rank).
func percentile(_ samples: [Double], _ fraction: Double) -> Double {
    guard !samples.isEmpty else { return .nan }
    let sorted = samples.sorted()
    let rank = max(1, Int((fraction * Double(sorted.count)).rounded(.up)))
    return sorted[min(rank, sorted.count) - 1]
}

/// A finished child process: exit status, wall time, peak resident memory and what it printed.
struct ChildRun {
    let status: Int32
    let seconds: Double
    /// VmHWM in /proc/PID/status, the high-water mark of the child's own resident set (the ledger file's
    /// pages mapped by LMDB included), read every 10 ms until it exits. Not ru_maxrss: posix_spawn starts
    /// the child in the parent's address space, and Linux keeps that address space's peak as the child's
    /// ru_maxrss across exec, so it reports at least the benchmark's own RSS.
    let peakMemoryMiB: Double
    /// The peak of RssAnon in /proc/PID/status, sampled every 10 ms: the process's own heap and stacks,
    /// without the file pages LMDB maps (page cache the kernel can drop at any time).
    let peakAnonymousMiB: Double
    /// The peak of RssFile: the mapped pages of the ledger file and of the binaries.
    let peakFileMiB: Double
    let output: String
}

/// VmHWM, RssAnon and RssFile of a live process, in KiB.
func residentMemory(_ pid: pid_t) -> (highWater: Double, anonymous: Double, file: Double)? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    var highWater = 0.0
    var anonymous = 0.0
    var file = 0.0
    for line in status.split(separator: "\n") {
        let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if parts.first == "VmHWM:", parts.count > 1 { highWater = Double(parts[1]) ?? 0 }
        if parts.first == "RssAnon:", parts.count > 1 { anonymous = Double(parts[1]) ?? 0 }
        if parts.first == "RssFile:", parts.count > 1 { file = Double(parts[1]) ?? 0 }
    }
    return (highWater, anonymous, file)
}

/// Runs a program with posix_spawn, samples its memory until it exits, and waits for it.
func runMeasured(_ program: String, _ arguments: [String]) throws -> ChildRun {
    let outputPath = NSTemporaryDirectory() + "bench-child-\(UUID().uuidString).txt"
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let start = now()
    let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
    guard spawned == 0 else { throw BenchError("cannot start \(program): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    var usage = rusage()
    var peak = 0.0
    var peakAnonymous = 0.0
    var peakFile = 0.0
    while true {
        let done = wait4(pid, &status, WNOHANG, &usage)
        if done == pid { break }
        if done < 0 && errno != EINTR { break }
        // `ledger` runs each command in a supervised child: the process that imports is the child, so its
        // figures are sampled with the parent's, and the largest kept.
        for process in [pid] + children(of: pid) {
            if let memory = residentMemory(process) {
                peak = max(peak, memory.highWater)
                peakAnonymous = max(peakAnonymous, memory.anonymous)
                peakFile = max(peakFile, memory.file)
            }
        }
        usleep(10_000)
    }
    let seconds = now() - start
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    return ChildRun(
        status: exitStatus, seconds: seconds, peakMemoryMiB: peak / 1024,
        peakAnonymousMiB: peakAnonymous / 1024, peakFileMiB: peakFile / 1024, output: output)
}

/// The direct children of `pid`, from /proc (empty when the kernel does not list them).
func children(of pid: pid_t) -> [pid_t] {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else { return [] }
    return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
