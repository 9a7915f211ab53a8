//! A TCP listener whose connections can be cut from inside a handler, so a fault can drop a
//! connection without sending a single byte of the response (the "outcome unknown" case), and
//! which can close connections that sit idle, like the Apache in front of the Service Layer
//! (`Keep-Alive: timeout=5`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// Per-connection handle available to handlers as `ConnectInfo<Conn>`.
#[derive(Debug, Clone)]
pub struct Conn {
    /// The peer address.
    pub remote: SocketAddr,
    kill: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    served: Arc<AtomicUsize>,
}

impl Conn {
    /// Counts a request on this connection; returns how many it has carried so far.
    pub fn count_request(&self) -> usize {
        self.served.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Marks the connection dead: nothing more is written and it closes at the next write.
    pub fn kill(&self) {
        self.kill.store(true, Ordering::SeqCst);
    }

    /// Marks a request as being served (an idle timeout never cuts it).
    pub fn begin(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.in_flight.clone())
    }
}

/// Guard for one request in flight.
#[derive(Debug)]
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Listener producing [`KillableStream`]s.
#[derive(Debug)]
pub struct KillableListener {
    inner: TcpListener,
    idle_timeout: Option<Duration>,
}

impl KillableListener {
    /// Wraps a bound listener; `idle_timeout` closes connections idle that long between requests.
    pub fn new(inner: TcpListener, idle_timeout: Option<Duration>) -> Self {
        Self {
            inner,
            idle_timeout,
        }
    }
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = Conn;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    let in_flight = Arc::new(AtomicUsize::new(0));
                    let conn = Conn {
                        remote,
                        kill: kill.clone(),
                        in_flight: in_flight.clone(),
                        served: Arc::new(AtomicUsize::new(0)),
                    };
                    let idle = self
                        .idle_timeout
                        .map(|d| (d, Box::pin(tokio::time::sleep(d))));
                    return (
                        KillableStream {
                            inner: stream,
                            kill,
                            in_flight,
                            idle,
                        },
                        conn,
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(Conn {
            remote: self.inner.local_addr()?,
            kill: Arc::new(AtomicBool::new(false)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            served: Arc::new(AtomicUsize::new(0)),
        })
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP stream that fails every write once killed and reports end-of-stream after an idle timeout.
#[derive(Debug)]
pub struct KillableStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    idle: Option<(Duration, Pin<Box<Sleep>>)>,
}

impl KillableStream {
    fn touch(&mut self) {
        if let Some((d, sleep)) = self.idle.as_mut() {
            sleep.as_mut().reset(Instant::now() + *d);
        }
    }
}

fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "sandbox fault: connection dropped",
    )
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                let busy = self.in_flight.load(Ordering::SeqCst) > 0;
                if let Some((d, sleep)) = self.idle.as_mut()
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    if !busy {
                        // The server closes the idle connection: the peer sees end-of-stream.
                        return Poll::Ready(Ok(()));
                    }
                    sleep.as_mut().reset(Instant::now() + *d);
                    let _ = sleep.as_mut().poll(cx);
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
