//! Misuses of `#[derive(Route)]` and `Router::typed` fail to compile with an
//! error pointing at the user's code. The expected messages are in
//! `tests/ui/*.stderr` (they depend on the rustc version: regenerate with
//! `TRYBUILD=overwrite cargo test -p netcore-macros --test compile_fail` and
//! review the diff when the toolchain changes).

#[test]
fn misuses_are_compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
