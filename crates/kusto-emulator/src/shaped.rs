//! A shaped network link: a TCP proxy that adds latency, a bandwidth cap and optional loss
//! between clients and any local endpoint.
//!
//! Everything in this repository is measured over loopback, where a round trip costs
//! microseconds and bandwidth is nearly free, so a client that waits where it should not pays
//! nothing. A [`ShapedLink`] puts a realistic network in between: run an application against a
//! local Kusto with 40 ms of round trip and 200 Mbit/s, without root rights, `tc netem` or a
//! network namespace.
//!
//! ```no_run
//! use std::time::Duration;
//! use kusto_emulator::{Emulator, shaped::LinkShape};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let shape = LinkShape::new(Duration::from_millis(40)).bandwidth_mbit(200);
//! let emulator = Emulator::builder().shaped_link(shape).start().await?;
//! // Every byte between a client and this URL crosses the shaped link.
//! println!("{} over {}", emulator.url(), emulator.link().expect("shaped").shape());
//! # Ok(())
//! # }
//! ```
//!
//! # The model
//!
//! One [`ShapedLink`] models one network path between the clients and the servers; it can
//! [`forward`](ShapedLink::forward) to any number of endpoints (the emulator forwards its
//! engine endpoint and every storage endpoint), and all of them share the link's bandwidth, as
//! the endpoints of one cluster share a client's access link.
//!
//! * **Latency**: every chunk of bytes read on one side is written on the other side no sooner
//!   than one one-way delay (half the round trip) after it left the bottleneck. Chunks go
//!   through an ordered delay queue, so many chunks are in flight at once and throughput is not
//!   limited to one chunk per round trip. A new connection costs one round trip before its first
//!   byte leaves, as TCP's handshake does (the client's `connect` itself returns at once: the
//!   proxy accepts locally).
//! * **Bandwidth**: each direction (client to server, server to client) has its own cap, shared
//!   by all connections of the link: a chunk of `n` bytes occupies the direction for
//!   `n / bandwidth` seconds and leaves after the chunks before it (a first-in first-out
//!   bottleneck; a token bucket one chunk deep). Chunks are at most 64 KiB.
//! * **Buffering**: each connection holds at most its window per direction in the link (twice
//!   the bandwidth-delay product plus 256 KiB, or 4 MiB without a bandwidth cap); beyond it the
//!   proxy stops reading and TCP's flow control pushes back on the sender. Several busy
//!   connections therefore queue behind each other at the bottleneck, as on a real link
//!   without active queue management.
//! * **Loss**: TCP cannot lose bytes without corrupting the stream it carries, so loss is
//!   modelled as its effect: a lost chunk arrives one extra round trip late, as after a fast
//!   retransmission, and holds up every later chunk of its connection (head-of-line blocking).
//!   The congestion-window reduction a real loss causes is not modelled, nor are time-outs
//!   (a retransmission time-out is at least 200 ms on Linux).
//!
//! The guarantees are lower bounds: a request and its answer take at least one round trip, and
//! `n` bytes in one direction take at least `n / bandwidth`. The proxy adds its own small costs
//! (timer resolution of about a millisecond, copies), so measured times are slightly above.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The largest chunk read and forwarded at once.
const CHUNK: usize = 64 << 10;
/// What a connection may hold in the link per direction without a bandwidth cap.
const UNCAPPED_WINDOW: usize = 4 << 20;

/// A link's settings were out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeError {
    /// The bandwidth was zero.
    #[error("the bandwidth of a shaped link must be above 0 bit/s")]
    ZeroBandwidth,
    /// The loss was not a fraction between 0 and 1.
    #[error("the loss of a shaped link must be a fraction from 0 to 1, not {0}")]
    Loss(f64),
}

/// The settings of a [`ShapedLink`]: round trip, bandwidth per direction and loss.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkShape {
    rtt: Duration,
    bandwidth: Option<u64>,
    loss: f64,
    seed: u64,
}

