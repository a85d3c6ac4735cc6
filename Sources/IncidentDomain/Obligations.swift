import EventStore
import Foundation

/// A regulatory obligation with a clock, as data: which fact starts it, which fact satisfies it, the
/// deadline, and from when it is in force. Adding a rule or changing a duration means editing the JSON
/// (``ObligationRules/defaultJSON`` or a file given to `ledger deadlines --rules`), not a projector.
public struct ObligationRule: Sendable, Hashable {
    /// Which facts match: an event type, and optionally required payload values (`"authority": ["CNIL"]`).
    public struct Match: Sendable, Hashable {
        public let eventType: String
        public let payload: [String: [String]]

        /// True when `eventType` and `payload` match (a boolean payload value matches "true"/"false").
        package func matches(eventType other: String, payload value: JSONValue) -> Bool {
            guard other == eventType else { return false }
            for (field, allowed) in payload {
                guard let v = value[field] else { return false }
                let text = v.stringValue ?? v.boolValue.map { $0 ? "true" : "false" } ?? v.numberValue?.text ?? ""
                guard allowed.contains(text) else { return false }
            }
            return true
        }
    }

    public let id: String
    public let title: String
    /// The text it comes from (GDPR art. 33, CSP L1111-8-2…).
    public let legalBasis: String
    /// Who must be told.
    public let recipient: String
    /// The facts that start it, any of them: the earliest admitted fact matching one starts the clock.
    public let startsOn: [Match]
    /// The fact that fulfils it; nil for obligations the ledger itself fulfils (the breach register).
    public let satisfiedBy: Match?
    /// The decision that makes it not required (GDPR art. 33(1): a breach "unlikely to result in a risk").
    /// The latest fact of this event type that may have happened after the start decides, so a later
    /// reassessment with another outcome revokes an earlier "not required".
    public let notRequiredWhen: Match?
    /// A later phase of that rule's notification (GDPR art. 33(4)): this clock starts on its own starting
    /// fact only when that happened after the other rule's clock started, and only a satisfying fact that
    /// may have happened after its own start counts (a notice sent before could not carry it).
    public let complementOf: String?
    /// Hours from the start to the deadline; nil when the text sets no hour count ("sans délai").
    public let deadlineHours: Double?
    /// For obligations without an hour count: after how many hours an unmet one is flagged.
    public let alertAfterHours: Double?
    /// The rule applies only to incidents whose starting fact falls on or after this day (Paris time).
    public let inForceFrom: Timestamp
    public let enabled: Bool
    /// Only for incidents touching an establishment with this flag (`essentialOperator`, `nis2Entity`).
    public let appliesIfEstablishment: String?
    /// Starts when that rule's clock is satisfied (NIS2's final report follows the notification).
    public let startsAfterRule: String?

    package init(
        id: String, title: String, legalBasis: String, recipient: String, startsOn: [Match], satisfiedBy: Match?,
        notRequiredWhen: Match? = nil, complementOf: String? = nil, deadlineHours: Double?, alertAfterHours: Double?,
        inForceFrom: Timestamp, enabled: Bool, appliesIfEstablishment: String?, startsAfterRule: String?
    ) {
        self.id = id
        self.title = title
        self.legalBasis = legalBasis
        self.recipient = recipient
        self.startsOn = startsOn
        self.satisfiedBy = satisfiedBy
        self.notRequiredWhen = notRequiredWhen
        self.complementOf = complementOf
        self.deadlineHours = deadlineHours
        self.alertAfterHours = alertAfterHours
        self.inForceFrom = inForceFrom
        self.enabled = enabled
        self.appliesIfEstablishment = appliesIfEstablishment
        self.startsAfterRule = startsAfterRule
    }
}

