import Crypto
import EventStore
import Foundation
import IncidentDomain
import _CryptoExtras

/// Bearer JWTs from a hospital's identity provider, checked against one issuer's public key.
///
/// The signature (RS256 with an RSA key, ES256 with a P-256 key; nothing else, `none` never), the issuer, the
/// audience when one is configured, `exp` (required) and `nbf` are checked; the principal is `sub`, its role
/// the `ledger_role` claim and its scope `ledger_establishments` (FINESS numbers, or "all"). A JWT cannot be
/// revoked in the ledger: its lifetime is the identity provider's.
package struct JWTVerifier: Sendable {
    /// The key's DER bytes: Crypto's P-256 key type is not Sendable, so it is rebuilt for each check.
    enum Key: Sendable {
        case rsa(Data)
        case p256(Data)
    }
    let key: Key
    package let issuer: String
    package let audience: String?
    /// Seconds of clock difference tolerated on `exp` and `nbf`.
    static let leeway: Int64 = 60

    /// Reads a PEM public key (RSA or EC P-256).
    package init(issuer: String, publicKeyPEM pem: String, audience: String? = nil) throws {
        self.issuer = issuer
        self.audience = audience
        if let key = try? P256.Signing.PublicKey(pemRepresentation: pem) {
            self.key = .p256(key.derRepresentation)
        } else if let key = try? _RSA.Signing.PublicKey(pemRepresentation: pem) {
            self.key = .rsa(key.derRepresentation)
        } else {
            throw IntakeError("not a PEM public key of RSA or EC P-256", field: "jwt-key")
        }
    }

    /// Looks like a JWT: three base64url parts.
    static func isJWT(_ token: String) -> Bool { token.split(separator: ".", omittingEmptySubsequences: false).count == 3 }

    /// The principal of a valid token; a problem naming what is wrong otherwise.
    func principal(_ token: String, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> Principal {
        func refuse(_ why: String) -> Problem { Problem.unauthorized("Authorization: JWT \(why)") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Self.base64URL(parts[0]), let payloadBytes = Self.base64URL(parts[1]),
            let signature = Self.base64URL(parts[2])
        else { throw refuse("is not three base64url parts") }
        guard let header = try? JSONParser.parse(headerBytes), let claims = try? JSONParser.parse(payloadBytes) else {
            throw refuse("header or claims are not JSON")
        }
        let signed = Data("\(parts[0]).\(parts[1])".utf8)
        switch (header["alg"]?.stringValue, key) {
        case ("RS256"?, .rsa(let der)):
            guard let key = try? _RSA.Signing.PublicKey(derRepresentation: der),
                key.isValidSignature(
                    _RSA.Signing.RSASignature(rawRepresentation: signature), for: signed, padding: .insecurePKCS1v1_5)
            else { throw refuse("signature does not verify") }
        case ("ES256"?, .p256(let der)):
            guard let key = try? P256.Signing.PublicKey(derRepresentation: der),
                let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
                key.isValidSignature(ecdsa, for: signed)
            else { throw refuse("signature does not verify") }
        case (let alg, _):
            throw refuse("alg \(alg.map { "\"\($0)\"" } ?? "missing") is not the configured key's (\(keyAlgorithm))")
        }
        guard claims["iss"]?.stringValue == issuer else { throw refuse("issuer is not \(issuer)") }
        if let audience {
            let audiences = claims["aud"]?.arrayValue?.compactMap(\.stringValue) ?? claims["aud"]?.stringValue.map { [$0] } ?? []
            guard audiences.contains(audience) else { throw refuse("audience does not include \(audience)") }
        }
        guard let exp = Self.seconds(claims["exp"]) else { throw refuse("has no exp") }
        guard now < exp + Self.leeway else { throw refuse("expired") }
        if let nbf = Self.seconds(claims["nbf"]), now + Self.leeway < nbf { throw refuse("is not valid yet (nbf)") }
        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty else { throw refuse("has no sub") }
        guard let role = claims["ledger_role"]?.stringValue.flatMap(AccessRole.init) else {
            throw refuse("has no ledger_role (one of \(AccessRole.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let scope: AccessScope
        switch claims["ledger_establishments"] {
        case .string("all")?: scope = .all
        case .array(let list)? where !list.isEmpty && list.allSatisfy({ $0.stringValue.map(PayloadValidator.isFINESS) == true }):
            scope = .establishments(Set(list.compactMap(\.stringValue)))
        default: throw refuse("has no ledger_establishments (FINESS numbers, or \"all\")")
        }
        return Principal(name: subject, role: role, scope: scope, tokenId: "jwt:" + String(Tokens.hash(token).prefix(16)))
    }

    var keyAlgorithm: String {
        switch key {
        case .rsa: "RS256"
        case .p256: "ES256"
        }
    }

    static func seconds(_ value: JSONValue?) -> Int64? {
        value?.numberValue.flatMap { Int64(exactly: $0.doubleValue.rounded(.down)) }
    }

    static func base64URL(_ part: Substring) -> Data? {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text)
    }
}
