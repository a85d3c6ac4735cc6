import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import IncidentDomain
import NIOCore

/// An RFC 9457 problem: the HTTP status, a title, and the same one-line reason the CLI prints, with the
/// field at fault when there is one. Thrown by handlers and turned into `application/problem+json`.
package struct Problem: Error, Sendable, CustomStringConvertible {
    package let status: HTTPResponse.Status
    package let kind: String
    package let detail: String
    package var field: String?
    package var extra: [String: JSONValue] = [:]
    package var headers: HTTPFields = [:]

    package init(_ status: HTTPResponse.Status, _ kind: String, _ detail: String, field: String? = nil) {
        self.status = status
        self.kind = kind
        self.detail = detail
        self.field = field
    }

    package var description: String { "\(status.code) \(kind): \(detail)" }

    static func invalid(_ detail: String, field: String? = nil) -> Problem {
        Problem(.unprocessableContent, "invalid-input", detail, field: field)
    }
    static func badRequest(_ detail: String, field: String? = nil) -> Problem {
        Problem(.badRequest, "bad-request", detail, field: field)
    }
    static func notFound(_ detail: String) -> Problem { Problem(.notFound, "not-found", detail) }
    static func forbidden(_ detail: String) -> Problem { Problem(.forbidden, "forbidden", detail) }
    static func unauthorized(_ detail: String) -> Problem {
        var problem = Problem(.unauthorized, "unauthorized", detail)
        problem.headers[.wwwAuthenticate] = "Bearer realm=\"incidentledger\""
        return problem
    }

    /// The problem an event store error is: the status follows the exit code the CLI gives it.
    static func from(_ error: EventStoreError) -> Problem {
        switch error.code {
        case .invalidEvent: return invalid(error.description, field: error.field.isEmpty ? nil : error.field)
        case .payloadTooLarge: return Problem(.contentTooLarge, "payload-too-large", error.description, field: error.field)
        case .wrongExpectedVersion: return Problem(.conflict, "wrong-expected-version", error.description)
        case .eventIdConflict: return Problem(.conflict, "event-id-conflict", error.description, field: "eventId")
        case .noLedger, .notALedger, .corrupted, .unreadable:
            return Problem(.serviceUnavailable, "ledger-unavailable", error.description)
        default: return Problem(.serviceUnavailable, "storage", error.description)
        }
    }

    static func from(_ error: IntakeError) -> Problem {
        switch error.code {
        case .invalidEvent: return invalid(error.message, field: error.field.isEmpty ? nil : error.field)
        case .payloadTooLarge: return Problem(.contentTooLarge, "payload-too-large", error.message)
        case .wrongExpectedVersion: return Problem(.conflict, "wrong-expected-version", error.message)
        case .eventIdConflict: return Problem(.conflict, "event-id-conflict", error.message, field: "eventId")
        case .noLedger: return notFound(error.message)
        default: return Problem(.serviceUnavailable, "storage", error.message)
        }
    }

    /// Any error a handler let through, as a problem. Nothing the client sent reaches here as a 500: input
    /// errors are problems already; what is left is the ledger's own storage.
    static func from(_ error: any Error) -> Problem {
        switch error {
        case let problem as Problem: return problem
        case let error as EventStoreError: return from(error)
        case let error as IntakeError: return from(error)
        case let error as HTTPError:
            return Problem(error.status, "http", error.body ?? error.status.reasonPhrase)
        case is NIOTooManyBytesError:
            return Problem(
                .contentTooLarge, "payload-too-large", "request body: over the limit of \(LedgerService.bodyLimit) bytes")
        default: return Problem(.internalServerError, "internal", "\(error)")
        }
    }

    var response: Response {
        var members: [String: JSONValue] = [
            "type": .string("https://incidentledger.example/problems/\(kind)"),
            "title": .string(status.reasonPhrase), "status": .number(JSONNumber(status.code)), "detail": .string(detail),
        ]
        if let field { members["field"] = .string(field) }
        for (key, value) in extra { members[key] = value }
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(
            status: status, headers: fields,
            body: .init(byteBuffer: ByteBuffer(string: CanonicalJSON.string(.object(members)) + "\n")))
    }
}
