import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Help text laid out by us rather than by ArgumentParser's wrapper, which re-flows a discussion at the
/// screen's width with no indentation of its own: lists lose their hanging indent and a value list `a|b|c` too
/// long for the rest of a line is cut after a space wherever it falls. Here each paragraph is wrapped at word
/// boundaries with the indentation it needs, a value list breaks only after one of its `|`, and every line is
/// shorter than the screen, so that ArgumentParser leaves it as it is.
enum HelpText {
    /// The help's widest line: one less than the screen (ArgumentParser re-wraps a line as wide as the screen),
    /// the screen being `$COLUMNS`, else the terminal's, at most 80 columns and at least 40.
    static let width: Int = {
        var columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap { Int($0) }
        if columns == nil {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { columns = Int(size.ws_col) }
        }
        return min(max(columns ?? 80, 40), 80) - 1
    }()

    /// `text` (one paragraph: its line breaks are spaces) wrapped to `width` columns: the first line begins with
    /// `indent`, the others with `hanging`. Lines break at spaces; a word longer than a whole line breaks after a
    /// `|` (a value list), else stays whole.
    static func wrap(_ text: String, width: Int = HelpText.width, indent: String = "", hanging: String = "") -> String {
        var lines: [String] = []
        var line = indent
        var lineHasWord = false
        func newLine() {
            lines.append(line)
            line = hanging
            lineHasWord = false
        }
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init) {
            let separator = lineHasWord ? " " : ""
            if line.count + separator.count + word.count <= width {
                line += separator + word
                lineHasWord = true
                continue
            }
            if lineHasWord, hanging.count + word.count <= width {
                newLine()
                line += word
                lineHasWord = true
                continue
            }
            // Longer than a line: a value list continues on the next lines after one of its bars.
            var pieces = Self.pieces(of: word)
            if lineHasWord, line.count + 1 + pieces[0].count > width { newLine() }
            var first = true
            while !pieces.isEmpty {
                let piece = pieces.removeFirst()
                let joint = first && lineHasWord ? " " : ""
                if !first, line.count + piece.count > width { newLine() }
                line += joint + piece
                lineHasWord = true
                first = false
            }
        }
        if lineHasWord || lines.isEmpty { lines.append(line) }
        return lines.map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }.joined(
            separator: "\n")
    }

    /// A command line wrapped to `width` between its `units` (an option with its value is one unit, never cut):
    /// each line but the last ends with `continuation` (` \\` for a shell), the following ones indented by
    /// `hanging`.
    static func command(_ units: [String], width: Int, hanging: String = "  ", continuation: String = " \\") -> String {
        var lines: [String] = []
        var line = ""
        for unit in units {
            if line.isEmpty || line.count + 1 + unit.count + continuation.count <= width {
                line += (line.isEmpty ? "" : " ") + unit
            } else {
                lines.append(line + continuation)
                line = hanging + unit
            }
        }
        return (lines + [line]).joined(separator: "\n")
    }

    /// A word cut after each `|`: `a|b|c` as `a|`, `b|`, `c`.
    static func pieces(of word: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        for character in word {
            current.append(character)
            if character == "|" {
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// `items` as a list: each `(label, text)` on its own lines, the text after `label` and continued under it.
    static func list(_ items: [(label: String, text: String)], indent: String = "  ") -> String {
        items.map { item in
            wrap(
                item.text, indent: indent + item.label + " ",
                hanging: indent + String(repeating: " ", count: item.label.count + 1))
        }.joined(separator: "\n")
    }
}
