import EventStore
import Foundation
import IncidentDomain
import LedgerTestSupport
import ProjectionRunner
import Testing

@testable import Projections

/// A fact's one-line summary in the view's language, worked out when shown from its event type and payload.
@Suite("Summaries in the view's language")
struct SummaryLanguageTests {
    /// Every fact of the demo (registrations, incidents, revisions): in English exactly the stored summary the
    /// JSON outputs carry, in French other words for every event type that has words of its own.
    @Test func theDemoInEnglishIsTheStoredSummaryAndInFrenchItsOwnWords() throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        try load(try demoDataset(), into: store, clock: clock)
        let book = try LedgerQueries(store: store).fullBook(at: .now)
        let facts = book.registrations + book.incidents.values.flatMap { $0 }
        #expect(facts.count > 50)
        var frenchTypes = Set<String>()
        for fact in facts {
            let summary = FactSummary(fact, possible: false)
            #expect(summary.summaryText(language: .english) == summary.summary, "\(fact.eventType) \(fact.eventId)")
            let french = summary.summaryText(language: .french)
            #expect(!french.isEmpty)
            if french != summary.summary { frenchTypes.insert(fact.eventType) }
        }
        // Every event type of the demo reads differently in French ("correction" is the same word in both, and
        // a correction is a revision of a fact, not a fact).
        let types = Set(facts.map(\.eventType))
        #expect(types.count > 15)
        #expect(types.subtracting(frenchTypes) == [])
    }

    @Test func theWordsOfEachLanguage() throws {
        func summary(_ type: String, _ payload: String) throws -> FactSummary {
            let json = try JSONParser.parse(Data(payload.utf8))
            let event = try IncidentEvent(eventType: type, payload: json)
            let fact = Fact(
                eventId: UUID(), position: 1, streamId: "incident:x", eventType: type, recordedAt: Timestamp(microseconds: 0),
                actor: "a", source: "s", reason: nil,
                occurredAt: try #require(OccurredAt(precision: .instant, start: Timestamp(microseconds: 0))), payload: json,
                event: event, revisions: [])
            return FactSummary(fact, possible: false)
        }
        let cases: [(String, String, String, String)] = [
            (
                "attack.detected", #"{"description": "ransomware"}"#, "detected: ransomware", "détection : ransomware"
            ),
            (
                "data.exfiltration_confirmed", #"{"description": "files posted", "peopleAffected": 1400000}"#,
                "exfiltration confirmed: 1400000 people — files posted",
                "exfiltration confirmée : 1400000 personnes — files posted"
            ),
            (
                "containment.action_taken", #"{"action": "isolate_from_internet", "description": "cut"}"#,
                "containment (isolate_from_internet): cut", "confinement (isolement d'Internet) : cut"
            ),
            (
                "care.impact_reported",
                #"{"establishment": "750712184", "kind": "operations_postponed", "description": "30 operations"}"#,
                "care impact (operations postponed): 30 operations",
                "impact sur les soins (interventions reportées) : 30 operations"
            ),
            (
                "complaint.filed", #"{"filedWith": "prosecutor", "filedBy": "AP-HP"}"#,
                "complaint filed with the prosecutor by AP-HP", "plainte déposée (procureur) par AP-HP"
            ),
            (
                "authority.notified", #"{"authority": "CERT_SANTE", "kind": "initial", "reference": "R-1"}"#,
                "CERT_SANTE notified (initial), ref. R-1", "notification : CERT Santé (initiale), réf. R-1"
            ),
            (
                "ransom.demanded", #"{"amountMin": 5000000, "amountMax": 10000000.5, "currency": "EUR", "confirmed": false}"#,
                "ransom demanded: between 5000000 and 10000000.5 EUR (unconfirmed)",
                "rançon demandée : entre 5000000 et 10000000,5 EUR (non confirmée)"
            ),
        ]
        for (type, payload, english, french) in cases {
            let s = try summary(type, payload)
            #expect(s.summary == english)
            #expect(s.summaryText(language: .english) == english)
            #expect(s.summaryText(language: .french) == french)
        }
    }
}
