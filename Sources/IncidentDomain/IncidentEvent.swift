import EventStore
import Foundation

/// A domain event, typed: what projectors read. Built from a validated payload with ``init(eventType:payload:)``.
public enum IncidentEvent: Sendable, Hashable {
    case establishmentRegistered(EstablishmentRegistered)
    case groupRegistered(GroupRegistered)
    case groupMemberAdded(GroupMembership)
    case groupMemberRemoved(GroupMembership)
    case incidentOpened(IncidentOpened)
    case intrusionStarted(IntrusionStarted)
    case attackDetected(AttackDetected)
    case crisisCellActivated(CrisisCellActivated)
    case crisisMeasureActivated(CrisisMeasure)
    case crisisMeasureLifted(CrisisMeasure)
    case containmentActionTaken(ContainmentActionTaken)
    case serviceDegraded(ServiceDegraded)
    case serviceRestored(ServiceRestored)
    case careImpactReported(CareImpactReported)
    case exfiltrationSuspected(Described)
    case exfiltrationConfirmed(ExfiltrationConfirmed)
    case exfiltrationNotFound(Described)
    case breachRiskAssessed(BreachRiskAssessed)
    case ransomDemanded(RansomDemanded)
    case ransomRefused(RansomRefused)
    case ransomPaid(RansomPaid)
    case ransomAbsent(Described)
    case claimPublished(ClaimPublished)
    case complaintFiled(ComplaintFiled)
    case authorityNotified(AuthorityNotified)
    case investigationOpened(InvestigationOpened)
    case judicialInvestigationOpened(JudicialInvestigationOpened)
    case supportDeployed(SupportDeployed)
    case personsNotified(PersonsNotified)
    case incidentClosed(IncidentClosed)
    case noteAdded(NoteAdded)
    case eventCorrected(EventCorrected)
    case eventRetracted(EventRetracted)
    case eventUpdated(EventUpdated)

    public struct EstablishmentRegistered: Sendable, Hashable {
        public let finess: String, name: String, city: String
        public let group: String?, essentialOperator: Bool?, nis2Entity: String?
    }
    /// A group (`group:<groupId>`): a GHT, a legal entity, a private group. A later registration renames it.
    public struct GroupRegistered: Sendable, Hashable {
        public let groupId: String, name: String, kind: String, supportEstablishment: String?, description: String?
    }
    /// A site joining (`group.member_added`) or leaving (`group.member_removed`) a group, at the event's time.
    public struct GroupMembership: Sendable, Hashable {
        public let groupId: String, finess: String, description: String?
    }
    public struct IncidentOpened: Sendable, Hashable {
        public let title: String, establishments: [String], summary: String?
    }
    public struct IntrusionStarted: Sendable, Hashable {
        public let description: String, vector: String?
    }
    /// Events whose payload is a description alone.
    public struct Described: Sendable, Hashable {
        public let description: String
    }
    public struct AttackDetected: Sendable, Hashable {
        public let description: String, detectedBy: String?, establishments: [String]?
    }
    public struct CrisisCellActivated: Sendable, Hashable {
        public let description: String?, level: String?, establishment: String?
    }
    /// A crisis measure triggered (`crisis.measure_activated`) or ended (`crisis.measure_lifted`): `measure` is
    /// one of ``Catalogue/crisisMeasures``; without `establishment` it holds for the whole incident.
    public struct CrisisMeasure: Sendable, Hashable {
        public let measure: String, establishment: String?, description: String?
    }
    public struct ContainmentActionTaken: Sendable, Hashable {
        public let action: String, description: String, establishments: [String]?
    }
    public struct ServiceDegraded: Sendable, Hashable {
        public let establishment: String, service: String, status: String, capacityPercent: Double?, description: String?
        /// Who claims the figure (the hospital, a union, the attackers), when a source says.
        public let claimedBy: String?
    }
    public struct ServiceRestored: Sendable, Hashable {
        public let establishment: String, service: String, extent: String, capacityPercent: Double?, description: String?
        public let claimedBy: String?
    }
    public struct CareImpactReported: Sendable, Hashable {
        public let establishment: String, kind: String, description: String, count: Int?, sharePercent: Double?
        public let destination: String?, specialty: String?, claimedBy: String?
    }
    public struct ExfiltrationConfirmed: Sendable, Hashable {
        public let description: String, peopleAffected: Int?, dataCategories: [String]?, highRisk: Bool?
        public let claimedBy: String?
    }
    /// `outcome`: `unlikely_risk` (no notification needed, GDPR art. 33(1); kept in the register with the
    /// reasons, art. 33(5)), `risk` (notify the CNIL) or `high_risk` (inform the people too, art. 34).
    public struct BreachRiskAssessed: Sendable, Hashable {
        public let outcome: String, reasons: String, assessedBy: String?
    }
    /// A demand: an exact `amount` or a range (`amountMin`…`amountMax`, either end may be open), never both;
    /// `confirmed` false when it is only reported (a press article, a claim) and not confirmed by the victim.
    public struct RansomDemanded: Sendable, Hashable {
        public let description: String?, amount: Double?, amountMin: Double?, amountMax: Double?, currency: String?
        public let confirmed: Bool?, claimedBy: String?
    }
    public struct RansomRefused: Sendable, Hashable {
        public let description: String?, refusedBy: String?
    }
    public struct RansomPaid: Sendable, Hashable {
        public let description: String?, amount: Double?, currency: String?, claimedBy: String?
    }
    public struct ClaimPublished: Sendable, Hashable {
        public let attacker: String, description: String?, url: String?
    }
    /// `filedWith` and `filedBy` are often not said ("des plaintes ont été déposées"): both optional.
    public struct ComplaintFiled: Sendable, Hashable {
        public let filedWith: String?, filedBy: String?, place: String?, reference: String?
    }
    public struct AuthorityNotified: Sendable, Hashable {
        public let authority: String, name: String?, reference: String?, kind: String?, description: String?
    }
    public struct InvestigationOpened: Sendable, Hashable {
        public let authority: String, name: String?, description: String?
    }
    /// A criminal investigation: the prosecutor's office (`parquet de Paris, section J3`), the investigators it
    /// entrusts (OFAC, C3N, a regional police unit), the offences; at least one of prosecutor, investigators, description.
    public struct JudicialInvestigationOpened: Sendable, Hashable {
        public let prosecutor: String?, investigators: String?, offences: [String]?, reference: String?
        public let description: String?
    }
    /// Outside support: `provider` one of ``Catalogue/supportProviders`` (`name` required for `OTHER`), on site or not.
    public struct SupportDeployed: Sendable, Hashable {
        public let provider: String, name: String?, onSite: Bool?, establishment: String?, description: String?
    }
    public struct PersonsNotified: Sendable, Hashable {
        public let description: String, count: Int?, channel: String?, claimedBy: String?
    }
    public struct IncidentClosed: Sendable, Hashable { public let summary: String }
    public struct NoteAdded: Sendable, Hashable { public let text: String }
    public struct EventCorrected: Sendable, Hashable {
        public let correctedEventId: UUID, changes: [String: JSONValue]?, occurredAt: OccurredAt?
    }
    public struct EventRetracted: Sendable, Hashable { public let retractedEventId: UUID }
    /// A change in the world, not an error: `changes` hold from the update's occurredAt on.
    public struct EventUpdated: Sendable, Hashable {
        public let updatedEventId: UUID, changes: [String: JSONValue]
    }

