import EventStore
import Foundation
import IncidentDomain

/// The crisis cell's situation report: one self-contained, printable HTML page for the morning meeting, the
/// director, the ARS or the CNIL, across the incidents of a scope (all, one incident, one establishment, one
/// group) at one query time.
///
/// It opens with every regulatory clock of those incidents, most urgent first (``DeadlineBoard``), then gives
/// each incident: its establishments and phase, the services not working normally with their capacity, the
/// recovery chart of its sites (``TimelineRendering``) with its milestones, the care impact, the figures with
/// who claims them, and the sources (who recorded what, from which source). Built from the views that exist,
/// never from the events again; pure: the times it shows are those of ``time``, answered by the runner.
public struct SituationReport: Sendable {
    /// What a report covers.
    public enum Scope: Sendable, Hashable {
        /// Every incident of the ledger.
        case all
        /// One incident stream.
        case incident(String)
        /// The incidents naming one establishment (by FINESS); its charts show that site only.
        case establishment(String)
        /// The incidents touching a group's members when they began (by group id); its charts show the member
        /// sites.
        case group(String)
    }

    /// One incident as the report shows it.
    public struct Incident: Sendable {
        public let state: IncidentState
        /// The sites its chart draws, on one time axis: every establishment it names, or those of the scope.
        public let timelines: [RecoveryTimeline]
        /// Every recorded event of the incident that counts at the report's time, in recording order.
        public let sources: [AuditEntry]

        public init(state: IncidentState, timelines: [RecoveryTimeline], sources: [AuditEntry]) {
            self.state = state
            self.timelines = timelines
            self.sources = sources
        }
    }

    public let scope: Scope
    /// The group's name, for a group's report.
    public let scopeName: String?
    /// The query's time, answered: its ``QueryTime/answeredAt`` is when the report was generated.
    public let time: QueryTime
    /// The clocks of the incidents, most urgent first, counted from the query's reference time.
    public let board: DeadlineBoard
    /// The incidents, the one detected last first.
    public let incidents: [Incident]
    /// The establishments registered, by FINESS: names beside the numbers.
    public let names: [String: Establishment]
    /// The groups at the query's time.
    public let groups: GroupDirectory

    public init(
        scope: Scope, scopeName: String? = nil, time: QueryTime, board: DeadlineBoard, incidents: [Incident],
        names: [String: Establishment], groups: GroupDirectory = .empty
    ) {
        self.scope = scope
        self.scopeName = scopeName
        self.time = time
        self.board = board
        self.incidents = incidents
        self.names = names
        self.groups = groups
    }
}

extension SituationReport {
    // MARK: - The page

    /// The page's style: A4 with margins, tables across the page width with long words broken rather than cut,
    /// no row, chart or figure split across pages, headings kept with what follows, each incident on a page of
    /// its own, and what is overdue red on a light red ground and marked in words too.
    static let style = """
        @page{size:A4;margin:14mm 12mm 16mm 12mm}\
        *{box-sizing:border-box}\
        body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;font-size:10pt;line-height:1.35;color:#1b1b1b;margin:1.5em auto;max-width:60em;padding:0 1em}\
        h1{font-size:17pt;margin:0 0 .3em}h2{font-size:13.5pt;margin:1.2em 0 .4em;border-bottom:2px solid #2c3e50;padding-bottom:2px}\
        h3{font-size:11pt;margin:1em 0 .3em;color:#2c3e50}\
        table{border-collapse:collapse;width:100%;table-layout:fixed;margin:.3em 0 .6em}\
        th,td{border:1px solid #bbb;padding:3px 5px;text-align:left;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}\
        th{background:#eef1f3;font-weight:bold}\
        caption{text-align:left;font-weight:bold;padding:2px 0}\
        dl.times{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:.4em 0}dt{font-weight:bold}dd{margin:0}\
        .note,small{color:#555;font-size:8.5pt}p{margin:.3em 0}\
        tr.overdue td{background:#fde2e2;color:#8b0000}tr.overdue .mark{color:#b00020;font-weight:bold}\
        tr.soon td{background:#fff4d6}.possible{font-style:italic}\
        figure.chart{margin:.4em 0}figure.chart svg{display:block;width:100%;max-width:100%;height:auto}\
        ul{margin:.2em 0;padding-left:1.2em}\
        @media print{body{margin:0;padding:0;max-width:none;font-size:9.5pt}\
        section.incident{break-before:page}h1,h2,h3,caption{break-after:avoid}\
        tr,figure.chart,svg,dl.times,li{break-inside:avoid}thead{display:table-header-group}\
        h2+*,h3+*{break-before:avoid}}
        """

