import Crypto
import Foundation
import LMDB
import LedgerTestSupport
import Testing

@testable import EventStore

/// A format-2 ledger, as the previous build wrote it (Python's number spelling, no Merkle tree), is refused by
/// name and migrated into format 3 with its positions, ids and recordedAt.
@Suite("Migration from format 2")
struct MigrationTests {
    /// Writes a format-2 ledger of three events with LMDB directly, as the old build laid it out.
    func format2Ledger() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let environment = try Environment(directory: dir.path)
        let events = try environment.openDatabase("events")
        let meta = try environment.openDatabase("meta")
        var previous = String(repeating: "0", count: 64)
        let bodies = [
            #""payload":{"amount":2.0,"currency":"EUR"}"#, #""payload":{"amount":1e-05}"#, #""payload":{"text":"caf\u00e9"}"#,
        ]
        try environment.write { txn in
            try txn.put(meta, key: Array("format".utf8), value: Array("IncidentLedger event store, format 2".utf8))
            for (i, body) in bodies.enumerated() {
                let type = i == 2 ? "note.added" : "ransom.demanded"
                let json =
                    #"{"actor":"a","eventId":"0190f3a2-7b1c-7d4e-9f00-00000000000\#(i)","eventType":"\#(type)","occurredAt":{"at":"2024-01-15T00:00:00+01:00","precision":"day"},\#(body),"position":\#(i + 1),"previousHash":"\#(previous)","recordedAt":"2024-01-16T10:00:0\#(i).000000Z","schemaVersion":1,"source":"s","streamId":"incident:old","streamVersion":\#(i + 1)}"#
                let bytes = Array(json.utf8)
                let hash = Array(SHA256.hash(data: bytes))
                try txn.put(events, key: Keys.position(UInt64(i + 1)), value: hash + bytes)
                previous = hash.map { String(format: "%02x", $0) }.joined()
            }
        }
        return dir
    }

    @Test func aFormat2LedgerIsRefusedByNameAndMigratesKeepingWhatWasKnownWhen() throws {
        let old = try format2Ledger()
        let error = #expect(throws: EventStoreError.self) { try EventStore.open(at: old.path) }
        #expect(error?.description.contains("format 2; this build reads format 5") == true, "\(String(describing: error))")

        let new = TemporaryDirectory()
        let report = try EventStore.migrate(fromFormat2: old.path, into: new.path)
        #expect(report.events == 3)
        let store = try EventStore.open(at: new.path)
        #expect(try store.verify().isValid)
        let events = try store.allEvents()
        #expect(events.map(\.position) == [1, 2, 3])
        #expect(events.map(\.eventId.lowercasedString) == (0..<3).map { "0190f3a2-7b1c-7d4e-9f00-00000000000\($0)" })
        #expect(events.map(\.recordedAt.rfc3339Micros) == (0..<3).map { "2024-01-16T10:00:0\($0).000000Z" })
        #expect(events[0].payload["amount"] == .number(JSONNumber(2)))
        let meta = try store.readTransaction { txn in try txn.get(store.tables.meta, key: Array("migrated-from".utf8)) }
        #expect(
            meta.map { String(decoding: $0, as: UTF8.self) }?.contains("format 2, 3 events, head hash \(report.oldHeadHash)")
                == true)

        // Through the CLI too, and never into an existing directory.
        let cli = TemporaryDirectory()
        let migrated = try runProduct("ledger", ["migrate", "--from", old.path, "--data-dir", cli.path])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stdout.contains("migrated 3 events"))
        #expect(try runProduct("ledger", ["migrate", "--from", old.path, "--data-dir", cli.path]).status == 5)
    }

    @Test func aDamagedOldLedgerIsRefusedAndLeavesNothing() throws {
        let old = try format2Ledger()
        let environment = try Environment(directory: old.path)
        let events = try environment.openDatabase("events")
        try environment.write { txn in
            var value = try #require(try txn.get(events, key: Keys.position(2)))
            value[value.count - 3] ^= 0x01
            try txn.put(events, key: Keys.position(2), value: value)
        }
        let new = TemporaryDirectory()
        let error = #expect(throws: EventStoreError.self) { try EventStore.migrate(fromFormat2: old.path, into: new.path) }
        #expect(error?.description.contains("position 2: its stored hash is not that of its bytes") == true)
        #expect(!FileManager.default.fileExists(atPath: new.path))
    }
}
