import EventStore
import Foundation
import IncidentDomain
import LedgerTestSupport
import ProjectionRunner
import Testing

@testable import Projections

private func s(_ text: String) -> JSONValue { .string(text) }
private func n(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }

/// An input event as a dataset line, recorded a minute after `occurred` starts unless `recordAt` says otherwise.
private func line(
    _ type: String, _ occurred: String, _ payload: [String: JSONValue], stream: String = "incident:test", id: UUID = UUID(),
    recordAt: String = "2024-03-01T12:00:00+01:00"
) -> DatasetLine {
    let event: [String: JSONValue] = [
        "eventId": .string(id.uuidString), "streamId": .string(stream), "eventType": .string(type),
        "occurredAt": TimeExpression.occurredAt(occurred)!.json, "source": .string("test log"),
        "actor": .string("cell@test.example"), "payload": .object(payload),
    ]
    return DatasetLine(recordAt: Timestamp(rfc3339: recordAt)!, event: .object(event))
}

/// What DomainRules say of one event bound for `stream`: nil when accepted, else the error.
private func refusal(
    _ type: String, _ payload: [String: JSONValue], stream: String = "incident:x",
    lookup: @escaping DomainRules.Lookup = { _ in nil }, reason: String? = nil
) -> EventStoreError? {
    let event = ProposedEvent(
        eventType: type, occurredAt: .instant(Timestamp(microseconds: 0)), actor: "a", source: "s", reason: reason,
        payload: .object(payload))
    do {
        try DomainRules().check(event, streamId: stream, path: "$", lookup: lookup)
        return nil
    } catch { return error as? EventStoreError }
}

