import EventStore
import Foundation
import IncidentDomain

/// Where a ransom stands, derived from the ransom facts of an incident at a query time.
///
/// A payment outranks a refusal (victims have refused, then paid), a refusal outranks a demand (a revised
/// demand after a refusal is still refused), a confirmed demand outranks one only reported, and any demand
/// outranks an earlier "no ransom demanded" (Cannes: none "for now").
public enum RansomStatus: String, Sendable, Hashable, CaseIterable {
    /// `ransom.absent`: no ransom was demanded (so far).
    case absent
    /// `ransom.demanded`, confirmed (or not said otherwise: the field came later than the type).
    case demanded
    /// `ransom.demanded` with `confirmed` false: reported (a claim, the press) and not confirmed.
    case unconfirmed
    /// `ransom.refused`.
    case refused
    /// `ransom.paid`.
    case paid

    private var rank: Int {
        switch self {
        case .absent: 0
        case .unconfirmed: 1
        case .demanded: 2
        case .refused: 3
        case .paid: 4
        }
    }

    /// The status the ransom facts among `events` give, or nil when there is none.
    package static func derive(from events: [IncidentEvent]) -> RansomStatus? {
        events.compactMap { event -> RansomStatus? in
            switch event {
            case .ransomAbsent: .absent
            case .ransomDemanded(let e): e.confirmed == false ? .unconfirmed : .demanded
            case .ransomRefused: .refused
            case .ransomPaid: .paid
            default: nil
            }
        }.max { $0.rank < $1.rank }
    }
}

/// One crisis measure of an incident (a plan blanc, degraded mode…): when it was triggered and, once lifted, when.
public struct CrisisMeasureStatus: Sendable, Hashable {
    /// One of ``Catalogue/crisisMeasures``.
    public let measure: String
    /// The establishment it was taken for; nil: the incident as a whole.
    public let establishment: String?
    /// The `crisis.measure_activated` fact; nil for a lifting recorded without its activation.
    public let activated: FactSummary?
    /// The `crisis.measure_lifted` fact, once lifted.
    public let lifted: FactSummary?

    public var isActive: Bool { lifted == nil }

    /// `plan_blanc` → "plan blanc".
    package static func label(_ measure: String) -> String {
        String(decoding: measure.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    /// Pairs activations and liftings in the order things happened: a lifting ends the active measures of the same
    /// kind and establishment, or, when it names no establishment, every active one of that kind.
    static func fold(_ facts: [(fact: Fact, summary: FactSummary)]) -> [CrisisMeasureStatus] {
        var measures: [CrisisMeasureStatus] = []
        for (fact, summary) in facts {
            switch fact.event {
            case .crisisMeasureActivated(let e):
                measures.append(
                    CrisisMeasureStatus(measure: e.measure, establishment: e.establishment, activated: summary, lifted: nil))
            case .crisisMeasureLifted(let e):
                var matched = false
                for (i, m) in measures.enumerated()
                where m.isActive && m.measure == e.measure && (e.establishment == nil || m.establishment == e.establishment) {
                    measures[i] = CrisisMeasureStatus(
                        measure: m.measure, establishment: m.establishment, activated: m.activated, lifted: summary)
                    matched = true
                }
                if !matched {
                    measures.append(
                        CrisisMeasureStatus(measure: e.measure, establishment: e.establishment, activated: nil, lifted: summary))
                }
            default: break
            }
        }
        return measures
    }
}

extension FactSummary {
    /// How a support provider reads in a sentence: the catalogue's label in `m`'s language, the name recorded
    /// for `OTHER` (else "other provider") or beside the label.
    static func providerLabel(_ provider: String, name: String?, _ m: Messages = .english) -> String {
        let label = provider == "OTHER" ? name ?? m.value(provider, field: "provider") : m.value(provider, field: "provider")
        guard let name, provider != "OTHER" else { return label }
        return "\(label) (\(name))"
    }

    /// An authority by its code (English summaries keep it as recorded, see ``recordedWord``), or for `OTHER` by
    /// the name recorded (else "another authority").
    static func authorityLabel(_ authority: String, name: String?, _ m: Messages) -> String {
        authority == "OTHER" ? name ?? m("summary.anotherAuthority") : recordedWord(authority, field: "authority", m)
    }

    /// " — description" for an `OTHER` authority, whose code says nothing.
    static func otherDetail(_ authority: String, _ description: String?, _ m: Messages) -> String {
        guard authority == "OTHER", let description else { return "" }
        return m("summary.dash", ["text": "", "detail": description])
    }

    /// "10000000 USD", "between 5000000 and 10000000 EUR", "at least 5000000", or "".
    static func amountText(_ amount: Double?, min: Double?, max: Double?, currency: String?, _ m: Messages) -> String {
        let unit = currency.map { " \($0)" } ?? ""
        if let amount { return FigureText.of(amount, m) + unit }
        switch (min, max) {
        case (let low?, let high?):
            return m("summary.amount.between", ["low": FigureText.of(low, m), "high": FigureText.of(high, m), "unit": unit])
        case (let low?, nil): return m("summary.amount.atLeast", ["low": FigureText.of(low, m), "unit": unit])
        case (nil, let high?): return m("summary.amount.upTo", ["high": FigureText.of(high, m), "unit": unit])
        case (nil, nil): return ""
        }
    }
}
