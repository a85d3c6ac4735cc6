import EventStore
import Foundation
import IncidentDomain
import LedgerTestSupport
import ProjectionRunner
import PropertyBased
import Testing

@testable import Projections

/// An input event as a dataset line (also used by the timeline chart tests).
func line(
    _ recordAt: String, _ type: String, _ occurred: String, _ payload: [String: JSONValue], stream: String = "incident:test",
    id: UUID = UUID(), reason: String? = nil, actor: String = "cell@test.example"
) -> DatasetLine {
    var event: [String: JSONValue] = [
        "eventId": .string(id.uuidString), "streamId": .string(stream), "eventType": .string(type),
        "occurredAt": TimeExpression.occurredAt(occurred)!.json, "source": .string("test log"), "actor": .string(actor),
        "payload": .object(payload),
    ]
    if let reason { event["reason"] = .string(reason) }
    return DatasetLine(recordAt: Timestamp(rfc3339: recordAt)!, event: .object(event))
}

private func s(_ text: String) -> JSONValue { .string(text) }
private func n(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }
private func t(_ text: String) -> Int64 { Timestamp(rfc3339: text)!.microseconds }

private let finess = "440000289"
private let complaintId = UUID()
private let breachId = UUID()
private let noteId = UUID()

/// A small incident with known answers: detected 01:20, contained 03:00, email down then partially then
/// fully back, booking degraded then back; a breach notified in time; a complaint recorded late and corrected.
private let scenario: [DatasetLine] = [
    line(
        "2024-01-15T08:00:00+01:00", "establishment.registered", "2024-01-15T08:00:00+01:00",
        ["finess": s(finess), "name": s("CHU Test"), "city": s("Nantes"), "essentialOperator": .bool(true)],
        stream: "establishment:\(finess)"),
    line(
        "2024-01-15T08:01:00+01:00", "incident.opened", "2024-01-15T08:00:00+01:00",
        ["title": s("Test attack"), "establishments": .array([s(finess)])]),
    line("2024-01-15T08:02:00+01:00", "attack.detected", "2024-01-15 01:20", ["description": s("night alert")]),
    line(
        "2024-01-15T08:03:00+01:00", "containment.action_taken", "2024-01-15 03:00",
        ["action": s("isolate_from_internet"), "description": s("cut")]),
    line(
        "2024-01-15T08:04:00+01:00", "service.degraded", "2024-01-15 01:20",
        ["establishment": s(finess), "service": s("external_email"), "status": s("down")]),
    line(
        "2024-01-15T08:05:00+01:00", "service.degraded", "2024-01-15 02:00",
        ["establishment": s(finess), "service": s("online_booking"), "status": s("degraded"), "capacityPercent": n(40)]),
    line("2024-01-15T08:06:00+01:00", "note.added", "2024-01-15", ["text": s("a rumour")], id: noteId),
    line(
        "2024-01-16T09:00:00+01:00", "data.exfiltration_confirmed", "2024-01-16",
        ["description": s("patients' files"), "peopleAffected": n(1000), "highRisk": .bool(true)], id: breachId),
    line(
        "2024-01-16T13:00:00+01:00", "service.restored", "2024-01-16 12:00",
        ["establishment": s(finess), "service": s("external_email"), "extent": s("partial"), "capacityPercent": n(60)]),
    line(
        "2024-01-17T13:00:00+01:00", "service.restored", "2024-01-17 12:00",
        ["establishment": s(finess), "service": s("external_email"), "extent": s("full")]),
    line(
        "2024-01-18T11:00:00+01:00", "authority.notified", "2024-01-18 10:00", ["authority": s("CNIL"), "reference": s("CNIL-1")]),
    line(
        "2024-01-18T13:00:00+01:00", "service.restored", "2024-01-18 12:00",
        ["establishment": s(finess), "service": s("online_booking"), "extent": s("full")]),
    line(
        "2024-01-19T10:00:00+01:00", "complaint.filed", "2024-01-19 09:00",
        ["filedWith": s("police"), "filedBy": s("the director")], id: complaintId),
    line(
        "2024-01-20T10:00:00+01:00", "event.corrected", "2024-01-20T10:00:00+01:00",
        ["correctedEventId": s(complaintId.uuidString), "occurredAt": TimeExpression.occurredAt("2024-01-17 09:00")!.json],
        reason: "the complaint receipt is dated the 17th", actor: "dpo@test.example"),
    line(
        "2024-01-20T11:00:00+01:00", "event.corrected", "2024-01-20T11:00:00+01:00",
        ["correctedEventId": s(breachId.uuidString), "changes": .object(["peopleAffected": n(2500)])],
        reason: "count confirmed by the DPO", actor: "dpo@test.example"),
    line(
        "2024-01-20T12:00:00+01:00", "event.retracted", "2024-01-20T12:00:00+01:00", ["retractedEventId": s(noteId.uuidString)],
        reason: "not a fact"),
]

