import ArgumentParser
import Projections

/// An option whose values are words (`--format json`, `--status overdue`), accepted in any case
/// (`--format JSON`), as the record form accepts `filedWith=Police`. Unknown words are still refused by the
/// argument parser, which lists the accepted ones.
protocol CaseInsensitiveArgument: ExpressibleByArgument, RawRepresentable<String>, CaseIterable {}

extension CaseInsensitiveArgument {
    init?(argument: String) {
        guard let match = caseInsensitiveMatch(argument, in: Self.self) else { return nil }
        self = match
    }
}

/// `--status`: the statuses by their json names, listed in the help and refused (exit 2) when unknown. The
/// type is public (Projections), so its witness is written out public rather than inherited.
extension ObligationClock.Status: ExpressibleByArgument {
    public init?(argument: String) {
        guard let match = caseInsensitiveMatch(argument, in: Self.self) else { return nil }
        self = match
    }
}

/// The case of `type` whose raw value is `argument` ignoring case.
func caseInsensitiveMatch<T: RawRepresentable<String> & CaseIterable>(_ argument: String, in type: T.Type) -> T? {
    let lowered = argument.lowercased()
    return T.allCases.first { $0.rawValue.lowercased() == lowered }
}