    /// The report as one self-contained HTML page in `messages`' language: inline style and SVG, no script, no
    /// external resource; every stored text escaped. Well-formed XML as well as HTML, so that any XML tool reads it.
    public func html(_ messages: Messages) -> String {
        let m = messages
        let title = m("report.title") + " — " + scopeText(m)
        var body =
            "<header><h1>\(e(title))</h1>\n" + timesList(m) + "<p class=\"note\">\(e(m("report.header.zone")))</p></header>\n"
        body += deadlines(m)
        if incidents.isEmpty {
            body += "<p>\(e(m("report.incidents.none")))</p>\n"
        }
        for incident in incidents { body += section(incident, m) }
        return """
            <!DOCTYPE html>
            <html lang="\(m.language.rawValue)"><head><meta charset="utf-8"/>\
            <meta name="viewport" content="width=device-width, initial-scale=1"/>\
            <title>\(e(title))</title><style>\(Self.style)</style></head>
            <body>
            \(body)</body></html>

            """
    }

    /// What the report covers, in words.
    func scopeText(_ m: Messages) -> String {
        switch scope {
        case .all: return m("report.scope.all")
        case .incident(let id):
            return m("report.scope.incident", ["title": incidents.first?.state.title ?? id, "id": id])
        case .establishment(let finess): return m("report.scope.establishment", ["name": site(finess)])
        case .group(let id): return m("report.scope.group", ["name": scopeName ?? id, "id": id])
        }
    }

    /// The as-of, known-at and generation times.
    func timesList(_ m: Messages) -> String {
        let generated = time.answeredAt.map { m.time(Timestamp(microseconds: $0)) } ?? "–"
        let asOf = time.asOf.map { TimelineRendering.asOfText($0, m) } ?? m("report.header.asOfNow", ["time": generated])
        let knownAt = time.knownAt.map { TimelineRendering.asOfText($0, m) } ?? m("report.header.knownAtAll")
        return "<dl class=\"times\">"
            + "<dt>\(e(m("report.header.asOf")))</dt><dd class=\"as-of\">\(e(asOf))</dd>"
            + "<dt>\(e(m("report.header.knownAt")))</dt><dd class=\"known-at\">\(e(knownAt))</dd>"
            + "<dt>\(e(m("report.header.generated")))</dt><dd class=\"generated\">\(e(generated))</dd>"
            + "<dt>\(e(m("report.header.incidents")))</dt><dd>\(incidents.count)</dd>"
            + "</dl>\n"
    }

    // MARK: - Deadlines

