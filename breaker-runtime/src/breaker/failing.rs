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
    // The error's `Display` is the user's: if it panics (or fails, which makes
    // `to_string` panic), the transition still happens, with this text instead; a
    // panic out of here would leave the state machine mid-way and a probe place taken.
    let shown = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: set by `during`, whose borrow of the error outlives this call.
        unsafe { (*pointer).to_string() }
    }));
    Some(shown.unwrap_or_else(|_| "(the error could not be shown: its `Display` panicked)".to_owned()))
}

/// How many sources of an error its text follows, at most.
const SOURCES: usize = 16;

/// A failure's error as a transition shows it: by its `Display`, or, for an error
/// whose sources can be reached, by its `Display` and then each source's, separated by
/// `": "` (`client error (Connect): tcp connect error: Connection refused (os error
/// 111)`), as `anyhow` shows a chain with `{:#}`. A source whose text is already in the
/// text so far (an error that shows its source itself) is left out.
#[derive(Clone, Copy)]
pub enum Shown<'e> {
    /// By `Display` alone.
    Display(&'e dyn fmt::Display),
    /// With its sources.
    Error(&'e (dyn std::error::Error + 'e)),
}

impl<'e> Shown<'e> {
    /// `error`, with its sources when it is of a type known to have them: a boxed
    /// `dyn Error` (tower's `BoxError`), `std::io::Error`, with the `hyper-util`
    /// feature hyper-util's client error, with `tonic-transport` tonic's transport
    /// error; any other type by its `Display` (the tower layer knows its inner
    /// service's error only as `Display`, as tower-http's classifiers do).
    #[cfg(any(feature = "tower", test))]
    pub(crate) fn of<E: fmt::Display + 'static>(error: &'e E) -> Shown<'e> {
        let any: &dyn std::any::Any = error;
        if let Some(boxed) = any.downcast_ref::<Box<dyn std::error::Error + Send + Sync>>() {
            return Shown::Error(&**boxed);
        }
        if let Some(io) = any.downcast_ref::<std::io::Error>() {
            return Shown::Error(io);
        }
        #[cfg(feature = "hyper-util")]
        if let Some(client) = any.downcast_ref::<hyper_util::client::legacy::Error>() {
            return Shown::Error(client);
        }
        #[cfg(feature = "tonic-transport")]
        if let Some(transport) = any.downcast_ref::<tonic::transport::Error>() {
            return Shown::Error(transport);
        }
        Shown::Display(error)
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = match self {
            Shown::Display(shown) => return shown.fmt(f),
            Shown::Error(error) => error,
        };
        let mut text = error.to_string();
        let mut source = error.source();
        for _ in 0..SOURCES {
            let Some(cause) = source else { break };
            let said = cause.to_string();
            if !said.is_empty() && !text.contains(&said) {
                text.push_str(": ");
                text.push_str(&said);
            }
            source = cause.source();
        }
        f.write_str(&text)
    }
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

    /// An error with a source, showing only itself.
    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("client error (Connect)")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// An error that shows its source itself.
    #[derive(Debug)]
    struct Saying(Outer);

    impl fmt::Display for Saying {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "request failed: {}", self.0)
        }
    }

    impl std::error::Error for Saying {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    fn refused() -> Outer {
        Outer(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"))
    }

    #[test]
    fn an_error_is_shown_with_its_sources_once_each() {
        let shown = |error: &dyn std::error::Error| Shown::Error(error).to_string();
        assert_eq!(shown(&refused()), "client error (Connect): connection refused");
        assert_eq!(shown(&Saying(refused())), "request failed: client error (Connect): connection refused");
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(refused());
        assert_eq!(Shown::of(&boxed).to_string(), "client error (Connect): connection refused");
        // A type not known to have sources: its `Display`.
        assert_eq!(Shown::of(&"plain").to_string(), "plain");
    }

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
