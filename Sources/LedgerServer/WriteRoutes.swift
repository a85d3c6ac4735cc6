import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import IncidentDomain
import NIOCore
import Projections

extension LedgerService {
    func addWriteRoutes(to router: Router<LedgerRequestContext>) {
        // Events as JSON (the input envelope, one object, an array or NDJSON), to one stream.
        router.post("/streams/{stream}/events") { request, context in
            let p = try self.principal(context)
            let stream = try Self.pathParameter(context, "stream")
            let expected = try Self.expectedVersion(request)
            let data = Data(buffer: try await request.body.collect(upTo: Self.bodyLimit))
            let input: InputEvents
            do { input = try InputEvents.parse(data, name: "request body") } catch { throw Problem.from(error) }
            for item in input.items where item.json["actor"] != nil {
                throw Problem.invalid(
                    "request body\(item.location): \(item.path).actor: the actor is the authenticated principal (\(p.name)); send none",
                    field: "actor")
            }
            return try await self.append(input, to: stream, expected: expected, by: p)
        }
        // One fact as typed text fields, converted and checked exactly as `ledger record` does.
        router.post("/facts") { request, context in
            let p = try self.principal(context)
            let data = Data(buffer: try await request.body.collect(upTo: Self.bodyLimit))
            let body: JSONValue
            do { body = try JSONParser.parse(data) } catch {
                throw Problem.badRequest("request body: \(error)")
            }
            guard case .object(let m) = body else { throw Problem.invalid("request body: expected a JSON object") }
            func text(_ name: String, required: Bool) throws -> String? {
                guard let value = m[name] else {
                    if required { throw Problem.invalid("\(name): required", field: name) }
                    return nil
                }
                guard let string = value.stringValue else { throw Problem.invalid("\(name): expected a string", field: name) }
                return string
            }
            for key in m.keys.sorted()
            where !["eventType", "incident", "at", "source", "reason", "eventId", "fields", "expectedVersion"].contains(key) {
                throw Problem.invalid(
                    "\(key): not a member of a fact (eventType, incident, at, source, reason, eventId, fields, expectedVersion)",
                    field: key)
            }
            var pairs: [(name: String, value: String)] = []
            if let fields = m["fields"] {
                guard case .object(let f) = fields else {
                    throw Problem.invalid("fields: expected an object of texts", field: "fields")
                }
                for name in f.keys.sorted() {
                    guard let value = f[name]?.stringValue else {
                        throw Problem.invalid(
                            "fields.\(name): expected a string (typed as on the command line)", field: "fields.\(name)")
                    }
                    if value.isEmpty { continue }  // an empty form field is a field not given
                    pairs.append((name, value))
                }
            }
            let form = RecordForm(
                eventType: try text("eventType", required: true)!, incident: try text("incident", required: false),
                at: try text("at", required: true)!, source: try text("source", required: true)!,
                reason: try text("reason", required: false).flatMap { $0.isEmpty ? nil : $0 },
                eventId: try text("eventId", required: false),
                fields: pairs)
            var expected = try Self.expectedVersion(request)
            if let given = try text("expectedVersion", required: false) {
                guard let parsed = ExpectedVersion(given) else {
                    throw Problem.invalid(
                        "expectedVersion: \"\(given)\" is not any, no-stream, stream-exists or a number", field: "expectedVersion"
                    )
                }
                expected = parsed
            }
            let (event, stream) = try form.event(naming: .json)
            do {
                return try await self.append(
                    InputEvents(name: "fact", items: [InputEvents.Item(json: event, path: "$", location: "")]), to: stream,
                    expected: expected, by: p, naming: .json)
            } catch {
                // The form's fields are `fields.x`: name them so, so that a page shows the error beside its input.
                var problem = Problem.from(error)
                if let field = problem.field, field.hasPrefix("payload.") { problem.field = "fields." + field.dropFirst(8) }
                throw problem
            }
        }
    }

    /// `If-Match: "3"` (that version), `If-Match: *` (the stream exists), `If-None-Match: *` (no stream yet),
    /// or `expectedVersion=` in the query; otherwise any.
    static func expectedVersion(_ request: Request) throws -> ExpectedVersion {
        if let match = request.headers[.ifMatch] {
            let value = match.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            if value == "*" { return .streamExists }
            guard let version = UInt64(value) else {
                throw Problem.badRequest("If-Match: \"\(match)\" is not a stream version (a number) or *", field: "If-Match")
            }
            return .exactly(version)
        }
        if let none = request.headers[.ifNoneMatch] {
            guard none.trimmingCharacters(in: .whitespaces) == "*" else {
                throw Problem.badRequest("If-None-Match: only * (the stream must not exist yet)", field: "If-None-Match")
            }
            return .noStream
        }
        if let text = parameter(request, "expectedVersion") {
            guard let expected = ExpectedVersion(text) else {
                throw Problem.badRequest(
                    "expectedVersion: \"\(text)\" is not any, no-stream, stream-exists or a number", field: "expectedVersion")
            }
            return expected
        }
        return .any
    }

