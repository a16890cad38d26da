//! The web layer: routes, error responses, embedded assets.
//!
//! Every page has a JSON twin under `/api/`; both are built from the same view data
//! ([`history`] for the test page). Errors are [`Failure`]s: a 4xx with a clear message for a
//! bad request, a 500 (logged) for a database error; JSON under `/api/`, HTML elsewhere.

mod api;
mod assets;
pub mod history;
mod pages;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sqlx::SqlitePool;

use crate::regress;

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The result store.
    pub pool: SqlitePool,
}

/// Default and largest page size of the runs list.
pub const RUNS_DEFAULT_LIMIT: i64 = 50;
/// Largest `limit` accepted by `/api/runs` and `/`.
pub const RUNS_MAX_LIMIT: i64 = 500;
/// Default number of runs shown on a test's history.
pub const HISTORY_DEFAULT_RUNS: i64 = 500;
/// Largest `runs` accepted by `/tests/{name}` and `/api/tests/{name}`.
pub const HISTORY_MAX_RUNS: i64 = 20_000;

/// Builds the application router (see the crate docs and `dashboard/README.md`).
pub fn router(pool: SqlitePool) -> Router {
    let state = AppState { pool };
    Router::new()
        .route("/", get(pages::runs))
        .route("/runs/{id}", get(pages::run))
        .route("/tests", get(pages::tests))
        .route("/tests/{name}", get(pages::test))
        .route("/regressions", get(pages::regressions))
        .route("/boards", get(pages::boards))
        .route("/api/runs", get(api::runs))
        .route("/api/runs/{id}", get(api::run))
        .route("/api/tests", get(api::tests))
        .route("/api/tests/{name}", get(api::test))
        .route("/api/tests/{name}/metrics/{file}", get(api::metric_csv))
        .route("/api/regressions", get(api::regressions))
        .route("/api/regressions/ack", post(api::acknowledge))
        .route("/api/boards", get(api::boards))
        .route("/assets/{file}", get(assets::asset))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Headers on every response: no MIME sniffing, and a content security policy that allows only
/// this server's own scripts (the pages have no inline script; chart data sits in a
/// `type="application/json"` block), as a second line of defence behind escaping.
async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// Whether the failure is answered as JSON (the API) or as an HTML page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"error": "..."}` with `application/json`.
    Json,
    /// A small HTML page.
    Html,
}

/// A request that could not be answered: its status and a message for the user.
#[derive(Debug)]
pub struct Failure {
    /// HTTP status (4xx for the request's fault, 500 for ours).
    pub status: StatusCode,
    /// What went wrong, in words.
    pub message: String,
    /// How to answer.
    pub format: Format,
}

impl Failure {
    /// A 4xx (or other) failure with `message`.
    pub fn new(status: StatusCode, format: Format, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            format,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(format: Format, message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, format, message)
    }

    /// 404 Not Found.
    pub fn not_found(format: Format, message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::NOT_FOUND, format, message)
    }

    /// A database error: logged, answered with 500.
    pub fn db(format: Format, what: &str, err: sqlx::Error) -> Failure {
        tracing::error!("database error while reading {what}: {err}");
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format,
            format!("database error while reading {what}: {err}"),
        )
    }

    /// A template that failed to render (a bug): logged, answered with 500.
    pub fn render(err: askama::Error) -> Failure {
        tracing::error!("template error: {err}");
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Format::Html,
            format!("template error: {err}"),
        )
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self.format {
            Format::Json => (
                self.status,
                axum::Json(serde_json::json!({
                    "error": self.message,
                    "status": self.status.as_u16(),
                })),
            )
                .into_response(),
            Format::Html => {
                (self.status, pages::error_page(self.status, &self.message)).into_response()
            }
        }
    }
}

/// Unknown routes: 404, as JSON under `/api/`.
async fn not_found(uri: Uri) -> Failure {
    let format = if uri.path().starts_with("/api/") || uri.path() == "/api" {
        Format::Json
    } else {
        Format::Html
    };
    Failure::not_found(format, format!("no such page: {}", uri.path()))
}

/// Parses a run id from a path segment.
fn parse_run_id(
    format: Format,
    id: Result<axum::extract::Path<String>, PathRejection>,
) -> Result<i64, Failure> {
    let axum::extract::Path(id) = id.map_err(|e| Failure::bad_request(format, e.body_text()))?;
    match id.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Failure::bad_request(
            format,
            format!("run id must be a positive integer, got {id:?}"),
        )),
    }
}

/// Unwraps a path parameter, or a 400 with axum's explanation.
fn path_param<T>(
    format: Format,
    p: Result<axum::extract::Path<T>, PathRejection>,
) -> Result<T, Failure> {
    p.map(|axum::extract::Path(v)| v)
        .map_err(|e| Failure::bad_request(format, e.body_text()))
}

/// Unwraps the query string, or a 400 with the reason (unknown parameter, not a number, …).
fn query<T>(
    format: Format,
    q: Result<axum::extract::Query<T>, QueryRejection>,
) -> Result<T, Failure> {
    q.map(|axum::extract::Query(v)| v)
        .map_err(|e| Failure::bad_request(format, e.body_text()))
}

/// `?limit=&offset=` of the runs list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

impl PageQuery {
    /// `(limit, offset)`, checked: limit 1..=[`RUNS_MAX_LIMIT`] (default
    /// [`RUNS_DEFAULT_LIMIT`]), offset ≥ 0 (default 0).
    fn checked(&self, format: Format) -> Result<(i64, i64), Failure> {
        let limit = self.limit.unwrap_or(RUNS_DEFAULT_LIMIT);
        if !(1..=RUNS_MAX_LIMIT).contains(&limit) {
            return Err(Failure::bad_request(
                format,
                format!("limit must be between 1 and {RUNS_MAX_LIMIT}, got {limit}"),
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(Failure::bad_request(
                format,
                format!("offset must be 0 or more, got {offset}"),
            ));
        }
        Ok((limit, offset))
    }
}

/// `?runs=` of a test's history.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    runs: Option<i64>,
}

impl HistoryQuery {
    fn checked(&self, format: Format) -> Result<i64, Failure> {
        let runs = self.runs.unwrap_or(HISTORY_DEFAULT_RUNS);
        if !(1..=HISTORY_MAX_RUNS).contains(&runs) {
            return Err(Failure::bad_request(
                format,
                format!("runs must be between 1 and {HISTORY_MAX_RUNS}, got {runs}"),
            ));
        }
        Ok(runs)
    }
}

/// Percent-encodes one path segment (test and metric names go into URLs).
pub fn path_segment(s: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    if !s.is_empty() && s.bytes().all(|b| b == b'.') {
        // `.` and `..` would be resolved away by the browser.
        return s.replace('.', "%2E");
    }
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}
