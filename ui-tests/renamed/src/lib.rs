//! `breaker-runtime` under another name, as a facade crate or a renamed dependency
//! presents it: the `crate = renamed_breaker` UI case expands through this path.
//!
//! Cargo does not let one package depend on another twice under two names, so the
//! UI tests reach the runtime under a second name through this re-export.

pub use runtime::*;
