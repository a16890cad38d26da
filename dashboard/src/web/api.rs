//! The JSON API (`/api/…`) and the CSV export. Every error is `{"error": "...", "status": N}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::history::{self, TestHistory};
use super::{
    AppState, Failure, Format, HistoryQuery, PageQuery, parse_run_id, path_param, query, regress,
};
use crate::db;

const F: Format = Format::Json;

/// Body of `GET /api/runs`.
#[derive(Serialize)]
pub struct RunsPage {
    /// Runs in the store.
    pub total: i64,
    /// Page size asked for.
    pub limit: i64,
    /// Runs skipped.
    pub offset: i64,
    /// The page, newest first.
    pub runs: Vec<db::RunRow>,
}

/// Loads a page of runs (shared with the HTML page).
pub(super) async fn runs_page(
    state: &AppState,
    format: Format,
    q: &PageQuery,
) -> Result<RunsPage, Failure> {
    let (limit, offset) = q.checked(format)?;
    let total = db::count_runs(&state.pool)
        .await
        .map_err(|e| Failure::db(format, "the number of runs", e))?;
    let runs = db::runs(&state.pool, limit, offset)
        .await
        .map_err(|e| Failure::db(format, "the runs", e))?;
    Ok(RunsPage {
        total,
        limit,
        offset,
        runs,
    })
}