@Suite("The vocabulary of a hospital's crisis")
struct VocabularyTests {
    /// Every event type that carries a figure lets the recorder say who claims it.
    @Test func everyTypeWithAFigureHasClaimedBy() {
        let figures: Set<FieldKind> = [.count, .amount, .percent]
        let withFigures = Catalogue.all.filter { spec in spec.fields.contains { figures.contains($0.kind) } }
        #expect(withFigures.count >= 7)
        for spec in withFigures {
            #expect(spec.field("claimedBy")?.kind == .text, "\(spec.eventType) has a figure but no claimedBy")
        }
        #expect(
            Set(withFigures.map(\.eventType)).isSuperset(of: [
                "service.degraded", "service.restored", "care.impact_reported", "data.exfiltration_confirmed",
                "ransom.demanded", "ransom.paid", "persons.notified",
            ]))
    }

    /// New types and fields: what is accepted, and for each bad input the one-line error naming the field.
    @Test(
        arguments: [
            ("crisis.measure_activated", ["measure": s("plan_blanc")], nil, nil),
            ("crisis.measure_activated", ["measure": s("other"), "description": s("cellule régionale")], nil, nil),
            (
                "crisis.measure_activated", ["measure": s("plan_rouge")], "$.payload.measure",
                "\"plan_rouge\" is not one of plan_blanc, degraded_mode, deprogramming, ambulance_diversion, other"
            ),
            (
                "crisis.measure_activated", ["measure": s("other")], "$.payload.description",
                "required for crisis.measure_activated when measure is other"
            ),
            ("crisis.measure_lifted", ["measure": s("plan_blanc"), "establishment": s("440000289")], nil, nil),
            (
                "crisis.measure_lifted", ["establishment": s("440000289")], "$.payload.measure",
                "required for crisis.measure_lifted"
            ),
            ("support.deployed", ["provider": s("ANSSI"), "onSite": .bool(true)], nil, nil),
            ("support.deployed", ["provider": s("PRIVATE_PROVIDER")], nil, nil),
            (
                "support.deployed", ["provider": s("OTHER")], "$.payload.name",
                "required for support.deployed when provider is OTHER"
            ),
            (
                "support.deployed", ["provider": s("ANSSI"), "onSite": s("yes")], "$.payload.onSite",
                "expected true or false, got string"
            ),
            ("judicial.investigation_opened", ["prosecutor": s("Parquet de Paris, J3")], nil, nil),
            ("judicial.investigation_opened", ["investigators": s("OFAC"), "offences": .array([s("extorsion")])], nil, nil),
            (
                "judicial.investigation_opened", ["reference": s("2024/1")], "$.payload",
                "needs at least one of prosecutor, investigators, description"
            ),
            (
                "judicial.investigation_opened", ["description": s("x"), "offences": .array([])], "$.payload.offences",
                "must hold at least one item"
            ),
            ("ransom.demanded", ["amountMin": n(5_000_000), "amountMax": n(10_000_000), "confirmed": .bool(false)], nil, nil),
            ("ransom.demanded", ["amountMin": n(5_000_000)], nil, nil),
            (
                "ransom.demanded", ["amountMin": n(10_000_000), "amountMax": n(5_000_000)], "$.payload.amountMax",
                "5000000 is below amountMin 10000000"
            ),
            (
                "ransom.demanded", ["amount": n(10), "amountMax": n(12)], "$.payload.amountMax",
                "give either amount or amountMin/amountMax, not both"
            ),
            ("ransom.demanded", ["amount": n(10), "claimedBy": s(" ")], "$.payload.claimedBy", nil),
            ("ransom.refused", [:], nil, nil),
            ("ransom.paid", ["amount": n(500_000), "currency": s("USD"), "claimedBy": s("the attackers")], nil, nil),
            ("ransom.paid", ["amount": n(-1)], "$.payload.amount", "expected a number from 0 to 10^15, got -1"),
            ("complaint.filed", [:], nil, nil),
            (
                "complaint.filed", ["filedWith": s("mairie")], "$.payload.filedWith",
                "\"mairie\" is not one of police, gendarmerie, prosecutor"
            ),
            ("authority.investigation_opened", ["authority": s("OTHER"), "name": s("Défenseur des droits")], nil, nil),
            (
                "care.impact_reported",
                ["establishment": s("440000289"), "kind": s("other"), "description": s("d"), "claimedBy": s("CGT")], nil, nil
            ),
            (
                "persons.notified", ["description": s("letters"), "claimedBy": n(3)], "$.payload.claimedBy",
                "expected a string, got number"
            ),
        ] as [(String, [String: JSONValue], String?, String?)])
    func newTypesAndFieldsAreCheckedField(type: String, payload: [String: JSONValue], field: String?, message: String?) {
        let error = refusal(type, payload)
        #expect(error?.field == field, "\(type) \(payload): \(error?.description ?? "accepted")")
        if let message { #expect(error?.message == message) }
        if let error { #expect(!error.description.contains("\n")) }
    }

    @Test func groupEventsBelongInTheirGroupStream() {
        let registered: [String: JSONValue] = ["groupId": s("ght-44"), "name": s("GHT 44"), "kind": s("ght")]
        #expect(refusal("group.registered", registered, stream: "group:ght-44") == nil)
        #expect(
            refusal("group.registered", registered.merging(["groupId": s("750712184")]) { $1 }, stream: "group:750712184") == nil)
        #expect(
            refusal("group.registered", registered, stream: "group:ght-35")?.description
                == "$.streamId: the events of group ght-44 go in group:ght-44")
        #expect(
            refusal("group.registered", registered, stream: "incident:x")?.description
                == "$.streamId: group.registered belongs in a stream group:…, not \"incident:x\"")
        #expect(refusal("note.added", ["text": s("x")], stream: "group:ght-44")?.field == "$.streamId")
        #expect(
            refusal("group.member_added", ["groupId": s("GHT 44"), "finess": s("440000289")], stream: "group:ght-44")?.description
                == "$.payload.groupId: \"GHT 44\" is not a group id (lower-case letters and digits in words joined by -, like ght-44, or a FINESS juridique)"
        )
        #expect(
            refusal("group.member_removed", ["groupId": s("ght-44")], stream: "group:ght-44")?.description
                == "$.payload.finess: required for group.member_removed")
        #expect(
            refusal("group.registered", registered.merging(["kind": s("club")]) { $1 }, stream: "group:ght-44")?.field
                == "$.payload.kind")
        for good in ["ght-44", "ght-loire-atlantique", "2A0000011", "aphp"] {
            #expect(PayloadValidator.isGroupId(good), "\(good)")
        }
        for bad in ["", "-ght", "ght-", "ght--44", "GHT-44", "ght_44", String(repeating: "a", count: 65)] {
            #expect(!PayloadValidator.isGroupId(bad), "\(bad)")
        }
    }

    /// A correction is held to the rules between fields, on the fact as corrected so far.
    @Test func aCorrectionCannotBreakARangeOrAnExclusion() {
        let target = UUID()
        let demand: JSONValue = .object(["amountMin": n(5_000_000), "amountMax": n(10_000_000)])
        let lookup: DomainRules.Lookup = { id in
            id == target ? DomainRules.Target(streamId: "incident:x", eventType: "ransom.demanded", payload: demand) : nil
        }
        func correct(_ changes: [String: JSONValue]) -> EventStoreError? {
            refusal(
                "event.corrected", ["correctedEventId": s(target.uuidString), "changes": .object(changes)], lookup: lookup,
                reason: "recount")
        }
        #expect(correct(["amountMax": n(8_000_000)]) == nil)
        #expect(
            correct(["amountMin": n(20_000_000)])?.description
                == "$.payload.changes.amountMax: 10000000 is below amountMin 20000000")
        #expect(
            correct(["amount": n(7_000_000)])?.description
                == "$.payload.changes.amountMin: give either amount or amountMin/amountMax, not both")
    }

    /// The same rule through the ledger: the lookup reads the corrections already recorded.
    @Test func theLedgerLookupAppliesEarlierCorrections() throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        let demand = UUID()
        try load(
            [
                line("incident.opened", "2024-01-15", ["title": s("t"), "establishments": .array([s("440000289")])]),
                line("ransom.demanded", "2024-01-16", ["amountMin": n(1), "amountMax": n(10)], id: demand),
            ], into: store, clock: clock)
        let correction = ProposedEvent(
            eventType: "event.corrected", occurredAt: .instant(Timestamp(microseconds: 0)), actor: "a", source: "s",
            reason: "r", payload: .object(["correctedEventId": s(demand.uuidString), "changes": .object(["amountMax": n(5)])]))
        try DomainRules().check(correction, streamId: "incident:test", path: "$", lookup: DomainRules.lookup(in: store))
        _ = try store.appendAtomically([AppendRequest(streamId: "incident:test", events: [correction])])
        let second = ProposedEvent(
            eventType: "event.corrected", occurredAt: .instant(Timestamp(microseconds: 0)), actor: "a", source: "s",
            reason: "r", payload: .object(["correctedEventId": s(demand.uuidString), "changes": .object(["amountMin": n(7)])]))
        let error = #expect(throws: EventStoreError.self) {
            try DomainRules().check(second, streamId: "incident:test", path: "$", lookup: DomainRules.lookup(in: store))
        }
        #expect(error?.description == "$.payload.changes.amountMax: 5 is below amountMin 7")
    }

    @Test(
        arguments: [
            ([], nil),
            (["ransom.absent"], RansomStatus.absent),
            (["ransom.absent", "unconfirmed"], .unconfirmed),
            (["unconfirmed", "ransom.demanded"], .demanded),
            (["ransom.demanded", "ransom.refused", "unconfirmed"], .refused),
            (["ransom.refused", "ransom.paid"], .paid),
            (["ransom.paid", "ransom.absent"], .paid),
        ] as [([String], RansomStatus?)])
    func theRansomStatusFollowsItsFacts(kinds: [String], expected: RansomStatus?) throws {
        let events = try kinds.map { kind -> IncidentEvent in
            switch kind {
            case "unconfirmed": try IncidentEvent(eventType: "ransom.demanded", payload: .object(["confirmed": .bool(false)]))
            case "ransom.absent": try IncidentEvent(eventType: kind, payload: .object(["description": s("none")]))
            default: try IncidentEvent(eventType: kind, payload: .object([:]))
            }
        }
        #expect(RansomStatus.derive(from: events) == expected)
    }

    /// State: measures paired with their liftings, the ransom status, outside support, a judicial investigation,
    /// an OTHER authority by its name, a complaint without recipient; each at the query's as-of time.
    @Test func theStateShowsMeasuresRansomSupportAndInvestigations() throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        let a = "440000289"
        let b = "440000271"
        try load(
            [
                line("incident.opened", "2024-01-15", ["title": s("t"), "establishments": .array([s(a), s(b)])]),
                line("crisis.measure_activated", "2024-01-15 06:30", ["measure": s("plan_blanc"), "establishment": s(a)]),
                line("crisis.measure_activated", "2024-01-15 07:00", ["measure": s("plan_blanc"), "establishment": s(b)]),
                line("crisis.measure_activated", "2024-01-15 08:00", ["measure": s("ambulance_diversion")]),
                line("crisis.measure_lifted", "2024-01-20", ["measure": s("plan_blanc"), "establishment": s(a)]),
                line("crisis.measure_lifted", "2024-01-22", ["measure": s("degraded_mode")]),
                line(
                    "ransom.demanded", "2024-01-16",
                    ["amountMin": n(5_000_000), "amountMax": n(10_000_000), "currency": s("USD"), "confirmed": .bool(false)]),
                line("ransom.refused", "2024-01-18", ["refusedBy": s("the director")]),
                line("support.deployed", "2024-01-15", ["provider": s("ANSSI"), "onSite": .bool(true)]),
                line(
                    "support.deployed", "2024-01-16",
                    ["provider": s("OTHER"), "name": s("Orange Cyberdefense"), "onSite": .bool(false)]),
                line(
                    "judicial.investigation_opened", "2024-01-17",
                    ["prosecutor": s("Parquet de Paris, J3"), "investigators": s("OFAC")]),
                line(
                    "authority.investigation_opened", "2024-01-19",
                    ["authority": s("OTHER"), "name": s("IGAS"), "description": s("administrative inquiry")]),
                line(
                    "authority.notified", "2024-01-16", ["authority": s("OTHER"), "description": s("the prefecture, by phone")]),
                line("complaint.filed", "2024-01-17", [:]),
            ], into: store, clock: clock)
        let queries = LedgerQueries(store: store)
        let state = try #require(try queries.states(incident: "incident:test", at: .now).first)
        #expect(state.ransomStatus == .refused)
        #expect(state.crisisMeasures.map(\.measure) == ["plan_blanc", "plan_blanc", "ambulance_diversion", "degraded_mode"])
        #expect(state.crisisMeasures.map(\.isActive) == [false, true, true, false])
        #expect(state.crisisMeasures[3].activated == nil)
        #expect(state.support.map(\.summary) == ["ANSSI support on site", "Orange Cyberdefense support remotely"])
        #expect(
            state.investigations.map(\.summary) == [
                "judicial investigation opened by Parquet de Paris, J3, investigators: OFAC",
                "IGAS opened an investigation — administrative inquiry",
            ])
        #expect(state.notifications.map(\.summary) == ["another authority notified — the prefecture, by phone"])
        #expect(state.complaints.map(\.summary) == ["complaint filed"])
        #expect(state.ransom.first?.summary == "ransom demanded: between 5000000 and 10000000 USD (unconfirmed)")
        // Before the refusal and the lifting.
        let earlier = try #require(
            try queries.states(incident: "incident:test", at: QueryTime(asOf: TimeExpression.queryInstant("2024-01-17"))).first)
        #expect(earlier.ransomStatus == .unconfirmed)
        #expect(earlier.crisisMeasures.map(\.isActive) == [true, true, true])
        let json = QueryViews.stateJSON(state)
        #expect(json["ransomStatus"] == s("refused"))
        #expect(
            json["crisisMeasures"]?.arrayValue?.compactMap { $0["status"]?.stringValue } == [
                "lifted", "active", "active", "lifted",
            ])
        #expect(json["support"]?.arrayValue?.count == 2)
        let text = QueryViews.stateText([state], names: [:])
        #expect(text.contains("  ransom (status: refused):\n"))
        #expect(text.contains("    - plan blanc at 440000289: lifted 2024-01-20 (day), active from 2024-01-15 06:30 +01:00\n"))
        #expect(text.contains("    - ambulance diversion: active since 2024-01-15 08:00 +01:00\n"))
        #expect(text.contains("  outside support:\n    - ANSSI support on site [2024-01-15 (day)]\n"))
    }

    /// Membership: dated events open and close periods; a registration's group makes an undated member, unless
    /// the site has dated events; a window counts from its start; what was not recorded by known-at is unknown.
    @Test func groupMembershipsHaveDates() throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        let (a, b, c, d) = ("440000289", "440000271", "440000305", "440000313")
        func registration(_ finess: String, group: String?) -> DatasetLine {
            var payload: [String: JSONValue] = ["finess": s(finess), "name": s("Site \(finess)"), "city": s("Nantes")]
            if let group { payload["group"] = s(group) }
            return line(
                "establishment.registered", "2024-01-01", payload, stream: "establishment:\(finess)",
                recordAt: "2024-01-01T12:00:00+01:00")
        }
        let g = "group:ght-44"
        try load(
            [
                registration(a, group: "ght-44"), registration(b, group: nil), registration(c, group: "ght-44"),
                registration(d, group: "CHU de Nantes"),
                line(
                    "group.registered", "2016-07-01", ["groupId": s("ght-44"), "name": s("GHT 44"), "kind": s("ght")], stream: g,
                    recordAt: "2024-01-02T12:00:00+01:00"),
                line(
                    "group.member_added", "2016-07-01", ["groupId": s("ght-44"), "finess": s(b)], stream: g,
                    recordAt: "2024-01-02T12:01:00+01:00"),
                line(
                    "group.member_removed", "2020-01-01/2020-06-30", ["groupId": s("ght-44"), "finess": s(b)], stream: g,
                    recordAt: "2024-01-02T12:02:00+01:00"),
                line(
                    "group.member_added", "2021-03-01", ["groupId": s("ght-44"), "finess": s(c)], stream: g,
                    recordAt: "2024-01-02T12:03:00+01:00"),
                line(
                    "group.registered", "2024-01-02",
                    ["groupId": s("ght-44"), "name": s("GHT Loire-Atlantique"), "kind": s("ght")], stream: g,
                    recordAt: "2024-02-01T12:00:00+01:00"),
            ], into: store, clock: clock)
        let queries = LedgerQueries(store: store)
        func members(_ asOf: String?, knownAt: String? = nil) throws -> [String] {
            let time = QueryTime(
                asOf: asOf.flatMap(TimeExpression.queryInstant), knownAt: knownAt.flatMap(TimeExpression.queryInstant))
            let group = try #require(try queries.groups(at: time)["ght-44"])
            return group.members(at: time, establishments: try queries.index().establishments())
        }
        // a: by its registration, at every time; b: 2016 to the start of the 2020 window; c: dated from 2021 (its
        // registration's group no longer counts); d's group is a name, not the id.
        #expect(try members("2015-01-01") == [a])
        #expect(try members("2019-12-31") == [b, a])
        #expect(try members("2020-03-01") == [a])
        #expect(try members("2021-03-01") == [a, c])
        #expect(try members(nil) == [a, c])
        // Known at a time before the memberships were recorded: only the registrations count.
        #expect(try members("2019-12-31", knownAt: "2024-01-02T12:00:30+01:00") == [a, c])
        #expect(try queries.groups(at: QueryTime(knownAt: TimeExpression.queryInstant("2024-01-01T23:00:00+01:00"))).isEmpty)
        // The later registration renames the group, from when it was recorded.
        #expect(try queries.groups(at: .now)["ght-44"]?.name == "GHT Loire-Atlantique")
        #expect(try queries.groups(at: QueryTime(knownAt: TimeExpression.queryInstant("2024-01-15")))["ght-44"]?.name == "GHT 44")
        let periods = try #require(try queries.groups(at: .now)["ght-44"]).memberships(
            establishments: try queries.index().establishments())
        #expect(periods.map(\.finess) == [b, a, c])
        #expect(periods.map(\.byRegistration) == [false, true, false])
        #expect(periods[0].until?.precision == .interval)
        // The audit lists group events like registrations.
        let audit = try queries.audit(AuditTrail.Filter(incident: g), at: .now)
        #expect(audit.map(\.summary).contains("\(b) left group ght-44"))
    }
}
