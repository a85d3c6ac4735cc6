import EventStore
import Foundation
import IncidentDomain

/// The views of `state`, `deadlines` and `audit` as text and JSON: one rendering, printed by the CLI and
/// served by the HTTP service, so that both say the same thing in the same words.
public enum QueryViews {
    /// The text of `ledger state`: each fact with every field it recorded and its corrections and updates;
    /// with `sources`, where each came from; `groups` names each establishment's groups beside it.
    public static func stateText(
        _ states: [IncidentState], names: [String: Establishment], sources: Bool = false, groups: GroupDirectory = .empty,
        language: Language = .english
    ) -> String {
        let m = Messages.of(language)
        let possible = " " + m("report.possible")
        var out = ""
        if states.isEmpty { out += m("cli.state.none") + "\n" }
        for s in states {
            let sole = s.establishments.count == 1 ? s.establishments[0] : nil
            out += "\(s.incidentId): \(s.title)\n  " + m("cli.state.phase", ["phase": m("report.phase.\(s.phase.rawValue)")])
            out +=
                " "
                + (s.possibleCount > 0
                    ? m("cli.state.factsPossible", ["count": String(s.factCount), "possible": String(s.possibleCount)])
                    : m("cli.state.facts", ["count": String(s.factCount)])) + "\n"
            let hit = s.establishments.map { finess in
                let memberOf = (groups.groupsOf[finess] ?? []).map(\.name)
                let label = ([finess] + memberOf.map { m("cli.state.group", ["name": $0]) }).joined(separator: "; ")
                return names[finess].map { "\($0.name) (\(label))" } ?? (memberOf.isEmpty ? finess : "\(finess) (\(label))")
            }
            if !hit.isEmpty { out += "  " + m("cli.state.establishments", ["list": hit.joined(separator: ", ")]) + "\n" }
            for (label, fact) in [
                ("intrusion", s.intrusion), ("detected", s.detectedAt), ("crisisCell", s.crisisCell),
                ("contained", s.containedAt),
                ("closed", s.closedAt),
            ] {
                if let fact {
                    let time = TimelineRendering.describe(fact.occurredAt, m) + (fact.possible ? possible : "")
                    out += "  " + m("cli.field", ["label": m("cli.state.\(label)"), "text": time]) + "\n"
                    out += detailLines(
                        fact, indent: "    ", summary: "", sources: sources, names: names.mapValues(\.name), sole: sole, m)
                }
            }
            if !s.servicesNotNormal.isEmpty {
                out += "  " + m("cli.state.servicesNotNormal") + "\n"
                for c in s.servicesNotNormal {
                    let name = names[c.establishment]?.name ?? c.establishment
                    var status = m("report.condition.\(c.status.rawValue)")
                    status += (c.status == .down ? "" : c.capacityPercent.map { " (\(FigureText.of($0, m)) %)" } ?? "")
                    status += " " + m("cli.state.since", ["time": m.time(c.since)])
                    out +=
                        "    "
                        + m("cli.field", ["label": "\(name) / \(Services.label(c.service, language: language))", "text": status])
                    out += "\n"
                }
            }
            if !s.servicesRestored.isEmpty {
                let list = s.servicesRestored.map { Services.label($0.service, language: language) }.joined(separator: ", ")
                out += "  " + m("cli.state.servicesRestored", ["list": list]) + "\n"
            }
            if !s.crisisMeasures.isEmpty {
                out += "  " + m("cli.state.crisisMeasures") + "\n"
                for measure in s.crisisMeasures {
                    let place =
                        measure.establishment.map { finess in
                            " " + m("cli.state.at", ["place": names[finess].map { "\($0.name) (\(finess))" } ?? finess])
                        } ?? ""
                    func when(_ fact: FactSummary) -> String {
                        TimelineRendering.describe(fact.occurredAt, m) + (fact.possible ? possible : "")
                    }
                    let label = m.value(measure.measure, field: "measure")
                    let text: String
                    switch (measure.activated, measure.lifted) {
                    case (let activated?, nil): text = m("cli.state.activeSince", ["time": when(activated)])
                    case (let activated?, let lifted?):
                        text = m("cli.state.liftedActive", ["lifted": when(lifted), "activated": when(activated)])
                    case (nil, let lifted?): text = m("cli.state.lifted", ["time": when(lifted)])
                    case (nil, nil): text = ""
                    }
                    let line =
                        "    - "
                        + m(
                            "cli.field",
                            [
                                "label": (label == measure.measure ? CrisisMeasureStatus.label(label) : label) + place,
                                "text": text,
                            ])
                    out += line + "\n"
                    // Each of the two facts with what the line does not show: its other fields, revisions, sources.
                    for fact in [measure.activated, measure.lifted].compactMap({ $0 }) {
                        out += detailLines(
                            fact, indent: "      ", summary: line, sources: sources, names: names.mapValues(\.name),
                            sole: sole, m)
                    }
                }
            }
            let lists: [(String, [FactSummary])] = [
                ("cli.state.data", s.dataBreach),
                (s.ransomStatus.map { m("cli.state.ransomStatus", ["status": $0.rawValue]) } ?? m("cli.state.ransom"), s.ransom),
                ("cli.state.claims", s.claims), ("cli.state.complaints", s.complaints),
                ("cli.state.notifications", s.notifications), ("cli.state.investigations", s.investigations),
                ("cli.state.support", s.support), ("cli.state.care", s.careImpacts), ("cli.state.informed", s.personsNotified),
            ]
            for (label, list) in lists where !list.isEmpty {
                out += "  " + m("cli.heading", ["label": label.hasPrefix("cli.") ? m(label) : label]) + "\n"
                for item in list {
                    out += factLines(item, indent: "    ", sources: sources, names: names.mapValues(\.name), sole: sole, m)
                }
            }
            if !s.figures.isEmpty {
                out += "  " + m("cli.state.figures") + "\n"
                for figure in s.figures {
                    let claims = figure.claims.map { claim in
                        m(
                            "cli.state.claim",
                            [
                                "text": claim.text, "claimant": claim.claimant,
                                "source": m(claim.claimant == claim.source ? "cli.state.claimSource" : "cli.state.claimedBy"),
                            ]) + (claim.possible ? possible : "")
                    }
                    out += "    " + m("cli.field", ["label": figure.figure, "text": claims.joined(separator: " · ")])
                    out += figure.competing ? " — " + m("cli.state.competing") + "\n" : "\n"
                }
            }
            out += "\n"
        }
        return out
    }

