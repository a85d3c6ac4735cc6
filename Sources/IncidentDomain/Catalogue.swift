import EventStore

/// The event types of the incident domain, schema version 1 (docs/event-catalogue.md, schemas/events/).
public enum Catalogue {
    /// Every event type of the catalogue is at this schema version.
    public static let schemaVersion = 1
    public static let authorities = ["CNIL", "ANSSI", "CERT_SANTE", "ARS", "OTHER"]
    /// Who sends responders or experts: the national agencies, a regional CSIRT (CSIRT régional), a private firm.
    public static let supportProviders = ["ANSSI", "CERT_SANTE", "REGIONAL_CSIRT", "PRIVATE_PROVIDER", "OTHER"]
    /// The crisis measures a French hospital takes (DOMAIN.md): the plan blanc (staff recalled, operations
    /// deprogrammed, beds freed), degraded mode, deprogramming on its own, the SAMU diverting ambulances elsewhere.
    public static let crisisMeasures = ["plan_blanc", "degraded_mode", "deprogramming", "ambulance_diversion", "other"]
    public static let groupKinds = ["ght", "legal_entity", "private_group", "other"]
    /// The field that says who claims the figures of an event, on every type that carries a count, an amount or
    /// a percentage.
    package static let claimedBy = FieldSpec("claimedBy", .text)