    /// Every clock, most urgent first: its status in words (overdue also marked ⚠ and red), the time remaining
    /// or how long overdue, the due time, the obligation and the incident.
    func deadlines(_ m: Messages) -> String {
        var out = "<section class=\"deadlines\" id=\"deadlines\"><h2>\(e(m("report.deadlines.heading")))</h2>\n"
        out += "<p class=\"note\">\(e(m("report.deadlines.intro")))</p>\n"
        guard !board.items.isEmpty else {
            return out + "<p>\(e(m("report.deadlines.none")))</p></section>\n"
        }
        let titles = Dictionary(incidents.map { ($0.state.incidentId, $0.state.title) }) { a, _ in a }
        out += "<table class=\"deadlines\"><colgroup><col style=\"width:12%\"/><col style=\"width:15%\"/>"
        out += "<col style=\"width:15%\"/><col style=\"width:40%\"/><col style=\"width:18%\"/></colgroup>\n<thead><tr>"
        for key in ["status", "remaining", "due", "obligation", "incident"] {
            out += "<th>\(e(m("report.deadlines.column.\(key)")))</th>"
        }
        out += "</tr></thead>\n<tbody>\n"
        for item in board.items {
            let c = item.clock
            let rowClass = c.status == .overdue ? "overdue" : item.isDueSoon ? "soon" : c.status.rawValue
            let status = e(m("report.status.\(c.status.rawValue)"))
            let statusCell = c.status == .overdue ? "<strong class=\"mark\">⚠ \(status)</strong>" : status
            out += "<tr class=\"\(rowClass)\" data-status=\"\(c.status.rawValue)\"><td>\(statusCell)</td>"
            out += "<td>\(e(remaining(item, m)))</td><td>\(e(due(item, m)))</td>"
            let (title, basis) = (c.rule.title(language: m.language), c.rule.legalBasis(language: m.language))
            let obligation = m(
                "report.obligation", ["title": title, "basis": basis, "recipient": c.rule.recipient(language: m.language)])
            let started = m(
                "report.clock.started",
                [
                    "time": TimelineRendering.describe(c.startedAt, m),
                    "fact": Self.abridged(c.startedByFact.summaryText(language: m.language)),
                ])
            out += "<td>\(e(obligation))<br/><small>\(e(started))</small></td>"
            out += "<td>\(e(titles[item.incident] ?? item.incident))<br/><small>\(e(item.incident))</small></td></tr>\n"
        }
        out += "</tbody></table>\n"
        let without = board.incidentsWithoutClocks.map { titles[$0] ?? $0 }
        if !without.isEmpty {
            out +=
                "<p class=\"note\">\(e(m("report.deadlines.withoutClocks", ["incidents": without.joined(separator: ", ")])))</p>\n"
        }
        return out + "</section>\n"
    }

    /// What a clock means at the report's time: due in, overdue by, done when, not required, kept by the ledger.
    func remaining(_ item: DeadlineBoard.Item, _ m: Messages) -> String {
        let c = item.clock
        switch c.status {
        case .running, .overdue:
            if let dueIn = item.dueIn {
                return m("report.remaining.dueIn", ["duration": DeadlineBoard.durationText(dueIn, language: m.language)])
            }
            if let overdueBy = item.overdueBy {
                return m("report.remaining.overdueBy", ["duration": DeadlineBoard.durationText(overdueBy, language: m.language)])
            }
            return m("report.remaining.noDue")
        case .met, .metLate:
            return c.satisfiedAt.map { m("report.remaining.done", ["time": TimelineRendering.describe($0, m)]) }
                ?? m("report.status.met")
        case .notRequired:
            return c.notRequiredBy.map {
                m(
                    "report.remaining.notRequired",
                    ["time": TimelineRendering.describe($0.occurredAt, m), "reason": $0.summaryText(language: m.language)])
            } ?? m("report.status.not_required")
        case .keptByLedger: return m("report.remaining.kept")
        }
    }

    /// When a clock falls due: its deadline, or an obligation without delay's alert threshold.
    func due(_ item: DeadlineBoard.Item, _ m: Messages) -> String {
        let c = item.clock
        if let deadline = c.deadline { return m.time(deadline) }
        if let threshold = c.overdueFrom {
            return m("report.due.withoutDelay", ["time": m.time(threshold)])
        }
        return "–"
    }

    // MARK: - One incident

