import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import IncidentDomain
import NIOCore
import ProjectionRunner
import Projections

extension LedgerService {
    // MARK: - Query parameters

    static func parameter(_ request: Request, _ name: String) -> String? {
        request.uri.queryParameters.get(name)
    }

    /// `asOf` and `knownAt`, read exactly as the CLI's `--as-of` and `--known-at`; a relative time (`-2h`) is
    /// relative to `now`, the queries' clock.
    static func queryTime(_ request: Request, now: Int64) throws -> QueryTime {
        func instant(_ name: String, future: Bool) throws -> Int64? {
            guard let text = parameter(request, name) else { return nil }
            if !future, TimeExpression.isFuture(text) {
                throw Problem.badRequest(
                    "\(name): \"\(text)\" is ahead of now: the ledger can only have recorded what has been recorded (try now or -2h)",
                    field: name)
            }
            guard let value = TimeExpression.queryInstant(text, now: { now }) else {
                throw Problem.badRequest("\(name): \(TimeExpression.refusal(text))", field: name)
            }
            return value
        }
        return QueryTime(asOf: try instant("asOf", future: true), knownAt: try instant("knownAt", future: false))
    }

    /// The line naming the times a text view shows, a relative time with the instant it stood for at `now`.
    static func header(_ request: Request, now: Int64) -> String {
        QueryViews.header(
            asOf: parameter(request, "asOf").map { TimeExpression.display($0, now: { now }) },
            knownAt: parameter(request, "knownAt").map { TimeExpression.display($0, now: { now }) })
    }

    static func format(_ request: Request, _ allowed: [String]) throws -> String {
        let format = parameter(request, "format") ?? allowed[0]
        guard allowed.contains(format) else {
            throw Problem.badRequest("format: \"\(format)\" is not one of \(allowed.joined(separator: ", "))", field: "format")
        }
        return format
    }

    /// A `true`/`false` parameter; absent is false.
    static func flag(_ request: Request, _ name: String) throws -> Bool {
        switch parameter(request, name) {
        case nil, "false": return false
        case "true": return true
        case let text?: throw Problem.badRequest("\(name): \"\(text)\" is not true or false", field: name)
        }
    }

    static func number(_ request: Request, _ name: String, default value: UInt64, range: ClosedRange<UInt64>) throws -> UInt64 {
        guard let text = parameter(request, name) else { return value }
        guard let number = UInt64(text), range.contains(number) else {
            throw Problem.badRequest(
                "\(name): \"\(text)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)", field: name)
        }
        return number
    }

    // MARK: - Public routes

    func addPublicRoutes(to router: Router<LedgerRequestContext>) {
        router.get("/") { _, _ in
            Self.body(String(decoding: PackageResources.index_html, as: UTF8.self), type: "text/html; charset=utf-8")
        }
        router.get("/openapi.json") { _, _ in
            Self.body(String(decoding: PackageResources.openapi_json, as: UTF8.self), type: "application/json")
        }
        router.get("/healthz") { _, _ in
            Self.json(.object(["status": .string(self.isDraining ? "draining" : "ok")]))
        }
        router.get("/catalogue") { _, _ in Self.json(Self.catalogueJSON) }
    }

    /// The event catalogue with each field's kind and allowed values: what a form needs to ask for a fact.
    static let catalogueJSON: JSONValue = .array(
        Catalogue.all.map { spec in
            .object([
                "eventType": .string(spec.eventType), "summary": .string(spec.summary),
                "streamKind": .string(spec.streamKind.rawValue), "requiresReason": .bool(spec.requiresReason),
                "fields": .array(
                    spec.fields.map { field in
                        var m: [String: JSONValue] = [
                            "name": .string(field.name), "required": .bool(field.required),
                            "summary": .string(field.kind.summary),
                            "kind": .string(kindName(field.kind)),
                        ]
                        if case .oneOf(let values) = field.kind { m["values"] = .array(values.map { .string($0) }) }
                        if case .service = field.kind { m["values"] = .array(Services.standard.map { .string($0.id) }) }
                        if field.name == "authority" { m["values"] = .array(Catalogue.authorities.map { .string($0) }) }
                        return .object(m)
                    }),
            ])
        })

