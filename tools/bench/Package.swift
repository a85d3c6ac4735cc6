// swift-tools-version: 6.1
// The benchmark: a separate package that uses the ledger by path, so that its release build and its
// dependencies stay out of the project's test build.
import PackageDescription

let package = Package(
    name: "LedgerBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "IncidentLedger", path: "../.."),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(
            name: "LedgerBench",
            dependencies: [
                .product(name: "EventStore", package: "IncidentLedger"),
                .product(name: "IncidentDomain", package: "IncidentLedger"),
                .product(name: "LedgerProofs", package: "IncidentLedger"),
                .product(name: "Projections", package: "IncidentLedger"),
                .product(name: "ProjectionRunner", package: "IncidentLedger"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        )
    ]
)
