//! `inlet check` through the built binary: no emulator, no AWS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{bare, inlet};
use inlet_testkit::Scratch;

#[test]
fn the_sample_config_with_its_env_file_is_ok() {
    let run = inlet(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("ok: ") && first.contains(" sources, ") && first.ends_with(" routes"),
        "{run:?}"
    );
}

#[test]
fn every_problem_is_listed_by_its_key() {
    let scratch = Scratch::with_prefix("every_problem_is_listed_by_its_key");
    let config = scratch.path().join("bad.toml");
    std::fs::write(
        &config,
        "[sources.github]\nscheme = \"gitlub\"\nsecrets = [\"env:INLET_CHECK_TEST_A\"]\n\n\
         [sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"env:INLET_CHECK_TEST_UNSET\"]\n\n\
         [sources.billing]\nscheme = \"stripe\"\nsecrets = [\"secretsmanager:inlet/stripe#signing_secret\"]\n\n\
         [[routes]]\nsource = \"github\"\naction = { type = \"forward\", url = \"ftp://x\", secret = \"env:INLET_CHECK_TEST_A\" }\n",
    )
    .unwrap();
    let env = scratch.path().join("check.env");
    std::fs::write(&env, "INLET_CHECK_TEST_A=x\n").unwrap();
    let run = bare(
        &[
            "--config",
            config.to_str().unwrap(),
            "--env-file",
            env.to_str().unwrap(),
            "check",
        ],
        b"",
    );
    assert_eq!(run.code, 2, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    let starts = |prefix: &str| lines.iter().any(|l| l.starts_with(prefix));
    assert!(starts("sources.github.scheme: unknown scheme"), "{run:?}");
    assert!(starts("routes[0].action.url: "), "{run:?}");
    assert!(
        starts("sources.stripe.secrets[0]: env:INLET_CHECK_TEST_UNSET is not set"),
        "{run:?}"
    );
    assert!(
        lines.contains(
            &"sources.billing.secrets[0]: secretsmanager:inlet/stripe#signing_secret not checked (needs AWS)"
        ),
        "{run:?}"
    );
    assert!(!run.stdout.contains("INLET_CHECK_TEST_A"), "{run:?}");
    assert!(!run.stdout.contains("ok:"), "{run:?}");
}

#[test]
fn a_good_config_with_only_aws_secrets_is_ok_and_says_what_it_did_not_check() {
    let scratch = Scratch::with_prefix("only_aws_secrets");
    let config = scratch.path().join("inlet.toml");
    std::fs::write(
        &config,
        "[sources.billing]\nscheme = \"stripe\"\nsecrets = [\"secretsmanager:inlet/stripe\"]\n",
    )
    .unwrap();
    let run = bare(&["check", "--config", config.to_str().unwrap()], b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "ok: 1 source, 0 routes\nsources.billing.secrets[0]: secretsmanager:inlet/stripe not checked (needs AWS)\n"
    );
}
