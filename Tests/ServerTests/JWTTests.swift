import Crypto
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerServer
import LedgerTestSupport
import Logging
import Testing
import _CryptoExtras

@Suite struct JWTTests {
    static let issuer = "https://sso.chu-nantes.fr"

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A JWT with `claims`, signed as `alg` by `sign`.
    static func token(alg: String, _ claims: String, sign: (Data) throws -> Data) rethrows -> String {
        let head = base64URL(Data(#"{"alg":"\#(alg)","typ":"JWT"}"#.utf8)) + "." + base64URL(Data(claims.utf8))
        return head + "." + base64URL(try sign(Data(head.utf8)))
    }

    static func claims(
        sub: String = "dr.martin@chu-nantes.fr", iss: String = issuer, exp: Int = Int(Date().timeIntervalSince1970) + 600,
        role: String = "recorder", establishments: String = #"["440000289"]"#, aud: String = #""incidentledger""#
    ) -> String {
        #"{"sub":"\#(sub)","iss":"\#(iss)","exp":\#(exp),"aud":\#(aud),"ledger_role":"\#(role)","ledger_establishments":\#(establishments)}"#
    }

    func whoami(_ service: LedgerService, _ token: String) async throws -> (HTTPResponse.Status, JSONValue) {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let app = Application(router: service.router(), logger: logger)
        return try await app.test(.router) { client in
            let response = try await client.execute(uri: "/whoami", method: .get, headers: [.authorization: "Bearer \(token)"])
            return (response.status, try JSONParser.parse(Data(buffer: response.body)))
        }
    }

    @Test func es256TokensAuthenticateAndEveryFlawIsRefused() async throws {
        let ledger = try TwoHospitals()
        let key = P256.Signing.PrivateKey()
        let service = LedgerService(
            store: ledger.store,
            jwt: try JWTVerifier(issuer: Self.issuer, publicKeyPEM: key.publicKey.pemRepresentation, audience: "incidentledger"))
        let sign = { (data: Data) in try key.signature(for: data).rawRepresentation }
        let (status, me) = try await whoami(service, try Self.token(alg: "ES256", Self.claims(), sign: sign))
        #expect(status == .ok)
        #expect(me["principal"] == .string("dr.martin@chu-nantes.fr") && me["role"] == .string("recorder"))
        #expect(me["establishments"] == .array([.string("440000289")]))

        let other = P256.Signing.PrivateKey()
        let refusals: [(String, String)] = [
            (try Self.token(alg: "ES256", Self.claims(exp: Int(Date().timeIntervalSince1970) - 3600), sign: sign), "expired"),
            (try Self.token(alg: "ES256", Self.claims(iss: "https://evil.example"), sign: sign), "issuer"),
            (try Self.token(alg: "ES256", Self.claims(aud: #""another-app""#), sign: sign), "audience"),
            (try Self.token(alg: "ES256", Self.claims(role: "superuser"), sign: sign), "ledger_role"),
            (try Self.token(alg: "ES256", Self.claims(establishments: #"["nope"]"#), sign: sign), "ledger_establishments"),
            (try Self.token(alg: "ES256", Self.claims()) { try other.signature(for: $0).rawRepresentation }, "signature"),
            (Self.token(alg: "none", Self.claims()) { _ in Data() }, "alg"),
            (try Self.token(alg: "RS256", Self.claims(), sign: sign), "alg"),
            ("abc.def.ghi", "JSON"),
        ]
        for (token, reason) in refusals {
            let (status, problem) = try await whoami(service, token)
            #expect(status == .unauthorized, "\(reason)")
            #expect(problem["detail"]?.stringValue?.contains(reason) == true, "\(reason): \(problem)")
        }
        // The ledger's own tokens still work beside the JWTs.
        #expect(try await whoami(service, ledger.tokens["reader"]!).0 == .ok)
    }

    @Test func rs256TokensAuthenticate() async throws {
        let ledger = try TwoHospitals()
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let service = LedgerService(
            store: ledger.store, jwt: try JWTVerifier(issuer: Self.issuer, publicKeyPEM: key.publicKey.pemRepresentation))
        let token = try Self.token(alg: "RS256", Self.claims(role: "auditor", establishments: #""all""#)) {
            try key.signature(for: $0, padding: .insecurePKCS1v1_5).rawRepresentation
        }
        let (status, me) = try await whoami(service, token)
        #expect(status == .ok, "\(me)")
        #expect(me["role"] == .string("auditor") && me["establishments"] == .string("all"))
    }
}
