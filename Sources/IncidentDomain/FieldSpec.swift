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
    /// A group id: a lower-case slug (`ght-loire-atlantique`) or the group's FINESS juridique (see ``StreamKind/group``).
    case groupId

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
        case .groupId: "group id: a slug like ght-44 or a FINESS juridique"
        }
    }
}

/// One payload field of an event type.
public struct FieldSpec: Sendable, Hashable {
    public let name: String
    public let kind: FieldKind
    public let required: Bool

    package init(_ name: String, _ kind: FieldKind, required: Bool = false) {
        self.name = name
        self.kind = kind
        self.required = required
    }
}

/// A field required only when another field holds one of some values: a support provider `OTHER` must be named.
public struct ConditionalRequirement: Sendable, Hashable {
    public let field: String
    /// The field whose value decides, and the values that make `field` required.
    public let when: String
    public let values: [String]

    package init(_ field: String, when: String, in values: [String]) {
        self.field = field
        self.when = when
        self.values = values
    }
}

/// Two number fields bounding one quantity (`amountMin`, `amountMax`): when both are given, low ≤ high.
public struct FieldRange: Sendable, Hashable {
    public let low: String
    public let high: String

    package init(low: String, high: String) {
        self.low = low
        self.high = high
    }
}

/// A field that cannot be given together with others: an exact `amount` and a range of it.
public struct FieldExclusion: Sendable, Hashable {
    public let field: String
    public let excludes: [String]

    package init(_ field: String, excludes: [String]) {
        self.field = field
        self.excludes = excludes
    }
}

/// That facts of an event type are milestones of the recovery charts (a detection, a notification, a complaint, a
/// data theft), and which payload field tells such milestones apart: one mark per authority notified, per place a
/// complaint was filed with; nil for one mark per type.
public struct ChartMilestone: Sendable, Hashable {
    public let distinguishedBy: String?

    package init(distinguishedBy: String? = nil) { self.distinguishedBy = distinguishedBy }
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
    /// Fields required only when another field has some value.
    public let requiredWhen: [ConditionalRequirement]
    /// Pairs of fields where low ≤ high when both are given.
    public let ranges: [FieldRange]
    /// Fields that exclude others.
    public let exclusions: [FieldExclusion]
    /// Whether its facts are milestones on the recovery charts; nil: they are not.
    public let milestone: ChartMilestone?

    package init(
        eventType: String, summary: String, fields: [FieldSpec], requiresReason: Bool = false, requiresOneOf: [String] = [],
        streamKind: StreamKind, requiredWhen: [ConditionalRequirement] = [], ranges: [FieldRange] = [],
        exclusions: [FieldExclusion] = [], milestone: ChartMilestone? = nil
    ) {
        self.eventType = eventType
        self.summary = summary
        self.fields = fields
        self.requiresReason = requiresReason
        self.requiresOneOf = requiresOneOf
        self.streamKind = streamKind
        self.requiredWhen = requiredWhen
        self.ranges = ranges
        self.exclusions = exclusions
        self.milestone = milestone
    }

    public func field(_ name: String) -> FieldSpec? { fields.first { $0.name == name } }

    /// The rules between fields in words, for help texts: "at least one of …", "name required when provider is OTHER".
    public var ruleNotes: [String] {
        var notes: [String] = []
        if !requiresOneOf.isEmpty { notes.append("at least one of \(requiresOneOf.joined(separator: ", "))") }
        for rule in requiredWhen {
            notes.append("\(rule.field) required when \(rule.when) is \(rule.values.joined(separator: " or "))")
        }
        for range in ranges { notes.append("\(range.low) <= \(range.high)") }
        for exclusion in exclusions {
            notes.append("\(exclusion.field) or \(exclusion.excludes.joined(separator: "/")), not both")
        }
        return notes
    }
}

/// The kinds of streams of the domain.
public enum StreamKind: String, Sendable, Hashable {
    /// `incident:<slug>`: one attack.
    case incident
    /// `establishment:<FINESS>`: one establishment's registration.
    case establishment
    /// `group:<group id>`: a group of establishments (a GHT, a legal entity, a private group) and its members over time.
    case group

    public var prefix: String { rawValue + ":" }
}
