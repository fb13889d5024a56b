//! `api.base_url`: what is accepted and how endpoint URLs are made from it.
//!
//! Only `https` is accepted, except plain `http` to a loopback host (a local
//! stand-in or a TLS-terminating proxy on the same board): a bearer token and
//! a face must never cross a network in clear text.

use std::net::IpAddr;

use ureq::http::Uri;

/// Checks `api.base_url`. The message says what is wrong, for the located
/// config error.
pub fn check_base_url(url: &str) -> Result<(), UrlError> {
    BaseUrl::parse(url).map(|_| ())
}

/// What is wrong with `api.base_url`. The URL is shown with any user
/// credentials in it replaced by `***`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("`{url}` is not a valid URL ({reason})")]
    Invalid { url: String, reason: String },
    #[error("`{url}` has no scheme: write it as https://host")]
    NoScheme { url: String },
    #[error("`{url}` has no host: write it as https://host")]
    NoHost { url: String },
    #[error(
        "`{url}` carries user credentials: remove them; the token belongs in the credential or \
         api.token_file"
    )]
    Credentials { url: String },
    #[error("`{url}` uses plain http to a host that is not loopback; use https")]
    PlainHttp { url: String },
    #[error("`{url}` has scheme `{scheme}`; use https")]
    Scheme { url: String, scheme: String },
    #[error("`{url}` has a query; give only the base, e.g. https://integrate.idmetagroup.com")]
    Query { url: String },
    #[error(
        "`{url}` has a path ({path}); give only the base, e.g. https://integrate.idmetagroup.com"
    )]
    Path { url: String, path: String },
}

/// A checked base URL, without a trailing slash, ready to have a path appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(url: &str) -> Result<BaseUrl, UrlError> {
        let shown = without_credentials(url);
        let uri: Uri = url
            .parse()
            .map_err(|e: ureq::http::uri::InvalidUri| UrlError::Invalid {
                url: shown.clone(),
                reason: e.to_string(),
            })?;
        let scheme = uri
            .scheme_str()
            .ok_or_else(|| UrlError::NoScheme { url: shown.clone() })?;
        let authority = uri
            .authority()
            .ok_or_else(|| UrlError::NoHost { url: shown.clone() })?;
        if authority.as_str().contains('@') {
            return Err(UrlError::Credentials { url: shown });
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(UrlError::NoHost { url: shown });
        }
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if is_loopback_host(host) => {}
            "http" => return Err(UrlError::PlainHttp { url: shown }),
            other => {
                return Err(UrlError::Scheme {
                    url: shown,
                    scheme: other.to_owned(),
                });
            }
        }
        if uri.query().is_some() {
            return Err(UrlError::Query { url: shown });
        }
        if !matches!(uri.path(), "" | "/") {
            return Err(UrlError::Path {
                path: uri.path().to_owned(),
                url: shown,
            });
        }
        Ok(BaseUrl(format!("{scheme}://{authority}")))
    }

    /// The URL of an API path such as `/api/v1/verification/create-verification`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `url` with the user information of its authority (`user:password@`)
/// replaced by `***@`, for messages.
fn without_credentials(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &rest[at..]),
        None => url.to_owned(),
    }
}

/// `localhost`, 127.0.0.0/8 or ::1 (brackets allowed, as URLs write IPv6).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_accepted_with_or_without_port_and_slash() {
        for ok in [
            "https://integrate.idmetagroup.com",
            "https://integrate.idmetagroup.com/",
            "https://b2b.idmetagroup.com:8443",
            "HTTPS://example.com",
        ] {
            assert_eq!(check_base_url(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.3.4.5",
            "http://localhost:9000",
            "http://LOCALHOST",
            "http://[::1]:8080",
        ] {
            assert_eq!(check_base_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://integrate.idmetagroup.com",
            "http://10.0.0.1",
            "http://128.0.0.1",
            "http://[::2]",
            "http://localhost.evil.com",
            "http://127.0.0.1.nip.io",
        ] {
            let e = check_base_url(bad).unwrap_err();
            assert!(e.to_string().contains("not loopback"), "{bad}: {e}");
        }
    }

    #[test]
    fn malformed_and_non_base_urls_are_explained() {
        let cases = [
            ("integrate.idmetagroup.com", "no scheme"),
            ("https://", "not a valid URL"),
            ("ftp://example.com", "scheme `ftp`"),
            ("https://example.com/api/v1", "has a path"),
            ("https://example.com/?a=1", "has a query"),
            ("https://user:pw@example.com", "credentials"),
            ("https://exa mple.com", "not a valid URL"),
        ];
        for (url, want) in cases {
            let e = check_base_url(url).unwrap_err();
            assert!(e.to_string().contains(want), "{url}: {e}");
        }
    }

    #[test]
    fn credentials_in_the_url_never_reach_the_message() {
        for url in [
            "https://user:s3cr3t@example.com",
            "http://user:s3cr3t@10.0.0.1/api",
            "user:s3cr3t@example.com",
            "https://user:s3cr3t@exa mple.com",
        ] {
            let e = check_base_url(url).unwrap_err().to_string();
            assert!(!e.contains("s3cr3t"), "{e}");
        }
        assert_eq!(
            check_base_url("https://user:s3cr3t@example.com")
                .unwrap_err()
                .to_string(),
            "`https://***@example.com` carries user credentials: remove them; the token \
             belongs in the credential or api.token_file"
        );
    }

    #[test]
    fn join_makes_endpoint_urls_without_double_slashes() {
        let b = BaseUrl::parse("https://example.com/").unwrap();
        assert_eq!(b.join("/api/v1/x"), "https://example.com/api/v1/x");
        let b = BaseUrl::parse("http://127.0.0.1:81").unwrap();
        assert_eq!(b.join("/p"), "http://127.0.0.1:81/p");
    }
}
