//! TLS handshake failures in words: what is wrong and what to do.
//!
//! rustls prints certificate problems with their Debug form
//! (`invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))`), which
//! tells an integrator nothing they can act on. Each case met in the field
//! gets a sentence here; anything else still says which side to look at.

use rustls::{AlertDescription, CertificateError as C, Error};

use super::sanitize::clean_server_text;
use crate::time::{rfc3339, unix_now, wall_clock_plausible};

/// The handshake failure as a sentence (no Debug output, nothing secret:
/// only the server's certificate facts and this terminal's clock).
pub fn explain(e: &Error) -> String {
    match e {
        Error::InvalidCertificate(c) => format!("the server's certificate {}", certificate(c)),
        Error::AlertReceived(alert) => alert_received(*alert),
        Error::PeerIncompatible(_) => "the server offers no TLS version or cipher suite enrolld \
             supports (TLS 1.2 or 1.3 with ECDHE and AES-GCM or ChaCha20): update the \
             server's TLS settings"
            .to_owned(),
        Error::NoCertificatesPresented => "the server sent no certificate: check that \
             api.base_url points at an HTTPS server"
            .to_owned(),
        Error::InvalidMessage(_)
        | Error::InappropriateMessage { .. }
        | Error::PeerMisbehaved(_) => {
            "the server's answer is not valid TLS: check that api.base_url's port serves \
             HTTPS, not plain HTTP or another protocol"
                .to_owned()
        }
        _ => "the TLS handshake failed for a reason enrolld cannot name: check api.base_url \
              and the server's TLS set-up (for example with `openssl s_client -connect \
              HOST:443`)"
            .to_owned(),
    }
}

fn certificate(c: &C) -> String {
    let now = unix_now();
    let clock = |t: u64| rfc3339(t);
    match c {
        C::UnknownIssuer => "is not signed by a CA enrolld trusts (or is self-signed): if \
             IDMeta is reached through a private CA or a TLS-inspecting proxy, put that CA's \
             certificate (PEM) in api.ca_file"
            .to_owned(),
        C::Expired => format!(
            "has expired (this terminal's clock says {}): the server must renew it; if that \
             date is wrong, set the clock (NTP)",
            clock(now)
        ),
        C::ExpiredContext { time, not_after } => format!(
            "expired on {} (this terminal's clock says {}): the server must renew it; if that \
             date is wrong, set the clock (NTP)",
            clock(not_after.as_secs()),
            clock(time.as_secs())
        ),
        C::NotValidYet => not_yet(None, now),
        C::NotValidYetContext { time, not_before } => {
            not_yet(Some(not_before.as_secs()), time.as_secs())
        }
        C::NotValidForName => "is for another host name: check the host in api.base_url \
             against the names in the server's certificate"
            .to_owned(),
        C::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "is for {} but api.base_url names {}: use one of the certificate's names in \
             api.base_url, or have the server's certificate issued for {}",
            if presented.is_empty() {
                "no host name".to_owned()
            } else {
                // The server's words: cleaned like any server text.
                clean_server_text(
                    &presented
                        .iter()
                        .take(4)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            },
            expected.to_str(),
            expected.to_str()
        ),
        C::BadSignature => "has a signature that does not verify (altered, or signed by a \
             different key than its issuer's): the server needs a correctly issued certificate"
            .to_owned(),
        #[allow(deprecated)]
        C::UnsupportedSignatureAlgorithm
        | C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "is signed with an algorithm enrolld does not accept: reissue it with ECDSA \
             (P-256 or P-384), Ed25519, or RSA of 2048 bits or more with SHA-256 or better"
                .to_owned()
        }
        C::Revoked => "was revoked by its CA: the server must install a new certificate".to_owned(),
        C::BadEncoding => {
            "is malformed (not valid DER): reinstall the certificate on the server".to_owned()
        }
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => "is not issued for TLS server \
             authentication (its extended key usage lacks serverAuth): reissue it for a TLS server"
            .to_owned(),
        C::UnhandledCriticalExtension => "has a critical extension enrolld cannot check: \
             reissue it without that extension"
            .to_owned(),
        C::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => "is a CA \
             certificate, presented as the server's own: give the server a certificate issued \
             by that CA for its host name (the CA itself stays in api.ca_file)"
            .to_owned(),
        _ => "was refused: check that it is current, issued for the host in api.base_url, and \
              signed by a CA in api.ca_file or the public roots"
            .to_owned(),
    }
}

