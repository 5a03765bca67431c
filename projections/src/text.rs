//! Normalised text (RULES.md §0).

/// Lower-cased, every run of white space made one space, and every character that is neither
/// alphabetic nor numeric removed from both ends.
///
/// Remembered per thread for the texts seen last: the rules normalise the same goals and
/// assessments again for every evaluation of a case, and standard wordings repeat by definition.
/// A pure function's memo: the result is the same with or without it.
pub fn normalise(text: &str) -> String {
    use std::cell::RefCell;
    use std::collections::HashMap;
    const REMEMBERED: usize = 65_536;
    thread_local! {
        static SEEN: RefCell<HashMap<Box<str>, String>> = RefCell::new(HashMap::new());
    }
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if let Some(n) = seen.get(text) {
            return n.clone();
        }
        let n = normalise_uncached(text);
        if seen.len() >= REMEMBERED {
            seen.clear();
        }
        seen.insert(text.into(), n.clone());
        n
    })
}

fn normalise_uncached(text: &str) -> String {
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
    fn a_remembered_normalisation_is_the_same_as_a_fresh_one() {
        for t in [
            "  Afklaring  af\tArbejdsevne. ",
            "",
            "ÆØÅ æøå",
            "Afklaring af arbejdsevne",
        ] {
            assert_eq!(normalise(t), normalise_uncached(t));
            assert_eq!(
                normalise(t),
                normalise_uncached(t),
                "second time, from memory"
            );
        }
    }

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
