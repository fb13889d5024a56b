//! The byte stream between the MQTT client and the broker.
//!
//! `rumqttc` takes a packet over its size limit for a broken connection and drops it; a
//! retained one comes back with the next subscription, so the terminal would reconnect for
//! ever, and raising the limit would let any client of the broker make the terminal hold
//! whatever it publishes. `rumqttc` cannot skip a packet, so it does not talk to the broker
//! itself: it connects to this link, a Unix socket in the abstract namespace (nothing on
//! disk; a connection from another process is closed unread), behind which the link has made
//! the TCP connection and the TLS session to the broker ([`Link::dial`], so their errors
//! are this module's, in words). The link passes every packet through unchanged but a
//! PUBLISH over the limit: that one it reads past, never holding more than a buffer of it,
//! and hands the client a small stand-in on [`OVERSIZE_TOPIC`] naming the topic and size,
//! with the original's flags and packet id, so the client acknowledges it as it would have
//! the original ([`oversize`] reads it back).
//!
//! The link also records how each connection ended (the broker closed it, or this side
//! did), which the client's own error does not tell.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::tokio_rustls::TlsConnector;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UnixListener, UnixStream};
use tokio::task::JoinHandle;

/// The stand-in's topic: under `$`, which no subscription of the terminal can match.
pub const OVERSIZE_TOPIC: &str = "$enrolld/oversize";
/// MQTT's packet type of a PUBLISH (the high nibble of its first byte).
const PUBLISH: u8 = 3;
/// Read buffer towards the broker.
const BUFFER: usize = 8 * 1024;
/// The most of a dropped message's topic the stand-in carries.
const TOPIC_SHOWN: usize = 256;

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// Why no connection to the broker could be made.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// Resolving, connecting or the TLS handshake (a `rustls::Error` inside).
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("`{0}` is not a name or address TLS can check a certificate against")]
    ServerName(String),
}

/// How the latest connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The broker closed it (or reset it, or broke the packet stream).
    ByBroker,
    /// The client closed it (keep-alive unanswered, a clean stop).
    ByClient,
}

/// A message the link read past, as its stand-in tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversize {
    pub topic: String,
    /// Its payload's size.
    pub bytes: usize,
}

/// The listening side and what its connections share.
pub struct Link {
    address: String,
    shared: Arc<Shared>,
    accepting: JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    /// The broker connection the next client connection is joined to.
    ready: Mutex<Option<Box<dyn Stream>>>,
    /// Set before the client's side is closed, so the client's error can be told apart.
    ended: Mutex<Option<Ended>>,
    /// The current connection's copying, awaited at a clean stop.
    pump: Mutex<Option<JoinHandle<()>>>,
}

