import EventStore
import Foundation

/// An earlier event as a person names it on a command line: its full id, its position in the log (`#25`, or
/// `25` when shorter than a prefix can be), or a unique prefix of its id of at least
/// ``EventReference/minimumPrefix`` hex digits (`01a233d7-df46`, hyphens optional). Corrections, retractions
/// and updates name their target so; `read --event-id` and `prove` take the same forms.
package enum EventReference: Sendable, Hashable {
    case id(UUID)
    case position(UInt64)
    /// Lower-case hex digits, without hyphens.
    case prefix(String)

    /// Fewer digits than this are refused: an id begins with its recording time (UUIDv7), so that a short prefix
    /// names every event recorded within the same minute or so, and would rarely be unique.
    package static let minimumPrefix = 8

    /// One event a reference may name: enough to say which, when a prefix names several.
    package struct Candidate: Sendable, Hashable {
        package let id: UUID
        package let position: UInt64
        package let streamId: String
        package let eventType: String

        package init(id: UUID, position: UInt64, streamId: String, eventType: String) {
            self.id = id
            self.position = position
            self.streamId = streamId
            self.eventType = eventType
        }
    }

    /// Where references are looked up: the ledger itself, or a service the CLI speaks to.
    package protocol Directory {
        /// The event at `position`, nil when there is none (or none the caller may see); `stream` is the stream
        /// the reference points into, when there is one (a directory may look only there).
        func candidate(at position: UInt64, in stream: String?) throws -> Candidate?
        /// The events whose id begins with the hex digits `prefix`, in `stream` when one is given, at most `limit`.
        func candidates(withIdPrefix prefix: String, in stream: String?, limit: Int) throws -> [Candidate]
    }

    /// Reads the text; nil when it is none of the three forms.
    package init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let id = UUID(text: trimmed) {
            self = .id(id)
            return
        }
        let digits = trimmed.hasPrefix("#") ? trimmed.dropFirst() : Substring(trimmed)
        if !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            trimmed.hasPrefix("#") || digits.count < Self.minimumPrefix, let position = UInt64(digits), position >= 1
        {
            self = .position(position)
            return
        }
        let hex = trimmed.lowercased().filter { $0 != "-" }
        guard !trimmed.hasPrefix("-"), !trimmed.hasSuffix("-"), !trimmed.contains("--"),
            (Self.minimumPrefix..<32).contains(hex.count), hex.allSatisfy(\.isHexDigit)
        else { return nil }
        self = .prefix(hex)
    }

    /// Why `text` names no event, in words for a one-line error after the field's name.
    package static func refusal(_ text: String) -> String {
        let hex = text.lowercased().filter { $0 != "-" }
        if !hex.isEmpty, hex.allSatisfy(\.isHexDigit), hex.count < minimumPrefix {
            return "\"\(text)\" is too short a prefix of an event id: give at least \(minimumPrefix) hex digits, or the "
                + "position (#25)"
        }
        return "\"\(text)\" is not an event id, a position (#25) or a prefix of an id (at least \(minimumPrefix) hex digits)"
    }

    /// The id `text` names, looked up in `directory`; `stream` is the stream the reference must point into
    /// (a correction's own), nil for any. A full id is returned as typed: the rules say whether it exists. A prefix
    /// is matched among `stream`'s events first; one found only elsewhere is returned for the rules to refuse with
    /// its stream named. An ambiguous prefix is refused with its candidates; `field` names the input in errors.
    package static func resolve(_ text: String, field: String, stream: String?, in directory: some Directory)
        throws(IntakeError) -> UUID
    {
        guard let reference = EventReference(text) else {
            throw IntakeError("\(field): \(refusal(text))", field: field)
        }
        do {
            switch reference {
            case .id(let id):
                return id
            case .position(let position):
                guard let found = try directory.candidate(at: position, in: stream) else {
                    throw IntakeError(
                        "\(field): no event\(stream.map { " of \($0)" } ?? "") is at position \(position)", field: field)
                }
                return found.id
            case .prefix(let hex):
                // One more than is ever listed, to know that there are more.
                let shown = 5
                var found = try directory.candidates(withIdPrefix: hex, in: stream, limit: 1000)
                if found.isEmpty, stream != nil {
                    found = try directory.candidates(withIdPrefix: hex, in: nil, limit: shown + 1)
                }
                guard !found.isEmpty else {
                    throw IntakeError(
                        "\(field): no event\(stream.map { " of \($0)" } ?? "") has an id beginning \(hex)", field: field)
                }
                guard found.count == 1 else {
                    let listed = found.prefix(shown).map { "#\($0.position) \($0.id.lowercasedString) (\($0.eventType))" }
                    let more = found.count > shown ? ", and \(found.count - shown)\(found.count >= 1000 ? "+" : "") more" : ""
                    throw IntakeError(
                        "\(field): \(found.count) events have an id beginning \(hex): \(listed.joined(separator: ", "))\(more); "
                            + "give more digits or the position", field: field)
                }
                return found[0].id
            }
        } catch let error as IntakeError {
            throw error
        } catch {
            throw IntakeError("\(field): \(error)", code: .storage, field: field)
        }
    }
}

/// The ledger as a directory of references: positions through the log, prefixes through the id index (any
/// stream) or the stream's own events.
package struct StoredEventDirectory: EventReference.Directory {
    package let store: EventStore

    package init(store: EventStore) { self.store = store }

    /// The event at `position` whatever its stream: a correction pointing into another stream is the rules' to
    /// refuse, with that stream named.
    package func candidate(at position: UInt64, in stream: String?) throws -> EventReference.Candidate? {
        try store.event(at: position).map(Self.candidate)
    }

    package func candidates(withIdPrefix prefix: String, in stream: String?, limit: Int) throws -> [EventReference.Candidate] {
        guard let stream else {
            return try (store.events(withIdPrefix: prefix, limit: limit) ?? []).compactMap { found in
                try store.event(at: found.position).map(Self.candidate)
            }
        }
        var found: [EventReference.Candidate] = []
        try store.read(.stream(stream)) { event in
            if event.eventId.lowercasedString.filter({ $0 != "-" }).hasPrefix(prefix) { found.append(Self.candidate(event)) }
            return found.count < limit
        }
        return found
    }

    static func candidate(_ event: RecordedEvent) -> EventReference.Candidate {
        EventReference.Candidate(
            id: event.eventId, position: event.position, streamId: event.streamId, eventType: event.eventType)
    }
}
