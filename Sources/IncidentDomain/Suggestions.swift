/// What a mistyped name probably meant: the one edit-distance helper behind every "did you mean" of the ledger
/// (service ids in the warnings, event types, field names, enumerated values, incident ids).
package enum Suggestion {
    /// The candidate closest to `text` by edit distance (case ignored), when it is close enough to be a typo of
    /// it (at most a third of its letters, at least 2) or one is the other with a word more (`emergency` →
    /// `emergency_department`). Nil when nothing is near, or when `text` is itself a candidate.
    package static func nearest(to text: String, among candidates: [String]) -> String? {
        let folded = text.lowercased()
        var best: (candidate: String, distance: Int)?
        for candidate in candidates where candidate != text {
            let distance = editDistance(folded, candidate.lowercased())
            if best == nil || distance < best!.distance { best = (candidate, distance) }
        }
        if let best, best.distance <= max(2, text.count / 3) { return best.candidate }
        return candidates.first { $0.hasPrefix(text + "_") || text.hasPrefix($0 + "_") }
    }

    /// " (did you mean x?)", or "" when nothing is near: to append to a one-line error or warning.
    package static func hint(for text: String, among candidates: [String]) -> String {
        nearest(to: text, among: candidates).map { " (did you mean \($0)?)" } ?? ""
    }

    /// " (did you mean incident:x?)" for a stream id: compared on what follows its kind (`incident:`), which every
    /// candidate shares and which would otherwise make any two ids of similar length look alike.
    package static func hint(forStream text: String, among candidates: [String]) -> String {
        guard let colon = text.firstIndex(of: ":") else { return hint(for: text, among: candidates) }
        let kind = text[...colon]
        let slugs = candidates.filter { $0.hasPrefix(kind) }.map { String($0.dropFirst(kind.count)) }
        return nearest(to: String(text[text.index(after: colon)...]), among: slugs).map { " (did you mean \(kind)\($0)?)" }
            ?? ""
    }

    /// The candidate `text` names, exactly or but for case (`Police` for `police`), when exactly one does.
    package static func match(_ text: String, among candidates: [String]) -> String? {
        if candidates.contains(text) { return text }
        let folded = text.lowercased()
        let matches = candidates.filter { $0.lowercased() == folded }
        return matches.count == 1 ? matches[0] : nil
    }

    /// Levenshtein distance over Unicode scalars.
    package static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        // Two rows, reused: an import asks this thousands of times (a hint per restoration never degraded).
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
