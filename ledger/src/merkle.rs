//! The RFC 6962 / RFC 9162 Merkle tree over the records, beside the BLAKE3 chain: leaf `i` is
//! record `i`'s stored bytes. Pure: hashes come from a `HashSource` (the store), and nothing here
//! does I/O. See docs/FORMAT.md, "The Merkle tree".
//!
//! Stored hashes: every complete subtree's hash — level 0 the leaf hashes, level `l` index `i`
//! the root of leaves `i·2^l .. (i+1)·2^l` — under the key [`stored_key`] gives it: the order in
//! which they are completed (Go's `tlog.StoredHashIndex`), so that every commit appends to the end
//! of the key space. A tree of size `n` has about `2n` of them; any proof is made from `O(log n)`.

use sha2::{Digest, Sha256};

/// A SHA-256 tree hash.
pub type TreeHash = [u8; 32];

/// Hash tiles are this many levels high (C2SP tlog-tiles): a full tile holds 256 hashes.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// The leaf hash of a record's stored bytes: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> TreeHash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &TreeHash, right: &TreeHash) -> TreeHash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> TreeHash {
    Sha256::digest([]).into()
}

/// A hash in standard padded base64, as checkpoints and proofs write it.
pub fn to_base64(hash: &TreeHash) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(hash)
}

/// A hash from standard padded base64.
pub fn from_base64(text: &str) -> Option<TreeHash> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?
        .try_into()
        .ok()
}

/// The key a stored hash is kept under: its place in the order in which hashes are completed as
/// leaves are appended (leaf `n`, then each parent it completes), as Go's
/// `golang.org/x/mod/sumdb/tlog.StoredHashIndex` numbers them.
pub fn stored_key(level: u8, index: u64) -> u64 {
    let mut n = index;
    for _ in 0..level {
        n = 2 * n + 1;
    }
    let mut i = 0u64;
    while n > 0 {
        i += n;
        n >>= 1;
    }
    i + u64::from(level)
}

/// The level and index a stored key names (Go's `tlog.SplitStoredHashIndex`).
pub fn from_stored_key(key: u64) -> (u8, u64) {
    // The leaf `n` whose hashes include this one is in [key/2, key/2 + log2(key)].
    let mut n = key / 2;
    let mut at = stored_key(0, n);
    loop {
        // Leaf n + 1 adds itself and one parent per trailing one bit of n + 1.
        let next = at + 1 + u64::from((n + 1).trailing_zeros());
        if next > key {
            break;
        }
        n += 1;
        at = next;
    }
    let level = (key - at) as u8;
    (level, n >> level)
}

/// A source of stored hashes: `(level, index)` of a complete subtree to its hash.
pub trait HashSource {
    type Error;
    fn hash(&self, level: u8, index: u64) -> Result<TreeHash, Self::Error>;
}

/// A proof or a root asked of a tree that cannot give it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("a tree of size {old} cannot be proved consistent with one of size {new}")]
    SizeOrder { old: u64, new: u64 },
    #[error(transparent)]
    Source(E),
}

