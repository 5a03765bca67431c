//! Normalised text (RULES.md §0).

/// Lower-cased, every run of white space made one space, and every character that is neither
/// alphabetic nor numeric removed from both ends.
pub fn normalise(text: &str) -> String {
    let lower = text.to_lowercase();
    let collapsed = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .trim_matches(|c: char| !(c.is_alphabetic() || c.is_numeric()))
        .to_owned()
}

/// Empty after trimming white space.
pub fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_lowercases_collapses_and_trims_punctuation() {
        assert_eq!(
            normalise("  Afklaring  af\tArbejdsevne. "),
            "afklaring af arbejdsevne"
        );
        assert_eq!(normalise("\"Raskmelding!\""), "raskmelding");
        assert_eq!(normalise("Opfølgning"), "opfølgning");
        assert_eq!(normalise(" - . "), "");
        assert_eq!(normalise("ÆBLE 2."), "æble 2");
        assert_eq!(normalise("a\u{00A0}\u{2003}b"), "a b");
        // Inner punctuation stays.
        assert_eq!(normalise("lager- og logistik"), "lager- og logistik");
    }

    #[test]
    fn blank_is_only_white_space() {
        assert!(blank(" \n\t"));
        assert!(!blank(" x "));
    }
}
