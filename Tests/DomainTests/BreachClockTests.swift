import EventStore
import Foundation
import IncidentDomain
import LedgerTestSupport
import ProjectionRunner
import Testing

@testable import Projections

/// The GDPR clocks (art. 33 notification, its art. 33(4) complement, the art. 33(5) register, art. 34) run
/// from awareness of a personal data breach of confidentiality, integrity or availability, through the
/// library's public path: dataset lines checked by the domain rules, appended, then `LedgerQueries.deadlines`.
@Suite("GDPR breach clocks")
struct BreachClockTests {
    static let finess = "350000014"
    static let stream = "incident:breach-test"

    /// One input event; the ledger's clock is set an hour after the fact's start (never before it).
    static func fact(
        _ type: String, _ occurred: String, _ payload: [String: JSONValue], id: UUID = UUID()
    ) -> DatasetLine {
        let occurredAt = TimeExpression.occurredAt(occurred)!
        let event: JSONValue = .object([
            "eventId": .string(id.uuidString), "streamId": .string(stream), "eventType": .string(type),
            "occurredAt": occurredAt.json, "source": .string("crisis cell log"), "actor": .string("dpo@chu-test.example"),
            "payload": .object(payload),
        ])
        return DatasetLine(recordAt: Timestamp(microseconds: occurredAt.start.microseconds + 3_600_000_000), event: event)
    }

    static func down(_ service: String, _ at: String, status: String = "down", id: UUID = UUID()) -> DatasetLine {
        fact(
            "service.degraded", at,
            ["establishment": .string(finess), "service": .string(service), "status": .string(status)], id: id)
    }
    static func theft(_ at: String, id: UUID = UUID()) -> DatasetLine {
        fact("data.exfiltration_confirmed", at, ["description": .string("patient files copied")], id: id)
    }
    static func cnil(_ at: String, kind: String, id: UUID = UUID()) -> DatasetLine {
        fact("authority.notified", at, ["authority": .string("CNIL"), "kind": .string(kind)], id: id)
    }
    static func assessed(_ outcome: String, _ at: String, id: UUID = UUID()) -> DatasetLine {
        fact(
            "breach.risk_assessed", at,
            ["outcome": .string(outcome), "reasons": .string("restored intact from last night's backup; no access found")],
            id: id)
    }

    /// An establishment (not an essential operator), an incident and its detection at 08:00 on 4 March 2024,
    /// then `facts`, in recording order.
    static func ledger(_ dir: TemporaryDirectory, _ facts: [DatasetLine]) throws -> LedgerQueries {
        let (store, clock) = try ledgerWithManualClock(dir)
        let registration = DatasetLine(
            recordAt: Timestamp(rfc3339: "2024-03-01T09:00:00+01:00")!,
            event: .object([
                "eventId": .string(UUID().uuidString), "streamId": .string("establishment:\(finess)"),
                "eventType": .string("establishment.registered"),
                "occurredAt": TimeExpression.occurredAt("2024-03-01 09:00")!.json, "source": .string("FINESS"),
                "actor": .string("dpo@chu-test.example"),
                "payload": .object(["finess": .string(finess), "name": .string("CH Test"), "city": .string("Rennes")]),
            ]))
        let opening = fact(
            "incident.opened", "2024-03-01 09:00",
            ["title": .string("Ransomware at the CH Test"), "establishments": .array([.string(finess)])])
        let detection = fact("attack.detected", "2024-03-04 08:00", ["description": .string("ransom note on servers")])
        let all = [registration, opening, detection] + facts
        try load(all.sorted { $0.recordAt.microseconds < $1.recordAt.microseconds }, into: store, clock: clock)
        return LedgerQueries(store: store)
    }

    static func clocks(_ queries: LedgerQueries, asOf: String) throws -> [String: ObligationClock] {
        let time = QueryTime(asOf: Timestamp(rfc3339: asOf)!.microseconds)
        let all = try queries.deadlines(incident: stream, at: time)
        return Dictionary(uniqueKeysWithValues: (all.first?.clocks ?? []).map { ($0.rule.id, $0) })
    }

