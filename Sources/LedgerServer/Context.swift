import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context of the service: Hummingbird's core storage and the principal the bearer token
/// authenticated, if any.
package struct LedgerRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    package var principal: Principal?

    package init(source: Source) {
        self.coreContext = .init(source: source)
    }
}

/// The outermost middleware: refuses new requests once shutdown has begun, authenticates the bearer token,
/// turns every error into a problem document, and logs one line per request (principal, status, duration).
struct FrontDoor: RouterMiddleware {
    let service: LedgerService

    func handle(
        _ request: Request, context: LedgerRequestContext, next: (Request, LedgerRequestContext) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        var response: Response
        do {
            if service.isDraining {
                var problem = Problem(
                    .serviceUnavailable, "shutting-down", "the service is shutting down: retry on its next start")
                problem.headers[.retryAfter] = "5"
                throw problem
            }
            if let header = request.headers[.authorization] {
                guard header.hasPrefix("Bearer "), header.count > 7 else {
                    throw Problem.unauthorized("Authorization: expected \"Bearer <token>\"")
                }
                let token = String(header.dropFirst(7))
                if let jwt = service.jwt, JWTVerifier.isJWT(token) {
                    context.principal = try jwt.principal(token)
                } else {
                    guard let principal = try service.access.principal(token: token) else {
                        throw Problem.unauthorized("Authorization: unknown or revoked token")
                    }
                    context.principal = principal
                }
            }
            response = try await next(request, context)
        } catch {
            var problem = Problem.from(error)
            if problem.kind == "http", problem.status == .notFound {
                problem = Problem.notFound(
                    "\(request.method) \(request.uri.path): no such route (the routes are in /openapi.json)")
            }
            if problem.status == .internalServerError {
                context.logger.error("internal error", metadata: ["error": "\(error)"])
            }
            response = problem.response
        }
        let elapsed = ContinuousClock.now - started
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        context.logger.info(
            "request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
                "principal": "\(context.principal?.name ?? "-")", "durationMicros": "\(micros)",
            ])
        return response
    }
}
