//! Running the `garanti` binary in tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_garanti");

/// A fixed evaluation time, so that results do not depend on the day the tests run.
pub const NOW: &str = "2026-01-01T00:00:00Z";

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs garanti with `--data DATA` and the fixed clock.
pub fn garanti(data: &Path, args: &[&str]) -> Run {
    Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(["--now", NOW])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("garanti runs")
        .into()
}

/// Runs garanti with `input` on standard input.
pub fn garanti_stdin(data: &Path, args: &[&str], input: &str) -> Run {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(["--now", NOW])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("garanti starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap().into()
}

pub fn json(run: &Run) -> serde_json::Value {
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
}

/// The head as (seq, hash), or None for an empty ledger.
pub fn head(data: &Path) -> Option<(u64, String)> {
    let v = json(&garanti(data, &["head", "--format", "json"]));
    v["seq"]
        .as_u64()
        .map(|s| (s, v["hash"].as_str().unwrap().to_owned()))
}

#[path = "../../ledger/tests/common/fs.rs"]
mod fs;
#[allow(unused_imports)]
pub use fs::*;