    static func t(_ text: String) -> Int64 { Timestamp(rfc3339: text)!.microseconds }

    @Test func anAttackThatTakesDownThePatientRecordStartsTheCNILClockAtTheOutage() throws {
        let dir = TemporaryDirectory()
        let outage = UUID()
        let queries = try Self.ledger(dir, [Self.down("patient_record", "2024-03-04 10:30", id: outage)])
        let running = try Self.clocks(queries, asOf: "2024-03-05T12:00:00+01:00")
        let cnil = try #require(running["gdpr-33-cnil"])
        #expect(cnil.status == .running)
        #expect(cnil.startedBy == outage)
        #expect(cnil.startedAt.earliest == Self.t("2024-03-04T10:30:00+01:00"))
        #expect(cnil.deadline?.microseconds == Self.t("2024-03-07T10:30:00+01:00"))
        #expect(cnil.startedBySummary == "Patient record (DPI) down")
        // The register starts on the same fact; no complement without a later theft.
        #expect(running["gdpr-33-5-register"]?.status == .keptByLedger)
        #expect(running["gdpr-33-5-register"]?.startedBy == outage)
        #expect(running["gdpr-33-4-complement"] == nil)
        // Detected but the patient record still up: no breach clock yet, the health-sector report runs.
        let before = try Self.clocks(queries, asOf: "2024-03-04T10:00:00+01:00")
        #expect(before["gdpr-33-cnil"] == nil && before["gdpr-33-5-register"] == nil)
        #expect(before["csp-l1111-8-2"]?.status == .running)
        // Past 72 hours without a notice.
        #expect(try Self.clocks(queries, asOf: "2024-03-07T10:31:00+01:00")["gdpr-33-cnil"]?.status == .overdue)
    }

    /// Every service the rules count as holding patient data starts the clock, down or degraded.
    @Test(arguments: [
        ("patient_record", "degraded"), ("laboratory", "down"), ("imaging_pacs", "degraded"), ("pharmacy", "down"),
        ("admissions_billing", "down"), ("surgery_scheduling", "degraded"),
    ])
    func eachPatientDataSystemStartsIt(service: String, status: String) throws {
        let dir = TemporaryDirectory()
        let queries = try Self.ledger(dir, [Self.down(service, "2024-03-04 11:00", status: status)])
        let clocks = try Self.clocks(queries, asOf: "2024-03-05T00:00:00+01:00")
        #expect(clocks["gdpr-33-cnil"]?.startedAt.earliest == Self.t("2024-03-04T11:00:00+01:00"), "\(service) \(status)")
        #expect(clocks["gdpr-33-5-register"]?.startedAt.earliest == Self.t("2024-03-04T11:00:00+01:00"))
    }

    @Test func servicesHoldingNoPatientDataStartNoBreachClock() throws {
        let dir = TemporaryDirectory()
        let services = [
            "internet_access", "external_email", "internal_email", "public_website", "online_booking", "telephony",
            "emergency_department", "samu_centre_15", "maternity", "file_sharing", "remote_access_vpn", "cafeteria_tills",
        ]
        let queries = try Self.ledger(dir, services.map { Self.down($0, "2024-03-04 09:00") })
        let clocks = try Self.clocks(queries, asOf: "2024-03-10T00:00:00+01:00")
        #expect(clocks["gdpr-33-cnil"] == nil)
        #expect(clocks["gdpr-33-5-register"] == nil)
        #expect(clocks["gdpr-34-persons"] == nil)
        #expect(clocks["csp-l1111-8-2"] != nil)  // the incident itself still runs its clocks
    }

