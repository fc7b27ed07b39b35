//! The HTTP side of `serve`: which requests are answered (GET and HEAD, addressed to the loopback
//! host the server listens on), the headers every answer carries, and the URL's path and query.

use std::net::SocketAddr;

use tiny_http::{Header, Method, Request, Response};

use super::pages::{Reply, Site};
use crate::agents::render_util::{escape_html, html_page, CONTENT_SECURITY_POLICY};

/// The server's address as a URL, `http://127.0.0.1:8765/` (`http://[::1]:8765/` for IPv6).
pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}

/// Answers one request: a page for `GET`/`HEAD` addressed to this server, 405 for any other
/// method, 403 for another host name. A client that went away is no error of the server's.
pub fn answer(site: &Site, addr: SocketAddr, request: Request) {
    let reply = check(&request, addr).unwrap_or_else(|| {
        let (path, query) = split_url(request.url());
        site.route(&path, &query)
    });
    let allow = reply.status == 405;
    let mut response = Response::from_string(reply.html).with_status_code(reply.status);
    for (name, value) in headers(allow) {
        if let Ok(header) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(header);
        }
    }
    let _ = request.respond(response);
}

/// The refusal a request gets before any page is read, if it gets one.
fn check(request: &Request, addr: SocketAddr) -> Option<Reply> {
    if !matches!(request.method(), Method::Get | Method::Head) {
        return Some(error_page(
            405,
            "Method not allowed",
            &format!(
                "This view is read-only: it answers GET and HEAD, not {}.",
                request.method()
            ),
        ));
    }
    let host = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_ascii_lowercase());
    // A page elsewhere that points a name of its own at 127.0.0.1 (DNS rebinding) sends that
    // name here: only requests for this address by number, or localhost, are answered.
    let port = addr.port();
    let allowed = [
        format!("{addr}"),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    match host {
        Some(host) if !allowed.contains(&host) => Some(error_page(
            403,
            "Forbidden",
            &format!(
                "This server answers requests for {} only, not for {host}.",
                base_url(addr)
            ),
        )),
        _ => None,
    }
}

/// The headers of every answer: HTML, the views' Content-Security-Policy (and no framing), no
/// caching, no referrer, no content sniffing; `Allow` on a 405.
fn headers(allow: bool) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("Content-Type", "text/html; charset=utf-8".to_owned()),
        (
            "Content-Security-Policy",
            format!("{CONTENT_SECURITY_POLICY}; frame-ancestors 'none'"),
        ),
        ("X-Content-Type-Options", "nosniff".to_owned()),
        ("X-Frame-Options", "DENY".to_owned()),
        ("Referrer-Policy", "no-referrer".to_owned()),
        ("Cross-Origin-Resource-Policy", "same-origin".to_owned()),
        ("Cache-Control", "no-store".to_owned()),
    ];
    if allow {
        out.push(("Allow", "GET, HEAD".to_owned()));
    }
    out
}

/// An error page: `status`, a heading and one escaped sentence.
pub fn error_page(status: u16, heading: &str, text: &str) -> Reply {
    let body = format!(
        "<nav><a href=\"/\">All sessions</a></nav>\n<h1>{}</h1>\n<p>{}</p>\n",
        escape_html(heading),
        escape_html(text)
    );
    Reply {
        status,
        html: html_page(heading, &body),
    }
}

/// Splits a request target into its decoded path and its decoded query pairs.
fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned();
    let query = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    (path, query)
}

/// What a link leaves as it is: letters, digits and RFC 3986's other unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes `text` as one path segment, fragment or query value of a link.
pub fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_comes_apart_decoded() {
        let (path, query) = split_url("/session/ses%5Fa?q=two+words%26more&i=1");
        assert_eq!(path, "/session/ses_a");
        assert_eq!(
            query,
            [
                ("q".to_owned(), "two words&more".to_owned()),
                ("i".to_owned(), "1".to_owned())
            ]
        );
        assert_eq!(split_url("/").0, "/");
        assert_eq!(encode("a b/<c>"), "a%20b%2F%3Cc%3E");
        assert_eq!(encode("ses_a-1.b~"), "ses_a-1.b~", "ids stay readable");
    }
}
