//! breaker's tower layer on the gRPC path, end to end with tonic on loopback: a test
//! backend whose requests say what it does (answer, fail with a status, stream, wait),
//! the server that runs it on `127.0.0.1`, and the client stacks with the layer in
//! them. The tests in `tests/` and the `grpc_integration` example share them.
//!
//! It owns fixtures only: nothing here judges or records a call (that is the layer's
//! job), and no library crate may depend on it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use breaker_runtime::integrations::tower::{CircuitBreakerLayer, CircuitBreakerService, Grpc};
use breaker_runtime::{CircuitBreaker, ConfigLayer, ManualClock, registry};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status};

/// The code generated from `proto/echo.proto` (package `echo.v1`).
pub mod proto {
    tonic::include_proto!("echo.v1");
}

use proto::echo_client::EchoClient;
use proto::echo_server::{Echo, EchoServer};
use proto::ledger_client::LedgerClient;
use proto::ledger_server::{Ledger, LedgerServer};
pub use proto::{CountRequest, Reply, SayRequest};

/// The gRPC service name of `Echo`, as the layer finds it in the path.
pub const ECHO_SERVICE: &str = "echo.v1.Echo";
/// The gRPC service name of `Ledger`.
pub const LEDGER_SERVICE: &str = "echo.v1.Ledger";

impl SayRequest {
    /// A request answered at once.
    pub fn ok(message: &str) -> SayRequest {
        SayRequest { message: message.to_owned(), fail_with: 0, delay_ms: 0 }
    }

    /// A request failed at once with `code` (a trailers-only response).
    pub fn failing(code: Code) -> SayRequest {
        SayRequest { message: String::new(), fail_with: code as i32, delay_ms: 0 }
    }

    /// This request, answered after `delay`.
    pub fn after(mut self, delay: Duration) -> SayRequest {
        self.delay_ms = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
        self
    }
}

impl CountRequest {
    /// `count` messages, then the end of the stream: OK, or `end` in the trailers.
    pub fn new(count: u32, end: Code) -> CountRequest {
        CountRequest { count, fail_with: end as i32, interval_ms: 0 }
    }

    /// This stream, with `interval` between its messages.
    pub fn every(mut self, interval: Duration) -> CountRequest {
        self.interval_ms = u32::try_from(interval.as_millis()).unwrap_or(u32::MAX);
        self
    }
}

/// The backend of both services; counts the requests that reach it.
#[derive(Clone, Debug, Default)]
pub struct Backend {
    hits: Arc<AtomicUsize>,
}

impl Backend {
    fn hit(&self) {
        // A counter read by the test after its calls finished: no ordering needed.
        self.hits.fetch_add(1, Ordering::Relaxed);
    }
}

/// Waits, then answers `request` or fails as it says.
async fn answer(request: SayRequest) -> Result<Response<Reply>, Status> {
    if request.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(u64::from(request.delay_ms))).await;
    }
    match Code::from(request.fail_with) {
        Code::Ok => Ok(Response::new(Reply { message: request.message, seq: 0 })),
        code => Err(Status::new(code, format!("the backend was asked to fail with {code:?}"))),
    }
}

#[tonic::async_trait]
impl Echo for Backend {
    async fn say(&self, request: Request<SayRequest>) -> Result<Response<Reply>, Status> {
        self.hit();
        answer(request.into_inner()).await
    }

    type CountStream = ReceiverStream<Result<Reply, Status>>;