    static func kindName(_ kind: FieldKind) -> String {
        switch kind {
        case .text: "text"
        case .finess: "finess"
        case .finessList: "finessList"
        case .service: "service"
        case .percent: "percent"
        case .count: "count"
        case .amount: "amount"
        case .boolean: "boolean"
        case .currency: "currency"
        case .eventId: "eventId"
        case .textList: "textList"
        case .oneOf: "oneOf"
        case .changes: "changes"
        case .occurredAt: "occurredAt"
        case .groupId: "groupId"
        }
    }

    // MARK: - Reading

    func addReadRoutes(to router: Router<LedgerRequestContext>) {
        router.get("/whoami") { _, context in
            let p = try self.principal(context)
            return Self.json(
                .object([
                    "principal": .string(p.name), "role": .string(p.role.rawValue), "establishments": p.scope.json,
                    "tokenId": .string(p.tokenId), "head": .number(JSONNumber(try self.store.lastPosition())),
                ]))
        }
        router.get("/incidents") { request, context in
            let p = try self.principal(context)
            let now = self.queries.clock.now()
            let time = try Self.queryTime(request, now: now)
            let format = try Self.format(request, ["json", "text"])
            let incident = try Self.parameter(request, "incident").map { try Self.streamId($0, "incident") }
            return try await self.blocking {
                // `incident=`: one incident, as `ledger state --incident` (an empty list when it was not known yet).
                if let incident { try self.requireIncident(incident, for: p) }
                let seen = self.visibility(p)
                let report = try self.queries.stateReport(incident: incident, at: time)
                let states = try report.states.filter { try seen.sees(stream: $0.incidentId) }
                if format == "text" {
                    return Self.body(
                        Self.header(request, now: now)
                            + QueryViews.stateText(
                                states, names: report.names, sources: try Self.flag(request, "sources"),
                                groups: report.groups),
                        type: "text/plain; charset=utf-8")
                }
                return Self.json(.array(states.map { QueryViews.stateJSON($0, groups: report.groups) }))
            }
        }
        router.get("/incidents/{incident}") { request, context in
            let (p, incident) = try self.incident(request, context)
            let now = self.queries.clock.now()
            let time = try Self.queryTime(request, now: now)
            let format = try Self.format(request, ["json", "text"])
            return try await self.blocking {
                try self.requireIncident(incident, for: p)
                let report = try self.queries.stateReport(incident: incident, at: time)
                guard let state = report.states.first else {
                    throw Problem.notFound(
                        "\(incident): none of its facts counts at that time (it had not begun, or every fact is retracted)")
                }
                if format == "text" {
                    return Self.body(
                        Self.header(request, now: now)
                            + QueryViews.stateText(
                                [state], names: report.names, sources: try Self.flag(request, "sources"),
                                groups: report.groups),
                        type: "text/plain; charset=utf-8")
                }
                return Self.json(QueryViews.stateJSON(state, groups: report.groups))
            }
        }
        router.get("/incidents/{incident}/deadlines") { request, context in
            let (p, incident) = try self.incident(request, context)
            return try await self.deadlines(request, p, incident: incident)
        }
        router.get("/deadlines") { request, context in
            try await self.deadlines(request, try self.principal(context), incident: nil)
        }
        router.get("/incidents/{incident}/audit") { request, context in
            let (p, incident) = try self.incident(request, context)
            return try await self.audit(request, p, incident: incident)
        }
        router.get("/audit") { request, context in
            let p = try self.principal(context)
            if let incident = Self.parameter(request, "incident") { return try await self.audit(request, p, incident: incident) }
            return try await self.audit(request, p, incident: nil)
        }
        router.get("/establishments") { _, context in
            let p = try self.principal(context)
            return try await self.blocking {
                let all = try self.queries.index().establishments()
                return Self.json(
                    .array(
                        all.values.filter { p.scope.covers($0.finess) }.sorted { $0.finess < $1.finess }.map { e in
                            .object([
                                "finess": .string(e.finess), "name": .string(e.name), "city": .string(e.city),
                                "group": e.group.map { .string($0) } ?? .null, "essentialOperator": .bool(e.essentialOperator),
                            ])
                        }))
            }
        }
        router.get("/establishments/{finess}/timeline") { request, context in
            let p = try self.principal(context)
            let finess = try Self.pathParameter(context, "finess")
            guard PayloadValidator.isFINESS(finess) else {
                throw Problem.badRequest(
                    "finess: \"\(finess)\" is not a FINESS number (9 characters: département 01-95, 2A, 2B or 97, then 7 digits)",
                    field: "finess")
            }
            guard p.scope.covers(finess) else { throw Problem.forbidden("\(p.name) does not reach establishment \(finess)") }
            let now = self.queries.clock.now()
            let time = try Self.queryTime(request, now: now)
            let format = try Self.format(request, ["json", "svg", "html", "text"])
            let width = Int(try Self.number(request, "width", default: 60, range: 20...400))
            return try await self.blocking {
                let timelines = try self.queries.timelines(establishment: finess, at: time)
                if timelines.isEmpty, try !self.queries.knows(establishment: finess) {
                    throw Problem.notFound("\(finess): no establishment registered and no incident touches it")
                }
                switch format {
                case "svg":
                    // One chart per incident: `incident=` chooses which, else the first that touches the establishment.
                    let incident = Self.parameter(request, "incident")
                    guard let chosen = timelines.first(where: { incident == nil || $0.incidentId == incident }) else {
                        throw Problem.notFound(
                            incident.map { "\($0) does not touch \(finess): nothing to draw" }
                                ?? "no incident touches \(finess): nothing to draw")
                    }
                    return Self.body(TimelineRendering.svg(chosen), type: "image/svg+xml")
                case "html": return Self.body(TimelineRendering.html(timelines), type: "text/html; charset=utf-8")
                case "text":
                    let text =
                        timelines.isEmpty
                        ? "no incident touches \(finess)\n"
                        : timelines.map { TimelineRendering.terminal($0, width: width) }.joined(separator: "\n")
                    return Self.body(Self.header(request, now: now) + text, type: "text/plain; charset=utf-8")
                default: return Self.json(.array(timelines.map(TimelineRendering.json)))
                }
            }
        }
        router.get("/events") { request, context in
            let p = try self.principal(context)
            let from = try Self.number(request, "from", default: 1, range: 1...UInt64(Int64.max))
            let limit = Int(try Self.number(request, "limit", default: 100, range: 1...UInt64(Self.pageLimit)))
            let stream = try Self.parameter(request, "stream").map { try Self.streamId($0, "stream") }
            return try await self.blocking {
                let seen = self.visibility(p)
                if let stream {
                    let reached = try seen.sees(stream: stream)
                    guard reached, try self.store.streamVersion(of: stream) > 0 else {
                        throw Problem.notFound("\(stream): no such stream (of those you reach)")
                    }
                }
                var events: [JSONValue] = []
                var next: UInt64? = nil
                let head = try self.store.lastPosition()
                if let stream {
                    // A stream read by position: its events at or after `from`, read one at a time.
                    try self.store.read(.stream(stream)) { event in
                        guard event.position >= from else { return true }
                        if events.count == limit {
                            next = event.position
                            return false
                        }
                        events.append(event.json)
                        return true
                    }
                } else {
                    var scanned = 0
                    try self.store.read(.log(fromPosition: from)) { event in
                        scanned += 1
                        if events.count == limit || scanned > limit * 20 {
                            next = event.position
                            return false
                        }
                        if try seen.sees(stream: event.streamId) { events.append(event.json) }
                        return true
                    }
                }
                let link = next.map { "/events?from=\($0)&limit=\(limit)" + (stream.map { "&stream=\(Self.escape($0))" } ?? "") }
                var headers: HTTPFields = [:]
                if let link { headers[HTTPField.Name("Link")!] = "<\(link)>; rel=\"next\"" }
                return Self.json(
                    .object([
                        "events": .array(events), "next": link.map { .string($0) } ?? .null, "head": .number(JSONNumber(head)),
                    ]),
                    headers: headers)
            }
        }
        router.get("/streams/{stream}/events") { request, context in
            let p = try self.principal(context)
            let stream = try Self.streamId(try Self.pathParameter(context, "stream"), "stream")
            let from = try Self.number(request, "from", default: 1, range: 1...UInt64(Int64.max))
            let limit = Int(try Self.number(request, "limit", default: 100, range: 1...UInt64(Self.pageLimit)))
            return try await self.blocking {
                let version = try self.store.streamVersion(of: stream)
                guard version > 0, try self.visibility(p).sees(stream: stream) else {
                    throw Problem.notFound("\(stream): no such stream (of those you reach)")
                }
                let events = try self.store.events(.stream(stream, fromVersion: from), limit: limit + 1)
                let next =
                    events.count > limit
                    ? "/streams/\(Self.escape(stream))/events?from=\(from + UInt64(limit))&limit=\(limit)" : nil
                var headers: HTTPFields = [:]
                if let next { headers[HTTPField.Name("Link")!] = "<\(next)>; rel=\"next\"" }
                return Self.json(
                    .object([
                        "events": .array(events.prefix(limit).map(\.json)), "next": next.map { .string($0) } ?? .null,
                        "streamVersion": .number(JSONNumber(version)),
                    ]), headers: headers)
            }
        }
        router.get("/verify") { _, context in
            let p = try self.principal(context)
            guard p.role.audits else {
                throw Problem.forbidden("verify: for auditors and admins; \(p.name) is a \(p.role.rawValue)")
            }
            return try await self.blocking {
                let (report, problem) = try self.queries.verify()
                return Self.json(
                    .object([
                        "valid": .bool(problem == nil), "problem": problem.map { .string($0) } ?? .null,
                        "events": .number(JSONNumber(report.eventsChecked)),
                        "indexEntries": .number(JSONNumber(report.indexEntriesChecked)),
                        "subtrees": .number(JSONNumber(report.subtreesChecked)), "headHash": .string(report.headHash),
                        "recordedAtSetBy": try self.store.clockProvenance().map(JSONValue.string) ?? .null,
                    ]))
            }
        }
        router.get("/stats") { _, context in
            let p = try self.principal(context)
            guard p.role.audits else {
                throw Problem.forbidden("stats: for auditors and admins; \(p.name) is a \(p.role.rawValue)")
            }
            return try await self.blocking {
                let s = try self.store.statistics()
                return Self.json(
                    .object([
                        "events": .number(JSONNumber(s.events)), "streams": .number(JSONNumber(s.streams)),
                        "headHash": .string(s.headHash),
                        "lastRecordedAt": s.lastRecordedAt.map { .string($0.rfc3339Micros) } ?? .null,
                        "mapSize": .number(JSONNumber(s.mapSize)), "usedBytes": .number(JSONNumber(s.usedBytes)),
                        "fileSize": .number(JSONNumber(s.fileSize)), "lmdbVersion": .string(s.lmdbVersion),
                        "ledgerVersion": .string(LedgerVersion.current),
                        "readersInUse": .number(JSONNumber(s.readersInUse)),
                        "maximumReaders": .number(JSONNumber(s.maximumReaders)),
                        "recordedAtSetBy": try self.store.clockProvenance().map(JSONValue.string)
                            ?? .string("the ledger's clock"),
                    ]))
            }
        }
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:"))) ?? text
    }

