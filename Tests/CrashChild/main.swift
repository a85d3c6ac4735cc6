// The crash test's child: appends events in a loop from several tasks (so group commits happen) and
// prints "ACK <position> <eventId>" once each append has returned, i.e. is durable. The test kills it
// with SIGKILL at a random moment and checks that every acknowledged event survived.
import EventStore
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: CrashChild DIRECTORY\n".utf8))
    exit(2)
}
let directory = arguments[1]
let store: EventStore
do {
    store =
        FileManager.default.fileExists(atPath: directory + "/data.mdb")
        ? try EventStore.open(at: directory) : try EventStore.create(at: directory)
} catch {
    FileHandle.standardError.write(Data("CrashChild: \(error)\n".utf8))
    exit(1)
}
let output = FileHandle.standardOutput
// The test checks this word: the kill only proves durability of a store that syncs its commits.
output.write(Data("READY \(store.commitsAreDurable ? "durable" : "not-durable")\n".utf8))

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
                    output.write(Data("ACK \(result.positions[0]) \(id.uuidString)\n".utf8))
                } catch {
                    FileHandle.standardError.write(Data("CrashChild: \(error)\n".utf8))
                    exit(1)
                }
            }
        }
    }
}
