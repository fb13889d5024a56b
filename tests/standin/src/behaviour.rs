//! What the stand-in answers: one behaviour at a time, switchable while it
//! runs. Each names a real-world situation the client must classify.

use std::fmt;
use std::time::Duration;

use crate::documented::{FACE_QUALITY, FaceQuality};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// The documented 200, with a fresh faceId per registration.
    Ok,
    /// 401 whatever the token.
    Unauthorized,
    /// 429 with `Retry-After: <seconds>`.
    RateLimited { retry_after_s: u64 },
    /// This status with a small JSON error body (500, 502, 503, ...).
    Status(u16),
    /// 503 with `Retry-After: <seconds>` (an overloaded server asking to wait).
    Unavailable { retry_after_s: u64 },
    /// An HTML page with this status (a proxy's 502, a captive portal's 200).
    HtmlPage(u16),
    /// A 200 whose JSON stops halfway (`Content-Length` matches what is sent).
    TruncatedJson,
    /// 200 with `status:false` and a plain failure message.
    StatusFalse,
    /// 200 with `status:false` and one of the seven face-quality messages.
    Retake(FaceQuality),
    /// 200 with `status:false`, "This face is already registered."
    AlreadyRegistered,
    /// A 200 body larger than the client's 1 MiB cap.
    Oversized,
    /// Reads the request, waits this long, then answers as `Ok`.
    Stall(Duration),
    /// Sends the status line, headers and half the body, then drops the
    /// connection without a TLS close.
    CloseMidResponse,
    /// Reads the request and drops the connection without answering.
    Hangup,
    /// Accepts TCP but never answers the TLS handshake (a wedged server or
    /// middlebox): the client's connect timeout must fire, nothing is sent.
    StallHandshake,
    /// 302 to another host.
    Redirect,
    /// 302 to this URL (a plain-http or other-host listener in tests).
    RedirectTo(String),
    /// A 200 status line and headers, then silence on an open connection.
    HeadersThenSilence,
    /// The documented 200, one byte per second, for as long as the client listens.
    Trickle,
    /// A 200 announcing a 20 MB body, and sending it.
    HugeBody,
    /// A 200 JSON body with bytes that are not UTF-8 inside a string.
    InvalidUtf8,
    /// A 400 whose message quotes the whole request back (headers, token
    /// and image included) after `filler` characters, as careless error
    /// pages do; the filler moves the quote across the client's length cap.
    EchoRequest { filler: usize },
    /// The documented 200 JSON, labelled `text/html`.
    WrongContentType,
    /// A 200 in chunked encoding that ends (with a clean TLS close) before
    /// the last chunk.
    ChunkedCutShort,
    /// The documented 200s, each for another request (answers mixed up on
    /// the way): a registration naming another verification, a created
    /// verification of another trust flow, a finalized other verification.
    OtherVerification,
    /// v3: registered, and the watchlist screening matched (a v1 registration, which has no
    /// screening, is answered as `Ok`). The match is the earlier registration of the same
    /// image when there was one (duplicate detection: a resend whose first send got through),
    /// else an entry of the site's blocklist.
    WatchlistMatch,
    /// v3: the answer the page's stale field list implies: a 422 asking for `username`, which
    /// the documented example leaves out (a v1 registration, which sends it, is answered `Ok`).
    StaleDocs,
    /// v3: `success: true` but the trust validation rejected (`verificationStatusCode` 1) after
    /// a watchlist match; v1: `status:false`, "Verification rejected."
    ValidationRejected,
    /// Each registration answered in the other version's documented envelope (v1's success to
    /// a v3 request, v3's to a v1 request).
    OtherEnvelope,
    /// Not listening at all (the port is closed until another behaviour is set).
    Refuse,
}

