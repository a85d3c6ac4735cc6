import Foundation
import Synchronization

/// Where the ledger takes `recordedAt` from. Always the system clock in production: clients never supply
/// recordedAt. ``ManualClock`` exists for the demo, which replays the days on which facts were learned
/// into a fresh ledger, and for tests. The ledger still keeps recordedAt strictly increasing.
public protocol RecordingClock: Sendable {
    /// Microseconds since the epoch, UTC.
    func now() -> Int64
    /// Where the times come from when it is not the system's clock ("the demo dataset"): a ledger written
    /// with such a clock says so for ever (``EventStore/clockProvenance()``). Nil for the system clock.
    var provenance: String? { get }
}

extension RecordingClock {
    public var provenance: String? { nil }
}

/// The operating system's real-time clock.
public struct SystemClock: RecordingClock {
    public init() {}
    public func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }
}

/// A clock that says what it was last set to.
public final class ManualClock: RecordingClock {
    private let value: Mutex<Int64>
    public let provenance: String?
    /// - Parameter provenance: what sets it, recorded in every ledger it writes to.
    public init(_ microseconds: Int64, provenance: String = "a clock set by hand") {
        value = Mutex(microseconds)
        self.provenance = provenance
    }
    public func set(_ microseconds: Int64) { value.withLock { $0 = microseconds } }
    public func now() -> Int64 { value.withLock { $0 } }
}
