import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentDomain
import LedgerServer
import LedgerTestSupport
import NIOCore
import ProjectionRunner
import Projections
import Testing

@Suite struct RoleMatrixTests {
    /// Each role × own or other establishment × read or write, with the status it must get.
    struct Case: Sendable, CustomStringConvertible {
        let token: String
        let incident: String
        let write: Bool
        let status: HTTPResponse.Status
        var description: String { "\(token) \(write ? "writes" : "reads") \(incident) -> \(status.code)" }
    }

    static let cases: [Case] = {
        var cases: [Case] = []
        for role in AccessRole.allCases {
            let token = role.rawValue
            cases.append(Case(token: token, incident: TwoHospitals.incidentA, write: false, status: .ok))
            // Another hospital's incident is answered as one that does not exist: its existence is not theirs to know.
            cases.append(Case(token: token, incident: TwoHospitals.incidentB, write: false, status: .notFound))
            cases.append(
                Case(token: token, incident: TwoHospitals.incidentA, write: true, status: role.records ? .created : .forbidden))
            cases.append(
                Case(token: token, incident: TwoHospitals.incidentB, write: true, status: role.records ? .notFound : .forbidden))
        }
        cases.append(Case(token: "auditorAll", incident: TwoHospitals.incidentB, write: false, status: .ok))
        cases.append(Case(token: "auditorAll", incident: TwoHospitals.incidentB, write: true, status: .forbidden))
        cases.append(Case(token: "adminAll", incident: TwoHospitals.incidentB, write: false, status: .ok))
        cases.append(Case(token: "adminAll", incident: TwoHospitals.incidentB, write: true, status: .created))
        return cases
    }()

    @Test(arguments: cases) func roleAndScope(_ c: Case) async throws {
        let ledger = try TwoHospitals()
        let token = ledger.tokens[c.token]!
        let before = try ledger.store.lastPosition()
        try await ledger.test { client in
            if c.write {
                try await client.execute(
                    uri: "/streams/\(c.incident)/events", method: .post, headers: auth(token), body: body(noteBody("written"))
                ) { response in
                    #expect(response.status == c.status, "\(c): \(String(buffer: response.body))")
                }
            } else {
                for path in ["/incidents/\(c.incident)", "/incidents/\(c.incident)/deadlines", "/incidents/\(c.incident)/audit"] {
                    try await client.execute(uri: path, method: .get, headers: auth(token)) { response in
                        #expect(response.status == c.status, "\(c) \(path): \(String(buffer: response.body))")
                    }
                }
            }
        }
        // A refused write leaves the ledger unchanged; an accepted one adds one event whose actor is the principal.
        let after = try ledger.store.lastPosition()
        if c.write && c.status == .created {
            #expect(after == before + 1)
            let stored = try ledger.store.event(at: after)!
            let expectedName = c.token == "adminAll" ? "dsi@ght.fr" : "\(c.token)@chu-nantes.fr"
            #expect(stored.actor == expectedName)
        } else {
            #expect(after == before)
        }
    }

