import EventStore
import Foundation
import IncidentDomain

extension FactSummary {
    /// The one-line description in `language`, worked out when it is shown from the event type and the payload
    /// the view sees (the stored ``summary`` is the English one, which JSON outputs keep): "detected: …",
    /// "détection : …". The words are the `summary.` keys of the tables, the services and values the catalogue's
    /// labels; what was recorded as text (descriptions, names, references) stays as written.
    public func summaryText(language: Language) -> String {
        // The payload was validated when it was recorded; a payload no longer read by this catalogue keeps the
        // stored words rather than showing nothing.
        guard let event = try? IncidentEvent(eventType: eventType, payload: payload) else { return summary }
        return Self.describe(event, Messages.of(language))
    }

    /// A value of an enumerated field inside a summary. English summaries have always shown the id as recorded
    /// (`isolate_from_internet`, `unlikely_risk`, `CERT_SANTE`), and the stored English ``summary`` and every
    /// English output depend on it; other languages show the catalogue's label ("isolement d'Internet").
    static func recordedWord(_ value: String, field: String, _ m: Messages) -> String {
        m.language == .english ? value : m.value(value, field: field)
    }

    /// An enumerated value in words: the catalogue's label, or an id it does not know with its underscores as
    /// spaces (a care impact's or a crisis measure's kind, as English summaries always wrote them).
    static func spacedWord(_ value: String, field: String, _ m: Messages) -> String {
        if m.has("catalogue.value.\(field).\(value)") { return m.value(value, field: field) }
        // Byte by byte: every timeline lists its care impacts, and Foundation's replacingOccurrences (through
        // NSString) took a third of a timeline query's time, the standard library's replacing a sixth.
        return String(decoding: value.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    /// A one-line description of the typed event in `m`'s language.
    static func describe(_ event: IncidentEvent, _ m: Messages) -> String {
        /// "text: detail" when there is a detail, else the text.
        func detail(_ text: String, _ detail: String?) -> String {
            guard let detail, !detail.isEmpty else { return text }
            return m("summary.detail", ["text": text, "detail": detail])
        }
        func paren(_ text: String, _ detail: String?) -> String {
            guard let detail else { return text }
            return m("summary.paren", ["text": text, "detail": detail])
        }
        func by(_ text: String, _ who: String?) -> String {
            guard let who else { return text }
            return m("summary.by", ["text": text, "who": who])
        }
        switch event {
        case .establishmentRegistered(let e):
            return m("summary.establishment.registered", ["name": e.name, "finess": e.finess])
        case .groupRegistered(let e):
            return m(
                "summary.group.registered",
                ["name": e.name, "id": e.groupId, "kind": recordedWord(e.kind, field: "kind", m)])
        case .groupMemberAdded(let e): return m("summary.group.memberAdded", ["finess": e.finess, "group": e.groupId])
        case .groupMemberRemoved(let e): return m("summary.group.memberRemoved", ["finess": e.finess, "group": e.groupId])
        case .incidentOpened(let e): return m("summary.incident.opened", ["title": e.title])
        case .intrusionStarted(let e): return m("summary.intrusion.started", ["description": e.description])
        case .attackDetected(let e): return m("summary.attack.detected", ["description": e.description])
        case .crisisCellActivated(let e):
            return paren(m("summary.crisisCell.activated"), e.level.map { recordedWord($0, field: "level", m) })
        case .crisisMeasureActivated(let e):
            let measure = spacedWord(e.measure, field: "measure", m)
            return detail(m("summary.measure.activated", ["measure": measure]), e.description)
        case .crisisMeasureLifted(let e):
            let measure = spacedWord(e.measure, field: "measure", m)
            return detail(m("summary.measure.lifted", ["measure": measure]), e.description)
        case .containmentActionTaken(let e):
            return m(
                "summary.containment",
                ["action": recordedWord(e.action, field: "action", m), "description": e.description])
        case .serviceDegraded(let e):
            let text = m(
                "summary.service.degraded", ["service": m.service(e.service), "status": m.value(e.status, field: "status")])
            guard let capacity = e.capacityPercent else { return text }
            return m("summary.service.working", ["text": text, "capacity": FigureText.of(capacity, m)])
        case .serviceRestored(let e):
            let text = m(
                e.extent == "full" ? "summary.service.restoredFully" : "summary.service.restoredPartially",
                [
                    "service": m.service(e.service)
                ])
            guard let capacity = e.capacityPercent else { return text }
            return m("summary.service.capacity", ["text": text, "capacity": FigureText.of(capacity, m)])
        case .careImpactReported(let e):
            return m("summary.care", ["kind": spacedWord(e.kind, field: "kind", m), "description": e.description])
        case .exfiltrationSuspected(let e): return m("summary.exfiltration.suspected", ["description": e.description])
        case .exfiltrationConfirmed(let e):
            guard let people = e.peopleAffected else {
                return m("summary.exfiltration.confirmed", ["description": e.description])
            }
            return m("summary.exfiltration.confirmedPeople", ["people": String(people), "description": e.description])
        case .exfiltrationNotFound(let e): return m("summary.exfiltration.notFound", ["description": e.description])
        case .breachRiskAssessed(let e):
            return m(
                "summary.breach.assessed",
                ["outcome": recordedWord(e.outcome, field: "outcome", m), "reasons": e.reasons])
        case .ransomDemanded(let e):
            let amount = amountText(e.amount, min: e.amountMin, max: e.amountMax, currency: e.currency, m)
            let text = detail(m("summary.ransom.demanded"), amount)
            return e.confirmed == false ? m("summary.unconfirmed", ["text": text]) : text
        case .ransomRefused(let e): return by(m("summary.ransom.refused"), e.refusedBy)
        case .ransomPaid(let e):
            return detail(m("summary.ransom.paid"), amountText(e.amount, min: nil, max: nil, currency: e.currency, m))
        case .ransomAbsent(let e): return m("summary.ransom.absent", ["description": e.description])
        case .claimPublished(let e): return m("summary.claim", ["attacker": e.attacker])
        case .complaintFiled(let e):
            let filed = e.filedWith.map {
                m("summary.complaint.filedWith", ["text": m("summary.complaint"), "with": m.value($0, field: "filedWith")])
            }
            return by(filed ?? m("summary.complaint"), e.filedBy)
        case .authorityNotified(let e):
            var text = m("summary.authority.notified", ["authority": authorityLabel(e.authority, name: e.name, m)])
            if let kind = e.kind { text = paren(text, recordedWord(kind, field: "kind", m)) }
            if let reference = e.reference { text = m("summary.reference", ["text": text, "reference": reference]) }
            return text + otherDetail(e.authority, e.description, m)
        case .investigationOpened(let e):
            return m("summary.authority.investigation", ["authority": authorityLabel(e.authority, name: e.name, m)])
                + otherDetail(e.authority, e.description, m)
        case .judicialInvestigationOpened(let e):
            var parts = [by(m("summary.judicial"), e.prosecutor)]
            if let investigators = e.investigators { parts.append(m("summary.judicial.investigators", ["who": investigators])) }
            if let offences = e.offences {
                parts.append(m("summary.judicial.offences", ["offences": offences.joined(separator: ", ")]))
            }
            let text = parts.joined(separator: ", ")
            return e.prosecutor == nil && e.investigators == nil ? detail(text, e.description) : text
        case .supportDeployed(let e):
            var text = m("summary.support", ["provider": providerLabel(e.provider, name: e.name, m)])
            if let onSite = e.onSite { text = m(onSite ? "summary.support.onSite" : "summary.support.remote", ["text": text]) }
            return detail(text, e.description)
        case .personsNotified(let e):
            guard let count = e.count else { return m("summary.persons", ["description": e.description]) }
            return m("summary.personsCount", ["count": String(count), "description": e.description])
        case .incidentClosed(let e): return m("summary.closed", ["summary": e.summary])
        case .noteAdded(let e): return m("summary.note", ["text": e.text])
        case .eventCorrected: return m("summary.corrected")
        case .eventRetracted: return m("summary.retracted")
        case .eventUpdated: return m("summary.updated")
        }
    }
}
