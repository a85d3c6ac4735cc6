import ArgumentParser
import EventStore
import Foundation
import IncidentDomain
import LedgerProofs
import ProjectionRunner
import Projections

extension Ledger {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load the demo dataset (five real attacks) into a fresh ledger and show what the ledger answers.",
            discussion: """
                Each dataset line is {"recordAt": time, "event": input event}. The demo replays the days on which the facts
                were learned by setting the ledger's clock to recordAt before each append (the only place the clock is
                not the system's), so that --known-at queries show what was known on each day. Because its recordedAt
                times come from a file, the demo writes only into a directory it creates, and the ledger says for ever
                that its clock was set by a dataset (`ledger stats`, `ledger verify`, a note from every command).
                The dataset of five real attacks is built into the ledger; --dataset reads another.
                """)
        @Option(
            name: .long,
            help: "Where to create the demo ledger: a directory that does not exist yet (default: a new temporary one).")
        var dataDir: String?
        @Option(name: .long, help: "Another dataset file (default: the five attacks built in).") var dataset: String?

        func run() throws {
            let directory = dataDir ?? NSTemporaryDirectory() + "ledger-demo-" + UUID().uuidString.prefix(8)
            if FileManager.default.fileExists(atPath: directory) {
                throw CLIError(
                    "\(directory): already exists; the demo writes only into a new directory (its clock is set by a dataset)",
                    exitCode: CLIError.ledgerProblem)
            }
            let source: (name: String, bytes: [UInt8])
            if let dataset {
                guard let data = FileManager.default.contents(atPath: dataset) else {
                    let exists = FileManager.default.fileExists(atPath: dataset)
                    throw CLIError("\(dataset): \(exists ? "cannot be read" : "no such file")", exitCode: CLIError.invalidInput)
                }
                source = (dataset, Array(data))
            } else {
                source = ("the built-in demo dataset", PackageResources.demo_dataset_ndjson)
            }
            do {
                try show(loading: source, into: directory)
            } catch {
                // Nothing half-made stays behind: the directory is the demo's own.
                try? FileManager.default.removeItem(atPath: directory)
                throw error
            }
        }

        private func show(loading source: (name: String, bytes: [UInt8]), into directory: String) throws {
            let clock = ManualClock(0, provenance: "the dataset of `ledger demo` (\(source.name))")
            var configuration = EventStoreConfiguration()
            configuration.clock = clock
            let store = try EventStore.create(at: directory, configuration: configuration)
            let loaded = try DemoLoader.load(source.bytes, named: source.name, into: store, clock: clock)
            if !loaded.warnings.isEmpty {
                FileHandle.standardError.write(Data(loaded.warnings.map { "warning: \($0)\n" }.joined().utf8))
            }
            let queries = LedgerQueries(store: store)
            let book = try queries.fullBook(at: .now)
            var out = "== Loaded \(loaded.events) events into \(directory)\n"
            out +=
                "   \(book.incidents.count) incidents, \(book.establishments.count) establishments, \(loaded.actors.count) actors, "
            out += "recorded from \(loaded.first.inZone().humanReadable) to \(loaded.last.inZone().humanReadable)\n\n"

            out += "== Current state of every incident (ledger state)\n"
            for s in try queries.states(at: .now) {
                out +=
                    "   \(s.incidentId.padding(toLength: 32, withPad: " ", startingAt: 0)) \(s.phase.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))"
                out += "\(s.servicesNotNormal.count) services not normal, \(s.factCount) facts\n"
            }

            // The establishment whose services changed most: its timeline is the richest.
            let busiest = book.establishments.keys.sorted().max { a, b in
                serviceFacts(book, a) < serviceFacts(book, b)
            }
            if let finess = busiest {
                // As of the last day anything was recorded about it: what the crisis cell saw then.
                let lastRecorded =
                    book.incidents(touching: finess).flatMap { book.incidents[$0] ?? [] }.map(\.recordedAt).max()
                    ?? Timestamp(microseconds: store.configuration.clock.now())
                let asOf = Timestamp(microseconds: lastRecorded.microseconds).inZone()
                out += "\n== Recovery timeline of \(book.establishments[finess]!.name) as of \(asOf.humanReadable)"
                out += " (ledger timeline --hospital \(finess) --as-of \(asOf.rfc3339))\n"
                for timeline in try queries.timelines(establishment: finess, at: QueryTime(asOf: lastRecorded.microseconds)) {
                    out += TimelineRendering.terminal(timeline)
                    let svgPath = directory + "/timeline-\(finess).svg"
                    let htmlPath = directory + "/timeline-\(finess).html"
                    _ = FileManager.default.createFile(atPath: svgPath, contents: Data(TimelineRendering.svg(timeline).utf8))
                    _ = FileManager.default.createFile(atPath: htmlPath, contents: Data(TimelineRendering.html([timeline]).utf8))
                    out += "   Gantt chart: \(svgPath), report: \(htmlPath)\n"
                }
            }

            // Replay: the first corrected fact, as known just before its correction and as known now.
            let corrected = book.incidents.values.joined().filter { $0.revisions.contains { $0.kind == .corrected } }
                .min { $0.revisions[0].position < $1.revisions[0].position }
            if let fact = corrected, let revision = fact.revisions.first {
                let before = revision.recordedAt.microseconds - 1
                out += "\n== Replay: \(fact.streamId) as known at \(Timestamp(microseconds: before).inZone().humanReadable) "
                out += "(--known-at), then as known now\n"
                for (label, time) in [("then", QueryTime(knownAt: before)), ("now ", QueryTime.now)] {
                    let state = try queries.states(incident: fact.streamId, at: time)[0]
                    let facts = state.flattened
                    out +=
                        "   \(label): "
                        + revision.changedFields.map { field in
                            field == "occurredAt"
                                ? "occurredAt of \(fact.eventType) = \(describe(try? queries.fullBook(at: time).fact(fact.eventId)))"
                                : "\(field) = \((try? queries.fullBook(at: time).fact(fact.eventId)?.payload[field]).flatMap { $0 }.map(CanonicalJSON.string) ?? "-")"
                        }.joined(separator: ", ") + "; phase \(facts["phase"]!)\n"
                }
            }

            // As of a time inside an interval: a fact that was only possible then.
            if let interval = book.incidents.values.joined().first(where: {
                $0.eventType == "intrusion.started" && $0.occurredAt.precision == .interval
            }) {
                let middle = (interval.occurredAt.earliest + interval.occurredAt.latest) / 2
                let state = try queries.states(incident: interval.streamId, at: QueryTime(asOf: middle))[0]
                out +=
                    "\n== As of \(Timestamp(microseconds: middle).inZone().humanReadable) (--as-of), \(interval.streamId) was:\n"
                out += "   phase \(state.phase.rawValue); intrusion \(TimelineRendering.describe(interval.occurredAt))"
                out += state.intrusion?.possible == true ? ": possible, not certain at that time\n" : "\n"
                out += "   \(state.factCount) facts had (possibly) happened, \(state.possibleCount) of them only possibly\n"
            }

            out += "\n== Audit of the corrections (recorded wrong) and updates (changed in the world) (ledger audit)\n"
            for entry in try queries.audit(AuditTrail.Filter(), at: .now)
            where entry.eventType == "event.corrected" || entry.eventType == "event.updated" {
                out += "   #\(entry.position) \(entry.recordedAt.inZone().humanReadable) by \(entry.actor): \(entry.summary)\n"
                out += "      reason: \(entry.reason ?? "-")\n"
                for change in entry.fieldChanges {
                    out +=
                        "      \(FactFields.label(change.field)): \(change.before ?? "(none)") -> \(change.after ?? "(none)")\n"
                }
                for change in entry.changes {
                    out += "      changed \(change.field): \(change.before ?? "(none)") -> \(change.after ?? "(none)")\n"
                }
            }

            out += "\n== Regulatory clocks (ledger deadlines)\n"
            for (incident, clocks) in try queries.deadlines(at: .now) {
                out += "   \(incident): " + clocks.map { "\($0.rule.id) \($0.status.rawValue)" }.joined(separator: ", ") + "\n"
            }

            let report = try store.verify()
            out += "\n== Verify: "
            out +=
                report.isValid
                ? "\(report.eventsChecked) events, \(report.indexEntriesChecked) index entries and \(report.subtreesChecked) Merkle subtrees check out; head hash \(report.headHash)\n"
                : "FAILED: \(report.problem!)\n"
            if report.isValid { out += try signedCheckpointAndProof(store, in: directory) }
            out += "\nTry: ledger state --data-dir \(directory) --incident incident:aphp-2021-09 --known-at 2021-09-15\n"
            write(out)
            if !report.isValid || out.contains("FAILED against the root") {
                throw CLIError("verification failed", exitCode: CLIError.verifyFailed)
            }
        }

        /// Signs the head with a key made for the demo, and proves the first corrected fact is in it: the files a
        /// regulator would be handed, checked here with the same algorithms tools/verify_proofs.py uses.
        private func signedCheckpointAndProof(_ store: EventStore, in directory: String) throws -> String {
            let signer: NoteSignerKey
            do { signer = try NoteSignerKey.generate(name: try store.origin()) } catch {
                throw CLIError("demo key: \(error)", exitCode: CLIError.storage)
            }
            try KeyFiles.write(signer.encoded + "\n", to: directory + "/demo-signer.key", mode: 0o600, replacing: false)
            try KeyFiles.write(signer.verifierKey.encoded + "\n", to: directory + "/demo-signer.pub")
            let note = try signCheckpoint(of: store, with: signer)
            try KeyFiles.write(note.text, to: directory + "/checkpoint.txt")
            let size = try store.lastPosition()
            // Position 25: the DPO's correction of the AP-HP count, the first entry of the audit above.
            let position: UInt64 = min(25, size)
            var leaf: [UInt8] = []
            _ = try store.scanLog(fromPosition: position, limit: 1) { _, canonical in leaf = Array(canonical) }
            let hashes = try store.inclusionProof(position: position, size: size)
            let document = InclusionProofDocument(
                treeSize: size, leafIndex: position - 1, leafHash: MerkleTree.leafHash(leaf), hashes: hashes,
                checkpoint: note.text, leaf: String(decoding: leaf, as: UTF8.self))
            let proofPath = directory + "/proof-\(position).json"
            try KeyFiles.write(document.json + "\n", to: proofPath)
            let checked = (try? document.verify(trusting: [signer.verifierKey])) != nil
            var out = "\n== Signed checkpoint (ledger checkpoint) and an inclusion proof (ledger prove \(position))\n"
            out +=
                note.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "   " + $0 }.joined(
                    separator: "\n") + "\n"
            out += "   event \(position) is in it: \(hashes.count) hashes, \(checked ? "checked" : "FAILED") against the root\n"
            out +=
                "   offline: python3 tools/verify_proofs.py inclusion --key \"$(cat \(directory)/demo-signer.pub)\" \(proofPath)\n"
            return out
        }

        private func serviceFacts(_ book: FactBook, _ finess: String) -> Int {
            book.incidents.values.joined().filter {
                ($0.eventType == "service.degraded" || $0.eventType == "service.restored") && $0.establishments.contains(finess)
            }.count
        }

        private func describe(_ fact: Fact?) -> String {
            fact.map { TimelineRendering.describe($0.occurredAt) } ?? "-"
        }
    }
}

