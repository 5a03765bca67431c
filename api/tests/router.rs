//! The router through tower `oneshot`: every route against every role, appends and their errors,
//! read-your-writes, idempotency, the sanction check, the feed, metrics and the OpenAPI document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use api::auth::Access;
use api::{Limits, Role};
use axum::http::StatusCode;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;

/// Every route with what it needs; the OpenAPI test below checks that none is missing here.
fn routes() -> Vec<(&'static str, &'static str, Option<Access>, String)> {
    let append = event(
        "dk-101:c-0009",
        "sanction_guidance_given",
        "2017-03-01T10:00:00+01:00",
        "{}",
    );
    let check = r#"{"stream":"dk-101:c-0001","offer_id":"o-1","kind":"stop","decided_at":"2017-04-01T10:00:00+02:00"}"#;
    vec![
        (
            "POST",
            "/v1/events",
            Some(Access::Append),
            format!("[{append}]"),
        ),
        (
            "GET",
            "/v1/streams/dk-101:c-0001",
            Some(Access::ReadCases),
            String::new(),
        ),
        (
            "GET",
            "/v1/sanctions?year=2017",
            Some(Access::ReadCases),
            String::new(),
        ),
        (
            "GET",
            "/v1/sanctions/s-1",
            Some(Access::ReadCases),
            String::new(),
        ),
        (
            "POST",
            "/v1/sanctions/check",
            Some(Access::Check),
            check.to_owned(),
        ),
        (
            "GET",
            "/v1/findings?year=2017",
            Some(Access::ReadCases),
            String::new(),
        ),
        (
            "GET",
            "/v1/deadlines?within=30",
            Some(Access::Follow),
            String::new(),
        ),
        ("GET", "/v1/rules", Some(Access::Public), String::new()),
        (
            "GET",
            "/v1/reports/2017",
            Some(Access::Audit),
            String::new(),
        ),
        (
            "GET",
            "/v1/ledger/head",
            Some(Access::Public),
            String::new(),
        ),
        (
            "GET",
            "/v1/ledger/events?limit=2",
            Some(Access::Audit),
            String::new(),
        ),
        (
            "GET",
            "/v1/ledger/verify",
            Some(Access::Audit),
            String::new(),
        ),
        ("GET", "/v1/feed", Some(Access::Follow), String::new()),
        (
            "GET",
            "/v1/ledger/proof?seq=0",
            Some(Access::Audit),
            String::new(),
        ),
        (
            "GET",
            "/v1/sanctions/s-1/proof",
            Some(Access::ReadCases),
            String::new(),
        ),
        (
            "GET",
            "/log/tile/entries/000.p/1",
            Some(Access::Audit),
            String::new(),
        ),
        ("GET", "/log/checkpoint", None, String::new()),
        ("GET", "/log/tile/0/000.p/1", None, String::new()),
        ("GET", "/healthz", None, String::new()),
        ("GET", "/metrics", None, String::new()),
        ("GET", "/openapi.json", None, String::new()),
        ("GET", "/docs/", None, String::new()),
    ]
}

