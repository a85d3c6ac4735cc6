// Part 8 (issue 9): the HTTP service, `ledger serve` in its own process, driven over loopback sockets.
@testable import EventStore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A keep-alive HTTP/1.1 connection to loopback: requests one after the other, responses read by Content-Length.
final class KeepAliveClient {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw BenchError("connect to port \(port): errno \(errno)") }
    }

    deinit { close(fd) }

    func send(_ method: String, _ path: String, token: String, body: String = "", extra: String = "") throws {
        let bytes = Array(body.utf8)
        let head =
            "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\(extra)Content-Length: \(bytes.count)\r\n\r\n"
        let all = Array(head.utf8) + bytes
        var sent = 0
        while sent < all.count {
            let n = all[sent...].withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw BenchError("send: errno \(errno)") }
            sent += n
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { throw BenchError("recv: \(n == 0 ? "closed" : "errno \(errno)")") }
        buffer += chunk[..<n]
    }

    func line() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self).trimmingCharacters(in: .newlines)
                buffer.removeFirst(newline + 1)
                return line
            }
            try fill()
        }
    }

    /// Reads one response: its status and body.
    func response() throws -> (status: Int, body: String) {
        let status = Int(try line().split(separator: " ").dropFirst().first ?? "") ?? 0
        var length = 0
        while true {
            let header = try line()
            if header.isEmpty { break }
            if header.lowercased().hasPrefix("content-length:") {
                length = Int(header.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        while buffer.count < length { try fill() }
        let body = String(decoding: buffer[..<length], as: UTF8.self)
        buffer.removeFirst(length)
        return (status, body)
    }
}

/// `ledger serve` on a free port of loopback, killed when released.
final class Server {
    let process = Process()
    let port: Int

    init(_ binary: String, directory: String) throws {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--data-dir", directory, "--port", "0"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        var line: [UInt8] = []
        while let byte = try out.fileHandleForReading.read(upToCount: 1)?.first, byte != 0x0A { line.append(byte) }
        let text = String(decoding: line, as: UTF8.self)
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...].dropLast()) else {
            throw BenchError("ledger serve: unexpected first line \"\(text)\"")
        }
        self.port = port
    }

    /// CPU seconds (user + system) the server process has used so far.
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields 14 and 15 of stat (utime, stime), counted after the command name: 12 and 13 here.
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
    }
}

func issueToken(_ binary: String, _ directory: String, role: String) throws -> String {
    let run = try runMeasured(
        binary,
        [
            "token", "issue", "--data-dir", directory, "--name", "bench-\(role)@example.org", "--role", role,
            "--all-establishments",
        ])
    guard run.status == 0, let token = run.output.split(separator: "\n").first(where: { $0.hasPrefix("il_") }) else {
        throw BenchError("ledger token issue failed: \(run.output)")
    }
    return String(token)
}

func noteJSON(_ text: String, id: UUID) -> String {
    """
    {"eventId":"\(id.uuidString.lowercased())","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"bench","payload":{"text":"\(text)"}}
    """
}

