//! Hostile and unusual deliveries, per scheme: each must be rejected with the reason code the
//! ingest answer will carry, and nothing may panic. Also the features around the signature:
//! rotation, several signatures per header, handshakes, event naming, and the public URL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_signature::{
    Algorithm, CustomScheme, Encoding, Handshake, KeyError, Scheme, SignError, SignatureError,
    Verified,
};
use inlet_testkit::providers;
use inlet_testkit::providers::named;
use inlet_testkit::providers::{
    NOW, Signed, URL, code, encoded_range, key, label, other_key, replace_range, schemes, sign,
    signature_header, signed, signed_at,
};

fn expect_code(signed: &Signed, expected: &str, case: &str) {
    let result = signed.verify(&key(&signed.scheme));
    assert_eq!(
        code(&result),
        expected,
        "{} / {case}: {result:?}",
        label(&signed.scheme)
    );
}

/// The encoded signature alone, without the framing around it.
fn encoded(signed: &Signed) -> String {
    let text = signed.signature();
    text[encoded_range(&signed.scheme, &text)].to_owned()
}

/// The same delivery signed with a key that is not configured: a well-formed wrong signature.
fn wrong_encoded(scheme: &Scheme) -> String {
    let stranger = sign(
        scheme,
        providers::base_headers(scheme),
        providers::body_at(scheme, NOW),
        providers::url_for(scheme),
        &other_key(scheme),
        NOW,
    );
    encoded(&stranger)
}

fn bytes_value(bytes: &[u8]) -> HeaderValue {
    HeaderValue::from_bytes(bytes).unwrap_or_else(|e| panic!("{bytes:?}: {e}"))
}

// --- The signature header itself -----------------------------------------------------------------

#[test]
fn a_missing_signature_header_is_signature_missing() {
    for scheme in schemes() {
        let mut signed = signed(&scheme);
        assert!(signed.headers.remove(signature_header(&scheme)).is_some());
        expect_code(&signed, "signature_missing", "no signature header");
    }
}

#[test]
fn github_legacy_sha1_header_alone_is_signature_missing() {
    // GitHub still sends X-Hub-Signature (SHA-1) beside the SHA-256 one; it must not stand in.
    let mut signed = signed(&named("github"));
    let sha1 = signed.headers.remove("x-hub-signature-256").unwrap();
    signed.set(HeaderName::from_static("x-hub-signature"), sha1);
    expect_code(&signed, "signature_missing", "only x-hub-signature");
}

#[test]
fn an_empty_or_blank_signature_is_signature_missing() {
    for scheme in schemes() {
        for blank in ["", "   ", "\t"] {
            let mut signed = signed(&scheme);
            signed.set_signature(blank);
            expect_code(
                &signed,
                "signature_missing",
                &format!("signature {blank:?}"),
            );
        }
    }
}

#[test]
fn a_signature_short_of_one_character_is_malformed() {
    // One character short breaks the encoding itself (odd hex, unpadded base64).
    for scheme in schemes() {
        let mut signed = signed(&scheme);
        let mut text = signed.signature();
        text.pop();
        signed.set_signature(&text);
        expect_code(&signed, "signature_malformed", "truncated by one");
    }
}

#[test]
fn a_signature_cut_to_whole_bytes_is_rejected() {
    // Still well encoded, only too short: no digest has that length, so every provider calls it
    // malformed, whatever comparison it makes (issue 22: fifteen used to say mismatch).
    for scheme in schemes() {
        let mut signed = signed(&scheme);
        let text = signed.signature();
        let range = encoded_range(&scheme, &text);
        let half = &text[range.start..range.start + 16];
        signed.set_signature(&replace_range(&text, range, half));
        expect_code(&signed, "signature_malformed", "cut to whole bytes");
    }
}

#[test]
fn a_signature_outside_its_alphabet_is_malformed() {
    for scheme in schemes() {
        let original = signed(&scheme);
        let text = original.signature();
        let range = encoded_range(&scheme, &text);
        let len = range.len();
        let garbage: Vec<String> = match providers::encoding(&scheme) {
            // Base64 is valid-looking hex's superset, so hex gets letters past `f`.
            Encoding::Hex | Encoding::HexUpper => vec![
                "g".repeat(len),
                format!("{}Z", &text[range.start..range.end - 1]),
            ],
            // base64url's `-` and `_` are the likeliest wrong alphabet for standard base64.
            Encoding::Base64 => vec![
                "*".repeat(len),
                format!("-_{}", &text[range.start + 2..range.end]),
            ],
            // And standard base64's `+` and `/` for base64url.
            Encoding::Base64Url => vec![
                "*".repeat(len),
                format!("+/{}", &text[range.start + 2..range.end]),
            ],
        };
        for bad in garbage {
            let mut signed = original.clone();
            signed.set_signature(&replace_range(&text, range.clone(), &bad));
            expect_code(
                &signed,
                "signature_malformed",
                &format!("encoded as {bad:?}"),
            );
        }
    }
}

