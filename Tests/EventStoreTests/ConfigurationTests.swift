import EventStore
import Foundation
import LedgerTestSupport
import Testing

/// One setting out of its bounds, the field its error must name and a phrase of the reason.
struct OutOfBounds: Sendable, CustomTestStringConvertible {
    let field: String
    let reason: String
    let value: String
    let change: @Sendable (inout EventStoreConfiguration) -> Void

    init(
        _ field: String, _ value: String, _ reason: String, _ change: @escaping @Sendable (inout EventStoreConfiguration) -> Void
    ) {
        (self.field, self.value, self.reason, self.change) = (field, value, reason, change)
    }

    var testDescription: String { "\(field) = \(value)" }
}

/// Settings that cannot work are refused when the store opens, naming the field, instead of every append
/// hanging (a group of zero requests never commits one; issue 11), LMDB failing later with a message that names no
/// setting, or a lock file of hundreds of gigabytes.
@Suite struct ConfigurationTests {
    static let outOfBounds: [OutOfBounds] = [
        OutOfBounds("maximumGroupSize", "0", "must be at least 1") { $0.maximumGroupSize = 0 },
        OutOfBounds("maximumGroupSize", "-3", "must be at least 1") { $0.maximumGroupSize = -3 },
        OutOfBounds("payloadLimit", "0", "must be at least 1 byte") { $0.payloadLimit = 0 },
        OutOfBounds("environment.initialMapSize", "0", "must be at least 1 byte") { $0.environment.initialMapSize = 0 },
        OutOfBounds("environment.initialMapSize", "-1", "must be at least 1 byte") { $0.environment.initialMapSize = -1 },
        OutOfBounds("environment.initialMapSize", "above the maximum", "must be at most environment.maximumMapSize") {
            $0.environment.initialMapSize = 8 << 20
            $0.environment.maximumMapSize = 4 << 20
        },
        OutOfBounds("environment.maximumMapSize", "Int.max", "must be at most") { $0.environment.maximumMapSize = .max },
        OutOfBounds("environment.maximumDatabases", "10", "must be at least 11") { $0.environment.maximumDatabases = 10 },
        OutOfBounds("environment.maximumDatabases", "UInt32.max", "must be at most") { $0.environment.maximumDatabases = .max },
        OutOfBounds("environment.maximumReaders", "0", "must be at least 1") { $0.environment.maximumReaders = 0 },
        OutOfBounds("environment.maximumReaders", "UInt32.max", "must be at most") { $0.environment.maximumReaders = .max },
        OutOfBounds("environment.fileMode", "0o200", "must let the owner read and write") { $0.environment.fileMode = 0o200 },
        OutOfBounds("environment.fileMode", "0o4600", "only permission bits") { $0.environment.fileMode = 0o4600 },
        OutOfBounds("origin", "empty", "the origin is empty") { $0.origin = "" },
        OutOfBounds("origin", "a line feed", "control character") { $0.origin = "example.org/a\nb" },
    ]

    @Test(arguments: outOfBounds)
    func impossibleSettingsAreRefusedNamingTheField(_ setting: OutOfBounds) throws {
        var configuration = EventStoreConfiguration()
        setting.change(&configuration)
        let dir = TemporaryDirectory()
        let error = #expect(throws: EventStoreError.self) { try EventStore.create(at: dir.path, configuration: configuration) }
        #expect(error?.field == setting.field && error?.message.contains(setting.reason) == true, "\(String(describing: error))")
        #expect(error.map { !"\($0)".contains("\n") } == true, "one line")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/data.mdb"), "nothing was created")
        _ = try EventStore.create(at: dir.path)
        #expect(throws: EventStoreError.self) { try EventStore.open(at: dir.path, configuration: configuration) }
    }

    /// The bounds themselves are settings that work: a ledger created with each appends and reopens.
    @Test(arguments: [
        "maximumGroupSize = 1", "maximumDatabases = 11", "maximumReaders = 1", "initialMapSize = maximumMapSize",
        "fileMode = 0o600",
    ])
    func theBoundsThemselvesWork(_ setting: String) async throws {
        var configuration = EventStoreConfiguration()
        switch setting {
        case "maximumGroupSize = 1": configuration.maximumGroupSize = 1
        case "maximumDatabases = 11": configuration.environment.maximumDatabases = 11
        case "maximumReaders = 1": configuration.environment.maximumReaders = 1
        case "initialMapSize = maximumMapSize":
            configuration.environment.initialMapSize = 1 << 20
            configuration.environment.maximumMapSize = 1 << 20
        default: configuration.environment.fileMode = 0o600
        }
        let dir = TemporaryDirectory()
        do {
            let store = try EventStore.create(at: dir.path, configuration: configuration)
            _ = try await store.append([note("within bounds")], to: "incident:test")
        }
        #expect(try EventStore.open(at: dir.path, configuration: configuration).lastPosition() == 1)
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