/// The rule set, read from JSON.
public enum ObligationRules {
    /// Reads a rule set, naming the rule and field that are wrong.
    public static func parse(_ json: JSONValue, source: String) throws(EventStoreError) -> [ObligationRule] {
        guard let rules = json["rules"]?.arrayValue else { throw .invalid("\(source): $.rules", "expected an array of rules") }
        var parsed: [ObligationRule] = []
        for (i, rule) in rules.enumerated() {
            let path = "\(source): $.rules[\(i)]"
            func text(_ key: String) throws(EventStoreError) -> String {
                guard let s = rule[key]?.stringValue, !s.isEmpty else { throw .invalid("\(path).\(key)", "required string") }
                return s
            }
            func match(_ m: JSONValue, _ at: String) throws(EventStoreError) -> ObligationRule.Match {
                guard let type = m["eventType"]?.stringValue, Catalogue.spec(for: type) != nil else {
                    throw .invalid("\(at).eventType", "must name an event type of the catalogue")
                }
                var payload: [String: [String]] = [:]
                for (field, values) in m["payload"]?.objectValue ?? [:] {
                    guard let list = values.arrayValue?.compactMap(\.stringValue), !list.isEmpty else {
                        throw .invalid("\(at).payload.\(field)", "expected an array of strings")
                    }
                    payload[field] = list
                }
                return ObligationRule.Match(eventType: type, payload: payload)
            }
            func match(_ key: String) throws(EventStoreError) -> ObligationRule.Match? {
                guard let m = rule[key] else { return nil }
                return try match(m, "\(path).\(key)")
            }
            /// One match, or an array of them (any of which starts the clock).
            func matches(_ key: String) throws(EventStoreError) -> [ObligationRule.Match] {
                guard let m = rule[key] else { throw .invalid("\(path).\(key)", "required") }
                guard let list = m.arrayValue else { return [try match(m, "\(path).\(key)")] }
                guard !list.isEmpty else { throw .invalid("\(path).\(key)", "expected a match or a non-empty array of them") }
                var all: [ObligationRule.Match] = []
                for (j, item) in list.enumerated() { all.append(try match(item, "\(path).\(key)[\(j)]")) }
                return all
            }
            /// A rule named by another must come before it: clocks are worked out in the file's order.
            func earlierRule(_ key: String) throws(EventStoreError) -> String? {
                guard let v = rule[key], v != .null else { return nil }
                guard let id = v.stringValue, parsed.contains(where: { $0.id == id }) else {
                    throw .invalid("\(path).\(key)", "must name a rule listed before this one")
                }
                return id
            }
            func hours(_ key: String) throws(EventStoreError) -> Double? {
                guard let v = rule[key], v != .null else { return nil }
                guard let n = v.numberValue?.doubleValue, n > 0 else {
                    throw .invalid("\(path).\(key)", "expected a number of hours > 0")
                }
                return n
            }
            let day = try text("inForceFrom")
            guard let date = Timestamp(rfc3339: day + "T00:00:00Z"),
                let local = LocalDateTime(year: date.local.year, month: date.local.month, day: date.local.day)
            else { throw .invalid("\(path).inForceFrom", "expected a day like 2018-05-25") }
            parsed.append(
                ObligationRule(
                    id: try text("id"), title: try text("title"), legalBasis: try text("legalBasis"),
                    recipient: try text("recipient"),
                    startsOn: try matches("startsOn"), satisfiedBy: try match("satisfiedBy"),
                    notRequiredWhen: try match("notRequiredWhen"), complementOf: try earlierRule("complementOf"),
                    deadlineHours: try hours("deadlineHours"), alertAfterHours: try hours("alertAfterHours"),
                    inForceFrom: Timestamp(local: local), enabled: rule["enabled"]?.boolValue ?? true,
                    appliesIfEstablishment: rule["appliesIfEstablishment"]?.stringValue,
                    startsAfterRule: try earlierRule("startsAfterRule")))
        }
        let ids = parsed.map(\.id)
        guard Set(ids).count == ids.count else { throw .invalid("\(source): $.rules", "rule ids must be unique") }
        return parsed
    }

    /// The rules of DOMAIN.md. NIS2 is present but disabled: its French transposition is pending.
    public static let defaultRules: [ObligationRule] = {
        do {
            return try parse(try JSONParser.parse(defaultJSON), source: "built-in rules")
        } catch {
            preconditionFailure("the built-in obligation rules do not parse: \(error)")
        }
    }()

