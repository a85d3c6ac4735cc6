import EventStore
import Foundation
import IncidentDomain

/// The views of `state`, `deadlines` and `audit` as text and JSON: one rendering, printed by the CLI and
/// served by the HTTP service, so that both say the same thing in the same words.
public enum QueryViews {
    /// The text of `ledger state`: each fact with every field it recorded and its corrections and updates;
    /// with `sources`, where each came from; `groups` names each establishment's groups beside it.
    public static func stateText(
        _ states: [IncidentState], names: [String: Establishment], sources: Bool = false, groups: GroupDirectory = .empty
    ) -> String {
        var out = ""
        if states.isEmpty { out += "no incident\n" }
        for s in states {
            let sole = s.establishments.count == 1 ? s.establishments[0] : nil
            out += "\(s.incidentId): \(s.title)\n  phase: \(s.phase.rawValue)"
            out +=
                s.possibleCount > 0
                ? " (\(s.factCount) facts, \(s.possibleCount) only possible at that time)\n" : " (\(s.factCount) facts)\n"
            let hit = s.establishments.map { finess in
                let memberOf = (groups.groupsOf[finess] ?? []).map(\.name)
                let label = ([finess] + memberOf.map { "group \($0)" }).joined(separator: "; ")
                return names[finess].map { "\($0.name) (\(label))" } ?? (memberOf.isEmpty ? finess : "\(finess) (\(label))")
            }
            if !hit.isEmpty { out += "  establishments: \(hit.joined(separator: ", "))\n" }
            for (label, fact) in [
                ("intrusion", s.intrusion), ("detected", s.detectedAt), ("crisis cell", s.crisisCell),
                ("contained", s.containedAt),
                ("closed", s.closedAt),
            ] {
                if let fact {
                    out += "  \(label): \(TimelineRendering.describe(fact.occurredAt))\(fact.possible ? " (possible)" : "")\n"
                    out += detailLines(
                        fact, indent: "    ", summary: "", sources: sources, names: names.mapValues(\.name), sole: sole)
                }
            }
            if !s.servicesNotNormal.isEmpty {
                out += "  services not working normally:\n"
                for c in s.servicesNotNormal {
                    let name = names[c.establishment]?.name ?? c.establishment
                    out +=
                        "    \(name) / \(Services.label(c.service)): \(c.status.rawValue.replacingOccurrences(of: "_", with: " "))"
                    out += (c.status == .down ? "" : c.capacityPercent.map { " (\(FigureText.of($0)) %)" } ?? "")
                    out += " since \(c.since.inZone().humanReadable)\n"
                }
            }
            if !s.servicesRestored.isEmpty {
                out +=
                    "  services restored: " + s.servicesRestored.map { Services.label($0.service) }.joined(separator: ", ")
                    + "\n"
            }
            if !s.crisisMeasures.isEmpty {
                out += "  crisis measures:\n"
                for m in s.crisisMeasures {
                    let place =
                        m.establishment.map { finess in " at " + (names[finess].map { "\($0.name) (\(finess))" } ?? finess) }
                        ?? ""
                    func when(_ fact: FactSummary) -> String {
                        TimelineRendering.describe(fact.occurredAt) + (fact.possible ? " (possible)" : "")
                    }
                    var line = "    - \(CrisisMeasureStatus.label(m.measure))\(place): "
                    switch (m.activated, m.lifted) {
                    case (let activated?, nil): line += "active since \(when(activated))"
                    case (let activated?, let lifted?): line += "lifted \(when(lifted)), active from \(when(activated))"
                    case (nil, let lifted?): line += "lifted \(when(lifted))"
                    case (nil, nil): break
                    }
                    out += line + "\n"
                    // Each of the two facts with what the line does not show: its other fields, revisions, sources.
                    for fact in [m.activated, m.lifted].compactMap({ $0 }) {
                        out += detailLines(
                            fact, indent: "      ", summary: line, sources: sources, names: names.mapValues(\.name),
                            sole: sole)
                    }
                }
            }
            let lists: [(String, [FactSummary])] = [
                ("data", s.dataBreach), (s.ransomStatus.map { "ransom (status: \($0.rawValue))" } ?? "ransom", s.ransom),
                ("claims", s.claims), ("complaints", s.complaints), ("notifications", s.notifications),
                ("investigations", s.investigations), ("outside support", s.support), ("care impact", s.careImpacts),
                ("people informed", s.personsNotified),
            ]
            for (label, list) in lists where !list.isEmpty {
                out += "  \(label):\n"
                for item in list {
                    out += factLines(item, indent: "    ", sources: sources, names: names.mapValues(\.name), sole: sole)
                }
            }
            if !s.figures.isEmpty {
                out += "  figures:\n"
                for figure in s.figures {
                    let claims = figure.claims.map { claim in
                        claim.text + " (\(claim.claimant == claim.source ? "source" : "claimed by") \(claim.claimant))"
                            + (claim.possible ? " (possible)" : "")
                    }
                    out += "    \(figure.figure): \(claims.joined(separator: " · "))"
                    out += figure.competing ? " — competing claims\n" : "\n"
                }
            }
            out += "\n"
        }
        return out
    }

