//! The ledger as a transparency log (C2SP tlog-tiles): the signed checkpoint, hash tiles and entry
//! bundles under `/log/`, and proof bundles under `/v1/`. Checkpoints and hash tiles need no
//! token: they hold only hashes. Entry bundles hold case data: revisor and admin only.

use super::blocking;
use crate::auth::{Access, Principal};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ledger::merkle::{TileKind, TilePath, TILE_WIDTH};
use ledger::transparency::KeptCheckpoint;
use serde::Deserialize;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/tile/{*path}", get(tile))
        .route("/v1/ledger/proof", get(record_proof))
        .route("/v1/sanctions/{id}/proof", get(sanction_proof))
}

fn no_key() -> ApiError {
    ApiError::NotFound(
        "this log signs no checkpoints: the server has no log key (`garanti log-key new --origin ORIGIN`, then restart `garanti serve`)".into(),
    )
}

/// The latest kept checkpoint covering at least `size` records; one is signed now if there is
/// none (or only an older one) and the server has the log's key.
fn covering(state: &AppState, size: u64) -> Result<Arc<KeptCheckpoint>, ApiError> {
    if let Some(kept) = state.latest_checkpoint().filter(|k| k.size >= size.max(1)) {
        return Ok(kept);
    }
    state.sign_checkpoint()?.ok_or_else(no_key)
}

/// `GET /log/checkpoint`
#[utoipa::path(get, path = "/log/checkpoint", tag = "transparency log",
    responses((status = 200, description = "The latest signed checkpoint (C2SP tlog-checkpoint, a signed note), `text/plain`. Signed at most once a second while the log grows, and at shutdown. No token needed.", body = String, content_type = "text/plain"),
        (status = 404, description = "The server has no log key", body = crate::openapi::Problem, content_type = "application/problem+json")))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let kept = match state.latest_checkpoint() {
        Some(k) => k,
        None => {
            let state = state.clone();
            blocking(move || covering(&state, 0)).await?
        }
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        kept.note.clone(),
    )
        .into_response())
}