/// The right edge of a tree: the hashes of its complete subtrees, largest (leftmost) first, one
/// for each bit set in its size. Enough to append and to compute the root; the writer keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    hashes: Vec<TreeHash>,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads the frontier of a tree of `size` leaves from its stored hashes.
    pub fn read<S: HashSource>(size: u64, source: &S) -> Result<Frontier, S::Error> {
        let mut hashes = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size & (1 << level) != 0 {
                hashes.push(source.hash(level, start >> level)?);
                start += 1 << level;
            }
        }
        Ok(Frontier { size, hashes })
    }

    /// Appends a leaf. Every hash this completes (the leaf's own, and each parent it closes) is
    /// passed to `stored` with its [`stored_key`].
    pub fn push(&mut self, leaf: TreeHash, stored: &mut impl FnMut(u64, TreeHash)) {
        let index = self.size;
        stored(stored_key(0, index), leaf);
        let mut hash = leaf;
        let mut level = 0u8;
        while index & (1 << level) != 0 {
            let Some(left) = self.hashes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            stored(stored_key(level, index >> level), hash);
        }
        self.hashes.push(hash);
        self.size += 1;
    }

    /// Appends a complete subtree of `2^level` leaves. The tree's size must be a multiple of
    /// `2^level` (the subtree is aligned); returns false, changing nothing, if it is not.
    pub fn push_subtree(&mut self, level: u8, hash: TreeHash) -> bool {
        let width = 1u64 << level;
        if !self.size.is_multiple_of(width) {
            return false;
        }
        let mut hash = hash;
        let mut l = level;
        while self.size & (1 << l) != 0 {
            let Some(left) = self.hashes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            l += 1;
        }
        self.hashes.push(hash);
        self.size += width;
        true
    }

    /// Appends another frontier's subtrees, as if its leaves followed this tree's: `other` must
    /// start where this tree ends, at a multiple of its largest subtree.
    pub fn extend(&mut self, other: &Frontier) -> bool {
        other
            .subtrees()
            .all(|(level, hash)| self.push_subtree(level, hash))
    }

    /// The complete subtrees, largest first, with their levels.
    pub fn subtrees(&self) -> impl Iterator<Item = (u8, TreeHash)> + '_ {
        (0..64u8)
            .rev()
            .filter(|l| self.size & (1 << l) != 0)
            .zip(self.hashes.iter().copied())
    }

    /// The tree's root (RFC 9162 MTH).
    pub fn root(&self) -> TreeHash {
        let mut hashes = self.hashes.iter().rev();
        let Some(last) = hashes.next() else {
            return empty_root();
        };
        hashes.fold(*last, |right, left| node_hash(left, &right))
    }
}

/// A tree with its stored hashes in memory: a [`HashSource`] without a store (for tests, and for
/// tools that build a tree of their own).
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    frontier: Frontier,
    hashes: std::collections::HashMap<u64, TreeHash>,
}

impl MemoryTree {
    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: TreeHash) {
        let hashes = &mut self.hashes;
        self.frontier.push(leaf, &mut |k, h| {
            hashes.insert(k, h);
        });
    }

    /// The tree's right edge (its size and root).
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }
}

impl HashSource for MemoryTree {
    type Error = String;
    fn hash(&self, level: u8, index: u64) -> Result<TreeHash, String> {
        self.hashes
            .get(&stored_key(level, index))
            .copied()
            .ok_or_else(|| format!("no hash at level {level} index {index}"))
    }
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH of leaves `lo..hi` (hi > lo), where `lo` is a multiple of the largest power of two below
/// `hi - lo` (as in every range the RFC's recursions visit).
fn subtree<S: HashSource>(lo: u64, hi: u64, source: &S) -> Result<TreeHash, S::Error> {
    let n = hi - lo;
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return source.hash(n.trailing_zeros() as u8, lo >> n.trailing_zeros());
    }
    let k = split_point(n);
    Ok(node_hash(
        &subtree(lo, lo + k, source)?,
        &subtree(lo + k, hi, source)?,
    ))
}

/// The root of the tree of the first `size` leaves, from stored hashes.
pub fn root<S: HashSource>(size: u64, source: &S) -> Result<TreeHash, S::Error> {
    match size {
        0 => Ok(empty_root()),
        n => subtree(0, n, source),
    }
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1),
/// the sibling next to the leaf first.
pub fn inclusion_proof<S: HashSource>(
    index: u64,
    size: u64,
    source: &S,
) -> Result<Vec<TreeHash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    path(index, 0, size, source, &mut proof).map_err(ProofError::Source)?;
    Ok(proof)
}

fn path<S: HashSource>(
    m: u64,
    lo: u64,
    hi: u64,
    source: &S,
    out: &mut Vec<TreeHash>,
) -> Result<(), S::Error> {
    if hi - lo <= 1 {
        return Ok(());
    }
    let k = split_point(hi - lo);
    if m < lo + k {
        path(m, lo, lo + k, source, out)?;
        out.push(subtree(lo + k, hi, source)?);
    } else {
        path(m, lo + k, hi, source, out)?;
        out.push(subtree(lo, lo + k, source)?);
    }
    Ok(())
}

