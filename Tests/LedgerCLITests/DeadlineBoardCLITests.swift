import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessOutput {
    try runProduct("ledger", arguments, environment: ["LEDGER_ACTOR": "cell@ch-test.example"].merging(environment) { $1 })
}

/// `ledger deadlines` as a list to act on: time left or overdue, the due time, most urgent first, filters, and
/// colours on a terminal only. "Now" is pinned with --as-of: every figure is counted from it.
@Suite("ledger deadlines, most urgent first", .serialized)
struct DeadlineBoardCLITests {
    static let a = "incident:ch-a-2024-03"
    static let b = "incident:ch-b-2024-03"
    /// Two days and four hours after B's detection, two days and four hours after A's.
    static let now = "2024-03-06T12:00:00+01:00"

    /// A: detected on 4 March at 08:00, its patient record down at 10:30 (the CNIL's 72 h run from then), nothing
    /// declared. B: detected on 3 March at 08:00, the complaint filed at 18:00 the same day.
    func twoIncidents() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let d = ["--data-dir", dir.path]
        #expect(try ledger(["init"] + d).status == 0)
        let steps: [(String?, [String])] = [
            (nil, ["establishment.registered", "2024-03-01", "finess=350005179", "name=CHU de Rennes", "city=Rennes"]),
            (nil, ["establishment.registered", "2024-03-01", "finess=440000289", "name=CHU de Nantes", "city=Nantes"]),
            (Self.a, ["incident.opened", "2024-03-04 08:30", "title=Ransomware at Rennes", "establishments=350005179"]),
            (Self.a, ["attack.detected", "2024-03-04 08:00", "description=ransom note"]),
            (
                Self.a,
                ["service.degraded", "2024-03-04 10:30", "establishment=350005179", "service=patient_record", "status=down"]
            ),
            (Self.b, ["incident.opened", "2024-03-03 08:30", "title=Intrusion at Nantes", "establishments=440000289"]),
            (Self.b, ["attack.detected", "2024-03-03 08:00", "description=alert from the EDR"]),
            (Self.b, ["complaint.filed", "2024-03-03 18:00", "filedWith=police"]),
        ]
        for (incident, step) in steps {
            var arguments = ["record", step[0], "--at", step[1], "--source", "crisis cell log"] + d
            if let incident { arguments += ["--incident", incident] }
            for pair in step.dropFirst(2) { arguments += ["--set", pair] }
            let result = try ledger(arguments)
            #expect(result.status == 0, "\(step[0]): \(result.stderr)")
        }
        return dir
    }

    func clocks(_ dir: TemporaryDirectory, _ more: [String] = []) throws -> [JSONValue] {
        let out = try ledger(["deadlines", "--format", "json", "--as-of", Self.now, "--data-dir", dir.path] + more)
        #expect(out.status == 0, "\(out.stderr)")
        return try documentList(out.stdout, "clocks").arrayValue ?? []
    }

    @Test func overdueFirstThenBySoonestDueTimeThenTheClosedOnesWithTheTimeLeftInWords() throws {
        let dir = try twoIncidents()
        let text = try ledger(["deadlines", "--as-of", Self.now, "--data-dir", dir.path])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(!text.stdout.contains("\u{1B}["), "no colour into a pipe")
        #expect(
            text.stdout == """
                (as of \(Self.now))
                OVERDUE        overdue by 2 days 4 h: without delay, alert threshold 2024-03-04 08:00 +01:00
                               \(Self.b): Health-sector security incident report (sans délai) (Code de la santé publique L1111-8-2, D1111-16-2 to 16-4, to CERT Santé portal and ARS)
                               started 2024-03-03 08:00 +01:00, 3.2 days elapsed
                               started by: detected: alert from the EDR
                OVERDUE        overdue by 1 day 4 h: without delay, alert threshold 2024-03-05 08:00 +01:00
                               \(Self.a): Health-sector security incident report (sans délai) (Code de la santé publique L1111-8-2, D1111-16-2 to 16-4, to CERT Santé portal and ARS)
                               started 2024-03-04 08:00 +01:00, 2.2 days elapsed
                               started by: detected: ransom note
                RUNNING        due in 20 h: deadline 2024-03-07 08:00 +01:00
                               \(Self.a): Complaint within 72 hours for the cyber insurance to pay (Code des assurances L12-10-1, to police, gendarmerie or prosecutor)
                               started 2024-03-04 08:00 +01:00, 2.2 days elapsed
                               started by: detected: ransom note
                RUNNING        due in 22 h 30 min: deadline 2024-03-07 10:30 +01:00
                               \(Self.a): Personal data breach notification (GDPR art. 33(1), to CNIL)
                               started 2024-03-04 10:30 +01:00, 2.1 days elapsed
                               started by: Patient record (DPI) down
                KEPT BY LEDGER kept by this ledger
                               \(Self.a): Breach register (kept by this ledger) (GDPR art. 33(5), to internal register)
                               started 2024-03-04 10:30 +01:00, 2.1 days elapsed
                               started by: Patient record (DPI) down
                MET            done 2024-03-03 18:00 +01:00 (deadline 2024-03-06 08:00 +01:00)
                               \(Self.b): Complaint within 72 hours for the cyber insurance to pay (Code des assurances L12-10-1, to police, gendarmerie or prosecutor)
                               started 2024-03-03 08:00 +01:00, 10.0 h after the start
                               started by: detected: alert from the EDR

                """, "\(text.stdout)")

        // The same order and figures in json: whole seconds, and the same words.
        let json = try clocks(dir)
        #expect(
            json.map { "\($0["incident"]?.stringValue ?? "") \($0["rule"]?.stringValue ?? "")" } == [
                "\(Self.b) csp-l1111-8-2", "\(Self.a) csp-l1111-8-2", "\(Self.a) insurance-complaint",
                "\(Self.a) gdpr-33-cnil", "\(Self.a) gdpr-33-5-register", "\(Self.b) insurance-complaint",
            ])
        func figures(_ clock: JSONValue) -> [JSONValue?] {
            [clock["dueAt"], clock["dueInSeconds"], clock["overdueBySeconds"], clock["dueText"]]
        }
        #expect(figures(json[0]) == ["2024-03-04T08:00:00+01:00", .null, .number(JSONNumber(187_200)), "overdue by 2 days 4 h"])
        #expect(figures(json[1]) == ["2024-03-05T08:00:00+01:00", .null, .number(JSONNumber(100_800)), "overdue by 1 day 4 h"])
        #expect(figures(json[2]) == ["2024-03-07T08:00:00+01:00", .number(JSONNumber(72_000)), .null, "due in 20 h"])
        #expect(figures(json[3]) == ["2024-03-07T10:30:00+01:00", .number(JSONNumber(81_000)), .null, "due in 22 h 30 min"])
        #expect(figures(json[4]) == [.null, .null, .null, .null], "the register falls due never")
        #expect(figures(json[5]) == ["2024-03-06T08:00:00+01:00", .null, .null, .null], "met: nothing left to count")
        #expect(json[0]["overdueFrom"] == json[0]["dueAt"] && json[2]["deadline"] == json[2]["dueAt"])

        // One incident: its clocks in the same order.
        let onlyA = try clocks(dir, ["--incident", Self.a]).map { $0["rule"]?.stringValue }
        #expect(onlyA == ["csp-l1111-8-2", "insurance-complaint", "gdpr-33-cnil", "gdpr-33-5-register"])
    }

    @Test func dueWithinKeepsWhatFallsDueInTheWindowAndTheOverdueOnes() throws {
        let dir = try twoIncidents()
        func rules(_ more: [String]) throws -> [String] {
            try clocks(dir, more).map { "\($0["incident"]?.stringValue ?? "") \($0["rule"]?.stringValue ?? "")" }
        }
        // 21 h from 12:00 on the 6th: the insurance complaint (20 h) is in, the CNIL (22 h 30) is not.
        #expect(
            try rules(["--due-within", "21h"]) == [
                "\(Self.b) csp-l1111-8-2", "\(Self.a) csp-l1111-8-2", "\(Self.a) insurance-complaint",
            ])
        #expect(try rules(["--due-within", "1d"]).count == 4)
        #expect(try rules(["--due-within", "1350m"]).count == 4, "22 h 30 exactly is within")
        #expect(try rules(["--due-within", "1349m"]).count == 3)
        #expect(try rules(["--due-within", "0m"]) == ["\(Self.b) csp-l1111-8-2", "\(Self.a) csp-l1111-8-2"])
        #expect(try rules(["--status", "met"]) == ["\(Self.b) insurance-complaint"])
        #expect(
            try rules(["--status", "running", "--status", "kept_by_ledger"]) == [
                "\(Self.a) insurance-complaint", "\(Self.a) gdpr-33-cnil", "\(Self.a) gdpr-33-5-register",
            ])
        #expect(try rules(["--status", "met", "--due-within", "3d"]) == [], "a met clock falls due in no window")

        let none = try ledger(["deadlines", "--as-of", Self.now, "--status", "not_required", "--data-dir", dir.path])
        #expect(none.status == 0 && none.stdout == "(as of \(Self.now))\nno clock matches\n", "\(none.stdout)")
        let window = try ledger([
            "deadlines", "--as-of", Self.now, "--due-within", "0m", "--status", "running", "--data-dir", dir.path,
        ])
        #expect(window.stdout.hasSuffix("no clock matches (due or overdue within 0 min)\n"), "\(window.stdout)")

        for bad in ["24", "h", "-3d", "1.5h", "2w", "24 h", "1234567m", "３d"] {
            let refused = try ledger(["deadlines", "--due-within=\(bad)", "--data-dir", dir.path])
            #expect(refused.status == 3, "\(bad): \(refused.status)")
            #expect(
                refused.stderr
                    == "ledger: error: --due-within: \"\(bad)\" is not a duration: a whole number (up to 6 digits) then m, h or d, such as 30m, 24h or 3d\n",
                "\(refused.stderr)")
            #expect(refused.stdout.isEmpty)
        }
        let status = try ledger(["deadlines", "--status", "late", "--data-dir", dir.path])
        #expect(status.status == 2 && status.stderr.contains("--status") && status.stderr.contains("late"), "\(status.stderr)")
    }

    @Test func aClockWithoutAnyDueTimeComesAfterTheDatedOnes() throws {
        let dir = try twoIncidents()
        let rules = dir.path + "/rules.json"
        try #"""
        {"rules": [
          {"id": "undated", "title": "Tell the board", "legalBasis": "internal policy", "recipient": "the board",
           "startsOn": {"eventType": "attack.detected"}, "satisfiedBy": {"eventType": "note.added"}, "inForceFrom": "2020-01-01"},
          {"id": "dated", "title": "Tell the insurer", "legalBasis": "contract", "recipient": "the insurer",
           "startsOn": {"eventType": "attack.detected"}, "satisfiedBy": {"eventType": "note.added"},
           "deadlineHours": 720, "inForceFrom": "2020-01-01"}
        ]}
        """#.write(toFile: rules, atomically: true, encoding: .utf8)
        let json = try clocks(dir, ["--rules", rules, "--incident", Self.a])
        #expect(json.map { $0["rule"]?.stringValue } == ["dated", "undated"])
        #expect(json[1]["status"] == "running" && json[1]["dueAt"] == .null && json[1]["dueText"] == .null)
        #expect(json[0]["dueText"] == "due in 27 days 20 h")
        let text = try ledger(["deadlines", "--rules", rules, "--incident", Self.a, "--as-of", Self.now, "--data-dir", dir.path])
        #expect(text.stdout.contains("RUNNING        no deadline nor alert threshold in the rules\n"), "\(text.stdout)")
    }

    /// Colours only on a terminal (a pseudo-terminal here), never with NO_COLOR set, even empty; the status words
    /// are there either way.
    @Test func coloursOnATerminalOnlyAndNeverWithNoColor() throws {
        let dir = try twoIncidents()
        let arguments = ["deadlines", "--as-of", Self.now, "--data-dir", dir.path]
        let coloured = try onTerminal(arguments)
        let red = "\u{1B}[1;31mOVERDUE        overdue by 2 days 4 h"
        let yellow = "\u{1B}[33mRUNNING        due in 20 h"
        let green = "\u{1B}[32mMET            done 2024-03-03 18:00 +01:00"
        for mark in [red, yellow, green] {
            #expect(coloured.contains(mark), "\(mark.debugDescription) in \(coloured.debugDescription)")
        }
        #expect(coloured.contains("\u{1B}[0m\r\n"), "each coloured line ends its colour: \(coloured.debugDescription)")
        #expect(!coloured.contains("\u{1B}[33mKEPT BY LEDGER"), "the register is not due")
        for value in ["1", ""] {
            let plain = try onTerminal(arguments, noColor: value)
            #expect(!plain.contains("\u{1B}["), "NO_COLOR=\(value.debugDescription): \(plain.debugDescription)")
            #expect(plain.contains("OVERDUE        overdue by 2 days 4 h"))
        }
        // JSON never carries colour, on a terminal either.
        let json = try onTerminal(arguments + ["--format", "json"])
        #expect(!json.contains("\u{1B}["))
    }

    /// What `ledger ARGUMENTS` writes to a pseudo-terminal as its standard output (python3's pty), with NO_COLOR
    /// unset unless `noColor` gives it a value.
    func onTerminal(_ arguments: [String], noColor: String? = nil) throws -> String {
        let script = """
            import json, os, pty, subprocess, sys
            argv, no_color = json.loads(sys.stdin.read())
            env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
            env["LEDGER_ACTOR"] = "cell@ch-test.example"
            if no_color is not None:
                env["NO_COLOR"] = no_color
            main, child = pty.openpty()
            process = subprocess.Popen(argv, stdout=child, stderr=subprocess.DEVNULL, env=env)
            os.close(child)
            out = b""
            while True:
                try:
                    chunk = os.read(main, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            process.wait()
            sys.stdout.write(out.decode("utf-8"))
            sys.exit(process.returncode)
            """
        let binary = productsDirectory().appendingPathComponent("ledger").path
        let input = CanonicalJSON.string(
            .array([.array(([binary] + arguments).map { .string($0) }), noColor.map { .string($0) } ?? .null]))
        return try python(script, input: input)
    }
}
