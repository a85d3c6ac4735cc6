@testable import EventStore
import Foundation
@testable import IncidentDomain

/// A realistic incident workload, deterministic for a seed: establishments registered first, then
/// incidents, each opened, detected, contained, with services going down and coming back, care impact,
/// notifications, notes and the odd correction, interleaved across incidents as a regional CERT would see
/// them. Payloads carry a few hundred bytes of description.
struct Workload {
    let events: Int
    let establishments: Int
    let incidents: Int
    let seed: UInt64

    /// A small, fast generator (SplitMix64): the same seed gives the same file.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static let phrases = [
        "the crisis cell confirmed the outage with the IT department on the phone",
        "staff switched to paper forms and the emergency department kept admitting patients",
        "the regional health agency was informed and asked for a written update by the evening",
        "backups were checked offline before any server was brought back on the network",
        "the attackers' note was found on several file servers of the administrative network",
        "the DPO opened a breach register entry and asked the processors for their logs",
        "appointments were rescheduled by telephone and patients were told by text message",
        "the laboratory sent results by courier while its software stayed disconnected",
    ]

    func finess(_ i: Int) -> String { String(format: "%02d%07d", 1 + i % 95, 10_000 + i) }
    func incidentStream(_ i: Int) -> String { "incident:bench-\(String(format: "%05d", i))" }

    /// Writes the workload as NDJSON input events to `path`.
    func write(to path: String) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var random = Random(state: seed)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        let base = Timestamp(rfc3339: "2024-01-01T00:00:00+01:00")!.microseconds
        var openedIncidents = 0
        var incidentEstablishment: [Int] = []
        var lastIds: [Int: UUID] = [:]
        func emit(
            _ stream: String, _ type: String, _ occurredMicros: Int64, _ payload: [String: JSONValue], id: UUID? = nil,
            reason: String? = nil
        ) throws {
            let at = OccurredAt(
                precision: .minute,
                start: Timestamp(microseconds: occurredMicros - occurredMicros % 60_000_000, offsetSeconds: 3600))!
            var event: [String: JSONValue] = [
                "streamId": .string(stream), "eventType": .string(type), "occurredAt": at.json,
                "actor": .string("analyst-\(random.below(40))@region.example"),
                "source": .string("crisis cell log, call \(random.below(100_000))"), "payload": .object(payload),
            ]
            if let id { event["eventId"] = .string(id.uuidString.lowercased()) }
            if let reason { event["reason"] = .string(reason) }
            CanonicalJSON.write(.object(event), into: &buffer)
            buffer.append(0x0A)
            if buffer.count > 1 << 20 {
                handle.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        func text() -> JSONValue {
            var random2 = random
            let s = Self.phrases[random2.below(Self.phrases.count)] + "; " + Self.phrases[random2.below(Self.phrases.count)]
            random = random2
            return .string(s)
        }
        var written = 0
        for e in 0..<establishments where written < events {
            try emit(
                "establishment:\(finess(e))", "establishment.registered", base,
                [
                    "finess": .string(finess(e)), "name": .string("Centre hospitalier \(e)"), "city": .string("City \(e % 300)"),
                    "group": .string("GHT \(e / 9)"), "essentialOperator": .bool(e % 4 == 0),
                ])
            written += 1
        }
        let services = Services.standard.map(\.id)
        while written < events {
            // Open a new incident now and then, else add a fact to a random open one.
            if openedIncidents < incidents && (openedIncidents == 0 || random.below(events / incidents) == 0) {
                let est = random.below(establishments)
                incidentEstablishment.append(est)
                let t = base + Int64(openedIncidents) * 3_600_000_000
                try emit(
                    incidentStream(openedIncidents), "incident.opened", t,
                    [
                        "title": .string("Attack \(openedIncidents)"), "establishments": .array([.string(finess(est))]),
                        "summary": text(),
                    ])
                openedIncidents += 1
                written += 1
                continue
            }
            let i = random.below(openedIncidents)
            let stream = incidentStream(i)
            let est = finess(incidentEstablishment[i])
            let t = base + Int64(i) * 3_600_000_000 + Int64(random.below(30 * 24 * 60)) * 60_000_000
            let id = UUID()
            let kind = random.below(20)
            switch kind {
            case 0: try emit(stream, "attack.detected", t, ["description": text(), "detectedBy": .string("SOC")])
            case 1:
                try emit(
                    stream, "containment.action_taken", t, ["action": .string("isolate_from_internet"), "description": text()])
            case 2...6:
                try emit(
                    stream, "service.degraded", t,
                    [
                        "establishment": .string(est), "service": .string(services[random.below(services.count)]),
                        "status": .string(random.below(2) == 0 ? "down" : "degraded"),
                        "capacityPercent": .number(JSONNumber(random.below(80))),
                        "description": text(),
                    ], id: id)
            case 7...10:
                try emit(
                    stream, "service.restored", t,
                    [
                        "establishment": .string(est), "service": .string(services[random.below(services.count)]),
                        "extent": .string(random.below(3) == 0 ? "full" : "partial"),
                        "capacityPercent": .number(JSONNumber(50 + random.below(50))),
                        "description": text(),
                    ])
            case 11, 12:
                try emit(
                    stream, "care.impact_reported", t,
                    [
                        "establishment": .string(est), "kind": .string("operations_postponed"),
                        "count": .number(JSONNumber(random.below(200))), "description": text(),
                    ])
            case 13:
                try emit(
                    stream, "authority.notified", t,
                    [
                        "authority": .string(["CNIL", "ANSSI", "CERT_SANTE", "ARS"][random.below(4)]),
                        "reference": .string("REF-\(random.below(1_000_000))"), "description": text(),
                    ])
            case 14:
                if let target = lastIds[i] {
                    try emit(
                        stream, "event.corrected", t,
                        [
                            "correctedEventId": .string(target.uuidString.lowercased()),
                            "changes": .object(["capacityPercent": .number(JSONNumber(random.below(100)))]),
                        ], reason: "figure checked again")
                } else {
                    try emit(stream, "note.added", t, ["text": text()])
                }
            default: try emit(stream, "note.added", t, ["text": text()])
            }
            // Corrections point at the incident's last degradation.
            if (2...6).contains(kind) { lastIds[i] = id }
            written += 1
        }
        handle.write(Data(buffer))
    }
}
