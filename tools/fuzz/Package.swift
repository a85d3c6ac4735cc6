// swift-tools-version: 6.1
// The fuzz targets: a separate package that uses the ledger by path, so that its sanitized build never slows
// the project's own build or test run. One executable per target, built with `-sanitize=fuzzer,address` (see
// tools/fuzz/run and docs/fuzzing.md); each main.swift hands its LLVMFuzzerTestOneInput to libFuzzer's driver.
import PackageDescription

let targets = [
    "FuzzJSONParser", "FuzzCanonicalJSON", "FuzzTimeExpression", "FuzzRecordForm", "FuzzEnvelope", "FuzzJSONMembers",
    "FuzzBundle", "FuzzSignedNote",
]

let package = Package(
    name: "LedgerFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "IncidentLedger", path: "../..")],
    targets: [
        // What the targets share: the entry-point plumbing and the failure report.
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),
    ]
        + targets.map { name in
            .executableTarget(
                name: name,
                dependencies: [
                    "FuzzSupport",
                    .product(name: "EventStore", package: "IncidentLedger"),
                    .product(name: "IncidentDomain", package: "IncidentLedger"),
                    .product(name: "LedgerProofs", package: "IncidentLedger"),
                ]
            )
        }
)
