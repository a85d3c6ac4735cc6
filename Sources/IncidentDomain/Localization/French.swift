extension MessageTables {
    /// The French table. Keep it in the same order as the English one (English.swift), section by section.
    package static let french: [String: String] = [
        // MARK: language
        "language.name": "Français",
        "language.code": "fr",

            // MARK: report

            // MARK: chart

            // MARK: deadlines

            // MARK: catalogue

            // MARK: cli
    ]
}
