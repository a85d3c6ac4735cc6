import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerServer
import LedgerTestSupport
import Logging
import NIOCore
import Testing

/// The routes the server has and the operations schemas/openapi.json documents are the same, both ways;
/// the server serves that very document; and a route needs a token exactly when the document says so.
/// (tools/api-contract-test checks the responses themselves with schemathesis.)
@Suite struct ContractTests {
    static let documentURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("schemas/openapi.json")
    static let methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    /// One documented operation: "METHOD /path/{param}", and whether it needs a bearer token.
    struct Operation: Hashable, CustomStringConvertible {
        let method: String
        let path: String
        var description: String { "\(method) \(path)" }
    }

    static func document() throws -> [String: Any] {
        let data = try Data(contentsOf: documentURL)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "openapi.json is not an object")
    }

    /// Every operation of the document, with its security: true when it needs the bearer token.
    static func documentedOperations() throws -> [Operation: Bool] {
        let document = try document()
        let paths = try #require(document["paths"] as? [String: Any], "openapi.json has no paths")
        let secured = !((document["security"] as? [Any]) ?? []).isEmpty
        var operations: [Operation: Bool] = [:]
        for (path, item) in paths {
            let item = try #require(item as? [String: Any], "\(path): not an object")
            for method in methods {
                guard let operation = item[method] as? [String: Any] else { continue }
                let security = (operation["security"] as? [Any]).map { !$0.isEmpty } ?? secured
                operations[Operation(method: method.uppercased(), path: path)] = security
            }
        }
        return operations
    }

    /// Every route of the router, its captures written as the document writes them (`{name}`).
    static func serverRoutes(_ router: Router<LedgerRequestContext>) -> Set<Operation> {
        Set(
            router.routes.map { route in
                let path = route.path.components.map { component -> String in
                    let text = component.description
                    return text.hasPrefix(":") ? "{\(text.dropFirst())}" : text
                }
                return Operation(method: route.method.rawValue, path: "/" + path.joined(separator: "/"))
            })
    }

    static func withRouter<T>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        let directory = TemporaryDirectory()
        let store = try EventStore.create(at: directory.path)
        var logger = Logger(label: "contract-test")
        logger.logLevel = .warning
        let app = Application(router: LedgerService(store: store).router(), logger: logger)
        let result = try await app.test(.router, body)
        _ = directory.path  // the ledger's directory lives until the requests are done
        return result
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedOperationIsARoute() throws {
        let directory = TemporaryDirectory()
        let router = LedgerService(store: try EventStore.create(at: directory.path)).router()
        let routes = Self.serverRoutes(router)
        let documented = Set(try Self.documentedOperations().keys)
        // A sanity check of the reading itself: a router without routes would make both sides trivially "agree".
        #expect(routes.count >= 20, "the router lists only \(routes.sorted { $0.description < $1.description })")
        let undocumented = routes.subtracting(documented).map(\.description).sorted()
        let missing = documented.subtracting(routes).map(\.description).sorted()
        #expect(
            undocumented.isEmpty,
            "routes of the server missing from schemas/openapi.json (add them to openapi.source.json): \(undocumented)")
        #expect(missing.isEmpty, "operations of schemas/openapi.json the server does not have: \(missing)")
    }

    /// The server embeds the committed document (Resources/openapi.json links to schemas/openapi.json).
    @Test func servesTheCommittedDocument() async throws {
        let committed = try Data(contentsOf: Self.documentURL)
        try await Self.withRouter { client in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(Data(buffer: response.body) == committed, "GET /openapi.json is not schemas/openapi.json")
            }
        }
    }

    /// Without a token, an operation the document secures gets 401, and one it marks `security: []` does not.
    @Test func operationsNeedATokenExactlyWhenTheDocumentSaysSo() async throws {
        let operations = try Self.documentedOperations()
        #expect(operations.values.contains(false) && operations.values.contains(true))
        try await Self.withRouter { client in
            for (operation, secured) in operations.sorted(by: { $0.key.description < $1.key.description }) {
                // Any value for a capture: the token is checked before the resource is looked up.
                let uri = operation.path.replacingOccurrences(of: #"\{[^}]+\}"#, with: "440000289", options: .regularExpression)
                try await client.execute(uri: uri, method: HTTPRequest.Method(operation.method)!, body: ByteBuffer(string: "{}"))
                {
                    response in
                    if secured {
                        #expect(response.status == .unauthorized, "\(operation) without a token: \(response.status)")
                        #expect(response.headers[.contentType] == "application/problem+json")
                        #expect(response.headers[.wwwAuthenticate] != nil, "\(operation): 401 without WWW-Authenticate")
                    } else {
                        #expect(response.status == .ok, "\(operation) is public in the document but gets \(response.status)")
                    }
                }
            }
        }
    }
}