#[test]
fn an_unknown_signature_version_is_malformed() {
    for scheme in schemes() {
        let signed = signed(&scheme);
        let sig = encoded(&signed);
        // The right signature under a version or prefix this scheme does not check.
        let versions: Vec<String> = match scheme.name() {
            "github" => vec![format!("sha1={}", &sig[..40]), format!("sha512={sig}")],
            "twitch" => vec![format!("sha512={sig}"), format!("sha1={}", &sig[..40])],
            "stripe" => vec![format!("t={NOW},v0={sig}"), format!("t={NOW},v2={sig}")],
            "paddle" => vec![format!("ts={NOW};h2={sig}")],
            "slack" => vec![format!("v1={sig}"), sig.clone()],
            "standard-webhooks" => vec![format!("v2,{sig}"), format!("v1a,{sig}")],
            "linear" => vec![format!("sha256={sig}"), format!("v1={sig}")],
            "shopify" | "twilio" | "square" | "zendesk" => {
                vec![format!("sha256={sig}"), format!("v1,{sig}")]
            }
            "hmac" => match &scheme {
                Scheme::Hmac(custom) if !custom.prefix.is_empty() => {
                    vec![sig.clone(), format!("sha512={sig}")]
                }
                _ => vec![format!("sha256={sig}")],
            },
            other => unreachable!("{other}"),
        };
        for text in versions {
            let mut signed = signed.clone();
            signed.set_signature(&text);
            expect_code(
                &signed,
                "signature_malformed",
                &format!("version in {text:?}"),
            );
        }
    }
}

#[test]
fn two_different_timestamps_in_the_header_are_malformed() {
    // The same timestamp again is how a rotation with a group per secret looks (Persona's
    // `t=…,v1=… t=…,v1=…`); two that differ leave it open which one was signed.
    let stripe = signed(&named("stripe"));
    let sig = encoded(&stripe);
    for text in [
        format!("t={NOW},v1={sig} t={NOW},v1={}", "0".repeat(64)),
        format!("t={NOW},t={NOW},v1={sig}"),
    ] {
        let mut signed = stripe.clone();
        signed.set_signature(&text);
        expect_code(&signed, "ok", &text);
    }
    for text in [
        format!("t={NOW},v1={sig},t={}", NOW + 1),
        format!("t={},v1={sig} t={NOW},v1={sig}", NOW - 1),
    ] {
        let mut signed = stripe.clone();
        signed.set_signature(&text);
        expect_code(&signed, "signature_malformed", &text);
    }

    let paddle = signed(&named("paddle"));
    let sig = encoded(&paddle);
    let text = format!("ts={};h1={sig};ts={NOW}", NOW - 1);
    let mut twice = paddle.clone();
    twice.set_signature(&text);
    expect_code(&twice, "signature_malformed", &text);
}

#[test]
fn a_header_sent_twice_is_malformed_even_with_identical_copies() {
    // Two copies leave it to whichever proxy or parser reads which; refuse rather than pick.
    for scheme in schemes() {
        for name in scheme.authenticating_headers() {
            let mut signed = signed(&scheme);
            let value = signed.headers.get(&name).unwrap().clone();
            signed.headers.append(name.clone(), value);
            expect_code(&signed, "signature_malformed", &format!("{name} twice"));
        }
    }
}

#[test]
fn non_ascii_bytes_in_an_authenticating_header_are_malformed() {
    for scheme in schemes() {
        for name in scheme.authenticating_headers() {
            for high in [0x80u8, 0xe9, 0xff] {
                let mut signed = signed(&scheme);
                let mut bytes = signed.headers[&name].as_bytes().to_vec();
                bytes.insert(bytes.len() / 2, high);
                signed.set(name.clone(), bytes_value(&bytes));
                expect_code(
                    &signed,
                    "signature_malformed",
                    &format!("{name} with {high:#x}"),
                );
            }
        }
    }
}

#[test]
fn a_ten_kilobyte_signature_header_is_rejected() {
    for scheme in schemes() {
        let original = signed(&scheme);
        let text = original.signature();
        let range = encoded_range(&scheme, &text);

        // Well encoded but absurdly long: the wrong length, malformed.
        let mut long = original.clone();
        long.set_signature(&replace_range(&text, range, &"a".repeat(10 * 1024)));
        expect_code(&long, "signature_malformed", "10 KB, well encoded");

        // Plain junk is malformed whatever the scheme's framing.
        let mut junk = original.clone();
        junk.set_signature(&"!".repeat(10 * 1024));
        expect_code(&junk, "signature_malformed", "10 KB of junk");
    }
}

