//! The live dashboard (feature `dashboard`): one HTML page with its stylesheet and
//! script, compiled into the crate and served by [`super::endpoints`] at `/`,
//! `/dashboard.css` and `/dashboard.js`.
//!
//! The page reads `circuits` once and then follows `events`, both by relative URLs, so
//! the router works nested under any prefix. Nothing here may reach outside the crate:
//! no CDN, no fonts, no build step.

use axum::extract::OriginalUri;
use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("dashboard/index.html");
const STYLESHEET: &str = include_str!("dashboard/dashboard.css");
const SCRIPT: &str = include_str!("dashboard/dashboard.js");

/// The page. Its URLs are relative to a directory: asked for as `/breakers` (a nested
/// router without the trailing slash), it names its own directory in `<base>` so that
/// `dashboard.js` still means `/breakers/dashboard.js`.
pub(crate) async fn index(OriginalUri(uri): OriginalUri) -> Response {
    let page = match uri.path().rsplit_once('/') {
        Some((_, last)) if !last.is_empty() => {
            INDEX.replacen("<head>", &format!("<head>\n<base href=\"{}/\">", attribute(last)), 1)
        }
        _ => INDEX.to_owned(),
    };
    asset("text/html; charset=utf-8", page)
}

pub(crate) async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

pub(crate) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: impl IntoResponse) -> Response {
    // `no-cache`: the page changes with the crate, and a stale script against newer JSON
    // would mislead the operator.
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// A path segment made safe inside a double-quoted HTML attribute.
fn attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped_for_the_base_element() {
        assert_eq!(attribute(r#"a"b<c>&'"#), "a&quot;b&lt;c&gt;&amp;&#39;");
        assert_eq!(attribute("breakers"), "breakers");
    }
}