/// A response's headers and status without reading its body (the feed's never ends).
async fn status_of(
    app: &App,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> StatusCode {
    use tower::ServiceExt as _;
    let ct = (method == "POST").then_some("application/json");
    app.router
        .clone()
        .oneshot(app.request(method, uri, token, ct, body, &[]))
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn every_route_against_every_role() {
    let app = App::seeded().await;
    for (method, uri, access, body) in routes() {
        let none = status_of(&app, method, uri, None, &body).await;
        let bad = status_of(&app, method, uri, Some("garanti_not_a_token"), &body).await;
        match access {
            None => {
                assert!(none.is_success(), "{method} {uri} without a token: {none}");
            }
            Some(access) => {
                assert_eq!(
                    none,
                    StatusCode::UNAUTHORIZED,
                    "{method} {uri} without a token"
                );
                assert_eq!(
                    bad,
                    StatusCode::UNAUTHORIZED,
                    "{method} {uri} with an unknown token"
                );
                for role in Role::ALL {
                    let got = status_of(&app, method, uri, Some(token_of(role)), &body).await;
                    if access.allows(role) {
                        assert!(got.is_success(), "{method} {uri} as {role:?}: {got}");
                    } else {
                        assert_eq!(got, StatusCode::FORBIDDEN, "{method} {uri} as {role:?}");
                    }
                }
            }
        }
    }
}

/// The documented path of a tested URI.
fn template(uri: &str) -> String {
    let path = uri.split('?').next().unwrap();
    match path {
        "/v1/streams/dk-101:c-0001" => "/v1/streams/{stream}".to_owned(),
        "/v1/sanctions/s-1" => "/v1/sanctions/{id}".to_owned(),
        "/v1/reports/2017" => "/v1/reports/{year}".to_owned(),
        "/v1/sanctions/s-1/proof" => "/v1/sanctions/{id}/proof".to_owned(),
        p if p.starts_with("/log/tile/") => "/log/tile/{path}".to_owned(),
        other => other.to_owned(),
    }
}

/// Every status a route answers in these tests (with and without tokens, as every role, with a
/// URI too long) is declared for it in the OpenAPI document, with a problem document for errors;
/// the routes that take or give JSON Lines declare `application/x-ndjson`.
#[tokio::test]
async fn every_status_a_route_answers_is_declared() {
    let app = App::seeded().await;
    let doc = app.get("/openapi.json", ADMIN).await.json();
    for (method, uri, _, body) in routes() {
        let path = template(uri);
        if path == "/openapi.json" || path == "/docs/" {
            continue;
        }
        let op = &doc["paths"][&path][method.to_lowercase()];
        let mut answered = BTreeSet::new();
        for token in [None, Some("garanti_not_a_token")]
            .into_iter()
            .chain(Role::ALL.iter().map(|r| Some(token_of(*r))))
        {
            answered.insert(status_of(&app, method, uri, token, &body).await);
        }
        let long = format!(
            "{uri}{}x={}",
            if uri.contains('?') { "&" } else { "?" },
            "a".repeat(8200)
        );
        answered.insert(status_of(&app, method, &long, Some(ADMIN), &body).await);
        for status in answered {
            let declared = &op["responses"][status.as_str()];
            assert!(
                declared.is_object(),
                "{method} {path} answers {status}, undeclared"
            );
            if status.is_client_error() || status.is_server_error() {
                assert!(
                    declared["content"]["application/problem+json"].is_object(),
                    "{method} {path} {status}: {declared}"
                );
            }
        }
    }
    let append = &doc["paths"]["/v1/events"]["post"];
    assert!(append["requestBody"]["content"]["application/x-ndjson"].is_object());
    for status in ["409", "413", "415", "507"] {
        assert!(append["responses"][status].is_object(), "{status}");
    }
    let export = &doc["paths"]["/v1/ledger/events"]["get"]["responses"]["200"];
    assert!(
        export["content"]["application/x-ndjson"].is_object(),
        "{export}"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_tested() {
    let app = App::new();
    let doc = app.get("/openapi.json", ADMIN).await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let tested: BTreeSet<String> = routes()
        .iter()
        .map(|(_, uri, _, _)| template(uri))
        .filter(|p| p != "/openapi.json" && p != "/docs/")
        .collect();
    assert_eq!(documented, tested);
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let docs = app.get("/docs/", ADMIN).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.text.contains("swagger"), "the docs page is Swagger UI");
}

#[tokio::test]
async fn a_caseworker_sees_and_touches_only_its_municipality() {
    let app = App::seeded().await;
    let other = app.get("/v1/streams/dk-102:c-0001", CASEWORKER).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text);
    assert_eq!(other.content_type(), "application/problem+json");
    // Another municipality's sanction is not said to exist.
    assert_eq!(
        app.get("/v1/sanctions/s-2", CASEWORKER).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/v1/sanctions/s-2", LEGAL).await.status,
        StatusCode::OK
    );
    let list = app.get("/v1/sanctions", CASEWORKER).await.json();
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sanction_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["s-1"]);
    let all = app.get("/v1/sanctions", REVISOR).await.json();
    assert_eq!(all["total"], 2);
    let before = app.records();
    let body = format!(
        "[{},{}]",
        event(
            "dk-101:c-0005",
            "sanction_guidance_given",
            "2017-03-01T10:00:00+01:00",
            "{}"
        ),
        event(
            "dk-102:c-0005",
            "sanction_guidance_given",
            "2017-03-01T10:00:00+01:00",
            "{}"
        )
    );
    let a = app.post_json("/v1/events", CASEWORKER, &body).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    assert!(
        a.json()["detail"].as_str().unwrap().contains("event 1"),
        "{}",
        a.text
    );
    assert_eq!(app.records(), before, "nothing of the batch is written");
}

#[tokio::test]
async fn an_acknowledged_append_is_seen_by_the_next_query() {
    let app = App::new();
    let a = app
        .post_lines(
            "/v1/events",
            CASEWORKER,
            &lawful_case("dk-101:c-0042", "s-42"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let answer = a.json();
    let events = answer["events"].as_array().unwrap();
    assert_eq!(events.len(), 8);
    assert_eq!(events[0]["seq"], 0);
    assert_eq!(events[7]["stream_version"], 8);
    assert_eq!(answer["head"]["seq"], 7);
    let head = app.state.ledger.head().unwrap();
    assert_eq!(answer["head"]["hash"], head.hash_hex());
    // No wait, no retry: the verdict is there at once.
    let s = app.get("/v1/sanctions/s-42", LEGAL).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    let s = s.json();
    assert_eq!(s["verdict"], "lawful");
    assert!(
        s["checks"].as_array().unwrap().len() >= 4,
        "the explanation comes with it"
    );
    let case = app.get("/v1/streams/dk-101:c-0042", LEGAL).await.json();
    assert_eq!(case["events"].as_array().unwrap().len(), 8);
    assert_eq!(case["events"][7]["hash"], head.hash_hex());
    assert_eq!(case["sanctions"][0]["sanction_id"], "s-42");
    // Every record carries the token's id as appended_by, not anything the body says.
    let page = app
        .get("/v1/ledger/events?from=0&limit=8", REVISOR)
        .await
        .json();
    for r in page["records"].as_array().unwrap() {
        assert_eq!(r["appended_by"], "t-cw-101");
        assert_eq!(r["actor"], "cw-17");
    }
    assert_eq!(app.get("/v1/ledger/head", LEGAL).await.json()["seq"], 7);
}

#[tokio::test]
async fn appended_by_cannot_be_set_by_the_request() {
    let app = App::new();
    let body = r#"[{"stream":"dk-101:c-1","type":"sanction_guidance_given","effective_at":"2017-03-01T10:00:00+01:00","actor":"cw-1","appended_by":"someone-else","data":{}}]"#;
    let a = app.post_json("/v1/events", ADMIN, body).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.json()["pointer"], "/0/appended_by");
    assert_eq!(app.records(), 0);
}

#[tokio::test]
async fn malformed_events_are_refused_with_pointer_and_line_and_nothing_is_written() {
    let app = App::seeded().await;
    let before = app.records();
    let good = event(
        "dk-101:c-7",
        "sanction_guidance_given",
        "2017-03-01T10:00:00+01:00",
        "{}",
    );
    let bad = event(
        "dk-101:c-7",
        "offer_started",
        "2017-03-01T10:00:00+01:00",
        r#"{"offer_id": 7}"#,
    );
    let a = app
        .post_json("/v1/events", ADMIN, &format!("[{good},{bad}]"))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.content_type(), "application/problem+json");
    let p = a.json();
    assert_eq!(p["type"], "https://garanti.dk/problems/validation");
    assert_eq!(p["pointer"], "/1/data/offer_id");
    assert_eq!(p["index"], 1);
    assert_eq!(p["status"], 422);
    // The same as JSON Lines: the line is named.
    let a = app
        .post_lines("/v1/events", ADMIN, &format!("{good}\n\n{bad}\n"))
        .await;
    let p = a.json();
    assert_eq!(p["line"], 3, "{}", a.text);
    assert_eq!(p["pointer"], "/data/offer_id");
    // In the object form, below /events.
    let a = app
        .post_json("/v1/events", ADMIN, &format!(r#"{{"events":[{bad}]}}"#))
        .await;
    assert_eq!(a.json()["pointer"], "/events/0/data/offer_id");
    // Not JSON at all: the line of the syntax error.
    let a = app
        .post_json("/v1/events", ADMIN, "[\n{\"stream\": }\n]")
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.json()["line"], 2);
    let a = app.post_json("/v1/events", ADMIN, "[]").await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.records(), before);
}

#[tokio::test]
async fn refusals_of_the_ledger_name_the_event_and_write_nothing() {
    let app = App::seeded().await;
    let before = app.records();
    let good = event(
        "dk-101:c-8",
        "sanction_guidance_given",
        "2017-03-01T10:00:00+01:00",
        "{}",
    );
    // s-1 is used already.
    let dup = event(
        "dk-101:c-8",
        "sanction_decided",
        "2017-03-27T10:00:00+01:00",
        r#"{"sanction_id":"s-1","offer_id":"o-1","kind":"stop","legal_basis":"LAS"}"#,
    );
    let a = app
        .post_json("/v1/events", ADMIN, &format!("[{good},{dup}]"))
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    let p = a.json();
    assert_eq!(p["type"], "https://garanti.dk/problems/refused");
    assert_eq!(p["pointer"], "/1/data/sanction_id");
    assert_eq!(app.records(), before);
}

#[tokio::test]
async fn a_version_conflict_says_the_current_version_and_writes_nothing() {
    let app = App::seeded().await;
    let before = app.records();
    let e = event(
        "dk-101:c-0001",
        "sanction_guidance_given",
        "2017-05-01T10:00:00+02:00",
        "{}",
    );
    let a = app
        .post_json(
            "/v1/events",
            ADMIN,
            &format!(r#"{{"events":[{e}],"expected_versions":{{"dk-101:c-0001":3}}}}"#),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let p = a.json();
    assert_eq!(p["type"], "https://garanti.dk/problems/version-conflict");
    assert_eq!(p["current_version"], 8);
    assert_eq!(p["expected_version"], 3);
    assert_eq!(app.records(), before);
    // The right version, by header, goes in.
    let a = app
        .send(
            "POST",
            "/v1/events",
            Some(ADMIN),
            Some("application/json"),
            &format!("[{e}]"),
            &[(
                "garanti-expected-versions",
                "dk-101:c-0001=8, dk-101:c-new=0",
            )],
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json()["events"][0]["stream_version"], 9);
}

#[tokio::test]
async fn a_retried_request_appends_nothing_twice_and_gets_the_first_answer() {
    let app = App::new();
    let body = lawful_case("dk-101:c-0003", "s-3");
    let key = [("idempotency-key", "batch-2017-03-27-0001")];
    let first = app
        .send(
            "POST",
            "/v1/events",
            Some(CASEWORKER),
            Some("application/x-ndjson"),
            &body,
            &key,
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let records = app.records();
    // The same events as a JSON array are the same request.
    let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
    let again = app
        .send(
            "POST",
            "/v1/events",
            Some(CASEWORKER),
            Some("application/json"),
            &format!("[{}]", lines.join(",")),
            &key,
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.json(), first.json());
    assert_eq!(app.records(), records, "nothing appended twice");
    // The key with other events is an error; another token's same key is its own.
    let other = app
        .send(
            "POST",
            "/v1/events",
            Some(CASEWORKER),
            Some("application/x-ndjson"),
            &lawful_case("dk-101:c-0004", "s-4"),
            &key,
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        other.json()["type"],
        "https://garanti.dk/problems/idempotency-key-reused"
    );
    let admin = app
        .send(
            "POST",
            "/v1/events",
            Some(ADMIN),
            Some("application/x-ndjson"),
            &lawful_case("dk-101:c-0004", "s-4"),
            &key,
        )
        .await;
    assert_eq!(admin.status, StatusCode::CREATED, "{}", admin.text);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_append_once() {
    let app = App::new();
    let body = lawful_case("dk-101:c-0031", "s-31");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let router = app.router.clone();
        let request = app.request(
            "POST",
            "/v1/events",
            Some(ADMIN),
            Some("application/x-ndjson"),
            &body,
            &[("idempotency-key", "same")],
        );
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt as _;
            router.oneshot(request).await.unwrap().status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.iter().all(|s| s.is_success()), "{statuses:?}");
    assert_eq!(app.records(), 8);
}

#[tokio::test]
async fn concurrent_appends_are_all_durable_with_distinct_seqs() {
    let app = App::new();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let router = app.router.clone();
        let e = event(
            &format!("dk-101:c-{i:04}"),
            "sanction_guidance_given",
            "2017-03-01T10:00:00+01:00",
            "{}",
        );
        let request = app.request(
            "POST",
            "/v1/events",
            Some(ADMIN),
            Some("application/json"),
            &format!("[{e}]"),
            &[],
        );
        tasks.push(tokio::spawn(async move {
            use http_body_util::BodyExt as _;
            use tower::ServiceExt as _;
            let r = router.oneshot(request).await.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            let v: Value =
                serde_json::from_slice(&r.into_body().collect().await.unwrap().to_bytes()).unwrap();
            v["events"][0]["seq"].as_u64().unwrap()
        }));
    }
    let mut seqs = BTreeSet::new();
    for t in tasks {
        seqs.insert(t.await.unwrap());
    }
    assert_eq!(seqs, (0..64).collect::<BTreeSet<u64>>());
    assert!(matches!(
        app.state.ledger.verify(&mut |_| {}).unwrap(),
        ledger::Verdict::Intact { records: 64, .. }
    ));
    let metrics = app.get("/metrics", ADMIN).await.text;
    assert!(
        metrics.contains("garanti_appended_events_total 64\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn limits_and_media_types_are_enforced() {
    let app = App::with_limits(Limits {
        max_body_bytes: 4096,
        max_batch_events: 3,
        max_string_chars: 50,
        ..Limits::default()
    });
    let e = event(
        "dk-101:c-1",
        "sanction_guidance_given",
        "2017-03-01T10:00:00+01:00",
        "{}",
    );
    let big = format!("[{}]", [e.as_str(); 40].join(","));
    let a = app.post_json("/v1/events", ADMIN, &big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.json()["type"], "https://garanti.dk/problems/too-large");
    let four = format!("[{}]", [e.as_str(); 4].join(","));
    assert_eq!(
        app.post_json("/v1/events", ADMIN, &four).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let long = event(
        "dk-101:c-1",
        "plan_updated",
        "2017-03-01T10:00:00+01:00",
        &format!(
            r#"{{"plan_version":1,"employment_goal":"{}","offers":[]}}"#,
            "x".repeat(51)
        ),
    );
    let a = app
        .post_json("/v1/events", ADMIN, &format!("[{long}]"))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.json()["pointer"], "/0/data/employment_goal");
    let a = app
        .send(
            "POST",
            "/v1/events",
            Some(ADMIN),
            Some("text/plain"),
            &format!("[{e}]"),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        a.json()["type"],
        "https://garanti.dk/problems/unsupported-media-type"
    );
    let a = app
        .send(
            "POST",
            "/v1/events",
            Some(ADMIN),
            None,
            &format!("[{e}]"),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.records(), 0);
}

#[tokio::test]
async fn problems_carry_the_request_id_and_no_internal_detail() {
    let app = App::new();
    let a = app.get("/v1/nothing-here", ADMIN).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.content_type(), "application/problem+json");
    let a = app.get("/v1/sanctions/nope", LEGAL).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let p = a.json();
    assert_eq!(p["type"], "https://garanti.dk/problems/not-found");
    assert_eq!(
        p["request_id"].as_str().unwrap(),
        a.headers.get("x-request-id").unwrap().to_str().unwrap()
    );
    let a = app
        .send(
            "GET",
            "/v1/rules",
            None,
            None,
            "",
            &[("x-request-id", "mine-1")],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.headers.get("www-authenticate").is_some());
    assert_eq!(a.json()["request_id"], "mine-1");
    let internal =
        api::ApiError::internal("redb: /var/lib/garanti/data.redb: I/O error").problem(Some("r-1"));
    let text = internal.to_string();
    assert!(
        !text.contains("/var/lib") && !text.contains("redb"),
        "{text}"
    );
    assert_eq!(internal["status"], 500);
    let a = app.get("/v1/sanctions?verdict=maybe", LEGAL).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = app.get("/v1/sanctions?year=twenty", LEGAL).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.content_type(), "application/problem+json");
}

#[tokio::test]
async fn the_check_judges_an_intended_sanction_and_appends_nothing() {
    let app = App::seeded().await;
    let before = app.records();
    // On the lawful case: a second sanction for the same absence, decided later, is lawful too.
    let lawful = r#"{"stream":"dk-101:c-0001","offer_id":"o-1","kind":"reduction","decided_at":"2017-03-28T10:00:00+02:00"}"#;
    let a = app.post_json("/v1/sanctions/check", LEGAL, lawful).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v = a.json();
    assert_eq!(v["verdict"], "lawful", "{v}");
    assert_eq!(v["intended"], true);
    // An offer never started: unlawful, with the reason, its legal basis and no evidence made up.
    let unlawful = r#"{"stream":"dk-101:c-0001","offer_id":"o-9","kind":"stop","decided_at":"2017-04-01T10:00:00+02:00"}"#;
    let v = app
        .post_json("/v1/sanctions/check", LEGAL, unlawful)
        .await
        .json();
    assert_eq!(v["verdict"], "unlawful");
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .contains(&Value::from("offer_not_started")),
        "{v}"
    );
    assert!(v["legal_basis"]["offer_not_started"].is_string());
    // With an absence not yet recorded: judged as if it were, shown with seq null.
    let with_absence = r#"{"stream":"dk-101:c-0001","offer_id":"o-1","kind":"reduction","decided_at":"2017-04-20T10:00:00+02:00","absence":{"at":"2017-04-10T08:00:00+02:00"}}"#;
    let v = app
        .post_json("/v1/sanctions/check", LEGAL, with_absence)
        .await
        .json();
    assert!(
        v["evidence"].as_array().unwrap().contains(&Value::Null),
        "{v}"
    );
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .contains(&Value::from("no_hearing_before_decision")),
        "{v}"
    );
    let bad = app.post_json("/v1/sanctions/check", LEGAL, r#"{"stream":"dk-101:c-0001","offer_id":"o-1","kind":"fine","decided_at":"2017-04-20T10:00:00+02:00"}"#).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.json()["detail"].as_str().unwrap().contains("reduction"),
        "{}",
        bad.text
    );
    // The string limits of an append of the same events, on both sides of each.
    for (excuse, sanction_id, ok) in [(10_000, 128, true), (10_001, 1, false), (0, 129, false)] {
        let body = format!(
            r#"{{"stream":"dk-101:c-0001","offer_id":"o-1","kind":"reduction","decided_at":"2017-04-20T10:00:00+02:00","sanction_id":"{}","absence":{{"at":"2017-04-10T08:00:00+02:00","excuse":"{}"}}}}"#,
            "s".repeat(sanction_id),
            "e".repeat(excuse)
        );
        let a = app.post_json("/v1/sanctions/check", LEGAL, &body).await;
        match ok {
            true => assert_eq!(a.status, StatusCode::OK, "{}", a.text),
            false => assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text),
        }
    }
    assert_eq!(app.records(), before, "the check appends nothing");
}

