//! An IDMeta stand-in: a real HTTPS server on loopback that speaks the
//! documented API, checks every request strictly, records what it saw and
//! answers per a switchable [`Behaviour`]. Integration tests, `enrolld demo`
//! and the QEMU guest (`enrolld standin`) all use it, so the client is always
//! exercised over real TCP and real TLS.
//!
//! A crate of its own, sharing no code with the client: what the API is
//! (paths, fields, the documented answers) it knows from [`documented`],
//! written from the API reference, so a client that gets a path or a field
//! wrong fails here instead of agreeing with itself.
//!
//! Threads, not async: one acceptor thread, one short-lived thread per
//! connection, one request per connection. The acceptor owns the listening
//! socket and opens or closes it as the behaviour asks (`Refuse`, or
//! [`StandIn::stop`]), always on the same port, so outage tests can take the
//! "server" away and bring it back.
//!
//! ```no_run
//! use enrolld_standin::{Behaviour, StandIn};
//! let server = StandIn::start(Behaviour::Ok).unwrap();
//! let url = server.url();            // https://127.0.0.1:<port>
//! let ca = server.ca_pem();          // trust through api.ca_file
//! server.set_behaviour(Behaviour::Status(503));
//! let seen = server.records();       // what the client sent
//! ```

pub mod answer;
pub mod behaviour;
pub mod cert;
mod clock;
mod connection;
pub mod documented;
pub mod http;
pub mod inspect;
use connection::accept_loop;

use std::fs::File;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::ServerConfig;

pub use behaviour::Behaviour;
pub use documented::FaceQuality;
pub use inspect::{Endpoint, Expectations, Record};

/// Path prefix of the stand-in's own control calls (process mode).
pub const CONTROL_BEHAVIOUR_PATH: &str = "/_standin/behaviour";

/// How long a connection may sit idle mid-request before it is dropped.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Options for [`StandIn::start_with`].
#[derive(Debug, Clone)]
pub struct StandInOptions {
    /// Where to listen; port 0 picks a free one (kept across restarts).
    pub listen: SocketAddr,
    /// Names the certificate is valid for.
    pub cert_names: Vec<String>,
    pub expect: Expectations,
    pub behaviour: Behaviour,
    /// Append every record as one JSON line here.
    pub records_file: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS (for `http://` loopback base URLs).
    pub plain_http: bool,
    /// Present a leaf certificate that expired in 2021 (valid otherwise).
    pub expired_cert: bool,
}