    /// Lists show only what the principal reaches; audits and verify are for auditors and admins.
    @Test func listsAreScoped() async throws {
        let ledger = try TwoHospitals()
        try await ledger.test { client in
            for (token, expected) in [
                ("reader", [TwoHospitals.incidentA]), ("auditorAll", [TwoHospitals.incidentA, TwoHospitals.incidentB]),
            ] {
                try await client.execute(uri: "/incidents", method: .get, headers: auth(ledger.tokens[token])) { response in
                    let ids = try json(response).arrayValue?.compactMap { $0["incident"]?.stringValue }.sorted()
                    #expect(ids == expected.sorted(), "\(token)")
                }
                try await client.execute(uri: "/events?limit=1000", method: .get, headers: auth(ledger.tokens[token])) {
                    response in
                    let streams = Set(try json(response)["events"]?.arrayValue?.compactMap { $0["streamId"]?.stringValue } ?? [])
                    #expect(streams.contains(TwoHospitals.incidentA))
                    #expect(streams.contains(TwoHospitals.incidentB) == (token == "auditorAll"))
                    #expect(streams.contains(AccessEvents.stream) == (token == "auditorAll"))
                }
            }
            // Grants name principals of every hospital: an auditor of one hospital does not read them as events.
            try await client.execute(uri: "/events?limit=1000", method: .get, headers: auth(ledger.tokens["auditor"])) {
                response in
                let streams = Set(try json(response)["events"]?.arrayValue?.compactMap { $0["streamId"]?.stringValue } ?? [])
                #expect(!streams.contains(AccessEvents.stream))
            }
            for (token, expected) in [("reader", [TwoHospitals.incidentA])] {
                try await client.execute(
                    uri: "/incidents?incident=\(expected[0])", method: .get, headers: auth(ledger.tokens[token])
                ) {
                    response in
                    let states = try json(response)
                    #expect(states.arrayValue?.count == 1)
                }
            }
            for (role, status) in [
                ("reader", HTTPResponse.Status.forbidden), ("recorder", .forbidden), ("auditor", .ok), ("admin", .ok),
            ] {
                try await client.execute(uri: "/verify", method: .get, headers: auth(ledger.tokens[role])) { response in
                    #expect(response.status == status, "\(role)")
                    if status == .ok {
                        let report = try json(response)
                        #expect(report["valid"] == .bool(true))
                    }
                }
            }
            try await client.execute(
                uri: "/establishments/\(TwoHospitals.b)/timeline", method: .get, headers: auth(ledger.tokens["reader"])
            ) { response in #expect(response.status == .forbidden) }
        }
    }
}

@Suite struct ErrorStatusTests {
    @Test func everyRefusalIsAProblemWithItsStatus() async throws {
        let ledger = try TwoHospitals()
        let recorder = ledger.tokens["recorder"]!
        let events = "/streams/\(TwoHospitals.incidentA)/events"
        let before = try ledger.store.lastPosition()
        try await ledger.test { client in
            func expectProblem(
                _ uri: String, _ method: HTTPRequest.Method = .get, headers: HTTPFields, body text: String? = nil,
                _ status: HTTPResponse.Status, detail: String, field: String? = nil
            ) async throws {
                try await client.execute(uri: uri, method: method, headers: headers, body: text.map(body)) { response in
                    #expect(response.status == status, "\(uri): \(String(buffer: response.body))")
                    #expect(response.headers[.contentType] == "application/problem+json", "\(uri)")
                    let problem = try json(response)
                    #expect(problem["status"] == .number(JSONNumber(status.code)))
                    if !detail.isEmpty { #expect(problem["detail"]?.stringValue?.contains(detail) == true, "\(uri): \(problem)") }
                    if let field { #expect(problem["field"]?.stringValue == field, "\(uri): \(problem)") }
                }
            }
            try await expectProblem("/incidents", headers: [:], .unauthorized, detail: "bearer token is required")
            try await expectProblem("/incidents", headers: auth("il_nope"), .unauthorized, detail: "unknown or revoked token")
            try await expectProblem(
                "/incidents", headers: [.authorization: "Basic abc"], .unauthorized, detail: "expected \"Bearer")
            try await expectProblem(
                "/incidents?asOf=2024-13-45", headers: auth(recorder), .badRequest, detail: "asOf:", field: "asOf")
            try await expectProblem(
                "/incidents?format=xml", headers: auth(recorder), .badRequest, detail: "format:", field: "format")
            try await expectProblem("/incidents/incident:nope", headers: auth(recorder), .notFound, detail: "no such incident")
            try await expectProblem("/nowhere", headers: auth(recorder), .notFound, detail: "GET /nowhere: no such route")
            try await expectProblem("/events?limit=0", headers: auth(recorder), .badRequest, detail: "limit:", field: "limit")
            try await expectProblem(
                events, .post, headers: auth(recorder),
                body:
                    #"{"eventType":"service.degraded","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"x","payload":{"establishment":"440000289","service":"laboratory","status":"gone"}}"#,
                .unprocessableContent, detail: "\"gone\" is not one of", field: "payload.status")
            try await expectProblem(
                events, .post, headers: auth(recorder), body: noteBody("x", extra: #""actor":"someone","#), .unprocessableContent,
                detail: "the actor is the authenticated principal", field: "actor")
            try await expectProblem(
                events, .post, headers: auth(recorder), body: "{not json", .unprocessableContent, detail: "request body")
            try await expectProblem(
                events, .post, headers: auth(recorder, [.ifMatch: "\"1\""]), body: noteBody("late"), .conflict,
                detail: "expected version 1")
            try await expectProblem(
                events, .post, headers: auth(recorder, [.ifMatch: "soon"]), body: noteBody("x"), .badRequest, detail: "If-Match")
            try await expectProblem(
                "/streams/incident:typo/events", .post, headers: auth(recorder), body: noteBody("x"), .notFound,
                detail: "first event must be incident.opened")
            let big = String(repeating: "a", count: (1 << 20) + 10)
            try await expectProblem(events, .post, headers: auth(recorder), body: noteBody(big), .contentTooLarge, detail: "")
            try await expectProblem(
                events, .post, headers: auth(recorder), body: String(repeating: " ", count: LedgerService.bodyLimit + 1),
                .contentTooLarge, detail: "over the limit")
            try await expectProblem(
                "/facts", .post, headers: auth(recorder),
                body:
                    #"{"eventType":"service.degraded","incident":"incident:chu-nantes-2024-01","at":"2024-01-16 25:00","source":"x","fields":{}}"#,
                .unprocessableContent, detail: "at:", field: "at")
            try await expectProblem(
                "/facts", .post, headers: auth(recorder),
                body:
                    #"{"eventType":"service.degraded","incident":"incident:chu-nantes-2024-01","at":"2024-01-16","source":"x","fields":{"establishment":"440000289","service":"laboratory","status":"gone"}}"#,
                .unprocessableContent, detail: "\"gone\"", field: "fields.status")
            try await expectProblem("/verify", headers: auth(recorder), .forbidden, detail: "for auditors and admins")
        }
        #expect(try ledger.store.lastPosition() == before, "no refused request wrote anything")

        // A 409 names both versions; a retry of a stored event id is 200, another content under it 409.
        let id = UUID.timeOrdered()
        try await ledger.test { client in
            try await client.execute(
                uri: events, method: .post, headers: auth(recorder, [.ifMatch: "\"1\""]), body: body(noteBody("x"))
            ) {
                let problem = try json($0)
                #expect(problem["expectedVersion"] == .string("1") && problem["actualVersion"] == .number(JSONNumber(2)))
            }
            try await client.execute(uri: events, method: .post, headers: auth(recorder), body: body(noteBody("first", id: id))) {
                let result = try json($0)
                #expect($0.status == .created)
                #expect(result["positions"]?.arrayValue?.count == 1)
            }
            try await client.execute(uri: events, method: .post, headers: auth(recorder), body: body(noteBody("first", id: id))) {
                let result = try json($0)
                #expect($0.status == .ok)
                #expect(result["alreadyStored"] == .bool(true))
            }
            try await client.execute(uri: events, method: .post, headers: auth(recorder), body: body(noteBody("other", id: id))) {
                let problem = try json($0)
                #expect($0.status == .conflict)
                #expect(problem["field"]?.stringValue == "eventId")
            }
        }
        #expect(try ledger.store.lastPosition() == before + 1)
    }

    @Test func aRevokedTokenIsRefusedAndDrainingRefusesEverything() async throws {
        let ledger = try TwoHospitals()
        let reader = ledger.tokens["reader"]!
        try await ledger.test { client in
            try await client.execute(uri: "/whoami", method: .get, headers: auth(reader)) { #expect($0.status == .ok) }
            let id = try json(try await client.execute(uri: "/whoami", method: .get, headers: auth(reader)))["tokenId"]!
                .stringValue!
            try await client.execute(uri: "/tokens/\(id)", method: .delete, headers: auth(ledger.tokens["reader"])) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/tokens/\(id)", method: .delete, headers: auth(ledger.tokens["adminAll"])) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/whoami", method: .get, headers: auth(reader)) { #expect($0.status == .unauthorized) }
            ledger.service.beginDraining()
            try await client.execute(uri: "/whoami", method: .get, headers: auth(ledger.tokens["auditor"])) {
                #expect($0.status == .serviceUnavailable)
            }
        }
        // The grant and the revocation are in the audit, with who did them.
        let audit = try LedgerQueries(store: ledger.store).audit(AuditTrail.Filter(), at: QueryTime())
        let access = audit.filter { $0.streamId == AccessEvents.stream }
        #expect(
            access.contains { $0.summary.hasPrefix("granted reader on 440000289 to reader@chu-nantes.fr") && $0.actor == "root" })
        #expect(access.contains { $0.summary.hasPrefix("revoked token") && $0.actor == "dsi@ght.fr" })
    }
}

@Suite struct ViewRouteTests {
    /// The API answers asOf and knownAt with the same views the CLI prints: the same text, and in JSON the list the
    /// CLI's document holds beside its formatVersion.
    @Test func viewsMatchTheCLI() async throws {
        let ledger = try TwoHospitals()
        let auditor = ledger.tokens["auditorAll"]!
        let cli = { (args: [String]) throws -> String in
            let run = try runProduct("ledger", args + ["--data-dir", ledger.directory.path])
            #expect(run.status == 0, "\(args): \(run.stderr)")
            return run.stdout
        }
        let cases: [(String, [String])] = [
            ("/incidents?asOf=2024-01-15&format=text", ["state", "--as-of", "2024-01-15"]),
            ("/incidents?knownAt=2024-01-01", ["state", "--format", "json", "--known-at", "2024-01-01"]),
            // At a fixed time: "overdue by …" counted from two readings of the clock could differ.
            ("/deadlines?format=text&asOf=2024-01-16", ["deadlines", "--as-of", "2024-01-16"]),
            ("/deadlines?asOf=2024-01-16", ["deadlines", "--format", "json", "--as-of", "2024-01-16"]),
            ("/incidents/\(TwoHospitals.incidentA)/audit", ["audit", "--format", "json", "--incident", TwoHospitals.incidentA]),
            (
                "/establishments/\(TwoHospitals.a)/timeline?format=json&asOf=2024-01-16",
                [
                    "timeline", "--hospital", TwoHospitals.a, "--format", "json", "--as-of", "2024-01-16",
                ]
            ),
            // At a fixed time: a chart drawn up to "now" would differ between the two runs a minute apart.
            (
                "/establishments/\(TwoHospitals.a)/timeline?format=svg&asOf=2024-01-20",
                [
                    "timeline", "--hospital", TwoHospitals.a, "--format", "svg", "--as-of", "2024-01-20",
                ]
            ),
        ]
        for (uri, args) in cases {
            let expected = try cli(args)
            try await ledger.test { client in
                try await client.execute(uri: uri, method: .get, headers: auth(auditor)) { response in
                    #expect(response.status == .ok, "\(uri)")
                    let body = String(buffer: response.body)
                    guard args.contains("json") else {
                        #expect(body == expected, "\(uri) differs from ledger \(args.joined(separator: " "))")
                        return
                    }
                    let document = try JSONParser.parse(expected)
                    let lists = (document.objectValue ?? [:]).filter { $0.key != "formatVersion" }
                    #expect(document["formatVersion"] == .number(JSONNumber(1)) && lists.count == 1, "\(expected)")
                    #expect(
                        try JSONParser.parse(body) == lists.first?.value,
                        "\(uri) differs from the list of ledger \(args.joined(separator: " "))")
                }
            }
        }
    }
}