#[tokio::test]
async fn lists_are_paged_and_filtered() {
    let app = App::seeded().await;
    let page = app.get("/v1/sanctions?limit=1", LEGAL).await.json();
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_offset"], 1);
    let page = app
        .get("/v1/sanctions?limit=1&offset=1", LEGAL)
        .await
        .json();
    assert_eq!(page["items"][0]["sanction_id"], "s-2");
    assert_eq!(page["next_offset"], Value::Null);
    let none = app
        .get("/v1/sanctions?verdict=unlawful", LEGAL)
        .await
        .json();
    assert_eq!(none["total"], 0);
    let as_of = app
        .get("/v1/sanctions?as_of=2017-03-20T00:00:00Z", LEGAL)
        .await
        .json();
    assert_eq!(as_of["total"], 0, "nothing decided was known then");
    let a = app.get("/v1/findings?rule=dk.nothing", LEGAL).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.get("/v1/reports/2017", REVISOR).await.json();
    assert_eq!(r["source"]["chain_head"]["seq"], 15);
    assert_eq!(r["year_totals"]["sanctions"], 2);
}

#[tokio::test]
async fn verify_and_export_pages() {
    let app = App::seeded().await;
    let v = app.get("/v1/ledger/verify", REVISOR).await.json();
    assert_eq!(v["intact"], true);
    assert_eq!(v["records"], 16);
    let page = app
        .get("/v1/ledger/events?from=10&limit=4", REVISOR)
        .await
        .json();
    assert_eq!(page["records"].as_array().unwrap().len(), 4);
    assert_eq!(page["next_from"], 14);
    assert_eq!(page["records"][0]["seq"], 10);
    assert!(
        page["records"][0]["record"].is_string(),
        "the stored bytes, for verification"
    );
    let lines = app
        .send(
            "GET",
            "/v1/ledger/events?from=14",
            Some(REVISOR),
            None,
            "",
            &[("accept", "application/x-ndjson")],
        )
        .await;
    assert_eq!(lines.content_type(), "application/x-ndjson");
    assert_eq!(lines.text.lines().count(), 2);
}

