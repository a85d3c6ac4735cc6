import EventStore
import Foundation
import IncidentDomain
import LedgerProofs
import ProjectionRunner
import Projections
import Testing

// This target is compiled with another -package-name (Package.swift): like a program that depends on the
// library, it sees only `public` declarations. That it compiles is the check that the main paths need
// nothing else; what it runs checks that they work.

/// A fresh directory path under the temporary directory, removed when the value is released.
private final class Scratch {
    let path = NSTemporaryDirectory() + "ledger-public-api-" + UUID().uuidString
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A fixed recording clock: 2024-01-16 12:00 UTC.
private let recordingTime: Int64 = 1_705_406_400_000_000

/// The NDJSON a hospital's tool would send: an establishment, an incident, a service down, then back.
private let facts = """
    {"streamId":"establishment:440000289","eventType":"establishment.registered","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"actor":"curator@example.org","source":"FINESS directory","payload":{"finess":"440000289","name":"CHU de Nantes","city":"Nantes"}}
    {"streamId":"incident:chu-nantes-2024-01","eventType":"incident.opened","occurredAt":{"precision":"minute","at":"2024-01-15T08:00:00+01:00"},"actor":"curator@example.org","source":"crisis cell","payload":{"title":"Cyberattack on the CHU de Nantes","establishments":["440000289"]}}
    {"streamId":"incident:chu-nantes-2024-01","eventType":"service.degraded","occurredAt":{"precision":"minute","at":"2024-01-15T01:20:00+01:00"},"actor":"curator@example.org","source":"IT desk","payload":{"establishment":"440000289","service":"external_email","status":"down"}}
    {"streamId":"incident:chu-nantes-2024-01","eventType":"service.restored","occurredAt":{"precision":"minute","at":"2024-01-16T07:00:00+01:00"},"actor":"curator@example.org","source":"IT desk","payload":{"establishment":"440000289","service":"external_email","extent":"full"}}
    """

@Suite("The public API, as a library user sees it")
struct PublicAPITests {
    /// Creates a ledger with a fixed clock and records the four facts through the domain's intake.
    private func recordedLedger(in scratch: Scratch) throws -> EventStore {
        var configuration = EventStoreConfiguration()
        configuration.clock = ManualClock(recordingTime)
        configuration.origin = "hospital.example/ledger"
        // The LMDB settings are reachable through the store's configuration without importing LMDB.
        configuration.environment.maximumMapSize = 1 << 30
        let store = try EventStore.create(at: scratch.path, configuration: configuration)
        let input = try InputEvents.parse(Data(facts.utf8), name: "facts.ndjson")
        let intake = try IncidentIntake(store: store).prepare(
            from: input, defaultStream: nil, defaultActor: "curator@example.org", expected: .any)
        // One request per stream, in input order.
        #expect(intake.requests.map(\.streamId) == ["establishment:440000289", "incident:chu-nantes-2024-01"])
        #expect(intake.requests.map(\.events.count) == [1, 3])
        #expect(intake.warnings.isEmpty, "\(intake.warnings.map(\.warning.description))")
        let results = try store.appendAtomically(intake.requests)
        #expect(results.flatMap(\.positions) == [1, 2, 3, 4])
        return store
    }

    @Test func createAppendReadAndVerify() async throws {
        let scratch = Scratch()
        let store = try recordedLedger(in: scratch)
        #expect(store.commitsAreDurable)

        // Append one more event directly, expecting the stream's current version.
        let incident = "incident:chu-nantes-2024-01"
        let version = try store.streamVersion(of: incident)
        #expect(version == 3)
        let note = ProposedEvent(
            eventType: "note.added",
            occurredAt: OccurredAt(precision: .minute, start: Timestamp(rfc3339: "2024-01-16T09:30:00+01:00")!)!,
            actor: "analyst@example.org", source: "crisis cell", payload: .object(["text": .string("phones back")]))
        let appended = try await store.append([note], to: incident, expectedVersion: .exactly(version))
        #expect(appended.positions == [5])
        #expect(appended.streamVersion == 4)

        // A stale expected version is refused with a code a caller can match.
        let conflict = await #expect(throws: EventStoreError.self) {
            try await store.append([note], to: incident, expectedVersion: .exactly(version))
        }
        #expect(conflict?.code == .wrongExpectedVersion)

        // Read back: the stream, one event by id and by position, the log through the closure API.
        let stream = try store.events(.stream(incident))
        #expect(stream.map(\.eventType) == ["incident.opened", "service.degraded", "service.restored", "note.added"])
        let last = try #require(stream.last)
        // recordedAt comes from the configured clock and grows strictly with position.
        let recorded = try store.events(.log()).map(\.recordedAt.microseconds)
        #expect(recorded.first == recordingTime)
        #expect(zip(recorded, recorded.dropFirst()).allSatisfy { $0 < $1 }, "\(recorded)")
        #expect(last.payload["text"]?.stringValue == "phones back")
        #expect(try store.event(id: last.eventId) == last)
        #expect(try store.event(at: 5) == last)
        #expect(try store.lastPosition() == 5)
        var types: [String] = []
        try store.read(.log(), direction: .backward, limit: 2) { event in
            types.append(event.eventType)
            return true
        }
        #expect(types == ["note.added", "service.restored"])