    /// A fact in a list: its summary and time, then the fields the summary does not show, its corrections
    /// and updates, and with `sources` its provenance.
    static func factLines(
        _ item: FactSummary, indent: String, sources: Bool, names: [String: String] = [:], sole: String? = nil
    ) -> String {
        var out = "\(indent)- \(item.summary) [\(TimelineRendering.describe(item.occurredAt))]"
        out += item.possible ? " (possible)\n" : "\n"
        return out + detailLines(item, indent: indent + "  ", summary: item.summary, sources: sources, names: names, sole: sole)
    }

    /// The fields `summary` does not show, the revisions, and with `sources` the provenance, one line each.
    static func detailLines(
        _ item: FactSummary, indent: String, summary: String, sources: Bool, names: [String: String], sole: String? = nil
    ) -> String {
        var out = ""
        // The incident's only establishment, said once at its head, is not repeated on every fact.
        let omitted = sole.map { finess in names[finess].map { "\($0) (\(finess))" } ?? finess }
        let details = FactFields.details(
            eventType: item.eventType, payload: item.payload, summary: summary, names: names,
            omitting: omitted.map { [$0] } ?? [])
        if !details.isEmpty { out += "\(indent)\(details)\n" }
        if !item.revisions.isEmpty { out += "\(indent)\(item.revisionText)\n" }
        if sources {
            out +=
                "\(indent)source: \(item.source) · recorded by \(item.actor) at \(item.recordedAt.inZone().humanReadable) (#\(item.position))\n"
        }
        return out
    }

    /// One incident state as `ledger state --format json` prints it; `groups` lists the groups its establishments
    /// belong to at the query's time.
    public static func stateJSON(_ s: IncidentState, groups: GroupDirectory = .empty) -> JSONValue {
        func condition(_ c: ServiceCondition) -> JSONValue {
            .object([
                "establishment": .string(c.establishment), "service": .string(c.service),
                "status": .string(c.status.rawValue),
                "capacityPercent": number(c.capacityPercent), "since": .string(c.since.rfc3339),
                "possible": .bool(c.possible),
            ])
        }
        var m: [String: JSONValue] = [
            "incident": .string(s.incidentId), "title": .string(s.title), "phase": .string(s.phase.rawValue),
            "establishments": .array(s.establishments.map { .string($0) }),
            "servicesNotNormal": .array(s.servicesNotNormal.map(condition)),
            "servicesRestored": .array(s.servicesRestored.map(condition)),
            "facts": .number(JSONNumber(s.factCount)), "possibleFacts": .number(JSONNumber(s.possibleCount)),
        ]
        for (key, fact) in [
            ("intrusion", s.intrusion), ("detected", s.detectedAt), ("crisisCell", s.crisisCell),
            ("contained", s.containedAt),
            ("closed", s.closedAt),
        ] {
            m[key] = fact.map(summaryJSON) ?? .null
        }
        let lists: [(String, [FactSummary])] = [
            ("dataBreach", s.dataBreach), ("ransom", s.ransom), ("claims", s.claims), ("complaints", s.complaints),
            ("notifications", s.notifications), ("investigations", s.investigations), ("careImpacts", s.careImpacts),
            ("personsNotified", s.personsNotified),
        ]
        for (key, list) in lists { m[key] = .array(list.map(summaryJSON)) }
        m["peopleAffected"] = s.peopleAffected.map { .number(JSONNumber($0)) } ?? .null
        m["figures"] = .array(s.figures.map(figureJSON))
        m["ransomStatus"] = s.ransomStatus.map { .string($0.rawValue) } ?? .null
        m["support"] = .array(s.support.map(summaryJSON))
        m["crisisMeasures"] = .array(
            s.crisisMeasures.map { c in
                .object([
                    "measure": .string(c.measure), "establishment": c.establishment.map { .string($0) } ?? .null,
                    "status": .string(c.isActive ? "active" : "lifted"), "activated": c.activated.map(summaryJSON) ?? .null,
                    "lifted": c.lifted.map(summaryJSON) ?? .null,
                ])
            })
        m["groups"] = .array(
            groups.groups(of: s.establishments).map { g in
                .object([
                    "id": .string(g.id), "name": .string(g.name), "kind": g.kind.map { .string($0) } ?? .null,
                    "members": .array(
                        s.establishments.filter { (groups.groupsOf[$0] ?? []).contains { $0.id == g.id } }.map { .string($0) }),
                ])
            })
        return .object(m)
    }