@Suite("Projections")
struct ProjectionTests {
    func scenarioLedger(_ dir: TemporaryDirectory) throws -> LedgerQueries {
        let (store, clock) = try ledgerWithManualClock(dir)
        try load(scenario, into: store, clock: clock)
        return LedgerQueries(store: store)
    }

    @Test func stateFollowsTheIncidentToRestoration() throws {
        let dir = TemporaryDirectory()
        let queries = try scenarioLedger(dir)
        let now = try #require(try queries.states(at: .now).first)
        #expect(now.phase == .restored)
        #expect(now.servicesNotNormal.isEmpty)
        #expect(now.peopleAffected == 2500)
        // 16 lines less the registration, two corrections, the retraction and the retracted note.
        #expect(now.factCount == scenario.count - 5)
        // On the 16th at 13:00 the email was partly back, booking still degraded: recovering.
        let midway = try queries.states(at: QueryTime(asOf: t("2024-01-16T13:00:00+01:00")))[0]
        #expect(midway.phase == .recovering)
        #expect(midway.servicesNotNormal.map(\.service) == ["external_email", "online_booking"])
        #expect(midway.servicesNotNormal.first?.status == .partiallyRestored)
        // Before containment: detected only.
        #expect(try queries.states(at: QueryTime(asOf: t("2024-01-15T02:00:00+01:00")))[0].phase == .detected)
        // As known before the correction of the count.
        let before = try queries.states(at: QueryTime(knownAt: t("2024-01-20T10:30:00+01:00")))[0]
        #expect(before.peopleAffected == 1000)
    }

