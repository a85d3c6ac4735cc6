import Foundation

/// How many cases a property test runs: `default`, or `$LEDGER_PROPERTY_CASES` when it is set (`make nightly` sets
/// it to thousands). A value that is not a positive integer stops the run with one line naming it.
public func propertyCases(_ default: Int) -> Int {
    guard let text = ProcessInfo.processInfo.environment["LEDGER_PROPERTY_CASES"] else { return `default` }
    guard let cases = Int(text), cases > 0 else {
        FileHandle.standardError.write(Data("LEDGER_PROPERTY_CASES: \"\(text)\" is not a positive integer\n".utf8))
        exit(2)
    }
    return cases
}

/// SplitMix64: a seeded generator, so that a property's random values come back from the seed a failure prints.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