#[test]
fn a_header_of_many_signatures_is_capped() {
    // A valid signature hidden after sixteen decoys must not buy sixteen-plus comparisons.
    for scheme in [named("stripe"), named("paddle"), named("standard-webhooks")] {
        let signed = signed(&scheme);
        let good = encoded(&signed);
        let bad = wrong_encoded(&scheme);
        let header = |decoys: usize| -> String {
            let mut items: Vec<String> = std::iter::repeat_n(bad.clone(), decoys)
                .chain([good.clone()])
                .map(|sig| match scheme.name() {
                    "stripe" => format!("v1={sig}"),
                    "paddle" => format!("h1={sig}"),
                    _ => format!("v1,{sig}"),
                })
                .collect();
            match scheme.name() {
                "stripe" => {
                    items.insert(0, format!("t={NOW}"));
                    items.join(",")
                }
                "paddle" => {
                    items.insert(0, format!("ts={NOW}"));
                    items.join(";")
                }
                _ => items.join(" "),
            }
        };
        let mut at_cap = signed.clone();
        at_cap.set_signature(&header(15));
        expect_code(&at_cap, "ok", "sixteen signatures");

        let mut over = signed.clone();
        over.set_signature(&header(16));
        expect_code(&over, "signature_malformed", "seventeen signatures");

        let mut huge = signed.clone();
        let text = header(250);
        assert!(text.len() > 10 * 1024);
        huge.set_signature(&text);
        expect_code(
            &huge,
            "signature_malformed",
            "two hundred and fifty signatures",
        );
    }
}

// --- Timestamps ----------------------------------------------------------------------------------

fn timestamped() -> Vec<Scheme> {
    schemes()
        .into_iter()
        .filter(Scheme::has_timestamp)
        .collect()
}

#[test]
fn every_scheme_with_a_timestamp_says_so() {
    // The rest of this section iterates over `has_timestamp`; pin it so a scheme cannot drop out.
    let names: Vec<String> = timestamped().iter().map(label).collect();
    assert_eq!(names.len(), 9, "{names:?}");
    for scheme in schemes() {
        let mut probe = signed(&scheme);
        assert_eq!(
            providers::set_timestamp(&mut probe, "1"),
            scheme.has_timestamp(),
            "{}",
            label(&scheme)
        );
    }
}

#[test]
fn a_timestamp_that_is_not_one_is_malformed() {
    for scheme in timestamped() {
        let mut bad = vec![
            "abc",
            "1763816400x",
            "0x691f2c50",
            "1.7e9",
            "１７６３８１６４００",
        ];
        // Epoch seconds where an RFC 3339 date-time belongs, and the reverse.
        match scheme.name() {
            "zendesk" | "twitch" => bad.extend(["1763816400", "2025-11-22T13:00:00"]),
            "linear" => bad.extend(["2025-11-22T13:00:00Z", "99999999999999999999"]),
            _ => bad.extend(["2025-11-22T13:00:00Z", "+1763816400", "-1763816400"]),
        }
        for text in bad {
            let mut signed = signed(&scheme);
            assert!(providers::set_timestamp(&mut signed, text));
            expect_code(
                &signed,
                "signature_malformed",
                &format!("timestamp {text:?}"),
            );
        }
    }
}

#[test]
fn stale_and_future_timestamps_are_out_of_tolerance_and_told_apart() {
    for scheme in timestamped() {
        let stale = signed_at(&scheme, NOW - 301).verify(&key(&scheme));
        assert_eq!(
            stale,
            Err(SignatureError::Stale {
                age_secs: 301,
                tolerance_secs: 300
            }),
            "{}",
            label(&scheme)
        );
        let future = signed_at(&scheme, NOW + 301).verify(&key(&scheme));
        assert_eq!(
            future,
            Err(SignatureError::Future {
                ahead_secs: 301,
                tolerance_secs: 300
            }),
            "{}",
            label(&scheme)
        );
        for result in [&stale, &future] {
            assert_eq!(code(result), "timestamp_out_of_tolerance");
        }
        // The tolerance itself is inside the window, on both sides.
        for at in [NOW - 300, NOW + 300] {
            let edge = signed_at(&scheme, at).verify(&key(&scheme));
            assert!(edge.is_ok(), "{} at {at}: {edge:?}", label(&scheme));
        }
    }
}

#[test]
fn the_window_is_checked_before_any_signature() {
    // A stale delivery under the wrong key reports the timestamp: no HMAC was worth computing.
    for scheme in timestamped() {
        let result = signed_at(&scheme, NOW - 3600).verify(&other_key(&scheme));
        assert!(
            matches!(result, Err(SignatureError::Stale { .. })),
            "{}: {result:?}",
            label(&scheme)
        );
    }
}

#[test]
fn extreme_clocks_neither_panic_nor_accept() {
    for scheme in schemes() {
        let signed = signed(&scheme);
        for now in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX] {
            let result = signed.verify_keys(&[key(&scheme)], now);
            let expected = if scheme.has_timestamp() {
                "timestamp_out_of_tolerance"
            } else {
                // Without a timestamp the clock plays no part.
                "ok"
            };
            assert_eq!(
                code(&result),
                expected,
                "{} at now={now}: {result:?}",
                label(&scheme)
            );
        }
    }
}

#[test]
fn timestamps_far_from_now_do_not_overflow() {
    for scheme in timestamped() {
        let far: &[&str] = match scheme.name() {
            "zendesk" | "twitch" => &["0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"],
            "linear" => &["-9223372036854775808", "9223372036854775807", "0"],
            _ => &["0", "999999999999"],
        };
        for text in far {
            let mut signed = signed(&scheme);
            assert!(providers::set_timestamp(&mut signed, text));
            expect_code(
                &signed,
                "timestamp_out_of_tolerance",
                &format!("timestamp {text}"),
            );
        }
    }
}

