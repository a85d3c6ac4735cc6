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

    /// A deterministic generator of awkward values: doubles across the exponent range, astral and private-use
    /// characters, control characters, keys that sort differently by UTF-8 and by UTF-16.
    struct Awkward: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        mutating func double() -> Double {
            switch Int.random(in: 0..<4, using: &self) {
            case 0: return Double(Int.random(in: -1_000_000...1_000_000, using: &self)) / 1000
            case 1:
                // Any bit pattern below 2^53 in magnitude: subnormals, tiny and huge exponents, either sign.
                let d = Double(bitPattern: next())
                return d.isFinite && d.magnitude <= 9_007_199_254_740_991 ? d : d.isFinite ? d / 1e300 : 1.5
            case 2:
                return Double(
                    sign: .plus, exponent: Int.random(in: -30...52, using: &self),
                    significand: 1.0 + Double.random(in: 0..<1, using: &self))
            default: return [9_007_199_254_740_991, 1e-7, 1e-6, 1e15, 5e-324, 0.1, 2.0, -0.0].randomElement(using: &self)!
            }
        }

        mutating func string() -> String {
            let pool: [Unicode.Scalar] = ["a", "Z", "é", "\u{1}", "\u{1F}", "\"", "\\", "/", "\u{7F}", "\u{2028}", "\u{E000}", "\u{FFFF}", "\u{1F600}", "\u{10FFFF}", "\t", "\n"]
            var s = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...6, using: &self) { s.append(pool.randomElement(using: &self)!) }
            return String(s)
        }
    }

    @Test func randomValuesEncodeAsRFC8785Does() throws {
        var random = Awkward(state: 20_261_201)
        var lines: [String] = []
        for _ in 0..<600 {
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 1...5, using: &random) {
                let d = random.double()
                // The lexeme as a client might spell it (Swift's description: 1e-05, 2.0, 1e+16), read by the parser.
                let number = try #require(JSONNumber(lexeme: Substring(d.description)))
                members[random.string()] = .array([.number(number), .string(random.string())])
            }
            lines.append(CanonicalJSON.string(.object(members)))
        }
        // Python reads the ledger's canonical text and writes it again with rfc8785: the same bytes come back.
        let script = """
            import sys, rfc8785, json
            for line in sys.stdin.buffer:
                sys.stdout.buffer.write(rfc8785.dumps(json.loads(line)) + b"\\n")
            """
        let again = try python(script, input: lines.joined(separator: "\n") + "\n").split(separator: "\n", omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() where i < again.count {
            #expect(String(again[i]) == line, "value \(i)")
        }
        #expect(again.count == lines.count + 1)
    }
}
