//! `garanti serve` as a real process on a free loopback port, talked to over HTTP (reqwest).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{garanti, BIN, NOW};
use serde_json::{json, Value};
use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `garanti serve` on port 0 and reads the address it prints.
fn start(data: &Path, tokens: &Path) -> Server {
    start_with(data, tokens, &[])
}

/// `start` with more options for `serve`.
fn start_with(data: &Path, tokens: &Path, more: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args([
            "--now",
            NOW,
            "serve",
            "--init",
            "--listen",
            "127.0.0.1:0",
            "--tokens",
        ])
        .arg(tokens)
        .args(more)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("garanti serve starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("garanti: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Server { child, url }
}

/// Sends SIGTERM to the server: a graceful stop.
fn terminate(server: &Server) {
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
}

/// A server on a new data directory with an admin token (actor `ops-1`), started with `more`:
/// the temporary directory (keep it), the data directory, the token and the server.
fn served_to_admin(more: &[&str]) -> (tempfile::TempDir, std::path::PathBuf, String, Server) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = dir.path().join("tokens.toml");
    let admin = new_token(&data, &tokens, &["--role", "admin", "--actor", "ops-1"]);
    let server = start_with(&data, &tokens, more);
    (dir, data, admin, server)
}

fn new_token(data: &Path, tokens: &Path, args: &[&str]) -> String {
    let mut all = vec!["token", "new", "--tokens", tokens.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = garanti(data, &all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = run.stdout.trim().to_owned();
    assert!(token.starts_with("garanti_"), "{token}");
    let file = std::fs::read_to_string(tokens).unwrap();
    assert!(!file.contains(&token), "the tokens file keeps hashes only");
    token
}

fn guidance(stream: &str) -> Value {
    json!([{"stream": stream, "type": "sanction_guidance_given", "effective_at": "2017-03-01T10:00:00+01:00", "actor": "cw-1", "data": {}}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_ledger_takes_appends_answers_queries_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = dir.path().join("tokens.toml");
    let import = garanti(
        &data,
        &[
            "import",
            common::fixture("scenarios/01-lawful-sanction.jsonl")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(import.code, 0, "{}", import.stderr);
    let admin = new_token(
        &data,
        &tokens,
        &["--role", "admin", "--actor", "ops", "--id", "ops-1"],
    );
    let legal = new_token(&data, &tokens, &["--role", "legal", "--actor", "jurist-1"]);
    let mut server = start(&data, &tokens);
    let http = reqwest::Client::new();
    let url = server.url.clone();

    // Caught up from the log at start.
    let s: Value = http
        .get(format!("{url}/v1/sanctions/s-1"))
        .bearer_auth(&legal)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["verdict"], "lawful", "{s}");
    let r = http
        .get(format!("{url}/v1/sanctions/s-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = http
        .post(format!("{url}/v1/events"))
        .bearer_auth(&legal)
        .json(&guidance("dk-101:c-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Concurrent appends, then SIGTERM while more are under way.
    let mut tasks = Vec::new();
    let mut acknowledged = Vec::new();
    for i in 0..48 {
        let (http, url, admin) = (http.clone(), url.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{url}/v1/events"))
                .bearer_auth(&admin)
                .json(&guidance(&format!("dk-101:c-{i:03}")))
                .send()
                .await;
            match r {
                Ok(r) if r.status() == 201 => Some(
                    r.json::<Value>().await.unwrap()["events"][0]["seq"]
                        .as_u64()
                        .unwrap(),
                ),
                Ok(r) => {
                    assert_eq!(r.status(), 503, "refused while shutting down, nothing else");
                    None
                }
                Err(_) => None,
            }
        }));
        if i == 15 {
            // The first 16 are answered before the signal; the rest race with it.
            for t in tasks.drain(..) {
                acknowledged.extend(t.await.unwrap());
            }
            assert_eq!(acknowledged.len(), 16);
        }
        if i == 31 {
            terminate(&server);
        }
    }
    for t in tasks {
        acknowledged.extend(t.await.unwrap());
    }
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");

    // Every acknowledged append is durable, by the appending token's id, on an intact chain.
    let verify = garanti(&data, &["verify"]);
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    let export = garanti(&data, &["export"]);
    let records: Vec<Value> = export
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v.get("seq").is_some())
        .collect();
    for seq in &acknowledged {
        let r = records
            .iter()
            .find(|r| r["seq"] == *seq)
            .unwrap_or_else(|| panic!("acknowledged seq {seq} is missing"));
        assert_eq!(r["appended_by"], "ops-1");
    }
    assert_eq!(
        records.len(),
        8 + acknowledged.len(),
        "nothing but the acknowledged appends was written"
    );
}

/// The log served: checkpoints signed while it grows and at shutdown, and after a kill -9 at the
/// restart; a witness cosigns from the log's URL as it grows and refuses a split view (another
/// history signed with the same key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_log_is_checkpointed_and_witnessed_and_a_split_view_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = dir.path().join("tokens.toml");
    let made = garanti(
        &data,
        &["log-key", "new", "--origin", "kbh.example/garanti"],
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let vkey = made.stdout.trim().to_owned();
    let admin = new_token(&data, &tokens, &["--role", "admin", "--actor", "ops-1"]);
    let wkey = dir.path().join("witness.key");
    let wk = garanti(
        &data,
        &[
            "witness-key",
            "new",
            "--name",
            "revisor.example/w",
            "--key",
            wkey.to_str().unwrap(),
        ],
    );
    assert_eq!(wk.code, 0, "{}", wk.stderr);
    let state = dir.path().join("witness-state");
    let witness = |url: &str| {
        garanti(
            &data,
            &[
                "witness",
                "--log-key",
                &vkey,
                "--witness-key",
                wkey.to_str().unwrap(),
                "--state",
                state.to_str().unwrap(),
                "--url",
                url,
            ],
        )
    };
    let client = reqwest::Client::new();
    let append = |server: &Server, n: usize| {
        let (client, url, admin) = (client.clone(), server.url.clone(), admin.clone());
        async move {
            let mut last = 0;
            for i in 0..n {
                let r = client
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(&admin)
                    .json(&guidance(&format!("dk-101:c-{i:04}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                last = r.json::<Value>().await.unwrap()["events"][0]["seq"]
                    .as_u64()
                    .unwrap();
            }
            last
        }
    };
    let server = start(&data, &tokens);
    let last = append(&server, 300).await;
    // Within a second or two a checkpoint covers every acknowledged append.
    let mut size = 0;
    for _ in 0..50 {
        let cp = checkpoint_of(&client, &server).await;
        size = cp.lines().nth(1).unwrap().parse::<u64>().unwrap();
        if size > last {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(size, last + 1);
    let log = format!("{}/log/", server.url);
    let first = witness(&log);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains("\n\u{2014} revisor.example/w "),
        "{}",
        first.stdout
    );
    let last = append(&server, 40).await;

    // kill -9: the restarted server signs a checkpoint covering every acknowledged append.
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = start(&data, &tokens);
    let cp = checkpoint_of(&client, &server).await;
    assert_eq!(
        cp.lines().nth(1).unwrap().parse::<u64>().unwrap(),
        last + 1,
        "{cp}"
    );
    // The grown log is cosigned from its tiles (300 → 340 records crosses a full tile).
    let log = format!("{}/log/", server.url);
    let grown = witness(&log);
    assert_eq!(grown.code, 0, "{}{}", grown.stdout, grown.stderr);

    // A graceful stop signs the last checkpoint.
    append(&server, 3).await;
    terminate(&server);
    let mut server = server;
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
    let kept = common::json(&garanti(&data, &["checkpoints", "--format", "json"]));
    let sizes: Vec<u64> = kept
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes.last(), Some(&(last + 4)));

    // Another history under the same key: a split view. The witness refuses it, exit 1, with
    // both checkpoints, and its state does not move.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let fork = garanti_import_guidance(&other, 400);
    std::fs::copy(data.join("garanti-log.key"), fork.join("garanti-log.key")).unwrap();
    let state_before = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect::<Vec<_>>();
    let forked = start(&fork, &tokens);
    let refused = witness(&format!("{}/log/", forked.url));
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stdout.contains("REFUSED: fork"),
        "{}",
        refused.stdout
    );
    let both = ["kbh.example/garanti\n340\n", "kbh.example/garanti\n400\n"];
    assert!(
        both.iter().all(|cp| refused.stdout.contains(cp)),
        "both checkpoints: {}",
        refused.stdout
    );
    let state_after = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(state_before, state_after);
}

async fn checkpoint_of(client: &reqwest::Client, server: &Server) -> String {
    let url = format!("{}/log/checkpoint", server.url);
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Four 8 MiB bodies of four million tiny items at once: each refused with 413 while it is
/// parsed, and the server's peak memory stays a small multiple of the bodies (it reached 1.1 GB
/// when every item was built before the batch was counted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_batches_are_refused_without_building_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = dir.path().join("tokens.toml");
    let admin = new_token(&data, &tokens, &["--role", "admin", "--actor", "ops-1"]);
    let server = start(&data, &tokens);
    let body = format!("[{}0]", "0,".repeat(4_190_000));
    assert!(body.len() < 8 << 20);
    let client = reqwest::Client::new();
    let sends: Vec<_> = (0..4)
        .map(|_| {
            let (client, url, admin, body) = (
                client.clone(),
                server.url.clone(),
                admin.clone(),
                body.clone(),
            );
            tokio::spawn(async move {
                let r = client
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(admin)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                r.status().as_u16()
            })
        })
        .collect();
    for s in sends {
        assert_eq!(s.await.unwrap(), 413);
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert!(peak_kb < 256 * 1024, "peak memory {} MiB", peak_kb / 1024);
}

/// A feed client that stopped reading cannot keep the process alive after SIGTERM: after the
/// grace its connection is closed and the process exits 0, everything acknowledged durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_by_a_stuck_feed_client() {
    use std::io::Write as _;
    let (_dir, data, admin, mut server) = served_to_admin(&["--shutdown-grace", "2"]);
    let addr = server.url.trim_start_matches("http://").to_owned();
    // A feed client that sends its request and never reads a byte.
    let mut stuck = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stuck,
        "GET /v1/feed HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {admin}\r\n\r\n"
    )
    .unwrap();
    // Enough events that the feed's lines fill the socket buffers of both ends.
    let client = reqwest::Client::new();
    let mut acknowledged = 0;
    for batch in 0..20 {
        let events: Vec<Value> = (0..1000)
            .map(|i| guidance(&format!("dk-101:c-{batch}-{i}"))[0].clone())
            .collect();
        let r = client
            .post(format!("{}/v1/events", server.url))
            .bearer_auth(&admin)
            .json(&events)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        acknowledged += 1000;
    }
    let stopped = std::time::Instant::now();
    terminate(&server);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped.elapsed() < std::time::Duration::from_secs(20),
            "the server is still running 20 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    drop(stuck);
    let head = common::json(&garanti(&data, &["head", "--format", "json"]));
    assert_eq!(head["seq"].as_u64(), Some(acknowledged - 1));
    assert_eq!(garanti(&data, &["verify"]).code, 0);
}

/// After SIGTERM, while the listener drains, every new request, on a connection kept open or a
/// new one, is answered 503 with `Retry-After` and `Connection: close` (a client moves on; it
/// never meets a reset); then the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_requests_during_shutdown_are_answered_503_not_reset() {
    let (_dir, data, admin, mut server) = served_to_admin(&["--shutdown-drain", "3"]);
    let client = reqwest::Client::new();
    let append = || {
        client
            .post(format!("{}/v1/events", server.url))
            .bearer_auth(&admin)
            .json(&guidance("dk-101:c-1"))
            .send()
    };
    // A connection kept open by the client's pool.
    assert_eq!(append().await.unwrap().status(), 201);
    terminate(&server);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for _ in 0..5 {
        let r = append().await.expect("answered, not reset");
        assert_eq!(r.status(), 503);
        assert!(r.headers().contains_key("retry-after"));
        assert_eq!(r.headers()["connection"], "close");
        let head = client
            .get(format!("{}/v1/ledger/head", server.url))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("answered, not reset");
        assert_eq!(head.status(), 503);
    }
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
    let head = common::json(&garanti(&data, &["head", "--format", "json"]));
    assert_eq!(
        head["seq"].as_u64(),
        Some(0),
        "only the acknowledged append"
    );
}

/// A ledger of `n` guidance events in `dir/data`.
fn garanti_import_guidance(dir: &Path, n: usize) -> std::path::PathBuf {
    let data = dir.join("data");
    let lines: String = (0..n)
        .map(|i| format!("{}\n", guidance(&format!("dk-202:c-{i:04}"))[0]))
        .collect();
    let file = dir.join("events.jsonl");
    std::fs::write(&file, lines).unwrap();
    let run = garanti(&data, &["import", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    data
}

#[test]
fn serve_without_a_tokens_file_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = garanti(
        &dir.path().join("data"),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tokens",
            dir.path().join("none.toml").to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("garanti token new"), "{}", run.stderr);
    let run = garanti(
        &dir.path().join("data"),
        &[
            "token",
            "new",
            "--role",
            "caseworker",
            "--actor",
            "x",
            "--tokens",
            dir.path().join("t.toml").to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("prefix"), "{}", run.stderr);
}
