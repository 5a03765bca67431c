//! Reproducible random samples of cases (stikprøve / stickprov).
//!
//! Method: for each stream id of the population, compute BLAKE3 over the UTF-8 bytes of the seed
//! followed directly by the UTF-8 bytes of the stream id (`BLAKE3(seed ‖ stream id)`), write it as
//! lower-case hex, sort the population by that key, and take the N smallest. Anyone with the seed and
//! the list of streams can draw the same sample again, e.g. in Python:
//! `sorted(streams, key=lambda s: blake3((seed + s).encode()).hexdigest())[:n]`.

/// One drawn case with its sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawn {
    pub stream: String,
    /// BLAKE3(seed ‖ stream id), hex.
    pub key: String,
}

/// The key a stream is ranked by.
pub fn key(seed: &str, stream: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(seed.as_bytes());
    h.update(stream.as_bytes());
    h.finalize().to_hex().to_string()
}

/// Draws `size` streams of `population` (duplicates ignored), smallest keys first.
pub fn draw<'a>(
    seed: &str,
    size: usize,
    population: impl IntoIterator<Item = &'a str>,
) -> Vec<Drawn> {
    let mut all: Vec<Drawn> = population
        .into_iter()
        .map(|s| Drawn {
            stream: s.to_owned(),
            key: key(seed, s),
        })
        .collect();
    all.sort_by(|a, b| a.key.cmp(&b.key));
    all.dedup_by(|a, b| a.stream == b.stream);
    all.truncate(size);
    all
}

/// Draws `per` streams of each municipality of `population` (the part of a stream id before its
/// `:`), each as `draw` would draw it from that municipality's streams alone; municipalities in
/// order (seed 002: 15 cases of each of two jobcentres).
pub fn draw_per_municipality<'a>(
    seed: &str,
    per: usize,
    population: impl IntoIterator<Item = &'a str>,
) -> Vec<Drawn> {
    let mut groups: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for s in population {
        groups
            .entry(projections::fact::municipality_of(s))
            .or_default()
            .push(s);
    }
    groups
        .into_values()
        .flat_map(|g| draw(seed, per, g))
        .collect()
}

pub const METHOD: &str = "Rank every stream of the population by BLAKE3(seed || stream id) (UTF-8 bytes, concatenated, lower-case hex) and take the N smallest.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_depends_on_the_seed_and_the_population_not_their_order() {
        let population: Vec<String> = (0..222).map(|i| format!("se-1:p-{i:03}")).collect();
        let a = draw("revision 2017", 20, population.iter().map(String::as_str));
        let b = draw(
            "revision 2017",
            20,
            population.iter().rev().map(String::as_str),
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 20);
        assert!(a.windows(2).all(|w| w[0].key < w[1].key));
        let other = draw("revision 2018", 20, population.iter().map(String::as_str));
        assert_ne!(a, other);
        // The documented key: BLAKE3 of the two strings' bytes, concatenated.
        assert_eq!(
            a[0].key,
            blake3::hash(format!("revision 2017{}", a[0].stream).as_bytes())
                .to_hex()
                .to_string()
        );
        // A larger sample extends a smaller one.
        let more = draw("revision 2017", 30, population.iter().map(String::as_str));
        assert_eq!(&more[..20], &a[..]);
    }

    #[test]
    fn a_sample_per_municipality_draws_each_as_if_alone() {
        let dk101: Vec<String> = (0..40).map(|i| format!("dk-101:c-{i:03}")).collect();
        let dk102: Vec<String> = (0..9).map(|i| format!("dk-102:c-{i:03}")).collect();
        let all = dk102.iter().chain(&dk101).map(String::as_str);
        let drawn = draw_per_municipality("s", 15, all);
        let own = |p: &[String]| draw("s", 15, p.iter().map(String::as_str));
        // 15 of dk-101, then all 9 of dk-102 (fewer than 15).
        assert_eq!(drawn.len(), 24);
        assert_eq!(&drawn[..15], &own(&dk101)[..]);
        assert_eq!(&drawn[15..], &own(&dk102)[..]);
    }
}