    @Test func aTheftAfterTheOutageAddsAComplementAndKeepsTheFirstDeadline() throws {
        let dir = TemporaryDirectory()
        let outage = UUID(), stolen = UUID(), first = UUID(), update = UUID()
        let facts = [
            Self.down("laboratory", "2024-03-04 10:30", id: outage),
            Self.cnil("2024-03-05 09:00", kind: "initial", id: first),
            Self.theft("2024-03-06", id: stolen),
        ]
        let queries = try Self.ledger(dir, facts)
        let clocks = try Self.clocks(queries, asOf: "2024-03-06T12:00:00+01:00")
        let cnil = try #require(clocks["gdpr-33-cnil"])
        #expect(cnil.startedBy == outage)
        #expect(cnil.deadline?.microseconds == Self.t("2024-03-07T10:30:00+01:00"))
        #expect(cnil.status == .met && cnil.satisfiedBy == first)
        #expect(clocks["gdpr-33-5-register"]?.startedBy == outage)
        let complement = try #require(clocks["gdpr-33-4-complement"])
        #expect(complement.startedBy == stolen)
        #expect(complement.startedAt.earliest == Self.t("2024-03-06T00:00:00+01:00"))
        #expect(complement.deadline == nil)  // "without undue further delay"
        #expect(complement.status == .running)  // the first notice, before the theft, cannot carry it
        #expect(try Self.clocks(queries, asOf: "2024-03-09T00:00:00+01:00")["gdpr-33-4-complement"]?.status == .overdue)

        let later = TemporaryDirectory()
        let completed = try Self.ledger(later, facts + [Self.cnil("2024-03-07 15:00", kind: "update", id: update)])
        let after = try Self.clocks(completed, asOf: "2024-03-10T00:00:00+01:00")
        #expect(after["gdpr-33-4-complement"]?.status == .met)
        #expect(after["gdpr-33-4-complement"]?.satisfiedBy == update)
        #expect(after["gdpr-33-cnil"]?.satisfiedBy == first)
        #expect(after["gdpr-33-cnil"]?.deadline?.microseconds == Self.t("2024-03-07T10:30:00+01:00"))
    }

    @Test func aTheftAloneStartsTheClockWithoutAComplement() throws {
        let dir = TemporaryDirectory()
        let stolen = UUID()
        let queries = try Self.ledger(
            dir, [Self.down("external_email", "2024-03-04 08:00"), Self.theft("2024-03-04 14:00", id: stolen)])
        let clocks = try Self.clocks(queries, asOf: "2024-03-05T00:00:00+01:00")
        #expect(clocks["gdpr-33-cnil"]?.startedBy == stolen)
        #expect(clocks["gdpr-33-cnil"]?.deadline?.microseconds == Self.t("2024-03-07T14:00:00+01:00"))
        #expect(clocks["gdpr-33-5-register"]?.startedBy == stolen)
        #expect(clocks["gdpr-33-4-complement"] == nil)
        // A theft known at the same moment as the outage is one notice, not two.
        let same = TemporaryDirectory()
        let together = try Self.ledger(same, [Self.down("pharmacy", "2024-03-04 14:00"), Self.theft("2024-03-04 14:00")])
        #expect(try Self.clocks(together, asOf: "2024-03-05T00:00:00+01:00")["gdpr-33-4-complement"] == nil)
    }