    async fn count(&self, request: Request<CountRequest>) -> Result<Response<Self::CountStream>, Status> {
        self.hit();
        let request = request.into_inner();
        let (sender, receiver) = mpsc::channel(4);
        tokio::spawn(async move {
            let interval = Duration::from_millis(u64::from(request.interval_ms));
            for seq in 0..request.count {
                if seq > 0 && !interval.is_zero() {
                    tokio::time::sleep(interval).await;
                }
                let reply = Reply { message: format!("message {seq}"), seq };
                if sender.send(Ok(reply)).await.is_err() {
                    return; // The client went away.
                }
            }
            let end = Code::from(request.fail_with);
            if end != Code::Ok {
                let status = Status::new(end, format!("the stream was asked to end with {end:?}"));
                let _ = sender.send(Err(status)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}

#[tonic::async_trait]
impl Ledger for Backend {
    async fn balance(&self, request: Request<SayRequest>) -> Result<Response<Reply>, Status> {
        self.hit();
        answer(request.into_inner()).await
    }
}

/// A backend serving `Echo` and `Ledger` on `127.0.0.1`, stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    backend: Backend,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Starts a server on a port from the OS, on the current tokio runtime.
    pub async fn start() -> std::io::Result<TestServer> {
        let (listener, addr, backend) = bind().await?;
        let routes = Server::builder()
            .add_service(EchoServer::new(backend.clone()))
            .add_service(LedgerServer::new(backend.clone()));
        let task = tokio::spawn(async move {
            if let Err(error) = routes.serve_with_incoming(TcpIncoming::from(listener)).await {
                eprintln!("test server on {addr} stopped: {error}");
            }
        });
        Ok(TestServer { addr, backend, task })
    }

    /// Starts a server with `layer` on its side of every call (tonic's
    /// `Server::layer`).
    pub async fn start_with_layer(layer: CircuitBreakerLayer<Grpc>) -> std::io::Result<TestServer> {
        let (listener, addr, backend) = bind().await?;
        let routes = Server::builder()
            .layer(layer)
            .add_service(EchoServer::new(backend.clone()))
            .add_service(LedgerServer::new(backend.clone()));
        let task = tokio::spawn(async move {
            if let Err(error) = routes.serve_with_incoming(TcpIncoming::from(listener)).await {
                eprintln!("test server on {addr} stopped: {error}");
            }
        });
        Ok(TestServer { addr, backend, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many requests reached the backend.
    pub fn hits(&self) -> usize {
        self.backend.hits.load(Ordering::Relaxed)
    }

    /// An endpoint for it.
    pub fn endpoint(&self) -> Endpoint {
        endpoint(self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn bind() -> std::io::Result<(TcpListener, SocketAddr, Backend)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr, Backend::default()))
}

/// An endpoint for `addr`.
pub fn endpoint(addr: SocketAddr) -> Endpoint {
    // `http://` and a socket address always make a valid URI.
    Endpoint::from_shared(format!("http://{addr}")).expect("a socket address is a valid authority")
}

/// A tonic channel to `endpoint` that connects on its first call.
pub fn lazy_channel(endpoint: &Endpoint) -> Channel {
    endpoint.connect_lazy()
}

/// The client stack: `layer` over `channel`.
pub type Protected = CircuitBreakerService<Channel, Grpc>;

/// An `Echo` client through `layer`.
pub fn echo_client(channel: Channel, layer: CircuitBreakerLayer<Grpc>) -> EchoClient<Protected> {
    EchoClient::new(tower::ServiceBuilder::new().layer(layer).service(channel))
}

/// A `Ledger` client through `layer`.
pub fn ledger_client(channel: Channel, layer: CircuitBreakerLayer<Grpc>) -> LedgerClient<Protected> {
    LedgerClient::new(tower::ServiceBuilder::new().layer(layer).service(channel))
}

/// The registry's breaker of `service` (created if new), with `layer` as its runtime
/// override.
pub fn configure(service: &str, layer: ConfigLayer) -> Result<CircuitBreaker, breaker_runtime::Error> {
    let breaker = registry().named(service)?;
    registry().set_override(service, layer)?;
    Ok(breaker)
}

/// Puts the breaker of `service` on a manual clock, returned.
pub fn manual_clock(service: &str) -> Result<Arc<ManualClock>, breaker_runtime::Error> {
    let clock = Arc::new(ManualClock::new());
    registry().use_clock(service, clock.clone())?;
    Ok(clock)
}