    /// Checks the principal's right to write, then the domain's rules, then appends through the group commit.
    /// The answer carries the warnings of the intake, their fields named by `naming` when the input was a form.
    func append(
        _ input: InputEvents, to stream: String, expected: ExpectedVersion, by p: Principal, naming: RecordForm.Naming? = nil
    ) async throws -> Response {
        guard p.role.records else { throw Problem.forbidden("\(p.name) is a \(p.role.rawValue): it records nothing") }
        // Checked in the request's own task, not on the thread pool: a few short reads, and one hop less per
        // append (the hops, not the work, dominated an append's CPU in the benchmark).
        let sawVersion = try authorizeWrite(input, to: stream, by: p)
        let intake: IntakeResult
        do {
            intake = try IncidentIntake(store: store, principal: p.name).prepare(
                from: input, defaultStream: stream, defaultActor: p.name, expected: expected)
        } catch { throw Problem.from(error) }
        let request = intake.requests[0]
        // A stream seen empty when authorized must still be empty when written: another hospital opening the same
        // incident id meanwhile must not hand this principal its incident.
        let effective = expected == .any && sawVersion == 0 ? ExpectedVersion.noStream : expected
        let result: AppendResult
        do {
            result = try await store.append(request.events, to: stream, expectedVersion: effective)
        } catch let error as EventStoreError where error.code == .wrongExpectedVersion {
            var problem = Problem.from(error)
            problem.extra["expectedVersion"] = .string(expected.description)
            problem.extra["actualVersion"] = .number(JSONNumber(try store.streamVersion(of: stream)))
            throw problem
        }
        live.poke()
        return Self.json(
            .object([
                "streamId": .string(result.streamId), "positions": .array(result.positions.map { .number(JSONNumber($0)) }),
                "eventIds": .array(request.events.compactMap { $0.eventId.map { .string($0.lowercasedString) } }),
                "streamVersion": .number(JSONNumber(result.streamVersion)), "alreadyStored": .bool(result.wasAlreadyStored),
                // Facts accepted but probably mistakes: stored all the same, said so that the client can show them.
                "warnings": .array(
                    intake.warnings.map { located in
                        let warning = naming.map { located.warning.named(by: $0) } ?? located.warning
                        return .object([
                            "field": .string(warning.field), "message": .string(warning.message),
                            "eventId": .string(located.eventId.lowercasedString),
                        ])
                    }),
            ]), status: result.wasAlreadyStored ? .ok : .created,
            headers: [.location: "/streams/\(Self.escape(stream))/events?from=\(result.streamVersion)"])
    }

    /// Who may write where: recorders on the incidents they reach (and new incidents opened for their own
    /// establishments), admins also on establishment registrations; no one through here on access streams.
    /// Every establishment a payload names must be in the principal's scope.
    /// Returns the stream's version as it was checked.
    @discardableResult
    func authorizeWrite(_ input: InputEvents, to stream: String, by p: Principal) throws -> UInt64 {
        if stream.hasPrefix("access:") {
            throw Problem.forbidden("\(stream): tokens are granted and revoked through /tokens, not appended")
        }
        let version = try store.streamVersion(of: stream)
        if stream.hasPrefix(StreamKind.establishment.prefix) {
            guard p.role.administers else { throw Problem.forbidden("\(stream): registering establishments is for admins") }
        } else if stream.hasPrefix(StreamKind.group.prefix) {
            // A group's members decide what its views gather: recording them is for admins, like registrations.
            guard p.role.administers else { throw Problem.forbidden("\(stream): recording groups is for admins") }
        } else if version > 0 {
            // An incident the principal does not reach is answered as one that does not exist: its existence is
            // another hospital's information.
            guard try visibility(p).sees(stream: stream) else { throw Self.noSuchIncident(stream) }
        } else if stream.hasPrefix(StreamKind.incident.prefix),
            input.items.first?.json["eventType"]?.stringValue != "incident.opened"
        {
            // A mistyped incident id must not open an incident nobody opened; the id probably meant is looked for
            // among the incidents this principal reaches only, as `ledger record` looks among the ledger's.
            let seen = visibility(p)
            let reached = try queries.index().incidents.filter { try seen.sees(stream: $0) }
            throw Problem.notFound(
                "\(stream): no such incident (of those you reach)\(Suggestion.hint(forStream: stream, among: reached)); a new "
                    + "one's first event must be incident.opened")
        }
        guard case .establishments = p.scope else { return version }
        for item in input.items {
            guard let type = item.json["eventType"]?.stringValue, let payload = item.json["payload"] else { continue }
            // What the event names, and for a correction or retraction what its target names: a recorder of one
            // hospital neither writes about another nor rewrites another's facts on a shared incident.
            var named = StreamScopes.establishments(named: type, payload: payload)
            for key in ["correctedEventId", "retractedEventId", "updatedEventId"] {
                if let text = payload[key]?.stringValue, let id = UUID(uuidString: text), let target = try store.event(id: id) {
                    named.formUnion(StreamScopes.establishments(named: target.eventType, payload: target.payload))
                }
            }
            for finess in named.sorted() where !p.scope.covers(finess) {
                throw Problem.forbidden(
                    "\(item.path).payload: \(p.name) does not reach establishment \(finess) (\(p.scope.description))")
            }
        }
        return version
    }
}