    @Test func anUnlikelyRiskAssessmentClosesTheNotificationAndKeepsTheRegister() throws {
        let dir = TemporaryDirectory()
        let outage = UUID(), decision = UUID()
        let facts = [
            Self.down("imaging_pacs", "2024-03-04 10:30", id: outage),
            Self.assessed("unlikely_risk", "2024-03-05 09:00", id: decision),
        ]
        let queries = try Self.ledger(dir, facts)
        // Past the deadline, still not required: the decision closed it.
        let clocks = try Self.clocks(queries, asOf: "2024-03-10T00:00:00+01:00")
        let cnil = try #require(clocks["gdpr-33-cnil"])
        #expect(cnil.status == .notRequired)
        #expect(cnil.notRequiredBy?.eventId == decision)
        #expect(cnil.notRequiredBy?.summary.hasPrefix("breach risk assessed (unlikely_risk): restored intact") == true)
        #expect(abs(cnil.elapsedHours - 22.5) < 1e-9)
        #expect(cnil.satisfiedBy == nil)
        let register = try #require(clocks["gdpr-33-5-register"])
        #expect(register.status == .keptByLedger && register.startedBy == outage)
        // Before the decision the clock ran.
        #expect(try Self.clocks(queries, asOf: "2024-03-05T08:00:00+01:00")["gdpr-33-cnil"]?.status == .running)

        // A later reassessment finding a risk revokes "not required".
        let reassessed = TemporaryDirectory()
        let revoked = try Self.ledger(reassessed, facts + [Self.assessed("risk", "2024-03-06 09:00")])
        #expect(try Self.clocks(revoked, asOf: "2024-03-10T00:00:00+01:00")["gdpr-33-cnil"]?.status == .overdue)

        // A notice sent anyway is what the clock shows.
        let notified = TemporaryDirectory()
        let sent = try Self.ledger(notified, facts + [Self.cnil("2024-03-05 12:00", kind: "initial")])
        let met = try #require(try Self.clocks(sent, asOf: "2024-03-10T00:00:00+01:00")["gdpr-33-cnil"])
        #expect(met.status == .met && met.notRequiredBy == nil)

        // A theft after the decision is not covered by it: the complement runs, and its own assessment closes it.
        let stolen = TemporaryDirectory()
        let theft = try Self.ledger(stolen, facts + [Self.theft("2024-03-06 10:00")])
        let afterTheft = try Self.clocks(theft, asOf: "2024-03-07T00:00:00+01:00")
        #expect(afterTheft["gdpr-33-cnil"]?.status == .notRequired)
        #expect(afterTheft["gdpr-33-4-complement"]?.status == .running)
        let assessedAgain = TemporaryDirectory()
        let closed = try Self.ledger(
            assessedAgain, facts + [Self.theft("2024-03-06 10:00"), Self.assessed("unlikely_risk", "2024-03-06 16:00")])
        #expect(try Self.clocks(closed, asOf: "2024-03-10T00:00:00+01:00")["gdpr-33-4-complement"]?.status == .notRequired)
    }

    @Test func anAssessmentAloneIsABreachAndAHighRiskOneStartsArticle34() throws {
        let dir = TemporaryDirectory()
        let decision = UUID()
        // An integrity breach known only through its assessment: the assessment starts both clocks.
        let queries = try Self.ledger(dir, [Self.assessed("high_risk", "2024-03-05 09:00", id: decision)])
        let clocks = try Self.clocks(queries, asOf: "2024-03-05T12:00:00+01:00")
        #expect(clocks["gdpr-33-cnil"]?.startedBy == decision)
        #expect(clocks["gdpr-33-cnil"]?.status == .running)
        #expect(clocks["gdpr-33-5-register"]?.startedBy == decision)
        let persons = try #require(clocks["gdpr-34-persons"])
        #expect(persons.startedBy == decision && persons.status == .running && persons.deadline == nil)
        #expect(try Self.clocks(queries, asOf: "2024-03-08T10:00:00+01:00")["gdpr-34-persons"]?.status == .overdue)

        let informed = TemporaryDirectory()
        let done = try Self.ledger(
            informed,
            [
                Self.assessed("high_risk", "2024-03-05 09:00"),
                Self.fact("persons.notified", "2024-03-06 10:00", ["description": .string("letters sent")]),
            ])
        #expect(try Self.clocks(done, asOf: "2024-03-10T00:00:00+01:00")["gdpr-34-persons"]?.status == .met)

        // A reasoned reassessment down to "risk" (the data were encrypted) makes informing people not required.
        let lowered = TemporaryDirectory()
        let reassessed = try Self.ledger(
            lowered, [Self.assessed("high_risk", "2024-03-05 09:00"), Self.assessed("risk", "2024-03-06 09:00")])
        #expect(try Self.clocks(reassessed, asOf: "2024-03-10T00:00:00+01:00")["gdpr-34-persons"]?.status == .notRequired)
    }

