//! Static assets embedded in the binary: the vendored uPlot (npm `uplot` 1.6.32, MIT) and the
//! dashboard's own script and style sheet. Served with `Cache-Control` and an `ETag`
//! (a `304 Not Modified` answers a matching `If-None-Match`).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Failure, Format};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "uPlot.iife.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/uPlot.iife.min.js"),
    },
    Asset {
        name: "uPlot.min.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/uPlot.min.css"),
    },
    Asset {
        name: "cockpit.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/cockpit.js"),
    },
    Asset {
        name: "cockpit.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/cockpit.css"),
    },
];

/// Strong ETags, one per asset (a hash of its content).
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let mut h = DefaultHasher::new();
            a.body.hash(&mut h);
            format!("\"{:016x}\"", h.finish())
        })
        .collect()
});

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == file) else {
        return Failure::not_found(Format::Html, format!("no such asset: {file}")).into_response();
    };
    let asset = &ASSETS[i];
    let etag = &ETAGS[i];
    let cache = HeaderValue::from_static("public, max-age=86400");
    let etag_value = HeaderValue::from_str(etag).expect("hex etag is a valid header");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, cache),
            (header::ETAG, etag_value),
        ],
        asset.body,
    )
        .into_response()
}