    /// The text of `ledger audit`.
    public static func auditText(_ entries: [AuditEntry]) -> String {
        var out = ""
        if entries.isEmpty { out += "no recorded event matches\n" }
        for e in entries {
            out += "#\(e.position) \(e.recordedAt.inZone().humanReadable)  \(e.actor)  \(e.streamId)\n"
            out += "  \(e.eventType): \(e.summary)\n  source: \(e.source)\n"
            if let reason = e.reason { out += "  reason: \(reason)\n" }
            if !e.fields.isEmpty {
                out += "  fields: " + e.fields.map { "\($0.label): \($0.text)" }.joined(separator: " · ") + "\n"
            }
            for change in e.fieldChanges {
                out += "  \(FactFields.label(change.field)): \(change.before ?? "(none)") -> \(change.after ?? "(none)")\n"
            }
            for change in e.changes {
                out += "  changed \(change.field): \(change.before ?? "(none)") -> \(change.after ?? "(none)")\n"
            }
            for revision in e.laterRevisions {
                out +=
                    "  later \(revision.kind.rawValue) by \(revision.actor) at #\(revision.position) (\(revision.recordedAt.inZone().humanReadable)): \(revision.reason)\n"
            }
        }
        return out
    }

    /// One audit entry as `ledger audit --format json` prints it.
    public static func auditJSON(_ e: AuditEntry) -> JSONValue {
        .object([
            "position": .number(JSONNumber(e.position)),
            "eventId": .string(e.eventId.lowercasedString),
            "streamId": .string(e.streamId), "eventType": .string(e.eventType),
            "recordedAt": .string(e.recordedAt.rfc3339Micros),
            "actor": .string(e.actor), "source": .string(e.source), "reason": e.reason.map { .string($0) } ?? .null,
            "summary": .string(e.summary), "target": e.target.map { .string($0.lowercasedString) } ?? .null,
            "changes": .array(
                e.changes.map {
                    .object([
                        "field": .string($0.field), "before": $0.before.map { .string($0) } ?? .null,
                        "after": $0.after.map { .string($0) } ?? .null,
                    ])
                }),
            "fieldChanges": .array(
                e.fieldChanges.map {
                    .object([
                        "field": .string($0.field), "before": $0.before.map { .string($0) } ?? .null,
                        "after": $0.after.map { .string($0) } ?? .null,
                    ])
                }),
            "fields": .array(e.fields.map(fieldJSON)),
            "laterRevisions": .array(
                e.laterRevisions.map {
                    .object([
                        "kind": .string($0.kind.rawValue), "eventId": .string($0.eventId.lowercasedString),
                        "actor": .string($0.actor), "reason": .string($0.reason),
                    ])
                }),
        ])
    }

    /// A fact's summary in JSON: always with its fields and its provenance.
    public static func summaryJSON(_ s: FactSummary) -> JSONValue {
        .object([
            "eventId": .string(s.eventId.lowercasedString), "eventType": .string(s.eventType), "occurredAt": s.occurredAt.json,
            "possible": .bool(s.possible), "summary": .string(s.summary), "corrected": .bool(s.corrected),
            "updated": .bool(s.updated), "payload": s.payload,
            "fields": .array(s.fields.map(fieldJSON)),
            "provenance": .object([
                "actor": .string(s.actor), "source": .string(s.source), "recordedAt": .string(s.recordedAt.rfc3339Micros),
                "position": .number(JSONNumber(s.position)), "claimant": .string(s.claimant),
            ]),
            "revisions": .array(s.revisions.map(revisionJSON)),
        ])
    }

    static func fieldJSON(_ f: FieldText) -> JSONValue {
        .object(["name": .string(f.name), "label": .string(f.label), "text": .string(f.text)])
    }

    /// A correction or an update, with each field's value before and after.
    static func revisionJSON(_ r: Revision) -> JSONValue {
        .object([
            "kind": .string(r.kind.rawValue), "eventId": .string(r.eventId.lowercasedString),
            "position": .number(JSONNumber(r.position)), "recordedAt": .string(r.recordedAt.rfc3339Micros),
            "actor": .string(r.actor), "source": .string(r.source), "reason": .string(r.reason),
            "effective": r.effective?.json ?? .null,
            "changes": .array(
                r.changedFields.map { field in
                    .object(["field": .string(field), "before": r.before[field] ?? .null, "after": r.after[field] ?? .null])
                }),
        ])
    }

    static func figureJSON(_ f: FigureClaims) -> JSONValue {
        .object([
            "figure": .string(f.figure), "key": .string(f.key), "competing": .bool(f.competing),
            "claims": .array(
                f.claims.map { c in
                    .object([
                        "value": number(c.value), "low": number(c.low), "high": number(c.high), "text": .string(c.text),
                        "claimant": .string(c.claimant),
                        "source": .string(c.source), "actor": .string(c.actor), "eventId": .string(c.eventId.lowercasedString),
                        "occurredAt": c.occurredAt.json, "possible": .bool(c.possible),
                    ])
                }),
        ])
    }

    /// A figure, or null.
    static func number(_ value: Double?) -> JSONValue {
        value.flatMap(JSONNumber.init).map(JSONValue.number) ?? .null
    }
}

extension QueryViews {
    /// The line saying which times a view shows: "(as of X, as known at Y)", or nothing.
    package static func header(asOf: String?, knownAt: String?) -> String {
        var parts: [String] = []
        if let asOf { parts.append("as of \(asOf)") }
        if let knownAt { parts.append("as known at \(knownAt)") }
        return parts.isEmpty ? "" : "(\(parts.joined(separator: ", ")))\n"
    }
}
