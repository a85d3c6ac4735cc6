import Dispatch
import Foundation
import Logging

/// Gathers concurrent appends into group commits: while one durable transaction is being written, new
/// requests queue up, and the next transaction takes all of them at once. One `fsync` then acknowledges
/// many appends. A conflict fails its request alone: ``EventStore/apply(_:in:head:now:)`` checks
/// everything before its first write, so a refused request leaves the shared transaction untouched.
/// (LMDB's nested transactions would also isolate requests, but each one allocates a 2 MiB dirty list:
/// they made group commits several times slower.)
final class GroupCommitter: Sendable {
    private struct Waiting {
        let request: AppendRequest
        let continuation: CheckedContinuation<AppendResult, any Error>
    }
    private struct State {
        var queue: [Waiting] = []
        var draining = false
        /// While the writer gathers the next group: how many queued requests wake it early.
        var wakeAt: Int?
    }
    private let state = PthreadMutex(State())
    /// Wakes the gathering writer once enough appends are queued: it sleeps instead of polling the queue.
    private let gathered = DispatchSemaphore(value: 0)
    /// The one thread that writes: a transaction is synchronous and must not hop threads.
    private let writer = DispatchQueue(label: "IncidentLedger.group-commit")

    func submit(_ request: AppendRequest, to store: EventStore) async throws -> AppendResult {
        try await withCheckedThrowingContinuation { continuation in
            let (startDraining, wake) = state.withLock { state in
                state.queue.append(Waiting(request: request, continuation: continuation))
                var wake = false
                if let target = state.wakeAt, state.queue.count >= target {
                    state.wakeAt = nil
                    wake = true
                }
                if state.draining { return (false, wake) }
                state.draining = true
                return (true, wake)
            }
            if wake { gathered.signal() }
            if startDraining { writer.async { self.drain(store) } }
        }
    }

    /// How long the writer waits, at most, for the appenders it just answered to come back with their next
    /// append before it commits a smaller group.
    static let gatherWindow: Duration = .microseconds(500)

    private func drain(_ store: EventStore) {
        var lastGroupSize = 0
        while true {
            // After a group of n, up to n appenders are about to send their next append: give them a moment
            // to arrive, so that one fsync takes them all instead of a few now and the rest in the next one.
            // A lone appender (a group of one) never waits.
            if lastGroupSize > 1 { gather(lastGroupSize) }
            let group: [Waiting] = state.withLock { state in
                let taken = Array(state.queue.prefix(store.configuration.maximumGroupSize))
                state.queue.removeFirst(taken.count)
                if taken.isEmpty { state.draining = false }
                return taken
            }
            if group.isEmpty { return }
            lastGroupSize = group.count
            // The clock is read only when someone listens at debug level: the figures are per group.
            let started = store.logger.logLevel <= .debug ? ContinuousClock.now : nil
            let outcomes = commit(group.map(\.request), in: store)
            if let started { logGroup(group, outcomes, took: .now - started, to: store.logger) }
            for (waiting, outcome) in zip(group, outcomes) { waiting.continuation.resume(with: outcome) }
        }
    }

    /// One debug line per group: how many requests it took, how many events they wrote, how many were refused
    /// (or were retries of stored batches), how many were left queued, and how long the transaction took.
    private func logGroup(
        _ group: [Waiting], _ outcomes: [Result<AppendResult, any Error>], took: Duration, to logger: Logger
    ) {
        var written = 0
        var refused = 0
        var retries = 0
        for outcome in outcomes {
            switch outcome {
            case .success(let result) where result.wasAlreadyStored: retries += 1
            case .success(let result): written += result.positions.count
            case .failure: refused += 1
            }
        }
        let queued = state.withLock { $0.queue.count }
        let micros = took.components.seconds * 1_000_000 + took.components.attoseconds / 1_000_000_000_000
        logger.debug(
            "group commit",
            metadata: [
                "requests": "\(group.count)", "events": "\(written)", "refused": "\(refused)", "retries": "\(retries)",
                "queued": "\(queued)", "microseconds": "\(micros)",
            ])
    }

    /// Waits until `count` requests are queued or the gather window has passed, asleep: `submit` signals
    /// when the queue reaches `count`. Each signal is consumed by exactly one wait, so none wakes a later
    /// gathering early.
    private func gather(_ count: Int) {
        let waiting = state.withLock { state in
            guard state.queue.count < count else { return false }
            state.wakeAt = count
            return true
        }
        guard waiting else { return }
        let window = Self.gatherWindow.components
        let micros = Int(window.seconds) * 1_000_000 + Int(window.attoseconds / 1_000_000_000_000)
        if gathered.wait(timeout: .now() + .microseconds(micros)) == .timedOut {
            // Timed out: withdraw the wake-up, unless an appender took it just now and signals (or signalled).
            let signalled = state.withLock { state in
                if state.wakeAt == nil { return true }
                state.wakeAt = nil
                return false
            }
            if signalled { gathered.wait() }
        }
    }

    /// Ends the transaction without committing when no request of the group wrote anything.
    private struct NothingWritten: Error {
        let outcomes: [Result<AppendResult, any Error>]
    }

    /// One transaction for the whole group.
    private func commit(_ requests: [AppendRequest], in store: EventStore) -> [Result<AppendResult, any Error>] {
        do {
            var lastHead: EventStore.Head?
            let outcomes = try store.writeTransaction { txn in
                let start = try store.writingHead(in: txn)
                var head = start
                let now = store.now()
                var outcomes: [Result<AppendResult, any Error>] = []
                outcomes.reserveCapacity(requests.count)
                for request in requests {
                    do {
                        outcomes.append(.success(try store.apply(request, in: txn, head: &head, now: now)))
                    } catch let error as EventStoreError {
                        outcomes.append(.failure(error))
                    }
                    // Any other error (an LMDB failure, a full map) aborts the group: the outer transaction
                    // rethrows it, and a full map reruns the whole group after growing.
                }
                guard head.position != start.position else { throw NothingWritten(outcomes: outcomes) }
                try store.catchUpIndexes(in: txn, head: &head)
                lastHead = head
                return outcomes
            }
            if let lastHead { store.remember(lastHead) }
            return outcomes
        } catch let nothing as NothingWritten {
            return nothing.outcomes
        } catch {
            return requests.map { _ in .failure(error) }
        }
    }
}

/// A value behind a `pthread_mutex_t`: what the group committer's queue is guarded by instead of the standard
/// library's `Mutex`, whose futex ThreadSanitizer cannot see (it reported the queue as raced, a false positive:
/// docs/sanitizers.md). The cost is the same, one uncontended lock per append.
final class PthreadMutex<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