impl Behaviour {
    /// Parses a behaviour name as `enrolld standin --behaviour` takes it:
    /// `ok`, `unauthorized`, `rate-limited[:SECS]`, `status:CODE`,
    /// `server-error` (500), `bad-gateway` (502), `unavailable[:SECS]` (503,
    /// with a Retry-After when SECS is given),
    /// `html-error` (502 page), `captive-portal` (200 page), `truncated-json`,
    /// `status-false`, `retake:QUALITY` (e.g. `retake:no_face`),
    /// `already-registered`, `oversized`, `stall[:MS]`,
    /// `close-mid-response`, `hangup`, `stall-handshake`, `redirect`,
    /// `redirect-to:URL`, `headers-then-silence`, `trickle`, `huge-body`,
    /// `invalid-utf8`, `wrong-content-type`, `chunked-cut-short`,
    /// `echo-request[:FILLER]`, `other-verification`, `watchlist-match`, `stale-docs`,
    /// `validation-rejected`, `other-envelope`, `refuse`.
    pub fn parse(name: &str) -> Result<Behaviour, String> {
        let (kind, arg) = match name.trim().split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (name.trim(), None),
        };
        let number = |default: u64| -> Result<u64, String> {
            arg.map_or(Ok(default), |a| {
                a.parse()
                    .map_err(|_| format!("behaviour `{name}`: `{a}` is not a number"))
            })
        };
        Ok(match kind {
            "ok" => Behaviour::Ok,
            "unauthorized" => Behaviour::Unauthorized,
            "rate-limited" => Behaviour::RateLimited {
                retry_after_s: number(30)?,
            },
            "status" => {
                let code = number(500)?;
                match u16::try_from(code) {
                    Ok(c @ 200..=599) => Behaviour::Status(c),
                    _ => return Err(format!("behaviour `{name}`: status must be 200-599")),
                }
            }
            "server-error" => Behaviour::Status(500),
            "bad-gateway" => Behaviour::Status(502),
            "unavailable" => match arg {
                None => Behaviour::Status(503),
                Some(_) => Behaviour::Unavailable {
                    retry_after_s: number(0)?,
                },
            },
            "html-error" => Behaviour::HtmlPage(502),
            "captive-portal" => Behaviour::HtmlPage(200),
            "truncated-json" => Behaviour::TruncatedJson,
            "status-false" => Behaviour::StatusFalse,
            "retake" => {
                let code = arg.unwrap_or("no_face");
                let q = FACE_QUALITY
                    .into_iter()
                    .find(|q| q.code == code)
                    .ok_or_else(|| format!("behaviour `{name}`: unknown face quality `{code}`"))?;
                Behaviour::Retake(q)
            }
            "already-registered" => Behaviour::AlreadyRegistered,
            "oversized" => Behaviour::Oversized,
            "stall" => Behaviour::Stall(Duration::from_millis(number(120_000)?)),
            "close-mid-response" => Behaviour::CloseMidResponse,
            "hangup" => Behaviour::Hangup,
            "stall-handshake" => Behaviour::StallHandshake,
            "redirect" => Behaviour::Redirect,
            "redirect-to" => match arg {
                Some(url) if !url.trim().is_empty() => Behaviour::RedirectTo(url.trim().to_owned()),
                _ => return Err(format!("behaviour `{name}`: needs a URL")),
            },
            "headers-then-silence" => Behaviour::HeadersThenSilence,
            "trickle" => Behaviour::Trickle,
            "huge-body" => Behaviour::HugeBody,
            "invalid-utf8" => Behaviour::InvalidUtf8,
            "wrong-content-type" => Behaviour::WrongContentType,
            "chunked-cut-short" => Behaviour::ChunkedCutShort,
            "echo-request" => Behaviour::EchoRequest {
                filler: usize::try_from(number(0)?).map_err(|e| e.to_string())?,
            },
            "other-verification" => Behaviour::OtherVerification,
            "watchlist-match" => Behaviour::WatchlistMatch,
            "stale-docs" => Behaviour::StaleDocs,
            "validation-rejected" => Behaviour::ValidationRejected,
            "other-envelope" => Behaviour::OtherEnvelope,
            "refuse" => Behaviour::Refuse,
            _ => return Err(format!("unknown stand-in behaviour `{name}`")),
        })
    }
}

