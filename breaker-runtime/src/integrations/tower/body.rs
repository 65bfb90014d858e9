//! The bodies of responses through the layer: [`ResponseBody`] (HTTP), the inner body
//! or the empty body of a response the layer made, and [`GrpcBody`], which reports a
//! gRPC status arriving in the trailers.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};

use crate::breaker::{Admission, failing};
use crate::classify::Outcome;
use crate::integrations::judge::{GRPC_UNKNOWN, Judge, grpc_code};

use super::protocol::sealed::record;

pin_project_lite::pin_project! {
    /// The body of a response through an [`Http`](super::Http) layer: the inner
    /// service's body, passed through untouched, or the empty body of a response the
    /// layer made itself (a refusal answered with 503,
    /// [`WhenOpen::Respond`](super::WhenOpen::Respond)).
    pub struct ResponseBody<B> {
        #[pin]
        body: Inner<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = InnerProj]
    enum Inner<B> {
        Passed { #[pin] body: B },
        Empty,
    }
}

impl<B> ResponseBody<B> {
    #[inline(always)]
    pub(crate) fn inner(body: B) -> ResponseBody<B> {
        ResponseBody { body: Inner::Passed { body } }
    }

    pub(crate) fn empty() -> ResponseBody<B> {
        ResponseBody { body: Inner::Empty }
    }

    /// The inner service's body; `None` for a response the layer made.
    pub fn into_inner(self) -> Option<B> {
        match self.body {
            Inner::Passed { body } => Some(body),
            Inner::Empty => None,
        }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        match self.project().body.project() {
            InnerProj::Passed { body } => body.poll_frame(cx),
            InnerProj::Empty => Poll::Ready(None),
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        match &self.body {
            Inner::Passed { body } => body.is_end_stream(),
            Inner::Empty => true,
        }
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        match &self.body {
            Inner::Passed { body } => body.size_hint(),
            Inner::Empty => SizeHint::with_exact(0),
        }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.body {
            Inner::Passed { .. } => "inner",
            Inner::Empty => "empty",
        };
        f.debug_tuple("ResponseBody").field(&kind).finish()
    }
}

pin_project_lite::pin_project! {
    /// The body of a response through a [`Grpc`](super::Grpc) layer: the inner body,
    /// passed through.
    ///
    /// For a response whose status comes in the trailers, it keeps the call's
    /// admission until then: the trailers' `grpc-status` is recorded, an error of the
    /// body (a stream cut by a reset) is a failure, a body that ends without a status
    /// is UNKNOWN (a failure), and a body dropped before its end records nothing and
    /// gives its probe place back. Messages pass through unlooked at.
    pub struct GrpcBody<B> {
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

impl<B> GrpcBody<B> {
    pub(crate) fn plain(body: B) -> GrpcBody<B> {
        GrpcBody { kind: Kind::Plain { body } }
    }

    pub(crate) fn watched(body: B, admission: Admission, judge: &'static Judge) -> GrpcBody<B> {
        GrpcBody { kind: Kind::Watched { body, admission: Some(admission), judge } }
    }

    /// The empty body of a response the layer made itself (a refusal).
    pub(crate) fn empty() -> GrpcBody<B> {
        GrpcBody { kind: Kind::Empty }
    }
}

impl<B> Body for GrpcBody<B>
where
    B: Body,
    B::Error: fmt::Display,
{
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
                // Only once the status is known (or the stream failed): a frame of data
                // leaves the call open (taking the admission then would cancel the call).
                let end = match &polled {
                    Poll::Ready(Some(Ok(frame))) => frame.trailers_ref().map(|trailers| {
                        let code =
                            trailers.get("grpc-status").map_or(GRPC_UNKNOWN, |s| grpc_code(s.as_bytes()));
                        Ok((code, judge.grpc_status(code, trailers)))
                    }),
                    // The end without trailers: no status.
                    Poll::Ready(None) => Some(Ok((GRPC_UNKNOWN, judge.grpc.code(GRPC_UNKNOWN)))),
                    // An error of the body: a stream cut by a reset.
                    Poll::Ready(Some(Err(error))) => Some(Err(error)),
                    Poll::Pending => None,
                };
                if let Some(end) = end {
                    if let Some(mut admission) = admission.take() {
                        match end {
                            Ok((code, outcome)) => {
                                record(&mut admission, outcome, &failing::GrpcStatus(code))
                            }
                            Err(error) => {
                                let failed = format_args!("the response stream failed: {error}");
                                record(&mut admission, Outcome::Failure, &failed)
                            }
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

impl<B> std::fmt::Debug for GrpcBody<B> {
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
        f.debug_struct("GrpcBody").field("kind", &kind).finish()
    }
}
