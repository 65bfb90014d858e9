//! Runnable programs for `breaker`; see `src/bin/`.