    public static let all: [EventTypeSpec] = [
        spec(
            "establishment.registered", "An establishment (one site, with its FINESS number) and its group", .establishment,
            [
                FieldSpec("finess", .finess, required: true), FieldSpec("name", .text, required: true),
                FieldSpec("city", .text, required: true), FieldSpec("group", .text), FieldSpec("essentialOperator", .boolean),
                FieldSpec("nis2Entity", .oneOf(["essential", "important"])),
            ]),
        spec(
            "group.registered", "A group of establishments: a GHT, a legal entity (FINESS juridique), a private group",
            .group,
            [
                FieldSpec("groupId", .groupId, required: true), FieldSpec("name", .text, required: true),
                FieldSpec("kind", .oneOf(groupKinds), required: true), FieldSpec("supportEstablishment", .finess),
                FieldSpec("description", .text),
            ]),
        spec(
            "group.member_added", "An establishment joins a group (the event's time is the date it joined)", .group,
            [
                FieldSpec("groupId", .groupId, required: true), FieldSpec("finess", .finess, required: true),
                FieldSpec("description", .text),
            ]),
        spec(
            "group.member_removed", "An establishment leaves a group (the event's time is the date it left)", .group,
            [
                FieldSpec("groupId", .groupId, required: true), FieldSpec("finess", .finess, required: true),
                FieldSpec("description", .text),
            ]),
        spec(
            "incident.opened", "An incident is opened for one or more establishments", .incident,
            [
                FieldSpec("title", .text, required: true), FieldSpec("establishments", .finessList, required: true),
                FieldSpec("summary", .text),
            ]),
        spec(
            "intrusion.started", "The attackers got in (often known late, often an interval)", .incident,
            [
                FieldSpec("description", .text, required: true), FieldSpec("vector", .text),
            ], milestone: .init()),
        spec(
            "attack.detected", "Someone noticed the attack", .incident,
            [
                FieldSpec("description", .text, required: true), FieldSpec("detectedBy", .text),
                FieldSpec("establishments", .finessList),
            ], milestone: .init()),
        spec(
            "crisis_cell.activated", "A crisis cell is set up", .incident,
            [
                FieldSpec("description", .text), FieldSpec("level", .oneOf(["establishment", "group", "regional", "national"])),
                FieldSpec("establishment", .finess),
            ]),
        EventTypeSpec(
            eventType: "crisis.measure_activated",
            summary: "A crisis measure is triggered: plan blanc, degraded mode, deprogramming, ambulances diverted",
            fields: [
                FieldSpec("measure", .oneOf(crisisMeasures), required: true), FieldSpec("establishment", .finess),
                FieldSpec("description", .text),
            ], streamKind: .incident, requiredWhen: [ConditionalRequirement("description", when: "measure", in: ["other"])]),
        spec(
            "crisis.measure_lifted", "A crisis measure ends (the same measure, and establishment if one was named)", .incident,
            [
                FieldSpec("measure", .oneOf(crisisMeasures), required: true), FieldSpec("establishment", .finess),
                FieldSpec("description", .text),
            ]),
        spec(
            "containment.action_taken", "A containment action", .incident,
            [
                FieldSpec(
                    "action",
                    .oneOf([
                        "isolate_from_internet", "shut_down_servers", "suspend_accounts", "suspend_computer_access", "close_tool",
                        "other",
                    ]),
                    required: true),
                FieldSpec("description", .text, required: true), FieldSpec("establishments", .finessList),
            ], milestone: .init()),
        spec(
            "service.degraded", "A service of an establishment goes down or runs degraded", .incident,
            [
                FieldSpec("establishment", .finess, required: true), FieldSpec("service", .service, required: true),
                FieldSpec("status", .oneOf(["down", "degraded"]), required: true), FieldSpec("capacityPercent", .percent),
                FieldSpec("description", .text), claimedBy,
            ]),
        spec(
            "service.restored", "A service is restored, partially (with its capacity) or fully", .incident,
            [
                FieldSpec("establishment", .finess, required: true), FieldSpec("service", .service, required: true),
                FieldSpec("extent", .oneOf(["partial", "full"]), required: true), FieldSpec("capacityPercent", .percent),
                FieldSpec("description", .text), claimedBy,
            ]),
        spec(
            "care.impact_reported", "An effect on care: operations postponed, patients transferred, paper procedures", .incident,
            [
                FieldSpec("establishment", .finess, required: true),
                FieldSpec(
                    "kind",
                    .oneOf(["operations_postponed", "patients_transferred", "paper_procedures", "appointments_by_phone", "other"]
                    ),
                    required: true),
                FieldSpec("description", .text, required: true), FieldSpec("count", .count), FieldSpec("sharePercent", .percent),
                FieldSpec("destination", .text), FieldSpec("specialty", .text), claimedBy,
            ]),
        spec(
            "data.exfiltration_suspected", "Data may have been stolen", .incident,
            [
                FieldSpec("description", .text, required: true)
            ], milestone: .init()),
        spec(
            "data.exfiltration_confirmed", "Data were stolen: how many people, which data", .incident,
            [
                FieldSpec("description", .text, required: true), FieldSpec("peopleAffected", .count),
                FieldSpec("dataCategories", .textList), FieldSpec("highRisk", .boolean), claimedBy,
            ], milestone: .init()),
        spec(
            "data.exfiltration_not_found", "No leak identified (for now)", .incident,
            [
                FieldSpec("description", .text, required: true)
            ], milestone: .init()),
        spec(
            "breach.risk_assessed", "A personal data breach's risk to people, assessed with reasons (GDPR art. 33, 34)",
            .incident,
            [
                FieldSpec("outcome", .oneOf(["unlikely_risk", "risk", "high_risk"]), required: true),
                FieldSpec("reasons", .text, required: true), FieldSpec("assessedBy", .text),
            ]),
        EventTypeSpec(
            eventType: "ransom.demanded",
            summary: "The attackers ask for a ransom (an amount or a range; confirmed=false: reported, not confirmed)",
            fields: [
                FieldSpec("description", .text), FieldSpec("amount", .amount), FieldSpec("amountMin", .amount),
                FieldSpec("amountMax", .amount), FieldSpec("currency", .currency), FieldSpec("confirmed", .boolean), claimedBy,
            ], streamKind: .incident, ranges: [FieldRange(low: "amountMin", high: "amountMax")],
            exclusions: [FieldExclusion("amount", excludes: ["amountMin", "amountMax"])]),
        spec(
            "ransom.refused", "The victim refuses to pay the ransom", .incident,
            [
                FieldSpec("description", .text), FieldSpec("refusedBy", .text),
            ]),
        spec(
            "ransom.paid", "The ransom was paid (by the victim, an insurer, someone else)", .incident,
            [
                FieldSpec("description", .text), FieldSpec("amount", .amount), FieldSpec("currency", .currency), claimedBy,
            ]),
        spec("ransom.absent", "No ransom was demanded", .incident, [FieldSpec("description", .text, required: true)]),
        spec(
            "claim.published", "The attackers claim the attack", .incident,
            [
                FieldSpec("attacker", .text, required: true), FieldSpec("description", .text), FieldSpec("url", .text),
            ], milestone: .init(distinguishedBy: "attacker")),
        spec(
            "complaint.filed", "A complaint to the police, the gendarmerie or the prosecutor", .incident,
            [
                FieldSpec("filedWith", .oneOf(["police", "gendarmerie", "prosecutor"])), FieldSpec("filedBy", .text),
                FieldSpec("place", .text), FieldSpec("reference", .text),
            ], milestone: .init(distinguishedBy: "filedWith")),
        spec(
            "authority.notified", "A declaration or report to an authority", .incident,
            [
                FieldSpec("authority", .oneOf(authorities), required: true), FieldSpec("name", .text),
                FieldSpec("reference", .text), FieldSpec("kind", .oneOf(["initial", "update", "final"])),
                FieldSpec("description", .text),
            ], milestone: .init(distinguishedBy: "authority")),
        spec(
            "authority.investigation_opened", "An authority opens its own investigation", .incident,
            [
                FieldSpec("authority", .oneOf(authorities), required: true), FieldSpec("name", .text),
                FieldSpec("description", .text),
            ]),
        EventTypeSpec(
            eventType: "judicial.investigation_opened",
            summary: "A prosecutor opens a criminal investigation (e.g. the Paris prosecutor's J3 cybercrime section)",
            fields: [
                FieldSpec("prosecutor", .text), FieldSpec("investigators", .text), FieldSpec("offences", .textList),
                FieldSpec("reference", .text), FieldSpec("description", .text),
            ], requiresOneOf: ["prosecutor", "investigators", "description"], streamKind: .incident),
        EventTypeSpec(
            eventType: "support.deployed",
            summary: "Outside responders help: ANSSI, CERT Santé, a regional CSIRT, a private firm",
            fields: [
                FieldSpec("provider", .oneOf(supportProviders), required: true), FieldSpec("name", .text),
                FieldSpec("onSite", .boolean), FieldSpec("establishment", .finess), FieldSpec("description", .text),
            ], streamKind: .incident, requiredWhen: [ConditionalRequirement("name", when: "provider", in: ["OTHER"])]),
        spec(
            "persons.notified", "The people concerned are informed", .incident,
            [
                FieldSpec("description", .text, required: true), FieldSpec("count", .count), FieldSpec("channel", .text),
                claimedBy,
            ], milestone: .init()),
        spec("incident.closed", "The incident is closed", .incident, [FieldSpec("summary", .text, required: true)]),
        spec("note.added", "A free note", .incident, [FieldSpec("text", .text, required: true)]),
        EventTypeSpec(
            eventType: "event.corrected", summary: "Corrects fields of an earlier event of the stream; needs a reason",
            fields: [
                FieldSpec("correctedEventId", .eventId, required: true), FieldSpec("changes", .changes),
                FieldSpec("occurredAt", .occurredAt),
            ], requiresReason: true, requiresOneOf: ["changes", "occurredAt"], streamKind: .incident),
        EventTypeSpec(
            eventType: "event.updated",
            summary:
                "A value of an earlier fact changed in the world at this event's time (a lowered ransom demand, a new count); before that time the old value still holds",
            fields: [
                FieldSpec("updatedEventId", .eventId, required: true), FieldSpec("changes", .changes, required: true),
            ], requiresReason: false, requiresOneOf: [], streamKind: .incident),
        EventTypeSpec(
            eventType: "event.retracted", summary: "Withdraws an earlier event of the stream; needs a reason",
            fields: [FieldSpec("retractedEventId", .eventId, required: true)], requiresReason: true, requiresOneOf: [],
            streamKind: .incident),
    ]

