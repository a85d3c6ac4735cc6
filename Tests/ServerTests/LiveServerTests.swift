import EventStore
import Foundation
import IncidentDomain
import LedgerServer
import LedgerTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `ledger serve` as a child process on a real loopback socket.
@Suite(.serialized, .timeLimit(.minutes(2))) struct LiveServerTests {
    /// The server answers over TCP, sees what the CLI appends to the same directory meanwhile, and exits 0 on SIGTERM.
    @Test func servesOverASocketBesideTheCLI() throws {
        let ledger = try TwoHospitals()
        let server = try ServerProcess(directory: ledger.directory.path)
        let recorder = ledger.tokens["recorder"]!
        #expect(try SocketClient.request(port: server.port, "GET", "/healthz").status == 200)
        #expect(try SocketClient.request(port: server.port, "GET", "/whoami").status == 401)
        let posted = try SocketClient.request(
            port: server.port, "POST", "/streams/\(TwoHospitals.incidentA)/events", token: recorder, body: noteBody("over TCP"))
        #expect(posted.status == 201, "\(posted.body)")
        let cli = try runProduct(
            "ledger",
            [
                "record", "note.added", "--data-dir", ledger.directory.path, "--incident", TwoHospitals.incidentA, "--at",
                "2024-01-16",
                "--source", "CLI", "--set", "text=from the CLI while the server runs", "--actor", "scribe@chu-nantes.fr",
            ])
        #expect(cli.status == 0, "\(cli.stderr)")
        let log = try SocketClient.request(port: server.port, "GET", "/streams/\(TwoHospitals.incidentA)/events", token: recorder)
        #expect(log.body.contains("over TCP") && log.body.contains("from the CLI while the server runs"))
        server.kill(SIGTERM)
        #expect(server.wait() == 0)
    }

    /// A subscriber that drops mid-stream and resumes with Last-Event-ID gets every event once, in order,
    /// including those another process appended, and new events as they commit.
    @Test func liveSubscriptionResumesWithoutGapsOrDuplicates() throws {
        let ledger = try TwoHospitals()
        let server = try ServerProcess(directory: ledger.directory.path)
        let auditor = ledger.tokens["auditorAll"]!
        let recorder = ledger.tokens["recorder"]!
        for i in 0..<5 {
            _ = try SocketClient.request(
                port: server.port, "POST", "/streams/\(TwoHospitals.incidentA)/events", token: recorder,
                body: noteBody("before \(i)"))
        }
        var received: [UInt64] = []
        let first = try SocketClient(port: server.port)
        try first.send("GET", "/events/live?from=1", headers: ["Authorization": "Bearer \(auditor)"])
        #expect(try first.head().status == 200)
        received += try first.events(count: 7).map(\.id)
        // Dropped. Meanwhile another process (the CLI) and the API append.
        let cli = try runProduct(
            "ledger",
            [
                "record", "note.added", "--data-dir", ledger.directory.path, "--incident", TwoHospitals.incidentB, "--at",
                "2024-01-16",
                "--source", "CLI", "--set", "text=while nobody listened",
            ])
        #expect(cli.status == 0, "\(cli.stderr)")
        let second = try SocketClient(port: server.port)
        try second.send(
            "GET", "/events/live?from=1", headers: ["Authorization": "Bearer \(auditor)", "Last-Event-ID": "\(received.last!)"])
        #expect(try second.head().status == 200)
        let head = try ledger.store.lastPosition()
        received += try second.events(count: Int(head) - received.count).map(\.id)
        // Now live: an event appended after the subscriber caught up reaches it.
        _ = try SocketClient.request(
            port: server.port, "POST", "/streams/\(TwoHospitals.incidentA)/events", token: recorder, body: noteBody("live"))
        let live = try second.events(count: 1)
        #expect(live.first?.data.contains("\"live\"") == true)
        received += live.map(\.id)
        #expect(received == Array(1...(head + 1)), "every position once, in order")

        // A reader of A sees only A's incident and A's registration, never B's events nor the tokens.
        let reader = try SocketClient(port: server.port)
        try reader.send("GET", "/events/live?from=1", headers: ["Authorization": "Bearer \(ledger.tokens["reader"]!)"])
        _ = try reader.head()
        let seen = try reader.events(count: 9)
        #expect(
            seen.allSatisfy { $0.data.contains(TwoHospitals.incidentA) || $0.data.contains("establishment:\(TwoHospitals.a)") })

        // Filtered by establishment: B's registration, its incident's three events, nothing else.
        let filtered = try SocketClient(port: server.port)
        try filtered.send(
            "GET", "/events/live?from=1&establishment=\(TwoHospitals.b)", headers: ["Authorization": "Bearer \(auditor)"])
        _ = try filtered.head()
        let ofB = try filtered.events(count: 4)
        #expect(ofB.count == 4)
        #expect(
            ofB.allSatisfy { $0.data.contains(TwoHospitals.incidentB) || $0.data.contains("establishment:\(TwoHospitals.b)") })
    }

    /// Clients append concurrently; SIGKILL at a random moment; every event that got a 201 is in the ledger
    /// after the restart, and verify passes. Several rounds on the same ledger.
    @Test(arguments: 0..<3) func everyAcknowledgedAppendSurvivesSIGKILL(round: Int) throws {
        let ledger = try TwoHospitals()
        let recorder = ledger.tokens["recorder"]!
        var acknowledged: [UUID] = []
        for restart in 0..<2 {
            let server = try ServerProcess(directory: ledger.directory.path)
            let appenders = Appenders(port: server.port, token: recorder, text: "round \(round).\(restart)")
            usleep(UInt32.random(in: 200_000...900_000))
            server.kill(SIGKILL)
            _ = server.wait()
            acknowledged += appenders.stop().acknowledged
        }
        #expect(acknowledged.count > 0, "some appends were acknowledged before the kill")
        let reopened = try EventStore.open(at: ledger.directory.path)
        for id in acknowledged { #expect(try reopened.position(of: id) != nil, "acknowledged \(id) is missing") }
        #expect(try reopened.verify().isValid)
        let verify = try runProduct("ledger", ["verify", "--data-dir", ledger.directory.path])
        #expect(verify.status == 0, "\(verify.stderr)")
    }

    /// SIGTERM while clients append: the server exits 0, and every append it answered 201 is stored.
    @Test func sigtermFinishesInFlightAppendsAndExitsZero() throws {
        let ledger = try TwoHospitals()
        let recorder = ledger.tokens["recorder"]!
        let server = try ServerProcess(directory: ledger.directory.path)
        let appenders = Appenders(port: server.port, token: recorder, text: "before shutdown")
        usleep(400_000)
        server.kill(SIGTERM)
        #expect(server.wait() == 0)
        let (ids, statuses) = appenders.stop()
        #expect(statuses.isSubset(of: [201, 503]), "\(statuses)")
        let reopened = try EventStore.open(at: ledger.directory.path)
        #expect(!ids.isEmpty)
        for id in ids { #expect(try reopened.position(of: id) != nil) }
    }

    /// `ledger --server URL --token T` records on the service and prints the views exactly as a local run does.
    @Test func theCLIWorksAsAClientOfTheService() throws {
        let ledger = try TwoHospitals()
        let server = try ServerProcess(directory: ledger.directory.path)
        let url = "http://127.0.0.1:\(server.port)/"
        let recorder = ledger.tokens["recorder"]!
        let remote = ["--server", url, "--token", recorder]
        let recorded = try runProduct(
            "ledger",
            remote + [
                "record", "service.degraded", "--incident", TwoHospitals.incidentA, "--at", "2024-01-15 03:00", "--source",
                "IT desk",
                "--set", "establishment=\(TwoHospitals.a)", "--set", "service=laboratory", "--set", "status=down",
            ])
        #expect(recorded.status == 0, "\(recorded.stderr)")
        #expect(recorded.stdout.hasPrefix("recorded service.degraded at position"))
        let stored = try ledger.store.event(at: try ledger.store.lastPosition())!
        #expect(stored.actor == "recorder@chu-nantes.fr" && stored.eventType == "service.degraded")

        // Refusals keep the local exit codes and change nothing.
        let before = try ledger.store.lastPosition()
        let bad = try runProduct(
            "ledger",
            remote + [
                "record", "service.degraded", "--incident", TwoHospitals.incidentA, "--at", "2024-01-15 03:00", "--source", "IT",
                "--set", "establishment=\(TwoHospitals.a)", "--set", "service=laboratory", "--set", "status=gone",
            ])
        #expect(bad.status == 3 && bad.stderr.contains("\"gone\" is not one of"), "\(bad.stderr)")
        let other = try runProduct(
            "ledger",
            remote + [
                "record", "note.added", "--incident", TwoHospitals.incidentB, "--at", "2024-01-16", "--source", "x", "--set",
                "text=y",
            ])
        #expect(other.status == 3 && other.stderr.contains("no such incident (of those you reach)"), "\(other.stderr)")
        let directoryOnly = try runProduct("ledger", remote + ["export", "--output", "/tmp/x"])
        #expect(directoryOnly.status == 2, "\(directoryOnly.stderr)")
        #expect(try ledger.store.lastPosition() == before)

        // The views through the server are the local views (scoped to what the token reaches).
        for view in [
            ["state", "--incident", TwoHospitals.incidentA], ["state", "--incident", TwoHospitals.incidentA, "--format", "json"],
            ["timeline", "--hospital", TwoHospitals.a, "--as-of", "2024-01-15 12:00"],
            ["timeline", "--hospital", TwoHospitals.a, "--format", "svg", "--as-of", "2024-01-20"],
            ["deadlines", "--incident", TwoHospitals.incidentA, "--format", "json", "--as-of", "2024-01-16"],
            ["deadlines", "--due-within", "3d", "--status", "overdue", "--status", "running", "--as-of", "2024-01-16 12:00"],
            ["deadlines", "--due-within", "30m", "--format", "json", "--as-of", "2024-01-16 12:00"],
            ["audit", "--incident", TwoHospitals.incidentA],
        ] {
            let local = try runProduct("ledger", view + ["--data-dir", ledger.directory.path])
            let through = try runProduct("ledger", view, environment: ["LEDGER_SERVER": url, "LEDGER_TOKEN": recorder])
            #expect(local.status == 0 && through.status == 0, "\(view): \(local.stderr) \(through.stderr)")
            #expect(through.stdout == local.stdout, "\(view.joined(separator: " ")) differs through --server")
        }
    }
}

/// Four clients appending notes to incident A in a loop, one connection a request, until stopped: the event ids
/// the server answered 201, and every status it gave.
final class Appenders {
    /// What the client threads share.
    final class Tally: Sendable {
        let acks = Mutex<[UUID]>([])
        let statuses = Mutex<Set<Int>>([])
        let stopping = Atomic<Bool>(false)
    }
    private let tally = Tally()
    private var threads: [Thread] = []

    init(port: Int, token: String, text: String) {
        let tally = tally
        threads = (0..<4).map { client in
            Thread {
                while !tally.stopping.load(ordering: .relaxed) {
                    let id = UUID.timeOrdered()
                    guard
                        let response = try? SocketClient.request(
                            port: port, "POST", "/streams/\(TwoHospitals.incidentA)/events", token: token,
                            body: noteBody("\(text) client \(client)", id: id))
                    else { continue }
                    tally.statuses.withLock { _ = $0.insert(response.status) }
                    if response.status == 201 { tally.acks.withLock { $0.append(id) } }
                }
            }
        }
        threads.forEach { $0.start() }
    }

    func stop() -> (acknowledged: [UUID], statuses: Set<Int>) {
        tally.stopping.store(true, ordering: .relaxed)
        while threads.contains(where: { !$0.isFinished }) { usleep(10_000) }
        return (tally.acks.withLock { $0 }, tally.statuses.withLock { $0 })
    }
}