#[test]
fn the_timestamp_is_signed_as_written_not_as_the_instant_it_names() {
    // Same instant, other spelling: accepting it would let the unsigned text vary freely.
    let spellings: [(Scheme, &[&str]); 3] = [
        (
            named("zendesk"),
            &[
                "2025-11-22T13:00:00.000Z",
                "2025-11-22T13:00:00+00:00",
                "2025-11-22t13:00:00z",
            ],
        ),
        (
            named("twitch"),
            &["2025-11-22T13:00:00.0Z", "2025-11-22T14:00:00+01:00"],
        ),
        (named("slack"), &["01763816400"]),
    ];
    for (scheme, texts) in spellings {
        for text in texts {
            let mut signed = signed(&scheme);
            assert!(providers::set_timestamp(&mut signed, text));
            expect_code(&signed, "signature_mismatch", text);
        }
    }
}

// --- Keys and several signatures -----------------------------------------------------------------

#[test]
fn rotation_any_configured_key_may_match_and_none_is_no_match() {
    for scheme in schemes() {
        let signed = signed(&scheme);
        let right = key(&scheme);
        let wrong = other_key(&scheme);
        let third = providers::key_from(&scheme, b"a third secret");
        let ok = |keys: &[_]| code(&signed.verify_keys(keys, NOW));
        assert_eq!(
            ok(&[wrong.clone(), right.clone()]),
            "ok",
            "{}",
            label(&scheme)
        );
        assert_eq!(
            ok(&[wrong.clone(), right.clone(), third.clone()]),
            "ok",
            "{}",
            label(&scheme)
        );
        assert_eq!(
            ok(&[wrong, third]),
            "signature_mismatch",
            "{}",
            label(&scheme)
        );
        // No key configured must never mean "nothing to check".
        assert_eq!(ok(&[]), "signature_mismatch", "{}", label(&scheme));
    }
}

#[test]
fn several_signatures_in_one_header_any_one_may_match() {
    let cases = [
        (
            named("stripe"),
            "t={t},v1={bad},v1={good}",
            "t={t},v1={bad},v1={bad}",
        ),
        (
            named("stripe"),
            "t={t},v0={bad},v1={good},v9={bad}",
            "t={t},v0={good},v1={bad}",
        ),
        (named("stripe"), "v1={good},t={t}", "v1={bad},t={t}"),
        (
            named("paddle"),
            "ts={t};h1={bad};h1={good}",
            "ts={t};h1={bad};h1={bad}",
        ),
        (
            named("standard-webhooks"),
            "v1,{bad} v1,{good}",
            "v1,{bad} v1,{bad}",
        ),
        (
            named("standard-webhooks"),
            "v1a,{bad}  v1,{good}",
            "v1,{bad} v1a,{good}",
        ),
    ];
    for (scheme, accepted, refused) in cases {
        let signed = signed(&scheme);
        let fill = |template: &str| {
            template
                .replace("{t}", &NOW.to_string())
                .replace("{good}", &encoded(&signed))
                .replace("{bad}", &wrong_encoded(&scheme))
        };
        let mut yes = signed.clone();
        yes.set_signature(&fill(accepted));
        expect_code(&yes, "ok", accepted);
        let mut no = signed.clone();
        no.set_signature(&fill(refused));
        expect_code(&no, "signature_mismatch", refused);
    }
}

#[test]
fn secrets_that_cannot_be_keys_are_refused() {
    for scheme in schemes() {
        assert_eq!(scheme.key(""), Err(KeyError::Empty), "{}", label(&scheme));
    }
    let sw = named("standard-webhooks");
    assert_eq!(sw.key("whsec_"), Err(KeyError::Empty));
    assert_eq!(sw.key("whsec_not base64!"), Err(KeyError::NotBase64));
    assert_eq!(
        sw.key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .map(|k| k.as_bytes().len()),
        Ok(24)
    );
    // The prefix is optional: the bare base64 is the same key.
    assert_eq!(
        sw.key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        sw.key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    );
    // Everyone else uses the secret's text as the key, `whsec_` included (Stripe does).
    assert_eq!(
        named("stripe").key("whsec_abc").unwrap().as_bytes(),
        b"whsec_abc"
    );
}

#[test]
fn keys_do_not_print_their_bytes() {
    let key = named("github").key("hunter2-very-secret").unwrap();
    assert!(!format!("{key:?}").contains("hunter2"));
}

// --- Standard Webhooks under Svix names ----------------------------------------------------------

#[test]
fn svix_header_names_work_for_standard_webhooks() {
    assert_eq!(Scheme::named("svix"), Some(named("standard-webhooks")));
    let original = signed(&named("standard-webhooks"));
    let mut svix = original.clone();
    svix.headers = HeaderMap::new();
    for (name, value) in &original.headers {
        let renamed = name.as_str().replace("webhook-", "svix-");
        svix.headers.insert(
            HeaderName::from_bytes(renamed.as_bytes()).unwrap(),
            value.clone(),
        );
    }
    assert!(!svix.headers.contains_key("webhook-signature"));
    let verified = svix.verify(&key(&named("standard-webhooks"))).unwrap();
    assert_eq!(
        verified.event_id.as_deref(),
        original.headers["webhook-id"].to_str().ok()
    );

    let mut tampered = svix.clone();
    tampered.body.push(b' ');
    expect_code(&tampered, "signature_mismatch", "svix names, tampered body");

    let mut no_id = svix.clone();
    no_id.headers.remove("svix-id");
    expect_code(&no_id, "signature_missing", "svix names without svix-id");
}

