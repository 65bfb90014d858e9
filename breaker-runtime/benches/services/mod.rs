//! Inner services the tower benchmarks (`tower.rs`, `instructions.rs`) put the layer
//! around.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower::Service;

/// The inner future of a service that waits once (waking itself at once), as a
/// client's does, then answers 200.
pub struct AfterOneWait(bool);

impl Future for AfterOneWait {
    type Output = Result<http::Response<()>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if std::mem::replace(&mut self.0, true) {
            return Poll::Ready(Ok(http::Response::new(())));
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A service whose futures wait once.
pub fn waiting()
-> impl Service<http::Request<()>, Response = http::Response<()>, Error = Infallible, Future: Send> + Clone {
    tower::service_fn(|_: http::Request<()>| AfterOneWait(false))
}
