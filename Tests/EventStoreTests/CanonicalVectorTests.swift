import Crypto
import Foundation
import LedgerTestSupport
import Testing

@testable import EventStore

/// The canonical form is RFC 8785 (JCS): the published vectors hold for the ledger's encoder and for an
/// independent implementation (PyPI rfc8785), and random values encode alike in both.
@Suite("RFC 8785 canonical form")
struct CanonicalVectorTests {
    struct Vector {
        let name: String
        let event: JSONValue
        let canonical: String
        let sha256: String
    }

    func vectors() throws -> [Vector] {
        let file = try JSONParser.parse(Data(contentsOf: URL(fileURLWithPath: packageRoot() + "/docs/canonical-vectors.json")))
        return try #require(file["vectors"]?.arrayValue).map { v in
            Vector(
                name: v["name"]!.stringValue!, event: v["event"]!, canonical: v["canonical"]!.stringValue!,
                sha256: v["sha256"]!.stringValue!)
        }
    }

    @Test func thePublishedVectorsHoldForTheLedgersEncoder() throws {
        let all = try vectors()
        #expect(all.count >= 6)
        for vector in all {
            let bytes = CanonicalJSON.encode(vector.event)
            #expect(String(decoding: bytes, as: UTF8.self) == vector.canonical, "\(vector.name)")
            #expect(EventCodec.hex(Array(SHA256.hash(data: bytes))) == vector.sha256, "\(vector.name)")
            // The envelope writer of the append path spells the same bytes.
            let recorded = try EventCodec.decode(json: vector.event, hash: nil, requireHash: false)
            #expect(String(decoding: EnvelopeWriter.canonical(recorded), as: UTF8.self) == vector.canonical, "\(vector.name)")
        }
    }

    @Test func thePublishedVectorsHoldForAnIndependentImplementation() throws {
        let input = try vectors().map { CanonicalJSON.string(.object(["event": $0.event, "sha256": .string($0.sha256)])) }
        let script = """
            import hashlib, json, sys, rfc8785
            for line in sys.stdin.buffer:
                v = json.loads(line)
                print(hashlib.sha256(rfc8785.dumps(v["event"])).hexdigest() == v["sha256"])
            """
        let answers = try python(script, input: input.joined(separator: "\n") + "\n").split(separator: "\n")
        #expect(answers.count == input.count)
        #expect(answers.allSatisfy { $0 == "True" }, "\(answers)")
    }

    @Test func randomValuesEncodeAsRFC8785Does() throws {
        // Awkward values (PropertyGenerators.swift): a fixed seed, so that every run checks the same ones.
        var random = AwkwardJSON(seed: 20_261_201)
        var lines: [String] = []
        for _ in 0..<propertyCases(600) {
            var members: [String: JSONValue] = [:]
            for _ in 0..<random.int(1...5) {
                let d = random.storableDouble()
                // The lexeme as a client might spell it (Swift's description: 1e-05, 2.0, 1e+16), read by the parser.
                let number = try #require(JSONNumber(lexeme: Substring(d.description)))
                members[random.string()] = .array([.number(number), .string(random.string())])
            }
            lines.append(CanonicalJSON.string(.object(members)))
        }
        // Python reads the ledger's canonical text and writes it again with rfc8785: the same bytes come back.
        let again = try rfc8785Again(lines.map { Array($0.utf8) })
        for (i, line) in lines.enumerated() where i < again.count {
            // Bytes, not String ==, which would take a composed "é" for a decomposed one.
            #expect(
                again[i].elementsEqual(line.utf8),
                "value \(i): rfc8785 wrote \(String(decoding: again[i], as: UTF8.self)) for \(line)")
        }
        #expect(again.count == lines.count)
    }
}