    /// A path parameter, percent-decoded: Hummingbird gives the raw segment, and clients encode the `:` of
    /// stream ids (`incident%3Aaphp-2021-09`, as encodeURIComponent does).
    static func pathParameter(_ context: LedgerRequestContext, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        guard let decoded = raw.removingPercentEncoding else {
            throw Problem.badRequest("\(name): \"\(raw)\" is not percent-encoded UTF-8", field: name)
        }
        return decoded
    }

    /// A stream id from the path or the query, checked by the envelope's rule (no NUL, no control characters).
    static func streamId(_ text: String, _ name: String) throws -> String {
        do { try EnvelopeRules.checkStreamId(text, field: name) } catch {
            throw Problem.badRequest(error.description, field: name)
        }
        return text
    }

    static func noSuchIncident(_ incident: String) -> Problem {
        Problem.notFound("\(incident): no such incident (of those you reach)")
    }

    /// The principal and the `{incident}` of the path.
    func incident(_ request: Request, _ context: LedgerRequestContext) throws -> (Principal, String) {
        (try principal(context), try Self.streamId(try Self.pathParameter(context, "incident"), "incident"))
    }

    /// 404 for an incident that does not exist and for one the principal does not reach (decided first, and
    /// without writing anything: the index is caught up only for an incident the principal may see).
    func requireIncident(_ incident: String, for p: Principal) throws {
        guard incident.hasPrefix(StreamKind.incident.prefix), try store.streamVersion(of: incident) > 0,
            try visibility(p).sees(stream: incident), try queries.hasIncident(incident)
        else { throw Self.noSuchIncident(incident) }
    }

