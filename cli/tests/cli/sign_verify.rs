//! `inlet sign` and `inlet verify`, through the built binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{bare, inlet, inlet_with_stdin};
use inlet_testkit::{Run, Scratch};
use std::path::Path;

const NOW: i64 = 1_795_352_400;

/// A delivery for `sign`: the key options, the provider's other headers, and the body.
struct Sample<'a> {
    key: Vec<&'a str>,
    headers: Vec<&'a str>,
    body: String,
}

fn write_body(dir: &Path, body: &str) -> String {
    let path = dir.join("body");
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_owned()
}

fn with_headers<'a>(mut args: Vec<&'a str>, headers: &'a [String]) -> Vec<&'a str> {
    for header in headers {
        args.extend(["--header", header.as_str()]);
    }
    args
}

/// Signs the sample, checks the output is `name: value` lines, and returns them.
fn sign(sample: &Sample<'_>, body_file: &str, now: &str) -> Vec<String> {
    let headers: Vec<String> = sample.headers.iter().map(|h| (*h).to_owned()).collect();
    let mut args = vec!["sign"];
    args.extend(&sample.key);
    args.extend(["--body-file", body_file, "--now", now]);
    let run = inlet(&with_headers(args, &headers));
    assert_eq!(run.code, 0, "sign failed: {run:?}");
    let lines: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
    assert!(!lines.is_empty(), "sign printed nothing");
    for line in &lines {
        let (name, value) = line.split_once(": ").unwrap_or_else(|| panic!("{line:?}"));
        assert!(!name.is_empty() && !value.is_empty(), "{line:?}");
    }
    lines
}

/// Verifies the sample carrying `signed` headers, with `key` options and `extra` arguments.
fn verify(sample: &Sample<'_>, signed: &[String], body_file: &str, extra: &[&str]) -> Run {
    let mut headers: Vec<String> = sample.headers.iter().map(|h| (*h).to_owned()).collect();
    headers.extend(signed.iter().cloned());
    let mut args = vec!["verify"];
    args.extend(&sample.key);
    args.extend(["--body-file", body_file]);
    args.extend(extra);
    inlet(&with_headers(args, &headers))
}

fn assert_valid(run: &Run, event_id: &str, event_type: &str) {
    assert_eq!(run.code, 0, "{run:?}");
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("valid"), "{run:?}");
    assert_eq!(lines.next(), Some(format!("event_id: {event_id}").as_str()));
    assert_eq!(
        lines.next(),
        Some(format!("event_type: {event_type}").as_str())
    );
}

fn assert_invalid(run: &Run, code: &str) {
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with(&format!("invalid: {code}: ")),
        "expected {code}: {run:?}"
    );
}