/// `GET /log/tile/{path}`
#[utoipa::path(get, path = "/log/tile/{path}", tag = "transparency log",
    params(("path" = String, Path, description = "C2SP tlog-tiles: `<L>/<N>[.p/<W>]` (hash tile of level L, height 8: no token) or `entries/<N>[.p/<W>]` (entry bundle: each entry a big-endian uint16 length and the record's stored bytes; revisor and admin). N in groups of three digits, `x001/x234/067`."),),
    responses((status = 200, description = "The tile's bytes (`application/octet-stream`); full tiles never change and may be cached forever", content_type = "application/octet-stream"),
        (status = 401, description = "An entry bundle without a valid bearer token", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 403, description = "An entry bundle with a token that may not audit", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tile (yet)", body = crate::openapi::Problem, content_type = "application/problem+json")))]
pub async fn tile(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::NotFound(format!("no tile {path:?} in this log (yet)"));
    let tile = TilePath::parse(&path).ok_or_else(missing)?;
    if tile.kind == TileKind::Entries {
        // Entry bundles hold case data: revisor and admin only.
        principal?.require(Access::Audit)?;
    }
    let ledger = state.ledger.clone();
    let body = blocking(move || match tile.kind {
        TileKind::Hashes(level) => Ok(ledger
            .tile(level, tile.index, tile.width)?
            .map(|hashes| hashes.concat())),
        TileKind::Entries => entry_bundle(&ledger, tile.index, tile.width),
    })
    .await?
    .ok_or_else(missing)?;
    let cache = if tile.width == TILE_WIDTH {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response())
}

/// Records `index·256 .. index·256 + width`, each as a big-endian uint16 length and its bytes.
fn entry_bundle(
    ledger: &ledger::Ledger,
    index: u64,
    width: u64,
) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(from) = index.checked_mul(TILE_WIDTH) else {
        return Ok(None);
    };
    if from.saturating_add(width) > ledger.tree_size() {
        return Ok(None);
    }
    let mut body = Vec::new();
    let mut too_long = None;
    ledger.scan(
        from,
        from + width,
        &mut |record| match u16::try_from(record.bytes.len()) {
            Ok(len) => {
                body.extend_from_slice(&len.to_be_bytes());
                body.extend_from_slice(&record.bytes);
                true
            }
            Err(_) => {
                too_long = Some(record.seq);
                false
            }
        },
    )?;
    if let Some(seq) = too_long {
        return Err(ApiError::internal(format!(
            "record {seq} is longer than an entry bundle can carry"
        )));
    }
    Ok(Some(body))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ProofQuery {
    /// The record's seq.
    pub seq: u64,
    /// Prove against the kept checkpoint of this size (default: the latest, signed now if needed).
    pub size: Option<u64>,
}

/// `GET /v1/ledger/proof`
#[utoipa::path(get, path = "/v1/ledger/proof", tag = "transparency log", params(ProofQuery),
    responses((status = 200, description = "`{checkpoint, index, record, inclusion}` as `garanti prove SEQ` prints it; check it with `garanti verify-proof`", body = crate::schemas::InclusionBundle),
        (status = 404, description = "No such record, or no checkpoint of that size", body = crate::openapi::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn record_proof(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ProofQuery>,
) -> Result<Json<ledger::proof::InclusionBundle>, ApiError> {
    principal.require(Access::Audit)?;
    let bundle = blocking(move || {
        let checkpoint = chosen(&state, q.size, q.seq.saturating_add(1))?;
        if q.seq >= checkpoint.size {
            return Err(ApiError::NotFound(format!(
                "record {} is not under the checkpoint of size {}",
                q.seq, checkpoint.size
            )));
        }
        Ok(state.ledger.inclusion_bundle(q.seq, &checkpoint)?)
    })
    .await?;
    Ok(Json(bundle))
}

/// The kept checkpoint of `size`, or the latest covering `needed` records.
fn chosen(
    state: &AppState,
    size: Option<u64>,
    needed: u64,
) -> Result<Arc<KeptCheckpoint>, ApiError> {
    match size {
        Some(n) => state.ledger.checkpoint(n)?.map(Arc::new).ok_or_else(|| {
            ApiError::NotFound(format!("the log has signed no checkpoint of size {n}"))
        }),
        None => covering(state, needed),
    }
}

/// `GET /v1/sanctions/{id}/proof`
#[utoipa::path(get, path = "/v1/sanctions/{id}/proof", tag = "transparency log",
    params(("id" = String, Path, description = "The sanction id")),
    responses((status = 200, description = "`{sanction_id, verdict, checkpoint, proofs: [{index, record, inclusion}]}` as `garanti prove --sanction ID` prints it: the decision and every evidence event of the verdict", body = crate::schemas::RecordsBundle),
        (status = 404, description = "No such sanction (or not one this token may see)", body = crate::openapi::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn sanction_proof(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ledger::proof::RecordsBundle>, ApiError> {
    principal.require(Access::ReadCases)?;
    let missing =
        || ApiError::NotFound(format!("no sanction {id:?}; GET /v1/sanctions lists them"));
    // Taken under the view's lock as an excerpt, judged and proved off it (as a case read is).
    let (case, stream) = {
        let view = state.read();
        let stream = view.sanction_stream(&id).ok_or_else(missing)?;
        // Another municipality's sanction is not said to exist.
        if !principal.may_touch(stream) {
            return Err(missing());
        }
        (view.projection.excerpt(stream), stream.to_owned())
    };
    let bundle = super::query(&state, &principal, move |state| {
        let eval = projections::Evaluation {
            params: state.params(),
            as_of: None,
            now: state.now(),
        };
        let s = eval
            .sanction_in(&case, Some(stream.as_str()), &id)
            .ok_or_else(|| {
                ApiError::NotFound(format!("no sanction {id:?}; GET /v1/sanctions lists them"))
            })?;
        let seqs = replay::output::proved_seqs(&s);
        let needed = seqs.last().map_or(0, |s| s + 1);
        let checkpoint = covering(state, needed)?;
        let proofs = seqs
            .iter()
            .map(|seq| state.ledger.entry_proof(*seq, checkpoint.size))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ledger::proof::RecordsBundle {
            sanction_id: id.clone(),
            verdict: replay::output::sanction_json(&state.params().calendar, &s),
            checkpoint: checkpoint.note.clone(),
            proofs,
        })
    })
    .await?;
    Ok(Json(bundle))
}

/// Signs a checkpoint at most once a second while the log grows, until the server closes (`serve`
/// signs one before it listens, so a restart after a crash covers what was acknowledged before
/// it, and one after the last request is answered).
pub async fn sign_while_serving(state: AppState) {
    if state.config.log_key.is_none() {
        return;
    }
    let mut closing = state.closing.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = closing.wait_for(|c| *c) => return,
        }
        let s = state.clone();
        if let Err(e) = blocking(move || s.sign_if_grown()).await {
            tracing::warn!("cannot sign a checkpoint: {e}");
        }
    }
}