    /// The register and the notification start on the same facts, in the rule data itself.
    @Test func theRegisterAndTheNotificationRulesStartOnTheSameFacts() throws {
        let rules = Dictionary(uniqueKeysWithValues: ObligationRules.defaultRules.map { ($0.id, $0) })
        let notification = try #require(rules["gdpr-33-cnil"])
        let register = try #require(rules["gdpr-33-5-register"])
        #expect(notification.startsOn == register.startsOn)
        #expect(notification.startsOn.map(\.eventType).contains("service.degraded"))
        #expect(rules["gdpr-33-4-complement"]?.complementOf == "gdpr-33-cnil")
    }

    @Test func ruleFilesWithManyStartsOrABadComplementAreReadOrNamed() throws {
        func parse(_ text: String) throws -> [ObligationRule] {
            try ObligationRules.parse(try JSONParser.parse(Data(text.utf8)), source: "rules.json")
        }
        let two = try parse(
            #"{"rules":[{"id":"a","title":"t","legalBasis":"b","recipient":"r","inForceFrom":"2020-01-01","startsOn":[{"eventType":"attack.detected"},{"eventType":"service.degraded","payload":{"service":["pharmacy"]}}]}]}"#
        )
        #expect(two[0].startsOn.map(\.eventType) == ["attack.detected", "service.degraded"])
        #expect(two[0].startsOn[1].payload == ["service": ["pharmacy"]])
        let unknown = #expect(throws: EventStoreError.self) {
            try parse(
                #"{"rules":[{"id":"a","title":"t","legalBasis":"b","recipient":"r","inForceFrom":"2020-01-01","startsOn":{"eventType":"attack.detected"},"complementOf":"b"}]}"#
            )
        }
        #expect(unknown?.field == "rules.json: $.rules[0].complementOf")
        let empty = #expect(throws: EventStoreError.self) {
            try parse(
                #"{"rules":[{"id":"a","title":"t","legalBasis":"b","recipient":"r","inForceFrom":"2020-01-01","startsOn":[]}]}"#)
        }
        #expect(empty?.field == "rules.json: $.rules[0].startsOn")
        let badItem = #expect(throws: EventStoreError.self) {
            try parse(
                #"{"rules":[{"id":"a","title":"t","legalBasis":"b","recipient":"r","inForceFrom":"2020-01-01","startsOn":[{"eventType":"attack.detected"},{"eventType":"nope"}]}]}"#
            )
        }
        #expect(badItem?.field == "rules.json: $.rules[0].startsOn[1].eventType")
    }

    /// The five demo attacks: Cannes and Angers start the CNIL clock on the patient record going down, AP-HP
    /// and Rennes on the theft (their outages hold no patient data), Nantes (internet, email, booking) none.
    @Test func theDemoIncidentsStartTheirBreachClocksOnTheRightFacts() throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        try load(try demoDataset(), into: store, clock: clock)
        let all = try LedgerQueries(store: store).deadlines(at: QueryTime(asOf: Self.t("2024-06-01T00:00:00+02:00")))
        var starts: [String: String] = [:]
        for (incident, clocks) in all {
            let cnil = clocks.first { $0.rule.id == "gdpr-33-cnil" }
            let register = clocks.first { $0.rule.id == "gdpr-33-5-register" }
            #expect(cnil?.startedBy == register?.startedBy, "\(incident)")
            #expect(!clocks.contains { $0.rule.id == "gdpr-33-4-complement" }, "\(incident)")
            if let cnil {
                let by = cnil.startedBySummary.hasPrefix("exfiltration confirmed") ? "theft" : cnil.startedBySummary
                starts[incident] = "\(by), \(cnil.startedAt.start.inZone().rfc3339), \(cnil.status.rawValue)"
            }
        }
        #expect(
            starts == [
                "incident:ch-cannes-2024-04": "Patient record (DPI) down, 2024-04-16T00:00:00+02:00, overdue",
                "incident:clinique-anjou-2021-01": "Patient record (DPI) down, 2021-01-23T04:00:00+01:00, overdue",
                "incident:aphp-2021-09": "theft, 2021-09-12T00:00:00+02:00, met",
                "incident:chu-rennes-2023-06": "theft, 2023-06-22T00:00:00+02:00, met",
            ])
    }
}