impl LinkShape {
    /// A link with this round-trip time, no bandwidth cap and no loss.
    pub fn new(rtt: Duration) -> Self {
        LinkShape {
            rtt,
            bandwidth: None,
            loss: 0.0,
            seed: 0x5eed_0f11_4e11,
        }
    }

    /// Caps each direction at this many bits per second (0 is rejected by
    /// [`LinkShape::validate`] and [`ShapedLink::new`]).
    pub fn bandwidth_bits(mut self, bits_per_second: u64) -> Self {
        self.bandwidth = Some(bits_per_second);
        self
    }

    /// Caps each direction at this many megabits (10^6 bits) per second.
    pub fn bandwidth_mbit(self, megabits_per_second: u64) -> Self {
        self.bandwidth_bits(megabits_per_second.saturating_mul(1_000_000))
    }

    /// The fraction of chunks "lost" (from 0 to 1): each arrives one extra round trip late.
    pub fn loss(mut self, fraction: f64) -> Self {
        self.loss = fraction;
        self
    }

    /// The seed of the loss draws (fixed by default, so runs repeat).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The round-trip time.
    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    /// The cap of each direction in bits per second (`None`: uncapped).
    pub fn bandwidth(&self) -> Option<u64> {
        self.bandwidth
    }

    /// The fraction of chunks delayed as lost.
    pub fn loss_fraction(&self) -> f64 {
        self.loss
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), ShapeError> {
        if self.bandwidth == Some(0) {
            return Err(ShapeError::ZeroBandwidth);
        }
        if !(0.0..=1.0).contains(&self.loss) {
            return Err(ShapeError::Loss(self.loss));
        }
        Ok(())
    }

    fn one_way(&self) -> Duration {
        self.rtt / 2
    }

    /// What one connection may hold in the link per direction.
    fn window(&self) -> usize {
        match self.bandwidth {
            None => UNCAPPED_WINDOW,
            Some(bits) => {
                let bdp = bits as f64 / 8.0 * self.one_way().as_secs_f64();
                let bytes = 2.0 * bdp + (256 << 10) as f64;
                (bytes.min((1u64 << 30) as f64) as usize).max(CHUNK)
            }
        }
    }
}

impl fmt::Display for LinkShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "round trip {} ms", self.rtt.as_secs_f64() * 1e3)?;
        match self.bandwidth {
            Some(bits) => write!(f, ", {} Mbit/s each way", bits as f64 / 1e6)?,
            None => write!(f, ", no bandwidth cap")?,
        }
        if self.loss > 0.0 {
            write!(
                f,
                ", {} % of chunks retransmitted (one extra round trip)",
                self.loss * 100.0
            )?;
        }
        Ok(())
    }
}

/// Bytes and events counted by a link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Connections accepted.
    pub connections: u64,
    /// Bytes delivered from clients to servers.
    pub bytes_up: u64,
    /// Bytes delivered from servers to clients.
    pub bytes_down: u64,
    /// Chunks delayed as lost.
    pub retransmitted_chunks: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    retransmitted: AtomicU64,
}

/// One direction's bottleneck: when it is free again.
struct Bottleneck {
    free_at: Mutex<Instant>,
}

impl Bottleneck {
    fn new() -> Self {
        Bottleneck {
            free_at: Mutex::new(Instant::now()),
        }
    }

    /// Reserves the bottleneck for `bytes` no sooner than `earliest`; returns when the last
    /// byte has left.
    fn reserve(&self, earliest: Instant, bytes: usize, bandwidth: Option<u64>) -> Instant {
        let Some(bits) = bandwidth else {
            return earliest;
        };
        let serialization = serialization(bytes as u64, bits);
        let mut free_at = self.free_at.lock().unwrap_or_else(PoisonError::into_inner);
        let start = (*free_at).max(earliest);
        *free_at = start + serialization;
        *free_at
    }
}

