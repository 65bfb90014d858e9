//! Runnable programs for `breaker`: the demo (`cargo run` from the repository root)
//! and the examples in `examples/` (`cargo run --example <name>`).