    /// Reads a payload that ``PayloadValidator`` accepted. Throws for unknown types or invalid payloads.
    public init(eventType: String, payload: JSONValue) throws(EventStoreError) {
        try PayloadValidator.validate(payload, eventType: eventType)
        let p = PayloadReader(payload)
        switch eventType {
        case "establishment.registered":
            self = .establishmentRegistered(
                .init(
                    finess: p.text("finess")!, name: p.text("name")!, city: p.text("city")!, group: p.text("group"),
                    essentialOperator: p.bool("essentialOperator"), nis2Entity: p.text("nis2Entity")))
        case "group.registered":
            self = .groupRegistered(
                .init(
                    groupId: p.text("groupId")!, name: p.text("name")!, kind: p.text("kind")!,
                    supportEstablishment: p.text("supportEstablishment"), description: p.text("description")))
        case "group.member_added":
            self = .groupMemberAdded(
                .init(groupId: p.text("groupId")!, finess: p.text("finess")!, description: p.text("description")))
        case "group.member_removed":
            self = .groupMemberRemoved(
                .init(groupId: p.text("groupId")!, finess: p.text("finess")!, description: p.text("description")))
        case "incident.opened":
            self = .incidentOpened(
                .init(title: p.text("title")!, establishments: p.texts("establishments")!, summary: p.text("summary")))
        case "intrusion.started":
            self = .intrusionStarted(.init(description: p.text("description")!, vector: p.text("vector")))
        case "attack.detected":
            self = .attackDetected(
                .init(
                    description: p.text("description")!, detectedBy: p.text("detectedBy"),
                    establishments: p.texts("establishments")))
        case "crisis_cell.activated":
            self = .crisisCellActivated(
                .init(
                    description: p.text("description"), level: p.text("level"), establishment: p.text("establishment")))
        case "crisis.measure_activated":
            self = .crisisMeasureActivated(
                .init(measure: p.text("measure")!, establishment: p.text("establishment"), description: p.text("description")))
        case "crisis.measure_lifted":
            self = .crisisMeasureLifted(
                .init(measure: p.text("measure")!, establishment: p.text("establishment"), description: p.text("description")))
        case "containment.action_taken":
            self = .containmentActionTaken(
                .init(
                    action: p.text("action")!, description: p.text("description")!, establishments: p.texts("establishments")))
        case "service.degraded":
            self = .serviceDegraded(
                .init(
                    establishment: p.text("establishment")!, service: p.text("service")!, status: p.text("status")!,
                    capacityPercent: p.double("capacityPercent"), description: p.text("description"),
                    claimedBy: p.text("claimedBy")))
        case "service.restored":
            self = .serviceRestored(
                .init(
                    establishment: p.text("establishment")!, service: p.text("service")!, extent: p.text("extent")!,
                    capacityPercent: p.double("capacityPercent"), description: p.text("description"),
                    claimedBy: p.text("claimedBy")))
        case "care.impact_reported":
            self = .careImpactReported(
                .init(
                    establishment: p.text("establishment")!, kind: p.text("kind")!, description: p.text("description")!,
                    count: p.int("count"), sharePercent: p.double("sharePercent"), destination: p.text("destination"),
                    specialty: p.text("specialty"), claimedBy: p.text("claimedBy")))
        case "data.exfiltration_suspected":
            self = .exfiltrationSuspected(.init(description: p.text("description")!))
        case "data.exfiltration_confirmed":
            self = .exfiltrationConfirmed(
                .init(
                    description: p.text("description")!, peopleAffected: p.int("peopleAffected"),
                    dataCategories: p.texts("dataCategories"), highRisk: p.bool("highRisk"), claimedBy: p.text("claimedBy")))
        case "data.exfiltration_not_found":
            self = .exfiltrationNotFound(.init(description: p.text("description")!))
        case "breach.risk_assessed":
            self = .breachRiskAssessed(
                .init(outcome: p.text("outcome")!, reasons: p.text("reasons")!, assessedBy: p.text("assessedBy")))
        case "ransom.demanded":
            self = .ransomDemanded(
                .init(
                    description: p.text("description"), amount: p.double("amount"), amountMin: p.double("amountMin"),
                    amountMax: p.double("amountMax"), currency: p.text("currency"), confirmed: p.bool("confirmed"),
                    claimedBy: p.text("claimedBy")))
        case "ransom.refused":
            self = .ransomRefused(.init(description: p.text("description"), refusedBy: p.text("refusedBy")))
        case "ransom.paid":
            self = .ransomPaid(
                .init(
                    description: p.text("description"), amount: p.double("amount"), currency: p.text("currency"),
                    claimedBy: p.text("claimedBy")))
        case "ransom.absent":
            self = .ransomAbsent(.init(description: p.text("description")!))
        case "claim.published":
            self = .claimPublished(.init(attacker: p.text("attacker")!, description: p.text("description"), url: p.text("url")))
        case "complaint.filed":
            self = .complaintFiled(
                .init(
                    filedWith: p.text("filedWith"), filedBy: p.text("filedBy"), place: p.text("place"),
                    reference: p.text("reference")))
        case "authority.notified":
            self = .authorityNotified(
                .init(
                    authority: p.text("authority")!, name: p.text("name"), reference: p.text("reference"), kind: p.text("kind"),
                    description: p.text("description")))
        case "authority.investigation_opened":
            self = .investigationOpened(
                .init(authority: p.text("authority")!, name: p.text("name"), description: p.text("description")))
        case "judicial.investigation_opened":
            self = .judicialInvestigationOpened(
                .init(
                    prosecutor: p.text("prosecutor"), investigators: p.text("investigators"), offences: p.texts("offences"),
                    reference: p.text("reference"), description: p.text("description")))
        case "support.deployed":
            self = .supportDeployed(
                .init(
                    provider: p.text("provider")!, name: p.text("name"), onSite: p.bool("onSite"),
                    establishment: p.text("establishment"), description: p.text("description")))
        case "persons.notified":
            self = .personsNotified(
                .init(
                    description: p.text("description")!, count: p.int("count"), channel: p.text("channel"),
                    claimedBy: p.text("claimedBy")))
        case "incident.closed":
            self = .incidentClosed(.init(summary: p.text("summary")!))
        case "note.added":
            self = .noteAdded(.init(text: p.text("text")!))
        case "event.corrected":
            self = .eventCorrected(
                .init(
                    correctedEventId: UUID(text: p.text("correctedEventId")!)!, changes: payload["changes"]?.objectValue,
                    occurredAt: try payload["occurredAt"].map { (value) throws(EventStoreError) in
                        try OccurredAt(json: value, path: "$.payload.occurredAt")
                    }))
        case "event.retracted":
            self = .eventRetracted(.init(retractedEventId: UUID(text: p.text("retractedEventId")!)!))
        case "event.updated":
            self = .eventUpdated(
                .init(
                    updatedEventId: UUID(text: p.text("updatedEventId")!)!, changes: payload["changes"]?.objectValue ?? [:]))
        default:
            throw .invalid("$.eventType", "unknown event type \"\(eventType)\"")
        }
    }
}

/// Typed reads of a validated payload.
struct PayloadReader {
    let members: [String: JSONValue]
    init(_ payload: JSONValue) { members = payload.objectValue ?? [:] }
    func text(_ key: String) -> String? { members[key]?.stringValue }
    func texts(_ key: String) -> [String]? { members[key]?.arrayValue?.compactMap(\.stringValue) }
    func bool(_ key: String) -> Bool? { members[key]?.boolValue }
    func double(_ key: String) -> Double? { members[key]?.numberValue?.doubleValue }
    func int(_ key: String) -> Int? { members[key]?.numberValue?.intValue }
}
