//! `inlet send` through the built binary, posting to a listener of the test's own that records
//! each request and answers 202.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::inlet;
use inlet_testkit::{Run, Scratch, repo_root};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::mpsc;

/// One request as the listener read it: lower-case header names, in order, and the body.
#[derive(Debug)]
struct Request {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A listener on a free loopback port that answers each request 202 and hands it over.
fn listener() -> (String, mpsc::Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhooks/test", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            // Handed over before the answer: `inlet send` may exit as soon as it reads the 202,
            // and the test looks for the request right after.
            if tx.send(Request { headers, body }).is_err() {
                return;
            }
            let _ = stream.write_all(
                b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
            );
        }
    });
    (url, rx)
}

/// `inlet send <args> --url <listener>` with the repository's samples; the run and the request.
fn send(args: &[&str]) -> (Run, Option<Request>) {
    let (url, requests) = listener();
    let payloads = repo_root().join("events/payloads");
    let mut all = vec!["send"];
    all.extend_from_slice(args);
    all.extend(["--url", &url, "--payloads", payloads.to_str().unwrap()]);
    let run = inlet(&all);
    (run, requests.try_recv().ok())
}

#[test]
fn a_sample_is_signed_with_the_sources_secret() {
    let (run, request) = send(&["github"]);
    assert_eq!(run.code, 0, "{run:?}");
    let request = request.unwrap();
    let signature = request.header("x-hub-signature-256").unwrap();
    assert!(signature.starts_with("sha256="), "{signature}");
    assert_eq!(request.header("x-github-event"), Some("push"));
}

#[test]
fn unsigned_sends_no_signature() {
    let (run, request) = send(&["github", "--unsigned"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(request.unwrap().header("x-hub-signature-256"), None);
}

#[test]
fn a_signature_given_as_a_header_is_sent_as_given() {
    let (run, request) = send(&["github", "-H", "X-Hub-Signature-256: sha256=abc"]);
    assert_eq!(run.code, 0, "{run:?}");
    let request = request.unwrap();
    let signatures: Vec<_> = request
        .headers
        .iter()
        .filter(|(n, _)| n == "x-hub-signature-256")
        .collect();
    assert_eq!(signatures.len(), 1, "{request:?}");
    assert_eq!(signatures[0].1, "sha256=abc");
    assert!(
        run.stderr
            .contains("sending your x-hub-signature-256 as given, not signing"),
        "{run:?}"
    );
}

#[test]
fn another_secret_signs_as_inlet_sign_would_with_it() {
    let scratch = Scratch::with_prefix("another_secret_signs");
    let body = scratch.path().join("body.json");
    std::fs::write(&body, r#"{"zen":"hi"}"#).unwrap();
    let body = body.to_str().unwrap();
    let (run, request) = send(&["github", "--body", body, "--secret", "not-the-one"]);
    assert_eq!(run.code, 0, "{run:?}");
    let request = request.unwrap();
    assert_eq!(request.body, br#"{"zen":"hi"}"#);
    let sign = inlet(&[
        "sign",
        "--scheme",
        "github",
        "--secret",
        "not-the-one",
        "--body-file",
        body,
    ]);
    assert_eq!(sign.code, 0, "{sign:?}");
    let expected = sign
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("X-Hub-Signature-256: "))
        .or_else(|| {
            sign.stdout
                .lines()
                .find_map(|l| l.strip_prefix("x-hub-signature-256: "))
        })
        .unwrap_or_else(|| panic!("{sign:?}"));
    assert_eq!(request.header("x-hub-signature-256"), Some(expected));

    let (run, request) = send(&["github", "--body", body]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_ne!(
        request.unwrap().header("x-hub-signature-256"),
        Some(expected)
    );
}

#[test]
fn stale_signs_as_of_that_long_ago() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (run, request) = send(&["stripe", "--stale", "3600"]);
    assert_eq!(run.code, 0, "{run:?}");
    let request = request.unwrap();
    let header = request.header("stripe-signature").unwrap();
    let t: u64 = header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap()
        .parse()
        .unwrap();
    let age = now.abs_diff(t);
    assert!((3590..=3610).contains(&age), "{header}: {age} s old");
}

#[test]
fn unknown_sources_and_samples_list_what_there_is() {
    let (run, request) = send(&["gitlub"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(request.is_none());
    assert!(
        run.stderr.contains("unknown source `gitlub`; sources in")
            && run.stderr.contains("github, "),
        "{run:?}"
    );
    let (run, _) = send(&["github", "--event", "nope"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("unknown sample `nope`; samples in")
            && run.stderr.contains("github-push"),
        "{run:?}"
    );
}