fn not_yet(not_before: Option<u64>, clock_now: u64) -> String {
    let from = not_before
        .map(|t| format!(" (valid from {})", rfc3339(t)))
        .unwrap_or_default();
    let advice = if wall_clock_plausible(clock_now) {
        "check this terminal's clock (NTP), or wait until the certificate's start"
    } else {
        "this terminal's clock is before this build's date, so it is wrong: set the time or \
         wait for NTP"
    };
    format!(
        "is not valid yet{from}, and this terminal's clock says {}: {advice}",
        rfc3339(clock_now)
    )
}

fn alert_received(alert: AlertDescription) -> String {
    match alert {
        AlertDescription::HandshakeFailure | AlertDescription::ProtocolVersion => {
            "the server refused the handshake: it accepts no TLS version or cipher suite \
             enrolld offers (TLS 1.2 or 1.3); update the server's TLS settings"
                .to_owned()
        }
        AlertDescription::CertificateRequired
        | AlertDescription::BadCertificate
        | AlertDescription::CertificateUnknown => "the server asks for a client certificate, \
             which enrolld does not use: allow this terminal without one"
            .to_owned(),
        AlertDescription::UnrecognisedName => "the server does not know the host name in \
             api.base_url: check it"
            .to_owned(),
        other => format!(
            "the server ended the TLS handshake (alert {}): see the server's log",
            u8::from(other)
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::OtherError;
    use rustls_pki_types::{ServerName, UnixTime};

    use super::*;

    fn cert(c: C) -> String {
        explain(&Error::InvalidCertificate(c))
    }

    #[test]
    fn every_certificate_case_says_what_to_do() {
        let t = |s: u64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(s));
        assert!(cert(C::UnknownIssuer).contains("put that CA's certificate (PEM) in api.ca_file"));
        assert_eq!(
            cert(C::ExpiredContext {
                time: t(1_753_866_900),
                not_after: t(1_751_328_000)
            }),
            "the server's certificate expired on 2025-07-01T00:00:00Z (this terminal's clock \
             says 2025-07-30T09:15:00Z): the server must renew it; if that date is wrong, set \
             the clock (NTP)"
        );
        let early = cert(C::NotValidYetContext {
            time: t(10),
            not_before: t(1_751_328_000),
        });
        assert!(early.contains("valid from 2025-07-01T00:00:00Z"), "{early}");
        assert!(early.contains("set the time or wait for NTP"), "{early}");
        let name = cert(C::NotValidForNameContext {
            expected: ServerName::try_from("integrate.idmetagroup.com").unwrap(),
            presented: vec!["b2b.idmetagroup.com".to_owned()],
        });
        assert_eq!(
            name,
            "the server's certificate is for b2b.idmetagroup.com but api.base_url names \
             integrate.idmetagroup.com: use one of the certificate's names in api.base_url, \
             or have the server's certificate issued for integrate.idmetagroup.com"
        );
        assert!(cert(C::BadSignature).contains("does not verify"));
        assert!(cert(C::Revoked).contains("revoked"));
        assert!(cert(C::InvalidPurpose).contains("serverAuth"));
        assert!(cert(C::BadEncoding).contains("malformed"));
        assert!(cert(C::UnhandledCriticalExtension).contains("critical extension"));
    }

    #[test]
    fn a_ca_used_as_the_server_certificate_is_named() {
        #[derive(Debug)]
        struct Webpki;
        impl std::fmt::Display for Webpki {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("CaUsedAsEndEntity") // webpki's Display is its Debug
            }
        }
        impl std::error::Error for Webpki {}
        let msg = cert(C::Other(OtherError(Arc::new(Webpki))));
        assert_eq!(
            msg,
            "the server's certificate is a CA certificate, presented as the server's own: \
             give the server a certificate issued by that CA for its host name (the CA itself \
             stays in api.ca_file)"
        );
    }

    #[test]
    fn other_failures_name_the_side_to_look_at() {
        let alert = explain(&Error::AlertReceived(AlertDescription::HandshakeFailure));
        assert!(alert.contains("TLS 1.2 or 1.3"), "{alert}");
        let client = explain(&Error::AlertReceived(AlertDescription::CertificateRequired));
        assert!(client.contains("client certificate"), "{client}");
        let plain = explain(&Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert!(plain.contains("not plain HTTP"), "{plain}");
    }

    #[test]
    fn no_message_is_a_debug_dump() {
        let cases = [
            Error::InvalidCertificate(C::Other(OtherError(Arc::new(std::io::Error::other("x"))))),
            Error::InvalidCertificate(C::ApplicationVerificationFailure),
            Error::General("internal".into()),
            Error::AlertReceived(AlertDescription::DecodeError),
        ];
        for e in cases {
            let m = explain(&e);
            assert!(!m.contains("Other(") && !m.contains("Error("), "{m}");
        }
    }
}
