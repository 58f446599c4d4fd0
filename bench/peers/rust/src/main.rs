//! rustingest: the benchmark's Rust peer of ingestd. hyper 0.14 on a
//! single-threaded tokio runtime; each event is deserialized by serde_json
//! into a struct whose strings borrow from the request body (zero-copy).
//!
//! The trade-off of borrowing is deliberate and measured by the benchmark:
//! a `&str` can only point into the body when the JSON string has no
//! escapes, so serde rejects events such as `"line\nbreak"` with 400. A
//! `Cow<str>` field would accept them at the price of an allocation each.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Method, Request, Response, Server, StatusCode};
use serde::Deserialize;

const MAX_FIELD_BYTES: usize = 256;
const MAX_METADATA: usize = 64;
const MAX_BODY_BYTES: u64 = 1 << 20;

/// One event, per ingestd's rules (shared/DESIGN.md, "The event").
#[derive(Deserialize)]
#[allow(dead_code)]
struct Event<'a> {
    event_id: &'a str,
    timestamp: &'a str,
    service: &'a str,
    message: &'a str,
    #[serde(borrow, default)]
    metadata: Option<HashMap<&'a str, &'a str>>,
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM)`, with the
/// calendar checked and at most nine fraction digits, as ingestd does.
fn valid_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[13] != b':'
        || b[16] != b':'
        || !matches!(b[10], b'T' | b't')
    {
        return false;
    }
    let field = |r: std::ops::Range<usize>| digits(&b[r]);
    let (y, mo, d) = match (field(0..4), field(5..7), field(8..10)) {
        (Some(y), Some(mo), Some(d)) => (y, mo, d),
        _ => return false,
    };
    let (h, mi, sec) = match (field(11..13), field(14..16), field(17..19)) {
        (Some(h), Some(mi), Some(sec)) => (h, mi, sec),
        _ => return false,
    };
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return false;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return false;
        }
        rest = &rest[1 + n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            matches!(digits(&[*h1, *h2]), Some(oh) if oh <= 23)
                && matches!(digits(&[*m1, *m2]), Some(om) if om <= 59)
        }
        _ => false,
    }
}

fn validate(ev: &Event) -> Result<(), &'static str> {
    if ev.event_id.is_empty() || ev.event_id.len() > MAX_FIELD_BYTES {
        return Err("event_id must be a non-empty string of at most 256 bytes");
    }
    if !valid_timestamp(ev.timestamp) {
        return Err("timestamp must be an RFC 3339 date-time");
    }
    if ev.service.is_empty() || ev.service.len() > MAX_FIELD_BYTES {
        return Err("service must be a non-empty string of at most 256 bytes");
    }
    if let Some(m) = &ev.metadata {
        if m.len() > MAX_METADATA || m.keys().any(|k| k.is_empty()) {
            return Err("metadata must hold at most 64 non-empty keys");
        }
    }
    Ok(())
}

fn answer(status: StatusCode, body: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("static response")
}

async fn ingest(req: Request<Body>) -> Response<Body> {
    if req.method() != Method::POST {
        let mut rsp = answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "{\"status\":\"rejected\",\"error\":\"method not allowed\"}",
        );
        rsp.headers_mut()
            .insert("allow", hyper::header::HeaderValue::from_static("POST"));
        return rsp;
    }
    let too_large = hyper::body::HttpBody::size_hint(req.body())
        .upper()
        .map_or(false, |n| n > MAX_BODY_BYTES);
    if too_large {
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "{\"status\":\"rejected\",\"error\":\"body too large\"}",
        );
    }
    let body = match hyper::body::to_bytes(req.into_body()).await {
        Ok(b) => b,
        Err(_) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "{\"status\":\"rejected\",\"error\":\"incomplete body\"}",
            )
        }
    };
    let checked = serde_json::from_slice::<Event>(&body)
        .map_err(|_| "invalid JSON or event")
        .and_then(|ev| validate(&ev));
    match checked {
        Ok(()) => answer(StatusCode::ACCEPTED, "{\"status\":\"queued\"}"),
        Err(_) => answer(
            StatusCode::BAD_REQUEST,
            "{\"status\":\"rejected\",\"error\":\"invalid event\"}",
        ),
    }
}

async fn route(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(match req.uri().path() {
        "/ingest" => ingest(req).await,
        "/healthz" => answer(StatusCode::OK, "{\"status\":\"ok\"}"),
        _ => answer(
            StatusCode::NOT_FOUND,
            "{\"status\":\"rejected\",\"error\":\"not found\"}",
        ),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut listen = String::from("127.0.0.1:8083");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--listen" {
            listen = args.next().expect("--listen needs an address");
        }
    }
    let addr: SocketAddr = listen.parse().expect("--listen HOST:PORT");

    let make = make_service_fn(|_conn| async { Ok::<_, Infallible>(service_fn(route)) });
    // ingestd and the Go peer give a client 5 s to send its request;
    // hyper 0.14 bounds the head only (the body has no timeout).
    let server = Server::bind(&addr)
        .http1_only(true)
        .http1_header_read_timeout(Duration::from_secs(5))
        .serve(make);
    if let Err(e) = server.await {
        eprintln!("rustingest: {e}");
        std::process::exit(1);
    }
}