    @Test func theTimelineHasLanesMilestonesAndMetrics() throws {
        let dir = TemporaryDirectory()
        let queries = try scenarioLedger(dir)
        let timeline = try #require(
            try queries.timelines(establishment: finess, at: QueryTime(asOf: t("2024-01-25T00:00:00+01:00"))).first)
        #expect(timeline.establishmentName == "CHU Test")
        let email = try #require(timeline.lanes.first { $0.service == "external_email" })
        #expect(email.segments.map(\.status) == [.down, .partiallyRestored, .restored])
        #expect(email.segments[1].capacityPercent == 60)
        #expect(email.segments[0].end?.microseconds == t("2024-01-16T12:00:00+01:00"))
        // Every instant here is known to the minute: each duration is exact, both ends equal.
        func exactly(_ range: HoursRange?, _ minutes: Int64) -> Bool {
            range?.shortestMicroseconds == minutes * 60_000_000 && range?.longestMicroseconds == minutes * 60_000_000
        }
        let hours = timeline.metrics.serviceHours["external_email"]!
        #expect(exactly(hours.down, 34 * 60 + 40))
        #expect(exactly(hours.degraded, 24 * 60))
        #expect(exactly(timeline.metrics.hoursToContainment, 100))
        #expect(exactly(timeline.metrics.hoursToFirstPartialRestoration, 34 * 60 + 40))
        #expect(exactly(timeline.metrics.hoursToFullRestoration, (3 * 24 + 10) * 60 + 40))
        // The recovery's steps, then the facts the catalogue marks as milestones, in the order they happened.
        #expect(
            timeline.milestones.map(\.kind) == [
                .detection, .containment, .firstPartialRestoration, .fullRestoration,
                .fact(eventType: "data.exfiltration_confirmed", detail: nil),
                .fact(eventType: "complaint.filed", detail: "police"), .fact(eventType: "authority.notified", detail: "CNIL"),
            ])
        // As of the 17th, booking was still degraded: no full restoration yet.
        let earlier = try queries.timelines(establishment: finess, at: QueryTime(asOf: t("2024-01-17T18:00:00+01:00")))[0]
        #expect(earlier.metrics.hoursToFullRestoration == nil)
        #expect(try queries.timelines(establishment: "750712184", at: .now).isEmpty)
        // The renderings carry the same facts.
        let svg = TimelineRendering.svg(timeline)
        #expect(svg.hasPrefix("<svg") && svg.contains("External email") && svg.contains("partially restored (60 %)"))
        #expect(svg.contains(">partially restored 60 %</text>"), "the capacity is written in the bar")
        #expect(TimelineRendering.html([timeline]).contains("Time to full restoration"))
        #expect(TimelineRendering.terminal(timeline).contains("External email"))
        #expect(TimelineRendering.json(timeline)["lanes"]?.arrayValue?.count == 2)
    }

    @Test func regulatoryClocksSayMetLateRunningAndOverdue() throws {
        let dir = TemporaryDirectory()
        let queries = try scenarioLedger(dir)
        func clocks(_ time: QueryTime) throws -> [String: ObligationClock] {
            Dictionary(uniqueKeysWithValues: try queries.deadlines(at: time)[0].clocks.map { ($0.rule.id, $0) })
        }
        let now = try clocks(QueryTime(asOf: t("2024-02-01T00:00:00+01:00")))
        #expect(now["gdpr-33-cnil"]?.status == .met)
        #expect(now["gdpr-33-cnil"]?.deadline?.microseconds == t("2024-01-19T00:00:00+01:00"))
        // The complaint, corrected to the 17th, was within 72 hours of detection.
        #expect(now["insurance-complaint"]?.status == .met)
        #expect(now["gdpr-34-persons"]?.status == .overdue)
        #expect(now["csp-l1111-8-2"]?.status == .overdue)
        #expect(now["nis1-ose-anssi"]?.status == .overdue)  // CHU Test is an essential operator
        #expect(now["nis2-notification"] == nil)  // disabled until the French transposition
        // Before the correction the complaint counted as late.
        let before = try clocks(QueryTime(asOf: t("2024-02-01T00:00:00+01:00"), knownAt: t("2024-01-20T09:00:00+01:00")))
        #expect(before["insurance-complaint"]?.status == .metLate)
        // On the 17th the CNIL clock was still running.
        let running = try clocks(QueryTime(asOf: t("2024-01-17T12:00:00+01:00")))
        #expect(running["gdpr-33-cnil"]?.status == .running)
        // A rule not yet in force when the incident started runs no clock.
        let enabledNIS2 = ObligationRules.defaultRules.map { rule in
            ObligationRule(
                id: rule.id, title: rule.title, legalBasis: rule.legalBasis, recipient: rule.recipient, startsOn: rule.startsOn,
                satisfiedBy: rule.satisfiedBy, notRequiredWhen: rule.notRequiredWhen, complementOf: rule.complementOf,
                deadlineHours: rule.deadlineHours, alertAfterHours: rule.alertAfterHours,
                inForceFrom: rule.id == "insurance-complaint"
                    ? Timestamp(rfc3339: "2024-06-01T00:00:00+02:00")! : rule.inForceFrom,
                enabled: true, appliesIfEstablishment: rule.appliesIfEstablishment, startsAfterRule: rule.startsAfterRule)
        }
        let custom = try queries.deadlines(rules: enabledNIS2, at: .now)[0].clocks.map(\.rule.id)
        #expect(!custom.contains("insurance-complaint"))
        #expect(!custom.contains("nis2-notification"))  // CHU Test is not a NIS2 entity
    }

    @Test func theAuditSaysWhoChangedWhatAndWhy() throws {
        let dir = TemporaryDirectory()
        let queries = try scenarioLedger(dir)
        let entries = try queries.audit(AuditTrail.Filter(incident: "incident:test"), at: .now)
        #expect(entries.map(\.position) == entries.map(\.position).sorted())
        let correction = try #require(entries.first { $0.eventType == "event.corrected" && $0.target == breachId })
        #expect(correction.actor == "dpo@test.example")
        #expect(correction.reason == "count confirmed by the DPO")
        #expect(correction.changes.contains(StateChange(field: "people affected", before: "1000", after: "2500")))
        let breach = try #require(entries.first { $0.eventId == breachId })
        #expect(breach.laterRevisions.map(\.kind) == [.corrected])
        let retraction = try #require(entries.first { $0.eventType == "event.retracted" })
        #expect(retraction.target == noteId)
        let byDPO = try queries.audit(AuditTrail.Filter(actor: "dpo@test.example"), at: .now)
        #expect(byDPO.count == 2)
        let since = try queries.audit(AuditTrail.Filter(since: t("2024-01-20T11:30:00+01:00")), at: .now)
        #expect(since.map(\.eventType) == ["event.retracted"])
        // Known at the 19th, the breach had no later revision yet.
        let then = try queries.audit(AuditTrail.Filter(), at: QueryTime(knownAt: t("2024-01-19T12:00:00+01:00")))
        #expect(then.first { $0.eventId == breachId }?.laterRevisions.isEmpty == true)
    }

    /// The index's fast reading of a stored event (members up to the payload, the stream from the end)
    /// finds what a walk over every member finds, on every demo event; bytes laid out otherwise take the walk.
    @Test func routingOnStoredBytesAgreesWithAFullWalk() throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        try load(try demoDataset(), into: store, clock: clock)
        func members(_ object: UnsafeRawBufferPointer) -> [String] {
            var keys: [String] = []
            JSONMembers.forEach(in: object) { key, _ in
                keys.append(String(decoding: key, as: UTF8.self))
                return true
            }
            return keys
        }
        var checked = 0
        _ = try store.scanLog(fromPosition: 1, limit: 1000) { position, canonical in
            let fast = try #require(IncidentIndex.RoutingFields(canonical), "position \(position)")
            let walked = try #require(IncidentIndex.RoutingFields(walking: canonical))
            #expect(Array(fast.eventType) == Array(walked.eventType))
            #expect(Array(fast.streamId) == Array(walked.streamId))
            #expect(members(fast.payloadOnwards) == members(walked.payloadOnwards))
            checked += 1
        }
        #expect(checked == 77)
        let spaced = Array(
            #"{"eventType": "note.added", "occurredAt": {}, "payload": {"text": "x"}, "streamId": "incident:a"}"#.utf8)
        try spaced.withUnsafeBytes { bytes in
            #expect(IncidentIndex.RoutingFields(bytes) == nil)
            let walked = try #require(IncidentIndex.RoutingFields(walking: bytes))
            #expect(
                String(decoding: walked.eventType, as: UTF8.self) == "note.added"
                    && String(decoding: walked.streamId, as: UTF8.self) == "incident:a")
            #expect(members(walked.payloadOnwards) == ["text"])
        }
    }

    /// The index caught up in several steps and the one rebuilt from scratch are the same entries, and
    /// the views answer alike before and after the rebuild, and like a fold of the log by hand.
    @Test func incrementalAndRebuiltProjectionsAreIdentical() throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        let queries = LedgerQueries(store: store)
        let dataset = try demoDataset()
        var checkpoints: [UInt64] = []
        for chunk in stride(from: 0, to: dataset.count, by: 17) {
            try load(dataset[chunk..<min(chunk + 17, dataset.count)], into: store, clock: clock)
            checkpoints.append(try queries.index().checkpoint)
        }
        #expect(checkpoints == [17, 34, 51, 68, 77])
        let incremental = try store.loadProjection(IncidentIndex.projectionName)
        let time = QueryTime(asOf: t("2024-05-01T00:00:00+02:00"))
        let statesBefore = try queries.states(at: time)
        let timelinesBefore = try queries.timelines(establishment: "060099014", at: time)
        try queries.rebuild()
        let rebuilt = try store.loadProjection(IncidentIndex.projectionName)
        #expect(incremental == rebuilt)
        // Read transactions of 7 events (11 of them for 77 events) give the same index.
        try IncidentIndex.rebuild(store, eventsPerRead: 7)
        #expect(try store.loadProjection(IncidentIndex.projectionName) == rebuilt)
        #expect(rebuilt.checkpoint == UInt64(dataset.count))
        #expect(rebuilt.entries.keys.filter { $0.hasPrefix("i:") }.count == 5)
        #expect(try queries.states(at: time) == statesBefore)
        #expect(try queries.timelines(establishment: "060099014", at: time) == timelinesBefore)
        let byHand = FactBook(folding: try store.allEvents())
        #expect(
            statesBefore
                == byHand.incidents.keys.sorted().map {
                    IncidentState.compute(incidentId: $0, facts: byHand.incidents[$0]!, at: time)
                })
        #expect(try queries.fullBook(at: .now) == byHand)
    }

    /// A query at (T, K) equals the views of a book folded from scratch over exactly the events that
    /// (T, K) admits: recorded by K, facts that may have happened by T, corrections, retractions and updates of those.
    @Test func aQueryAtTwoTimesEqualsAProjectionOfTheEventsThoseTimesAdmit() async throws {
        try await checkQueryAgainstReferenceFold(cases: propertyCases(40))
    }

    /// The (T, K) the random cases above once drew and the reference then missed: the Cannes update of 18 April
    /// (`event.updated`, effective that day) read at the first instant of its day, with K its recording.
    @Test func anUpdateIsAdmittedFromTheFirstInstantOfItsEffectiveDay() async throws {
        try await checkQueryAgainstReferenceFold(cases: 1, fixed: (1_713_391_200_000_000, 1_713_459_900_000_000))
    }

    private func checkQueryAgainstReferenceFold(cases: Int, fixed: (Int64, Int64)? = nil) async throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        try load(try demoDataset(), into: store, clock: clock)
        let queries = LedgerQueries(store: store)
        let all = try store.allEvents()
        let first = all.first!.recordedAt.microseconds - 86_400_000_000 * 200
        let last = all.last!.recordedAt.microseconds + 86_400_000_000 * 30
        let range = fixed.map { ($0.0...$0.0, $0.1...$0.1) } ?? (first...last, first...last)
        await propertyCheck(count: cases, input: Gen.int64(in: range.0), Gen.int64(in: range.1)) { asOf, knownAt in
            let time = QueryTime(asOf: asOf, knownAt: knownAt)
            // Recorded by K, folded from scratch.
            var known = FactBook()
            for event in all where event.recordedAt.microseconds <= knownAt { known.apply(event) }
            // Keep only the facts T admits, with their corrections and retractions.
            let admitted = Set(known.incidents.values.joined().filter { $0.occurredAt.isPossible(by: asOf) }.map(\.eventId))
            var reference = FactBook()
            for event in all where event.recordedAt.microseconds <= knownAt {
                // A correction, a retraction or an update (effective from its own date) names the fact it revises.
                let target = ["correctedEventId", "retractedEventId", "updatedEventId"].lazy.compactMap {
                    event.payload[$0]?.stringValue.flatMap(UUID.init(uuidString:))
                }.first
                // Registrations and the opening (which names the incident) are kept whatever T: they identify, not happen.
                let identity = event.eventType == "establishment.registered" || event.eventType == "incident.opened"
                if identity || admitted.contains(event.eventId) || target.map(admitted.contains) == true {
                    reference.apply(event)
                }
            }
            let streams = reference.incidents.keys.sorted()
            let expected = streams.map { IncidentState.compute(incidentId: $0, facts: reference.incidents[$0]!, at: time) }
            let actual = try queries.states(at: time).filter { $0.factCount > 0 }
            #expect(actual == expected.filter { $0.factCount > 0 })
            for finess in reference.establishments.keys.sorted() {
                // Which incidents concern a hospital is known from the whole record at K, not only from facts before T.
                let expectedTimelines = known.incidents(touching: finess).map {
                    RecoveryTimeline.compute(
                        establishment: reference.establishments[finess], finess: finess, incidentId: $0,
                        facts: reference.incidents[$0] ?? [], at: time)
                }
                let actualTimelines = try queries.timelines(establishment: finess, at: time).filter {
                    !$0.lanes.isEmpty || !$0.milestones.isEmpty
                }
                #expect(actualTimelines == expectedTimelines.filter { !$0.lanes.isEmpty || !$0.milestones.isEmpty })
            }
            let expectedClocks = streams.map {
                ObligationClock.compute(
                    facts: reference.incidents[$0]!, establishments: reference.establishments,
                    rules: ObligationRules.defaultRules, at: time)
            }.filter { !$0.isEmpty }
            #expect(try queries.deadlines(at: time).map(\.clocks).filter { !$0.isEmpty } == expectedClocks)
        }
    }
}
