import EventStore
import Foundation
import LedgerTestSupport
import Testing

/// Issue 10 through the `ledger` binary: every recorded field visible with its source, before → after for each
/// changed field, updates distinct from corrections, competing claims side by side.
@Suite struct InvestigatorViewTests {
    /// A ledger with one establishment and one opened incident, and a way to record into it.
    struct Ledger {
        let dir = TemporaryDirectory()

        init() throws {
            #expect(try runProduct("ledger", ["init", "--data-dir", dir.path]).status == 0)
            _ = try record(
                "establishment.registered", at: "2024-01-01", source: "FINESS",
                ["finess=440000289", "name=CHU de Nantes", "city=Nantes"], incident: nil)
            _ = try record(
                "incident.opened", at: "2024-01-15 01:20", source: "log", ["title=Attack", "establishments=440000289"])
            _ = try record("attack.detected", at: "2024-01-15 01:20", source: "log", ["description=night alert"])
        }

        /// Records a fact and returns its event id; fails the test when the record is refused.
        @discardableResult
        func record(
            _ type: String, at: String, source: String, _ fields: [String], incident: String? = "incident:x",
            reason: String? = nil
        ) throws -> String {
            let result = try run(recordArguments(type, at: at, source: source, fields, incident: incident, reason: reason))
            #expect(result.status == 0, "\(type): \(result.stderr)")
            return String(result.stdout.split(separator: " ").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func recordArguments(
            _ type: String, at: String, source: String, _ fields: [String], incident: String? = "incident:x",
            reason: String? = nil
        ) -> [String] {
            var arguments = ["record", type, "--at", at, "--source", source]
            if let incident { arguments += ["--incident", incident] }
            if let reason { arguments += ["--reason", reason] }
            for field in fields { arguments += ["--set", field] }
            return arguments
        }

        func run(_ arguments: [String]) throws -> ProcessOutput {
            try runProduct("ledger", arguments + ["--data-dir", dir.path], environment: ["LEDGER_ACTOR": "scribe@chu-nantes.fr"])
        }

        /// The view's JSON document, or the list it holds when it is a list output (formatVersion and a list).
        func json(_ arguments: [String]) throws -> JSONValue {
            let result = try run(arguments + ["--format", "json"])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            let document = try JSONParser.parse(result.stdout)
            #expect(document["formatVersion"] == .number(JSONNumber(1)), "\(arguments)")
            let lists = (document.objectValue ?? [:]).filter { $0.key != "formatVersion" }
            if lists.count == 1, let list = lists.first, list.value.arrayValue != nil { return list.value }
            return document
        }
    }

    @Test func everyRecordedFieldShowsWithItsUnitAndACorrectionShowsBeforeAndAfter() throws {
        let ledger = try Ledger()
        let transfer = try ledger.record(
            "care.impact_reported", at: "2024-01-16", source: "ARS Pays de la Loire",
            [
                "establishment=440000289", "kind=patients_transferred", "description=transfers to neighbours", "count=3",
                "destination=CHU d'Angers", "sharePercent=15",
            ])
        try ledger.record(
            "event.corrected", at: "2024-01-16", source: "ARS Pays de la Loire",
            ["correctedEventId=\(transfer)", #"changes={"count":12}"#],
            reason: "the first count missed the night's transfers")

        let state = try ledger.run(["state"]).stdout
        #expect(state.contains("count: 12"), "\(state)")
        #expect(state.contains("destination: CHU d'Angers"), "\(state)")
        #expect(state.contains("share: 15 %"), "\(state)")
        // The incident's only establishment is said once at its head, not on every fact.
        #expect(state.contains("      count: 12 · share: 15 % · destination: CHU d'Angers\n"), "\(state)")
        #expect(state.contains("corrected: count 3 → 12"), "\(state)")

        let json = try ledger.json(["state"])
        let impact = json[0]?["careImpacts"]?[0]
        #expect(impact?["payload"]?["count"] == .number(JSONNumber(12)))
        #expect(impact?["fields"]?.arrayValue?.contains { $0["label"] == "destination" && $0["text"] == "CHU d'Angers" } == true)
        #expect(impact?["revisions"]?[0]?["kind"] == "corrected")
        #expect(impact?["revisions"]?[0]?["changes"]?[0]?["before"] == .number(JSONNumber(3)))
        #expect(impact?["provenance"]?["source"] == "ARS Pays de la Loire")
        #expect(impact?["provenance"]?["actor"] == "scribe@chu-nantes.fr")

        let audit = try ledger.run(["audit"]).stdout
        #expect(
            audit.contains("corrects count of: care impact (patients transferred): transfers to neighbours (recorded wrong)"),
            "\(audit)")
        #expect(audit.contains("  count: 3 -> 12\n"), "\(audit)")
        #expect(audit.contains("fields: establishment: CHU de Nantes (440000289) · kind: patients transferred"), "\(audit)")
        let entries = try ledger.json(["audit"]).arrayValue ?? []
        let correction = entries.first { $0["eventType"] == "event.corrected" }
        #expect(correction?["fieldChanges"] == .array([.object(["field": "count", "before": "3", "after": "12"])]))
    }

    @Test func anUpdateChangesTheValueFromItsTimeOnWhereACorrectionRewritesThePast() throws {
        let ledger = try Ledger()
        let demand = try ledger.record(
            "ransom.demanded", at: "2024-01-16", source: "Le Monde, 17 Jan 2024", ["amount=10000000", "currency=USD"])
        try ledger.record(
            "event.updated", at: "2024-02-01", source: "the attackers' site",
            ["updatedEventId=\(demand)", #"changes={"amount":2000000}"#])

        let before = try ledger.run(["state", "--as-of", "2024-01-20"]).stdout
        #expect(before.contains("ransom demanded: 10000000 USD"), "\(before)")
        #expect(!before.contains("2000000 USD"), "\(before)")
        let after = try ledger.run(["state", "--as-of", "2024-02-10"]).stdout
        #expect(after.contains("ransom demanded: 2000000 USD"), "\(after)")
        #expect(after.contains("updated from 2024-02-01 (day): amount 10000000 USD → 2000000 USD"), "\(after)")
        let json = try ledger.json(["state", "--as-of", "2024-02-10"])
        #expect(json[0]?["ransom"]?[0]?["updated"] == .bool(true))
        #expect(json[0]?["ransom"]?[0]?["revisions"]?[0]?["kind"] == "updated")
        #expect(json[0]?["ransom"]?[0]?["revisions"]?[0]?["effective"]?["precision"] == "day")
        #expect(try ledger.json(["state", "--as-of", "2024-01-20"])[0]?["ransom"]?[0]?["updated"] == .bool(false))

        let audit = try ledger.run(["audit"]).stdout
        #expect(
            audit.contains(
                "event.updated: updates amount of: ransom demanded: 10000000 USD (changed in the world from 2024-02-01 (day))"),
            "\(audit)")
        #expect(audit.contains("  amount: 10000000 USD -> 2000000 USD\n"), "\(audit)")

        // What a fact is about does not change, and an update is revised by another update, not corrected.
        let head = try EventStore.open(at: ledger.dir.path, readOnly: true).lastPosition()
        let moved = try ledger.run(
            ledger.recordArguments(
                "event.updated", at: "2024-02-02", source: "s",
                ["updatedEventId=\(demand)", #"changes={"description":"x","currency":"EUR"}"#]))
        #expect(moved.status == 0, "\(moved.stderr)")
        let transfer = try ledger.record(
            "care.impact_reported", at: "2024-01-16", source: "ARS", ["establishment=440000289", "kind=other", "description=d"])
        let elsewhere = try ledger.run(
            ledger.recordArguments(
                "event.updated", at: "2024-02-02", source: "s",
                ["updatedEventId=\(transfer)", #"changes={"establishment":"350005179"}"#]))
        #expect(elsewhere.status == 3)
        #expect(elsewhere.stderr.contains("$.payload.changes.establishment: names what the fact is about"), "\(elsewhere.stderr)")
        let updateId = try ledger.json(["audit"]).arrayValue!.last { $0["eventType"] == "event.updated" }!["eventId"]!
            .stringValue!
        let correctingUpdate = try ledger.run(
            ledger.recordArguments(
                "event.corrected", at: "2024-02-02", source: "s", ["correctedEventId=\(updateId)", #"changes={"amount":1}"#],
                reason: "r"))
        #expect(correctingUpdate.stderr.contains("correct the original event, not a event.updated"), "\(correctingUpdate.stderr)")
        let retractingUpdate = try ledger.run(
            ledger.recordArguments(
                "event.retracted", at: "2024-02-02", source: "s", ["retractedEventId=\(updateId)"], reason: "r"))
        #expect(
            retractingUpdate.stderr.contains("an event.updated cannot be retracted: record another update"),
            "\(retractingUpdate.stderr)")
        #expect(
            try EventStore.open(at: ledger.dir.path, readOnly: true).lastPosition() == head + 2, "two accepted, three refused")
    }

    @Test func anUpdatedCapacityStartsASegmentAndAnUpdatedCareImpactReplacesItsFigureOnTheTimeline() throws {
        let ledger = try Ledger()
        let lab = try ledger.record(
            "service.degraded", at: "2024-01-16 08:00", source: "DSI",
            ["establishment=440000289", "service=laboratory", "status=degraded", "capacityPercent=30"])
        try ledger.record(
            "event.updated", at: "2024-01-20 08:00", source: "DSI", ["updatedEventId=\(lab)", #"changes={"capacityPercent":60}"#])
        let impact = try ledger.record(
            "care.impact_reported", at: "2024-01-16", source: "ARS",
            ["establishment=440000289", "kind=operations_postponed", "description=operations postponed", "count=5"])
        try ledger.record(
            "event.updated", at: "2024-01-20", source: "ARS", ["updatedEventId=\(impact)", #"changes={"count":9}"#])

        func timeline(_ asOf: String) throws -> JSONValue? {
            try ledger.json(["timeline", "--hospital", "440000289", "--as-of", asOf])[0]
        }
        let early = try timeline("2024-01-18")
        let lane = early?["lanes"]?.arrayValue?.first { $0["service"] == "laboratory" }
        #expect(lane?["segments"]?.arrayValue?.map { $0["capacityPercent"] } == [.number(JSONNumber(30))])
        #expect(early?["careImpacts"]?.arrayValue?.map { $0["payload"]?["count"] } == [.number(JSONNumber(5))])
        let late = try timeline("2024-01-25")
        let segments = late?["lanes"]?.arrayValue?.first { $0["service"] == "laboratory" }?["segments"]?.arrayValue ?? []
        #expect(segments.map { $0["capacityPercent"] } == [.number(JSONNumber(30)), .number(JSONNumber(60))])
        #expect(segments.last?["start"] == "2024-01-20T08:00:00+01:00")
        #expect(late?["careImpacts"]?.arrayValue?.map { $0["payload"]?["count"] } == [.number(JSONNumber(9))])
        // An as-of day is drawn to its end, printed to the second.
        #expect(late?["reference"] == "2024-01-25T23:59:59+01:00")
        let text = try ledger.run(["timeline", "--hospital", "440000289", "--as-of", "2024-01-25"]).stdout
        #expect(text.contains("count: 9"), "\(text)")
        #expect(text.contains("updated from 2024-01-20 (day): count 5 → 9"), "\(text)")
    }

    @Test func anUpdateSaysTheValueBeforeItAsTheViewAppliesItAndStateDatesTheConditionFromIt() throws {
        let ledger = try Ledger()
        let impact = try ledger.record(
            "care.impact_reported", at: "2024-01-16", source: "ARS",
            ["establishment=440000289", "kind=operations_postponed", "description=about 30 operations postponed", "count=3"])
        try ledger.record(
            "event.updated", at: "2024-01-20", source: "ARS", ["updatedEventId=\(impact)", #"changes={"count":20}"#])
        try ledger.record(
            "event.corrected", at: "2024-01-16", source: "ARS", ["correctedEventId=\(impact)", #"changes={"count":12}"#],
            reason: "first count was wrong")
        let warned = try ledger.run(
            ledger.recordArguments(
                "event.corrected", at: "2024-01-16", source: "ARS", ["correctedEventId=\(impact)", #"changes={"count":13}"#],
                reason: "again"))
        #expect(warned.status == 0)
        #expect(
            warned.stderr.contains(
                "warning: --set changes.count: an update replaced count from 2024-01-20 00:00 +01:00: the correction shows only before it"
            ),
            "\(warned.stderr)")
        try ledger.record(
            "event.corrected", at: "2024-01-16", source: "ARS", ["correctedEventId=\(impact)", #"changes={"count":12}"#],
            reason: "back to the recount")
        let state = try ledger.run(["state"]).stdout
        // The correction is applied first: the update replaced 12, not 3.
        #expect(
            state.contains(
                "corrected: count 3 → 12; corrected: count 12 → 13; corrected: count 13 → 12; updated from 2024-01-20 (day): count 12 → 20"
            ),
            "\(state)")
        // A figure shows even when its digits are inside the summary ("3" in "30").
        let early = try ledger.run(["state", "--as-of", "2024-01-17"]).stdout
        #expect(early.contains("      count: 12\n"), "\(early)")
        // Its own audit entry shows the fact as recorded.
        let entry = try ledger.json(["audit"]).arrayValue?.first { $0["eventType"] == "care.impact_reported" }
        #expect(entry?["fields"]?.arrayValue?.first { $0["name"] == "count" }?["text"] == "3")

        let lab = try ledger.record(
            "service.degraded", at: "2024-01-15 08:00", source: "DSI",
            ["establishment=440000289", "service=laboratory", "status=down"])
        try ledger.record(
            "event.updated", at: "2024-01-20 08:00", source: "DSI",
            ["updatedEventId=\(lab)", #"changes={"status":"degraded","capacityPercent":50}"#])
        let lines = try ledger.run(["state"]).stdout
        #expect(lines.contains("Laboratory system: degraded (50 %) since 2024-01-20 08:00 +01:00"), "\(lines)")

        // An update of a degradation that a restoration already ended reopens nothing.
        let mail = try ledger.record(
            "service.degraded", at: "2024-01-15 08:00", source: "DSI",
            ["establishment=440000289", "service=external_email", "status=down"])
        try ledger.record(
            "service.restored", at: "2024-01-17 08:00", source: "DSI",
            ["establishment=440000289", "service=external_email", "extent=full"])
        try ledger.record(
            "event.updated", at: "2024-01-20 08:00", source: "DSI",
            ["updatedEventId=\(mail)", #"changes={"description":"all mailboxes"}"#])
        let timeline = try ledger.json(["timeline", "--hospital", "440000289", "--as-of", "2024-01-25"])[0]
        let segments = timeline?["lanes"]?.arrayValue?.first { $0["service"] == "external_email" }?["segments"]?.arrayValue
        #expect(segments?.map { $0["status"] } == ["down", "restored"])
    }

    @Test func aGroupShowsTheIncidentsOfItsSitesWhileTheyWereMembers() throws {
        let ledger = try Ledger()
        try ledger.record(
            "group.registered", at: "2024-01-01", source: "ARS", ["groupId=g", "name=G", "kind=ght"], incident: "group:g")
        try ledger.record(
            "group.member_added", at: "2024-03-01", source: "ARS", ["groupId=g", "finess=440000289"], incident: "group:g")
        try ledger.record(
            "incident.opened", at: "2024-04-02 10:00", source: "log", ["title=Second attack", "establishments=440000289"],
            incident: "incident:y")
        try ledger.record("attack.detected", at: "2024-04-02 10:00", source: "log", ["description=again"], incident: "incident:y")
        try ledger.record(
            "group.member_removed", at: "2024-05-01", source: "ARS", ["groupId=g", "finess=440000289"], incident: "group:g")
        let now = try ledger.run(["state", "--group", "g"]).stdout
        #expect(now.contains("members: none at that time"), "\(now)")
        // The April incident began while the site was a member; the January one before it joined.
        #expect(now.contains("incident:y: Second attack"), "\(now)")
        #expect(!now.contains("incident:x"), "\(now)")
        let timeline = try ledger.json(["timeline", "--group", "g"])
        #expect(timeline["timelines"]?.arrayValue?.map { $0["incident"] } == ["incident:y"], "\(timeline)")
    }

    @Test func rulesBetweenFieldsHoldInEveryStateAViewCanShow() throws {
        let ledger = try Ledger()
        let demand = try ledger.record(
            "ransom.demanded", at: "2024-01-10", source: "s", ["amountMin=5", "amountMax=10", "currency=EUR"])
        try ledger.record(
            "event.updated", at: "2024-02-01", source: "s", ["updatedEventId=\(demand)", #"changes={"amountMax":20}"#])
        // Dated before the first update: from 15 January to 1 February the range would read 15 to 10.
        let early = try ledger.run(
            ledger.recordArguments(
                "event.updated", at: "2024-01-15", source: "s", ["updatedEventId=\(demand)", #"changes={"amountMin":15}"#]))
        #expect(early.status == 3, "\(early.stdout)")
        #expect(early.stderr.contains("$.payload.changes"), "\(early.stderr)")
        // A correction of the first range that every later state still obeys is accepted.
        let other = try ledger.record(
            "ransom.demanded", at: "2024-01-10", source: "t", ["amountMin=5", "amountMax=10", "currency=EUR"])
        try ledger.record(
            "event.updated", at: "2024-02-01", source: "t",
            ["updatedEventId=\(other)", #"changes={"amountMin":20,"amountMax":30}"#])
        try ledger.record(
            "event.corrected", at: "2024-01-10", source: "t", ["correctedEventId=\(other)", #"changes={"amountMax":12}"#],
            reason: "misread")
    }

    @Test func aSiteItsRegistrationMadeAMemberLeavesAtItsDatedLeaving() throws {
        let ledger = try Ledger()
        try ledger.record(
            "group.registered", at: "2024-01-01", source: "ARS", ["groupId=ght-44", "name=GHT 44", "kind=ght"],
            incident: "group:ght-44")
        try ledger.record(
            "establishment.registered", at: "2024-01-02", source: "FINESS",
            ["finess=440099991", "name=Site B", "city=Saint-Nazaire", "group=ght-44"], incident: nil)
        try ledger.record(
            "group.member_removed", at: "2024-06-01", source: "ARS", ["groupId=ght-44", "finess=440099991"],
            incident: "group:ght-44")
        let before = try ledger.run(["state", "--group", "ght-44", "--as-of", "2024-03-01"]).stdout
        #expect(before.contains("members: Site B (440099991)"), "\(before)")
        let after = try ledger.run(["state", "--group", "ght-44", "--as-of", "2024-07-01"]).stdout
        #expect(!after.contains("members: Site B"), "\(after)")
    }

    @Test func figuresFromDifferentSourcesStaySideBySideAsCompetingClaims() throws {
        let ledger = try Ledger()
        try ledger.record(
            "data.exfiltration_confirmed", at: "2024-01-20", source: "the hospital's statement",
            ["description=files of patients", "peopleAffected=10000"])
        try ledger.record(
            "data.exfiltration_confirmed", at: "2024-01-21", source: "the attackers' leak site",
            ["description=the attackers' claim", "peopleAffected=500000"])

        let state = try ledger.run(["state"]).stdout
        #expect(
            state.contains(
                "people affected (data exfiltration confirmed): 10000 (source the hospital's statement) · 500000 (source the attackers' leak site) — competing claims"
            ), "\(state)")
        let figure = try ledger.json(["state"])[0]?["figures"]?.arrayValue?.first {
            $0["key"] == "data.exfiltration_confirmed/peopleAffected"
        }
        #expect(figure?["competing"] == .bool(true))
        #expect(figure?["claims"]?.arrayValue?.map { $0["value"] } == [.number(JSONNumber(10000)), .number(JSONNumber(500000))])
        #expect(figure?["claims"]?[1]?["claimant"] == "the attackers' leak site")
        let audit = try ledger.run(["audit"]).stdout
        #expect(audit.contains("— a competing claim beside 10000 claimed by the hospital's statement"), "\(audit)")

        // A range is one figure, and differs from an exact one.
        try ledger.record(
            "ransom.demanded", at: "2024-01-18", source: "Le Monde", ["amount=2000000", "currency=EUR"])
        try ledger.record(
            "ransom.demanded", at: "2024-01-19", source: "an ANSSI bulletin",
            ["amountMin=1000000", "amountMax=3000000", "currency=EUR"])
        let ransom = try ledger.json(["state"])[0]?["figures"]?.arrayValue?.first { $0["key"] == "ransom.demanded/amount" }
        #expect(ransom?["competing"] == .bool(true))
        #expect(ransom?["claims"]?.arrayValue?.map { $0["text"] } == ["2000000 EUR", "between 1000000 and 3000000 EUR"])
        #expect(ransom?["claims"]?[1]?["low"] == .number(JSONNumber(1_000_000)))
        #expect(ransom?["claims"]?[1]?["high"] == .number(JSONNumber(3_000_000)))
        #expect(ransom?["claims"]?[0]?["high"] == .null)

        // A correction that makes two claimants disagree is flagged as such.
        let first = try ledger.record(
            "persons.notified", at: "2024-01-23", source: "the hospital", ["description=letters", "count=100"])
        try ledger.record("persons.notified", at: "2024-01-24", source: "the CNIL", ["description=letters seen", "count=100"])
        try ledger.record(
            "event.corrected", at: "2024-01-23", source: "the hospital",
            ["correctedEventId=\(first)", #"changes={"count":120}"#],
            reason: "recount")
        let corrections = try ledger.run(["audit"]).stdout
        #expect(corrections.contains("(recorded wrong) — a competing claim beside 100 claimed by the CNIL"), "\(corrections)")

        // The same claimant restating its figure is not a rival of itself.
        try ledger.record(
            "data.exfiltration_confirmed", at: "2024-01-22", source: "the attackers' leak site",
            ["description=the attackers' claim again", "peopleAffected=600000"])
        let claims = try ledger.json(["state"])[0]?["figures"]?.arrayValue?.first {
            $0["key"] == "data.exfiltration_confirmed/peopleAffected"
        }?["claims"]
        #expect(claims?.arrayValue?.map { $0["value"] } == [.number(JSONNumber(10000)), .number(JSONNumber(600000))])
    }

    @Test func aClockWithoutDelaySaysWhenItFallsDueAndJSONHoursCarryNoResidue() throws {
        let ledger = try Ledger()
        let text = try ledger.run(["deadlines", "--as-of", "2024-01-17 09:00"]).stdout
        #expect(
            text.contains(
                """
                OVERDUE        overdue by 1 day 7 h: without delay, alert threshold 2024-01-16 01:20 +01:00
                               incident:x: Health-sector security incident report (sans délai)
                """), "\(text)")
        try ledger.record(
            "authority.notified", at: "2024-01-15 09:00", source: "DSI", ["authority=CERT_SANTE", "kind=initial"])
        let met = try ledger.run(["deadlines", "--as-of", "2024-01-17 09:00"]).stdout
        #expect(
            met.contains(
                """
                MET            done 2024-01-15 09:00 +01:00
                               incident:x: Health-sector security incident report (sans délai)
                """), "\(met)")
        #expect(!met.contains("alert threshold"), "a met clock is not said to fall due: \(met)")
        let clocks = try ledger.json(["deadlines", "--as-of", "2024-01-15 02:39"]).arrayValue ?? []
        let report = clocks.first { $0["rule"] == "csp-l1111-8-2" }
        #expect(report?["overdueFrom"] == "2024-01-16T01:20:00+01:00")
        // 01:20 to the end of the minute 02:39 is 80 minutes: 1.333 h, not 1.3333333333333333.
        #expect(report?["elapsedHours"]?.numberValue?.text == "1.333", "\(String(describing: report))")
        #expect(clocks.first { $0["rule"] == "insurance-complaint" }?["overdueFrom"] == .null)
    }

    @Test func sourcesOnRequestInTextAndAlwaysInJSONAndNoIncidentBeforeItBegan() throws {
        let ledger = try Ledger()
        let plain = try ledger.run(["state"]).stdout
        #expect(!plain.contains("source: log"), "\(plain)")
        let sourced = try ledger.run(["state", "--sources"]).stdout
        #expect(sourced.contains("source: log · recorded by scribe@chu-nantes.fr at "), "\(sourced)")
        let early = try ledger.run(["state", "--as-of", "2024-01-10"])
        #expect(early.status == 0)
        #expect(early.stdout == "(as of 2024-01-10)\nno incident\n", "\(early.stdout)")
        #expect(try ledger.json(["state", "--as-of", "2024-01-10"]) == .array([]))
    }
}

extension JSONValue {
    /// An array's item, or nil: test reads of deep JSON stay one expression.
    fileprivate subscript(index: Int) -> JSONValue? {
        guard let items = arrayValue, items.indices.contains(index) else { return nil }
        return items[index]
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