#[test]
fn standard_webhooks_id_and_timestamp_are_required_and_signed() {
    for missing in ["webhook-id", "webhook-timestamp"] {
        let mut signed = signed(&named("standard-webhooks"));
        signed.headers.remove(missing);
        expect_code(&signed, "signature_missing", missing);
    }
    let mut other_id = signed(&named("standard-webhooks"));
    other_id.set(
        HeaderName::from_static("webhook-id"),
        HeaderValue::from_static("msg_other"),
    );
    expect_code(&other_id, "signature_mismatch", "a different webhook-id");
}

// --- Handshakes ----------------------------------------------------------------------------------

#[test]
fn slack_url_verification_is_a_handshake_only_when_signed() {
    let scheme = named("slack");
    let body =
        br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let signed = sign(
        &scheme,
        HeaderMap::new(),
        body.to_vec(),
        None,
        &key(&scheme),
        NOW,
    );
    let verified = signed.verify(&key(&scheme)).unwrap();
    assert_eq!(
        verified.handshake,
        Some(Handshake::json(serde_json::json!({
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        })))
    );
    assert_eq!(
        code(&signed.verify(&other_key(&scheme))),
        "signature_mismatch"
    );

    // The challenge echoed back must be the one signed: a swapped challenge is a mismatch.
    let mut swapped = signed.clone();
    swapped.body = String::from_utf8(swapped.body)
        .unwrap()
        .replace("3eZbrw", "XXXXXX")
        .into_bytes();
    expect_code(&swapped, "signature_mismatch", "swapped challenge");

    // An ordinary event is not a handshake.
    let event = sign(
        &scheme,
        HeaderMap::new(),
        br#"{"type":"event_callback","challenge":"x","event":{"type":"message"}}"#.to_vec(),
        None,
        &key(&scheme),
        NOW,
    );
    assert_eq!(event.verify(&key(&scheme)).unwrap().handshake, None);
}

#[test]
fn twitch_challenge_is_a_handshake_only_when_signed() {
    let scheme = named("twitch");
    let mut headers = HeaderMap::new();
    headers.insert(
        "twitch-eventsub-message-type",
        HeaderValue::from_static("webhook_callback_verification"),
    );
    headers.insert(
        "twitch-eventsub-subscription-type",
        HeaderValue::from_static("channel.follow"),
    );
    let body = br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow"}}"#;
    let signed = sign(&scheme, headers, body.to_vec(), None, &key(&scheme), NOW);
    let verified = signed.verify(&key(&scheme)).unwrap();
    assert_eq!(
        verified.handshake,
        Some(Handshake::text(
            "pogchamp-kappa-360noscope-vohiyo".to_owned()
        ))
    );
    assert_eq!(
        code(&signed.verify(&other_key(&scheme))),
        "signature_mismatch"
    );

    let mut stale = signed_at(&scheme, NOW - 301);
    stale.headers.insert(
        "twitch-eventsub-message-type",
        HeaderValue::from_static("webhook_callback_verification"),
    );
    expect_code(&stale, "timestamp_out_of_tolerance", "stale challenge");

    // A notification carrying a `challenge` field is still just a notification.
    let mut notification = signed.clone();
    notification.set(
        HeaderName::from_static("twitch-eventsub-message-type"),
        HeaderValue::from_static("notification"),
    );
    assert_eq!(notification.verify(&key(&scheme)).unwrap().handshake, None);
}

// --- Event id and type ---------------------------------------------------------------------------

fn named_event(scheme: &Scheme, headers: &[(&'static str, &'static str)], body: &[u8]) -> Verified {
    let mut map = providers::base_headers(scheme);
    for (name, value) in headers {
        map.insert(*name, HeaderValue::from_static(value));
    }
    let signed = sign(
        scheme,
        map,
        body.to_vec(),
        providers::url_for(scheme),
        &key(scheme),
        NOW,
    );
    signed
        .verify(&key(scheme))
        .unwrap_or_else(|e| panic!("{}: {e}", label(scheme)))
}

fn id_and_type(verified: &Verified) -> (Option<&str>, Option<&str>) {
    (verified.event_id.as_deref(), verified.event_type.as_deref())
}