impl Default for StandInOptions {
    fn default() -> Self {
        StandInOptions {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            cert_names: cert::default_names(),
            expect: Expectations::default(),
            behaviour: Behaviour::Ok,
            records_file: None,
            plain_http: false,
            expired_cert: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StandInError {
    #[error(transparent)]
    Cert(#[from] cert::CertError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot open the records file {path}: {source}")]
    Records { path: PathBuf, source: io::Error },
}

/// A running stand-in. Dropping it shuts it down.
pub struct StandIn {
    shared: Arc<Shared>,
    addr: SocketAddr,
    ca_pem: String,
    acceptor: Option<JoinHandle<()>>,
}

struct State {
    behaviour: Behaviour,
    /// Taken down by [`StandIn::stop`] until [`StandIn::restart`].
    paused: bool,
    shutdown: bool,
    /// What the acceptor has actually done, for callers that wait on it.
    listening: bool,
    /// Bumped whenever the server is taken down, ending stalls early.
    generation: u64,
}

impl State {
    fn wants_listening(&self) -> bool {
        !self.shutdown && !self.paused && self.behaviour != Behaviour::Refuse
    }
}

struct Shared {
    /// `None` for plain HTTP.
    tls: Option<Arc<ServerConfig>>,
    expect: Expectations,
    state: Mutex<State>,
    changed: Condvar,
    records: Mutex<Vec<Record>>,
    records_file: Option<Mutex<File>>,
    seq: AtomicU64,
    addr: SocketAddr,
}

impl StandIn {
    /// Starts on 127.0.0.1 on a free port, accepting any bearer token.
    pub fn start(behaviour: Behaviour) -> Result<StandIn, StandInError> {
        StandIn::start_with(StandInOptions {
            behaviour,
            ..StandInOptions::default()
        })
    }

    pub fn start_with(options: StandInOptions) -> Result<StandIn, StandInError> {
        let validity = if options.expired_cert {
            cert::Validity::Expired
        } else {
            cert::Validity::Current
        };
        let identity = cert::make_identity_with(&options.cert_names, validity)?;
        let listener = TcpListener::bind(options.listen).map_err(|source| StandInError::Bind {
            addr: options.listen,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| StandInError::Bind {
            addr: options.listen,
            source,
        })?;
        let records_file = match &options.records_file {
            Some(path) => Some(Mutex::new(
                File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| StandInError::Records {
                        path: path.clone(),
                        source,
                    })?,
            )),
            None => None,
        };
        let shared = Arc::new(Shared {
            tls: (!options.plain_http).then_some(identity.tls),
            expect: options.expect,
            state: Mutex::new(State {
                behaviour: Behaviour::Ok,
                paused: false,
                shutdown: false,
                listening: true,
                generation: 0,
            }),
            changed: Condvar::new(),
            records: Mutex::new(Vec::new()),
            records_file,
            seq: AtomicU64::new(0),
            addr,
        });
        let thread_shared = shared.clone();
        let acceptor = std::thread::Builder::new()
            .name("standin-accept".into())
            .spawn(move || accept_loop(&thread_shared, listener))
            .map_err(|source| StandInError::Bind { addr, source })?;
        let server = StandIn {
            shared,
            addr,
            ca_pem: identity.ca_pem,
            acceptor: Some(acceptor),
        };
        server.set_behaviour(options.behaviour);
        Ok(server)
    }

    /// `https://127.0.0.1:<port>` (the listening IP, loopback for a
    /// wildcard; `http://` when serving plain HTTP).
    pub fn url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", connect_addr(self.addr))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate (PEM) that signed the server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Every request seen so far, oldest first.
    pub fn records(&self) -> Vec<Record> {
        lock(&self.shared.records).clone()
    }

    /// Switches the behaviour. Returns once the listening socket is open or
    /// closed as the new behaviour requires.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.shared.update(|s| s.behaviour = behaviour);
    }

    pub fn behaviour(&self) -> Behaviour {
        lock(&self.shared.state).behaviour.clone()
    }

    /// Stops listening (connections are refused) and ends stalls; the port
    /// is kept for [`StandIn::restart`].
    pub fn stop(&self) {
        self.shared.update(|s| s.paused = true);
    }

    /// Listens again on the same port.
    pub fn restart(&self) {
        self.shared.update(|s| s.paused = false);
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.shared.update(|s| s.shutdown = true);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

impl Shared {
    /// Applies a state change and waits until the acceptor has opened or
    /// closed the socket to match.
    fn update(&self, change: impl FnOnce(&mut State)) {
        let mut state = lock(&self.state);
        let was = state.wants_listening();
        change(&mut state);
        let want = state.wants_listening();
        if was && !want {
            state.generation += 1;
        }
        self.changed.notify_all();
        if state.listening && !want {
            // The acceptor is blocked in accept(): wake it with a connection.
            drop(state);
            let _ = TcpStream::connect_timeout(&connect_addr(self.addr), Duration::from_secs(1));
            state = lock(&self.state);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while state.listening != state.wants_listening() && Instant::now() < deadline {
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(50))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Waits up to `delay`; true if the server was stopped (or the
    /// behaviour taken down) meanwhile.
    fn stopped_within(&self, generation: u64, delay: Duration) -> bool {
        let state = lock(&self.state);
        let (state, _) = self
            .changed
            .wait_timeout_while(state, delay, |s| s.generation == generation)
            .unwrap_or_else(|e| e.into_inner());
        state.generation != generation
    }

    fn record(&self, record: Record) {
        if let Some(file) = &self.records_file
            && let Ok(line) = serde_json::to_string(&record)
        {
            let mut f = lock(file);
            let _ = writeln!(f, "{line}");
            let _ = f.flush();
        }
        lock(&self.records).push(record);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where a client (or the wake-up poke) connects: a wildcard listen address
/// is reached through loopback.
fn connect_addr(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
    } else {
        addr
    }
}
