// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "IncidentLedger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ledger", targets: ["LedgerCLI"]),
        .library(name: "EventStore", targets: ["EventStore"]),
        .library(name: "IncidentDomain", targets: ["IncidentDomain"]),
        .library(name: "Projections", targets: ["Projections"]),
        .library(name: "ProjectionRunner", targets: ["ProjectionRunner"]),
        .library(name: "LedgerProofs", targets: ["LedgerProofs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // Debian's liblmdb-dev, found through pkg-config; nothing vendored.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // The only module that calls the C API. Not a product: its API is `package`, for EventStore alone (only
        // EnvironmentConfiguration is public, as EventStoreConfiguration.environment).
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        // Envelope, append, indexes, hash chain: knows nothing of incidents.
        .target(
            name: "EventStore",
            dependencies: [
                "LMDB", "LedgerProofs", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Merkle tree, proofs, signed notes and checkpoints (RFC 9162, C2SP): pure, storage-free; the store
        // supplies subtree hashes. Never imports LMDB or EventStore.
        .target(name: "LedgerProofs", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Event types, payload rules and obligations of hospital cyber incidents. Never imports the C target.
        .target(name: "IncidentDomain", dependencies: ["EventStore"]),
        // Pure folds of the ordered events into state, timelines, clocks and audit: no store I/O, no clock.
        .target(name: "Projections", dependencies: ["IncidentDomain", "EventStore"]),
        // Runs the folds against the store: the saved incident index (caught up, rebuilt, verified), the books
        // and their caches, the query's "now" from an injected clock. The server and the CLI both query through it.
        .target(name: "ProjectionRunner", dependencies: ["Projections", "IncidentDomain", "EventStore"]),
        // The HTTP service: authenticated principals, roles and scope, the API, live subscriptions, the web page.
        .target(
            name: "LedgerServer",
            dependencies: [
                "EventStore", "IncidentDomain", "Projections", "ProjectionRunner", "LedgerProofs",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            resources: [.embedInCode("Resources/index.html"), .embedInCode("Resources/openapi.json")]
        ),
        .executableTarget(
            name: "LedgerCLI",
            dependencies: [
                "EventStore", "IncidentDomain", "Projections", "ProjectionRunner", "LedgerProofs", "LedgerServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The demo's dataset is compiled into the binary: `ledger demo` works from any folder.
            // tools/demo/dataset.ndjson links to it.
            resources: [.embedInCode("Resources/demo-dataset.ndjson")]
        ),
        // A child process for the crash test: appends in a loop and prints each acknowledged position.
        .executableTarget(name: "CrashChild", dependencies: ["EventStore"], path: "Tests/CrashChild"),
        // Helpers shared by the test targets: temporary ledgers, running built products.
        .target(name: "LedgerTestSupport", dependencies: ["EventStore", "IncidentDomain"], path: "Tests/LedgerTestSupport"),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB"]),
        .testTarget(
            name: "EventStoreTests",
            dependencies: [
                "EventStore", "CrashChild", "LedgerTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "DomainTests",
            dependencies: [
                "IncidentDomain", "Projections", "ProjectionRunner", "EventStore", "LedgerTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "ProofsTests",
            dependencies: [
                "LedgerProofs", "EventStore", "LedgerTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "LedgerServer", "EventStore", "IncidentDomain", "Projections", "ProjectionRunner", "LedgerProofs",
                "LedgerTestSupport",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "LedgerCLITests", dependencies: ["LedgerCLI", "EventStore", "LMDB", "LedgerTestSupport"]),
        // A library user's view: without package access (no -package-name), it sees only `public` declarations,
        // the API docs/public-api.md lists.
        .testTarget(
            name: "PublicAPITests",
            dependencies: ["EventStore", "IncidentDomain", "Projections", "ProjectionRunner", "LedgerProofs"],
            packageAccess: false
        ),
    ]
)