/// Loads a dataset of `{"recordAt", "event"}` lines through the same intake as `ledger append`.
enum DemoLoader {
    struct Loaded {
        var events = 0
        var actors = Set<String>()
        var first = Timestamp(microseconds: 0)
        var last = Timestamp(microseconds: 0)
        /// What the intake found probably mistaken, by line: a dataset of one's own should have none.
        var warnings: [String] = []
    }

    static func load(_ data: [UInt8], named path: String, into store: EventStore, clock: ManualClock) throws -> Loaded {
        var loaded = Loaded()
        for (number, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            let location = "\(path) line \(number + 1)"
            let json: JSONValue
            do { json = try JSONParser.parse(line) } catch {
                throw CLIError("\(location): \(error)", exitCode: CLIError.invalidInput)
            }
            guard let text = json["recordAt"]?.stringValue, let recordAt = Timestamp(rfc3339: text) else {
                throw CLIError("\(location): $.recordAt: expected an RFC 3339 time", exitCode: CLIError.invalidInput)
            }
            guard let event = json["event"] else {
                throw CLIError("\(location): $.event: required", exitCode: CLIError.invalidInput)
            }
            clock.set(recordAt.microseconds)
            let input = InputEvents(name: location, items: [InputEvents.Item(json: event, path: "$.event", location: "")])
            let intake = try IncidentIntake(store: store).prepare(
                from: input, defaultStream: nil, defaultActor: "demo", expected: .any)
            _ = try store.appendAtomically(intake.requests)
            loaded.warnings += intake.warnings.map { "\(location): $.event.\($0.warning.field): \($0.warning.message)" }
            loaded.events += 1
            loaded.actors.insert(event["actor"]?.stringValue ?? "demo")
            if loaded.events == 1 { loaded.first = recordAt }
            loaded.last = recordAt
        }
        return loaded
    }
}