/// Reads SSE frames from a response body until `until` says stop or the time is up.
async fn read_feed(body: &mut axum::body::Body, until: impl Fn(&str) -> bool) -> String {
    use http_body_util::BodyExt as _;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !until(&text) {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    text.push_str(&String::from_utf8_lossy(data));
                }
            }
            _ => break,
        }
    }
    text
}

#[tokio::test]
async fn the_feed_catches_up_then_follows_and_tells_verdict_changes() {
    use tower::ServiceExt as _;
    let app = App::seeded().await;
    let response = app
        .router
        .clone()
        .oneshot(app.request(
            "GET",
            "/v1/feed?from_seq=6",
            Some(CASEWORKER),
            None,
            "",
            &[],
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut body = response.into_body();
    let caught_up = read_feed(&mut body, |t| t.contains("id: 7\n")).await;
    assert!(caught_up.contains("id: 6\nevent: event\n"), "{caught_up}");
    // Seqs 8..15 are dk-102's: a dk-101 caseworker does not get them.
    let e = event(
        "dk-101:c-0001",
        "sanction_revoked",
        "2017-04-01T10:00:00+02:00",
        r#"{"sanction_id":"s-1","reason":"appeal"}"#,
    );
    let a = app
        .post_json("/v1/events", CASEWORKER, &format!("[{e}]"))
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let live = read_feed(&mut body, |t| t.contains("event: verdicts")).await;
    assert!(!live.contains("dk-102"), "{live}");
    assert!(live.contains("id: 16\nevent: event\n"), "{live}");
    assert!(
        live.contains("\"revoked\":true"),
        "the verdict change follows the event: {live}"
    );
}

#[tokio::test]
async fn a_client_that_falls_behind_is_told_to_resume() {
    use tower::ServiceExt as _;
    let app = App::with_limits(Limits {
        feed_buffer: 2,
        ..Limits::default()
    });
    let response = app
        .router
        .clone()
        .oneshot(app.request("GET", "/v1/feed", Some(REVISOR), None, "", &[]))
        .await
        .unwrap();
    let mut body = response.into_body();
    // Let the feed reach its live phase, then append more than its buffer without reading.
    let nothing = read_feed(&mut body, |_| false);
    let _ = tokio::time::timeout(std::time::Duration::from_millis(200), nothing).await;
    for i in 0..5 {
        let e = event(
            &format!("dk-101:c-{i}"),
            "sanction_guidance_given",
            "2017-03-01T10:00:00+01:00",
            "{}",
        );
        assert_eq!(
            app.post_json("/v1/events", ADMIN, &format!("[{e}]"))
                .await
                .status,
            StatusCode::CREATED
        );
    }
    let text = read_feed(&mut body, |t| t.contains("event: resume")).await;
    assert!(text.contains("event: resume"), "{text}");
    assert!(text.contains("\"from_seq\":0"), "{text}");
    let metrics = app.get("/metrics", ADMIN).await.text;
    assert!(metrics.contains("garanti_feed_lagged_total 1"), "{metrics}");
}

#[tokio::test]
async fn shutting_down_refuses_new_appends() {
    let app = App::new();
    app.state.closing.send_replace(true);
    let e = event(
        "dk-101:c-1",
        "sanction_guidance_given",
        "2017-03-01T10:00:00+01:00",
        "{}",
    );
    let a = app.post_json("/v1/events", ADMIN, &format!("[{e}]")).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.headers.get("retry-after").is_some());
    assert_eq!(
        app.get("/healthz", ADMIN).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(app.records(), 0);
}

#[tokio::test]
async fn a_restarted_server_catches_up_from_the_log() {
    let app = App::seeded().await;
    let dir = app.dir.path().to_owned();
    let App {
        dir: keep,
        state,
        router,
    } = app;
    drop(router);
    drop(state);
    // The writer thread lets go of the ledger once the last handle is gone.
    let ledger = loop {
        match ledger::Ledger::open(&dir, None) {
            Ok(l) => break l,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    };
    let config = api::Config {
        params: projections::Params::default(),
        clock: api::state::Clock::at(now()),
        limits: Limits::default(),
        log_key: None,
    };
    let state =
        api::AppState::open(std::sync::Arc::new(ledger), tokens(), config, &mut |_| {}).unwrap();
    let app = App {
        dir: keep,
        router: api::router(state.clone()),
        state,
    };
    let s = app.get("/v1/sanctions/s-2", LEGAL).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    assert_eq!(app.get("/v1/ledger/head", LEGAL).await.json()["seq"], 15);
}

#[tokio::test]
async fn the_feed_resumes_after_the_last_event_id() {
    use tower::ServiceExt as _;
    let app = App::seeded().await;
    let response = app
        .router
        .clone()
        .oneshot(app.request(
            "GET",
            "/v1/feed",
            Some(REVISOR),
            None,
            "",
            &[("last-event-id", "13")],
        ))
        .await
        .unwrap();
    let mut body = response.into_body();
    let text = read_feed(&mut body, |t| t.contains("id: 15\n")).await;
    assert!(!text.contains("id: 13\n"), "{text}");
    assert!(text.contains("id: 14\nevent: event\n"), "{text}");
    let bad = app
        .send(
            "GET",
            "/v1/feed",
            Some(REVISOR),
            None,
            "",
            &[("last-event-id", "x")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn reports_and_deadlines_check_their_parameters_and_scope() {
    let app = App::seeded().await;
    assert_eq!(
        app.get("/v1/reports/1800", REVISOR).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let a = app.get("/v1/reports/2017?sample=2", REVISOR).await;
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a sample needs a seed"
    );
    let r = app
        .get("/v1/reports/2017?sample=1&seed=revision", REVISOR)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let d = app.get("/v1/deadlines?at=2017-12-31", CASEWORKER).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert_eq!(d.json()["at"], "2017-12-31T23:59:59.999999999+01:00");
    assert!(
        !d.text.contains("dk-102"),
        "a caseworker sees its own municipality only: {}",
        d.text
    );
    let rules = app.get("/v1/rules?at=2008-01-01", LEGAL).await.json();
    assert_eq!(rules["at"], "2008-01-01");
    assert_eq!(
        app.get("/v1/rules?at=yesterday", LEGAL).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn a_case_read_again_is_the_same_and_a_grown_case_is_read_anew() {
    let app = App::seeded().await;
    let first = app.get("/v1/streams/dk-101:c-0001", LEGAL).await;
    let again = app.get("/v1/streams/dk-101:c-0001", LEGAL).await;
    assert_eq!(first.text, again.text);
    // The same object as `garanti timeline --format json` makes.
    let records = app.state.ledger.stream("dk-101:c-0001").unwrap();
    let params = projections::Params::default();
    let eval = projections::Evaluation {
        params: &params,
        as_of: None,
        now: now(),
    };
    let expected = {
        let view = app.state.read();
        serde_json::to_string(&replay::output::case_json(
            &eval,
            &view.projection,
            "dk-101:c-0001",
            &records,
        ))
        .unwrap()
    };
    // Byte for byte, though sent in the parts that are kept, with its length said.
    assert_eq!(first.text, expected);
    assert_eq!(
        first.headers["content-length"],
        expected.len().to_string().as_str()
    );
    let e = event(
        "dk-101:c-0001",
        "hearing_sent",
        "2017-03-28T10:00:00+02:00",
        r#"{"offer_id":"o-1"}"#,
    );
    assert_eq!(
        app.post_json("/v1/events", ADMIN, &format!("[{e}]"))
            .await
            .status,
        StatusCode::CREATED
    );
    let grown = app.get("/v1/streams/dk-101:c-0001", LEGAL).await.json();
    assert_eq!(grown["events"].as_array().unwrap().len(), 9);
    assert_eq!(grown["events"][8]["type"], "hearing_sent");
}

/// The findings of a case's answer, as their rule codes.
fn finding_rules(case: &Value) -> Vec<String> {
    case["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_kept_answer_about_a_case_ends_when_the_clock_passes_what_it_turns_on() {
    let app = App::seeded().await;
    // An offer that begins an hour from now, listed in no plan: unlawful once it has begun.
    let at = |t: i64| {
        chrono::DateTime::from_timestamp_nanos(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let start = now() + 3_600_000_000_000;
    let e = event(
        "dk-101:c-0001",
        "offer_started",
        &at(start),
        r#"{"offer_id":"o-9"}"#,
    );
    let posted = app.post_json("/v1/events", ADMIN, &format!("[{e}]")).await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
    let rule = "dk.minplan.offer_not_in_plan_before_start".to_owned();
    let before = app.get("/v1/streams/dk-101:c-0001", LEGAL).await;
    assert!(!finding_rules(&before.json()).contains(&rule));
    // Read again, from what was kept: the same.
    assert_eq!(
        app.get("/v1/streams/dk-101:c-0001", LEGAL).await.text,
        before.text
    );
    app.state.config.clock.set(start - 1);
    assert_eq!(
        app.get("/v1/streams/dk-101:c-0001", LEGAL).await.text,
        before.text
    );
    app.state.config.clock.set(start);
    let begun = app.get("/v1/streams/dk-101:c-0001", LEGAL).await.json();
    assert!(finding_rules(&begun).contains(&rule), "{begun}");
    // Each the same as judged afresh: an as-of time after now is judged now and never kept.
    let fresh = "/v1/streams/dk-101:c-0001?as_of=2100-01-01T00:00:00Z";
    assert_eq!(app.get(fresh, LEGAL).await.json(), begun);
    app.state.config.clock.set(start - 1);
    assert_eq!(app.get(fresh, LEGAL).await.json(), before.json());
}

#[tokio::test]
async fn a_kept_answer_about_a_case_ends_with_a_follow_up_on_another_case_of_its_municipality() {
    let app = App::seeded().await;
    let followup = |stream: &str| {
        event(
            stream,
            "followup_held",
            "2017-05-02T10:00:00+02:00",
            r#"{"citizen_perspective":"","assessment":"Borgeren er fortsat uarbejdsdygtig."}"#,
        )
    };
    let post = |body: String| {
        let app = &app;
        async move {
            let a = app.post_json("/v1/events", ADMIN, &body).await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        }
    };
    post(format!("[{}]", followup("dk-101:c-0001"))).await;
    let rule = "dk.followup.standard_wording".to_owned();
    // Four other cases make a wording standard; another municipality's do not count.
    let others: Vec<String> = (2..=5).map(|i| format!("dk-101:c-000{i}")).collect();
    post(format!("[{}]", followup("dk-102:c-0009"))).await;
    for (n, other) in others.iter().enumerate() {
        let case = app.get("/v1/streams/dk-101:c-0001", LEGAL).await.json();
        assert!(
            !finding_rules(&case).contains(&rule),
            "after {n} others: {case}"
        );
        post(format!("[{}]", followup(other))).await;
    }
    let case = app.get("/v1/streams/dk-101:c-0001", LEGAL).await.json();
    assert!(finding_rules(&case).contains(&rule), "{case}");
}

#[tokio::test]
async fn a_kept_sanction_answer_ends_when_its_case_grows() {
    let app = App::seeded().await;
    let first = app.get("/v1/sanctions/s-1", LEGAL).await;
    assert_eq!(first.json()["verdict"], "lawful", "{}", first.text);
    assert_eq!(app.get("/v1/sanctions/s-1", LEGAL).await.text, first.text);
    // The sanction revoked: the same id, a changed answer.
    let e = event(
        "dk-101:c-0001",
        "sanction_revoked",
        "2017-04-20T10:00:00+02:00",
        r#"{"sanction_id":"s-1","reason":"klage"}"#,
    );
    let posted = app.post_json("/v1/events", ADMIN, &format!("[{e}]")).await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
    let after = app.get("/v1/sanctions/s-1", LEGAL).await.json();
    assert_eq!(after["revoked"], true, "{after}");
    // Judged twice, kept once; operators see it.
    let metrics = app.get("/metrics", ADMIN).await.text;
    assert!(
        metrics.contains("garanti_case_answers_total{from=\"kept\"} 1\n")
            && metrics.contains("garanti_case_answers_total{from=\"judged\"} 2\n"),
        "{metrics}"
    );
    // A caseworker of another municipality is still not told it exists, kept or not.
    assert_eq!(
        app.get("/v1/sanctions/s-2", LEGAL).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v1/sanctions/s-2", CASEWORKER).await.status,
        StatusCode::NOT_FOUND
    );
}

/// A commit that reported a failure but was durable all the same leaves records in the log that
/// the server's view never folded (here written past the API, as such a commit does): the next
/// acknowledged append folds them first, so the view stays the log's.
#[tokio::test]
async fn records_the_view_missed_are_folded_before_the_next_append() {
    let app = App::new();
    let missed = ledger::NewEvent {
        stream: "dk-101:c-missed".into(),
        event_type: "sanction_guidance_given".into(),
        effective_at: ledger::Timestamp::parse_rfc3339("2017-03-01T10:00:00+01:00").unwrap(),
        recorded_at: None,
        actor: "cw-1".into(),
        data: "{}".into(),
    };
    app.state
        .ledger
        .append(ledger::Append {
            events: vec![missed.clone(), missed],
            constraints: Vec::new(),
            expected_versions: Vec::new(),
            appended_by: "test".into(),
            appended_at: ledger::Timestamp::utc(now()),
        })
        .unwrap();
    let body = r#"[{"stream": "dk-101:c-next", "type": "sanction_guidance_given", "effective_at": "2017-03-01T10:00:00+01:00", "actor": "cw-1", "data": {}}]"#;
    let a = app
        .send(
            "POST",
            "/v1/events",
            Some(ADMIN),
            Some("application/json"),
            body,
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json()["events"][0]["seq"], 2, "{}", a.text);
    let case = app
        .send(
            "GET",
            "/v1/streams/dk-101:c-missed",
            Some(ADMIN),
            None,
            "",
            &[],
        )
        .await;
    assert_eq!(case.status, StatusCode::OK, "{}", case.text);
    let events = case.json()["events"].as_array().map_or(0, Vec::len);
    assert_eq!(events, 2, "{}", case.text);
    let head = app
        .send("GET", "/v1/ledger/head", Some(ADMIN), None, "", &[])
        .await;
    assert_eq!(head.json()["seq"], 2, "{}", head.text);
}

/// The log served under /log/ is the ledger's: the checkpoint is signed by the server's key, the
/// level-0 tile holds the leaf hashes of the entry bundle's records and leads to the signed root,
/// and the proof bundles check out offline.
#[tokio::test]
async fn the_transparency_log_serves_signed_checkpoints_tiles_entries_and_proofs() {
    let app = App::seeded().await;
    let key = app.state.config.log_key.as_ref().unwrap().verifier();
    let n = app.records();
    let cp = app
        .send("GET", "/log/checkpoint", None, None, "", &[])
        .await;
    assert_eq!(cp.status, StatusCode::OK);
    assert!(cp.content_type().starts_with("text/plain"));
    let (checkpoint, _) = ledger::note::Checkpoint::open(&cp.text, &key).unwrap();
    assert_eq!(checkpoint.size, n);

    // The partial tile of the checkpoint's size: the leaf hashes, whose tree has the signed root.
    let path = format!("/log/tile/0/000.p/{n}");
    let tile = app.send("GET", &path, None, None, "", &[]).await;
    assert_eq!(tile.status, StatusCode::OK, "{}", tile.text);
    assert_eq!(tile.headers["cache-control"], "no-cache");
    let hashes = raw_body(&app, &path, None).await;
    assert_eq!(hashes.len() as u64, 32 * n);
    let mut tree = ledger::merkle::Frontier::new();
    for h in hashes.chunks(32) {
        tree.push(h.try_into().unwrap(), &mut |_, _| {});
    }
    assert_eq!(tree.root(), checkpoint.root);
    // Entries: each a big-endian u16 length and the stored bytes; their leaf hashes are the tile's.
    let entries = raw_body(&app, &format!("/log/tile/entries/000.p/{n}"), Some(REVISOR)).await;
    let mut at = 0;
    for i in 0..n as usize {
        let len = u16::from_be_bytes([entries[at], entries[at + 1]]) as usize;
        let record = &entries[at + 2..at + 2 + len];
        assert_eq!(
            &ledger::merkle::leaf_hash(record)[..],
            &hashes[32 * i..32 * i + 32]
        );
        at += 2 + len;
    }
    assert_eq!(at, entries.len());
    // Wider than the tree, a full tile that does not exist yet, non-canonical paths: 404.
    for missing in [
        format!("/log/tile/0/000.p/{}", n + 1),
        "/log/tile/0/000".into(),
        "/log/tile/0/001.p/1".into(),
        "/log/tile/0/0.p/1".into(),
        "/log/tile/1/000.p/1".into(),
    ] {
        let got = app.send("GET", &missing, None, None, "", &[]).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{missing}");
    }

    // Proof bundles check out with the log's key, offline.
    for uri in ["/v1/ledger/proof?seq=3", "/v1/sanctions/s-2/proof"] {
        let answer = app.get(uri, ADMIN).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let bundle = ledger::proof::Bundle::parse(&answer.text).unwrap();
        let proved = bundle.verify(&key).unwrap();
        assert!(!proved.is_empty());
    }
    let bundle = app.get("/v1/sanctions/s-2/proof", ADMIN).await.json();
    assert_eq!(bundle["sanction_id"], "s-2");
    assert!(bundle["proofs"].as_array().unwrap().len() > 1);
    // Another municipality's sanction is not said to exist.
    assert_eq!(
        app.get("/v1/sanctions/s-2/proof", CASEWORKER).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/v1/ledger/proof?seq={n}"), ADMIN)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/v1/ledger/proof?seq=0&size=3", ADMIN).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn raw_body(app: &App, uri: &str, token: Option<&str>) -> Vec<u8> {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let response = app
        .router
        .clone()
        .oneshot(app.request("GET", uri, token, None, "", &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

/// `as_of_size`: lists and the report judged on the records of a signed checkpoint only.
#[tokio::test]
async fn queries_as_of_a_signed_size_see_only_its_records() {
    let app = App::seeded().await;
    let signed = app.state.sign_checkpoint().unwrap().unwrap();
    let n = signed.size;
    let a = app
        .post_lines("/v1/events", ADMIN, &lawful_case("dk-101:c-0007", "s-3"))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let total = |v: Value| v["total"].as_u64().unwrap();
    let now = total(app.get("/v1/sanctions", ADMIN).await.json());
    let then = total(
        app.get(&format!("/v1/sanctions?as_of_size={n}"), ADMIN)
            .await
            .json(),
    );
    assert_eq!((now, then), (3, 2));
    // A caseworker's list at that size is still cut to its municipality.
    let own = app
        .get(&format!("/v1/sanctions?as_of_size={n}"), CASEWORKER)
        .await
        .json();
    assert_eq!(total(own), 1);
    let findings = app
        .get(&format!("/v1/findings?as_of_size={n}"), ADMIN)
        .await;
    assert_eq!(findings.status, StatusCode::OK);
    let report = app
        .get(&format!("/v1/reports/2017?as_of_size={n}"), REVISOR)
        .await
        .json();
    assert_eq!(report["source"]["records"], n);
    assert_eq!(report["source"]["checkpoint"], signed.note.as_str());
    assert_eq!(
        app.get("/v1/sanctions?as_of_size=5", ADMIN).await.status,
        StatusCode::NOT_FOUND
    );
    let case = app
        .get(&format!("/v1/streams/dk-101:c-0007?as_of_size={n}"), ADMIN)
        .await;
    assert_eq!(case.status, StatusCode::NOT_FOUND, "{}", case.text);
    let case = app
        .get(&format!("/v1/streams/dk-101:c-0001?as_of_size={n}"), ADMIN)
        .await
        .json();
    let live = app.get("/v1/streams/dk-101:c-0001", ADMIN).await.json();
    assert_eq!(
        case, live,
        "a case untouched since the checkpoint reads the same"
    );
    for (id, token, status) in [
        ("s-1", CASEWORKER, StatusCode::OK),
        ("s-2", CASEWORKER, StatusCode::NOT_FOUND),
        ("s-3", ADMIN, StatusCode::NOT_FOUND),
    ] {
        let uri = format!("/v1/sanctions/{id}?as_of_size={n}");
        assert_eq!(app.get(&uri, token).await.status, status, "{uri}");
    }
    assert_eq!(
        app.get("/v1/sanctions/s-3", ADMIN).await.status,
        StatusCode::OK
    );
}

/// A body of more events than a batch may have is refused as soon as the parser meets the one
/// after the limit, in every body form (no millions of values built first).
#[tokio::test]
async fn a_batch_over_the_limit_is_refused_while_it_is_parsed() {
    let app = App::new();
    let max = Limits::default().max_batch_events;
    let zeros = format!("[{}0]", "0,".repeat(1_000_000));
    let lines = "{}\n".repeat(max + 1);
    let object = format!("{{\"events\":{zeros}}}");
    for (ct, body) in [
        ("application/json", &zeros),
        ("application/x-ndjson", &lines),
        ("application/json", &object),
    ] {
        let a = app
            .send("POST", "/v1/events", Some(ADMIN), Some(ct), body, &[])
            .await;
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{ct}: {}", a.text);
        assert!(
            a.text.contains(&format!("more than {max} events")),
            "{}",
            a.text
        );
    }
    assert_eq!(app.records(), 0);
    // At the limit itself the events are parsed and checked one by one (here: refused as events).
    let at_limit = format!("[{}0]", "0,".repeat(max - 1));
    let a = app.post_json("/v1/events", ADMIN, &at_limit).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
}

/// The bearer scheme is case-insensitive; a request id is random (no process id, no counter).
#[tokio::test]
async fn bearer_in_any_case_and_request_ids_that_reveal_nothing() {
    let app = App::new();
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let auth = format!("{scheme} {ADMIN}");
        let a = app
            .send(
                "GET",
                "/v1/ledger/head",
                None,
                None,
                "",
                &[("authorization", &auth)],
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{scheme}");
    }
    let ids: Vec<String> = request_ids(&app).await;
    for id in &ids {
        let hex = id.strip_prefix("req-").unwrap();
        assert_eq!(hex.len(), 16, "{id}");
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        assert!(!id.contains(&std::process::id().to_string()), "{id}");
    }
    assert_ne!(ids[0], ids[1]);
}

async fn request_ids(app: &App) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..2 {
        let a = app.get("/v1/ledger/head", ADMIN).await;
        ids.push(a.headers["x-request-id"].to_str().unwrap().to_owned());
    }
    ids
}

/// A refusal names the seq of the record that claimed a key only if the caller may see it.
#[tokio::test]
async fn a_refusal_says_nothing_about_another_municipality() {
    let app = App::seeded().await;
    let sanction = |id: &str| {
        format!(
            r#"[{{"stream":"dk-101:c-0009","type":"sanction_decided","effective_at":"2017-03-27T10:00:00+02:00","actor":"cw","data":{{"sanction_id":"{id}","offer_id":"o-1","kind":"reduction","legal_basis":"LAS § 36"}}}}]"#
        )
    };
    let other = app
        .post_json("/v1/events", CASEWORKER, &sanction("s-2"))
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.text);
    assert!(!other.text.contains("seq"), "{}", other.text);
    let own = app
        .post_json("/v1/events", CASEWORKER, &sanction("s-1"))
        .await;
    assert_eq!(own.status, StatusCode::CONFLICT, "{}", own.text);
    assert!(own.text.contains("(seq "), "{}", own.text);
    let admin = app.post_json("/v1/events", ADMIN, &sanction("s-2")).await;
    assert!(admin.text.contains("(seq "), "{}", admin.text);
}

/// Out-of-range query values are 422 problems: never a panic, a wrap-around or a silent clamp.
#[tokio::test]
async fn out_of_range_queries_are_refused_not_wrapped() {
    let app = App::seeded().await;
    for uri in [
        "/v1/deadlines?within=95005448",
        "/v1/deadlines?at=9999-12-31",
        "/v1/sanctions?limit=0",
        "/v1/sanctions?limit=10001",
        "/v1/findings?year=99999",
        "/v1/sanctions?year=-5",
        "/v1/ledger/events?limit=0",
    ] {
        let a = app.get(uri, ADMIN).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            a.text
        );
        assert_eq!(a.content_type(), "application/problem+json", "{uri}");
    }
    let huge = format!("/v1/sanctions?offset={}&limit=5", usize::MAX);
    let a = app.get(&huge, ADMIN).await.json();
    assert_eq!(a["next_offset"], Value::Null, "{a}");
    let a = app
        .send(
            "GET",
            "/v1/feed",
            Some(ADMIN),
            None,
            "",
            &[("last-event-id", &u64::MAX.to_string())],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
}

/// A wrong method is a problem document with a request id; a sanction whose id is `check` is read
/// like any other.
#[tokio::test]
async fn a_wrong_method_or_a_long_uri_is_a_problem_and_a_sanction_named_check_can_be_read() {
    let app = App::seeded().await;
    let a = app
        .send("DELETE", "/v1/events", Some(ADMIN), None, "", &[])
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{}", a.text);
    assert_eq!(a.content_type(), "application/problem+json");
    assert!(a.headers.contains_key("x-request-id"));
    // A URI over 8 KiB, on a route or not, is a problem too; at the limit it is routed.
    for path in ["/v1/streams/", "/nowhere/"] {
        let long = app
            .get(&format!("{path}{}", "a".repeat(8193 - path.len())), ADMIN)
            .await;
        assert_eq!(long.status, StatusCode::URI_TOO_LONG, "{}", long.text);
        assert_eq!(long.content_type(), "application/problem+json");
        assert!(long.headers.contains_key("x-request-id"));
    }
    let at_limit = app
        .get(&format!("/v1/streams/{}", "a".repeat(8192 - 12)), ADMIN)
        .await;
    assert_eq!(
        at_limit.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        at_limit.text
    );
    let missing = app.get("/v1/sanctions/check", ADMIN).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    let added = app
        .post_lines("/v1/events", ADMIN, &lawful_case("dk-101:c-0042", "check"))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let found = app.get("/v1/sanctions/check", ADMIN).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert!(found.text.contains("\"check\""), "{}", found.text);
}

/// A key written twice in one object is refused on appends (any body form, at any depth), so a
/// repeated `expected_versions` cannot drop the version guard; a second expected-versions header
/// counts too.
#[tokio::test]
async fn keys_written_twice_are_refused_and_second_headers_count() {
    let app = App::seeded().await;
    let event = r#"{"stream":"dk-101:c-0008","type":"sanction_guidance_given","effective_at":"2017-03-01T10:00:00+01:00","actor":"cw","data":{}}"#;
    let bodies = [
        (
            "application/json",
            format!(
                r#"{{"events":[{event}],"expected_versions":{{"dk-101:c-0008":5}},"expected_versions":{{}}}}"#
            ),
        ),
        (
            "application/json",
            format!(
                "[{}]",
                event.replace(r#""actor":"cw""#, r#""actor":"cw","actor":"x""#)
            ),
        ),
        (
            "application/json",
            format!(
                "[{}]",
                event.replace("\"data\":{}", r#""data":{"a":1,"a":2}"#)
            ),
        ),
        (
            "application/x-ndjson",
            event.replace("\"data\":{}", r#""data":{"b":{"c":1,"c":1}}"#),
        ),
    ];
    for (ct, body) in &bodies {
        let a = app
            .send("POST", "/v1/events", Some(ADMIN), Some(ct), body, &[])
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.text
        );
        assert!(a.text.contains("twice"), "{}", a.text);
    }
    let body = format!("[{event}]");
    let a = app
        .send(
            "POST",
            "/v1/events",
            Some(ADMIN),
            Some("application/json"),
            &body,
            &[
                ("garanti-expected-versions", "dk-101:c-0008=0"),
                ("garanti-expected-versions", "dk-101:c-0001=99"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    assert_eq!(app.records(), 16);
}

/// JSON Lines errors name the line and the column within it; invalid UTF-8 names its line.
#[tokio::test]
async fn json_lines_errors_name_line_and_column_and_bad_utf8_its_line() {
    let app = App::new();
    let good = r#"{"stream":"dk-101:c-0008","type":"sanction_guidance_given","effective_at":"2017-03-01T10:00:00+01:00","actor":"cw","data":{}}"#;
    let body = format!("{good}\n{{\"stream\": oops}}\n");
    let a = app.post_lines("/v1/events", ADMIN, &body).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = a.json();
    assert_eq!(p["line"], 2, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("column 12"), "{p}");
    use tower::ServiceExt as _;
    let mut bytes = format!("{good}\n{good}\n").into_bytes();
    bytes.extend_from_slice(b"{\"x\":\"\xff\"}\n");
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/events")
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/x-ndjson")
        .body(axum::body::Body::from(bytes))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    use http_body_util::BodyExt as _;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let p: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(p["line"], 3, "{p}");
}

/// A case being judged holds nothing the writer needs: while every query thread is taken (a
/// case read waits for one, as it would behind a slow case), appends are folded and answered and
/// the head is read; the case is answered once a thread frees, with what it was asked about.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judging_a_case_never_holds_up_the_writer() {
    let app = App::seeded().await;
    let held = app.state.queries.hold_all().await.unwrap();
    let router = app.router.clone();
    let request = app.request(
        "GET",
        "/v1/streams/dk-101:c-0001",
        Some(ADMIN),
        None,
        "",
        &[],
    );
    let reading = tokio::spawn(async move {
        use tower::ServiceExt as _;
        router.oneshot(request).await.unwrap().status()
    });
    tokio::task::yield_now().await;
    let guard = std::time::Duration::from_secs(60);
    let append = tokio::time::timeout(
        guard,
        app.post_json(
            "/v1/events",
            ADMIN,
            r#"[{"stream":"dk-102:c-0009","type":"sanction_guidance_given","effective_at":"2017-03-01T10:00:00+01:00","actor":"cw","data":{}}]"#,
        ),
    )
    .await
    .expect("an append waited for a case being judged");
    assert_eq!(append.status, StatusCode::CREATED, "{}", append.text);
    let head = tokio::time::timeout(guard, app.get("/v1/ledger/head", ADMIN))
        .await
        .expect("the head waited for a case being judged");
    assert_eq!(head.status, StatusCode::OK);
    assert!(
        !reading.is_finished(),
        "the case read did not wait for a query thread"
    );
    drop(held);
    assert_eq!(reading.await.unwrap(), StatusCode::OK);
}

/// A live append's `recorded_at` is a claim about just now: one in the future (beyond a minute of
/// clock skew) or older than `max_recorded_lag` is refused, naming the field, and nothing is
/// written; within the bounds it is taken. The case view shows each event's `appended_at` and
/// `appended_by` beside its `recorded_at`, so a backdated claim can be seen.
#[tokio::test]
async fn recorded_times_far_from_the_ledger_clock_are_refused_and_appended_times_are_shown() {
    let app = App::with_limits(Limits::default());
    let at = |offset: chrono::Duration| (chrono::Utc::now() + offset).to_rfc3339();
    let with_recorded = |stream: &str, recorded: &str| {
        format!(
            r#"[{{"stream":"{stream}","type":"sanction_guidance_given","effective_at":"2017-03-01T10:00:00+01:00","recorded_at":"{recorded}","actor":"cw-1","data":{{}}}}]"#
        )
    };
    for (offset, says) in [
        (chrono::Duration::minutes(5), "ahead of the server's clock"),
        (
            chrono::Duration::days(-7) - chrono::Duration::minutes(1),
            "more than 7 day(s) before",
        ),
    ] {
        let refused = app
            .post_json(
                "/v1/events",
                ADMIN,
                &with_recorded("dk-101:c-1", &at(offset)),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.text
        );
        let p = refused.json();
        assert_eq!(p["pointer"], "/0/recorded_at", "{p}");
        assert!(p["detail"].as_str().unwrap().contains(says), "{p}");
    }
    assert_eq!(app.records(), 0, "nothing of a refused batch is written");
    // Just inside both bounds.
    for (stream, offset) in [
        ("dk-101:c-2", chrono::Duration::seconds(30)),
        (
            "dk-101:c-3",
            chrono::Duration::days(-7) + chrono::Duration::minutes(1),
        ),
    ] {
        let taken = app
            .post_json("/v1/events", ADMIN, &with_recorded(stream, &at(offset)))
            .await;
        assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.text);
    }
    let case = app.get("/v1/streams/dk-101:c-3", ADMIN).await.json();
    let event = &case["events"][0];
    assert_eq!(event["appended_by"], "t-admin", "{event}");
    let appended =
        chrono::DateTime::parse_from_rfc3339(event["appended_at"].as_str().unwrap()).unwrap();
    let recorded =
        chrono::DateTime::parse_from_rfc3339(event["recorded_at"].as_str().unwrap()).unwrap();
    let backdated = appended - recorded;
    assert!(
        backdated > chrono::Duration::days(6),
        "the case view shows the claim beside the ledger's clock: {event}"
    );
}

/// An event too large to be stored as one record is refused as too large (413), not as a
/// conflict with the ledger, and nothing of its batch is written.
#[tokio::test]
async fn an_event_too_large_for_one_record_is_413_not_a_conflict() {
    let app = App::new();
    let offers: Vec<String> = (0..8)
        .map(|i| format!(r#""o-{i}-{}""#, "x".repeat(9_000)))
        .collect();
    let batch = format!(
        "[{},{}]",
        event(
            "dk-101:c-1",
            "sanction_guidance_given",
            "2017-03-01T10:00:00+01:00",
            "{}"
        ),
        event(
            "dk-101:c-2",
            "plan_updated",
            "2017-03-01T10:00:00+01:00",
            &format!(
                r#"{{"plan_version":1,"employment_goal":"Lager","offers":[{}]}}"#,
                offers.join(",")
            )
        )
    );
    let refused = app.post_json("/v1/events", ADMIN, &batch).await;
    assert_eq!(
        refused.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        refused.text
    );
    let p = refused.json();
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .starts_with("event 1: the event would be stored in"),
        "{p}"
    );
    assert_eq!(app.records(), 0);
}

/// Parameters say what they take: a stream's pattern, a year's range, an instant's format.
#[tokio::test]
async fn the_openapi_document_states_parameter_constraints() {
    let app = App::new();
    let doc = app.get("/openapi.json", ADMIN).await.json();
    let params = doc["paths"]["/v1/sanctions"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .clone();
    let schema = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["schema"].clone())
            .unwrap()
    };
    assert_eq!(schema("year")["minimum"], 1900);
    assert_eq!(schema("year")["maximum"], 2200);
    assert_eq!(schema("stream")["pattern"], "^[A-Za-z0-9._:-]{1,128}$");
    assert_eq!(schema("as_of")["format"], "date-time");
}

/// Whether `value` conforms to `schema` (the subset of JSON Schema utoipa writes: `$ref`,
/// `allOf`/`oneOf`/`anyOf`, `type`, `properties`, `required`, `items`, `additionalProperties`).
/// An object may hold no key its schema does not name, unless the schema is a map.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return conforms(doc, &doc["components"]["schemas"][name], value, at);
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            conforms_loosely(doc, s, value, at)?;
        }
        return no_unknown_keys(doc, schema, value, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(any) = schema[key].as_array() {
            return match any.iter().any(|s| conforms(doc, s, value, at).is_ok()) {
                true => Ok(()),
                false => Err(format!("{at}: {value} is none of {key}")),
            };
        }
    }
    conforms_loosely(doc, schema, value, at)?;
    no_unknown_keys(doc, schema, value, at)
}

/// `conforms` without the check for keys the schema does not name (for a part of an `allOf`).
fn conforms_loosely(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if schema.get("$ref").is_some() || schema.get("allOf").is_some() {
        let resolved = resolve(doc, schema);
        if let Some(all) = resolved["allOf"].as_array() {
            return all
                .iter()
                .try_for_each(|s| conforms_loosely(doc, s, value, at));
        }
        return conforms_loosely(doc, &resolved, value, at);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        return Err(format!("{at}: {value} is not {types:?}"));
    }
    if let (Some(props), Some(obj)) = (schema["properties"].as_object(), value.as_object()) {
        for key in schema["required"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap_or_default();
            if !obj.contains_key(key) {
                return Err(format!("{at}: `{key}` is required"));
            }
        }
        for (key, v) in obj {
            if let Some(s) = props.get(key) {
                conforms(doc, s, v, &format!("{at}/{key}"))?;
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            conforms(doc, items, v, &format!("{at}/{i}"))?;
        }
    }
    Ok(())
}

fn resolve(doc: &Value, schema: &Value) -> Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")].clone()
        }
        None => schema.clone(),
    }
}

/// The keys an object schema names, through `$ref` and `allOf`; None for a map or a free object.
fn named_keys(doc: &Value, schema: &Value) -> Option<BTreeSet<String>> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema["allOf"].as_array() {
        let mut keys = BTreeSet::new();
        for s in all {
            keys.extend(named_keys(doc, s)?);
        }
        return Some(keys);
    }
    if schema.get("additionalProperties").is_some() {
        return None;
    }
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
}

fn no_unknown_keys(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let (Some(keys), Some(obj)) = (named_keys(doc, schema), value.as_object()) else {
        return Ok(());
    };
    match obj.keys().find(|k| !keys.contains(*k)) {
        Some(k) => Err(format!("{at}: `{k}` is not in the schema")),
        None => Ok(()),
    }
}

/// Every JSON answer of the route tests conforms to the schema the OpenAPI document declares for
/// its status and media type: the document describes what the server says.
#[tokio::test]
async fn every_answer_conforms_to_its_declared_schema() {
    let app = App::seeded().await;
    let doc = app.get("/openapi.json", ADMIN).await.json();
    let mut checked = 0;
    for (method, uri, _, body) in routes() {
        let path = template(uri);
        if ["/openapi.json", "/docs/", "/v1/feed"].contains(&path.as_str()) {
            continue;
        }
        let ct = (method == "POST").then_some("application/json");
        for token in [ADMIN, "garanti_not_a_token"] {
            let a = app.send(method, uri, Some(token), ct, &body, &[]).await;
            let media = a.content_type();
            let media = media
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            if !media.ends_with("json") {
                continue;
            }
            let declared =
                &doc["paths"][&path][method.to_lowercase()]["responses"][a.status.as_str()];
            let schema = &declared["content"][&media]["schema"];
            assert!(
                schema.is_object(),
                "{method} {path} {}: no schema for {media}: {declared}",
                a.status
            );
            if let Err(e) = conforms(&doc, schema, &a.json(), "") {
                panic!("{method} {path} {}: {e}\n{}", a.status, a.text);
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
    // The year report with a revocation, a sample, its cases' timelines and, at a signed size,
    // their proofs.
    let revoked = event(
        "dk-101:c-0001",
        "sanction_revoked",
        "2017-06-01T10:00:00+02:00",
        r#"{"sanction_id":"s-1","reason":"appeal"}"#,
    );
    let a = app
        .post_json("/v1/events", ADMIN, &format!("[{revoked}]"))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let size = app.state.sign_checkpoint().unwrap().unwrap().size;
    let schema = &doc["paths"]["/v1/reports/{year}"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    for uri in [
        "/v1/reports/2017?sample=2&seed=revision".to_owned(),
        format!("/v1/reports/2017?sample=2&seed=revision&as_of_size={size}"),
    ] {
        let report = app.get(&uri, ADMIN).await.json();
        assert_eq!(report["sample"]["cases"].as_array().map(Vec::len), Some(2));
        assert_eq!(report["revocations"]["sanctions"][0]["sanction_id"], "s-1");
        if let Err(e) = conforms(&doc, schema, &report, "") {
            panic!("{uri}: {e}\n{report}");
        }
    }
}

/// The noisy neighbour (issue 12): while appends flow, a token's queries and the answers sent to
/// it are paid for from its share of the query threads; other tokens owe nothing, and without
/// appends nobody does.
#[tokio::test]
async fn a_token_reading_while_appends_flow_is_paced_and_others_are_not() {
    // A share of 1%: a read owes a hundred times what it took, long enough to be seen after it.
    let app = App::with_limits(Limits {
        query_share: 1,
        max_recorded_lag: None,
        ..Limits::default()
    });
    let shares = &app.state.shares;
    assert_eq!(
        app.get("/v1/sanctions", REVISOR).await.status,
        StatusCode::OK
    );
    assert_eq!(
        shares.owed("t-revisor"),
        std::time::Duration::ZERO,
        "no appends yet"
    );
    let case = lawful_case("dk-101:c-0001", "s-1");
    let a = app.post_lines("/v1/events", CASEWORKER, &case).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(shares.appends_flowing(), "a commit starts the pacing");
    // Each read by a token of its own, which owed nothing before it.
    for (uri, token, id) in [
        ("/v1/streams/dk-101:c-0001", REVISOR, "t-revisor"),
        (
            "/v1/streams/dk-101:c-0001?as_of=2030-01-01T00:00:00Z",
            LEGAL,
            "t-legal",
        ),
        ("/v1/sanctions", ADMIN, "t-admin"),
    ] {
        // As if appends went on (a busy test machine may take a second between reads).
        shares.committed();
        assert_eq!(shares.owed(id), std::time::Duration::ZERO);
        assert_eq!(app.get(uri, token).await.status, StatusCode::OK);
        assert!(
            shares.owed(id) > std::time::Duration::ZERO,
            "{uri}: the read was paid for"
        );
    }
    assert_eq!(
        shares.owed("t-cw-101"),
        std::time::Duration::ZERO,
        "appends are not paced"
    );
}
