import Foundation
import LedgerTestSupport
import Testing

@testable import EventStore

@Suite("Durability and tampering", .serialized)
struct DurabilityTests {
    /// A child appends in a loop and prints each acknowledged position; SIGKILL at a random moment must
    /// lose none of them, and the reopened ledger must verify.
    @Test(arguments: 1...5)
    func everyAcknowledgedAppendSurvivesSIGKILL(round: Int) throws {
        let dir = TemporaryDirectory()
        var acknowledged: [(UInt64, UUID)] = []
        // Two lives of the child in the same directory: the second one appends after a crash too.
        for life in 0..<2 {
            let child = Process()
            child.executableURL = productsDirectory().appendingPathComponent("CrashChild")
            child.arguments = [dir.path]
            let pipe = Pipe()
            child.standardOutput = pipe
            try child.run()
            let reader = pipe.fileHandleForReading
            var output = Data()
            // Wait until it is ready, then let it run for a random while before killing it.
            while !String(decoding: output, as: UTF8.self).contains("READY") {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                output.append(chunk)
            }
            // A store that does not sync its commits would survive a kill through the page cache and lose its
            // acknowledged appends in a power cut: the test holds only for a durable one.
            #expect(String(decoding: output, as: UTF8.self).contains("READY durable\n"))
            let deadline = Date().addingTimeInterval(Double.random(in: 0.05...0.4) + Double(life) * 0.05)
            while Date() < deadline {
                output.append(reader.availableData)
            }
            kill(child.processIdentifier, SIGKILL)
            output.append(reader.readDataToEndOfFile())
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal)
            // Only whole lines count: the last one may have been cut by the kill.
            let text = String(decoding: output, as: UTF8.self)
            let lines = text.hasSuffix("\n") ? text.split(separator: "\n") : text.split(separator: "\n").dropLast()
            for line in lines where line.hasPrefix("ACK ") {
                let parts = line.split(separator: " ")
                acknowledged.append((UInt64(parts[1])!, UUID(uuidString: String(parts[2]))!))
            }
        }
        #expect(acknowledged.count > 0, "the child acknowledged nothing before it was killed")
        let store = try EventStore.open(at: dir.path)
        for (position, id) in acknowledged {
            let event = try store.event(id: id)
            #expect(event?.position == position, "acknowledged event \(id) at \(position) is missing")
        }
        let report = try store.verify()
        #expect(report.isValid, "\(report.problem?.description ?? "")")
        #expect(report.eventsChecked >= UInt64(acknowledged.count))
    }

    /// LMDB's own flags say whether commits sync: a ledger is durable by default, created or reopened, and only
    /// a store configured otherwise is not.
    @Test func aLedgerCommitsDurablyUnlessConfiguredNot() throws {
        let dir = TemporaryDirectory()
        #expect(try EventStore.create(at: dir.path).commitsAreDurable)
        #expect(try EventStore.open(at: dir.path).commitsAreDurable)
        var fast = EventStoreConfiguration()
        fast.environment.durable = false
        #expect(try !EventStore.create(at: TemporaryDirectory().path, configuration: fast).commitsAreDurable)
    }

    /// Changing one byte of one stored event inside data.mdb must make verify name that position.
    @Test func verifyNamesThePositionOfATamperedEvent() async throws {
        let dir = TemporaryDirectory()
        do {
            let store = try EventStore.create(at: dir.path)
            for i in 1...40 {
                let text = i == 23 ? "TAMPER-TARGET the complaint was filed on Monday" : "ordinary fact \(i)"
                _ = try await store.append([note(text)], to: "incident:tamper")
            }
            #expect(try store.verify().isValid)
        }
        let file = URL(fileURLWithPath: dir.path + "/data.mdb")
        var bytes = try Data(contentsOf: file)
        // "Monday" becomes "Sunday": still valid JSON, a different fact. Copy-on-write leaves stale copies
        // of the page in free space, so every copy changes: one of them is the live one.
        let changed = replaceAll(in: &bytes, Data("filed on Monday".utf8), with: Data("filed on Sunday".utf8))
        #expect(changed >= 1)
        try bytes.write(to: file)

        let store = try EventStore.open(at: dir.path)
        let report = try store.verify()
        #expect(report.problem?.position == 23)
        #expect(report.problem?.message.contains("hash mismatch") == true)
        #expect(report.eventsChecked == 22)
    }

    @Test func verifyNamesThePositionWhoseBytesNoLongerDecode() async throws {
        let dir = TemporaryDirectory()
        do {
            let store = try EventStore.create(at: dir.path)
            for i in 1...10 { _ = try await store.append([note(i == 7 ? "BREAK-HERE" : "fact \(i)")], to: "incident:t") }
        }
        let file = URL(fileURLWithPath: dir.path + "/data.mdb")
        var bytes = try Data(contentsOf: file)
        // The JSON no longer parses.
        #expect(replaceAll(in: &bytes, Data("\"BREAK-HERE\"".utf8), with: Data("{BREAK-HERE\"".utf8)) >= 1)
        try bytes.write(to: file)
        let report = try EventStore.open(at: dir.path).verify()
        #expect(report.problem?.position == 7)
    }
}

/// Replaces every occurrence of `target` (same length as `replacement`); returns how many.
private func replaceAll(in bytes: inout Data, _ target: Data, with replacement: Data) -> Int {
    var count = 0
    var searchStart = bytes.startIndex
    while let range = bytes.range(of: target, in: searchStart..<bytes.endIndex) {
        bytes.replaceSubrange(range, with: replacement)
        searchStart = range.upperBound
        count += 1
    }
    return count
}
