import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentDomain
import LedgerServer
import LedgerTestSupport
import Logging
import NIOCore

/// Two hospitals and an incident on each: the CHU de Nantes (A) and the CHU de Rennes (B), with a token
/// of every role on A, and an auditor and an admin on all.
struct TwoHospitals {
    static let a = "440000289"
    static let b = "350005179"
    static let incidentA = "incident:chu-nantes-2024-01"
    static let incidentB = "incident:chu-rennes-2023-06"

    let directory = TemporaryDirectory()
    let store: EventStore
    let service: LedgerService
    /// Tokens by name: reader, recorder, auditor, admin (scope A), auditorAll, adminAll.
    var tokens: [String: String] = [:]

    /// - Parameter clock: what the service's queries read "now" from.
    init(clock: any RecordingClock = SystemClock()) throws {
        store = try EventStore.create(at: directory.path)
        service = LedgerService(store: store, clock: clock)
        for (finess, name, city, incident, title) in [
            (Self.a, "CHU de Nantes", "Nantes", Self.incidentA, "Cyberattack on the CHU de Nantes"),
            (Self.b, "CHU de Rennes", "Rennes", Self.incidentB, "Cyberattack on the CHU de Rennes"),
        ] {
            try append(
                "establishment:\(finess)", "establishment.registered", at: "2024-01-01",
                ["finess": .string(finess), "name": .string(name), "city": .string(city)])
            try append(
                incident, "incident.opened", at: "2024-01-15 08:00",
                ["title": .string(title), "establishments": .array([.string(finess)])])
            try append(
                incident, "service.degraded", at: "2024-01-15 01:20",
                ["establishment": .string(finess), "service": .string("external_email"), "status": .string("down")])
        }
        for role in AccessRole.allCases {
            tokens[role.rawValue] = try Tokens.issue(
                in: store, name: "\(role.rawValue)@chu-nantes.fr", role: role, scope: .establishments([Self.a]), actor: "root",
                source: "test"
            ).token
        }
        tokens["auditorAll"] = try Tokens.issue(
            in: store, name: "inspector@anssi.fr", role: .auditor, scope: .all, actor: "root", source: "test"
        ).token
        tokens["adminAll"] = try Tokens.issue(
            in: store, name: "dsi@ght.fr", role: .admin, scope: .all, actor: "root", source: "test"
        )
        .token
    }

    func append(_ stream: String, _ type: String, at time: String, _ payload: [String: JSONValue]) throws {
        let event = ProposedEvent(
            eventId: UUID.timeOrdered(), eventType: type, occurredAt: TimeExpression.occurredAt(time)!, actor: "scribe",
            source: "test", payload: .object(payload))
        _ = try store.appendAtomically([AppendRequest(streamId: stream, events: [event])])
    }

    /// Runs `body` against the router, in process.
    func test<T>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let app = Application(router: service.router(), logger: logger)
        return try await app.test(.router, body)
    }
}

/// A request's headers with a bearer token (none when nil).
func auth(_ token: String?, _ more: HTTPFields = [:]) -> HTTPFields {
    var fields = more
    if let token { fields[.authorization] = "Bearer \(token)" }
    return fields
}

func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

/// The JSON of a response body.
func json(_ response: TestResponse) throws -> JSONValue { try JSONParser.parse(Data(buffer: response.body)) }

/// A note as the API takes it, for stream `stream`.
func noteBody(_ text: String, id: UUID? = nil, extra: String = "") -> String {
    let idMember = id.map { "\"eventId\":\"\($0.uuidString.lowercased())\"," } ?? ""
    return """
        {\(idMember)\(extra)"eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"crisis cell","payload":{"text":"\(text)"}}
        """
}
