import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import IncidentDomain
import NIOCore
import Projections
import Synchronization

/// Watches the ledger's head and wakes the live subscriptions when it moves: at once after an append of
/// this process, and within `interval` after an append by another process on the same directory (the CLI).
///
/// Subscribers pull the events from the log themselves, from their own last position, so that no buffer
/// sits between the writer and them: a slow subscriber only falls behind, and never slows the writer.
final class HeadWatcher: Sendable {
    private let store: EventStore
    private let state = Mutex<
        (head: UInt64, stopped: Bool, waiters: [UInt64: CheckedContinuation<Void, Never>], next: UInt64, expired: Set<UInt64>)
    >((0, false, [:], 0, []))
    static let interval: Duration = .milliseconds(10)

    init(store: EventStore) { self.store = store }

    /// Polls the head until cancelled.
    func run() async throws {
        while !Task.isCancelled {
            refresh()
            try await Task.sleep(for: Self.interval)
        }
    }

    /// Reads the head now (after an append of this process).
    func poke() { refresh() }

    private func refresh() {
        guard let head = try? store.lastPosition() else { return }
        let woken: [CheckedContinuation<Void, Never>] = state.withLock { s in
            guard head > s.head else { return [] }
            s.head = head
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for continuation in woken { continuation.resume() }
    }

    func stop() {
        let woken = state.withLock { s in
            s.stopped = true
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for continuation in woken { continuation.resume() }
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Returns when the head passes `position`, when the watcher stops, or after `timeout`.
    func wait(beyond position: UInt64, timeout: Duration) async {
        let id: UInt64 = state.withLock { s in
            s.next += 1
            return s.next
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    // A timeout that fired before this registration leaves its mark: resume at once.
                    let ready = self.state.withLock { s -> Bool in
                        if s.stopped || s.head > position || s.expired.remove(id) != nil { return true }
                        s.waiters[id] = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                let waiting = self.state.withLock { s -> CheckedContinuation<Void, Never>? in
                    guard let waiting = s.waiters.removeValue(forKey: id) else {
                        s.expired.insert(id)
                        return nil
                    }
                    return waiting
                }
                waiting?.resume()
            }
            await group.next()
            group.cancelAll()
        }
        _ = state.withLock { $0.expired.remove(id) }
    }
}

extension LedgerService {
    /// Seconds between keep-alive comments on an idle subscription.
    static let keepAlive: Duration = .seconds(15)

    func addLiveRoutes(to router: Router<LedgerRequestContext>) {
        router.get("/events/live") { request, context in
            let p = try self.principal(context)
            var from = try Self.number(request, "from", default: 1, range: 1...UInt64(Int64.max))
            if let last = request.headers[HTTPField.Name("Last-Event-ID")!] {
                guard let position = UInt64(last.trimmingCharacters(in: .whitespaces)), position < UInt64(Int64.max) else {
                    throw Problem.badRequest("Last-Event-ID: \"\(last)\" is not a position", field: "Last-Event-ID")
                }
                from = position + 1
            }
            let stream = try Self.parameter(request, "stream").map { try Self.streamId($0, "stream") }
            let establishment = Self.parameter(request, "establishment")
            if let establishment {
                guard PayloadValidator.isFINESS(establishment) else {
                    throw Problem.badRequest("establishment: \"\(establishment)\" is not a FINESS number", field: "establishment")
                }
                guard p.scope.covers(establishment) else {
                    throw Problem.forbidden("\(p.name) does not reach establishment \(establishment)")
                }
            }
            let seen = self.visibility(p)
            if let stream, !(try seen.sees(stream: stream)) {
                throw Problem.notFound("\(stream): no such stream (of those you reach)")
            }
            let start = from
            let body = ResponseBody { writer in
                var next = start
                var accessVersion = try self.store.streamVersion(of: AccessEvents.stream)
                let visibility = seen
                var lastWrite = ContinuousClock.now
                while !self.isDraining {
                    let position = next
                    let page: [RecordedEvent] = try await self.blocking {
                        try self.store.events(.log(fromPosition: position), limit: 256)
                    }
                    // A comment when nothing was written for a while (an idle ledger, or a filter that keeps
                    // nothing of a busy one): proxies keep the connection, and a client gone is noticed.
                    if ContinuousClock.now - lastWrite >= Self.keepAlive {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        lastWrite = ContinuousClock.now
                    }
                    if page.isEmpty {
                        await self.live.wait(beyond: next - 1, timeout: Self.keepAlive)
                        continue
                    }
                    // A revoked token ends the subscription.
                    let version = try self.store.streamVersion(of: AccessEvents.stream)
                    if version != accessVersion, !p.tokenId.hasPrefix("jwt:") {
                        accessVersion = version
                        guard try await self.blocking({ try self.access.principal(tokenId: p.tokenId) }) != nil else { break }
                    }
                    var chunk = ""
                    for event in page {
                        next = event.position + 1
                        guard try visibility.sees(stream: event.streamId) else { continue }
                        if let stream, event.streamId != stream { continue }
                        if let establishment, event.streamId != StreamKind.establishment.prefix + establishment,
                            !(try self.scopes.establishments(of: event.streamId).contains(establishment))
                        {
                            continue
                        }
                        chunk += "id: \(event.position)\nevent: ledger-event\ndata: \(CanonicalJSON.string(event.json))\n\n"
                    }
                    if !chunk.isEmpty {
                        try await writer.write(ByteBuffer(string: chunk))
                        lastWrite = ContinuousClock.now
                    }
                }
                try await writer.finish(nil)
            }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/event-stream", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no",
                ],
                body: body)
        }
    }
}
