//! The error a failing call is being recorded for, so that a transition it triggers can
//! name it (the last error of OBS-11) without the call path formatting anything: while
//! a failure is recorded, a pointer to its error stands in a thread-local; a transition
//! formats it only when it happens, and the log and the transition's record carry it.

use std::cell::Cell;
use std::fmt;

thread_local! {
    /// The error of the failure this thread is recording, if it has one to show.
    static FAILING: Cell<Option<*const (dyn fmt::Display + 'static)>> = const { Cell::new(None) };
}

/// Runs `record` with `error` as the failure being recorded.
#[inline(never)]
pub(crate) fn during<R>(error: &dyn fmt::Display, record: impl FnOnce() -> R) -> R {
    /// Puts the previous value back, also when `record` unwinds.
    struct Restore(Option<*const (dyn fmt::Display + 'static)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = FAILING.try_with(|failing| failing.set(self.0));
        }
    }
    let pointer: *const (dyn fmt::Display + '_) = error;
    // SAFETY: only the lifetime is erased. The pointer stands in `FAILING` only until
    // `Restore` is dropped, before `error`'s borrow ends, and is read only by `describe`
    // on this thread meanwhile.
    let pointer: *const (dyn fmt::Display + 'static) = unsafe { std::mem::transmute(pointer) };
    let Ok(previous) = FAILING.try_with(|failing| failing.replace(Some(pointer))) else {
        return record();
    };
    let _restore = Restore(previous);
    record()
}

/// The error of the failure being recorded on this thread, formatted; `None` outside
/// [`during`].
pub(crate) fn describe() -> Option<String> {
    let pointer = FAILING.try_with(Cell::get).ok().flatten()?;
    // SAFETY: set by `during`, whose borrow of the error outlives this call.
    Some(unsafe { (*pointer).to_string() })
}

/// The failure of a call cut by its timeout, as the last error.
pub(crate) struct TimedOut(pub(crate) std::time::Duration);

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the call took longer than its timeout of {:?}", self.0)
    }
}

/// An HTTP response judged a failure, as the last error.
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) struct HttpStatus(pub(crate) u16);

#[cfg(any(feature = "tower", feature = "reqwest"))]
impl fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.0)
    }
}

/// A gRPC status, as the error a failure names: `gRPC status 14 UNAVAILABLE`.
#[cfg(feature = "tower")]
pub(crate) struct GrpcStatus(pub(crate) i32);

#[cfg(feature = "tower")]
impl fmt::Display for GrpcStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match crate::classify::grpc::Code::from_i32(self.0) {
            Some(code) => write!(f, "gRPC status {} {}", self.0, code.as_str()),
            None => write!(f, "gRPC status {}", self.0),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_error_is_described_only_while_it_is_recorded_and_nesting_restores() {
        assert_eq!(describe(), None);
        let outer = during(&"outer", || {
            let inner = during(&TimedOut(std::time::Duration::from_secs(1)), describe);
            (inner, describe())
        });
        let inner = "the call took longer than its timeout of 1s".to_owned();
        assert_eq!(outer, (Some(inner), Some("outer".to_owned())));
        assert_eq!(describe(), None);
        let unwound = std::panic::catch_unwind(|| during(&"boom", || panic!("inside")));
        assert!(unwound.is_err());
        assert_eq!(describe(), None, "restored while unwinding");
    }
}