impl Link {
    /// Listens; PUBLISH packets over `limit` bytes (remaining length) are read past.
    pub fn start(limit: usize) -> io::Result<Link> {
        let address = format!(
            "\0enrolld-mqtt-{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        );
        let listener = UnixListener::bind(&address)?;
        let shared = Arc::new(Shared::default());
        let accepting = tokio::spawn(accept(listener, shared.clone(), limit));
        Ok(Link {
            address,
            shared,
            accepting,
        })
    }

    /// Where the client connects (`Transport::Unix`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Connects to the broker (TLS with `tls`) within `within`, for the client's next
    /// connection.
    pub async fn dial(
        &self,
        host: &str,
        port: u16,
        tls: Option<Arc<rustls::ClientConfig>>,
        within: Duration,
    ) -> Result<(), DialError> {
        let connect = async {
            let tcp = TcpStream::connect((host, port)).await?;
            let stream: Box<dyn Stream> = match tls {
                None => Box::new(tcp),
                Some(config) => {
                    let name = ServerName::try_from(host.to_owned())
                        .map_err(|_| DialError::ServerName(host.to_owned()))?;
                    Box::new(TlsConnector::from(config).connect(name, tcp).await?)
                }
            };
            Ok::<_, DialError>(stream)
        };
        let stream = tokio::time::timeout(within, connect)
            .await
            .map_err(|_| DialError::Timeout(within))??;
        *lock(&self.shared.ended) = None;
        *lock(&self.shared.ready) = Some(stream);
        Ok(())
    }

    /// How the latest connection ended, if it has.
    pub fn ended(&self) -> Option<Ended> {
        lock(&self.shared.ended).clone()
    }

    /// Waits (at most `within`) until what the client wrote before closing its side has
    /// reached the broker.
    pub async fn finish(&self, within: Duration) {
        let pump = lock(&self.shared.pump).take();
        if let Some(pump) = pump {
            let _ = tokio::time::timeout(within, pump).await;
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.accepting.abort();
        if let Some(pump) = lock(&self.shared.pump).take() {
            pump.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().expect("not poisoned")
}

async fn accept(listener: UnixListener, shared: Arc<Shared>, limit: usize) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(e) => {
                // Out of file descriptors, say: the client's connect times out and is retried.
                log::debug!("MQTT link: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let ours = client.peer_cred().ok().and_then(|c| c.pid()) == Some(own_pid());
        if !ours {
            log::warn!("MQTT link: closed a connection from another process");
            continue;
        }
        let Some(broker) = lock(&shared.ready).take() else {
            continue;
        };
        let pump = tokio::spawn(pump(client, broker, shared.clone(), limit));
        if let Some(old) = lock(&shared.pump).replace(pump) {
            old.abort();
        }
    }
}

fn own_pid() -> libc::pid_t {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// Copies both ways until one side closes; records which.
async fn pump(client: UnixStream, broker: Box<dyn Stream>, shared: Arc<Shared>, limit: usize) {
    let (mut client_read, mut client_write) = client.into_split();
    let (broker_read, mut broker_write) = tokio::io::split(broker);
    let up = async {
        let _ = tokio::io::copy(&mut client_read, &mut broker_write).await;
        let _ = broker_write.shutdown().await;
    };
    let ended = tokio::select! {
        () = up => Ended::ByClient,
        side = pass_packets(broker_read, &mut client_write, limit) => side,
    };
    *lock(&shared.ended) = Some(ended);
    // Dropping the halves closes the client's side: it reads the end after `ended` is set.
}

/// Copies the broker's packets to the client, but a PUBLISH over `limit`, which it reads past
/// and replaces with a stand-in. Returns which side ended the stream.
async fn pass_packets(
    from: impl AsyncRead + Unpin,
    to: &mut (impl AsyncWrite + Unpin),
    limit: usize,
) -> Ended {
    let mut from = BufReader::with_capacity(BUFFER, from);
    loop {
        // Reading: an end or an error is the broker's. Writing: the client's.
        let Ok(Some((first, length, header))) = read_fixed_header(&mut from).await else {
            return Ended::ByBroker;
        };
        if first >> 4 == PUBLISH && length > limit {
            let Ok(stand_in) = read_past(&mut from, first, length).await else {
                return Ended::ByBroker;
            };
            if to.write_all(&stand_in).await.is_err() {
                return Ended::ByClient;
            }
            continue;
        }
        if to.write_all(&header).await.is_err() {
            return Ended::ByClient;
        }
        let mut body = (&mut from).take(length as u64);
        match tokio::io::copy(&mut body, to).await {
            Ok(n) if n == length as u64 => {}
            // A short copy with no error: the broker's stream ended inside a packet.
            Ok(_) => return Ended::ByBroker,
            Err(_) if body.limit() == 0 => return Ended::ByClient,
            Err(_) => return Ended::ByBroker,
        }
    }
}

/// The first byte, the remaining length and the header's bytes as read; `None` at a clean
/// end between packets.
async fn read_fixed_header(
    from: &mut (impl AsyncRead + Unpin),
) -> io::Result<Option<(u8, usize, Vec<u8>)>> {
    let mut first = [0u8; 1];
    if from.read(&mut first).await? == 0 {
        return Ok(None);
    }
    let mut header = vec![first[0]];
    let mut length = 0usize;
    // The remaining length: 7 bits a byte, least significant first, at most 4 bytes.
    for shift in [0, 7, 14, 21] {
        let byte = from.read_u8().await?;
        header.push(byte);
        length |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(Some((first[0], length, header)));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "malformed remaining length",
    ))
}

/// Reads a PUBLISH's topic and packet id, and past its payload; returns its stand-in.
async fn read_past(
    from: &mut (impl AsyncRead + Unpin),
    first: u8,
    length: usize,
) -> io::Result<Vec<u8>> {
    let topic_len = usize::from(from.read_u16().await?);
    let mut topic = vec![0; topic_len];
    from.read_exact(&mut topic).await?;
    let qos = (first >> 1) & 0b11;
    let packet_id = if qos > 0 {
        Some(from.read_u16().await?)
    } else {
        None
    };
    let header = 2 + topic_len + if packet_id.is_some() { 2 } else { 0 };
    let payload = length.checked_sub(header).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, "PUBLISH shorter than its topic")
    })?;
    let skipped = tokio::io::copy(&mut from.take(payload as u64), &mut tokio::io::sink()).await?;
    if skipped != payload as u64 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let shown = &topic[..topic_len.min(TOPIC_SHOWN)];
    let said = format!("{payload} {}", String::from_utf8_lossy(shown));
    Ok(stand_in(first, packet_id, said.as_bytes()))
}

/// A PUBLISH on [`OVERSIZE_TOPIC`] with `first`'s flags (QoS, retain, dup) and `packet_id`.
fn stand_in(first: u8, packet_id: Option<u16>, payload: &[u8]) -> Vec<u8> {
    let topic = OVERSIZE_TOPIC.as_bytes();
    let mut length = 2 + topic.len() + payload.len() + if packet_id.is_some() { 2 } else { 0 };
    let mut packet = vec![first];
    loop {
        let low = (length & 0x7f) as u8;
        length >>= 7;
        packet.push(if length > 0 { low | 0x80 } else { low });
        if length == 0 {
            break;
        }
    }
    packet.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    packet.extend_from_slice(topic);
    if let Some(id) = packet_id {
        packet.extend_from_slice(&id.to_be_bytes());
    }
    packet.extend_from_slice(payload);
    packet
}

/// What a stand-in says, if `publish` is one.
pub fn oversize(publish: &rumqttc::Publish) -> Option<Oversize> {
    if publish.topic != OVERSIZE_TOPIC {
        return None;
    }
    let text = std::str::from_utf8(&publish.payload).ok()?;
    let (bytes, topic) = text.split_once(' ')?;
    Some(Oversize {
        topic: topic.to_owned(),
        bytes: bytes.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::{Packet, Publish, QoS};

    fn publish(topic: &str, payload: usize, qos: QoS, retain: bool, pkid: u16) -> Vec<u8> {
        let mut p = Publish::new(topic, qos, vec![b'x'; payload]);
        p.retain = retain;
        p.pkid = pkid;
        // A `bytes::BytesMut`, named through the function that takes it (enrolld does not
        // depend on `bytes` itself).
        let mut out = Default::default();
        p.write(&mut out).unwrap();
        out.to_vec()
    }

    /// The packets `pass_packets` gives the client, as `rumqttc` reads them.
    async fn passed(stream: Vec<u8>, limit: usize) -> (Vec<Packet>, Ended) {
        let mut out = Vec::new();
        let ended = pass_packets(&stream[..], &mut out, limit).await;
        let mut buf = Default::default();
        assert!(Packet::read(&mut buf, limit).is_err(), "empty");
        buf.extend_from_slice(&out);
        let mut packets = Vec::new();
        while let Ok(p) = Packet::read(&mut buf, limit) {
            packets.push(p);
        }
        (packets, ended)
    }

    #[tokio::test]
    async fn an_oversize_publish_becomes_a_stand_in_and_the_rest_passes_unchanged() {
        let mut stream = publish("a/small", 10, QoS::AtLeastOnce, false, 7);
        stream.extend(publish("a/big", 300_000, QoS::AtLeastOnce, true, 8));
        stream.extend(publish("a/after", 3, QoS::AtMostOnce, false, 0));
        let (packets, ended) = passed(stream, 64 * 1024).await;
        assert_eq!(ended, Ended::ByBroker);
        let [
            Packet::Publish(small),
            Packet::Publish(big),
            Packet::Publish(after),
        ] = &packets[..]
        else {
            panic!("{packets:?}");
        };
        assert_eq!((small.topic.as_str(), small.payload.len()), ("a/small", 10));
        assert_eq!(after.topic, "a/after");
        // Flags and packet id kept, so the client acknowledges it as the original.
        assert_eq!((big.pkid, big.qos, big.retain), (8, QoS::AtLeastOnce, true));
        assert_eq!(
            oversize(big),
            Some(Oversize {
                topic: "a/big".into(),
                bytes: 300_000
            })
        );
        assert_eq!(oversize(small), None);
    }

    #[tokio::test]
    async fn the_limit_is_the_client_s_own_remaining_length() {
        // Remaining length = 2 + topic + 2 (packet id) + payload.
        let at_limit = publish("t", 1024 - 5, QoS::AtLeastOnce, false, 1);
        let over = publish("t", 1024 - 4, QoS::AtLeastOnce, false, 2);
        let (packets, _) = passed([at_limit, over].concat(), 1024).await;
        let [Packet::Publish(kept), Packet::Publish(replaced)] = &packets[..] else {
            panic!("{packets:?}");
        };
        assert_eq!((kept.topic.as_str(), kept.payload.len()), ("t", 1019));
        assert_eq!(replaced.topic, OVERSIZE_TOPIC);
        assert_eq!(oversize(replaced).unwrap().bytes, 1020);
    }

    #[tokio::test]
    async fn a_stream_cut_inside_a_packet_or_malformed_ends_as_the_broker_s() {
        let small = publish("t", 100, QoS::AtMostOnce, false, 0);
        let big = publish("t", 5_000, QoS::AtMostOnce, false, 0);
        let malformed = vec![0x30, 0xff, 0xff, 0xff, 0xff, 0x01];
        for stream in [small[..50].to_vec(), big[..4_000].to_vec(), malformed] {
            let (packets, ended) = passed(stream, 1024).await;
            assert!(packets.is_empty(), "{packets:?}");
            assert_eq!(ended, Ended::ByBroker);
        }
    }
}