    /// The built-in rule set, as data.
    package static let defaultJSON = #"""
        {"rules": [
          {"id": "gdpr-33-cnil", "title": "Personal data breach notification", "legalBasis": "GDPR art. 33(1)",
           "recipient": "CNIL",
           "startsOn": [
             {"eventType": "service.degraded", "payload": {
               "service": ["patient_record", "laboratory", "imaging_pacs", "pharmacy", "admissions_billing", "surgery_scheduling"],
               "status": ["down", "degraded"]}},
             {"eventType": "data.exfiltration_confirmed"},
             {"eventType": "breach.risk_assessed"}],
           "satisfiedBy": {"eventType": "authority.notified", "payload": {"authority": ["CNIL"]}},
           "notRequiredWhen": {"eventType": "breach.risk_assessed", "payload": {"outcome": ["unlikely_risk"]}},
           "deadlineHours": 72, "inForceFrom": "2018-05-25"},
          {"id": "gdpr-33-4-complement", "title": "Complementary notification: data confirmed stolen after the breach began",
           "legalBasis": "GDPR art. 33(4)", "recipient": "CNIL", "complementOf": "gdpr-33-cnil",
           "startsOn": {"eventType": "data.exfiltration_confirmed"},
           "satisfiedBy": {"eventType": "authority.notified", "payload": {"authority": ["CNIL"]}},
           "notRequiredWhen": {"eventType": "breach.risk_assessed", "payload": {"outcome": ["unlikely_risk"]}},
           "alertAfterHours": 72, "inForceFrom": "2018-05-25"},
          {"id": "gdpr-33-5-register", "title": "Breach register (kept by this ledger)", "legalBasis": "GDPR art. 33(5)",
           "recipient": "internal register",
           "startsOn": [
             {"eventType": "service.degraded", "payload": {
               "service": ["patient_record", "laboratory", "imaging_pacs", "pharmacy", "admissions_billing", "surgery_scheduling"],
               "status": ["down", "degraded"]}},
             {"eventType": "data.exfiltration_confirmed"},
             {"eventType": "breach.risk_assessed"}],
           "inForceFrom": "2018-05-25"},
          {"id": "gdpr-34-persons", "title": "Informing the people concerned of a high-risk breach",
           "legalBasis": "GDPR art. 34", "recipient": "the people concerned",
           "startsOn": [
             {"eventType": "data.exfiltration_confirmed", "payload": {"highRisk": ["true"]}},
             {"eventType": "breach.risk_assessed", "payload": {"outcome": ["high_risk"]}}],
           "satisfiedBy": {"eventType": "persons.notified"},
           "notRequiredWhen": {"eventType": "breach.risk_assessed", "payload": {"outcome": ["unlikely_risk", "risk"]}},
           "alertAfterHours": 72, "inForceFrom": "2018-05-25"},
          {"id": "csp-l1111-8-2", "title": "Health-sector security incident report (sans délai)",
           "legalBasis": "Code de la santé publique L1111-8-2, D1111-16-2 to 16-4", "recipient": "CERT Santé portal and ARS",
           "startsOn": {"eventType": "attack.detected"},
           "satisfiedBy": {"eventType": "authority.notified", "payload": {"authority": ["CERT_SANTE", "ARS"]}},
           "alertAfterHours": 24, "inForceFrom": "2017-10-01"},
          {"id": "nis1-ose-anssi", "title": "Incident report of an operator of essential services",
           "legalBasis": "LPM / NIS1 transposition", "recipient": "ANSSI (CERT-FR)",
           "startsOn": {"eventType": "attack.detected"},
           "satisfiedBy": {"eventType": "authority.notified", "payload": {"authority": ["ANSSI"]}},
           "alertAfterHours": 24, "inForceFrom": "2018-05-09", "appliesIfEstablishment": "essentialOperator"},
          {"id": "nis2-early-warning", "title": "NIS2 early warning", "legalBasis": "Directive (EU) 2022/2555 art. 23",
           "recipient": "ANSSI (CSIRT)", "startsOn": {"eventType": "attack.detected"},
           "satisfiedBy": {"eventType": "authority.notified", "payload": {"authority": ["ANSSI"]}},
           "deadlineHours": 24, "inForceFrom": "2024-10-18", "enabled": false, "appliesIfEstablishment": "nis2Entity"},
          {"id": "nis2-notification", "title": "NIS2 incident notification", "legalBasis": "Directive (EU) 2022/2555 art. 23",
           "recipient": "ANSSI (CSIRT)", "startsOn": {"eventType": "attack.detected"},
           "satisfiedBy": {"eventType": "authority.notified", "payload": {"authority": ["ANSSI"], "kind": ["update", "final"]}},
           "deadlineHours": 72, "inForceFrom": "2024-10-18", "enabled": false, "appliesIfEstablishment": "nis2Entity"},
          {"id": "nis2-final-report", "title": "NIS2 final report", "legalBasis": "Directive (EU) 2022/2555 art. 23",
           "recipient": "ANSSI (CSIRT)", "startsOn": {"eventType": "attack.detected"}, "startsAfterRule": "nis2-notification",
           "satisfiedBy": {"eventType": "authority.notified", "payload": {"authority": ["ANSSI"], "kind": ["final"]}},
           "deadlineHours": 720, "inForceFrom": "2024-10-18", "enabled": false, "appliesIfEstablishment": "nis2Entity"},
          {"id": "insurance-complaint", "title": "Complaint within 72 hours for the cyber insurance to pay",
           "legalBasis": "Code des assurances L12-10-1", "recipient": "police, gendarmerie or prosecutor",
           "startsOn": {"eventType": "attack.detected"}, "satisfiedBy": {"eventType": "complaint.filed"},
           "deadlineHours": 72, "inForceFrom": "2023-04-24"}
        ]}
        """#
}
