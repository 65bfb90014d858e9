//! Whole programs using the attribute that must compile and run: shapes whose failure
//! would be a compile error, so a failure here does not stop the other test binaries
//! from building. Each program in `programs/` asserts its behaviour in `main`.

#[test]
fn fallbacks_receive_owned_clone_arguments_the_body_consumed() {
    trybuild::TestCases::new().pass("programs/fallback_owned_arguments.rs");
}

#[test]
fn futures_with_a_fallback_and_borrowed_arguments_are_send_and_spawnable() {
    trybuild::TestCases::new().pass("programs/fallback_borrowed_arguments_are_send.rs");
}
