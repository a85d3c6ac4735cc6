/// How views print a recorded figure (an amount, a percentage, a count): whole numbers without a fraction,
/// others as recorded. Total: any finite or non-finite double prints, where `Int(_:)` would trap.
public enum FigureText {
    public static func of(_ value: Double) -> String {
        guard value.isFinite else { return String(describing: value) }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(describing: value)
    }
}