#[test]
fn github_names_events_by_delivery_and_event_headers() {
    let verified = named_event(
        &named("github"),
        &[
            ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
            ("x-github-event", "push"),
        ],
        br#"{"id":"not-this","type":"nor-this"}"#,
    );
    assert_eq!(
        id_and_type(&verified),
        (Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"), Some("push"))
    );
    assert_eq!(
        id_and_type(&named_event(&named("github"), &[], b"{}")),
        (None, None)
    );
}

#[test]
fn stripe_names_events_by_body_id_and_type() {
    let verified = named_event(
        &named("stripe"),
        &[],
        br#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","type":"card"}}}"#,
    );
    assert_eq!(
        id_and_type(&verified),
        (
            Some("evt_1NG8Du2eZvKYlo2CUI79vXWy"),
            Some("payment_intent.succeeded")
        )
    );
    // A body that is not JSON still verifies; it just names nothing.
    assert_eq!(
        id_and_type(&named_event(&named("stripe"), &[], b"not json")),
        (None, None)
    );
}

#[test]
fn standard_webhooks_names_events_by_webhook_id_and_body_type() {
    let verified = named_event(
        &named("standard-webhooks"),
        &[("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")],
        br#"{"type":"invoice.paid","data":{"id":"inv_1"}}"#,
    );
    assert_eq!(
        id_and_type(&verified),
        (
            Some("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
            Some("invoice.paid")
        )
    );
}

#[test]
fn shopify_names_events_by_webhook_id_then_event_id_and_topic() {
    let verified = named_event(
        &named("shopify"),
        &[
            (
                "x-shopify-webhook-id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            ),
            ("x-shopify-event-id", "98880550-7158-44d4-b7cd-2c97c8a091b5"),
            ("x-shopify-topic", "orders/create"),
        ],
        b"{}",
    );
    assert_eq!(
        id_and_type(&verified),
        (
            Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
            Some("orders/create")
        )
    );
    let fallback = named_event(
        &named("shopify"),
        &[("x-shopify-event-id", "98880550-7158-44d4-b7cd-2c97c8a091b5")],
        b"{}",
    );
    assert_eq!(
        id_and_type(&fallback),
        (Some("98880550-7158-44d4-b7cd-2c97c8a091b5"), None)
    );
}

#[test]
fn slack_names_events_by_event_id_and_inner_type_then_outer_type() {
    let callback = named_event(
        &named("slack"),
        &[],
        br#"{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention","text":"hi"}}"#,
    );
    assert_eq!(
        id_and_type(&callback),
        (Some("Ev08MFMKH6"), Some("app_mention"))
    );
    let outer = named_event(
        &named("slack"),
        &[],
        br#"{"type":"app_rate_limited","minute_rate_limited":1518467820}"#,
    );
    assert_eq!(id_and_type(&outer), (None, Some("app_rate_limited")));
    // Slash commands are forms: verified, unnamed.
    let form = named_event(&named("slack"), &[], b"command=%2Fweather&text=94070");
    assert_eq!(form, Verified::default());
}

#[test]
fn twilio_names_events_by_idempotency_token_only() {
    let verified = named_event(
        &named("twilio"),
        &[(
            "i-twilio-idempotency-token",
            "a3c4f1e2-0f9b-4c1d-8e7a-5b6c7d8e9f00",
        )],
        b"CallSid=CA1&CallStatus=ringing",
    );
    assert_eq!(
        id_and_type(&verified),
        (Some("a3c4f1e2-0f9b-4c1d-8e7a-5b6c7d8e9f00"), None)
    );
}

#[test]
fn paddle_names_events_by_body_event_id_and_event_type() {
    let verified = named_event(
        &named("paddle"),
        &[],
        br#"{"event_id":"evt_01h8bzakzx3hm2fmen703n5q45","event_type":"transaction.completed","data":{"id":"txn_1"}}"#,
    );
    assert_eq!(
        id_and_type(&verified),
        (
            Some("evt_01h8bzakzx3hm2fmen703n5q45"),
            Some("transaction.completed")
        )
    );
}

#[test]
fn zendesk_names_events_by_body_id_else_invocation_header() {
    let header = [("x-zendesk-webhook-invocation-id", "8350205582")];
    let with_id = named_event(
        &named("zendesk"),
        &header,
        br#"{"id":"cbe4028c-7239-495d-b020-f22348516046","type":"zen:event-type:ticket.created"}"#,
    );
    assert_eq!(
        id_and_type(&with_id),
        (
            Some("cbe4028c-7239-495d-b020-f22348516046"),
            Some("zen:event-type:ticket.created")
        )
    );
    let without = named_event(&named("zendesk"), &header, br#"{"ticket":{"id":35436}}"#);
    assert_eq!(id_and_type(&without), (Some("8350205582"), None));
}

#[test]
fn square_names_events_by_body_event_id_and_type() {
    let verified = named_event(
        &named("square"),
        &[],
        br#"{"merchant_id":"M1","type":"payment.created","event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc","data":{"type":"payment","id":"KkAkhdMs"}}"#,
    );
    assert_eq!(
        id_and_type(&verified),
        (
            Some("6a8f5f28-54a1-4eb0-a98a-3111513fd4fc"),
            Some("payment.created")
        )
    );
}

#[test]
fn linear_names_events_by_delivery_and_event_headers() {
    let body = providers::linear_body(NOW * 1000, r#"{"id":"issue_1"}"#);
    let verified = named_event(
        &named("linear"),
        &[
            ("linear-delivery", "234d1a4e-b617-4388-90fe-adc3633d6b72"),
            ("linear-event", "Issue"),
        ],
        body.as_bytes(),
    );
    assert_eq!(
        id_and_type(&verified),
        (Some("234d1a4e-b617-4388-90fe-adc3633d6b72"), Some("Issue"))
    );
}

#[test]
fn twitch_names_events_by_message_id_and_subscription_type() {
    let verified = named_event(
        &named("twitch"),
        &[
            (
                "twitch-eventsub-message-id",
                "befa7b53-d79d-478f-86b9-120f112b044e",
            ),
            ("twitch-eventsub-message-type", "notification"),
            ("twitch-eventsub-subscription-type", "channel.follow"),
        ],
        br#"{"subscription":{"type":"channel.follow"},"event":{"user_id":"1337"}}"#,
    );
    assert_eq!(
        id_and_type(&verified),
        (
            Some("befa7b53-d79d-478f-86b9-120f112b044e"),
            Some("channel.follow")
        )
    );
}

#[test]
fn custom_hmac_names_events_by_header_then_json_pointer() {
    let mut custom = CustomScheme::new("x-signature", Algorithm::Sha256, Encoding::Hex);
    custom.id_header = Some("x-event-id");
    custom.id_pointer = Some("/meta/id");
    custom.type_pointer = Some("/meta/kind");
    let scheme = Scheme::Hmac(Box::new(custom));
    let body = br#"{"meta":{"id":4711,"kind":"contact.updated"}}"#;
    let from_header = named_event(&scheme, &[("x-event-id", "hdr-1")], body);
    assert_eq!(
        id_and_type(&from_header),
        (Some("hdr-1"), Some("contact.updated"))
    );
    let from_body = named_event(&scheme, &[], body);
    assert_eq!(
        id_and_type(&from_body),
        (Some("4711"), Some("contact.updated"))
    );
    let plain = named_event(&providers::custom_hex(), &[("x-event-id", "hdr-1")], body);
    assert_eq!(id_and_type(&plain), (None, None));
}

// --- Bodies --------------------------------------------------------------------------------------

#[test]
fn deeply_nested_signed_bodies_do_not_exhaust_the_stack() {
    // Event naming parses the body after the signature checks out, and a signed body is still
    // attacker-shaped for providers where anyone can trigger events. Depth must not overflow.
    let depth = 100_000;
    let bodies = [
        format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        format!("{{\"id\":{}{}}}", "[".repeat(depth), "]".repeat(depth)),
        format!("{}1{}", "{\"event\":".repeat(depth), "}".repeat(depth)),
        "{\"type\":".repeat(depth),
    ];
    for scheme in schemes() {
        for body in &bodies {
            let signed = if matches!(scheme.name(), "linear") {
                // Linear's `sign` rightly refuses a body it cannot read a timestamp from, so
                // sign by hand: verification must still cope with what a provider could send.
                let body = format!("{{\"webhookTimestamp\":{},\"x\":{body}}}", NOW * 1000);
                let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(
                    key(&scheme).as_bytes(),
                )
                .unwrap();
                hmac::Mac::update(&mut mac, body.as_bytes());
                let tag = hex::encode(hmac::Mac::finalize(mac).into_bytes());
                let mut signed = Signed {
                    scheme: scheme.clone(),
                    headers: HeaderMap::new(),
                    body: body.into_bytes(),
                    url: None,
                };
                signed.set_signature(&tag);
                signed
            } else {
                sign(
                    &scheme,
                    providers::base_headers(&scheme),
                    body.clone().into_bytes(),
                    providers::url_for(&scheme),
                    &key(&scheme),
                    NOW,
                )
            };
            // Ok or a clean error are both fine; a crash is not.
            let result = signed.verify(&key(&scheme));
            assert!(
                matches!(
                    code(&result),
                    "ok" | "signature_malformed" | "signature_missing" | "malformed_body"
                ),
                "{}: {result:?}",
                label(&scheme)
            );
        }
    }
}

// --- Twilio's JSON bodies and the public URL -----------------------------------------------------

fn twilio_json(body: &[u8]) -> Signed {
    providers::twilio_json(body, &key(&named("twilio")), NOW)
}

#[test]
fn twilio_json_bodies_are_signed_through_body_sha256() {
    let body = br#"{"ParentAccountSid":"AC1","Payload":"{\"resource_sid\":\"SM1\"}"}"#;
    let signed = twilio_json(body);
    expect_code(&signed, "ok", "JSON body with bodySHA256");

    let mut tampered = signed.clone();
    tampered.body[2] ^= 0x20;
    expect_code(&tampered, "signature_mismatch", "tampered JSON body");

    let mut no_hash = signed.clone();
    no_hash.url = Some(URL.to_owned());
    expect_code(
        &no_hash,
        "signature_malformed",
        "JSON body, URL without bodySHA256",
    );

    let mut bad_hash = signed.clone();
    bad_hash.url = Some(format!("{URL}&bodySHA256=zz"));
    expect_code(&bad_hash, "signature_malformed", "bodySHA256 not hex");
}

#[test]
fn twilio_json_signature_cannot_be_replayed_as_an_empty_form() {
    // The URL signature covers a JSON body only through bodySHA256. Were the (unsigned)
    // Content-Type able to switch verification to form parameters, a captured signature would
    // carry any body whose parameters are empty.
    let signed = twilio_json(br#"{"event":"real"}"#);
    for forged in [&b""[..], b"&", b"=&&="] {
        let mut replay = signed.clone();
        replay.set(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(providers::FORM),
        );
        replay.body = forged.to_vec();
        let result = replay.verify(&key(&named("twilio")));
        assert!(result.is_err(), "form body {forged:?} accepted: {result:?}");
    }
}

#[test]
fn twilio_form_parameters_are_covered() {
    let signed = signed(&named("twilio"));
    let mut changed = signed.clone();
    changed.body = b"CallSid=CA123&From=%2B15551230001&Body=hello+world".to_vec();
    expect_code(&changed, "signature_mismatch", "changed form value");
    let mut added = signed.clone();
    added.body.extend_from_slice(b"&Extra=1");
    expect_code(&added, "signature_mismatch", "added form parameter");
}

#[test]
fn url_signing_schemes_need_a_url_to_verify_and_to_sign() {
    for scheme in schemes().into_iter().filter(Scheme::signs_url) {
        let mut signed = signed(&scheme);
        signed.url = None;
        let result = signed.verify(&key(&scheme));
        assert_eq!(
            result,
            Err(SignatureError::UrlRequired),
            "{}",
            label(&scheme)
        );
        assert_eq!(code(&result), "url_not_configured");

        let delivery = signed.delivery();
        assert_eq!(
            scheme.sign(&delivery, &key(&scheme), NOW),
            Err(SignError::UrlRequired),
            "{}",
            label(&scheme)
        );
    }
    let names: Vec<&str> = schemes()
        .iter()
        .filter(|s| s.signs_url())
        .map(Scheme::name)
        .collect();
    assert_eq!(names, ["twilio", "square"]);
}

#[test]
fn a_different_url_is_a_mismatch() {
    for scheme in schemes().into_iter().filter(Scheme::signs_url) {
        for url in [
            "https://hooks.example.com/webhooks/src?team=8",
            "https://hooks.example.com/webhooks/src",
            "http://hooks.example.com/webhooks/src?team=7",
            "https://evil.example.com/webhooks/src?team=7",
        ] {
            let mut signed = signed(&scheme);
            signed.url = Some(url.to_owned());
            expect_code(&signed, "signature_mismatch", url);
        }
    }
}

#[test]
fn schemes_that_ignore_the_url_verify_with_or_without_one() {
    for scheme in schemes().into_iter().filter(|s| !s.signs_url()) {
        let mut signed = signed(&scheme);
        signed.url = Some(URL.to_owned());
        expect_code(&signed, "ok", "with a URL");
    }
}

// --- Linear's body timestamp and the unsigned scheme ---------------------------------------------

#[test]
fn linear_needs_a_json_body_with_its_timestamp() {
    let scheme = named("linear");
    let mut not_json = signed(&scheme);
    not_json.body = b"webhookTimestamp=1763816400000".to_vec();
    expect_code(&not_json, "malformed_body", "form body");

    let mut no_stamp = signed(&scheme);
    no_stamp.body = br#"{"action":"create"}"#.to_vec();
    expect_code(&no_stamp, "signature_missing", "no webhookTimestamp");

    let headers = HeaderMap::new();
    let delivery = inlet_signature::Delivery {
        headers: &headers,
        body: br#"{"action":"create"}"#,
        url: None,
        method: "POST",
        query: None,
    };
    assert_eq!(
        scheme.sign(&delivery, &key(&scheme), NOW),
        Err(SignError::BodyTimestampMissing("webhookTimestamp"))
    );
}

#[test]
fn the_unsigned_scheme_has_nothing_to_sign() {
    let headers = HeaderMap::new();
    let delivery = inlet_signature::Delivery {
        headers: &headers,
        body: b"{}",
        url: None,
        method: "POST",
        query: None,
    };
    let key = named("github").key("x").unwrap();
    assert_eq!(
        Scheme::None.sign(&delivery, &key, NOW),
        Err(SignError::Unsigned)
    );
    assert_eq!(Scheme::named("none"), Some(Scheme::None));
    assert!(!Scheme::None.has_timestamp());
}

#[test]
fn every_configurable_name_is_a_scheme_with_that_name() {
    for provider in inlet_signature::registry::all() {
        for name in std::iter::once(&provider.name).chain(provider.aliases) {
            let scheme = Scheme::named(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(scheme.name(), provider.name);
        }
    }
    assert_eq!(
        Scheme::named("hmac"),
        None,
        "hmac needs settings, so it has no bare name"
    );
    assert_eq!(Scheme::named("GitHub"), None);
}

#[test]
fn twilio_refuses_to_sign_a_json_body_without_the_body_hash() {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    let key = named("twilio").key("token").unwrap();
    let delivery = inlet_signature::Delivery {
        headers: &headers,
        body: b"{}",
        url: Some("https://example.com/hook"),
        method: "POST",
        query: None,
    };
    assert_eq!(
        named("twilio").sign(&delivery, &key, 0),
        Err(inlet_signature::SignError::BodyHashRequired)
    );
}
