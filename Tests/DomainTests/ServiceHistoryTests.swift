import EventStore
import Foundation
import IncidentDomain
import Testing

/// The service history's index by place (what a restoration looks up) against a filter of every degradation,
/// through degradations, corrections that move them in place or time, and retractions.
@Suite struct ServiceHistoryTests {
    static func at(_ minute: Int) -> OccurredAt {
        OccurredAt(precision: .minute, start: Timestamp(microseconds: Int64(minute) * 60_000_000))!
    }

    @Test func theIndexByPlaceAgreesWithAFilterOfEveryDegradation() throws {
        var random = SystemRandomNumberGenerator()
        let places = ["010010000", "020010001", "030010002"]
        let services = ["telephony", "laboratory", "pharmacy"]
        var history = ServiceHistory()
        var ids: [UUID] = []
        for step in 0..<600 {
            let id = UUID()
            let roll = Int.random(in: 0..<10, using: &random)
            if roll < 6 || ids.isEmpty {
                history.note(
                    eventId: id, eventType: "service.degraded", occurredAt: Self.at(Int.random(in: 0..<50, using: &random)),
                    payload: .object([
                        "establishment": .string(places.randomElement(using: &random)!),
                        "service": .string(services.randomElement(using: &random)!),
                    ]))
                ids.append(id)
            } else if roll < 9 {
                var changes: [String: JSONValue] = [:]
                if Bool.random(using: &random) { changes["service"] = .string(services.randomElement(using: &random)!) }
                if Bool.random(using: &random) { changes["establishment"] = .string(places.randomElement(using: &random)!) }
                var payload: [String: JSONValue] = [
                    "correctedEventId": .string(ids.randomElement(using: &random)!.lowercasedString),
                    "changes": .object(changes),
                ]
                if Bool.random(using: &random) {
                    payload["occurredAt"] = Self.at(Int.random(in: 0..<50, using: &random)).json
                }
                history.note(eventId: id, eventType: "event.corrected", occurredAt: Self.at(step), payload: .object(payload))
            } else {
                history.note(
                    eventId: id, eventType: "event.retracted", occurredAt: Self.at(step),
                    payload: .object(["retractedEventId": .string(ids.randomElement(using: &random)!.lowercasedString)]))
            }
            for place in places {
                let here = history.degradations.values.filter { $0.establishment == place }
                #expect(history.servicesDegraded(at: place) == Set(here.map(\.service)))
                for service in services {
                    let all = here.filter { $0.service == service }
                    #expect(Set(history.degradations(of: service, at: place)) == Set(all))
                    let earliest = history.earliestDegradation(of: service, at: place)
                    #expect(earliest?.occurredAt.earliest == all.map(\.occurredAt.earliest).min())
                    #expect(earliest.map(all.contains) ?? all.isEmpty)
                    let elsewhere = history.degradations.values.filter { $0.service == service && $0.establishment != place }
                    #expect(history.establishments(degrading: service, except: place) == Set(elsewhere.map(\.establishment)))
                }
            }
        }
    }
}