/// The consistency proof between the trees of `old` and `new` leaves (RFC 9162 §2.1.4.1).
/// Empty when `old` is 0 or equals `new`.
pub fn consistency_proof<S: HashSource>(
    old: u64,
    new: u64,
    source: &S,
) -> Result<Vec<TreeHash>, ProofError<S::Error>> {
    if old > new {
        return Err(ProofError::SizeOrder { old, new });
    }
    let mut proof = Vec::new();
    if old > 0 && old < new {
        subproof(old, 0, new, true, source, &mut proof).map_err(ProofError::Source)?;
    }
    Ok(proof)
}

fn subproof<S: HashSource>(
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    source: &S,
    out: &mut Vec<TreeHash>,
) -> Result<(), S::Error> {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push(subtree(lo, hi, source)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(m, lo, lo + k, complete, source, out)?;
        out.push(subtree(lo + k, hi, source)?);
    } else {
        subproof(m - k, lo + k, hi, false, source, out)?;
        out.push(subtree(lo, lo + k, source)?);
    }
    Ok(())
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("the proof has {0} hashes, which is not the number this index and size need")]
    WrongLength(usize),
    #[error("the proof leads to root {computed}, not the expected {expected}")]
    RootMismatch { computed: String, expected: String },
    #[error("old size {old} is larger than new size {new}")]
    SizeOrder { old: u64, new: u64 },
    #[error("the proof does not lead to the old tree's root {0}")]
    OldRootMismatch(String),
}

fn mismatch(computed: &TreeHash, expected: &TreeHash) -> VerifyError {
    VerifyError::RootMismatch {
        computed: to_base64(computed),
        expected: to_base64(expected),
    }
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &TreeHash,
    proof: &[TreeHash],
    root: &TreeHash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(VerifyError::WrongLength(proof.len()));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(VerifyError::WrongLength(proof.len()));
    }
    if r != *root {
        return Err(mismatch(&r, root));
    }
    Ok(())
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): the tree of `old` leaves with root
/// `old_root` is a prefix of the tree of `new` leaves with root `new_root`.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &TreeHash,
    new_root: &TreeHash,
    proof: &[TreeHash],
) -> Result<(), VerifyError> {
    if old > new {
        return Err(VerifyError::SizeOrder { old, new });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(VerifyError::WrongLength(proof.len()));
        }
        if old == new && old_root != new_root {
            return Err(mismatch(old_root, new_root));
        }
        return Ok(());
    }
    let mut path: Vec<TreeHash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(VerifyError::WrongLength(0));
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(VerifyError::WrongLength(proof.len()));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(VerifyError::WrongLength(proof.len()));
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch(to_base64(old_root)));
    }
    if sr != *new_root {
        return Err(mismatch(&sr, new_root));
    }
    Ok(())
}

/// A tile's hashes: level `tile_level` of tiles holds tree level `tile_level · 8`; tile `index`
/// of width `width` (1..=256) holds that level's hashes `index·256 .. index·256 + width`. Their
/// stored keys.
pub fn tile_keys(tile_level: u8, index: u64, width: u64) -> Vec<u64> {
    let level = tile_level * TILE_HEIGHT;
    let start = index * TILE_WIDTH;
    (start..start + width)
        .map(|i| stored_key(level, i))
        .collect()
}

/// What a C2SP tlog-tiles path names: a hash tile of a tile level, or an entry bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileKind {
    Hashes(u8),
    Entries,
}

/// A tile: its kind, its index, its width (256 for a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePath {
    pub kind: TileKind,
    pub index: u64,
    pub width: u64,
}

