/// CloudEvents 1.0 (structured JSON mode): how `ledger export --format cloudevents` writes an event, for
/// consumers that speak CloudEvents (brokers, SIEMs). The ledger's own members travel as extension attributes
/// (lowercase names, as the specification requires); the payload is `data`.
extension RecordedEvent {
    /// The CloudEvents `type` prefix: reverse-DNS, as the specification recommends.
    package static let cloudEventTypePrefix = "org.incidentledger."

    /// This event as a CloudEvent whose `source` is `source` (the ledger's checkpoint origin).
    ///
    /// `time` is the start of `occurredAt` (when the occurrence happened, as CloudEvents means it), with
    /// `occurredprecision` and `occurreduntil` saying how well it is known; `recordedat` is when the ledger
    /// stored it. The event's own `source` (where the fact comes from) is `factsource`, since CloudEvents'
    /// `source` names the producer.
    public func cloudEvent(source: String) -> JSONValue {
        var members: [String: JSONValue] = [
            "specversion": .string("1.0"),
            "id": .string(eventId.lowercasedString),
            "source": .string(source),
            "type": .string(Self.cloudEventTypePrefix + eventType),
            "subject": .string(streamId),
            "time": .string(occurredAt.start.rfc3339),
            "datacontenttype": .string("application/json"),
            "dataschema": .string("schemas/events/\(eventType).schema.json"),
            "data": payload,
            "ledgerposition": .number(JSONNumber(position)),
            "streamversion": .number(JSONNumber(streamVersion)),
            "schemaversion": .number(JSONNumber(schemaVersion)),
            "recordedat": .string(recordedAt.rfc3339Micros),
            "occurredprecision": .string(occurredAt.precision.rawValue),
            "occurreduntil": .string(
                Timestamp(microseconds: occurredAt.latest, offsetSeconds: occurredAt.start.offsetSeconds).rfc3339),
            "actor": .string(actor),
            "factsource": .string(self.source),
            "previoushash": .string(previousHash),
            "hash": .string(hash),
        ]
        if let reason { members["reason"] = .string(reason) }
        if let id = metadata.correlationId { members["correlationid"] = .string(id) }
        if let id = metadata.causationId { members["causationid"] = .string(id) }
        if let origin {
            members["originledger"] = .string(origin.ledger)
            members["originposition"] = .number(JSONNumber(origin.position))
            members["originhash"] = .string(origin.hash)
            members["originrecordedat"] = .string(origin.recordedAt.rfc3339Micros)
        }
        return .object(members)
    }
}
