extension MessageTables {
    /// The English table. Keep it in the same order as the French one (French.swift), section by section.
    package static let english: [String: String] = [
        // MARK: language
        "language.name": "English",
        "language.code": "en",

            // MARK: report

            // MARK: chart

            // MARK: deadlines

            // MARK: catalogue

            // MARK: cli
    ]
}
