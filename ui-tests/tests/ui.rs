//! Compile-time behaviour of `#[circuit_breaker]`: every configuration mistake is a
//! compile error under the token that caused it (`ui/fail`), and every supported shape
//! of function compiles (`ui/pass`).
//!
//! After a compiler upgrade changes the wording of rustc's own messages, regenerate
//! with `TRYBUILD=overwrite cargo test -p breaker-ui-tests` and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
