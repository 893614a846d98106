//! Code written against the `netcore` facade alone runs, and its misuses
//! are compile errors that name the fix.

#[tokio::test]
async fn a_crate_on_the_facade_alone_derives_serves_and_calls() {
    let (user, sum) = netcore_facade_check::round_trip()
        .await
        .expect("both calls succeed");
    assert_eq!(
        user,
        netcore_facade_check::User {
            id: 7,
            name: "ada".into()
        }
    );
    assert_eq!(sum, 5);
}

#[test]
fn misuses_through_the_facade_are_compile_errors_with_hints() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass_*.rs");
    cases.compile_fail("tests/ui/fail_*.rs");
}
