import EventStore

/// What a payload field holds. One table of these drives payload validation, the `ledger record` flags,
/// the help text, and the test that holds the Swift catalogue equal to schemas/.
public enum FieldKind: Sendable, Hashable {
    /// A non-empty string.
    case text
    /// A FINESS number: 9 characters, département (01–95, 2A, 2B, 97) then 7 digits.
    case finess
    /// A non-empty array of FINESS numbers.
    case finessList
    /// A service id, snake_case (see ``Services``).
    case service
    /// A number from 0 to 100.
    case percent
    /// An integer ≥ 0.
    case count
    /// A number ≥ 0.
    case amount
    case boolean
    /// A 3-letter upper-case currency code.
    case currency
    /// A UUID of an earlier event.
    case eventId
    /// A non-empty array of non-empty strings.
    case textList
    /// One of a closed set of strings.
    case oneOf([String])
    /// An object of replacement payload fields (corrections).
    case changes
    /// An occurredAt object (corrections).
    case occurredAt

    /// The largest amount accepted (10^15): above any ransom or cost in any currency, and small enough that
    /// every view prints it exactly.
    public static let maximumAmount: Double = 1e15

    /// A short description for help texts.
    public var summary: String {
        switch self {
        case .text: "text"
        case .finess: "FINESS number"
        case .finessList: "FINESS numbers, comma-separated"
        case .service: "service id"
        case .percent: "number 0-100"
        case .count: "integer >= 0"
        case .amount: "number 0-10^15"
        case .boolean: "true or false"
        case .currency: "currency code like EUR"
        case .eventId: "event UUID"
        case .textList: "texts, comma-separated"
        case .oneOf(let values): values.joined(separator: "|")
        case .changes: "JSON object of replacement fields"
        case .occurredAt: "time (ISO 8601, a day, a month or an interval)"
        }
    }
}

/// One payload field of an event type.
public struct FieldSpec: Sendable, Hashable {
    public let name: String
    public let kind: FieldKind
    public let required: Bool

    public init(_ name: String, _ kind: FieldKind, required: Bool = false) {
        self.name = name
        self.kind = kind
        self.required = required
    }
}

/// The rules of one event type.
public struct EventTypeSpec: Sendable, Hashable {
    /// e.g. `service.degraded`.
    public let eventType: String
    /// What the event records, for help texts.
    public let summary: String
    public let fields: [FieldSpec]
    /// Corrections and retractions must say why, in the envelope's `reason`.
    public let requiresReason: Bool
    /// At least one of these fields must be present (empty: no such rule).
    public let requiresOneOf: [String]
    /// The stream kind it belongs to.
    public let streamKind: StreamKind

    public func field(_ name: String) -> FieldSpec? { fields.first { $0.name == name } }
}

/// The two kinds of streams of the domain.
public enum StreamKind: String, Sendable, Hashable {
    /// `incident:<slug>`: one attack.
    case incident
    /// `establishment:<FINESS>`: one establishment's registration.
    case establishment

    public var prefix: String { rawValue + ":" }
}