    func section(_ incident: Incident, _ m: Messages) -> String {
        let s = incident.state
        var out = "<section class=\"incident\" id=\"\(e(anchor(s.incidentId)))\" data-incident=\"\(e(s.incidentId))\">"
        out += "<h2>\(e(s.title))</h2>\n<table class=\"summary\"><colgroup><col style=\"width:22%\"/><col/></colgroup><tbody>\n"
        out += row(m("report.incident.id"), e(s.incidentId))
        let sites = s.establishments.map { finess in
            let groups = (groups.groupsOf[finess] ?? []).map { m("report.incident.groupOf", ["name": $0.name]) }
            return e(([site(finess)] + groups).joined(separator: " · "))
        }
        out += row(m("report.incident.establishments"), sites.isEmpty ? "–" : sites.joined(separator: "<br/>"))
        out += row(m("report.incident.phase"), "<strong>\(e(m("report.phase.\(s.phase.rawValue)")))</strong>")
        for (key, fact) in [
            ("intrusion", s.intrusion), ("detected", s.detectedAt), ("crisisCell", s.crisisCell), ("contained", s.containedAt),
            ("closed", s.closedAt),
        ] {
            guard let fact else { continue }
            out += row(
                m("report.incident.\(key)"), e(when(fact, m)) + "<br/><small>\(e(fact.summaryText(language: m.language)))</small>"
            )
        }
        out += row(
            m("report.incident.facts"),
            e(
                s.possibleCount > 0
                    ? m("report.incident.factsPossible", ["count": String(s.factCount), "possible": String(s.possibleCount)])
                    : String(s.factCount)))
        out += "</tbody></table>\n"
        out += services(s, m)
        out += chart(incident, m)
        out += care(incident, m)
        out += figures(s, m)
        out += sources(incident, m)
        return out + "</section>\n"
    }

    /// The services not working normally, with their status in words and the capacity still working, and the
    /// services back since.
    func services(_ s: IncidentState, _ m: Messages) -> String {
        var out = "<h3>\(e(m("report.services.heading")))</h3>\n"
        let shown = s.servicesNotNormal.filter(inScope)
        if shown.isEmpty {
            out += "<p>\(e(m("report.services.none")))</p>\n"
        } else {
            out += "<table class=\"services\"><colgroup><col style=\"width:27%\"/><col style=\"width:22%\"/>"
            out += "<col style=\"width:17%\"/><col style=\"width:13%\"/><col style=\"width:21%\"/></colgroup>\n<thead><tr>"
            for key in ["site", "service", "status", "capacity", "since"] {
                out += "<th>\(e(m("report.services.column.\(key)")))</th>"
            }
            out += "</tr></thead>\n<tbody>\n"
            for c in shown {
                let capacity = c.status == .down ? "0 %" : c.capacityPercent.map { "\(FigureText.of($0, m)) %" } ?? "–"
                out +=
                    "<tr class=\"\(c.status.rawValue)\"><td>\(e(site(c.establishment)))</td><td>\(e(Services.label(c.service, language: m.language)))</td>"
                out += "<td>\(e(m("report.condition.\(c.status.rawValue)")))\(c.possible ? possible(m) : "")</td>"
                out += "<td>\(e(capacity))</td><td>\(e(m.time(c.since)))</td></tr>\n"
            }
            out += "</tbody></table>\n"
        }
        let restored = s.servicesRestored.filter(inScope)
        if !restored.isEmpty {
            let list = restored.map {
                m(
                    "report.services.restoredItem",
                    [
                        "service": Services.label($0.service, language: m.language), "site": site($0.establishment),
                        "time": m.time($0.since),
                    ])
            }
            out += "<p>\(e(m("report.services.restored", ["services": list.joined(separator: "; ")])))</p>\n"
        }
        return out
    }

