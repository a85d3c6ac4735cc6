import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String], input: String? = nil) throws -> ProcessOutput {
    try runProduct("ledger", arguments, input: input, environment: ["LEDGER_ACTOR": "analyst@chu-test.example"])
}

private let chu = "440000289"
private let jacques = "440000271"
private let clinic = "440000305"
private let other = "350005179"

/// The crisis vocabulary and groups through the `ledger` binary.
@Suite("ledger CLI: crisis vocabulary and groups", .serialized)
struct VocabularyCLITests {
    /// Records `steps` (each `record` arguments without the data directory), expecting each to succeed.
    func record(_ steps: [[String]], in dir: TemporaryDirectory) throws {
        for step in steps {
            let result = try ledger(["record"] + step + ["--data-dir", dir.path])
            #expect(result.status == 0, "\(step[0]): \(result.stderr)")
            #expect(result.stdout.hasPrefix("recorded \(step[0]) at position"), "\(result.stdout)")
        }
    }

    /// Three sites of a GHT (one left it in 2020), a site outside it, and an incident on two GHT sites and the outsider.
    func groupLedger() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        #expect(try ledger(["init", "--data-dir", dir.path]).status == 0)
        func site(_ finess: String, _ name: String, group: String? = nil) -> [String] {
            [
                "establishment.registered", "--at", "2024-01-15T08:00:00+01:00", "--source", "FINESS directory", "--set",
                "finess=\(finess)", "--set", "name=\(name)", "--set", "city=Nantes",
            ] + (group.map { ["--set", "group=\($0)"] } ?? [])
        }
        let i = ["--incident", "incident:nantes"]
        try record(
            [
                site(chu, "CHU de Nantes", group: "ght-44"), site(jacques, "Hôpital Saint-Jacques"),
                site(clinic, "Clinique du Parc"),
                site(other, "CHU de Rennes"),
                [
                    "group.registered", "--at", "2016-07-01", "--source", "ARS convention", "--set", "groupId=ght-44", "--set",
                    "name=GHT Loire-Atlantique", "--set", "kind=ght", "--set", "supportEstablishment=\(chu)",
                ],
                [
                    "group.member_added", "--at", "2016-07-01", "--source", "ARS convention", "--set", "groupId=ght-44", "--set",
                    "finess=\(jacques)",
                ],
                [
                    "group.member_added", "--at", "2016-07-01", "--source", "ARS convention", "--set", "groupId=ght-44", "--set",
                    "finess=\(clinic)",
                ],
                [
                    "group.member_removed", "--at", "2020-01-01", "--source", "ARS decision", "--set", "groupId=ght-44", "--set",
                    "finess=\(clinic)",
                ],
                [
                    "incident.opened", "--at", "2024-01-15 08:00", "--source", "crisis cell", "--set", "title=Attack on the GHT",
                    "--set", "establishments=\(chu),\(jacques),\(other)",
                ] + i,
                [
                    "service.degraded", "--at", "2024-01-15 01:20", "--source", "IT desk", "--set", "establishment=\(chu)",
                    "--set",
                    "service=external_email", "--set", "status=down",
                ] + i,
                [
                    "service.degraded", "--at", "2024-01-15 02:00", "--source", "IT desk", "--set", "establishment=\(jacques)",
                    "--set", "service=telephony", "--set", "status=degraded", "--set", "capacityPercent=40", "--set",
                    "claimedBy=CGT union",
                ] + i,
                [
                    "service.degraded", "--at", "2024-01-15 03:00", "--source", "IT desk", "--set", "establishment=\(other)",
                    "--set",
                    "service=laboratory", "--set", "status=down",
                ] + i,
            ], in: dir)
        return dir
    }

    @Test func theNewTypesAreRecordedAndShownByState() throws {
        let dir = try groupLedger()
        let d = ["--data-dir", dir.path]
        let i = ["--incident", "incident:nantes"]
        try record(
            [
                [
                    "crisis.measure_activated", "--at", "2024-01-15 06:30", "--source", "CHU press release", "--set",
                    "measure=plan_blanc", "--set", "establishment=\(chu)",
                ] + i,
                [
                    "crisis.measure_lifted", "--at", "2024-01-29", "--source", "CHU press release", "--set", "measure=plan_blanc",
                    "--set", "establishment=\(chu)",
                ] + i,
                [
                    "crisis.measure_activated", "--at", "2024-01-15 09:00", "--source", "ARS", "--set",
                    "measure=ambulance_diversion",
                    "--set", "description=the SAMU sends ambulances to Saint-Nazaire",
                ] + i,
                [
                    "support.deployed", "--at", "2024-01-15", "--source", "Ouest-France", "--set", "provider=ANSSI", "--set",
                    "onSite=true",
                ]
                    + i,
                [
                    "judicial.investigation_opened", "--at", "2024-01-16", "--source", "AFP", "--set",
                    "prosecutor=Parquet de Paris, section J3", "--set", "investigators=OFAC", "--set",
                    "offences=extorsion en bande organisée, accès frauduleux",
                ] + i,
                [
                    "ransom.demanded", "--at", "2024-01-16", "--source", "Le Monde", "--set", "amountMin=5000000", "--set",
                    "amountMax=10000000", "--set", "currency=USD", "--set", "confirmed=false", "--set", "claimedBy=the attackers",
                ] + i,
                [
                    "ransom.refused", "--at", "2024-01-17", "--source", "CHU press release", "--set",
                    "refusedBy=the director general",
                ]
                    + i,
                ["complaint.filed", "--at", "2024-01-17", "--source", "France 3"] + i,
                [
                    "authority.notified", "--at", "2024-01-17", "--source", "crisis cell", "--set", "authority=OTHER", "--set",
                    "name=Préfecture de Loire-Atlantique", "--set", "description=by telephone",
                ] + i,
                [
                    "authority.investigation_opened", "--at", "2024-01-18", "--source", "crisis cell", "--set", "authority=OTHER",
                    "--set", "description=IGAS inspection",
                ] + i,
            ], in: dir)
        let asOf = ["--as-of", "2024-01-31"]
        let text = try ledger(["state"] + d + asOf)
        #expect(text.status == 0, "\(text.stderr)")
        for line in [
            "  establishments: CHU de Nantes (440000289; group GHT Loire-Atlantique), Hôpital Saint-Jacques (440000271; group GHT Loire-Atlantique), CHU de Rennes (350005179)\n",
            "  crisis measures:\n",
            "    - plan blanc at CHU de Nantes (440000289): lifted 2024-01-29 (day), active from 2024-01-15 06:30 +01:00\n",
            "    - ambulance diversion: active since 2024-01-15 09:00 +01:00\n      description: the SAMU sends ambulances to Saint-Nazaire\n",
            "  ransom (status: refused):\n",
            "    - ransom demanded: between 5000000 and 10000000 USD (unconfirmed) [2024-01-16 (day)]\n",
            "    - ransom refused by the director general [2024-01-17 (day)]\n",
            "    - complaint filed [2024-01-17 (day)]\n",
            "    - Préfecture de Loire-Atlantique notified — by telephone [2024-01-17 (day)]\n",
            "    - judicial investigation opened by Parquet de Paris, section J3, investigators: OFAC, for extorsion en bande organisée, accès frauduleux [2024-01-16 (day)]\n",
            "    - another authority opened an investigation — IGAS inspection [2024-01-18 (day)]\n",
            "  outside support:\n    - ANSSI support on site [2024-01-15 (day)]\n",
        ] {
            #expect(text.stdout.contains(line), "missing: \(line)")
        }
        let json = try documentList(try ledger(["state", "--format", "json"] + d + asOf).stdout, "incidents")
        let state = try #require(json.arrayValue?.first)
        #expect(state["ransomStatus"] == .string("refused"))
        let measures = state["crisisMeasures"]?.arrayValue ?? []
        #expect(measures.map { $0["measure"] } == [.string("plan_blanc"), .string("ambulance_diversion")])
        #expect(measures.map { $0["status"] } == [.string("lifted"), .string("active")])
        #expect(measures.first?["establishment"] == .string(chu))
        #expect(state["support"]?.arrayValue?.first?["summary"] == .string("ANSSI support on site"))
        #expect(state["investigations"]?.arrayValue?.count == 2)
        #expect(
            state["groups"]
                == .array([
                    .object([
                        "id": .string("ght-44"), "name": .string("GHT Loire-Atlantique"), "kind": .string("ght"),
                        "members": .array([.string(chu), .string(jacques)]),
                    ])
                ]))
        // As of before the refusal and the lifting.
        let before = try documentList(
            try ledger(["state", "--format", "json", "--as-of", "2024-01-16"] + d).stdout, "incidents")
        #expect(before.arrayValue?.first?["ransomStatus"] == .string("unconfirmed"))
        #expect(
            before.arrayValue?.first?["crisisMeasures"]?.arrayValue?.map { $0["status"] } == [
                .string("active"), .string("active"),
            ])
        // Stored as recorded: the range, the flag and who claims it.
        let stored = try ledger(["read", "--type", "ransom.demanded", "--format", "ndjson"] + d).stdout
        let payload = try JSONParser.parse(stored.trimmingCharacters(in: .newlines))["payload"]
        #expect(payload?["amountMax"] == .number(JSONNumber(10_000_000)))
        #expect(payload?["confirmed"] == .bool(false))
        #expect(payload?["claimedBy"] == .string("the attackers"))
        // The audit says the status changed.
        let audit = try ledger(["audit", "--incident", "incident:nantes"] + d)
        #expect(audit.stdout.contains("changed ransom status: unconfirmed -> refused"))
    }

    @Test(arguments: [
        (
            ["crisis.measure_activated", "--set", "measure=other"],
            "record: $.payload.description: required for crisis.measure_activated when measure is other"
        ),
        (
            ["crisis.measure_activated", "--set", "measure=plan_rouge"],
            "record: $.payload.measure: \"plan_rouge\" is not one of plan_blanc, degraded_mode, deprogramming, ambulance_diversion, other"
        ),
        (
            ["support.deployed", "--set", "provider=OTHER"],
            "record: $.payload.name: required for support.deployed when provider is OTHER"
        ),
        (["support.deployed", "--set", "provider=ANSSI", "--set", "onSite=maybe"], "--set onSite=maybe: expected true or false"),
        (
            ["judicial.investigation_opened", "--set", "reference=2024/1"],
            "record: $.payload: needs at least one of prosecutor, investigators, description"
        ),
        (
            ["ransom.demanded", "--set", "amountMin=10", "--set", "amountMax=5"],
            "record: $.payload.amountMax: 5 is below amountMin 10"
        ),
        (
            ["ransom.demanded", "--set", "amount=10", "--set", "amountMin=5"],
            "record: $.payload.amountMin: give either amount or amountMin/amountMax, not both"
        ),
        (["ransom.paid", "--set", "amount=-3"], "record: $.payload.amount: expected a number from 0 to 10^15, got -3"),
        (
            ["complaint.filed", "--set", "filedWith=mairie"],
            "record: $.payload.filedWith: \"mairie\" is not one of police, gendarmerie, prosecutor"
        ),
        (
            ["group.registered", "--set", "groupId=GHT 44", "--set", "name=GHT", "--set", "kind=ght"],
            "--set groupId=GHT 44: \"GHT 44\" is not a group id (lower-case letters and digits in words joined by -, like ght-44, or a FINESS juridique)"
        ),
        (["group.member_added", "--set", "groupId=ght-44"], "record: $.payload.finess: required for group.member_added"),
    ])
    func badInputIsOneLineNamingTheFieldAndChangesNothing(step: [String], message: String) throws {
        let dir = try groupLedger()
        let d = ["--data-dir", dir.path]
        let before = try ledger(["read", "--format", "ndjson"] + d).stdout
        let result = try ledger(
            ["record", step[0], "--incident", "incident:nantes", "--at", "2024-01-16", "--source", "s"] + step.dropFirst() + d)
        #expect(result.status == 3)
        #expect(result.stderr == "ledger: error: \(message)\n")
        #expect(try ledger(["read", "--format", "ndjson"] + d).stdout == before)
    }

    @Test func recordHelpListsTheNewTypesAndFields() throws {
        let help = try ledger(["record", "--help"]).stdout
        for type in [
            "group.registered", "group.member_added", "group.member_removed", "crisis.measure_activated", "crisis.measure_lifted",
            "ransom.refused", "ransom.paid", "judicial.investigation_opened", "support.deployed",
        ] {
            #expect(help.contains("  \(type): "), "\(type) missing from record --help")
        }
        #expect(help.contains("      groupId*: group id: a slug like ght-44 or a FINESS juridique"))
        #expect(help.contains("      amountMin: number 0-10^15"))
        #expect(help.contains("      claimedBy: text"))
        #expect(help.contains("      provider*: ANSSI|CERT_SANTE|REGIONAL_CSIRT|PRIVATE_PROVIDER|OTHER"))
        #expect(help.contains("      filedWith: police|gendarmerie|prosecutor"))
        // The rules between fields are said too.
        #expect(help.contains("      (name required when provider is OTHER)"))
        #expect(help.contains("      (amountMin <= amountMax)"))
        #expect(help.contains("      (amount or amountMin/amountMax, not both)"))
        #expect(help.contains("      (at least one of prosecutor, investigators, description)"))
    }

    /// A group event finds its stream from groupId, like a registration from its FINESS.
    @Test func groupEventsGoToTheirOwnStream() throws {
        let dir = try groupLedger()
        let stream = try ledger(["read", "--stream", "group:ght-44", "--format", "ndjson", "--data-dir", dir.path])
        let types = try stream.stdout.split(separator: "\n").map { try JSONParser.parse(String($0))["eventType"]?.stringValue }
        #expect(types == ["group.registered", "group.member_added", "group.member_added", "group.member_removed"])
    }

    @Test func stateAndTimelineOfAGroup() throws {
        let dir = try groupLedger()
        let d = ["--data-dir", dir.path]
        let text = try ledger(["state", "--group", "ght-44", "--as-of", "2024-01-20"] + d)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(
            text.stdout.hasPrefix(
                """
                (as of 2024-01-20)
                group ght-44: GHT Loire-Atlantique (ght)
                  support establishment: CHU de Nantes (440000289)
                  members: Hôpital Saint-Jacques (440000271), CHU de Nantes (440000289)
                  former member: Clinique du Parc (440000305) from 2016-07-01 (day) to 2020-01-01 (day)

                incident:nantes: Attack on the GHT

                """))
        let json = try JSONParser.parse(try ledger(["state", "--group", "ght-44", "--format", "json"] + d).stdout)
        #expect(json["group"]?["name"] == .string("GHT Loire-Atlantique"))
        #expect(json["members"] == .array([.string(jacques), .string(chu)]))
        #expect(json["incidents"]?.arrayValue?.map { $0["incident"] } == [.string("incident:nantes")])
        let periods = json["memberships"]?.arrayValue ?? []
        #expect(periods.map { $0["finess"] } == [.string(jacques), .string(chu), .string(clinic)])
        #expect(periods.map { $0["byRegistration"] } == [.bool(false), .bool(true), .bool(false)])
        #expect(periods[1]["since"] == .null)
        // In 2019 the clinic was a member; it is touched by no incident, so the incident list stays the same.
        let past = try JSONParser.parse(
            try ledger(["state", "--group", "ght-44", "--format", "json", "--as-of", "2019-06-01"] + d).stdout)
        #expect(past["members"] == .array([.string(jacques), .string(chu), .string(clinic)]))

        // The timeline: one chart per incident with each member site's lanes under its name, the outsider's not.
        let chart = try ledger(["timeline", "--group", "ght-44", "--as-of", "2024-01-20"] + d)
        #expect(chart.status == 0, "\(chart.stderr)")
        #expect(chart.stdout.contains("\nGHT Loire-Atlantique: Attack on the GHT [incident:nantes]\n"))
        #expect(chart.stdout.components(separatedBy: "GHT Loire-Atlantique: Attack on the GHT").count == 2, "one chart")
        let jacquesHeading = try #require(chart.stdout.range(of: "— Hôpital Saint-Jacques (440000271) —\nTelephony "))
        let chuHeading = try #require(chart.stdout.range(of: "— CHU de Nantes (440000289) —\nExternal email "))
        #expect(jacquesHeading.lowerBound < chuHeading.lowerBound)
        #expect(!chart.stdout.contains("Laboratory") && !chart.stdout.contains("CHU de Rennes"))
        let timelines = try JSONParser.parse(try ledger(["timeline", "--group", "ght-44", "--format", "json"] + d).stdout)
        #expect(timelines["group"]?["id"] == .string("ght-44"))
        #expect(timelines["members"] == .array([.string(jacques), .string(chu)]))
        #expect(timelines["reference"]?.stringValue != nil)
        #expect(timelines["timelines"]?.arrayValue?.map { $0["establishment"] } == [.string(jacques), .string(chu)])
        let svg = try ledger(["timeline", "--group", "ght-44", "--format", "svg", "--as-of", "2024-01-20"] + d)
        #expect(svg.stdout.hasPrefix("<svg") && svg.stdout.components(separatedBy: "<svg ").count == 2, "one chart")
        #expect(
            svg.stdout.contains(">Hôpital Saint-Jacques (440000271)</text>")
                && svg.stdout.contains(">CHU de Nantes (440000289)</text>"))
        #expect(svg.stdout.contains("<title>GHT Loire-Atlantique: Attack on the GHT: recovery timeline</title>"))
        let html = try ledger(["timeline", "--group", "ght-44", "--format", "html"] + d)
        #expect(html.stdout.hasPrefix("<!DOCTYPE html>"))
        #expect(html.stdout.components(separatedBy: "<svg ").count == 2)
        #expect(
            html.stdout.contains("<h3>Hôpital Saint-Jacques (440000271)</h3>")
                && html.stdout.contains("<h3>CHU de Nantes (440000289)</h3>"))
        // --incident keeps one incident; an unknown one is an error, and it needs --group.
        let one = try ledger(["timeline", "--group", "ght-44", "--incident", "incident:nantes", "--format", "json"] + d)
        #expect(try JSONParser.parse(one.stdout)["timelines"]?.arrayValue?.count == 2)
        let unknown = try ledger(["timeline", "--group", "ght-44", "--incident", "incident:brest"] + d)
        #expect(unknown.status == 3 && unknown.stderr == "ledger: error: incident:brest: no such incident\n")
        #expect(try ledger(["timeline", "--hospital", chu, "--incident", "incident:nantes"] + d).status == 2)
    }

    @Test func anUnknownGroupIsAnError() throws {
        let dir = try groupLedger()
        let d = ["--data-dir", dir.path]
        for command in ["state", "timeline"] {
            let unknown = try ledger([command, "--group", "ght-35"] + d)
            #expect(unknown.status == 3)
            #expect(unknown.stderr == "ledger: error: ght-35: no such group\n")
            let bad = try ledger([command, "--group", "GHT 35"] + d)
            #expect(bad.status == 3)
            #expect(bad.stderr.hasPrefix("ledger: error: --group: \"GHT 35\" is not a group id"))
            #expect(!bad.stderr.dropLast().contains("\n"))
        }
        // Known before the group was recorded: unknown then.
        let early = try ledger(["state", "--group", "ght-44", "--known-at", "2024-01-01"] + d)
        #expect(early.status == 3)
        let both = try ledger(["timeline", "--group", "ght-44", "--hospital", chu] + d)
        #expect(both.status == 2)
        #expect(both.stderr.contains("give --hospital or --group (one of them)"))
    }
}
