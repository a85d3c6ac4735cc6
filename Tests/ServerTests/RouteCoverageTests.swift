import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentDomain
import LedgerProofs
import LedgerServer
import LedgerTestSupport
import NIOCore
import Testing

@Suite struct RouteCoverageTests {
    /// Every read route answers a principal allowed to use it, with the content type it promises.
    @Test func everyRouteAnswers() async throws {
        let ledger = try TwoHospitals()
        let admin = ledger.tokens["adminAll"]!
        let a = TwoHospitals.a
        let incident = TwoHospitals.incidentA
        let routes: [(String, String)] = [
            ("/", "text/html; charset=utf-8"), ("/openapi.json", "application/json"), ("/healthz", "application/json"),
            ("/catalogue", "application/json"), ("/whoami", "application/json"), ("/incidents", "application/json"),
            ("/incidents/\(incident)", "application/json"), ("/incidents/\(incident)?format=text", "text/plain; charset=utf-8"),
            ("/incidents/\(incident)/deadlines", "application/json"), ("/incidents/\(incident)/audit", "application/json"),
            ("/deadlines", "application/json"), ("/audit?actor=scribe", "application/json"),
            ("/establishments", "application/json"),
            ("/establishments/\(a)/timeline", "application/json"), ("/establishments/\(a)/timeline?format=svg", "image/svg+xml"),
            ("/establishments/\(a)/timeline?format=html", "text/html; charset=utf-8"),
            ("/establishments/\(a)/timeline?format=text&width=40", "text/plain; charset=utf-8"),
            ("/events?from=2&limit=3", "application/json"), ("/streams/\(incident)/events?limit=1", "application/json"),
            ("/verify", "application/json"), ("/stats", "application/json"), ("/tokens", "application/json"),
        ]
        try await ledger.test { client in
            for (uri, type) in routes {
                try await client.execute(uri: uri, method: .get, headers: auth(admin)) { response in
                    #expect(response.status == .ok, "\(uri): \(String(buffer: response.body).prefix(300))")
                    #expect(response.headers[.contentType] == type, "\(uri)")
                }
            }
            // The catalogue gives a form what it needs: kinds, required fields and enumerations.
            let catalogue = try json(try await client.execute(uri: "/catalogue", method: .get))
            let degraded = catalogue.arrayValue?.first { $0["eventType"] == .string("service.degraded") }
            let status = degraded?["fields"]?.arrayValue?.first { $0["name"] == .string("status") }
            #expect(status?["values"] == .array([.string("down"), .string("degraded")]) && status?["required"] == .bool(true))
            // Paging: a next link that continues where the page stopped.
            let page = try json(
                try await client.execute(uri: "/streams/\(incident)/events?limit=1", method: .get, headers: auth(admin)))
            #expect(page["next"] == .string("/streams/\(incident)/events?from=2&limit=1"))
        }
    }

    /// Tokens through the API: an admin grants within its scope only; the token works at once.
    @Test func adminsIssueTokensWithinTheirScope() async throws {
        let ledger = try TwoHospitals()
        try await ledger.test { client in
            let grant = #"{"name":"dpo@chu-nantes.fr","role":"reader","establishments":["440000289"]}"#
            let issued = try await client.execute(
                uri: "/tokens", method: .post, headers: auth(ledger.tokens["admin"]), body: body(grant))
            #expect(issued.status == .created)
            let token = try json(issued)["token"]?.stringValue ?? ""
            let whoami = try json(try await client.execute(uri: "/whoami", method: .get, headers: auth(token)))
            #expect(whoami["principal"] == .string("dpo@chu-nantes.fr") && whoami["role"] == .string("reader"))
            let wider = #"{"name":"x@chu-rennes.fr","role":"reader","establishments":["350005179"]}"#
            let refused = try await client.execute(
                uri: "/tokens", method: .post, headers: auth(ledger.tokens["admin"]), body: body(wider))
            #expect(refused.status == .forbidden)
            let bad = #"{"name":"x","role":"superuser","establishments":"all"}"#
            let invalid = try await client.execute(
                uri: "/tokens", method: .post, headers: auth(ledger.tokens["adminAll"]), body: body(bad))
            #expect(invalid.status == .unprocessableContent)
        }
        // Only the hash is kept.
        let grants = try AccessEvents.grants(in: ledger.store).values
        #expect(grants.contains { $0.principal == "dpo@chu-nantes.fr" && $0.tokenHash.count == 64 })
    }

    /// The latest signed checkpoint and the proofs against it, checked as a regulator would.
    @Test func checkpointAndProofs() async throws {
        let ledger = try TwoHospitals()
        let signer = try NoteSignerKey.generate(name: try ledger.store.origin())
        let first = try ledger.store.currentCheckpoint().signed(by: [signer])
        try ledger.store.storeCheckpoint(first)
        try ledger.append(TwoHospitals.incidentA, "note.added", at: "2024-01-16", ["text": .string("later")])
        let second = try ledger.store.currentCheckpoint().signed(by: [signer])
        try ledger.store.storeCheckpoint(second)
        let small = try Checkpoint(body: first.body).size
        let large = try Checkpoint(body: second.body).size
        let reader = ledger.tokens["reader"]!
        try await ledger.test { client in
            let note = try await client.execute(uri: "/checkpoint", method: .get, headers: auth(reader))
            #expect(String(buffer: note.body) == second.text)
            let inclusion = try await client.execute(uri: "/proofs/inclusion?position=2", method: .get, headers: auth(reader))
            #expect(inclusion.status == .ok, "\(String(buffer: inclusion.body))")
            let document = try InclusionProofDocument(fields: proofFields(try json(inclusion)))
            #expect(try document.verify(trusting: [signer.verifierKey]).checkpoint.size == large)
            let consistency = try await client.execute(
                uri: "/proofs/consistency?from=\(small)&to=\(large)", method: .get, headers: auth(reader))
            let proof = try ConsistencyProofDocument(fields: proofFields(try json(consistency)))
            #expect(try proof.verify(trusting: [signer.verifierKey]).new.size == large)
            // A reader of A gets no proof of B's events, and unsigned sizes are 404.
            let other = try await client.execute(uri: "/proofs/inclusion?position=4", method: .get, headers: auth(reader))
            #expect(other.status == .notFound)
            #expect(
                !String(buffer: other.body).contains(TwoHospitals.incidentB),
                "the refusal does not name the other hospital's stream")
            let unsigned = try await client.execute(
                uri: "/proofs/consistency?from=1&to=\(large)", method: .get, headers: auth(reader))
            #expect(unsigned.status == .notFound)
        }
    }
}

/// A proof document's JSON as the proof types read it.
func proofFields(_ json: JSONValue) -> [String: ProofDocumentValue] {
    var fields: [String: ProofDocumentValue] = [:]
    for (name, value) in json.objectValue ?? [:] {
        switch value {
        case .string(let s): fields[name] = .string(s)
        case .number(let n): fields[name] = UInt64(n.text).map(ProofDocumentValue.integer)
        case .array(let a): fields[name] = .strings(a.compactMap(\.stringValue))
        default: break
        }
    }
    return fields
}