    /// The recovery chart of the incident's sites on one axis, and its milestones as a table (what the chart
    /// shows, for those who cannot see it, and the times in full).
    func chart(_ incident: Incident, _ m: Messages) -> String {
        var out = "<h3>\(e(m("report.chart.heading")))</h3>\n"
        let timelines = incident.timelines
        guard !timelines.isEmpty else { return out + "<p>\(e(m("report.chart.none")))</p>\n" }
        let sites = timelines.map(TimelineRendering.siteName).joined(separator: ", ")
        out +=
            "<figure class=\"chart\">"
            + TimelineRendering.svg(timelines, title: m("report.chart.title", ["sites": sites]), language: m.language)
            + "</figure>\n"
        let items = TimelineRendering.milestones(timelines)
        guard !items.isEmpty else { return out }
        let multiSite = items.contains { !$0.sites.isEmpty }
        out += "<table class=\"milestones\"><caption>\(e(m("report.milestones.heading")))</caption>"
        out +=
            multiSite
            ? "<colgroup><col style=\"width:40%\"/><col style=\"width:32%\"/><col/></colgroup>"
            : "<colgroup><col style=\"width:50%\"/><col/></colgroup>"
        out +=
            "\n<thead><tr><th>\(e(m("report.milestones.column.milestone")))</th><th>\(e(m("report.milestones.column.when")))</th>"
        out += (multiSite ? "<th>\(e(m("report.milestones.column.sites")))</th>" : "") + "</tr></thead>\n<tbody>\n"
        for item in items {
            out +=
                "<tr><td>\(e(TimelineRendering.milestoneText(item.milestone.kind, m)))\(item.milestone.possible ? possible(m) : "")</td>"
            out += "<td>\(e(TimelineRendering.describe(item.milestone.occurredAt, m)))</td>"
            if multiSite {
                out += "<td>\(e(item.sites.isEmpty ? m("report.milestones.allSites") : item.sites.joined(separator: ", ")))</td>"
            }
            out += "</tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    /// The care impacts at the scope's sites: what, where, when, every recorded field, and the source.
    func care(_ incident: Incident, _ m: Messages) -> String {
        var out = "<h3>\(e(m("report.care.heading")))</h3>\n"
        let impacts = incident.state.careImpacts.filter { fact in
            fact.payload["establishment"]?.stringValue.map(inScope) ?? true
        }
        guard !impacts.isEmpty else { return out + "<p>\(e(m("report.care.none")))</p>\n" }
        out +=
            "<table class=\"care\"><colgroup><col style=\"width:18%\"/><col style=\"width:47%\"/><col style=\"width:35%\"/></colgroup>\n"
        out += "<thead><tr><th>\(e(m("report.care.column.when")))</th><th>\(e(m("report.care.column.impact")))</th>"
        out += "<th>\(e(m("report.care.column.source")))</th></tr></thead>\n<tbody>\n"
        let plainNames = names.mapValues(\.name)
        for impact in impacts {
            let summary = impact.summaryText(language: m.language)
            let details = FactFields.details(
                eventType: impact.eventType, payload: impact.payload, summary: summary, names: plainNames, m)
            out += "<tr><td>\(e(when(impact, m)))</td><td>\(e(summary))"
            if !details.isEmpty { out += "<br/><small>\(e(details))</small>" }
            let revisions = impact.revisionText(m)
            if !revisions.isEmpty { out += "<br/><small>\(e(revisions))</small>" }
            out += "</td><td>\(provenance(impact, m))</td></tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    /// Every figure (people affected, amounts, counts) with each claimant's value and its source, side by side.
    func figures(_ s: IncidentState, _ m: Messages) -> String {
        guard !s.figures.isEmpty else { return "" }
        var out = "<h3>\(e(m("report.figures.heading")))</h3>\n"
        out += "<table class=\"figures\"><colgroup><col style=\"width:30%\"/><col style=\"width:20%\"/>"
        out += "<col style=\"width:18%\"/><col style=\"width:32%\"/></colgroup>\n<thead><tr>"
        for key in ["figure", "value", "claimant", "source"] { out += "<th>\(e(m("report.figures.column.\(key)")))</th>" }
        out += "</tr></thead>\n<tbody>\n"
        for figure in s.figures {
            for (k, claim) in figure.claims.enumerated() {
                out +=
                    "<tr><td>\(k == 0 ? e(figure.figure) + (figure.competing ? "<br/><small>\(e(m("report.figures.competing")))</small>" : "") : "")</td>"
                out += "<td>\(e(claim.text))\(claim.possible ? possible(m) : "")</td><td>\(e(claim.claimant))</td>"
                out +=
                    "<td>\(e(claim.source))<br/><small>\(e(m("report.sources.recordedBy", ["actor": claim.actor])))</small></td></tr>\n"
            }
        }
        return out + "</tbody></table>\n"
    }

    /// Who recorded what, when, from which source (and why, for a revision).
    func sources(_ incident: Incident, _ m: Messages) -> String {
        var out = "<h3>\(e(m("report.sources.heading")))</h3>\n"
        guard !incident.sources.isEmpty else { return out + "<p>\(e(m("report.sources.none")))</p>\n" }
        out += "<table class=\"sources\"><colgroup><col style=\"width:6%\"/><col style=\"width:17%\"/>"
        out += "<col style=\"width:19%\"/><col style=\"width:24%\"/><col style=\"width:34%\"/></colgroup>\n<thead><tr>"
        for key in ["position", "recordedAt", "actor", "source", "what"] {
            out += "<th>\(e(m("report.sources.column.\(key)")))</th>"
        }
        out += "</tr></thead>\n<tbody>\n"
        for entry in incident.sources {
            out += "<tr><td>\(entry.position)</td><td>\(e(m.time(entry.recordedAt)))</td>"
            out += "<td>\(e(entry.actor))</td><td>\(e(entry.source))</td><td>\(e(entry.summary))"
            if let reason = entry.reason { out += "<br/><small>\(e(m("report.sources.reason", ["reason": reason])))</small>" }
            out += "</td></tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    // MARK: - Pieces

    static func e(_ text: String) -> String { TimelineRendering.escape(text) }
    func e(_ text: String) -> String { Self.e(text) }

    /// A fact's summary for a line of the deadlines table: its first 90 characters, cut between words with "…" (the
    /// incident's sources give it whole).
    static func abridged(_ text: String, limit: Int = 90) -> String {
        guard text.count > limit else { return text }
        let head = text.prefix(limit)
        let cut = head.lastIndex(of: " ").map { head[..<$0] } ?? head
        return cut.trimmingCharacters(in: .punctuationCharacters.union(.whitespaces)) + " …"
    }

    func row(_ label: String, _ html: String) -> String { "<tr><th scope=\"row\">\(e(label))</th><td>\(html)</td></tr>\n" }

    func possible(_ m: Messages) -> String { " <span class=\"possible\">\(e(m("report.possible")))</span>" }

    /// When a fact happened, as precisely as known, and whether it is only possible at the report's time.
    func when(_ fact: FactSummary, _ m: Messages) -> String {
        TimelineRendering.describe(fact.occurredAt, m) + (fact.possible ? " " + m("report.possible") : "")
    }

    /// A fact's source and who recorded it when.
    func provenance(_ fact: FactSummary, _ m: Messages) -> String {
        e(fact.source) + "<br/><small>"
            + e(m("report.sources.recordedByAt", ["actor": fact.actor, "time": m.time(fact.recordedAt)]))
            + "</small>"
    }

    /// An establishment by its name and FINESS, or its FINESS alone when it is not registered.
    func site(_ finess: String) -> String { names[finess].map { "\($0.name) (\(finess))" } ?? finess }

    /// The sites the scope shows: all for every incident or one, the establishment's, or the group's members
    /// that the charts draw.
    func inScope(_ finess: String) -> Bool {
        switch scope {
        case .all, .incident: true
        case .establishment(let only): finess == only
        case .group: incidents.contains { $0.timelines.contains { $0.establishment == finess } }
        }
    }

    func inScope(_ condition: ServiceCondition) -> Bool { inScope(condition.establishment) }

    /// An id for a section's anchor: letters, digits and dashes.
    func anchor(_ incident: String) -> String {
        "incident-"
            + String(incident.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII ? Character($0) : "-" })
    }
}
