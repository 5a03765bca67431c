//! The Merkle tree, checkpoint and proof test vectors of docs/FORMAT.md §5–§8 hold.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger::merkle::{self, Frontier, MemoryTree, TreeHash};
use ledger::note::{Checkpoint, Note, NoteSigner, NoteVerifier};

/// The RFC 6962 test leaves.
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

fn tree() -> (Frontier, MemoryTree) {
    let mut t = MemoryTree::default();
    for l in LEAVES {
        t.push(merkle::leaf_hash(&hex::decode(l).unwrap()));
    }
    (t.frontier().clone(), t)
}

fn key(seed: u8, name: &str, alg: u8) -> NoteSigner {
    let b64 = base64_of(&[&[alg][..], &[seed; 32][..]].concat());
    let text = format!("PRIVATE+KEY+{name}+00000000+{b64}");
    // The key hash in the text is checked on parse: it is computed here from the public key.
    let verifier_id = {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        ledger::note::key_id(name, alg, sk.verifying_key().as_bytes())
    };
    NoteSigner::parse(&text.replace("00000000", &format!("{verifier_id:08x}"))).unwrap()
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

const NOTE: &str = "example.dk/garanti\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n\u{2014} example.dk/garanti Wkh5sEtAJ2iEHSA7HnkJwfjyMNTcFjgtEB43my+eBA8EroijSQCvyuSngQTE2wX7zAE4gy6mj6lWmdRsLRvmMtVp3Qk=\n";

#[test]
fn the_documented_tree_vectors_hold() {
    // §5: the leaf hash of the record of §4.
    let record = hex::decode("000d646b2d3130313a632d3030303101aab4aed8c7bfce972f03636c690d6f666665725f737461727465648080cbeac3c7b9aa29a0380180e085ef82cbb9aa29a0380563772d3137127b226f666665725f6964223a226f2d31227d").unwrap();
    assert_eq!(
        hex::encode(merkle::leaf_hash(&record)),
        "8711fb97050f45fc29a75c55201444406258a36dd17929ee490a93a7ff310a4e"
    );
    // The roots of the RFC 6962 test leaves for every size 1..=8 (certificate-transparency's
    // and transparency-dev/merkle's test vectors).
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let (f, mem) = tree();
    for (size, root) in (1..=8u64).zip(roots) {
        assert_eq!(
            hex::encode(merkle::root(size, &mem).unwrap()),
            root,
            "size {size}"
        );
    }
    assert_eq!(hex::encode(f.root()), roots[7]);
    let b64 = |v: Vec<TreeHash>| v.iter().map(merkle::to_base64).collect::<Vec<_>>();
    assert_eq!(
        b64(merkle::inclusion_proof(5, 8, &mem).unwrap()),
        [
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
            "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="
        ]
    );
    assert_eq!(
        b64(merkle::consistency_proof(3, 8, &mem).unwrap()),
        [
            "ApjRIpBtz8EIkstTpzmS/FufST6kybrbJ7eRtBJ6f+c=",
            "B1Bqhf2d0vEg62lPhgEeW7RmLlxBWmKRcDPUqWJEh+c=",
            "+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="
        ]
    );
    let root3 = merkle::from_base64("rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=").unwrap();
    let proof: Vec<TreeHash> = merkle::consistency_proof(3, 8, &mem).unwrap();
    merkle::verify_consistency(3, 8, &root3, &f.root(), &proof).unwrap();
}

#[test]
fn the_documented_key_checkpoint_and_cosignature_vectors_hold() {
    // §6: keys from the seeds 32 × 0x07 (the log) and 32 × 0x03 (a witness).
    let log = key(7, "example.dk/garanti", 1);
    assert_eq!(
        log.private_text(),
        "PRIVATE+KEY+example.dk/garanti+5a4879b0+AQcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH\n"
    );
    assert_eq!(
        log.verifier_key(),
        "example.dk/garanti+5a4879b0+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
    );
    let (f, _) = tree();
    let cp = Checkpoint {
        origin: "example.dk/garanti".into(),
        size: 8,
        root: f.root(),
    };
    // Ed25519 signatures are deterministic: the same key and text give the same note.
    assert_eq!(log.sign(&cp.text()).unwrap(), NOTE);
    let verifier = NoteVerifier::parse(&log.verifier_key()).unwrap();
    assert_eq!(Checkpoint::open(NOTE, &verifier).unwrap().0, cp);
    let w = key(3, "witness.example", 4);
    assert_eq!(
        w.verifier_key(),
        "witness.example+ade2488a+BO1JKMYo0cLG6ukDOJBZlWEpWSc6XGP5NjbBRhSshzfR"
    );
    let line = w.cosign_line(&cp.text(), 1_700_000_000);
    assert_eq!(
        line,
        "\u{2014} witness.example reJIigAAAABlU/EADa6Huyq8CwFO7qki/RsPd20oy9gB7e4GU0ii2v4DWNVeuQDfrfNoG8vx+K3aW0XL2X35Ubqb4j4jstm+xAAGBQ==\n"
    );
    let cosigned = format!("{NOTE}{line}");
    let note = Note::open(&cosigned, &NoteVerifier::parse(&w.verifier_key()).unwrap()).unwrap();
    assert_eq!(note.signatures[1].timestamp(), Some(1_700_000_000));
}