    /// A fact in a list: its summary and time, then the fields the summary does not show, its corrections
    /// and updates, and with `sources` its provenance.
    static func factLines(
        _ item: FactSummary, indent: String, sources: Bool, names: [String: String] = [:], sole: String? = nil,
        _ m: Messages = .english
    ) -> String {
        let summary = item.summaryText(language: m.language)
        var out = "\(indent)- \(summary) [\(TimelineRendering.describe(item.occurredAt, m))]"
        out += item.possible ? " " + m("report.possible") + "\n" : "\n"
        return out + detailLines(item, indent: indent + "  ", summary: summary, sources: sources, names: names, sole: sole, m)
    }

    /// The fields `summary` does not show, the revisions, and with `sources` the provenance, one line each.
    static func detailLines(
        _ item: FactSummary, indent: String, summary: String, sources: Bool, names: [String: String], sole: String? = nil,
        _ m: Messages = .english
    ) -> String {
        var out = ""
        // The incident's only establishment, said once at its head, is not repeated on every fact.
        let omitted = sole.map { finess in names[finess].map { "\($0) (\(finess))" } ?? finess }
        let details = FactFields.details(
            eventType: item.eventType, payload: item.payload, summary: summary, names: names,
            omitting: omitted.map { [$0] } ?? [], m)
        if !details.isEmpty { out += "\(indent)\(details)\n" }
        if !item.revisions.isEmpty { out += "\(indent)\(item.revisionText(m))\n" }
        if sources {
            out +=
                indent
                + m(
                    "cli.sourceLine",
                    [
                        "source": item.source, "actor": item.actor, "time": m.time(item.recordedAt),
                        "position": String(item.position),
                    ])
                + "\n"
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
    /// The text of `ledger audit`, in `language` (the event types, the actors and the summaries as recorded).
    public static func auditText(_ entries: [AuditEntry], language: Language = .english) -> String {
        let m = Messages.of(language)
        let none = m("cli.none")
        var out = ""
        if entries.isEmpty { out += m("cli.audit.none") + "\n" }
        for e in entries {
            out += "#\(e.position) \(m.time(e.recordedAt))  \(e.actor)  \(e.streamId)\n"
            out += "  " + m("cli.field", ["label": e.eventType, "text": e.summary]) + "\n"
            out += "  " + m("cli.audit.source", ["source": e.source]) + "\n"
            if let reason = e.reason { out += "  " + m("cli.audit.reason", ["reason": reason]) + "\n" }
            if !e.fields.isEmpty {
                let list = e.fields.map { m("cli.field", ["label": FactFields.label($0.name, m), "text": $0.text]) }
                out += "  " + m("cli.audit.fields", ["list": list.joined(separator: " · ")]) + "\n"
            }
            for change in e.fieldChanges {
                out +=
                    "  "
                    + m(
                        "cli.audit.change",
                        [
                            "field": FactFields.label(change.field, m), "before": change.before ?? none,
                            "after": change.after ?? none,
                        ])
                    + "\n"
            }
            for change in e.changes {
                out +=
                    "  "
                    + m(
                        "cli.audit.changed",
                        ["field": change.field, "before": change.before ?? none, "after": change.after ?? none])
                    + "\n"
            }
            for revision in e.laterRevisions {
                out +=
                    "  "
                    + m(
                        "cli.audit.later",
                        [
                            "kind": m("cli.revision.\(revision.kind.rawValue)"), "actor": revision.actor,
                            "position": String(revision.position), "time": m.time(revision.recordedAt), "reason": revision.reason,
                        ]) + "\n"
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
    package static func header(asOf: String?, knownAt: String?, language: Language = .english) -> String {
        let m = Messages.of(language)
        var parts: [String] = []
        if let asOf { parts.append(m("cli.header.asOf", ["time": asOf])) }
        if let knownAt { parts.append(m("cli.header.knownAt", ["time": knownAt])) }
        return parts.isEmpty ? "" : "(\(parts.joined(separator: ", ")))\n"
    }
}