    private static func spec(
        _ type: String, _ summary: String, _ kind: StreamKind, _ fields: [FieldSpec], milestone: ChartMilestone? = nil
    ) -> EventTypeSpec {
        EventTypeSpec(eventType: type, summary: summary, fields: fields, streamKind: kind, milestone: milestone)
    }

    private static let byType: [String: EventTypeSpec] = Dictionary(uniqueKeysWithValues: all.map { ($0.eventType, $0) })

    /// The rules of `eventType`, or nil when the domain does not know it.
    public static func spec(for eventType: String) -> EventTypeSpec? { byType[eventType] }
}

/// The services a recovery timeline follows (DOMAIN.md); establishments may add their own ids.
public enum Services {
    /// The standard services, with their English labels (the `catalogue.service.` keys of the tables).
    public static let standard: [(id: String, label: String)] = [
        "internet_access", "external_email", "internal_email", "public_website", "online_booking", "telephony",
        "patient_record", "laboratory", "imaging_pacs", "pharmacy", "admissions_billing", "surgery_scheduling",
        "emergency_department", "samu_centre_15", "maternity", "file_sharing", "remote_access_vpn",
    ].map { ($0, Messages.english.service($0)) }
    private static let ids = Set(standard.map(\.id))

    /// A readable name in `language`: the standard label, or the establishment's own id made readable
    /// (`emergency_software`: "Emergency software"); the id itself stays in json and in the tables that list ids.
    public static func label(_ id: String, language: Language = .english) -> String {
        Messages.of(language).service(id)
    }

    /// An id made readable: its words joined by spaces, the first capitalised.
    static func readable(_ id: String) -> String {
        let words = id.split(whereSeparator: { $0 == "_" || $0 == "-" }).joined(separator: " ")
        guard let first = words.first else { return id }
        return first.uppercased() + words.dropFirst()
    }
    public static func isStandard(_ id: String) -> Bool { ids.contains(id) }
}