fn source<'a>(name: &'a str, headers: &[&'a str], body: &str) -> Sample<'a> {
    Sample {
        key: vec!["--source", name],
        headers: headers.to_vec(),
        body: body.to_owned(),
    }
}

/// One delivery per source in the sample config, with the event id and type it must name.
fn source_samples() -> Vec<(Sample<'static>, &'static str, &'static str)> {
    let now_ms = NOW * 1000;
    vec![
        (
            source(
                "github",
                &["X-GitHub-Event: ping", "X-GitHub-Delivery: d-1"],
                r#"{"zen":"Keep it logically awesome."}"#,
            ),
            "d-1",
            "ping",
        ),
        (
            source("stripe", &[], r#"{"id":"evt_1","type":"invoice.paid"}"#),
            "evt_1",
            "invoice.paid",
        ),
        (
            source("svix", &["webhook-id: msg_1"], r#"{"type":"user.created"}"#),
            "msg_1",
            "user.created",
        ),
        (
            source(
                "shopify",
                &[
                    "X-Shopify-Topic: orders/create",
                    "X-Shopify-Webhook-Id: sh-1",
                ],
                r#"{"id":1}"#,
            ),
            "sh-1",
            "orders/create",
        ),
        (
            source(
                "slack",
                &[],
                r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message"}}"#,
            ),
            "Ev1",
            "message",
        ),
        (
            source(
                "twilio",
                &[
                    "Content-Type: application/x-www-form-urlencoded",
                    "I-Twilio-Idempotency-Token: tw-1",
                ],
                "Body=Hi+there&From=%2B14155550100",
            ),
            "tw-1",
            "(none)",
        ),
        (
            source(
                "paddle",
                &[],
                r#"{"event_id":"evt_p1","event_type":"transaction.completed"}"#,
            ),
            "evt_p1",
            "transaction.completed",
        ),
        (
            source(
                "zendesk",
                &[],
                r#"{"id":"z-1","type":"zen:event-type:ticket.created"}"#,
            ),
            "z-1",
            "zen:event-type:ticket.created",
        ),
        (
            source(
                "square",
                &[],
                r#"{"event_id":"sq-1","type":"payment.created"}"#,
            ),
            "sq-1",
            "payment.created",
        ),
        (
            Sample {
                key: vec!["--source", "linear"],
                headers: vec!["Linear-Delivery: li-1", "Linear-Event: Issue"],
                body: format!(r#"{{"type":"Issue","webhookTimestamp":{now_ms}}}"#),
            },
            "li-1",
            "Issue",
        ),
        (
            source(
                "twitch",
                &[
                    "Twitch-Eventsub-Message-Id: tv-1",
                    "Twitch-Eventsub-Message-Type: notification",
                    "Twitch-Eventsub-Subscription-Type: channel.follow",
                ],
                r#"{"subscription":{},"event":{}}"#,
            ),
            "tv-1",
            "channel.follow",
        ),
        (
            source(
                "crm",
                &["X-Event-Id: c-1"],
                r#"{"event":"contact.created"}"#,
            ),
            "c-1",
            "contact.created",
        ),
    ]
}

#[test]
fn every_configured_source_round_trips() {
    let config =
        inlet_core::config::Config::load(&inlet_testkit::repo_root().join("inlet.toml")).unwrap();
    let samples = source_samples();
    for name in config.sources.keys() {
        assert!(
            samples.iter().any(|(s, _, _)| s.key[1] == name),
            "no round trip for source {name}"
        );
    }
    let scratch = Scratch::with_prefix("every_configured_source_round_trips");
    let dir = scratch.path();
    for (sample, event_id, event_type) in &samples {
        let body = write_body(dir, &sample.body);
        let signed = sign(sample, &body, &NOW.to_string());
        let run = verify(sample, &signed, &body, &["--now", &NOW.to_string()]);
        assert_valid(&run, event_id, event_type);
    }
}

#[test]
fn a_scheme_and_secret_round_trip_without_a_config() {
    let scratch = Scratch::with_prefix("a_scheme_and_secret_round_trip_without_a_config");
    let dir = scratch.path();
    let url = "https://hooks.example.com/webhooks/x";
    let cases: Vec<(Vec<&str>, Vec<&str>, &str, &str)> = vec![
        (
            vec![
                "--scheme",
                "github",
                "--secret",
                "It's a Secret to Everybody",
            ],
            vec!["X-GitHub-Delivery: g-9", "X-GitHub-Event: push"],
            "Hello, World!",
            "g-9",
        ),
        (
            vec!["--scheme", "stripe", "--secret", "whsec_test_secret"],
            vec![],
            r#"{"id":"evt_9","type":"charge.succeeded"}"#,
            "evt_9",
        ),
        (
            vec![
                "--scheme",
                "standard-webhooks",
                "--secret",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ],
            vec!["webhook-id: msg_9"],
            r#"{"type":"invoice.created"}"#,
            "msg_9",
        ),
        (
            vec![
                "--scheme",
                "slack",
                "--secret",
                "8f742231b10e8888abcd99yyyzzz85a5",
            ],
            vec![],
            r#"{"type":"event_callback","event_id":"Ev9","event":{"type":"reaction_added"}}"#,
            "Ev9",
        ),
        (
            vec!["--scheme", "square", "--secret", "sq-key", "--url", url],
            vec![],
            r#"{"event_id":"sq-9","type":"refund.created"}"#,
            "sq-9",
        ),
        (
            vec!["--scheme", "twilio", "--secret", "auth-token", "--url", url],
            vec![
                "Content-Type: application/x-www-form-urlencoded",
                "I-Twilio-Idempotency-Token: tw-9",
            ],
            "CallSid=CA1&Digits=1234",
            "tw-9",
        ),
    ];
    for (key, headers, body, event_id) in cases {
        let sample = Sample {
            key,
            headers,
            body: body.to_owned(),
        };
        let body = write_body(dir, &sample.body);
        let signed = sign(&sample, &body, &NOW.to_string());
        let run = verify(&sample, &signed, &body, &["--now", &NOW.to_string()]);
        assert_eq!(run.code, 0, "{:?}: {run:?}", sample.key);
        assert!(
            run.stdout.contains(&format!("event_id: {event_id}\n")),
            "{run:?}"
        );
    }
}

#[test]
fn a_tampered_body_is_invalid_and_says_why() {
    let scratch = Scratch::with_prefix("a_tampered_body_is_invalid_and_says_why");
    let dir = scratch.path();
    let sample = source("stripe", &[], r#"{"id":"evt_1","amount":4900}"#);
    let body = write_body(dir, &sample.body);
    let signed = sign(&sample, &body, &NOW.to_string());
    let tampered = write_body(dir, r#"{"id":"evt_1","amount":49}"#);
    let run = verify(&sample, &signed, &tampered, &["--now", &NOW.to_string()]);
    assert_invalid(&run, "signature_mismatch");
}

#[test]
fn a_missing_signature_is_invalid() {
    let sample = source("github", &["X-GitHub-Event: push"], "{}");
    let scratch = Scratch::with_prefix("a_missing_signature_is_invalid");
    let dir = scratch.path();
    let body = write_body(dir, &sample.body);
    assert_invalid(&verify(&sample, &[], &body, &[]), "signature_missing");
}

#[test]
fn a_stale_delivery_is_out_of_tolerance_unless_the_window_allows_it() {
    let scratch = Scratch::with_prefix("a_stale_delivery_is_out_of_tolerance");
    let dir = scratch.path();
    let sample = source(
        "slack",
        &[],
        r#"{"type":"event_callback","event_id":"Ev1"}"#,
    );
    let body = write_body(dir, &sample.body);
    let signed = sign(&sample, &body, &NOW.to_string());
    let later = (NOW + 301).to_string();
    let run = verify(&sample, &signed, &body, &["--now", &later]);
    assert_invalid(&run, "timestamp_out_of_tolerance");
    let run = verify(
        &sample,
        &signed,
        &body,
        &["--now", &later, "--tolerance", "400"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    // From the future is refused the same way.
    let earlier = (NOW - 301).to_string();
    let run = verify(&sample, &signed, &body, &["--now", &earlier]);
    assert_invalid(&run, "timestamp_out_of_tolerance");
}

#[test]
fn verify_with_a_source_tries_every_secret() {
    let scratch = Scratch::with_prefix("verify_with_a_source_tries_every_secret");
    let dir = scratch.path();
    let body_text = r#"{"zen":"Rotation."}"#;
    let body = write_body(dir, body_text);
    let headers = vec!["X-GitHub-Delivery: d-2", "X-GitHub-Event: push"];
    for (secret, valid) in [
        ("local-github-secret-previous", true),
        ("not-a-configured-secret", false),
    ] {
        let by_secret = Sample {
            key: vec!["--scheme", "github", "--secret", secret],
            headers: headers.clone(),
            body: body_text.to_owned(),
        };
        let signed = sign(&by_secret, &body, &NOW.to_string());
        let by_source = source("github", &headers, body_text);
        let run = verify(&by_source, &signed, &body, &[]);
        if valid {
            assert_valid(&run, "d-2", "push");
        } else {
            assert_invalid(&run, "signature_mismatch");
        }
    }
}

#[test]
fn a_source_signs_its_configured_url() {
    let scratch = Scratch::with_prefix("a_source_signs_its_configured_url");
    let dir = scratch.path();
    let sample = source(
        "square",
        &[],
        r#"{"event_id":"sq-2","type":"payment.updated"}"#,
    );
    let body = write_body(dir, &sample.body);
    let signed = sign(&sample, &body, &NOW.to_string());
    let configured = "http://127.0.0.1:3000/webhooks/square";
    for (url, valid) in [
        (configured, true),
        ("https://elsewhere.example/hook", false),
    ] {
        let by_secret = Sample {
            key: vec![
                "--scheme",
                "square",
                "--secret",
                "local-square-signature-key",
                "--url",
                url,
            ],
            headers: vec![],
            body: sample.body.clone(),
        };
        let run = verify(&by_secret, &signed, &body, &[]);
        assert_eq!(run.code, if valid { 0 } else { 1 }, "{url}: {run:?}");
    }
}

#[test]
fn the_body_can_come_from_stdin() {
    let body = br#"{"id":"evt_3","type":"customer.created"}"#;
    let now = NOW.to_string();
    let run = inlet_with_stdin(
        &[
            "sign",
            "--source",
            "stripe",
            "--body-file",
            "-",
            "--now",
            &now,
        ],
        body,
    );
    assert_eq!(run.code, 0, "{run:?}");
    let header = run.stdout.trim_end().to_owned();
    assert!(
        header.starts_with("stripe-signature: t=1795352400,v1="),
        "{header}"
    );
    let run = inlet_with_stdin(
        &[
            "verify",
            "--source",
            "stripe",
            "--body-file",
            "-",
            "--now",
            &now,
            "--header",
            &header,
        ],
        body,
    );
    assert_valid(&run, "evt_3", "customer.created");
}

#[test]
fn handshakes_are_reported() {
    let scratch = Scratch::with_prefix("handshakes_are_reported");
    let dir = scratch.path();
    let sample = source(
        "slack",
        &[],
        r#"{"token":"t","challenge":"ch4ll3nge","type":"url_verification"}"#,
    );
    let body = write_body(dir, &sample.body);
    let signed = sign(&sample, &body, &NOW.to_string());
    let run = verify(&sample, &signed, &body, &["--now", &NOW.to_string()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains(r#"handshake: answered with "{\"challenge\":\"ch4ll3nge\"}""#),
        "{run:?}"
    );
}

#[test]
fn a_bad_config_exits_2_naming_the_key() {
    let scratch = Scratch::with_prefix("a_bad_config_exits_2_naming_the_key");
    let dir = scratch.path();
    let cases = [
        (
            "[sources.github]\nscheme = \"gitlub\"\nsecrets = [\"env:A\"]\n",
            "sources.github.scheme",
        ),
        (
            "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:A\"]\ncolour = \"red\"\n",
            "colour",
        ),
        (
            "[sources.github]\nscheme = \"github\"\nsecrets = [\"hunter2\"]\n",
            "sources.github.secrets[0]",
        ),
        // Valid, but the secret it names is nowhere to be found.
        (
            "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:INLET_TEST_NO_SUCH_VAR\"]\n",
            "INLET_TEST_NO_SUCH_VAR",
        ),
    ];
    for (i, (text, key)) in cases.iter().enumerate() {
        let config = dir.join(format!("inlet-{i}.toml"));
        std::fs::write(&config, text).unwrap();
        let run = bare(
            &[
                "--config",
                config.to_str().unwrap(),
                "sign",
                "--source",
                "github",
            ],
            b"",
        );
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        assert!(run.stderr.contains(key), "`{key}` not named: {run:?}");
    }
    let missing = dir.join("absent.toml");
    let run = bare(
        &[
            "--config",
            missing.to_str().unwrap(),
            "verify",
            "--source",
            "github",
        ],
        b"",
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("absent.toml"), "{run:?}");
}

#[test]
fn usage_errors_exit_2() {
    let cases: [(&[&str], &str); 7] = [
        (&["sign", "--scheme", "hmac", "--secret", "x"], "--source"),
        (
            &["sign", "--scheme", "gitlub", "--secret", "x"],
            "unknown scheme",
        ),
        (
            &[
                "sign", "--source", "github", "--scheme", "github", "--secret", "x",
            ],
            "cannot be used with",
        ),
        (&["verify", "--scheme", "github"], "--secret"),
        (&["sign"], "--source"),
        (
            &["sign", "--source", "github", "--header", "no colon here"],
            "no colon here",
        ),
        (
            &["sign", "--source", "gitlab"],
            "unknown source `gitlab`; sources in",
        ),
    ];
    for (args, message) in cases {
        let run = inlet(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains(message),
            "{args:?}: `{message}` not in {:?}",
            run.stderr
        );
    }
    let run = inlet(&["sign", "--source", "github", "--url", "https://x.example"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("does not sign the URL"), "{run:?}");
    // Linear signs only bodies that carry their own timestamp.
    let run = inlet(&["sign", "--source", "linear"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("webhookTimestamp"), "{run:?}");
}

/// A scheme that signs the URL cannot sign without one: with `--scheme` the only place it can
/// come from is `--url`, and the message says so.
#[test]
fn a_url_signing_scheme_without_a_url_names_the_option() {
    use inlet_signature::Scheme;
    use inlet_testkit::providers::secrets_from;

    let mut checked = Vec::new();
    for provider in inlet_signature::registry::all() {
        let scheme = Scheme::Provider(provider);
        if !scheme.signs_url() {
            continue;
        }
        let name = provider.name;
        let secrets = secrets_from(&scheme, b"cli seed");
        // Verify too: a usage error naming the option, not a verdict about a source there is
        // none of.
        for (command, secret) in [("sign", &secrets.sign), ("verify", &secrets.verify)] {
            let run = inlet(&[command, "--scheme", name, "--secret", secret]);
            assert_eq!(run.code, 2, "{command} {name}: {run:?}");
            assert!(
                run.stderr.contains("--url") && run.stderr.contains(name),
                "{command} {name}: {run:?}"
            );
            assert!(run.stdout.is_empty(), "{command} {name}: {run:?}");
        }
        checked.push(name);
    }
    assert!(checked.contains(&"twilio"), "{checked:?}");
}

/// Every provider of the registry, through `inlet sign` and `inlet verify` with `--scheme` and
/// `--secret`: what sign prints verifies, another key does not. Asymmetric providers sign with
/// the private key and verify with the public one, each in the provider's own format.
#[test]
fn every_provider_signs_and_verifies_through_the_cli() {
    use inlet_signature::Scheme;
    use inlet_testkit::providers::{URL, base_headers, body_at, secrets_from, signing_key_from};

    let scratch = Scratch::with_prefix("every_provider_signs_and_verifies_through_the_cli");
    let dir = scratch.path();
    let now = NOW.to_string();
    for provider in inlet_signature::registry::all() {
        let scheme = Scheme::Provider(provider);
        let name = provider.name;
        let secrets = secrets_from(&scheme, b"cli seed");
        let stranger = secrets_from(&scheme, b"someone else");
        let body_file = dir.join(format!("{name}.body"));
        std::fs::write(&body_file, body_at(&scheme, NOW)).unwrap();
        let body_file = body_file.to_str().unwrap().to_owned();
        let signed_body = dir.join(format!("{name}.signed"));
        let signed_body = signed_body.to_str().unwrap().to_owned();
        let carries_in_body = scheme
            .sign_body(b"{}", &signing_key_from(&scheme, b"cli seed"), NOW)
            .is_some();

        let mut common: Vec<String> = Vec::new();
        for (header, value) in &base_headers(&scheme) {
            common.extend([
                "--header".into(),
                format!("{header}: {}", value.to_str().unwrap()),
            ]);
        }
        if scheme.signs_url() {
            common.extend(["--url".into(), URL.into()]);
        }
        let mut sign_args: Vec<String> = ["sign", "--scheme", name, "--secret", &secrets.sign]
            .map(str::to_owned)
            .to_vec();
        sign_args.extend([
            "--body-file".into(),
            body_file.clone(),
            "--now".into(),
            now.clone(),
        ]);
        sign_args.extend(common.iter().cloned());
        let verified_body = if carries_in_body {
            sign_args.extend(["--body-out".into(), signed_body.clone()]);
            signed_body.clone()
        } else {
            body_file.clone()
        };
        let run = inlet(&sign_args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(run.code, 0, "{name}: sign: {run:?}");

        let verify_with = |secret: &str, extra: &[&str]| {
            let mut args: Vec<String> = ["verify", "--scheme", name, "--secret", secret]
                .map(str::to_owned)
                .to_vec();
            args.extend([
                "--body-file".into(),
                verified_body.clone(),
                "--now".into(),
                now.clone(),
            ]);
            args.extend(common.iter().cloned());
            for line in run.stdout.lines() {
                args.extend(["--header".into(), line.to_owned()]);
            }
            args.extend(extra.iter().map(|s| (*s).to_owned()));
            inlet(&args.iter().map(String::as_str).collect::<Vec<_>>())
        };
        let valid = verify_with(&secrets.verify, &[]);
        assert_eq!(valid.code, 0, "{name}: {valid:?}");
        let refused = verify_with(&stranger.verify, &[]);
        assert_eq!(refused.code, 1, "{name}: another key: {refused:?}");
        if scheme.signs_method() {
            let other_method = verify_with(&secrets.verify, &["--method", "PUT"]);
            assert_invalid(&other_method, "signature_mismatch");
        }
    }
}

#[test]
fn method_is_refused_where_the_scheme_does_not_sign_it() {
    let run = inlet(&[
        "verify", "--scheme", "github", "--secret", "x", "--method", "PUT",
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--method"), "{run:?}");
}
