/// An obligation rule's words for people, from the `rule.<id>.` keys of each language's table: the built-in
/// rules' titles, legal bases and recipients in French as well as English. The rule's data (and JSON outputs)
/// keep the English texts of the rule set.
extension ObligationRule {
    /// "Health-sector security incident report (sans délai)", "Signalement d'incident de sécurité en santé
    /// (sans délai)".
    public func title(language: Language) -> String { text("title", own: title, language) }

    /// "GDPR art. 33(1)", "RGPD art. 33(1)".
    public func legalBasis(language: Language) -> String { text("legalBasis", own: legalBasis, language) }

    /// "the people concerned", "les personnes concernées".
    public func recipient(language: Language) -> String { text("recipient", own: recipient, language) }

    /// The tables translate the built-in wording only. A rule from a `--rules` file that the tables do not know,
    /// or one reusing a built-in id with texts of its own, says what its author wrote: the tables cannot know
    /// those words, and putting the built-in ones in their place would misname the obligation.
    private func text(_ part: String, own: String, _ language: Language) -> String {
        let key = "rule.\(id).\(part)"
        guard Messages.english.has(key), Messages.english(key) == own else { return own }
        return Messages.of(language)(key)
    }
}
