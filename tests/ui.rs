//! Compile-time checks: every misuse of `#[llm_traced]` is an error pointing
//! at the offending token (`ui/fail/*.stderr`), and the documented uses build.
//! Regenerate the expected output with `TRYBUILD=overwrite` after a deliberate
//! change, and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    // Built without the `audit` feature (`.ci/run` runs this test with the
    // default features too), an audited call is an error at its attribute.
    #[cfg(not(feature = "audit"))]
    t.compile_fail("tests/ui/fail_without_audit/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
