// The child process of the crash and cross-process tests (Tests/EventStoreTests). Each mode prints what the test
// checks, one fact a line, and exits non-zero with one line on stderr when the store refuses something.
//
//   CrashChild DIRECTORY                      append in a loop (the SIGKILL test; the same as `append`)
//   CrashChild append [--not-durable] DIRECTORY
//       appends in a loop from several tasks (so group commits happen) and prints "ACK <position> <eventId>" once
//       each append has returned, i.e. is durable; the test (or the power-cut recorder) kills it. --not-durable opens the
//       store without syncing its commits (MDB_NOSYNC), for the test that shows the power-cut simulator catches it.
//   CrashChild check DIRECTORY
//       opens the ledger read-only, prints "EVENT <position> <eventId>" for every event and then "VERIFY valid <n>"
//       or "VERIFY invalid <problem>".
//   CrashChild grow DIRECTORY INITIAL TARGET
//       opens with a map of INITIAL bytes and appends large events until its map has grown to TARGET bytes, then
//       prints "GREW <map size> <last position>".
//   CrashChild hold DIRECTORY
//       holds a read transaction open, prints "READING", and waits inside it until it is killed.
import EventStore
import Foundation

let output = FileHandle.standardOutput

func say(_ line: String) {
    output.write(Data((line + "\n").utf8))
}

func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("CrashChild: \(message)\n".utf8))
    exit(status)
}

let usage = "usage: CrashChild [append [--not-durable] | check | grow | hold] DIRECTORY [INITIAL TARGET]"
var arguments = Array(CommandLine.arguments.dropFirst())
let modes = ["append", "check", "grow", "hold"]
let mode = arguments.first.flatMap { modes.contains($0) ? $0 : nil } ?? "append"
if arguments.first == mode { arguments.removeFirst() }

switch mode {
case "check":
    guard arguments.count == 1 else { fail(usage, status: 2) }
    check(arguments[0])
case "grow":
    guard arguments.count == 3, let initial = Int(arguments[1]), let target = Int(arguments[2]) else { fail(usage, status: 2) }
    await grow(arguments[0], initialMapSize: initial, target: target)
case "hold":
    guard arguments.count == 1 else { fail(usage, status: 2) }
    hold(arguments[0])
default:
    let durable = arguments.first != "--not-durable"
    if !durable { arguments.removeFirst() }
    guard arguments.count == 1 else { fail(usage, status: 2) }
    await appendForever(arguments[0], durable: durable)
}

func appendForever(_ directory: String, durable: Bool) async {
    var configuration = EventStoreConfiguration()
    configuration.environment.durable = durable
    let store: EventStore
    do {
        store =
            FileManager.default.fileExists(atPath: directory + "/data.mdb")
            ? try EventStore.open(at: directory, configuration: configuration)
            : try EventStore.create(at: directory, configuration: configuration)
    } catch {
        fail("\(error)")
    }
    // The test checks this word: the kill only proves durability of a store that syncs its commits.
    say("READY \(store.commitsAreDurable ? "durable" : "not-durable")")

    await withTaskGroup(of: Void.self) { group in
        for writer in 0..<4 {
            group.addTask {
                var n = 0
                while true {
                    n += 1
                    let id = UUID()
                    let event = ProposedEvent(
                        eventId: id, eventType: "note.added",
                        occurredAt: .instant(Timestamp(microseconds: 1_700_000_000_000_000 + Int64(n))),
                        actor: "crash-writer-\(writer)", source: "crash test",
                        payload: .object(["text": .string("append \(n) of writer \(writer)")]))
                    do {
                        let result = try await store.append([event], to: "incident:crash-\(writer)")
                        say("ACK \(result.positions[0]) \(id.uuidString)")
                    } catch {
                        fail("\(error)")
                    }
                }
            }
        }
    }
}

func check(_ directory: String) {
    do {
        let store = try EventStore.open(at: directory, readOnly: true)
        try store.read(.log()) { event in
            say("EVENT \(event.position) \(event.eventId.uuidString)")
            return true
        }
        let report = try store.verify()
        say(report.problem.map { "VERIFY invalid \($0)" } ?? "VERIFY valid \(report.eventsChecked)")
    } catch {
        fail("\(error)")
    }
}

func grow(_ directory: String, initialMapSize: Int, target: Int) async {
    var configuration = EventStoreConfiguration()
    configuration.environment.initialMapSize = initialMapSize
    do {
        let store = try EventStore.open(at: directory, configuration: configuration)
        // 48 KiB a payload: each event takes overflow pages, so a few dozen fill a small map.
        let text = String(repeating: "map growth ", count: 48 << 10 / 11)
        var n = 0
        while try store.statistics().mapSize < target {
            n += 1
            let event = ProposedEvent(
                eventType: "note.added", occurredAt: .instant(Timestamp(microseconds: 1_700_000_000_000_000)),
                actor: "grower", source: "crash test", payload: .object(["text": .string("\(n) \(text)")]))
            _ = try await store.append([event], to: "incident:grow")
        }
        say("GREW \(try store.statistics().mapSize) \(try store.lastPosition())")
    } catch {
        fail("\(error)")
    }
}

func hold(_ directory: String) {
    do {
        let store = try EventStore.open(at: directory)
        let held = try store.scanLog(fromPosition: 1, limit: 1) { _, _ in
            say("READING")
            // The read transaction, and its reader slot, stay taken until the test kills this process.
            while true { sleep(60) }
        }
        if held == nil { fail("\(directory): the ledger holds no event to read") }
    } catch {
        fail("\(error)")
    }
}