    /// The clocks most urgent first, as `ledger deadlines` prints them; `dueWithin` and `status` filter them as
    /// `--due-within` and `--status` do.
    func deadlines(_ request: Request, _ p: Principal, incident: String?) async throws -> Response {
        let now = self.queries.clock.now()
        let time = try Self.queryTime(request, now: now)
        let format = try Self.format(request, ["json", "text"])
        let filter = try Self.deadlineFilter(request)
        return try await blocking {
            if let incident { try self.requireIncident(incident, for: p) }
            let seen = self.visibility(p)
            // The clock read once: the relative times, the folds and the time left count from the same instant.
            let at = time.answered(at: now)
            let all = try self.queries.deadlines(incident: incident, at: at).filter { try seen.sees(stream: $0.incident) }
            let board = DeadlineBoard(all, reference: at.reference, filter: filter)
            if format == "text" {
                return Self.body(
                    Self.header(request, now: now) + QueryViews.deadlinesText(board), type: "text/plain; charset=utf-8")
            }
            return Self.json(.array(board.items.map(QueryViews.clockJSON)))
        }
    }

    /// `dueWithin` (30m, 24h, 3d) and `status` (comma-separated statuses) of the deadline routes.
    static func deadlineFilter(_ request: Request) throws -> DeadlineBoard.Filter {
        var filter = DeadlineBoard.Filter()
        if let text = parameter(request, "dueWithin") {
            guard let window = DurationExpression.microseconds(text) else {
                throw Problem.badRequest("dueWithin: \(DurationExpression.refusal(text))", field: "dueWithin")
            }
            filter.dueWithin = window
        }
        if let text = parameter(request, "status") {
            for name in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let status = ObligationClock.Status(rawValue: String(name)) else {
                    let all = ObligationClock.Status.allCases.map(\.rawValue).joined(separator: ", ")
                    throw Problem.badRequest("status: \"\(name)\" is not one of \(all)", field: "status")
                }
                filter.statuses.insert(status)
            }
        }
        return filter
    }

    func audit(_ request: Request, _ p: Principal, incident: String?) async throws -> Response {
        let now = self.queries.clock.now()
        let time = try Self.queryTime(request, now: now)
        let format = try Self.format(request, ["json", "text"])
        var since: Int64?
        if let text = Self.parameter(request, "since") {
            if TimeExpression.isFuture(text) {
                throw Problem.badRequest(
                    "since: \"\(text)\" is ahead of now: nothing is recorded yet then (try -2h or -3d)", field: "since")
            }
            guard
                let start = TimeExpression.relativeInstant(text, now: { now })
                    ?? TimeExpression.occurredAt(text, now: { now })?.earliest
            else {
                throw Problem.badRequest("since: \(TimeExpression.refusal(text))", field: "since")
            }
            since = start
        }
        let actor = Self.parameter(request, "actor")
        let start = since
        return try await blocking {
            if let incident { try self.requireIncident(incident, for: p) }
            let seen = self.visibility(p)
            let entries = try self.queries.audit(AuditTrail.Filter(actor: actor, incident: incident, since: start), at: time)
                .filter { try seen.sees(stream: $0.streamId) }
            if format == "text" {
                return Self.body(
                    Self.header(request, now: now) + QueryViews.auditText(entries), type: "text/plain; charset=utf-8")
            }
            return Self.json(.array(entries.map(QueryViews.auditJSON)))
        }
    }
}