/// `GET /api/runs?limit=&offset=`.
pub async fn runs(
    State(state): State<AppState>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<RunsPage>, Failure> {
    let q = query(F, q)?;
    Ok(Json(runs_page(&state, F, &q).await?))
}

/// Loads one run (shared with the HTML page).
pub(super) async fn run_detail(
    state: &AppState,
    format: Format,
    id: Result<Path<String>, PathRejection>,
) -> Result<db::RunDetail, Failure> {
    let id = parse_run_id(format, id)?;
    db::run_detail(&state.pool, id)
        .await
        .map_err(|e| Failure::db(format, &format!("run {id}"), e))?
        .ok_or_else(|| Failure::not_found(format, format!("no run with id {id}")))
}

/// `GET /api/runs/{id}`.
pub async fn run(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<db::RunDetail>, Failure> {
    Ok(Json(run_detail(&state, F, id).await?))
}

/// `GET /api/tests`.
pub async fn tests(State(state): State<AppState>) -> Result<Json<Vec<db::TestSummary>>, Failure> {
    Ok(Json(
        db::tests(&state.pool)
            .await
            .map_err(|e| Failure::db(F, "the tests", e))?,
    ))
}

/// Loads a test's history (shared with the HTML page).
pub(super) async fn test_history(
    state: &AppState,
    format: Format,
    name: Result<Path<String>, PathRejection>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<TestHistory, Failure> {
    let name = path_param(format, name)?;
    let runs = query(format, q)?.checked(format)?;
    let (results, metrics) = db::test_history(&state.pool, &name, runs)
        .await
        .map_err(|e| Failure::db(format, &format!("the history of test {name:?}"), e))?;
    if results.is_empty() {
        return Err(Failure::not_found(
            format,
            format!("no test named {name:?} in the store"),
        ));
    }
    Ok(history::build(&name, results, metrics))
}

/// `GET /api/tests/{name}?runs=`.
pub async fn test(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<TestHistory>, Failure> {
    Ok(Json(test_history(&state, F, name, q).await?))
}

/// `GET /api/tests/{name}/metrics/{metric}.csv`: the metric's whole history as CSV.
pub async fn metric_csv(
    State(state): State<AppState>,
    p: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, Failure> {
    let (test, file) = path_param(F, p)?;
    let Some(metric) = file.strip_suffix(".csv") else {
        return Err(Failure::not_found(
            F,
            format!("metric exports end in .csv: /api/tests/{{name}}/metrics/{file}.csv"),
        ));
    };
    let points = db::metric_history(&state.pool, &test, metric)
        .await
        .map_err(|e| Failure::db(F, &format!("metric {metric:?} of test {test:?}"), e))?;
    if points.is_empty() {
        let exists = db::test_exists(&state.pool, &test)
            .await
            .map_err(|e| Failure::db(F, &format!("test {test:?}"), e))?;
        return Err(Failure::not_found(
            F,
            if exists {
                format!("test {test:?} has no metric {metric:?}")
            } else {
                format!("no test named {test:?} in the store")
            },
        ));
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            F,
            format!("cannot write CSV: {e}"),
        )
    };
    w.write_record([
        "run_id",
        "started_at",
        "commit",
        "board_kind",
        "board_id",
        "value",
        "unit",
    ])
    .map_err(csv_err)?;
    for p in &points {
        w.write_record([
            p.run_id.to_string(),
            super::pages::iso_time(p.started_at_ms),
            p.commit.clone().unwrap_or_default(),
            p.board_kind.clone(),
            p.board_id.clone(),
            p.value.to_string(),
            p.unit.clone(),
        ])
        .map_err(csv_err)?;
    }
    let body = w.into_inner().map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            F,
            format!("cannot write CSV: {e}"),
        )
    })?;
    let filename: String = format!("{test}-{metric}.csv")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .expect("sanitized file name is a valid header");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// Body of `GET /api/regressions`.
#[derive(Serialize)]
pub struct RegressionsPage {
    /// Regressions not acknowledged yet (what `cockpit regressions` gates on).
    pub unacknowledged: usize,
    /// Every detected change (regressions and improvements), acknowledged or not.
    pub regressions: Vec<regress::Regression>,
}

/// Runs the detector (shared with the HTML page).
pub(super) async fn detect(
    state: &AppState,
    format: Format,
) -> Result<Vec<regress::Regression>, Failure> {
    regress::detect(&state.pool, &regress::Options::default())
        .await
        .map_err(|e| Failure::db(format, "the regressions", e))
}

/// `GET /api/regressions`.
pub async fn regressions(State(state): State<AppState>) -> Result<Json<RegressionsPage>, Failure> {
    let regressions = detect(&state, F).await?;
    let unacknowledged = regressions
        .iter()
        .filter(|r| r.direction == regress::Direction::Regression && r.acknowledged.is_none())
        .count();
    Ok(Json(RegressionsPage {
        unacknowledged,
        regressions,
    }))
}

/// Body of `POST /api/regressions/ack` (JSON or `application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize)]
pub struct AckRequest {
    /// [`regress::Regression::key`].
    pub key: String,
    /// Who acknowledges (a name or handle).
    pub who: String,
    /// Why it is acceptable.
    pub why: String,
}

/// Largest accepted `who`, in characters.
const MAX_WHO: usize = 200;
/// Largest accepted `why`, in characters.
const MAX_WHY: usize = 4000;

/// `POST /api/regressions/ack`: JSON in, `{"acknowledged": true, "key": ...}` out; a form post
/// (from the regressions page) is answered with a redirect back to `/regressions`.
pub async fn acknowledge(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (format, parsed) = match content_type.as_str() {
        "application/json" => (
            Format::Json,
            serde_json::from_slice::<AckRequest>(&body).map_err(|e| e.to_string()),
        ),
        "application/x-www-form-urlencoded" => (
            Format::Html,
            serde_urlencoded::from_bytes::<AckRequest>(&body).map_err(|e| e.to_string()),
        ),
        other => {
            return Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                F,
                format!(
                    "send the acknowledgement as application/json or \
                     application/x-www-form-urlencoded (key, who, why), not {other:?}"
                ),
            ));
        }
    };
    let req = parsed.map_err(|e| {
        Failure::bad_request(format, format!("bad acknowledgement (key, who, why): {e}"))
    })?;
    let (key, who, why) = (req.key.trim(), req.who.trim(), req.why.trim());
    for (field, value, max) in [
        ("key", key, 1000),
        ("who", who, MAX_WHO),
        ("why", why, MAX_WHY),
    ] {
        if value.is_empty() {
            return Err(Failure::bad_request(
                format,
                format!("{field} must not be empty"),
            ));
        }
        if value.chars().count() > max {
            return Err(Failure::bad_request(
                format,
                format!("{field} is longer than {max} characters"),
            ));
        }
    }
    let found = regress::acknowledge(&state.pool, key, who, why)
        .await
        .map_err(|e| Failure::db(format, "the acknowledgement", e))?;
    if !found {
        return Err(Failure::not_found(
            format,
            format!("no regression with key {key:?}"),
        ));
    }
    Ok(match format {
        Format::Json => {
            Json(serde_json::json!({ "acknowledged": true, "key": key })).into_response()
        }
        Format::Html => Redirect::to("/regressions").into_response(),
    })
}

/// `GET /api/boards`.
pub async fn boards(State(state): State<AppState>) -> Result<Json<Vec<db::BoardRow>>, Failure> {
    Ok(Json(
        db::boards(&state.pool)
            .await
            .map_err(|e| Failure::db(F, "the boards", e))?,
    ))
}
