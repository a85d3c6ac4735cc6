import Foundation
import LedgerProofs
import Testing

/// C2SP signed notes and tlog-checkpoints: Go's sumdb/note vectors, signing, cosigning, and refusal of
/// every malformed or tampered note with a reason.
@Suite("Signed notes and checkpoints")
struct SignedNoteTests {
    // The example of Go's golang.org/x/mod/sumdb/note documentation.
    static let goSignerKey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let goVerifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let goText = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let goSignature =
        "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    static let goCosignature =
        "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

    static let log = try! NoteSignerKey.generate(name: "ledger.example/chu-nantes")
    static let regulator = try! NoteSignerKey.generate(name: "cnil.example/witness")

    static func checkpointNote(size: UInt64 = 42, signers: [NoteSignerKey] = [log]) throws -> SignedNote {
        let root = MerkleTree.referenceRoot(ofLeaves: sampleLeaves(Int(size), seed: 1))
        return try Checkpoint(origin: "ledger.example/chu-nantes", size: size, root: root).signed(by: signers)
    }

    @Test func goKeysAndNotesReadAndVerify() throws {
        let verifier = try NoteVerifierKey(encoded: Self.goVerifierKey)
        #expect(verifier.name == "PeterNeumann")
        #expect(verifier.keyID == 0xc74f20a3)
        #expect(verifier.encoded == Self.goVerifierKey)
        let signer = try NoteSignerKey(encoded: Self.goSignerKey)
        #expect(signer.encoded == Self.goSignerKey)
        #expect(signer.verifierKey == verifier)

        let note = try SignedNote(parsing: Self.goText + "\n" + Self.goSignature)
        #expect(note.body == Self.goText)
        #expect(note.text == Self.goText + "\n" + Self.goSignature)
        #expect(try note.verify(trusting: [verifier]) == [verifier])

        // Go's doubly-signed example: EnochRoot's key is unknown here, so its line is ignored.
        let cosigned = try SignedNote(parsing: Self.goText + "\n" + Self.goSignature + Self.goCosignature)
        #expect(cosigned.signatures.map(\.keyName) == ["PeterNeumann", "EnochRoot"])
        #expect(try cosigned.verify(trusting: [verifier]) == [verifier])
        #expect(throws: SignedNoteError.noTrustedSignature(signers: ["PeterNeumann+c74f20a3", "EnochRoot+af0cfe78"])) {
            try cosigned.verify(trusting: [Self.log.verifierKey])
        }
    }

    /// docs/verifying-format.md's example, made with Python's `cryptography` (not by this code), over the
    /// first 42 of the test leaves.
    @Test func theDocumentedCheckpointMadeInPythonVerifiesHere() throws {
        let note = try SignedNote(
            parsing: "ledger.example/chu-nantes\n42\nFRmh8fsNFVbQjn6BgSRpq8BWNScRN/W2Cr9S5YJhhTw=\n\n"
                + "\u{2014} ledger.example/chu-nantes KTHi0Sg9Bg8Eb5kHXm4WgFKZludtQv5WTLlQ0/Uova8wOn5bE5QdO2ZVwEwRk6Xty4jJPV9mcmSJaUhUmZ2qn1riUwI=\n"
                + "\u{2014} cnil.example/witness aW8bkWlMwDMzVz7BZg/XuCW7iV0gbTnoq+MaVH8IIaJ3sF/2lNwT4eEVwLybGLjWwOswQEW+fqpszFWtK3nLlXQyVgI=\n"
        )
        let log = try NoteVerifierKey(encoded: "ledger.example/chu-nantes+2931e2d1+AT56p/VyUrVaKUmQbOsCk150V6AeCUxot1KmDkbDzUhG")
        let witness = try NoteVerifierKey(encoded: "cnil.example/witness+696f1b91+AQwJRDLo9cYpWsMY/wtwvDnZ3zWMUZEmXRtjvr2pRXVV")
        let (checkpoint, signers) = try Checkpoint.verified(note, trusting: [witness, log])
        #expect(signers == [log, witness])
        #expect(checkpoint.size == 42)
        #expect(checkpoint.root == MerkleTree.referenceRoot(ofLeaves: sampleLeaves(42, seed: 1)))
        #expect(try MerkleTree.root(ofSize: 42, in: MemorySubtreeStore(leaves: sampleLeaves(42, seed: 1))) == checkpoint.root)
    }

    @Test func signingGosTextWithGosKeyGivesANoteGoVerifies() throws {
        let signer = try NoteSignerKey(encoded: Self.goSignerKey)
        let note = try SignedNote(signing: Self.goText, with: [signer])
        #expect(try note.verify(trusting: [NoteVerifierKey(encoded: Self.goVerifierKey)]).count == 1)
        #if os(Linux)
            // swift-crypto signs with BoringSSL's deterministic RFC 8032 Ed25519 here (CryptoKit on Apple
            // platforms randomises), so the very bytes of Go's example come out.
            #expect(note.text == Self.goText + "\n" + Self.goSignature)
        #endif
    }

    @Test func aCheckpointSignedAndCosignedVerifiesUnderEitherKey() throws {
        let note = try Self.checkpointNote()
        let cosigned = try SignedNote(parsing: note.text).cosigned(by: Self.regulator)
        #expect(cosigned.body == note.body)
        #expect(cosigned.signatures.count == 2)
        #expect(cosigned.signatures.first == note.signatures.first)
        #expect(try cosigned.verify(trusting: [Self.log.verifierKey]) == [Self.log.verifierKey])
        #expect(try cosigned.verify(trusting: [Self.regulator.verifierKey]) == [Self.regulator.verifierKey])
        #expect(
            try cosigned.verify(trusting: [Self.regulator.verifierKey, Self.log.verifierKey])
                == [Self.log.verifierKey, Self.regulator.verifierKey])
        // Cosigning again replaces the line rather than adding a second one.
        #expect(cosigned.cosigned(by: Self.regulator).signatures.count == 2)

        let (checkpoint, signers) = try Checkpoint.verified(cosigned, trusting: [Self.log.verifierKey])
        #expect(checkpoint.size == 42)
        #expect(checkpoint.origin == "ledger.example/chu-nantes")
        #expect(checkpoint.root == MerkleTree.referenceRoot(ofLeaves: sampleLeaves(42, seed: 1)))
        #expect(signers == [Self.log.verifierKey])
    }

    @Test func keysRoundTripAndBadKeysAreRefusedByName() throws {
        let verifier = Self.log.verifierKey
        #expect(try NoteVerifierKey(encoded: verifier.encoded) == verifier)
        #expect(try NoteSignerKey(encoded: Self.log.encoded).verifierKey == verifier)
        #expect(verifier.encoded.hasPrefix("ledger.example/chu-nantes+"))
        #expect(Self.log.encoded.hasPrefix("PRIVATE+KEY+ledger.example/chu-nantes+"))

        let parts = Self.goVerifierKey.split(separator: "+", maxSplits: 2).map(String.init)
        let refused: [(String, String)] = [
            ("PeterNeumann+c74f20a4+" + parts[2], "does not match its key"),
            ("PeterNeumann+C74F20A3+" + parts[2], "8 lowercase hex digits"),
            ("Peter Neumann+c74f20a3+" + parts[2], "contains a space"),
            ("+c74f20a3+" + parts[2], "the key name is empty"),
            ("PeterNeumann+c74f20a3", "<name>+<key ID>+<key>"),
            ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "not base64"),
            ("PeterNeumann+c74f20a3+" + Data([0x02] + [UInt8](repeating: 7, count: 32)).base64EncodedString(), "type 0x01"),
            ("PeterNeumann+c74f20a3+" + Data([0x01] + [UInt8](repeating: 7, count: 31)).base64EncodedString(), "32 bytes"),
        ]
        for (text, reason) in refused {
            do {
                _ = try NoteVerifierKey(encoded: text)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.description.contains(reason), "\(text): \(error)")
            }
        }
        #expect(throws: SignedNoteError.self) { try NoteSignerKey(encoded: Self.goVerifierKey) }
        #expect(throws: SignedNoteError.self) {
            try NoteSignerKey(encoded: Self.goSignerKey.replacingOccurrences(of: "c74f20a3", with: "c74f20a4"))
        }
        #expect(throws: SignedNoteError.self) { try NoteSignerKey.generate(name: "a+b") }
        #expect(throws: SignedNoteError.self) { try NoteSignerKey.generate(name: "a\u{00A0}b") }
    }

    @Test func tamperedBodySignatureSizeRootOrOriginIsDetected() throws {
        let note = try Self.checkpointNote()
        let trusted = [Self.log.verifierKey]
        let body = note.body
        let lines = body.split(separator: "\n").map(String.init)
        let otherRoot = MerkleTree.referenceRoot(ofLeaves: sampleLeaves(41, seed: 1)).base64
        let forgedBodies = [
            [lines[0] + "x", lines[1], lines[2]],
            [lines[0], "43", lines[2]],
            [lines[0], lines[1], otherRoot],
            [lines[0], lines[1], lines[2], "extension"],
        ].map { $0.joined(separator: "\n") + "\n" }
        for forged in forgedBodies {
            let text = note.text.replacingOccurrences(of: body, with: forged)
            #expect(throws: SignedNoteError.invalidSignature(keyName: Self.log.name, keyID: Self.log.keyID)) {
                try SignedNote(parsing: text).verify(trusting: trusted)
            }
        }
        var signature = note.signatures[0].signature
        signature[10] ^= 0x40
        let forgedLine = NoteSignature(keyName: Self.log.name, keyID: Self.log.keyID, signature: signature).line
        #expect(throws: SignedNoteError.invalidSignature(keyName: Self.log.name, keyID: Self.log.keyID)) {
            try SignedNote(parsing: body + "\n" + forgedLine + "\n").verify(trusting: trusted)
        }
        // A valid signature by the trusted key does not excuse a bad one beside it.
        #expect(throws: SignedNoteError.invalidSignature(keyName: Self.log.name, keyID: Self.log.keyID)) {
            try SignedNote(parsing: note.text + forgedLine + "\n").verify(trusting: trusted)
        }
    }

    @Test func unknownKeysAreIgnoredAndAWrongKeyIsNoTrust() throws {
        let note = try Self.checkpointNote()
        let impostor = try NoteSignerKey.generate(name: Self.log.name)
        #expect(impostor.keyID != Self.log.keyID)
        // The same name with another key: its ID differs, so the line is not the impostor's to check.
        #expect(throws: SignedNoteError.noTrustedSignature(signers: [Self.log.verifierKey.encoded.prefixBeforeSecondPlus])) {
            try note.verify(trusting: [impostor.verifierKey])
        }
        #expect(throws: SignedNoteError.self) { try note.verify(trusting: []) }
        // An impostor's line beside the log's is ignored when only the log is trusted.
        let withImpostor = note.cosigned(by: impostor)
        #expect(try withImpostor.verify(trusting: [Self.log.verifierKey]) == [Self.log.verifierKey])
        // A note signed only by the impostor is refused.
        let forged = try SignedNote(signing: note.body, with: [impostor])
        #expect(throws: SignedNoteError.self) { try forged.verify(trusting: [Self.log.verifierKey]) }
    }

    @Test func keyNamesMatchByteForByteNotByUnicodeEquivalence() throws {
        let composed = try NoteSignerKey.generate(name: "h\u{00F4}pital.example")
        let note = try SignedNote(signing: "body\n", with: [composed])
        // The same name decomposed (o + combining circumflex): equal as Swift strings, other bytes.
        let decomposedLine = note.signatures[0].line.replacingOccurrences(of: "\u{00F4}", with: "o\u{0302}")
        #expect(decomposedLine.utf8.count == note.signatures[0].line.utf8.count + 1)
        let respelled = try SignedNote(parsing: "body\n\n" + decomposedLine + "\n")
        #expect(throws: SignedNoteError.noTrustedSignature(signers: [respelled.signatures[0].signer])) {
            try respelled.verify(trusting: [composed.verifierKey])
        }
        #expect(respelled.cosigned(by: composed).signatures.count == 2)
    }

    @Test func everySingleByteChangeOfASignedCheckpointIsRefusedOrDropsASigner() throws {
        let note = try Self.checkpointNote(signers: [Self.log, Self.regulator])
        let trusted = [Self.log.verifierKey, Self.regulator.verifierKey]
        let original = try Checkpoint.verified(note, trusting: trusted)
        let bytes = Array(note.text.utf8)
        var refused = 0
        var variants = 0
        for position in bytes.indices {
            var changes = [Array(bytes[..<position] + bytes[(position + 1)...])]
            for replacement in [UInt8(ascii: "A"), UInt8(ascii: "0"), 0x0a, 0x20, bytes[position] ^ 0x01]
            where replacement != bytes[position] {
                var changed = bytes
                changed[position] = replacement
                changes.append(changed)
            }
            for variant in changes {
                variants += 1
                guard let accepted = try? Checkpoint.verified(SignedNote(parsing: variant), trusting: trusted) else {
                    refused += 1
                    continue
                }
                // Only a change to one signer's name or key ID can leave the other signature standing: then
                // the same checkpoint comes out, signed by fewer trusted keys.
                #expect(accepted.checkpoint == original.checkpoint, "byte \(position)")
                #expect(accepted.signers.count < original.signers.count, "byte \(position)")
            }
        }
        // Most changes are refused outright.
        #expect(refused > variants * 3 / 4, "\(refused) of \(variants) refused")
    }

    @Test func malformedNotesAreRefusedWithAReasonNamingWhat() throws {
        let good = try Self.checkpointNote().text
        let line = Self.goSignature
        let cases: [(String, String)] = [
            (good.replacingOccurrences(of: "\n\n", with: "\n"), "no blank line"),
            (String(good.dropLast()), "does not end with a newline"),
            (good.replacingOccurrences(of: "\u{2014} ", with: "- "), "em dash"),
            (
                good.replacingOccurrences(of: "\u{2014} ledger.example/chu-nantes ", with: "\u{2014} ledger.example/chu-nantes"),
                "no space"
            ),
            (
                good.replacingOccurrences(of: "chu-nantes\n42", with: "chu-nantes\t\n42"),
                "line 1 contains the control character U+0009"
            ),
            (good + "\n", "no signature line"),
            (Self.goText + "\n" + line.replacingOccurrences(of: "=\n", with: "\n"), "not base64"),
            (Self.goText + "\n\u{2014} PeterNeumann AAAA\n", "shorter than a key ID"),
            (Self.goText + "\n\u{2014} Peter+Neumann " + line.split(separator: " ")[2], "contains '+'"),
            (Self.goText + "\n" + String(repeating: line, count: 101), "more than 100"),
        ]
        for (text, reason) in cases {
            do {
                _ = try SignedNote(parsing: text)
                Issue.record("accepted: \(reason)")
            } catch {
                #expect(error.description.contains(reason), "\(error)")
            }
        }
        #expect(throws: SignedNoteError.malformedNote("it is not valid UTF-8")) {
            try SignedNote(parsing: Array(Self.goText.utf8) + [0xff, 0x0a, 0x0a] + Array(line.utf8))
        }
        #expect(throws: SignedNoteError.self) { try SignedNote(signing: "no final newline", with: [Self.log]) }
        #expect(throws: SignedNoteError.self) { try SignedNote(signing: "text\n", with: []) }
        // Sixteen signatures, the least the spec lets a verifier accept, are read.
        #expect(try SignedNote(parsing: Self.goText + "\n" + String(repeating: line, count: 16)).signatures.count == 16)
    }

    @Test func checkpointBodiesAreReadStrictly() throws {
        let root = MerkleTree.emptyRoot.base64
        let checkpoint = try Checkpoint(body: "example.org/log\n0\n\(root)\n")
        #expect(checkpoint.size == 0)
        #expect(checkpoint.root == MerkleTree.emptyRoot)
        #expect(checkpoint.body == "example.org/log\n0\n\(root)\n")
        let extended = try Checkpoint(body: "example.org/log\n18446744073709551615\n\(root)\nfirst\nsecond\n")
        #expect(extended.size == UInt64.max)
        #expect(extended.extensionLines == ["first", "second"])
        #expect(extended.body == "example.org/log\n18446744073709551615\n\(root)\nfirst\nsecond\n")

        let refused: [(String, String)] = [
            ("example.org/log\n0\n\(root)", "does not end with a newline"),
            ("example.org/log\n0\n", "has 2 lines"),
            ("\n0\n\(root)\n", "the origin is empty"),
            ("example.org/log\n007\n\(root)\n", "leading zero"),
            ("example.org/log\n-1\n\(root)\n", "not a decimal number"),
            ("example.org/log\n+1\n\(root)\n", "not a decimal number"),
            ("example.org/log\n1e3\n\(root)\n", "not a decimal number"),
            ("example.org/log\n\u{0661}\n\(root)\n", "not a decimal number"),
            ("example.org/log\n18446744073709551616\n\(root)\n", "larger than any log"),
            ("example.org/log\n1\n\(root.dropLast())\n", "not base64"),
            ("example.org/log\n1\n\(Data(repeating: 1, count: 31).base64EncodedString())\n", "31 bytes, not 32"),
            ("example.org/log\n1\n\(root)\n\nafter an empty line\n", "extension line 1 is empty"),
            ("example.org/log\n1\n \(root)\n", "not base64"),
        ]
        for (body, reason) in refused {
            do {
                _ = try Checkpoint(body: body)
                Issue.record("accepted \(body.debugDescription)")
            } catch {
                #expect(error.description.contains(reason), "\(body.debugDescription): \(error)")
            }
        }
        // The last base64 digit of 32 bytes carries two unused bits: a respelling with one set is refused.
        try #require(root.hasSuffix("U="))
        #expect(Data(base64Encoded: String(root.dropLast(2)) + "V=") != nil)
        #expect(MerkleHash(base64: String(root.dropLast(2)) + "V=") == nil)
        #expect(throws: SignedNoteError.self) { try Checkpoint(body: "example.org/log\n0\n\(root.dropLast(2))V=\n") }
        #expect(throws: SignedNoteError.self) { try Checkpoint(origin: "two\nlines", size: 1, root: MerkleTree.emptyRoot) }
        #expect(throws: SignedNoteError.self) { try Checkpoint(origin: "", size: 1, root: MerkleTree.emptyRoot) }
    }
}

extension String {
    /// `name+keyid` of a verifier key string: how a refusal lists a signer.
    fileprivate var prefixBeforeSecondPlus: String {
        split(separator: "+", maxSplits: 2).prefix(2).joined(separator: "+")
    }
}
