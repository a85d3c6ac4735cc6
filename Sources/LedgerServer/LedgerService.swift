import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import IncidentDomain
import LedgerProofs
import Logging
import NIOCore
import NIOPosix
import ProjectionRunner
import Projections
import ServiceLifecycle
import Synchronization

/// The shared investigation as an HTTP service: the routes of schemas/openapi.json over one ledger.
///
/// Every route but the page, the document and the catalogue needs a bearer token (``Tokens``); the actor
/// of every event appended is the token's principal, and each principal reads and writes only within its
/// role and its establishments (`AccessRole`, `AccessScope`). Store work runs on NIO's thread pool so
/// that a long query never holds the event loops.
package final class LedgerService: Sendable {
    /// The largest request body: a batch of events (each payload is limited to 1 MiB by the store).
    package static let bodyLimit = 4 << 20
    /// The most events a page of the log returns.
    static let pageLimit = 1000

    let store: EventStore
    let queries: LedgerQueries
    let access: AccessControl
    let live: HeadWatcher
    let scopes: StreamScopes
    private let draining = Atomic<Bool>(false)
    let logger: Logger
    /// The identity provider whose JWTs are accepted besides the ledger's own tokens, if any.
    let jwt: JWTVerifier?

    /// - Parameters:
    ///   - store: the ledger served.
    ///   - logger: where requests are logged; by default the store's own logger
    ///     (`EventStoreConfiguration.logger`), so that the service and its store log to one place.
    ///   - jwt: an identity provider whose JWTs are accepted besides the ledger's own tokens.
    ///   - clock: what a query without an as-of time reads "now" from (the deadlines' elapsed time).
    package init(
        store: EventStore, logger: Logger? = nil, jwt: JWTVerifier? = nil, clock: any RecordingClock = SystemClock()
    ) {
        self.jwt = jwt
        self.store = store
        self.queries = LedgerQueries(store: store, clock: clock)
        self.access = AccessControl(store: store)
        self.live = HeadWatcher(store: store)
        self.scopes = StreamScopes(store: store)
        self.logger = logger ?? store.configuration.logger
    }

    /// True once shutdown has begun: new requests get 503 and live subscriptions end.
    package var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Begins shutdown: requests already running finish, new ones are refused, subscriptions close.
    package func beginDraining() {
        draining.store(true, ordering: .releasing)
        live.stop()
    }

    /// Runs store work off the event loops.
    func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    /// The router with every route of the API.
    package func router() -> Router<LedgerRequestContext> {
        let router = Router(context: LedgerRequestContext.self)
        router.add(middleware: FrontDoor(service: self))
        addPublicRoutes(to: router)
        addReadRoutes(to: router)
        addWriteRoutes(to: router)
        addLiveRoutes(to: router)
        addProofRoutes(to: router)
        addTokenRoutes(to: router)
        return router
    }

    /// The application listening on `host:port`; `onRunning` gets the bound port (useful with port 0).
    package func application(host: String, port: Int, onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "IncidentLedger"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully: appends in flight finish, new requests
    /// get 503, live subscriptions end, and the call returns.
    package func run(host: String, port: Int, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = application(host: host, port: port, onRunning: onRunning)
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: app), .init(service: DrainOnShutdown(service: self), successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A subscriber that stops reading must not hold the shutdown for ever: after 10 s, what is left is cancelled.
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await self.live.run() }
            try await group.run()
            tasks.cancelAll()
        }
    }

    // MARK: - Principals and what they see

    func principal(_ context: LedgerRequestContext) throws -> Principal {
        guard let principal = context.principal else {
            throw Problem.unauthorized("Authorization: a bearer token is required (ledger token issue)")
        }
        return principal
    }

    // MARK: - Responses

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(
            status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: CanonicalJSON.string(value) + "\n")))
    }

    static func body(_ text: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Waits for the shutdown signal and begins draining before the HTTP server stops.
struct DrainOnShutdown: Service {
    let service: LedgerService
    func run() async throws {
        try? await gracefulShutdown()
        service.beginDraining()
    }
}
