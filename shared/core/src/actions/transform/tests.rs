//! The transform's behaviour and bounds.

use super::*;

fn transform(program: &str) -> Transform {
    Transform::compile(program).unwrap_or_else(|e| panic!("{program}: {e}"))
}

async fn apply(program: &str, body: &str) -> Result<String, String> {
    transform(program)
        .apply(body.as_bytes())
        .await
        .map(|out| String::from_utf8(out).unwrap())
}

#[tokio::test]
async fn reshapes_an_object() {
    let body = r#"{"action":"opened","repository":{"full_name":"o/r","id":7},"sender":{}}"#;
    assert_eq!(
        apply("{action: .action, repo: .repository.full_name}", body)
            .await
            .unwrap(),
        r#"{"action":"opened","repo":"o/r"}"#
    );
    assert_eq!(
        apply(
            "{n: (.repository.id * 2), keys: (keys | join(\",\")), up: (.action | ascii_upcase), e: (to_entries | length), j: (.sender | tojson)}",
            body
        )
        .await
        .unwrap(),
        r#"{"n":14,"keys":"action,repository,sender","up":"OPENED","e":3,"j":"{}"}"#
    );
}

#[tokio::test]
async fn writes_json_as_serde_json_does() {
    assert_eq!(
        apply(
            "{a: 1.5, b: 2, c: (4 / 2), d: (1 / 0), e: nan, f: 100000000000000000000000, g: 1.50, s: \"\\u00e9\\n\\\"\", n: null, t: [true, false]}",
            "null"
        )
        .await
        .unwrap(),
        r#"{"a":1.5,"b":2,"c":2.0,"d":1.7976931348623157e+308,"e":null,"f":100000000000000000000000,"g":1.50,"s":"é\n\"","n":null,"t":[true,false]}"#
    );
    assert_eq!(
        apply(".", r#" [ 1 , {"a" : "b"} ] "#).await.unwrap(),
        r#"[1,{"a":"b"}]"#
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_fails() {
    let transform = transform(".");
    for body in [
        &b"not json"[..],
        b"",
        b"{\"a\": \xff}",
        b"\"\xff\"",
        b"{} {}",
    ] {
        let error = transform.apply(body).await.unwrap_err();
        assert!(error.starts_with("the body is not JSON: "), "{error}");
    }
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let error = transform.apply(deep.as_bytes()).await.unwrap_err();
    assert!(error.contains("deeper than 128"), "{error}");
}

#[tokio::test]
async fn a_run_time_error_fails_with_jaqs_message() {
    assert_eq!(
        apply(".a.b", "5").await.unwrap_err(),
        "cannot index 5 with \"a\""
    );
    assert_eq!(apply("error(\"x\")", "{}").await.unwrap_err(), "x");
    assert_eq!(
        apply("error({why: 1})", "{}").await.unwrap_err(),
        "{\"why\":1}"
    );
    assert_eq!(
        apply("1, error(\"second\")", "{}").await.unwrap_err(),
        "second"
    );
    let long = apply("error(\"x\" * 5000)", "{}").await.unwrap_err();
    assert!(
        long.len() <= super::bounds::MAX_MESSAGE_BYTES + '…'.len_utf8(),
        "{}",
        long.len()
    );
    assert!(long.ends_with('…'));
}

#[tokio::test]
async fn exactly_one_output_is_delivered() {
    assert_eq!(
        apply("empty", "{}").await.unwrap_err(),
        "the transform gave no output"
    );
    let error = apply(".[]", "[1,2]").await.unwrap_err();
    assert!(
        error.starts_with("the transform gave more than one output"),
        "{error}"
    );
    // Pulling stops at the second output: an endless stream is not run to its end.
    let error = apply("repeat(1)", "null").await.unwrap_err();
    assert!(
        error.starts_with("the transform gave more than one output"),
        "{error}"
    );
    assert_eq!(apply("[.[]]", "[1,2]").await.unwrap(), "[1,2]");
}

#[tokio::test]
async fn outputs_beyond_the_bounds_or_not_json_are_refused() {
    let error = apply("[range(200000)] | tostring", "null")
        .await
        .unwrap_err();
    assert_eq!(
        error,
        format!("the transform's output is over {MAX_OUTPUT_BYTES} bytes")
    );
    let error = apply("[range(300000)]", "null").await.unwrap_err();
    assert_eq!(
        error,
        format!("the transform's output is over {MAX_OUTPUT_BYTES} bytes")
    );
    let error = apply("reduce range(200) as $i (0; [.])", "null")
        .await
        .unwrap_err();
    assert!(error.contains("nests deeper than 128"), "{error}");
    let error = apply("reduce range(50000) as $i (0; [.])", "null")
        .await
        .unwrap_err();
    assert!(error.contains("nests deeper than 128"), "{error}");
    let error = apply("\"a\" | tobytes", "null").await.unwrap_err();
    assert!(error.contains("byte string"), "{error}");
    let error = apply("{(1): 2}", "null").await.unwrap_err();
    assert!(error.contains("object key"), "{error}");
}

/// Waits (a guard against a hang, not a timing assertion) until `count` runs are parked: a
/// stopped run answers first and is counted just after.
async fn stuck_reaches(transform: &Transform, count: usize) {
    for _ in 0..1000 {
        if transform.stuck.load(Ordering::Relaxed) >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{count} stuck runs were never counted");
}

#[tokio::test]
async fn a_runaway_generator_is_stopped_cleanly_in_time() {
    let transform = transform("last(range(1e12))");
    let error = transform.apply(b"null").await.unwrap_err();
    assert_eq!(error, Stop::Time.message());
    // Caught, the stop still ends the run.
    let transform = Transform::compile("try last(range(1e12)) catch \"fine\"").unwrap();
    assert_eq!(
        transform.apply(b"null").await.unwrap_err(),
        Stop::Time.message()
    );
}

#[tokio::test]
async fn an_endless_loop_is_stopped_in_time_and_parked() {
    let transform = transform("def f: f; f");
    assert_eq!(
        transform.apply(b"null").await.unwrap_err(),
        Stop::Time.message()
    );
    // The thread parks (it cannot be killed) and is counted.
    stuck_reaches(&transform, 1).await;
}

#[tokio::test]
async fn deep_recursion_is_stopped_before_the_stack_overflows() {
    for program in ["def f: [f]; f", "def f: 1 + f; f", "def f: {a: f}; f"] {
        let transform = transform(program);
        assert_eq!(
            transform.apply(b"null").await.unwrap_err(),
            Stop::Depth.message(),
            "{program}"
        );
    }
}

#[tokio::test]
async fn a_transform_with_too_many_stuck_runs_fails_fast() {
    let transform = transform("def f: 1 + f; f");
    for _ in 0..MAX_STUCK {
        assert_eq!(
            transform.apply(b"null").await.unwrap_err(),
            Stop::Depth.message()
        );
    }
    stuck_reaches(&transform, MAX_STUCK).await;
    let error = transform.apply(b"null").await.unwrap_err();
    assert!(error.starts_with("not run: 3 runs"), "{error}");
    // Another transform is not affected.
    assert_eq!(apply(".", "1").await.unwrap(), "1");
}

#[test]
fn compile_errors_say_where() {
    let error = Transform::compile("{a: .b,\n  c: }").unwrap_err();
    assert!(error.contains("at line 2, column 6"), "{error}");
    let error = Transform::compile("[1, 2").unwrap_err();
    assert!(error.starts_with("expected closing bracket"), "{error}");
    let error = Transform::compile("1 +").unwrap_err();
    assert!(error.contains("at the end of the program"), "{error}");
    let error = Transform::compile(".a | nosuch(1)").unwrap_err();
    assert_eq!(error, "undefined filter `nosuch/1` at line 1, column 6");
    let error = Transform::compile("select(.a | test(\"x\"))").unwrap_err();
    assert!(error.starts_with("undefined filter `test/1`"), "{error}");
    assert!(error.contains("regular expressions"), "{error}");
    let error = Transform::compile("$ENV.HOME").unwrap_err();
    assert!(error.contains("cannot read the environment"), "{error}");
    for program in ["env", "halt", "input", "now", "@base64", "debug"] {
        assert!(Transform::compile(program).is_err(), "{program}");
    }
    let error = Transform::compile("include \"x\"; .").unwrap_err();
    assert!(error.contains("not supported"), "{error}");
    assert_eq!(Transform::compile(" ").unwrap_err(), "the program is empty");
    let long = format!(". {}", "| . ".repeat(MAX_PROGRAM_BYTES / 4));
    assert!(Transform::compile(&long).unwrap_err().contains("more than"));
}

#[test]
fn the_prelude_compiles_whole() {
    // Every definition kept must compile: a jaq upgrade that moves a definition onto an
    // optional built-in fails here, not in a user's config.
    let transform = transform(".");
    assert_eq!(transform.program(), ".");
    for program in [
        "map(.)",
        "to_entries",
        "with_entries(.)",
        "paths",
        "add",
        "any",
        "unique",
        "min_by(.)",
        "flatten",
        "@json",
        "@sh",
        "@text",
        "tostring",
        "tonumber",
        "ascii_downcase",
        "ltrimstr(\"a\")",
        "split(\",\")",
        "join(\",\")",
        "limit(1; .[])",
        "first(.[])",
        "range(3)",
        "range(0; 3)",
        "getpath([\"a\"])",
        "del(.a)",
        "type",
        "splits",
    ] {
        let compiled = Transform::compile(program);
        if program == "splits" {
            assert!(compiled.is_err());
        } else {
            assert!(compiled.is_ok(), "{program}: {compiled:?}");
        }
    }
}

#[test]
fn transforms_and_their_runs_can_cross_threads() {
    fn send_sync<T: Send + Sync + fmt::Debug>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let transform = transform(".");
    send_sync(&transform);
    send(&transform.apply(b"{}"));
}
