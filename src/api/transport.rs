//! How requests travel: a ureq agent over our own TCP -> TLS -> tracking
//! connector chain, and the mapping of transport failures to
//! `not_sent` / `unknown_delivery`.
//!
//! # Why a tracking transport
//!
//! Registration is not idempotent, so "may this be sent again?" must be
//! answered from facts, not guessed from an error's type. An `io::Error` of
//! kind `ConnectionReset`, for instance, can come from the TLS handshake
//! (nothing sent) or from reading the answer (request delivered). So the
//! outermost transport of the chain flips a flag the moment ureq hands it
//! the first byte of the HTTP request to transmit. A failure with the flag
//! still down happened while resolving, connecting or handshaking: the
//! request provably never left (`not_sent`). With the flag up, some or all
//! of the request may have reached IDMeta (`unknown_delivery`). Each call
//! gets its own agent and flag, and connection pooling is off, so a flag
//! never mixes two requests and ureq never silently retries on a stale
//! pooled connection.
//!
//! # The ureq error mapping (ureq 3.5)
//!
//! | ureq error | flag down (`not_sent`) | flag up (`unknown_delivery`) |
//! |---|---|---|
//! | `HostNotFound`, `Timeout(Resolve)`, `Io` before resolution succeeded | DNS failure | (cannot happen) |
//! | `Io(ConnectionRefused)`, `Io(*Unreachable)` | nothing listening / no route | (cannot happen) |
//! | `Timeout(Connect)` | TCP or TLS setup too slow | (cannot happen) |
//! | `Rustls(..)`, `Io` wrapping a rustls error, `Tls(..)` | handshake failed: certificate, host name, protocol | TLS alert or bad record after sending |
//! | `Timeout(Global / PerCall / SendRequest / SendBody / RecvResponse / RecvBody)` | whole-request timeout hit during setup | no (complete) answer in time |
//! | `Io(ConnectionReset / UnexpectedEof / BrokenPipe)` | peer dropped the handshake | connection dropped while sending or reading the answer |
//! | `Protocol(..)`, `LargeResponseHeader(..)` | (cannot happen) | the answer is not readable HTTP |
//! | anything else | reported with its text | reported with its text |
//!
//! The flag alone decides the class; the error only supplies the reason.
//! Errors reading the body after a status line arrived are handled by the
//! caller, which knows the status (see `Body::Broken`).

use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustls::{ClientConfig, ClientConnection, StreamOwned};
use rustls_pki_types::ServerName;
use ureq::Timeout;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, TcpConnector,
    Transport, TransportAdapter,
};

use super::outcome::Outcome;
use super::sanitize::clean_server_text;

/// How far one call got: set by the tracking resolver and transport.
#[derive(Debug, Default)]
pub struct CallProgress {
    resolved: AtomicBool,
    request_started: AtomicBool,
}

impl CallProgress {
    /// The host name resolved to at least one address.
    pub fn resolved(&self) -> bool {
        self.resolved.load(Ordering::SeqCst)
    }

    /// The first byte of the HTTP request was handed to the socket.
    pub fn request_started(&self) -> bool {
        self.request_started.load(Ordering::SeqCst)
    }
}

