//! [`Definition`]: what one `#[circuit_breaker]` declares, and [`CallSite`]: where an
//! annotated function keeps its breaker.

use std::fmt;
use std::sync::OnceLock;

use crate::breaker::CircuitBreaker;

use super::{ConfigLayer, registry};

/// One annotated function: its service, where it is, and the configuration its
/// attribute sets. Built as a constant by the attribute and collected at link time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Definition {
    /// The service of the breaker.
    pub service: &'static str,
    /// The function's path (`module::function`).
    pub function: &'static str,
    /// The source file of the function.
    pub file: &'static str,
    /// The line of the attribute.
    pub line: u32,
    /// The column of the attribute.
    pub column: u32,
    /// The keys the attribute sets.
    pub config: ConfigLayer,
    /// The fallback chain, as written.
    pub fallbacks: &'static [&'static str],
    /// The classifier, as written.
    pub classify: Option<&'static str>,
}

impl Definition {
    /// `file:line:column`.
    pub fn location(&self) -> Location {
        Location { file: self.file, line: self.line, column: self.column }
    }

    pub(crate) fn same_site(&self, other: &Definition) -> bool {
        (self.file, self.line, self.column) == (other.file, other.line, other.column)
    }
}

/// A source location, displayed as `file:line:column`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file.
    pub file: &'static str,
    /// The line.
    pub line: u32,
    /// The column.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// The breaker of one annotated function, found once and then kept: a call reads one
/// `OnceLock`, never the registry.
#[doc(hidden)]
pub struct CallSite {
    definition: &'static Definition,
    breaker: OnceLock<CircuitBreaker>,
}

impl CallSite {
    /// The call site of `definition`.
    pub const fn new(definition: &'static Definition) -> CallSite {
        CallSite { definition, breaker: OnceLock::new() }
    }

    /// The breaker of the call site's service.
    #[inline]
    pub fn breaker(&'static self) -> &'static CircuitBreaker {
        match self.breaker.get() {
            Some(breaker) => breaker,
            None => self.first_call(),
        }
    }

    #[cold]
    fn first_call(&'static self) -> &'static CircuitBreaker {
        self.breaker.get_or_init(|| registry().breaker_for(self.definition))
    }
}
