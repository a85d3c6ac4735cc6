import ArgumentParser
import EventStore
import Foundation
import IncidentDomain
import ProjectionRunner
import Projections

/// The shell's dynamic completions (ArgumentParser's `.custom`): event types and field names from the catalogue,
/// and incident ids, FINESS numbers and service ids from the ledger named by `--data-dir` (else
/// `$LEDGER_DATA_DIR`, else ./ledger-data). The ledger is opened read-only and only when it is there: a completion
/// never creates, locks or writes one, and a missing or unreadable ledger just offers nothing of its own.
///
/// The generated scripts call `ledger ---completion <subcommand> -- <option> <word index> <cursor> <words...>`;
/// each function receives the words of the command line, the index of the word being completed and its prefix.
enum Completions {
    @Sendable static func eventTypes(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        offer(Catalogue.all.map(\.eventType), prefix)
    }

    @Sendable static func incidents(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        offer((try? LedgerVocabulary(words: words)?.incidents()) ?? [], prefix)
    }

    @Sendable static func establishments(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        offer((try? LedgerVocabulary(words: words)?.establishments()) ?? [], prefix)
    }

    /// `read --stream`: every incident and establishment stream.
    @Sendable static func streams(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        let vocabulary = try? LedgerVocabulary(words: words)
        let incidents = (try? vocabulary?.incidents()) ?? []
        let establishments = ((try? vocabulary?.establishments()) ?? []).map { StreamKind.establishment.prefix + $0 }
        return offer(incidents + establishments, prefix)
    }

    /// `--set`: `field=` for each field of the event type on the line; after the `=`, the field's values (its
    /// choices, true/false, the services and FINESS numbers the ledger knows).
    @Sendable static func fieldAssignments(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        let spec = words.lazy.compactMap { Catalogue.spec(for: $0) }.first
        let fields = spec?.fields ?? Catalogue.all.flatMap(\.fields)
        guard let equals = prefix.firstIndex(of: "=") else {
            return offer(Array(Set(fields.map { $0.name + "=" })).sorted(), prefix)
        }
        let name = String(prefix[..<equals])
        guard let field = fields.first(where: { $0.name == name }) else { return [] }
        let typed = String(prefix[prefix.index(after: equals)...])
        let values: [String]
        var lead = ""
        switch field.kind {
        case .oneOf(let choices): values = choices
        case .boolean: values = ["true", "false"]
        case .service:
            let vocabulary = try? LedgerVocabulary(words: words)
            values = Array(Set(Services.standard.map(\.id) + ((try? vocabulary?.services()) ?? []))).sorted()
        case .finess:
            values = (try? LedgerVocabulary(words: words)?.establishments()) ?? []
        case .finessList:
            // A list completes its last item.
            if let comma = typed.lastIndex(of: ",") { lead = String(typed[...comma]) }
            values = ((try? LedgerVocabulary(words: words)?.establishments()) ?? []).map { lead + $0 }
        default: values = []
        }
        return offer(values.map { "\(name)=\($0)" }, prefix)
    }

    /// The candidates that extend what is typed, in order.
    static func offer(_ candidates: [String], _ prefix: String) -> [String] {
        candidates.filter { $0.hasPrefix(prefix) }
    }
}

/// What a completion reads of a ledger, opened read-only.
struct LedgerVocabulary {
    let store: EventStore

    /// The ledger the command line names, when there is one; nil otherwise (nothing is created).
    init?(words: [String]) throws {
        var directory: String?
        for (offset, word) in words.enumerated() {
            if word == "--data-dir", offset + 1 < words.count {
                directory = Self.unquoted(words[offset + 1])
            } else if word.hasPrefix("--data-dir=") {
                directory = Self.unquoted(String(word.dropFirst("--data-dir=".count)))
            }
        }
        let path = directory ?? ProcessInfo.processInfo.environment["LEDGER_DATA_DIR"] ?? "ledger-data"
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else { return nil }
        store = try EventStore.open(at: path, readOnly: true)
    }

    /// The shell passes words as typed: `'my ledger'` or `"my ledger"` stands for the directory in the quotes.
    static func unquoted(_ word: String) -> String {
        for quote in ["'", "\""] where word.count >= 2 && word.hasPrefix(quote) && word.hasSuffix(quote) {
            return String(word.dropFirst().dropLast())
        }
        return word.replacingOccurrences(of: "\\ ", with: " ")
    }

    func incidents() throws -> [String] { try IncidentIndex.snapshotInMemory(store).incidents.sorted() }

    func establishments() throws -> [String] { try IncidentIndex.snapshotInMemory(store).establishments().keys.sorted() }

    /// The service ids the ledger's degradations named.
    func services() throws -> [String] {
        var used: Set<String> = []
        try store.read(.eventType("service.degraded")) { event in
            if let service = event.payload["service"]?.stringValue { used.insert(service) }
            return true
        }
        return used.sorted()
    }
}
