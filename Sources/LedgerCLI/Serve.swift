import ArgumentParser
import EventStore
import Foundation
import IncidentDomain
import LedgerServer
import Logging

extension Ledger {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the ledger over HTTP: the API of schemas/openapi.json, live subscriptions and the web page.",
            discussion: """
                Every request but /, /openapi.json and /catalogue needs a bearer token (ledger token issue). The CLI keeps \
                working on the same directory while the server runs. SIGTERM or SIGINT: appends in flight finish, new \
                requests get 503, and the server exits 0. One log line per request on stderr ($LEDGER_LOG_LEVEL: from info by default; debug adds each group commit's size).
                """)
        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "The address to listen on.") var host: String = "127.0.0.1"
        @Option(name: .long, help: "The port (0: any free port; the URL is printed).") var port: Int = 8080
        @Option(name: .long, help: "Also accept JWTs from this issuer (the iss claim; needs --jwt-key).") var jwtIssuer: String?
        @Option(name: .long, help: "The issuer's public key, a PEM file (RSA for RS256, EC P-256 for ES256).") var jwtKey: String?
        @Option(name: .long, help: "The audience a JWT must name (aud), if any.") var jwtAudience: String?

        func validate() throws {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
            guard (jwtIssuer == nil) == (jwtKey == nil) else { throw ValidationError("--jwt-issuer and --jwt-key go together") }
        }

        func run() throws {
            var jwt: JWTVerifier?
            if let jwtIssuer, let jwtKey {
                guard let pem = try? String(contentsOfFile: jwtKey, encoding: .utf8) else {
                    throw CLIError("--jwt-key \(jwtKey): cannot be read", exitCode: CLIError.invalidInput)
                }
                do { jwt = try JWTVerifier(issuer: jwtIssuer, publicKeyPEM: pem, audience: jwtAudience) } catch {
                    throw CLIError("--jwt-key \(jwtKey): \(error)", exitCode: CLIError.invalidInput)
                }
            }
            // One logger for the server and its store (map growth, stale readers), on stderr from
            // $LEDGER_LOG_LEVEL, by default info (bootstrapLogging).
            let logger = Logger(label: "incidentledger")
            var configuration = EventStoreConfiguration()
            configuration.logger = logger
            let store = try ledger.openStore(configuration: configuration)
            let service = LedgerService(store: store, logger: logger, jwt: jwt)
            let host = host
            let port = port
            let origin = try store.origin()
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var failure: (any Error)?
            Task {
                do {
                    try await service.run(host: host, port: port) { bound in
                        FileHandle.standardOutput.write(Data("serving \(origin) at http://\(host):\(bound)/\n".utf8))
                    }
                } catch { failure = error }
                done.signal()
            }
            done.wait()
            if let failure {
                throw CLIError("serve: \(failure)", exitCode: CLIError.storage)
            }
        }
    }

    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue, list and revoke the bearer tokens of the service (each grant and revocation is an event).",
            subcommands: [Issue.self, List.self, Revoke.self])

        struct Issue: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Grant a role to a principal and print its token once (the ledger keeps only its SHA-256).")
            @OptionGroup var ledger: LedgerOptions
            @Option(name: .long, help: "The principal: the actor recorded for everything this token appends.") var name: String
            @Option(name: .long, help: "reader, recorder, auditor or admin.") var role: String
            @Option(name: .long, help: "A FINESS number the principal reaches (repeat).") var establishment: [String] = []
            @Flag(name: .long, help: "Reach every establishment.") var allEstablishments = false
            @Option(name: .long, help: "Who grants it (default: $LEDGER_ACTOR, else the OS user).") var actor: String?

            func run() throws {
                guard let role = AccessRole(rawValue: role) else {
                    throw CLIError(
                        "--role: \"\(role)\" is not one of \(AccessRole.allCases.map(\.rawValue).joined(separator: ", "))",
                        exitCode: CLIError.usage)
                }
                guard allEstablishments != !establishment.isEmpty else {
                    throw CLIError(
                        "give --establishment FINESS (repeat) or --all-establishments, not both", exitCode: CLIError.usage)
                }
                let scope: AccessScope = allEstablishments ? .all : .establishments(Set(establishment))
                let store = try ledger.openStore()
                let (token, grant) = try Tokens.issue(
                    in: store, name: name, role: role, scope: scope, actor: defaultActor(actor), source: "ledger token issue")
                print(token)
                FileHandle.standardError.write(
                    Data(
                        "issued token \(grant.tokenId) to \(grant.principal): \(role.rawValue) on \(scope.description) (position \(grant.position)); it is shown only this once\n"
                            .utf8))
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the tokens granted, revoked ones included.")
            @OptionGroup var ledger: LedgerOptions

            func run() throws {
                let store = try ledger.openStoreForReading()
                let grants = try AccessEvents.grants(in: store).values.sorted { $0.position < $1.position }
                if grants.isEmpty { print("no token was issued") }
                for g in grants {
                    let when = Timestamp(microseconds: g.grantedAt).inZone().humanReadable
                    print(
                        "\(g.tokenId)  \(g.principal)  \(g.role.rawValue) on \(g.scope.description)  granted by \(g.grantedBy) \(when)\(g.isRevoked ? "  REVOKED by \(g.revokedBy ?? "?")" : "")"
                    )
                }
            }
        }

        struct Revoke: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (or a unique prefix of it).")
            @OptionGroup var ledger: LedgerOptions
            @Argument(help: "The token id, as `ledger token list` shows it.") var tokenId: String
            @Option(name: .long, help: "Why (recorded with the revocation).") var reason: String =
                "revoked with ledger token revoke"
            @Option(name: .long, help: "Who revokes (default: $LEDGER_ACTOR, else the OS user).") var actor: String?

            func run() throws {
                let store = try ledger.openStore()
                let grant = try Tokens.revoke(in: store, tokenId: tokenId, actor: defaultActor(actor), reason: reason)
                print("revoked token \(grant.tokenId) of \(grant.principal)")
            }
        }
    }
}
