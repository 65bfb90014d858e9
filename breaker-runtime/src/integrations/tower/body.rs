//! [`ResponseBody`]: a response body that reports a gRPC status arriving in the
//! trailers.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};

use crate::breaker::Admission;
use crate::classify::Outcome;
use crate::integrations::judge::{GRPC_UNKNOWN, Judge};

pin_project_lite::pin_project! {
    /// The body of a response through the layer: the inner body, passed through.
    ///
    /// For a gRPC response whose status comes in the trailers, it keeps the call's
    /// admission until then: the trailers' `grpc-status` is recorded, an error of the
    /// body (a stream cut by a reset) is a failure, a body that ends without a status
    /// is UNKNOWN (a failure), and a body dropped before its end records nothing and
    /// gives its probe place back. Messages pass through unlooked at.
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Plain { #[pin] body: B },
        Watched { #[pin] body: B, admission: Option<Admission>, judge: &'static Judge },
        Empty,
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn plain(body: B) -> ResponseBody<B> {
        ResponseBody { kind: Kind::Plain { body } }
    }

    pub(crate) fn watched(body: B, admission: Admission, judge: &'static Judge) -> ResponseBody<B> {
        ResponseBody { kind: Kind::Watched { body, admission: Some(admission), judge } }
    }

    /// The empty body of a response the layer made itself (a refusal).
    pub(crate) fn empty() -> ResponseBody<B> {
        ResponseBody { kind: Kind::Empty }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Plain { body } => body.poll_frame(cx),
            KindProj::Watched { body, admission, judge } => {
                let polled = body.poll_frame(cx);
                if admission.is_some() {
                    let outcome = match &polled {
                        Poll::Ready(Some(Ok(frame))) => {
                            frame.trailers_ref().map(|trailers| match trailers.get("grpc-status") {
                                Some(status) => judge.grpc_status(status.as_bytes()),
                                None => judge.grpc.code(GRPC_UNKNOWN),
                            })
                        }
                        Poll::Ready(Some(Err(_))) => Some(Outcome::Failure),
                        // The end without trailers: no status.
                        Poll::Ready(None) => Some(judge.grpc.code(GRPC_UNKNOWN)),
                        Poll::Pending => None,
                    };
                    // Only once the status is known: a frame of data leaves the call
                    // open (taking the admission then would cancel the call).
                    if let Some(outcome) = outcome {
                        if let Some(admission) = admission.take() {
                            admission.record(outcome);
                        }
                    }
                }
                polled
            }
            KindProj::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Plain { body } => body.is_end_stream(),
            // Not ended while the status is still to be read: a client that saw the
            // end here would drop the body unpolled, and a 200 without any status
            // (cut short by a proxy) would record nothing instead of UNKNOWN.
            Kind::Watched { body, admission, .. } => admission.is_none() && body.is_end_stream(),
            Kind::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Plain { body } | Kind::Watched { body, .. } => body.size_hint(),
            Kind::Empty => SizeHint::with_exact(0),
        }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Plain { .. } => "plain",
            Kind::Watched { admission, .. } => {
                if admission.is_some() {
                    "awaiting gRPC status"
                } else {
                    "judged"
                }
            }
            Kind::Empty => "empty",
        };
        f.debug_struct("ResponseBody").field("kind", &kind).finish()
    }
}