/// Part 8: 64 keep-alive clients appending durable single events through the API; 100 live subscribers and
/// the delay from each append's 201 to its delivery; timeline requests on the big ledger.
func measureHTTP(
    binary: String, work: String, clients: Int, perClient: Int, bigLedger: String?, hospital: String, into report: inout Report
) throws {
    let directory = work + "/http"
    _ = try runMeasured(binary, ["init", "--data-dir", directory])
    let store = try EventStore.open(at: directory)
    for c in 0..<clients {
        let opened = ProposedEvent(
            eventId: UUID.timeOrdered(), eventType: "incident.opened",
            occurredAt: OccurredAt(precision: .day, start: Timestamp(rfc3339: "2024-01-15T00:00:00+01:00")!)!, actor: "bench",
            source: "bench", payload: .object(["title": .string("bench \(c)"), "establishments": .array([.string("440000289")])]))
        _ = try store.appendAtomically([AppendRequest(streamId: "incident:bench-\(c)", events: [opened])])
    }
    let token = try issueToken(binary, directory, role: "admin")
    let server = try Server(binary, directory: directory)
    let port = server.port

    // Appends: each client its own incident and connection.
    let latencies = Mutex<[Double]>([])
    let failures = Atomic<Int>(0)
    let cpuBefore = server.cpuSeconds
    let start = now()
    let threads = (0..<clients).map { c in
        Thread {
            guard let connection = try? KeepAliveClient(port: port) else {
                failures.add(perClient, ordering: .relaxed)
                return
            }
            var own: [Double] = []
            for i in 0..<perClient {
                let t = now()
                do {
                    try connection.send(
                        "POST", "/streams/incident:bench-\(c)/events", token: token,
                        body: noteJSON("n \(i)", id: UUID.timeOrdered()))
                    guard try connection.response().status == 201 else { throw BenchError("not 201") }
                    own.append((now() - t) * 1e6)
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
            latencies.withLock { $0 += own }
        }
    }
    threads.forEach { $0.start() }
    while threads.contains(where: { !$0.isFinished }) { usleep(1000) }
    let elapsed = now() - start
    let serverCPU = server.cpuSeconds - cpuBefore
    let samples = latencies.withLock { $0 }
    guard failures.load(ordering: .relaxed) == 0 else {
        throw BenchError("\(failures.load(ordering: .relaxed)) HTTP appends failed")
    }
    report.ledger["http_append_events_per_s"] = Double(samples.count) / elapsed
    report.ledger["http_append_p50_us"] = percentile(samples, 0.5)
    report.ledger["http_append_p99_us"] = percentile(samples, 0.99)
    report.notes.append(
        "HTTP appends: the server used \(fmt(serverCPU / Double(samples.count) * 1e6)) µs of CPU an append (\(fmt(serverCPU / elapsed * 100)) % of one core over the phase); the 64 clients run on the same two cores"
    )
    log(
        "HTTP appends (\(clients) keep-alive clients): server CPU \(fmt(serverCPU / Double(samples.count) * 1e6)) µs an append, \(fmt(report.ledger["http_append_events_per_s"]!)) events/s, p50 \(fmt(percentile(samples, 0.5))) µs, p99 \(fmt(percentile(samples, 0.99))) µs"
    )

    // Live subscribers: each reads from the head on; one writer appends at a steady pace.
    let subscribers = 100
    let deliveries = 200
    let head = try store.lastPosition()
    let acked = Mutex<[String: Double]>([:])
    let received = Mutex<[(String, Double)]>([])
    let ready = Atomic<Int>(0)
    let readers = (0..<subscribers).map { _ in
        Thread {
            guard let connection = try? KeepAliveClient(port: port) else { return }
            do {
                try connection.send("GET", "/events/live?from=\(head + 1)", token: token)
                while try connection.line() != "" {}  // the response head
                _ = ready.add(1, ordering: .relaxed)
                var own: [(String, Double)] = []
                while own.count < deliveries {
                    let line = try connection.line()
                    guard line.hasPrefix("data: "), let range = line.range(of: "\"eventId\":\"") else { continue }
                    let id = String(line[range.upperBound...].prefix(36))
                    own.append((id, now()))
                }
                received.withLock { $0 += own }
            } catch {}
        }
    }
    readers.forEach { $0.start() }
    while ready.load(ordering: .relaxed) < subscribers { usleep(1000) }
    let writer = try KeepAliveClient(port: port)
    for i in 0..<deliveries {
        let id = UUID.timeOrdered()
        try writer.send("POST", "/streams/incident:bench-0/events", token: token, body: noteJSON("live \(i)", id: id))
        guard try writer.response().status == 201 else { throw BenchError("live append not 201") }
        let t = now()
        acked.withLock { $0[id.uuidString.lowercased()] = t }
        usleep(10_000)
    }
    let deadline = now() + 30
    while readers.contains(where: { !$0.isFinished }), now() < deadline { usleep(1000) }
    let acks = acked.withLock { $0 }
    let all = received.withLock { $0 }
    let delays = all.compactMap { id, at in acks[id].map { max(0, (at - $0) * 1e3) } }
    let early = all.filter { id, at in acks[id].map { at < $0 } ?? false }.count
    guard delays.count == subscribers * deliveries else {
        throw BenchError("live: \(delays.count) deliveries of \(subscribers * deliveries)")
    }
    report.ledger["sse_delay_p50_ms"] = percentile(delays, 0.5)
    report.ledger["sse_delay_p99_ms"] = percentile(delays, 0.99)
    report.notes.append(
        "live subscriptions: \(subscribers) subscribers × \(deliveries) events appended every 10 ms through the API; delay from the writer's 201 to each delivery (\(early) of \(delays.count) deliveries arrived before the writer read its 201 and count as 0)"
    )
    log(
        "live delivery (\(subscribers) subscribers): p50 \(fmt(percentile(delays, 0.5))) ms, p99 \(fmt(percentile(delays, 0.99))) ms"
    )

    // Timeline requests on the big ledger, through the API, at random as-of times.
    guard let bigLedger else { return }
    let auditor = try issueToken(binary, bigLedger, role: "auditor")
    let big = try Server(binary, directory: bigLedger)
    let connection = try KeepAliveClient(port: big.port)
    var random = Workload.Random(state: 99)
    var timelines: [Double] = []
    for q in 0..<201 {
        let day = 1 + random.below(400)
        let asOf = Timestamp(
            microseconds: Timestamp(rfc3339: "2024-01-01T00:00:00+01:00")!.microseconds + Int64(day) * 86_400_000_000)
        let t = now()
        try connection.send(
            "GET", "/establishments/\(hospital)/timeline?asOf=\(asOf.rfc3339.replacingOccurrences(of: "+", with: "%2B"))",
            token: auditor)
        let answer = try connection.response()
        guard answer.status == 200 else { throw BenchError("timeline: HTTP \(answer.status): \(answer.body.prefix(200))") }
        if q > 0 { timelines.append((now() - t) * 1e3) }
    }
    report.ledger["http_timeline_p50_ms"] = percentile(timelines, 0.5)
    report.ledger["http_timeline_p99_ms"] = percentile(timelines, 0.99)
    log("HTTP timeline requests: p50 \(fmt(percentile(timelines, 0.5))) ms, p99 \(fmt(percentile(timelines, 0.99))) ms")
}
