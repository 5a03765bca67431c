//! A router over a ledger in a temporary directory, called without a socket (tower `oneshot`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use api::{AppState, Config, Limits, Principal, Role, Tokens};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt as _;

pub const ADMIN: &str = "garanti_test_admin";
pub const CASEWORKER: &str = "garanti_test_caseworker_101";
pub const LEGAL: &str = "garanti_test_legal";
pub const REVISOR: &str = "garanti_test_revisor";

/// The token of each role (the caseworker's prefix is `dk-101:`).
pub fn token_of(role: Role) -> &'static str {
    match role {
        Role::Admin => ADMIN,
        Role::Caseworker => CASEWORKER,
        Role::Legal => LEGAL,
        Role::Revisor => REVISOR,
    }
}

pub fn tokens() -> Tokens {
    let p = |id: &str, role: Role, prefix: Option<&str>| Principal {
        id: id.into(),
        actor: format!("actor-{id}"),
        role,
        prefix: prefix.map(str::to_owned),
    };
    Tokens::from_pairs(&[
        (ADMIN, p("t-admin", Role::Admin, None)),
        (CASEWORKER, p("t-cw-101", Role::Caseworker, Some("dk-101:"))),
        (LEGAL, p("t-legal", Role::Legal, None)),
        (REVISOR, p("t-revisor", Role::Revisor, None)),
    ])
}

/// The evaluation time of the tests: results do not depend on the day they run.
pub fn now() -> i64 {
    ledger::Timestamp::parse_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .unix_nanos
}

pub struct App {
    pub dir: tempfile::TempDir,
    pub state: AppState,
    pub router: Router,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// The worked example 01 (a lawful sanction `s-1` on `dk-101:c-0001`) as JSON Lines, moved to
/// another stream and sanction id.
pub fn lawful_case(stream: &str, sanction_id: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/scenarios/01-lawful-sanction.jsonl"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .replace("dk-101:c-0001", stream)
        .replace("\"s-1\"", &format!("\"{sanction_id}\""))
}

impl App {
    /// An app with the default limits, except that appends may carry any `recorded_at`: the
    /// fixtures carry their source systems' times, of 2017.
    pub fn new() -> App {
        App::with_limits(Limits {
            max_recorded_lag: None,
            ..Limits::default()
        })
    }

    pub fn with_limits(limits: Limits) -> App {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Arc::new(ledger::Ledger::open(dir.path(), None).unwrap());
        let config = Config {
            params: projections::Params::default(),
            clock: api::state::Clock::at(now()),
            limits,
            log_key: Some(std::sync::Arc::new(
                ledger::note::NoteSigner::generate(
                    "test.example/garanti",
                    ledger::note::ALG_ED25519,
                )
                .unwrap(),
            )),
        };
        let state = AppState::open(ledger, tokens(), config, &mut |_| {}).unwrap();
        let router = api::router(state.clone());
        App { dir, state, router }
    }

    /// An app with two lawful cases: `s-1` on `dk-101:c-0001`, `s-2` on `dk-102:c-0001`.
    pub async fn seeded() -> App {
        let app = App::new();
        for (stream, id) in [("dk-101:c-0001", "s-1"), ("dk-102:c-0001", "s-2")] {
            let a = app
                .post_lines("/v1/events", ADMIN, &lawful_case(stream, id))
                .await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        }
        app
    }

    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(self.request(method, uri, token, content_type, body, headers))
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub fn request(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Request<Body> {
        let mut r = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.body(Body::from(body.to_owned())).unwrap()
    }

    pub async fn get(&self, uri: &str, token: &str) -> Answer {
        self.send("GET", uri, Some(token), None, "", &[]).await
    }

    /// Posts JSON Lines (`application/x-ndjson`).
    pub async fn post_lines(&self, uri: &str, token: &str, body: &str) -> Answer {
        self.send(
            "POST",
            uri,
            Some(token),
            Some("application/x-ndjson"),
            body,
            &[],
        )
        .await
    }

    pub async fn post_json(&self, uri: &str, token: &str, body: &str) -> Answer {
        self.send(
            "POST",
            uri,
            Some(token),
            Some("application/json"),
            body,
            &[],
        )
        .await
    }

    /// Records in the ledger.
    pub fn records(&self) -> u64 {
        self.state.ledger.head().map_or(0, |h| h.seq + 1)
    }
}

/// One event on a stream, as a JSON object text.
pub fn event(stream: &str, event_type: &str, at: &str, data: &str) -> String {
    format!(
        r#"{{"stream":"{stream}","type":"{event_type}","effective_at":"{at}","actor":"cw-1","data":{data}}}"#
    )
}
