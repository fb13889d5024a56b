//! Serving connections: the acceptor thread opens and closes the listening
//! socket as the behaviour asks, and each connection gets one request, checked,
//! recorded and answered (or stalled, or cut) per the behaviour.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rustls::{ServerConnection, StreamOwned};

use super::answer::{self, Reply};
use super::http::{self, Response};
use super::{Behaviour, CONTROL_BEHAVIOUR_PATH, IO_TIMEOUT, Shared, inspect, lock};

pub(super) fn accept_loop(shared: &Arc<Shared>, first: TcpListener) {
    let mut listener = Some(first);
    loop {
        {
            let mut state = lock(&shared.state);
            let want = state.wants_listening();
            if !want && listener.is_some() {
                listener = None;
                state.listening = false;
                shared.changed.notify_all();
            }
            if state.shutdown {
                return;
            }
            if !want {
                drop(shared.changed.wait(state));
                continue;
            }
        }
        if listener.is_none() {
            match TcpListener::bind(shared.addr) {
                Ok(l) => {
                    listener = Some(l);
                    lock(&shared.state).listening = true;
                    shared.changed.notify_all();
                }
                Err(e) => {
                    eprintln!(
                        "enrolld standin: cannot listen again on {}: {e}",
                        shared.addr
                    );
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            }
        }
        let Some(l) = &listener else { continue };
        match l.accept() {
            Ok((tcp, _)) => {
                // The connection's arrival (its first byte, the TLS hello, is
                // on its way) on the clock GPIO edge timestamps use, so the
                // latency bench can compare the two inside one machine.
                let arrived_mono_ns = crate::clock::monotonic_ns();
                if !lock(&shared.state).wants_listening() {
                    continue; // the wake-up poke, or a client racing a stop
                }
                let conn_shared = shared.clone();
                let _ = std::thread::Builder::new()
                    .name("standin-conn".into())
                    .spawn(move || serve(&conn_shared, tcp, arrived_mono_ns));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// One connection: TLS handshake (unless plain), one request, one answer.
fn serve(shared: &Arc<Shared>, tcp: TcpStream, arrived_mono_ns: u64) {
    let _ = tcp.set_read_timeout(Some(IO_TIMEOUT));
    let _ = tcp.set_write_timeout(Some(IO_TIMEOUT));
    {
        let state = lock(&shared.state);
        if state.behaviour == Behaviour::StallHandshake {
            // Hold the connection open and silent until the behaviour
            // changes or the server stops, bounded by the I/O timeout.
            let generation = state.generation;
            let _ = shared.changed.wait_timeout_while(state, IO_TIMEOUT, |s| {
                s.generation == generation && s.behaviour == Behaviour::StallHandshake
            });
            return;
        }
    }
    match &shared.tls {
        Some(tls) => {
            if let Ok(conn) = ServerConnection::new(tls.clone()) {
                handle(shared, StreamOwned::new(conn, tcp), arrived_mono_ns);
            }
        }
        None => handle(shared, tcp, arrived_mono_ns),
    }
}

/// A server-side connection, over TLS or plain TCP.
trait Conn: Read + Write {
    /// Ends the answer the polite way (TLS `close_notify`).
    fn close_cleanly(&mut self) {}
    /// Drops the TCP connection at once, without any TLS goodbye.
    fn drop_hard(&mut self);
}

impl Conn for StreamOwned<ServerConnection, TcpStream> {
    fn close_cleanly(&mut self) {
        self.conn.send_close_notify();
    }
    fn drop_hard(&mut self) {
        let _ = self.sock.shutdown(Shutdown::Both);
    }
}

impl Conn for TcpStream {
    fn drop_hard(&mut self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

fn handle(shared: &Arc<Shared>, mut stream: impl Conn, arrived_mono_ns: u64) {
    let request = match http::read_request(&mut stream) {
        Ok(r) => r,
        Err(e) => {
            if let Some(status) = e.status() {
                let body = serde_json::json!({ "message": format!("stand-in: {e}") });
                let _ = send(&mut stream, &Response::json(status, &body));
            }
            return;
        }
    };
    if request.path == CONTROL_BEHAVIOUR_PATH {
        let answer = control(shared, &request.body);
        let _ = send(&mut stream, &answer);
        return;
    }
    let (behaviour, generation) = {
        let s = lock(&shared.state);
        (s.behaviour.clone(), s.generation)
    };
    let seq = shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let mut record = inspect::inspect(&request, &shared.expect, seq, behaviour.to_string());
    record.arrived_mono_ns = arrived_mono_ns;
    let reply = match behaviour {
        Behaviour::EchoRequest { filler } if record.endpoint.is_some() => {
            Reply::Send(answer::echo(&request, filler))
        }
        _ => answer::reply(&behaviour, &record, &lock(&shared.records)),
    };
    shared.record(record);
    match reply {
        Reply::Send(response) => {
            let _ = send(&mut stream, &response);
        }
        Reply::Stall(delay, response) => {
            if !shared.stopped_within(generation, delay) {
                let _ = send(&mut stream, &response);
            }
        }
        Reply::HeadThenSilence(response) => {
            if write_now(&mut stream, &response.head_bytes()).is_ok() {
                shared.stopped_within(generation, IO_TIMEOUT);
            }
        }
        Reply::Trickle(response) => {
            // Until the client gives up (a write fails), the server stops,
            // or the I/O timeout: "forever" as far as any client can tell.
            let bytes = [response.head_bytes(), response.body].concat();
            let started = Instant::now();
            for byte in bytes {
                if write_now(&mut stream, &[byte]).is_err()
                    || started.elapsed() > IO_TIMEOUT
                    || shared.stopped_within(generation, Duration::from_secs(1))
                {
                    break;
                }
            }
        }
        Reply::Flood(response, len) => {
            let filler = vec![b' '; 64 * 1024];
            let mut left = len;
            let mut result = stream.write_all(&response.head_announcing(len));
            while result.is_ok() && left > 0 {
                let n = left.min(filler.len());
                result = stream.write_all(&filler[..n]);
                left -= n;
            }
            if result.is_ok() {
                stream.close_cleanly();
                let _ = stream.flush();
            }
        }
        Reply::ChunkedCutShort(response) => {
            let half = &response.body[..response.body.len() / 2];
            let mut out = response.chunked_head_bytes();
            out.extend_from_slice(format!("{:x}\r\n", half.len()).as_bytes());
            out.extend_from_slice(half);
            out.extend_from_slice(b"\r\n");
            if write_now(&mut stream, &out).is_ok() {
                // A polite close where the rest and the final `0` chunk belong.
                stream.close_cleanly();
                let _ = stream.flush();
            }
        }
        Reply::CutOff(response) => {
            let half = response.body.len() / 2;
            let _ = stream.write_all(&response.head_bytes());
            let _ = stream.write_all(&response.body[..half]);
            let _ = stream.flush();
            stream.drop_hard();
        }
        Reply::Hangup => stream.drop_hard(),
    }
}

/// Writes and flushes at once (so a trickle really leaves byte by byte).
fn write_now(stream: &mut impl Conn, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes)?;
    stream.flush()
}

fn send(stream: &mut impl Conn, response: &Response) -> io::Result<()> {
    stream.write_all(&response.head_bytes())?;
    stream.write_all(&response.body)?;
    stream.close_cleanly();
    stream.flush()
}

/// `POST /_standin/behaviour` with a behaviour name as the body, for a
/// stand-in running as a process. `refuse` would close the only way back
/// in, so this takes `refuse-for:MS` instead: closed for MS, then reopened.
fn control(shared: &Arc<Shared>, body: &[u8]) -> Response {
    let name = String::from_utf8_lossy(body).trim().to_owned();
    let reply =
        |status, text: String| Response::json(status, &serde_json::json!({ "message": text }));
    if let Some(ms) = name.strip_prefix("refuse-for:") {
        let Ok(ms) = ms.parse::<u64>() else {
            return reply(400, format!("`{ms}` is not a number of milliseconds"));
        };
        // Closing the listening socket leaves this accepted connection
        // alone, so the port is already shut when the caller gets the answer.
        shared.update(|s| s.paused = true);
        let shared = shared.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms));
            shared.update(|s| s.paused = false);
        });
        return reply(200, format!("refusing for {ms} ms"));
    }
    match Behaviour::parse(&name) {
        Ok(Behaviour::Refuse) => reply(400, "use refuse-for:MS".to_owned()),
        Ok(b) => {
            let text = format!("behaviour is now {b}");
            shared.update(|s| s.behaviour = b);
            reply(200, text)
        }
        Err(e) => reply(400, e),
    }
}
