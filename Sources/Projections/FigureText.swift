import IncidentDomain

/// How views print a recorded figure (an amount, a percentage, a count): whole numbers without a fraction,
/// others as recorded. Total: any finite or non-finite double prints, where `Int(_:)` would trap.
package enum FigureText {
    package static func of(_ value: Double) -> String {
        guard value.isFinite else { return String(describing: value) }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(describing: value)
    }

    /// The same with `m`'s decimal separator ("33,3" in French); whole numbers are the same in both.
    package static func of(_ value: Double, _ m: Messages) -> String {
        let text = of(value)
        return m.language == .english ? text : text.replacingOccurrences(of: ".", with: m("chart.decimal"))
    }
}

extension FigureText {
    /// Hours for JSON: rounded to three decimals (3.6 s), as the timeline's durations are, so that a whole
    /// number of hours prints whole and no division residue (1415.9999999997221) reaches a reader.
    package static func hours(_ hours: Double) -> Double {
        guard hours.isFinite else { return hours }
        return (hours * 1000).rounded() / 1000
    }
}