impl TilePath {
    /// Reads the part of a tile's path after `tile/`: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`,
    /// with N in three-digit groups (`x001/x234/067`). Only the canonical spelling is accepted.
    pub fn parse(path: &str) -> Option<TilePath> {
        let (head, rest) = path.split_once('/')?;
        let kind = match head {
            "entries" => TileKind::Entries,
            level => {
                let l: u8 = canonical_number(level)?.try_into().ok()?;
                (l <= 7).then_some(TileKind::Hashes(l))?
            }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let w = canonical_number(w)?;
                ((1..TILE_WIDTH).contains(&w)).then_some((n, w))?
            }
            None => (rest, TILE_WIDTH),
        };
        let groups: Vec<&str> = index_part.split('/').collect();
        let (last, prefixed) = groups.split_last()?;
        let mut index = 0u64;
        for g in prefixed {
            index = index
                .checked_mul(1000)?
                .checked_add(three_digits(g.strip_prefix('x')?)?)?;
        }
        index = index.checked_mul(1000)?.checked_add(three_digits(last)?)?;
        let tile = TilePath { kind, index, width };
        (tile.path() == path).then_some(tile)
    }

    /// The path after `tile/`.
    pub fn path(&self) -> String {
        let kind = match self.kind {
            TileKind::Hashes(l) => l.to_string(),
            TileKind::Entries => "entries".into(),
        };
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        let index = groups
            .iter()
            .rev()
            .enumerate()
            .map(|(i, g)| {
                if i + 1 == groups.len() {
                    format!("{g:03}")
                } else {
                    format!("x{g:03}")
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        match self.width {
            TILE_WIDTH => format!("{kind}/{index}"),
            w => format!("{kind}/{index}.p/{w}"),
        }
    }
}

fn canonical_number(text: &str) -> Option<u64> {
    let ok = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    ok.then(|| text.parse().ok()).flatten()
}

fn three_digits(text: &str) -> Option<u64> {
    (text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok())?
}

/// The stored hashes of a tree of `size` leaves, read from its hash tiles (C2SP tlog-tiles) as
/// `fetch` gets them (a witness reads a log this way). A hash between tile levels is computed
/// from the tile below; nothing read is trusted until a proof made of it checks out.
pub struct Tiles<F> {
    size: u64,
    fetch: F,
    cache: std::cell::RefCell<std::collections::HashMap<(u8, u64), Vec<TreeHash>>>,
}

/// A tile that could not be read, or did not hold the hashes its path promises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError<E> {
    #[error("tile {path}: {why}")]
    Bad { path: String, why: String },
    #[error(transparent)]
    Fetch(E),
}

impl<E, F: Fn(&TilePath) -> Result<Vec<u8>, E>> Tiles<F> {
    pub fn new(size: u64, fetch: F) -> Tiles<F> {
        Tiles {
            size,
            fetch,
            cache: Default::default(),
        }
    }

    /// The hashes of tile `index` of tile level `tile_level`, as wide as the tree makes it.
    fn tile(&self, tile_level: u8, index: u64) -> Result<Vec<TreeHash>, TileError<E>> {
        if let Some(t) = self.cache.borrow().get(&(tile_level, index)) {
            return Ok(t.clone());
        }
        let count = hashes_at_level(self.size, tile_level * TILE_HEIGHT);
        let width = count.saturating_sub(index * TILE_WIDTH).min(TILE_WIDTH);
        let path = TilePath {
            kind: TileKind::Hashes(tile_level),
            index,
            width,
        };
        let bad = |why: String| TileError::Bad {
            path: path.path(),
            why,
        };
        if width == 0 {
            return Err(bad("the tree has no such tile".into()));
        }
        let bytes = (self.fetch)(&path).map_err(TileError::Fetch)?;
        if bytes.len() as u64 != width * 32 {
            return Err(bad(format!(
                "{} bytes, not the {} of {width} hashes",
                bytes.len(),
                width * 32
            )));
        }
        let hashes: Vec<TreeHash> = bytes
            .chunks_exact(32)
            .filter_map(|c| c.try_into().ok())
            .collect();
        self.cache
            .borrow_mut()
            .insert((tile_level, index), hashes.clone());
        Ok(hashes)
    }
}

impl<E, F: Fn(&TilePath) -> Result<Vec<u8>, E>> HashSource for Tiles<F> {
    type Error = TileError<E>;
    fn hash(&self, level: u8, index: u64) -> Result<TreeHash, TileError<E>> {
        let tile_level = level / TILE_HEIGHT;
        let below = u32::from(level % TILE_HEIGHT);
        // The hashes of the tile level's own tree level that this one covers.
        let first = index << below;
        let tile = first / TILE_WIDTH;
        let hashes = self.tile(tile_level, tile)?;
        let start = (first % TILE_WIDTH) as usize;
        let end = start + (1usize << below);
        let mut row: Vec<TreeHash> = hashes
            .get(start..end)
            .ok_or_else(|| TileError::Bad {
                path: format!("{tile_level}/{tile}"),
                why: format!("it does not reach hash {end} of its level"),
            })?
            .to_vec();
        while row.len() > 1 {
            row = row
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
        }
        row.pop().ok_or_else(|| TileError::Bad {
            path: format!("{tile_level}/{tile}"),
            why: "empty".into(),
        })
    }
}

/// The number of hashes of tree level `level` that a tree of `size` leaves has.
pub fn hashes_at_level(size: u64, level: u8) -> u64 {
    size.checked_shr(u32::from(level)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    fn build(n: u64) -> (Frontier, MemoryTree, Vec<TreeHash>) {
        let mut tree = MemoryTree::default();
        let leaves: Vec<TreeHash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for l in &leaves {
            tree.push(*l);
        }
        (tree.frontier().clone(), tree, leaves)
    }

    /// MTH straight from RFC 9162 §2.1.1, over leaf hashes.
    fn mth(leaves: &[TreeHash]) -> TreeHash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn rfc_hashes_of_known_values() {
        // SHA-256 of the empty string, and of 0x00 (the empty leaf): RFC 6962 test vectors.
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn roots_and_stored_hashes_agree_with_the_definition() {
        for n in 0..70u64 {
            let (f, mem, leaves) = build(n);
            assert_eq!(f.root(), mth(&leaves), "size {n}");
            assert_eq!(root(n, &mem).unwrap(), mth(&leaves), "size {n}");
            assert_eq!(Frontier::read(n, &mem).unwrap(), f, "size {n}");
            for m in 0..=n {
                assert_eq!(root(m, &mem).unwrap(), mth(&leaves[..m as usize]));
            }
        }
    }

    #[test]
    fn a_frontier_extends_by_an_aligned_one() {
        let (mut a, _, _) = build(64);
        let mut b = Frontier::new();
        for i in 64..100u64 {
            b.push(leaf_hash(&i.to_be_bytes()), &mut |_, _| {});
        }
        assert!(a.extend(&b));
        assert_eq!(a, build(100).0);
        let (mut c, _, _) = build(3);
        assert!(!c.push_subtree(2, [0; 32]), "unaligned subtree taken");
        assert_eq!(c, build(3).0);
    }

    #[test]
    fn stored_keys_are_go_tlog_stored_hash_indexes_in_append_order() {
        // tlog.StoredHashIndex(level, n) for a few values (from Go's tlog_test.go definition).
        assert_eq!(stored_key(0, 0), 0);
        assert_eq!(stored_key(0, 1), 1);
        assert_eq!(stored_key(1, 0), 2);
        assert_eq!(stored_key(0, 2), 3);
        assert_eq!(stored_key(0, 3), 4);
        assert_eq!(stored_key(1, 1), 5);
        assert_eq!(stored_key(2, 0), 6);
        // Every hash a push completes comes next, in order; and the keys split back.
        let mut f = Frontier::new();
        let mut next = 0;
        for i in 0..5000u64 {
            f.push(leaf_hash(&i.to_be_bytes()), &mut |k, _| {
                assert_eq!(k, next);
                next += 1;
            });
        }
        for key in 0..next {
            let (level, index) = from_stored_key(key);
            assert_eq!(stored_key(level, index), key);
        }
    }

    #[test]
    fn tile_paths_are_those_of_c2sp_tlog_tiles() {
        let cases = [
            ("0/000", TileKind::Hashes(0), 0, 256),
            ("0/x001/x234/067", TileKind::Hashes(0), 1_234_067, 256),
            ("1/x001/234.p/8", TileKind::Hashes(1), 1234, 8),
            ("entries/005.p/255", TileKind::Entries, 5, 255),
        ];
        for (path, kind, index, width) in cases {
            let tile = TilePath { kind, index, width };
            assert_eq!(tile.path(), path);
            assert_eq!(TilePath::parse(path), Some(tile));
        }
        for bad in [
            "0/1",
            "0/0001",
            "0/x000/001",
            "00/000",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/08",
            "8/000",
            "0/001/002",
            "x/000",
            "0/x001",
            "entries/000.p/",
        ] {
            assert_eq!(TilePath::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn proofs_made_from_tiles_are_the_proofs_made_from_stored_hashes() {
        // Tiles cut from the stored hashes as the server does, for a tree that needs three tile
        // levels' worth of hashes between tile boundaries.
        let n = 70_000u64;
        let (f, mem, _) = build(n);
        let fetch = |t: &TilePath| -> Result<Vec<u8>, String> {
            let TileKind::Hashes(l) = t.kind else {
                return Err("entries".into());
            };
            let first = t.index * TILE_WIDTH;
            (first..first + t.width)
                .map(|i| mem.hash(l * TILE_HEIGHT, i))
                .collect::<Result<Vec<_>, _>>()
                .map(|h| h.concat())
        };
        let tiles = Tiles::new(n, fetch);
        assert_eq!(root(n, &tiles).unwrap(), f.root());
        for old in [1, 255, 256, 257, 65_535, 65_536, 69_999] {
            assert_eq!(
                consistency_proof(old, n, &tiles).unwrap(),
                consistency_proof(old, n, &mem).unwrap()
            );
        }
        for i in [0, 300, 65_536, 69_999] {
            assert_eq!(
                inclusion_proof(i, n, &tiles).unwrap(),
                inclusion_proof(i, n, &mem).unwrap()
            );
        }
    }

    #[test]
    fn out_of_range_is_refused() {
        let (_, mem, _) = build(5);
        assert!(matches!(
            inclusion_proof(5, 5, &mem),
            Err(ProofError::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            consistency_proof(6, 5, &mem),
            Err(ProofError::SizeOrder { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn inclusion_proofs_verify_and_nothing_else_does(size in 1u64..3000, pick in any::<u64>(), flip in any::<u64>()) {
            let (f, mem, leaves) = build(size);
            let index = pick % size;
            let proof = inclusion_proof(index, size, &mem).unwrap();
            let root = f.root();
            let leaf = leaves[index as usize];
            prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root).is_ok());
            // A changed byte of the leaf, the root or any proof hash fails, as does another index.
            let byte = (flip % 32) as usize;
            let mut bad_leaf = leaf;
            bad_leaf[byte] ^= 1;
            prop_assert!(verify_inclusion(index, size, &bad_leaf, &proof, &root).is_err());
            let mut bad_root = root;
            bad_root[byte] ^= 0x80;
            prop_assert!(verify_inclusion(index, size, &leaf, &proof, &bad_root).is_err());
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let at = (flip as usize / 32) % bad.len();
                bad[at][byte] ^= 4;
                prop_assert!(verify_inclusion(index, size, &leaf, &bad, &root).is_err());
                prop_assert!(verify_inclusion(index, size, &leaf, &proof[1..], &root).is_err());
            }
            if size > 1 {
                prop_assert!(verify_inclusion((index + 1) % size, size, &leaf, &proof, &root).is_err());
            }
            // A size whose tree has another depth at this index needs another number of hashes.
            prop_assert!(verify_inclusion(index, 2 * size + 2, &leaf, &proof, &root).is_err());
        }

        #[test]
        fn consistency_proofs_verify_and_nothing_else_does(new in 1u64..3000, pick in any::<u64>(), flip in any::<u64>()) {
            let (f, mem, leaves) = build(new);
            let old = 1 + pick % new;
            let old_root = mth(&leaves[..old as usize]);
            let proof = consistency_proof(old, new, &mem).unwrap();
            prop_assert!(verify_consistency(old, new, &old_root, &f.root(), &proof).is_ok());
            let byte = (flip % 32) as usize;
            let mut bad_old = old_root;
            bad_old[byte] ^= 2;
            prop_assert!(verify_consistency(old, new, &bad_old, &f.root(), &proof).is_err());
            let mut bad_new = f.root();
            bad_new[byte] ^= 2;
            prop_assert!(verify_consistency(old, new, &old_root, &bad_new, &proof).is_err());
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let at = (flip as usize / 32) % bad.len();
                bad[at][byte] ^= 16;
                prop_assert!(verify_consistency(old, new, &old_root, &f.root(), &bad).is_err());
            }
            if old < new {
                // Another old size, with its own true root, does not pass with this proof.
                let other = if old > 1 { old - 1 } else { old + 1 };
                if other < new && other != old {
                    let other_root = mth(&leaves[..other as usize]);
                    prop_assert!(verify_consistency(other, new, &other_root, &f.root(), &proof).is_err());
                }
            }
        }
    }
}
