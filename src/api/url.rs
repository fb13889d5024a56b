//! `api.base_url`: what is accepted and how endpoint URLs are made from it.
//!
//! Only `https` is accepted, except plain `http` to a loopback host (a local
//! stand-in or a TLS-terminating proxy on the same board): a bearer token and
//! a face must never cross a network in clear text.

use std::net::IpAddr;

use ureq::http::Uri;

/// Checks `api.base_url`. The message says what is wrong, for the located
/// config error.
pub fn check_base_url(url: &str) -> Result<(), String> {
    BaseUrl::parse(url).map(|_| ())
}

/// A checked base URL, without a trailing slash, ready to have a path appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(url: &str) -> Result<BaseUrl, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("`{url}` is not a valid URL ({e})"))?;
        let scheme = uri
            .scheme_str()
            .ok_or_else(|| format!("`{url}` has no scheme: write it as https://host"))?;
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{url}` has no host: write it as https://host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "`{url}` carries user credentials; the token belongs in the credential or api.token_file"
            ));
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(format!("`{url}` has no host"));
        }
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if is_loopback_host(host) => {}
            "http" => {
                return Err(format!(
                    "`{url}` uses plain http to a host that is not loopback; use https"
                ));
            }
            other => return Err(format!("`{url}` has scheme `{other}`; use https")),
        }
        if uri.query().is_some() {
            return Err(format!(
                "`{url}` has a query; give only the base, e.g. https://integrate.idmetagroup.com"
            ));
        }
        if !matches!(uri.path(), "" | "/") {
            return Err(format!(
                "`{url}` has a path ({}); give only the base, e.g. https://integrate.idmetagroup.com",
                uri.path()
            ));
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
            assert!(e.contains("not loopback"), "{bad}: {e}");
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
            assert!(e.contains(want), "{url}: {e}");
        }
    }

    #[test]
    fn join_makes_endpoint_urls_without_double_slashes() {
        let b = BaseUrl::parse("https://example.com/").unwrap();
        assert_eq!(b.join("/api/v1/x"), "https://example.com/api/v1/x");
        let b = BaseUrl::parse("http://127.0.0.1:81").unwrap();
        assert_eq!(b.join("/p"), "http://127.0.0.1:81/p");
    }
}