impl Behaviour {
    /// One of each kind (every face quality, a 1.5 s stall, the main error
    /// statuses), for tests that take the client through all of them.
    pub fn one_of_each() -> Vec<Behaviour> {
        let mut all = vec![
            Behaviour::Ok,
            Behaviour::Unauthorized,
            Behaviour::RateLimited { retry_after_s: 7 },
            Behaviour::Unavailable { retry_after_s: 3 },
            Behaviour::Status(500),
            Behaviour::Status(502),
            Behaviour::HtmlPage(502),
            Behaviour::HtmlPage(200),
            Behaviour::TruncatedJson,
            Behaviour::StatusFalse,
            Behaviour::AlreadyRegistered,
            Behaviour::Oversized,
            Behaviour::Stall(Duration::from_millis(1500)),
            Behaviour::CloseMidResponse,
            Behaviour::Hangup,
            Behaviour::StallHandshake,
            Behaviour::Redirect,
            Behaviour::RedirectTo("http://127.0.0.1:9/x".to_owned()),
            Behaviour::HeadersThenSilence,
            Behaviour::Trickle,
            Behaviour::HugeBody,
            Behaviour::InvalidUtf8,
            Behaviour::WrongContentType,
            Behaviour::ChunkedCutShort,
            Behaviour::EchoRequest { filler: 0 },
            Behaviour::OtherVerification,
            Behaviour::WatchlistMatch,
            Behaviour::StaleDocs,
            Behaviour::ValidationRejected,
            Behaviour::OtherEnvelope,
            Behaviour::Refuse,
        ];
        all.extend(FACE_QUALITY.map(Behaviour::Retake));
        all
    }
}

impl fmt::Display for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Behaviour::Ok => f.write_str("ok"),
            Behaviour::Unauthorized => f.write_str("unauthorized"),
            Behaviour::RateLimited { retry_after_s } => write!(f, "rate-limited:{retry_after_s}"),
            Behaviour::Status(c) => write!(f, "status:{c}"),
            Behaviour::Unavailable { retry_after_s } => write!(f, "unavailable:{retry_after_s}"),
            Behaviour::HtmlPage(200) => f.write_str("captive-portal"),
            Behaviour::HtmlPage(_) => f.write_str("html-error"),
            Behaviour::TruncatedJson => f.write_str("truncated-json"),
            Behaviour::StatusFalse => f.write_str("status-false"),
            Behaviour::Retake(q) => write!(f, "retake:{}", q.code),
            Behaviour::AlreadyRegistered => f.write_str("already-registered"),
            Behaviour::Oversized => f.write_str("oversized"),
            Behaviour::Stall(d) => write!(f, "stall:{}", d.as_millis()),
            Behaviour::CloseMidResponse => f.write_str("close-mid-response"),
            Behaviour::Hangup => f.write_str("hangup"),
            Behaviour::StallHandshake => f.write_str("stall-handshake"),
            Behaviour::Redirect => f.write_str("redirect"),
            Behaviour::RedirectTo(url) => write!(f, "redirect-to:{url}"),
            Behaviour::HeadersThenSilence => f.write_str("headers-then-silence"),
            Behaviour::Trickle => f.write_str("trickle"),
            Behaviour::HugeBody => f.write_str("huge-body"),
            Behaviour::InvalidUtf8 => f.write_str("invalid-utf8"),
            Behaviour::WrongContentType => f.write_str("wrong-content-type"),
            Behaviour::ChunkedCutShort => f.write_str("chunked-cut-short"),
            Behaviour::EchoRequest { filler } => write!(f, "echo-request:{filler}"),
            Behaviour::OtherVerification => f.write_str("other-verification"),
            Behaviour::WatchlistMatch => f.write_str("watchlist-match"),
            Behaviour::StaleDocs => f.write_str("stale-docs"),
            Behaviour::ValidationRejected => f.write_str("validation-rejected"),
            Behaviour::OtherEnvelope => f.write_str("other-envelope"),
            Behaviour::Refuse => f.write_str("refuse"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let mut all = Behaviour::one_of_each();
        all.extend([
            Behaviour::Status(503),
            Behaviour::EchoRequest { filler: 168 },
        ]);
        for b in all {
            assert_eq!(Behaviour::parse(&b.to_string()), Ok(b.clone()), "{b}");
        }
    }

    #[test]
    fn bad_names_are_explained() {
        assert!(Behaviour::parse("teapot").unwrap_err().contains("teapot"));
        assert!(
            Behaviour::parse("retake:blurry")
                .unwrap_err()
                .contains("blurry")
        );
        assert!(Behaviour::parse("stall:soon").unwrap_err().contains("soon"));
        assert!(Behaviour::parse("status:99").is_err());
        assert!(Behaviour::parse("redirect-to").unwrap_err().contains("URL"));
    }
}
