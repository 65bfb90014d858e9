//! [`Http`] and [`Grpc`]: how a layer judges responses, as a type.

use crate::breaker::{Admission, failing};
use crate::classify::Outcome;
use crate::integrations::judge::{grpc_code, grpc_status_of_http, note_client_error};

use super::body::{GrpcBody, ResponseBody};
use super::future::Call;

/// How a [`CircuitBreakerLayer`](super::CircuitBreakerLayer) judges responses, and the
/// body type of the responses it hands back: [`Http`] (by status, the default) or
/// [`Grpc`] (by `grpc-status`).
///
/// A type rather than a setting, as tower-http's classifiers are (`TraceLayer` and
/// `TraceLayer::new_for_grpc`): an HTTP response keeps its own body, wrapped in
/// [`ResponseBody`] only so that a layer can answer a refused call with a response of
/// its own; a gRPC response's body is a [`GrpcBody`], which reports the status that
/// arrives in the trailers. Sealed: these two are the protocols.
pub trait Protocol: sealed::Judging + Send + Sync + 'static {
    /// The body of a response through the layer, around the inner service's body `B`.
    type Body<B>;
}

/// Responses judged by HTTP status (see [`classify::http`](crate::classify::http)),
/// with the 429 rule and redirect loops; bodies are [`ResponseBody`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Http;

/// Responses judged by `grpc-status`, from the response headers (a trailers-only
/// response) or from the trailers (see [`classify::grpc`](crate::classify::grpc));
/// bodies are [`GrpcBody`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Grpc;

impl Protocol for Http {
    type Body<B> = ResponseBody<B>;
}

impl Protocol for Grpc {
    type Body<B> = GrpcBody<B>;
}

pub(crate) mod sealed {
    use super::*;

    /// What a protocol does in the layer: crate-private, so the protocols are sealed.
    pub trait Judging {
        /// Whether it is gRPC (refusals and timeouts are then gRPC responses).
        const GRPC: bool;

        /// Its name, for `Debug`.
        const NAME: &'static str;

        /// The body of a response the layer does not watch.
        fn plain<B>(body: B) -> <Self as Protocol>::Body<B>
        where
            Self: Protocol;

        /// The empty body of a response the layer made itself.
        fn empty<B>() -> <Self as Protocol>::Body<B>
        where
            Self: Protocol;

        /// Judges a response: records the outcome of the admitted call in `slot`, in
        /// place, or (gRPC, a status in the trailers) hands its admission to the body.
        /// With no call (an unprotected request), the response passes as it is.
        fn judge<R>(
            slot: &mut Option<Call>,
            response: http::Response<R>,
        ) -> http::Response<<Self as Protocol>::Body<R>>
        where
            Self: Protocol;
    }

    impl Judging for Http {
        const GRPC: bool = false;
        const NAME: &'static str = "Http";

        #[inline(always)]
        fn plain<B>(body: B) -> ResponseBody<B> {
            ResponseBody::inner(body)
        }

        fn empty<B>() -> ResponseBody<B> {
            ResponseBody::empty()
        }

        #[inline(always)]
        fn judge<R>(slot: &mut Option<Call>, response: http::Response<R>) -> http::Response<ResponseBody<R>> {
            if let Some(call) = slot {
                let status = response.status().as_u16();
                let breaker = call.admission.breaker();
                let outcome = match users_outcome(call, &response) {
                    Some(outcome) => {
                        note_client_error(breaker, status, outcome);
                        outcome
                    }
                    None => call.judge.http_response(breaker, &call.origin, status, response.headers()),
                };
                record(&mut call.admission, outcome, &failing::HttpStatus(status));
            }
            response.map(ResponseBody::inner)
        }
    }

    impl Judging for Grpc {
        const GRPC: bool = true;
        const NAME: &'static str = "Grpc";

        #[inline(always)]
        fn plain<B>(body: B) -> GrpcBody<B> {
            GrpcBody::plain(body)
        }

        fn empty<B>() -> GrpcBody<B> {
            GrpcBody::empty()
        }

        #[inline(always)]
        fn judge<R>(slot: &mut Option<Call>, response: http::Response<R>) -> http::Response<GrpcBody<R>> {
            let Some(call) = slot else { return response.map(GrpcBody::plain) };
            let status = response.status();
            match users_outcome(call, &response) {
                Some(outcome) => record(&mut call.admission, outcome, &failing::HttpStatus(status.as_u16())),
                None => {
                    let code = match response.headers().get("grpc-status") {
                        // Trailers-only: the status is in the headers.
                        Some(code) => grpc_code(code.as_bytes()),
                        None if status != http::StatusCode::OK => grpc_status_of_http(status.as_u16()),
                        // The status comes in the trailers: the body reports it.
                        None => {
                            let Some(Call { admission, judge, .. }) = slot.take() else {
                                unreachable!("the slot holds a call")
                            };
                            return response.map(|body| GrpcBody::watched(body, admission, judge));
                        }
                    };
                    let outcome = call.judge.grpc_status(code, response.headers());
                    record(&mut call.admission, outcome, &failing::GrpcStatus(code));
                }
            }
            response.map(GrpcBody::plain)
        }
    }

    /// The outcome the layer's own classifier gives a response, if it has one and it
    /// decides.
    #[inline(always)]
    fn users_outcome<R>(call: &Call, response: &http::Response<R>) -> Option<Outcome> {
        let classify = call.custom.as_deref()?.classify.as_ref()?;
        classify(response.status(), response.headers())
    }

    /// Records a judged response, in place; a transition its failure triggers names
    /// `status`.
    #[inline(always)]
    pub(crate) fn record(admission: &mut Admission, outcome: Outcome, status: &dyn std::fmt::Display) {
        if outcome == Outcome::Failure {
            failing::during(status, || admission.settle(outcome));
        } else {
            admission.settle(outcome);
        }
    }
}
