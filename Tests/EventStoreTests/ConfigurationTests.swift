import EventStore
import Foundation
import LedgerTestSupport
import Testing

/// Settings that cannot work are refused when the store opens, naming the field, instead of every append
/// hanging (a group of zero requests never commits one; issue 11).
@Suite struct ConfigurationTests {
    @Test(arguments: [(0, 1 << 20, "maximumGroupSize"), (-3, 1 << 20, "maximumGroupSize"), (1024, 0, "payloadLimit")])
    func impossibleSettingsAreRefusedNamingTheField(group: Int, limit: Int, field: String) throws {
        var configuration = EventStoreConfiguration()
        configuration.maximumGroupSize = group
        configuration.payloadLimit = limit
        let dir = TemporaryDirectory()
        #expect(throws: EventStoreError.self) { try EventStore.create(at: dir.path, configuration: configuration) }
        do {
            _ = try EventStore.create(at: dir.path, configuration: configuration)
        } catch let error as EventStoreError {
            #expect(error.field == field && error.message.contains("must be at least"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/data.mdb"), "nothing was created")
        _ = try EventStore.create(at: dir.path)
        #expect(throws: EventStoreError.self) { try EventStore.open(at: dir.path, configuration: configuration) }
    }

    /// A group of one still commits: the smallest valid setting works.
    @Test func aGroupOfOneCommits() async throws {
        var configuration = EventStoreConfiguration()
        configuration.maximumGroupSize = 1
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path, configuration: configuration)
        async let first = store.append([note("one")], to: "incident:test")
        async let second = store.append([note("two")], to: "incident:test")
        let positions = try await [first.positions[0], second.positions[0]].sorted()
        #expect(positions == [1, 2])
    }
}