/// Timeouts and TLS settings shared by every call of a client.
#[derive(Debug, Clone)]
pub struct TransportSettings {
    pub tls: Arc<ClientConfig>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

/// A fresh agent for one call, and the progress record that tells whether
/// its request started to leave.
pub fn agent_for_one_call(settings: &TransportSettings) -> (ureq::Agent, Arc<CallProgress>) {
    let flag = Arc::new(CallProgress::default());
    let connector = ()
        .chain(TcpConnector::default())
        .chain(TlsConnector {
            config: settings.tls.clone(),
        })
        .chain(TrackingConnector(flag.clone()));
    let config = ureq::Agent::config_builder()
        // 4xx/5xx are answers to classify, not errors.
        .http_status_as_error(false)
        // A redirect is returned as is and classified as a wrong endpoint (deliveries pause): the
        // token and the face are never sent to a host nobody configured.
        .max_redirects(0)
        .max_redirects_will_error(false)
        // One request per connection: no stale pooled socket, no retries.
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        // DNS and connect each get the connect budget; the whole call is
        // bounded by the request timeout.
        .timeout_resolve(Some(settings.connect_timeout))
        .timeout_connect(Some(settings.connect_timeout))
        .timeout_global(Some(settings.request_timeout))
        .user_agent(concat!("enrolld/", env!("CARGO_PKG_VERSION")))
        .accept("application/json")
        .build();
    let resolver = TrackingResolver {
        inner: DefaultResolver::default(),
        progress: flag.clone(),
    };
    let agent = ureq::Agent::with_parts(config, connector, resolver);
    (agent, flag)
}

/// Classifies a failed call from whether its request had started to leave.
pub fn classify_transport_error(error: &ureq::Error, flag: &CallProgress) -> Outcome {
    let reason = if flag.resolved() {
        describe(error)
    } else {
        // std reports getaddrinfo failures as plain I/O errors: say what they are.
        match error {
            ureq::Error::Io(e) => clean_server_text(&format!("DNS lookup failed: {e}")),
            other => describe(other),
        }
    };
    if flag.request_started() {
        Outcome::UnknownDelivery { reason }
    } else {
        Outcome::NotSent { reason }
    }
}

/// A short, safe description of a transport error (no URL query, no
/// headers, no body: ureq errors carry none of those).
pub fn describe(error: &ureq::Error) -> String {
    use std::io::ErrorKind as K;
    // Our own sentences, with the server's part already cleaned: not capped
    // like server text, so the advice at their end is never cut off.
    if let Some(tls) = rustls_error(error) {
        return describe_tls(tls);
    }
    let text = match error {
        ureq::Error::HostNotFound => "DNS lookup found no address for the host".to_owned(),
        ureq::Error::Timeout(t) => describe_timeout(*t).to_owned(),
        ureq::Error::Tls(e) => format!("TLS: {e}"),
        ureq::Error::Io(e) => match e.kind() {
            K::ConnectionRefused => "connection refused (nothing listening)".to_owned(),
            K::ConnectionReset => "connection reset by the server".to_owned(),
            K::UnexpectedEof => "connection closed by the server".to_owned(),
            K::BrokenPipe => "connection closed by the server while sending".to_owned(),
            K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown => {
                format!("network unreachable ({e})")
            }
            _ => format!("I/O error: {e}"),
        },
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::Protocol(e) => format!("the answer is not valid HTTP ({e})"),
        ureq::Error::LargeResponseHeader(..) => "the answer's headers are too large".to_owned(),
        other => other.to_string(),
    };
    clean_server_text(&text)
}

fn describe_timeout(t: Timeout) -> &'static str {
    match t {
        Timeout::Resolve => "DNS lookup timed out",
        Timeout::Connect => "connecting (TCP and TLS) took longer than api.connect_timeout_ms",
        Timeout::SendRequest | Timeout::SendBody => "sending the request timed out",
        Timeout::RecvResponse | Timeout::Global | Timeout::PerCall => {
            "no complete answer within api.request_timeout_ms"
        }
        Timeout::RecvBody => "the answer's body did not arrive in time",
        _ => "timed out",
    }
}

/// The rustls error inside a ureq error, as ureq's own variant or wrapped in I/O.
fn rustls_error(error: &ureq::Error) -> Option<&rustls::Error> {
    match error {
        ureq::Error::Rustls(e) => Some(e),
        ureq::Error::Io(e) => e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        _ => None,
    }
}

fn describe_tls(e: &rustls::Error) -> String {
    format!("TLS handshake failed: {}", super::tls_errors::explain(e))
}

/// ureq's resolver, noting success so DNS failures can be named as such.
#[derive(Debug)]
struct TrackingResolver {
    inner: DefaultResolver,
    progress: Arc<CallProgress>,
}

impl Resolver for TrackingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        self.progress.resolved.store(true, Ordering::SeqCst);
        Ok(addrs)
    }
}

/// Wraps the TCP transport in TLS with our own rustls configuration (ureq's
/// built-in connector cannot combine bundled roots with an extra CA file).
#[derive(Debug)]
struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details
            .uri
            .host()
            .ok_or_else(|| ureq::Error::BadUri("no host".into()))?;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let name = ServerName::try_from(bare.to_owned())
            .map_err(|_| ureq::Error::Tls("the host is not a valid TLS server name"))?;
        let mut conn =
            ClientConnection::new(self.config.clone(), name).map_err(ureq::Error::Rustls)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        // Handshake now, inside the connect step, so that every certificate
        // or protocol failure happens before the delivery flag can be set.
        conn.complete_io(&mut sock).map_err(unwrap_tls_error)?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned::new(conn, sock),
        })))
    }
}

/// rustls reports handshake failures as `io::Error(InvalidData)` wrapping a
/// `rustls::Error`; give it back its own variant.
fn unwrap_tls_error(e: std::io::Error) -> ureq::Error {
    if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) {
        let inner = e.into_inner().expect("checked above");
        match inner.downcast::<rustls::Error>() {
            Ok(tls) => ureq::Error::Rustls(*tls),
            Err(other) => ureq::Error::Io(std::io::Error::other(other)),
        }
    } else {
        ureq::Error::from(e)
    }
}

struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsTransport")
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// The last link of the chain: marks the flag on the first transmit.
#[derive(Debug)]
struct TrackingConnector(Arc<CallProgress>);

impl<In: Transport> Connector<In> for TrackingConnector {
    type Out = Tracked<In>;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| Tracked {
            inner,
            flag: self.0.clone(),
        }))
    }
}

#[derive(Debug)]
struct Tracked<T> {
    inner: T,
    flag: Arc<CallProgress>,
}

impl<T: Transport> Transport for Tracked<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        // Before the write, not after: a write that fails halfway may
        // already have delivered the request.
        if amount > 0 {
            self.flag.request_started.store(true, Ordering::SeqCst);
        }
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}
