import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String]) throws -> ProcessOutput {
    try runProduct("ledger", arguments, environment: ["LEDGER_ACTOR": "dpo@ch-test.example"])
}

/// The GDPR clocks through `ledger record` and `ledger deadlines`, text and json.
@Suite("ledger deadlines for personal data breaches", .serialized)
struct BreachClockCLITests {
    static let incident = "incident:ch-test-2024-03"

    /// Records `steps` (each: event type, time, then `--set` pairs) after an establishment, an incident and
    /// its detection at 08:00 on 4 March 2024.
    func recorded(_ steps: [[String]]) throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let d = ["--data-dir", dir.path]
        #expect(try ledger(["init"] + d).status == 0)
        let base: [[String]] = [
            ["establishment.registered", "2024-03-01 09:00", "finess=350000014", "name=CH Test", "city=Rennes"],
            ["incident.opened", "2024-03-04 08:30", "title=Ransomware at the CH Test", "establishments=350000014"],
            ["attack.detected", "2024-03-04 08:00", "description=ransom note on the servers"],
        ]
        for step in base + steps {
            var arguments = ["record", step[0], "--at", step[1], "--source", "crisis cell log"]
            if step[0] != "establishment.registered" { arguments += ["--incident", Self.incident] }
            for pair in step.dropFirst(2) { arguments += ["--set", pair] }
            let result = try ledger(arguments + d)
            #expect(result.status == 0, "\(step[0]): \(result.stderr)")
        }
        return dir
    }

    func clocks(_ dir: TemporaryDirectory, asOf: String) throws -> [String: JSONValue] {
        let out = try ledger(["deadlines", "--format", "json", "--as-of", asOf, "--data-dir", dir.path])
        #expect(out.status == 0, "\(out.stderr)")
        let all = try documentList(out.stdout, "clocks").arrayValue ?? []
        return Dictionary(uniqueKeysWithValues: all.map { ($0["rule"]?.stringValue ?? "", $0) })
    }

    static let outage = [
        "service.degraded", "2024-03-04 10:30", "establishment=350000014", "service=patient_record", "status=down",
        "description=DPI encrypted",
    ]

    @Test func thePatientRecordDownStartsTheCNILClockInTextAndJSON() throws {
        let dir = try recorded([Self.outage])
        let text = try ledger(["deadlines", "--as-of", "2024-03-05 12:00", "--data-dir", dir.path])
        #expect(text.status == 0)
        #expect(
            text.stdout.contains(
                """
                RUNNING        due in 1 day 22 h: deadline 2024-03-07 10:30 +01:00
                               \(Self.incident): Personal data breach notification (GDPR art. 33(1), to CNIL)
                               started 2024-03-04 10:30 +01:00, 25.5 h elapsed
                               started by: Patient record (DPI) down
                KEPT BY LEDGER kept by this ledger
                               \(Self.incident): Breach register (kept by this ledger) (GDPR art. 33(5), to internal register)
                               started 2024-03-04 10:30 +01:00, 25.5 h elapsed
                               started by: Patient record (DPI) down

                """), "\(text.stdout)")
        let json = try clocks(dir, asOf: "2024-03-05 12:00")
        let cnil = try #require(json["gdpr-33-cnil"])
        #expect(cnil["status"] == .string("running"))
        #expect(cnil["startedAt"]?["at"] == .string("2024-03-04T10:30:00+01:00"))
        #expect(cnil["deadline"] == .string("2024-03-07T10:30:00+01:00"))
        #expect(cnil["startedBySummary"] == .string("Patient record (DPI) down"))
        #expect(json["gdpr-33-5-register"]?["startedBy"] == cnil["startedBy"])
        #expect(try clocks(dir, asOf: "2024-03-08")["gdpr-33-cnil"]?["status"] == .string("overdue"))
        // Email alone is no personal data breach: no CNIL clock.
        let email = try recorded([
            ["service.degraded", "2024-03-04 10:30", "establishment=350000014", "service=external_email", "status=down"]
        ])
        let none = try clocks(email, asOf: "2024-03-05 12:00")
        #expect(none["gdpr-33-cnil"] == nil && none["gdpr-33-5-register"] == nil && none["csp-l1111-8-2"] != nil)
    }

    @Test func anUnlikelyRiskAssessmentShowsNotRequiredAndTheRegisterStays() throws {
        let reasons = "DPI restored intact from the night's backup within 6 h; logs show no access to patient data"
        let dir = try recorded([
            Self.outage,
            ["breach.risk_assessed", "2024-03-05 09:00", "outcome=unlikely_risk", "reasons=\(reasons)", "assessedBy=DPO"],
        ])
        let text = try ledger(["deadlines", "--as-of", "2024-03-10", "--data-dir", dir.path])
        #expect(
            text.stdout.contains(
                """
                NOT REQUIRED   not required from 2024-03-05 09:00 +01:00 (deadline 2024-03-07 10:30 +01:00)
                               \(Self.incident): Personal data breach notification (GDPR art. 33(1), to CNIL)
                               started 2024-03-04 10:30 +01:00, 22.5 h after the start
                               started by: Patient record (DPI) down
                               not required: breach risk assessed (unlikely_risk): \(reasons)
                KEPT BY LEDGER kept by this ledger
                               \(Self.incident): Breach register (kept by this ledger) (GDPR art. 33(5), to internal register)

                """), "\(text.stdout)")
        let json = try clocks(dir, asOf: "2024-03-10")
        let cnil = try #require(json["gdpr-33-cnil"])
        #expect(cnil["status"] == .string("not_required"))
        #expect(cnil["notRequiredAt"]?["at"] == .string("2024-03-05T09:00:00+01:00"))
        #expect(cnil["notRequiredReason"] == .string("breach risk assessed (unlikely_risk): \(reasons)"))
        #expect(json["gdpr-33-5-register"]?["status"] == .string("kept_by_ledger"))
    }

    @Test func aLaterTheftAddsAComplementThatAnUpdateToTheCNILSatisfies() throws {
        let dir = try recorded([
            Self.outage,
            ["authority.notified", "2024-03-05 09:00", "authority=CNIL", "kind=initial"],
            ["data.exfiltration_confirmed", "2024-03-06", "description=patient files published", "peopleAffected=3000"],
            ["authority.notified", "2024-03-07 15:00", "authority=CNIL", "kind=update"],
        ])
        let json = try clocks(dir, asOf: "2024-03-10")
        #expect(json["gdpr-33-cnil"]?["status"] == .string("met"))
        #expect(json["gdpr-33-cnil"]?["deadline"] == .string("2024-03-07T10:30:00+01:00"))
        let complement = try #require(json["gdpr-33-4-complement"])
        #expect(complement["status"] == .string("met"))
        #expect(complement["startedAt"]?["at"] == .string("2024-03-06T00:00:00+01:00"))
        #expect(complement["satisfiedAt"]?["at"] == .string("2024-03-07T15:00:00+01:00"))
        #expect(complement["deadline"] == .null)
        let before = try clocks(dir, asOf: "2024-03-07 12:00")
        #expect(before["gdpr-33-4-complement"]?["status"] == .string("running"))
    }

    @Test func recordHelpListsTheAssessmentAndBadOutcomesAreRefused() throws {
        let help = try ledger(["record", "--help"])
        #expect(help.stdout.contains("breach.risk_assessed: "))
        #expect(help.stdout.contains("outcome*: unlikely_risk|risk|high_risk"))
        let dir = try recorded([])
        let bad = try ledger([
            "record", "breach.risk_assessed", "--incident", Self.incident, "--at", "2024-03-05", "--source", "DPO",
            "--set", "outcome=none", "--set", "reasons=x", "--data-dir", dir.path,
        ])
        #expect(bad.status == 3)
        #expect(bad.stderr == "ledger: error: record: $.payload.outcome: \"none\" is not one of unlikely_risk, risk, high_risk\n")
        let noReasons = try ledger([
            "record", "breach.risk_assessed", "--incident", Self.incident, "--at", "2024-03-05", "--source", "DPO",
            "--set", "outcome=unlikely_risk", "--data-dir", dir.path,
        ])
        #expect(noReasons.status == 3)
        #expect(noReasons.stderr.contains("$.payload.reasons: required for breach.risk_assessed"))
    }
}
