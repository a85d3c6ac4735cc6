/// The catalogue's ids in words for people: event types, payload fields, services and the values of enumerated
/// fields, from the `catalogue.` keys of each language's table. Stored events and JSON keep the ids.
///
/// Every id of the catalogue has a label in both languages (a test walks the catalogue). An id the tables do not
/// know (an establishment's own service, an event type of a later catalogue) falls back to the raw id, or for a
/// service to its id made readable, so that nothing is ever hidden.
extension Messages {
    /// "Authority notified", "Autorité notifiée"; the event type itself when unknown.
    public func eventType(_ eventType: String) -> String { label("catalogue.event." + eventType) ?? eventType }

    /// "people affected", "personnes concernées"; the field's name itself when unknown.
    public func field(_ name: String) -> String { label("catalogue.field." + name) ?? name }

    /// "Patient record (DPI)", "Dossier patient informatisé (DPI)"; an establishment's own id made readable
    /// (`emergency_software`: "Emergency software") when unknown.
    public func service(_ id: String) -> String { label("catalogue.service." + id) ?? Services.readable(id) }

    /// A value of an enumerated field: "ambulance diversion", "délestage des ambulances"; the value itself when
    /// unknown (free text, or a value of a later catalogue).
    public func value(_ value: String, field: String) -> String { label("catalogue.value.\(field).\(value)") ?? value }

    private func label(_ key: String) -> String? { has(key) ? self(key) : nil }
}

extension EventTypeSpec {
    /// The event type in words, in `language`.
    public func label(language: Language) -> String { Messages.of(language).eventType(eventType) }
}

extension FieldSpec {
    /// The field's name in words, in `language`.
    public func label(language: Language) -> String { Messages.of(language).field(name) }
}