/// How long `bytes` occupy a direction of `bits_per_second` (rounded down to nanoseconds).
fn serialization(bytes: u64, bits_per_second: u64) -> Duration {
    let nanos = u128::from(bytes) * 8 * 1_000_000_000 / u128::from(bits_per_second.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// A small deterministic generator for the loss draws (splitmix64).
struct Draws(Mutex<u64>);

impl Draws {
    fn next_fraction(&self) -> f64 {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Inner {
    shape: LinkShape,
    up: Bottleneck,
    down: Bottleneck,
    counters: Counters,
    draws: Draws,
}

/// A shaped network link (see the [module documentation](self)): listeners on loopback that
/// forward to endpoints with latency, a shared bandwidth cap and optional loss. Dropping it
/// stops its listeners and closes its connections.
pub struct ShapedLink {
    inner: Arc<Inner>,
    tasks: Mutex<JoinSet<()>>,
}

impl fmt::Debug for ShapedLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShapedLink")
            .field("shape", &self.inner.shape)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Up,
    Down,
}

impl ShapedLink {
    /// A link with these settings and no endpoints yet; logs its settings (`tracing`, info).
    pub fn new(shape: LinkShape) -> Result<ShapedLink, ShapeError> {
        shape.validate()?;
        tracing::info!(%shape, "shaped link");
        let seed = shape.seed;
        Ok(ShapedLink {
            inner: Arc::new(Inner {
                shape,
                up: Bottleneck::new(),
                down: Bottleneck::new(),
                counters: Counters::default(),
                draws: Draws(Mutex::new(seed)),
            }),
            tasks: Mutex::new(JoinSet::new()),
        })
    }

    /// The settings.
    pub fn shape(&self) -> &LinkShape {
        &self.inner.shape
    }

    /// What the link has carried so far.
    pub fn stats(&self) -> LinkStats {
        let c = &self.inner.counters;
        LinkStats {
            connections: c.connections.load(Ordering::Relaxed),
            bytes_up: c.bytes_up.load(Ordering::Relaxed),
            bytes_down: c.bytes_down.load(Ordering::Relaxed),
            retransmitted_chunks: c.retransmitted.load(Ordering::Relaxed),
        }
    }

    /// Listens on a free loopback port and forwards every connection to `target` through the
    /// link; returns the address to connect to instead of `target`.
    pub async fn forward(&self, target: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        tracing::debug!(%addr, %target, "shaped link endpoint");
        let inner = Arc::clone(&self.inner);
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .spawn(accept_loop(listener, target, inner));
        Ok(addr)
    }

    /// Stops every listener and closes every connection of the link.
    pub async fn stop(&self) {
        let mut tasks =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        tasks.shutdown().await;
    }
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, inner: Arc<Inner>) {
    // Connections live in this set: aborting the accept loop (when the link stops) drops it
    // and closes them.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    inner.counters.connections.fetch_add(1, Ordering::Relaxed);
                    connections.spawn(connection(client, target, Arc::clone(&inner)));
                }
                Err(e) => {
                    tracing::debug!(error = %e, "shaped link: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn connection(client: TcpStream, target: SocketAddr, inner: Arc<Inner>) {
    let accepted = Instant::now();
    let server = match TcpStream::connect(target).await {
        Ok(server) => server,
        Err(e) => {
            tracing::debug!(%target, error = %e, "shaped link: the endpoint refused");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // The handshake: the first byte from the client leaves one round trip after it connected.
    let up = pipe(
        client_read,
        server_write,
        Arc::clone(&inner),
        Direction::Up,
        accepted + inner.shape.rtt,
    );
    let down = pipe(server_read, client_write, inner, Direction::Down, accepted);
    tokio::join!(up, down);
}

enum Item {
    Data(Vec<u8>, Instant, OwnedSemaphorePermit),
    End(Instant),
}

/// Forwards one direction of a connection through the delay queue.
async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    inner: Arc<Inner>,
    direction: Direction,
    not_before: Instant,
) {
    let window = Arc::new(Semaphore::new(inner.shape.window()));
    let (queue, mut arrivals) = mpsc::unbounded_channel::<Item>();
    let reader = {
        let inner = Arc::clone(&inner);
        async move {
            let bottleneck = match direction {
                Direction::Up => &inner.up,
                Direction::Down => &inner.down,
            };
            let one_way = inner.shape.one_way();
            let mut last_due = not_before;
            loop {
                let mut buffer = vec![0u8; CHUNK];
                let n = from.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    // End of stream (or a reset): the peer sees the end after the data.
                    let _ = queue.send(Item::End(last_due.max(Instant::now() + one_way)));
                    return;
                }
                buffer.truncate(n);
                let Ok(permit) = Arc::clone(&window).acquire_many_owned(n as u32).await else {
                    return;
                };
                let left =
                    bottleneck.reserve(Instant::now().max(not_before), n, inner.shape.bandwidth);
                let mut due = left + one_way;
                if inner.shape.loss > 0.0 && inner.draws.next_fraction() < inner.shape.loss {
                    inner.counters.retransmitted.fetch_add(1, Ordering::Relaxed);
                    due += inner.shape.rtt;
                }
                // In order: a chunk never overtakes the one before it.
                due = due.max(last_due);
                last_due = due;
                if queue.send(Item::Data(buffer, due, permit)).is_err() {
                    return;
                }
            }
        }
    };
    let writer = async move {
        while let Some(item) = arrivals.recv().await {
            match item {
                Item::Data(bytes, due, permit) => {
                    if due > Instant::now() {
                        tokio::time::sleep_until(due).await;
                    }
                    if to.write_all(&bytes).await.is_err() {
                        return;
                    }
                    let counter = match direction {
                        Direction::Up => &inner.counters.bytes_up,
                        Direction::Down => &inner.counters.bytes_down,
                    };
                    counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    drop(permit);
                }
                Item::End(due) => {
                    if due > Instant::now() {
                        tokio::time::sleep_until(due).await;
                    }
                    let _ = to.shutdown().await;
                    return;
                }
            }
        }
    };
    // The writer ending (the receiving side is gone) drops the queue; the reader then stops at
    // its next chunk.
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant as StdInstant;

    /// An echo server: answers every byte it reads, until the end of the stream.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = stream.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                    let _ = w.shutdown().await;
                });
            }
        });
        addr
    }

    /// A sink server: reads everything, then answers with the number of bytes read.
    async fn sink_server() -> SocketAddr {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut total = 0u64;
                    let mut buffer = vec![0u8; 1 << 16];
                    loop {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => total += n as u64,
                        }
                    }
                    let _ = stream.write_all(&total.to_le_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        addr
    }

    /// Pseudo-random bytes, so that a reordered or corrupted chunk shows.
    fn pattern(len: usize) -> Vec<u8> {
        let draws = Draws(Mutex::new(7));
        (0..len)
            .map(|_| (draws.next_fraction() * 256.0) as u8)
            .collect()
    }

    async fn ping(stream: &mut TcpStream) -> Duration {
        let started = StdInstant::now();
        stream.write_all(b"ping").await.unwrap();
        let mut answer = [0u8; 4];
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"ping");
        started.elapsed()
    }

    #[tokio::test]
    async fn a_round_trip_costs_at_least_the_rtt_and_a_new_connection_one_more() {
        let rtt = Duration::from_millis(40);
        let link = ShapedLink::new(LinkShape::new(rtt)).unwrap();
        let addr = link.forward(echo_server().await).await.unwrap();
        let connect_started = StdInstant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let first = ping(&mut stream).await;
        let first_total = connect_started.elapsed();
        assert!(
            first_total >= 2 * rtt,
            "handshake + exchange took {first_total:?}"
        );
        assert!(first >= rtt, "{first:?}");
        for _ in 0..3 {
            let again = ping(&mut stream).await;
            assert!(
                again >= rtt,
                "a round trip took {again:?}, the link's is {rtt:?}"
            );
        }
        let stats = link.stats();
        assert_eq!(stats.connections, 1);
        assert_eq!(stats.bytes_up, 16);
        assert_eq!(stats.bytes_down, 16);
        link.stop().await;
    }

    #[tokio::test]
    async fn bytes_arrive_intact_in_order_and_no_faster_than_the_bandwidth() {
        // 40 Mbit/s = 5 MB/s: 2 MiB echoed take at least 0.42 s each way (the directions
        // overlap, so at least that in total).
        let bits = 40_000_000u64;
        let link = ShapedLink::new(LinkShape::new(Duration::from_millis(10)).bandwidth_bits(bits))
            .unwrap();
        let addr = link.forward(echo_server().await).await.unwrap();
        let data = pattern(2 << 20);
        let started = StdInstant::now();
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = stream.into_split();
        let sent = data.clone();
        let send = tokio::spawn(async move {
            w.write_all(&sent).await.unwrap();
            w.shutdown().await.unwrap();
        });
        let mut echoed = Vec::new();
        r.read_to_end(&mut echoed).await.unwrap();
        send.await.unwrap();
        let took = started.elapsed();
        assert!(echoed == data, "the bytes came back changed or reordered");
        let floor = serialization(data.len() as u64, bits);
        assert!(
            took >= floor,
            "{} bytes in {took:?}, below {floor:?}",
            data.len()
        );
        assert_eq!(link.stats().bytes_up, data.len() as u64);
        assert_eq!(link.stats().bytes_down, data.len() as u64);
    }

    #[tokio::test]
    async fn connections_share_the_bandwidth_of_one_link() {
        // Two endpoints of one link, 1 MiB to each at once: 2 MiB through one 40 Mbit/s
        // bottleneck.
        let bits = 40_000_000u64;
        let link =
            ShapedLink::new(LinkShape::new(Duration::from_millis(2)).bandwidth_bits(bits)).unwrap();
        let a = link.forward(sink_server().await).await.unwrap();
        let b = link.forward(sink_server().await).await.unwrap();
        let size = 1usize << 20;
        let started = StdInstant::now();
        let send = |addr| async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(&pattern(size)).await.unwrap();
            stream.shutdown().await.unwrap();
            let mut count = [0u8; 8];
            stream.read_exact(&mut count).await.unwrap();
            u64::from_le_bytes(count)
        };
        let (got_a, got_b) = tokio::join!(send(a), send(b));
        let took = started.elapsed();
        assert_eq!((got_a, got_b), (size as u64, size as u64));
        let floor = serialization(2 * size as u64, bits);
        assert!(took >= floor, "2 MiB in {took:?}, below {floor:?}");
        assert_eq!(link.stats().connections, 2);
    }

    #[tokio::test]
    async fn a_lost_chunk_arrives_one_round_trip_late_and_intact() {
        let rtt = Duration::from_millis(30);
        let link = ShapedLink::new(LinkShape::new(rtt).loss(1.0)).unwrap();
        let addr = link.forward(echo_server().await).await.unwrap();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        ping(&mut stream).await;
        // Every chunk lost once each way: two extra round trips.
        let took = ping(&mut stream).await;
        assert!(took >= 3 * rtt, "{took:?}");
        assert_eq!(link.stats().retransmitted_chunks, 4);
    }

    #[tokio::test]
    async fn out_of_range_settings_are_errors() {
        assert_eq!(
            ShapedLink::new(LinkShape::new(Duration::ZERO).bandwidth_bits(0)).err(),
            Some(ShapeError::ZeroBandwidth)
        );
        assert!(matches!(
            ShapedLink::new(LinkShape::new(Duration::ZERO).loss(1.5)).err(),
            Some(ShapeError::Loss(_))
        ));
        assert!(ShapedLink::new(LinkShape::new(Duration::ZERO).loss(f64::NAN)).is_err());
        let text = LinkShape::new(Duration::from_millis(40))
            .bandwidth_mbit(200)
            .loss(0.01)
            .to_string();
        assert_eq!(
            text,
            "round trip 40 ms, 200 Mbit/s each way, 1 % of chunks retransmitted (one extra round trip)"
        );
    }

    #[tokio::test]
    async fn an_endpoint_that_refuses_closes_the_client_connection() {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let gone = listener.local_addr().unwrap();
        drop(listener);
        let link = ShapedLink::new(LinkShape::new(Duration::from_millis(1))).unwrap();
        let addr = link.forward(gone).await.unwrap();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut buffer = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("the link closes the connection")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }
}