        // The hash is SHA-256 of the canonical encoding of the envelope without `hash`; each links to the last.
        let canonical = CanonicalJSON.encode(last.hashedJSON)
        #expect(MerkleTree.leafHash(canonical) != MerkleTree.emptyRoot)
        #expect(last.previousHash == stream[2].hash)

        let report = try store.verify()
        #expect(report.isValid, "\(String(describing: report.problem))")
        #expect(report.eventsChecked == 5)
        #expect(report.headHash == last.hash)
        #expect(try store.statistics().events == 5)

        // A second handle opened read-only sees the same log and refuses to write.
        let reader = try EventStore.open(at: scratch.path, readOnly: true)
        #expect(reader.isReadOnly)
        #expect(try reader.lastPosition() == 5)
        await #expect(throws: EventStoreError.self) {
            try await reader.append([note], to: incident)
        }
    }

    @Test func signedCheckpointAndInclusionProof() throws {
        let scratch = Scratch()
        let store = try recordedLedger(in: scratch)
        let signer = try NoteSignerKey.generate(name: "hospital.example/ledger")
        let checkpoint = try store.currentCheckpoint()
        #expect(checkpoint.origin == "hospital.example/ledger")
        #expect(checkpoint.size == 4)
        let note = try checkpoint.signed(by: [signer])
        try store.storeCheckpoint(note)
        #expect(try store.storedCheckpoint() == note)

        // An inclusion proof for the third event, checked as a verifier holding only the public key would.
        let event = try #require(try store.event(at: 3))
        let leaf = CanonicalJSON.encode(event.hashedJSON)
        let proof = InclusionProofDocument(
            treeSize: checkpoint.size, leafIndex: 2, leafHash: MerkleTree.leafHash(leaf),
            hashes: try store.inclusionProof(position: 3, size: checkpoint.size), checkpoint: note.text,
            leaf: String(decoding: leaf, as: UTF8.self))
        let (verified, signers) = try proof.verify(trusting: [signer.verifierKey])
        #expect(verified == checkpoint)
        #expect(signers == [signer.verifierKey])

        // Another key is not trusted; a proof for another leaf does not lead to the root.
        let stranger = try NoteSignerKey.generate(name: "hospital.example/ledger")
        #expect(throws: (any Error).self) { try proof.verify(trusting: [stranger.verifierKey]) }
        var forged = proof
        forged.leafIndex = 1
        #expect(throws: (any Error).self) { try forged.verify(trusting: [signer.verifierKey]) }

        // The tree grows consistently: a consistency proof from size 2 to 4 checks against both roots.
        let old = try store.treeRoot(size: 2)
        let new = try store.treeRoot()
        try MerkleTree.verifyConsistency(
            oldSize: 2, newSize: new.size, oldRoot: old.root, newRoot: new.root,
            proof: try store.consistencyProof(from: 2, to: new.size))
    }

    @Test func projectionViewsOfTheRecordedFacts() throws {
        let scratch = Scratch()
        let store = try recordedLedger(in: scratch)
        let queries = LedgerQueries(store: store)
        let asOf = QueryTime(asOf: Timestamp(rfc3339: "2024-01-17T00:00:00+01:00")!.microseconds)

        let states = try queries.states(at: asOf)
        let state = try #require(states.first)
        #expect(states.count == 1)
        #expect(state.incidentId == "incident:chu-nantes-2024-01")
        #expect(state.title == "Cyberattack on the CHU de Nantes")
        #expect(state.establishments == ["440000289"])
        #expect(state.servicesNotNormal.isEmpty, "\(state.servicesNotNormal)")
        #expect(state.servicesRestored.map(\.service) == ["external_email"])
        #expect(QueryViews.stateText([state], names: try queries.fullBook(at: asOf).establishments).contains("CHU de Nantes"))

        // The recovery timeline: down from 01:20 on the 15th to 07:00 on the 16th, 29.7 hours.
        let timelines = try queries.timelines(establishment: "440000289", at: asOf)
        let timeline = try #require(timelines.first)
        #expect(timeline.establishmentName == "CHU de Nantes")
        let lane = try #require(timeline.lanes.first)
        #expect(lane.service == "external_email")
        #expect(lane.segments.map(\.status) == [.down, .restored])
        let down = try #require(timeline.metrics.serviceHours["external_email"]?.down)
        #expect(abs(down.shortest - 29.666) < 0.01, "\(down)")
        #expect(TimelineRendering.svg(timeline).hasPrefix("<svg"))
        #expect(TimelineRendering.json(timeline)["establishment"]?.stringValue == "440000289")

        // The domain's catalogue describes the event types the intake accepted.
        let spec = try #require(Catalogue.spec(for: "service.degraded"))
        #expect(spec.fields.contains { $0.name == "service" && $0.required })
        #expect(Services.label("external_email") == "External email")
    }
}
