import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentDomain
import LedgerServer
import LedgerTestSupport
import NIOCore
import Testing

/// What schemathesis found the server doing against its contract (tools/api-contract-test), kept fixed.
@Suite struct ContractFindingsTests {
    /// Clients percent-encode the `:` of a stream id in a path (schemathesis does, and encodeURIComponent):
    /// the server decodes path segments, so the encoded and the plain form name the same incident.
    @Test func percentEncodedPathSegmentsNameTheSameStream() async throws {
        let ledger = try TwoHospitals()
        let recorder = ledger.tokens["recorder"]!
        let encoded = TwoHospitals.incidentA.replacingOccurrences(of: ":", with: "%3A")
        try await ledger.test { client in
            for uri in [
                "/incidents/\(encoded)", "/incidents/\(encoded)/deadlines", "/incidents/\(encoded)/audit",
                "/streams/\(encoded)/events",
            ] {
                try await client.execute(uri: uri, method: .get, headers: auth(recorder)) { response in
                    #expect(response.status == .ok, "\(uri): \(String(buffer: response.body))")
                }
            }
            try await client.execute(
                uri: "/streams/\(encoded)/events", method: .post, headers: auth(recorder), body: body(noteBody("encoded"))
            ) {
                response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                let result = try json(response)
                #expect(result["streamId"]?.stringValue == TwoHospitals.incidentA)
            }
            try await client.execute(uri: "/establishments/44%30000289/timeline", method: .get, headers: auth(recorder)) {
                response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            // Not UTF-8 once decoded: a 400 naming the parameter.
            try await client.execute(uri: "/incidents/incident%3A%FF", method: .get, headers: auth(recorder)) { response in
                #expect(response.status == .badRequest)
                let problem = try json(response)
                #expect(problem["field"]?.stringValue == "incident")
            }
        }
    }

    /// A principal's name is the actor of what its token appends: a name the envelope would refuse as an
    /// actor (a C1 control character, over 200 bytes, invisible) is refused when the token is issued, not
    /// on every append afterwards; and "without spaces" means any space, U+00A0 too.
    @Test(arguments: ["bad\u{85}name", "nbsp\u{A0}name", String(repeating: "n", count: 201), "\u{200B}", "a\u{FEFF}b"])
    func tokensAreNotIssuedToNamesThatCannotBeActors(_ name: String) throws {
        let ledger = try TwoHospitals()
        #expect(throws: IntakeError.self) {
            try Tokens.issue(in: ledger.store, name: name, role: .recorder, scope: .all, actor: "root", source: "test")
        }
    }

    @Test func theLongestAcceptedNameRecords() async throws {
        let ledger = try TwoHospitals()
        let name = String(repeating: "é", count: 100)  // 200 bytes
        let token = try Tokens.issue(in: ledger.store, name: name, role: .recorder, scope: .all, actor: "root", source: "test")
            .token
        try await ledger.test { client in
            try await client.execute(
                uri: "/streams/\(TwoHospitals.incidentA)/events", method: .post, headers: auth(token),
                body: body(noteBody("long name"))
            ) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
        }
    }

    /// POST /tokens takes at most 64 KiB, and its 413 says so (not the 4 MiB of the event routes).
    @Test func anOversizedTokenRequestNamesItsOwnLimit() async throws {
        let ledger = try TwoHospitals()
        try await ledger.test { client in
            try await client.execute(
                uri: "/tokens", method: .post, headers: auth(ledger.tokens["adminAll"]),
                body: body(String(repeating: " ", count: 70_000) + "{}")
            ) { response in
                #expect(response.status == .contentTooLarge)
                let problem = try json(response)
                #expect(problem["detail"]?.stringValue == "request body: over the limit of 65536 bytes")
            }
        }
    }
}
