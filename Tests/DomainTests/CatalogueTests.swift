import Foundation
import IncidentDomain
import LedgerTestSupport
import Testing

@testable import EventStore

@Suite("Catalogue and schemas agree")
struct CatalogueTests {
    func readJSON(_ relative: String) throws -> JSONValue {
        try JSONParser.parse(Data(contentsOf: URL(fileURLWithPath: packageRoot() + "/" + relative)))
    }

    @Test func theSwiftCatalogueListsTheSameTypesFieldsAndRulesAsSchemas() throws {
        let catalogue = try readJSON("schemas/catalogue.json")
        let types = try #require(catalogue["eventTypes"]?.objectValue)
        #expect(Set(types.keys) == Set(Catalogue.all.map(\.eventType)))
        for spec in Catalogue.all {
            let entry = try #require(types[spec.eventType])
            let fields = entry["fields"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let required = entry["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(fields == spec.fields.map(\.name), "fields of \(spec.eventType)")
            #expect(Set(required) == Set(spec.fields.filter(\.required).map(\.name)), "required fields of \(spec.eventType)")
            #expect((entry["reasonRequired"]?.boolValue ?? false) == spec.requiresReason, "reason rule of \(spec.eventType)")
            // The rules between fields, which the Python validator reads from here (ranges) or finds in the schema.
            let requiredWhen = (entry["requiredWhen"]?.arrayValue ?? []).map { rule in
                ConditionalRequirement(
                    rule["field"]?.stringValue ?? "", when: rule["when"]?.stringValue ?? "",
                    in: rule["in"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            }
            #expect(requiredWhen == spec.requiredWhen, "requiredWhen of \(spec.eventType)")
            let ranges = (entry["ranges"]?.arrayValue ?? []).map {
                FieldRange(low: $0["low"]?.stringValue ?? "", high: $0["high"]?.stringValue ?? "")
            }
            #expect(ranges == spec.ranges, "ranges of \(spec.eventType)")
            let exclusions = (entry["exclusions"]?.arrayValue ?? []).map {
                FieldExclusion(
                    $0["field"]?.stringValue ?? "", excludes: $0["excludes"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            }
            #expect(exclusions == spec.exclusions, "exclusions of \(spec.eventType)")
            // The payload schema itself names the same properties.
            let schema = try readJSON("schemas/" + (entry["schema"]?.stringValue ?? ""))
            #expect(Set(schema["properties"]?.objectValue?.keys.map { $0 } ?? []) == Set(spec.fields.map(\.name)))
            #expect(schema["additionalProperties"] == .bool(false))
        }
        let services = catalogue["standardServices"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(services == Services.standard.map(\.id))
    }

    /// The typed Swift events hold exactly the catalogue's fields: decoding each schema example and
    /// reflecting on the typed value lists them.
    @Test func typedEventsHoldExactlyTheCatalogueFields() throws {
        for spec in Catalogue.all {
            let example = try readJSON("schemas/examples/\(spec.eventType).json")
            let typed = try IncidentEvent(eventType: spec.eventType, payload: example["payload"]!)
            let payloadStruct = try #require(Mirror(reflecting: typed).children.first?.value)
            let names = Mirror(reflecting: payloadStruct).children.compactMap(\.label)
            #expect(Set(names) == Set(spec.fields.map(\.name)), "Swift type of \(spec.eventType)")
        }
    }

    /// The schemas' valid examples pass the Swift rules and every invalid example fails them: one set of
    /// rules, written twice, held together.
    @Test func schemaExamplesPassAndFailTheSwiftRulesAlike() throws {
        let fm = FileManager.default
        let root = packageRoot() + "/schemas/examples"
        // Corrections and retractions in the examples point at an exfiltration of the same stream.
        func lookup(_ id: UUID) -> DomainRules.Target? {
            DomainRules.Target(streamId: "incident:example-2024-01", eventType: "data.exfiltration_confirmed")
        }
        func check(_ json: JSONValue) throws {
            let parsed = try ProposedEvent.fromJSON(json, defaultActor: "tester")
            try DomainRules().check(parsed.event, streamId: parsed.streamId ?? "incident:example-2024-01", path: "$") {
                lookup($0)
            }
        }
        let valid = try fm.contentsOfDirectory(atPath: root).filter { $0.hasSuffix(".json") }
        #expect(valid.count == Catalogue.all.count)
        for name in valid {
            #expect(throws: Never.self, "\(name)") { try check(try readJSON("schemas/examples/" + name)) }
        }
        let invalid = try fm.contentsOfDirectory(atPath: root + "/invalid").filter { $0.hasSuffix(".json") }
        #expect(invalid.count > 20)
        for name in invalid {
            let json = try readJSON("schemas/examples/invalid/" + name)
            #expect(throws: EventStoreError.self, "\(name) should be refused") { try check(json) }
        }
    }

    @Test func domainErrorsNameThePathAndTheRule() throws {
        func error(_ type: String, _ payload: JSONValue, stream: String = "incident:x", reason: String? = nil) -> EventStoreError?
        {
            let event = ProposedEvent(
                eventType: type, occurredAt: .instant(Timestamp(microseconds: 0)), actor: "a", source: "s", reason: reason,
                payload: payload)
            do {
                try DomainRules().check(event, streamId: stream, path: "$") { _ in nil }
                return nil
            } catch { return error as? EventStoreError }
        }
        #expect(
            error(
                "service.degraded",
                .object(["establishment": .string("44000028"), "service": .string("telephony"), "status": .string("down")]))?
                .description
                == "$.payload.establishment: \"44000028\" is not a FINESS number (9 characters: département 01-95, 2A, 2B or 97, then 7 digits)"
        )
        #expect(
            error(
                "service.degraded",
                .object(["establishment": .string("440000289"), "service": .string("telephony"), "status": .string("gone")]))?
                .description
                == "$.payload.status: \"gone\" is not one of down, degraded")
        #expect(
            error(
                "service.restored",
                .object([
                    "establishment": .string("2A0000011"), "service": .string("telephony"), "extent": .string("partial"),
                    "capacityPercent": .number(JSONNumber(120)),
                ]))?.field
                == "$.payload.capacityPercent")
        #expect(error("note.added", .object(["text": .string("x"), "mood": .string("grim")]))?.field == "$.payload.mood")
        #expect(error("attack.spotted", .object([:]))?.field == "$.eventType")
        #expect(error("note.added", .object(["text": .string("x")]), stream: "establishment:440000289")?.field == "$.streamId")
        #expect(error("event.retracted", .object(["retractedEventId": .string(UUID().uuidString)]))?.field == "$.reason")
        #expect(
            error("event.retracted", .object(["retractedEventId": .string(UUID().uuidString)]), reason: "wrong")?.message
                .hasPrefix("no earlier event has id") == true)
        #expect(
            error(
                "care.impact_reported",
                .object([
                    "establishment": .string("440000289"), "kind": .string("other"), "description": .string("d"),
                    "count": .number(JSONNumber(lexeme: "2.5")!),
                ]))?.field == "$.payload.count")
        #expect(PayloadValidator.isFINESS("2B0000011"))
        #expect(!PayloadValidator.isFINESS("2C0000011"))
    }

    @Test func timeExpressionsKeepThePrecisionPeopleType() throws {
        #expect(TimeExpression.occurredAt("2024-01-15")?.precision == .day)
        #expect(TimeExpression.occurredAt("2024-01-15")?.start.rfc3339 == "2024-01-15T00:00:00+01:00")
        #expect(TimeExpression.occurredAt("2021-09")?.start.rfc3339 == "2021-09-01T00:00:00+02:00")
        #expect(TimeExpression.occurredAt("2024-01-15 01:20")?.precision == .minute)
        #expect(TimeExpression.occurredAt("2024-01-15T01:20:00Z")?.precision == .instant)
        let summer = try #require(TimeExpression.occurredAt("2021-06-01/2021-09-12"))
        #expect(summer.precision == .interval)
        #expect(summer.end?.rfc3339 == "2021-09-13T00:00:00+02:00")
        #expect(TimeExpression.occurredAt("2021-09-12/2021-06-01") == nil)
        #expect(TimeExpression.occurredAt("yesterday") == nil)
        #expect(TimeExpression.occurredAt("2024-02-30") == nil)
        #expect(TimeExpression.queryInstant("2021-09-14") == Timestamp(rfc3339: "2021-09-15T00:00:00+02:00")!.microseconds - 1)
    }

    @Test func theBuiltInRulesAreDataAndBadRuleFilesAreNamed() throws {
        let rules = ObligationRules.defaultRules
        #expect(rules.map(\.id).contains("gdpr-33-cnil"))
        #expect(rules.first { $0.id == "nis2-notification" }?.enabled == false)
        let bad = try JSONParser.parse(
            #"{"rules":[{"id":"x","title":"t","legalBasis":"b","recipient":"r","startsOn":{"eventType":"nope"},"inForceFrom":"2020-01-01"}]}"#
        )
        let error = #expect(throws: EventStoreError.self) { try ObligationRules.parse(bad, source: "rules.json") }
        #expect(error?.field == "rules.json: $.rules[0].startsOn.eventType")
    }
}
