//! `template.yaml` against what the code assumes: the local stack must build what AWS will run,
//! and the deployed functions must keep the invariants architecture.md § Deploy sets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use inlet_core::config::QueueLimits;
use inlet_local::StackSettings;
use inlet_testkit::repo_root;
use yaml_rust2::{Yaml, YamlLoader};

/// The dashboard, against the metrics the code emits.
mod dashboard;
/// API Gateway's HTTP API or a Lambda function URL, as the `FrontDoor` parameter says.
mod front_door;
/// `LocalEndpointUrl`: an emulator's endpoint for `sam local invoke`, nothing when deployed.
mod local_endpoint;
/// The schema files a config names, packaged beside it for ingest.
mod packaged_schemas;
/// The queue's limits and the outage alarm, beside the config that depends on them.
mod queue_limits;
/// X-Ray active tracing on both functions.
mod xray_tracing;

fn template() -> Yaml {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn resource<'a>(template: &'a Yaml, name: &str) -> &'a Yaml {
    let resource = &template["Resources"][name];
    assert!(
        !resource.is_badvalue(),
        "template.yaml has no resource {name}"
    );
    &resource["Properties"]
}

/// A number written directly, or `!Ref` to a parameter's default (the tag is dropped on load, so
/// a reference reads as the parameter's name).
fn number(template: &Yaml, value: &Yaml) -> i64 {
    match value {
        Yaml::Integer(n) => *n,
        Yaml::String(parameter) => template["Parameters"][parameter.as_str()]["Default"]
            .as_i64()
            .unwrap_or_else(|| {
                panic!("{parameter} is neither a number nor a parameter with a default")
            }),
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn the_local_stack_builds_what_the_template_declares() {
    let template = template();
    let local = StackSettings::default();
    let queue = resource(&template, "EventQueue");
    let dead_letters = resource(&template, "DeadLetterQueue");
    let table = resource(&template, "IdempotencyTable");
    let process = resource(&template, "ProcessFunction");

    assert_eq!(
        number(&template, &queue["VisibilityTimeout"]),
        i64::from(local.visibility_timeout_secs)
    );
    assert_eq!(
        number(&template, &queue["MessageRetentionPeriod"]),
        i64::from(local.queue_retention_secs)
    );
    assert_eq!(
        number(&template, &dead_letters["MessageRetentionPeriod"]),
        i64::from(local.dead_letter_retention_secs)
    );
    let redrive = &queue["RedrivePolicy"];
    assert_eq!(
        number(&template, &redrive["maxReceiveCount"]),
        i64::from(local.max_receive_count)
    );
    assert_eq!(
        redrive["deadLetterTargetArn"].as_str(),
        Some("DeadLetterQueue.Arn")
    );
    assert_eq!(
        number(&template, &process["Timeout"]),
        i64::from(local.process_timeout_secs)
    );
    assert_eq!(
        number(
            &template,
            &process["Events"]["Queue"]["Properties"]["BatchSize"]
        ),
        i64::from(local.batch_size)
    );

    let key = &table["KeySchema"][0];
    assert_eq!(
        key["AttributeName"].as_str(),
        Some(local.table_key.as_str())
    );
    assert_eq!(key["KeyType"].as_str(), Some("HASH"));
    assert_eq!(
        table["KeySchema"].as_vec().map(Vec::len),
        Some(1),
        "a single high-cardinality key"
    );
    assert_eq!(
        table["AttributeDefinitions"][0]["AttributeType"].as_str(),
        Some("S")
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(local.ttl_attribute.as_str())
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
}

#[test]
fn deployment_invariants_hold() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
    assert_eq!(globals["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(globals["LoggingConfig"]["LogFormat"].as_str(), Some("JSON"));
    // How each function is built, with its config: see
    // sam_builds_each_function_with_its_config_through_the_makefile.

    let queue = resource(&template, "EventQueue");
    let process = resource(&template, "ProcessFunction");
    let timeout = number(&template, &process["Timeout"]);
    assert!(
        number(&template, &queue["VisibilityTimeout"]) >= 6 * timeout,
        "visibility ≥ 6 × timeout"
    );
    let event = &process["Events"]["Queue"]["Properties"];
    assert_eq!(
        event["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );
    // A safety net only: routes are retried and dead-lettered by their schedules, which the
    // config is checked against (queue_limits.rs).
    assert_eq!(
        template["Parameters"]["MaxReceiveCount"]["Default"].as_i64(),
        Some(500)
    );
    assert_eq!(
        i64::from(QueueLimits::default().max_receive_count),
        number(&template, &queue["RedrivePolicy"]["maxReceiveCount"])
    );
    assert_eq!(
        number(
            &template,
            &resource(&template, "DeadLetterQueue")["MessageRetentionPeriod"]
        ),
        14 * 24 * 3600
    );
    let table = resource(&template, "IdempotencyTable");
    assert_eq!(table["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
}

/// Every IAM statement that allows names its actions and resources: no `*` anywhere, but for
/// the keys under one prefix of the payload bucket (`${PayloadBucket.Arn}/claims/*`), which is
/// how S3 scopes object permissions. A `Deny` only narrows, so the bucket policy's refusal of
/// plain HTTP may cover everything.
#[test]
fn no_wildcard_permissions() {
    fn scoped_objects(text: &str) -> bool {
        text.strip_prefix("${PayloadBucket.Arn}/")
            .and_then(|rest| rest.strip_suffix("/*"))
            .is_some_and(|prefix| !prefix.is_empty() && !prefix.contains('*'))
    }
    fn walk(node: &Yaml, path: &str, statements: &mut usize) {
        match node {
            Yaml::Hash(map) => {
                let denies = map.get(&Yaml::from_str("Effect")) == Some(&Yaml::from_str("Deny"));
                if let (Some(action), Some(resource), false) = (
                    map.get(&Yaml::from_str("Action")),
                    map.get(&Yaml::from_str("Resource")),
                    denies,
                ) {
                    *statements += 1;
                    for (value, is_resource) in [(action, false), (resource, true)] {
                        let values = match value {
                            Yaml::Array(items) => items.clone(),
                            single => vec![single.clone()],
                        };
                        for value in values {
                            let text = value.as_str().unwrap_or("");
                            assert!(
                                !text.contains('*') || (is_resource && scoped_objects(text)),
                                "wildcard `{text}` at {path}"
                            );
                        }
                    }
                }
                for (key, value) in map {
                    walk(
                        value,
                        &format!("{path}.{}", key.as_str().unwrap_or("?")),
                        statements,
                    );
                }
            }
            Yaml::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), statements);
                }
            }
            _ => {}
        }
    }
    let mut statements = 0;
    walk(&template()["Resources"], "Resources", &mut statements);
    assert!(statements >= 4, "found only {statements} IAM statements");
}

// ---- how the config reaches the deployed functions ----
//
// Lambda caps a function's environment at 4 KB in all, so the config is not passed in a variable:
// each function's package carries inlet.toml beside bootstrap, where the functions look when no
// variable is set. What makes that so: the packages' Cargo metadata (cargo lambda's `include`),
// the Makefile targets `sam build` runs, and scripts/lambda_zip.py, which refuses a package
// without the config. `make build` proves it on the real packages; these tests keep the wiring.

/// The functions: logical id in the template, binary, package.
const FUNCTIONS: [(&str, &str); 2] = [("IngestFunction", "ingest"), ("ProcessFunction", "process")];
/// The file the functions read beside their executable (`DEFAULT_FILE` in inlet-core's loader).
const PACKAGED_CONFIG: &str = "inlet.toml";

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

#[test]
fn the_template_passes_no_config_in_the_environment() {
    let template = template();
    assert!(
        template["Parameters"]["InletConfig"].is_badvalue(),
        "a parameter carrying the config text would have to end up in the environment again"
    );
    let globals = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_hash()
        .unwrap();
    let mut names: Vec<&str> = globals.keys().map(|k| k.as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "AWS_ENDPOINT_URL",
            "INLET_BUCKET",
            "INLET_DLQ_URL",
            "INLET_MAX_RECEIVE_COUNT",
            "INLET_QUEUE_RETENTION_SECONDS",
            "INLET_QUEUE_URL",
            "INLET_TABLE"
        ]
    );
    for (name, _) in FUNCTIONS {
        let environment = &resource(&template, name)["Environment"]["Variables"];
        for variable in ["INLET_CONFIG", "INLET_CONFIG_FILE"] {
            assert!(
                environment[variable].is_badvalue(),
                "{name} sets {variable}: the config is packaged beside bootstrap"
            );
        }
    }
}

/// `sam build` must build each function through the Makefile (BuildMethod rust-cargolambda copies
/// bootstrap alone into the artifacts and drops the config), from the function's package.
#[test]
fn sam_builds_each_function_with_its_config_through_the_makefile() {
    let template = template();
    let root = repo_root();
    let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap();
    for (name, binary) in FUNCTIONS {
        let metadata = &template["Resources"][name]["Metadata"];
        assert_eq!(metadata["BuildMethod"].as_str(), Some("makefile"), "{name}");
        assert_eq!(
            metadata["ContextPath"].as_str(),
            Some("."),
            "{name}: the root Makefile"
        );
        assert_eq!(
            resource(&template, name)["CodeUri"].as_str(),
            Some(format!("functions/{binary}").as_str()),
            "{name}"
        );
        let target = format!("build-{name}");
        assert!(
            makefile
                .lines()
                .any(|line| line.starts_with(&format!("{target}:"))),
            "the Makefile has no {target} target for sam build"
        );

        // What sam build runs, from elsewhere, without running it: the package built from the
        // repository root, then checked and unpacked into sam's artifacts directory.
        let artifacts = "/nonexistent/sam-artifacts";
        let dry_run = std::process::Command::new("make")
            .args(["--no-print-directory", "-n", "-f"])
            .arg(root.join("Makefile"))
            .arg(&target)
            .env("ARTIFACTS_DIR", artifacts)
            .env_remove("DEPLOY_CONFIG")
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        // One command per line: make prints a recipe's continued lines as written.
        let commands = String::from_utf8_lossy(&dry_run.stdout).replace("\\\n", " ");
        assert!(
            dry_run.status.success(),
            "make -n {target}: {}",
            String::from_utf8_lossy(&dry_run.stderr)
        );
        let build = commands
            .lines()
            .find(|line| line.contains("cargo lambda build"))
            .unwrap_or_else(|| panic!("{target} runs no cargo lambda build:\n{commands}"));
        assert!(
            build.contains("--release") && build.contains("--arm64"),
            "{build}"
        );
        assert!(
            commands.contains("for function in ") && commands.contains(&format!("in {binary};")),
            "{target} builds other packages:\n{commands}"
        );
        let check = commands
            .lines()
            // The package check, not the `--names-schemas` question asked before the build.
            .find(|line| {
                line.contains("scripts/lambda_zip.py") && !line.contains("--names-schemas")
            })
            .unwrap_or_else(|| panic!("{target} does not check the package:\n{commands}"));
        assert!(
            check.contains(&format!("--into \"{artifacts}\""))
                && check.contains(&format!("--config \"{PACKAGED_CONFIG}\""))
                && check.trim_end().ends_with(&format!(" {binary}")),
            "{check}"
        );
    }
}

/// cargo lambda reads `[package.metadata.lambda.build]` of the package it builds: zip output, and
/// inlet.toml (relative to the repository root, where the Makefile runs it) in the zip.
#[test]
fn each_function_package_includes_the_config() {
    let root = repo_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // The same metadata cargo lambda reads.
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for (_, binary) in FUNCTIONS {
        let package = format!("inlet-{binary}");
        let found = metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == package.as_str())
            .unwrap_or_else(|| panic!("no package {package}"));
        let build = &found["metadata"]["lambda"]["build"];
        assert_eq!(
            build["output_format"], "zip",
            "{package}: cargo lambda includes files only in a zip"
        );
        let include = build["include"].as_array().cloned().unwrap_or_default();
        assert!(
            include.iter().any(|i| i == PACKAGED_CONFIG),
            "{package}: [package.metadata.lambda.build] include lacks {PACKAGED_CONFIG}: {include:?}"
        );
    }
    assert!(root.join(PACKAGED_CONFIG).is_file());
    let script = std::fs::read_to_string(root.join("scripts/lambda_zip.py")).unwrap();
    assert!(
        script.contains(&format!("CONFIG = \"{PACKAGED_CONFIG}\"")),
        "lambda_zip.py checks for another file than the functions read"
    );
}

/// scripts/lambda_zip.py, on packages made here the way cargo lambda makes them: the one without
/// the config, with another config than the one given, or with a literal secret fails the build;
/// a good one is rewritten and unpacked with bootstrap executable and the config beside it.
#[test]
fn lambda_zip_refuses_a_package_without_its_config() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = inlet_testkit::Scratch::with_prefix("inlet-lambda-zip");
    let dir = scratch.path();
    let script = repo_root().join("scripts/lambda_zip.py");
    let package = dir.join("target/lambda/ingest");
    std::fs::create_dir_all(&package).unwrap();
    let config = "[sources.github]\nscheme = \"github\"\nsecrets = [\"secretsmanager:inlet/github#secret\"]\n";
    std::fs::write(dir.join("bootstrap"), b"\x7fELF not really").unwrap();
    std::fs::write(dir.join("good.toml"), config).unwrap();
    std::fs::write(dir.join("other.toml"), config.replace("github#", "gh#")).unwrap();
    std::fs::write(
        dir.join("literal.toml"),
        config.replace("secretsmanager:inlet/github#secret", "hunter2hunter2"),
    )
    .unwrap();

    // A zip holding `bootstrap` and, when given, `inlet.toml` from `config_file`.
    let pack = |config_file: Option<&str>| {
        let mut args = vec!["bootstrap", "bootstrap"];
        if let Some(file) = config_file {
            args.extend([PACKAGED_CONFIG, file]);
        }
        let status = std::process::Command::new(python())
            .arg("-c")
            .arg(
                "import sys, zipfile\n\
                 with zipfile.ZipFile('target/lambda/ingest/bootstrap.zip', 'w') as z:\n\
                 \x20   for name, path in zip(sys.argv[1::2], sys.argv[2::2]):\n\
                 \x20       z.write(path, name)\n",
            )
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(status.success());
    };
    let check = |into: Option<&str>| {
        let mut command = std::process::Command::new(python());
        command.arg(&script).args(["--config", "good.toml"]);
        if let Some(into) = into {
            command.args(["--into", into]);
        }
        command.arg("ingest").current_dir(dir).output().unwrap()
    };

    pack(None);
    let refused = check(None);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("has no inlet.toml beside bootstrap"),
        "{stderr}"
    );

    pack(Some("other.toml"));
    let refused = check(None);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not the config given"), "{stderr}");

    std::fs::copy(dir.join("literal.toml"), dir.join("good.toml")).unwrap();
    pack(Some("good.toml"));
    let refused = check(None);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "`sources.github.secrets[0]` that is not an env: or secretsmanager: reference"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2"),
        "the secret was printed: {stderr}"
    );

    std::fs::write(dir.join("good.toml"), config).unwrap();
    pack(Some("good.toml"));
    let artifacts = dir.join("artifacts");
    let accepted = check(Some(artifacts.to_str().unwrap()));
    let stdout = String::from_utf8_lossy(&accepted.stdout);
    assert!(
        accepted.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    assert!(stdout.contains("1 sources"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(artifacts.join(PACKAGED_CONFIG)).unwrap(),
        config
    );
    let mode = std::fs::metadata(artifacts.join("bootstrap"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);

    // Rewritten reproducibly: the same package twice gives the same bytes.
    let first = std::fs::read(package.join("bootstrap.zip")).unwrap();
    assert!(check(None).status.success());
    assert_eq!(std::fs::read(package.join("bootstrap.zip")).unwrap(), first);
}

/// The config costs no permission: nothing reads it from SSM, and S3 serves only payloads, each
/// function may do only what it does. A new permission is a decision: add it here with the
/// template.
#[test]
fn the_functions_have_only_the_permissions_they_use() {
    fn actions(node: &Yaml, found: &mut Vec<String>) {
        match node {
            Yaml::Hash(map) => {
                if let Some(action) = map.get(&Yaml::from_str("Action")) {
                    match action {
                        Yaml::Array(items) => {
                            found.extend(items.iter().map(|a| a.as_str().unwrap().to_owned()));
                        }
                        single => found.push(single.as_str().unwrap().to_owned()),
                    }
                }
                map.values().for_each(|value| actions(value, found));
            }
            Yaml::Array(items) => items.iter().for_each(|item| actions(item, found)),
            _ => {}
        }
    }
    let template = template();
    let mut everywhere = Vec::new();
    actions(&template["Resources"], &mut everywhere);
    for action in &everywhere {
        assert!(
            !["ssm:", "appconfig:", "kms:"]
                .iter()
                .any(|service| action.starts_with(service)),
            "{action}: the config is packaged with the functions"
        );
    }
    for (name, expected) in [
        (
            "IngestFunction",
            // PutSecretValue: only the secrets an Asana or Notion handshake hands over.
            // PutObject and DeleteObject: claim checks, deleted again when the queue refused.
            &[
                "s3:DeleteObject",
                "s3:PutObject",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "sqs:SendMessage",
            ][..],
        ),
        (
            "ProcessFunction",
            &[
                "dynamodb:DeleteItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                // Route destinations, on exactly the ARNs their parameters list:
                // route_destinations_are_granted_on_exactly_the_given_arns.
                "events:PutEvents",
                "s3:DeleteObject",
                "s3:GetObject",
                "s3:PutObject",
                "secretsmanager:GetSecretValue",
                "sns:Publish",
                "sqs:ChangeMessageVisibility",
                "sqs:SendMessage",
            ][..],
        ),
    ] {
        let mut found = Vec::new();
        actions(&resource(&template, name)["Policies"], &mut found);
        found.sort_unstable();
        found.dedup();
        assert_eq!(found, expected, "{name}");
    }
}

/// Each function's S3 actions, on exactly the prefix it uses: `(action, resource)`, sorted.
fn s3_grants(template: &Yaml, function: &str) -> Vec<(String, String)> {
    let mut grants = Vec::new();
    for policy in resource(template, function)["Policies"].as_vec().unwrap() {
        for statement in policy["Statement"].as_vec().into_iter().flatten() {
            let actions = match &statement["Action"] {
                Yaml::Array(items) => items.iter().filter_map(Yaml::as_str).collect(),
                single => single.as_str().into_iter().collect::<Vec<_>>(),
            };
            for action in actions.into_iter().filter(|a| a.starts_with("s3:")) {
                grants.push((
                    action.to_owned(),
                    statement["Resource"].as_str().unwrap_or("?").to_owned(),
                ));
            }
        }
    }
    grants.sort();
    grants
}

/// One payload bucket for claim checks and the archive: private, encrypted, TLS only, owned by
/// the account, and every object expiring; each function may touch only its prefixes.
#[test]
fn the_payload_bucket_is_private_and_expires_what_it_holds() {
    let template = template();
    let bucket = resource(&template, "PayloadBucket");
    assert_eq!(
        bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            ["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
            .as_str(),
        Some("AES256")
    );
    let block = &bucket["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting].as_bool(), Some(true), "{setting}");
    }
    assert_eq!(
        bucket["OwnershipControls"]["Rules"][0]["ObjectOwnership"].as_str(),
        Some("BucketOwnerEnforced")
    );
    let rules = bucket["LifecycleConfiguration"]["Rules"].as_vec().unwrap();
    let expiry = |prefix: &str| {
        let rule = rules
            .iter()
            .find(|r| r["Prefix"].as_str() == Some(prefix))
            .unwrap_or_else(|| panic!("no lifecycle rule for {prefix}"));
        assert_eq!(rule["Status"].as_str(), Some("Enabled"), "{prefix}");
        number(&template, &rule["ExpirationInDays"])
    };
    // A dead-lettered large delivery must still be readable when it is redriven: its claim check
    // outlives the dead-letter queue's retention.
    let dead_letter_days = number(
        &template,
        &resource(&template, "DeadLetterQueue")["MessageRetentionPeriod"],
    ) / 86_400;
    assert!(expiry("claims/") > dead_letter_days);
    assert_eq!(
        expiry("archive/"),
        template["Parameters"]["ArchiveRetentionDays"]["Default"]
            .as_i64()
            .unwrap()
    );
    assert_eq!(
        template["Parameters"]["ArchiveRetentionDays"]["Default"].as_i64(),
        Some(90)
    );
    assert_eq!(
        StackSettings::default().bucket_name,
        "inlet-payloads",
        "the local stack's bucket"
    );

    let policy = &resource(&template, "PayloadBucketPolicy")["PolicyDocument"]["Statement"][0];
    assert_eq!(policy["Effect"].as_str(), Some("Deny"));
    assert_eq!(
        policy["Condition"]["Bool"]["aws:SecureTransport"].as_str(),
        Some("false")
    );
    assert_eq!(policy["Resource"].as_vec().map(Vec::len), Some(2));

    let claims = "${PayloadBucket.Arn}/claims/*";
    let archive = "${PayloadBucket.Arn}/archive/*";
    let grant = |action: &str, on: &str| (action.to_owned(), on.to_owned());
    assert_eq!(
        s3_grants(&template, "IngestFunction"),
        [
            grant("s3:DeleteObject", claims),
            grant("s3:PutObject", claims)
        ]
    );
    assert_eq!(
        s3_grants(&template, "ProcessFunction"),
        [
            grant("s3:DeleteObject", claims),
            grant("s3:GetObject", claims),
            grant("s3:PutObject", archive),
        ]
    );
}

/// Ingest is routed POSTs and, for the handshakes, GETs and HEADs of the same path (when the
/// front door is the HTTP API: `template/front_door.rs`); and it may write only the secrets a
/// handshake hands over, named by their own parameter.
#[test]
fn handshake_routes_and_enrolment_writes_are_scoped() {
    let template = template();
    assert_eq!(
        front_door::routes(&template),
        [
            "GET /webhooks/{source}",
            "HEAD /webhooks/{source}",
            "POST /webhooks/{source}",
        ]
    );
    let policies = resource(&template, "IngestFunction")["Policies"]
        .as_vec()
        .unwrap()
        .clone();
    let text = format!("{policies:?}");
    assert!(text.contains("PutSecretValue"), "{text}");
    for policy in &policies {
        let rendered = format!("{policy:?}");
        if rendered.contains("PutSecretValue") {
            assert!(rendered.contains("EnrolmentSecretArns"), "{rendered}");
            assert!(!rendered.contains("\"SecretArns\""), "{rendered}");
        }
    }
}

/// Route destinations: each kind's ARNs come in a parameter of their own (a comma-separated
/// list, empty by default), and the process function alone gets exactly one action on exactly
/// those ARNs, in a policy that exists only when the list is not empty.
#[test]
fn route_destinations_are_granted_on_exactly_the_given_arns() {
    let template = template();
    let kinds = [
        ("RouteQueueArns", "HasRouteQueues", "sqs:SendMessage"),
        ("RouteTopicArns", "HasRouteTopics", "sns:Publish"),
        (
            "RouteEventBusArns",
            "HasRouteEventBuses",
            "events:PutEvents",
        ),
    ];
    let process = resource(&template, "ProcessFunction")["Policies"]
        .as_vec()
        .unwrap();
    let ingest = format!("{:?}", resource(&template, "IngestFunction")["Policies"]);
    for (parameter, condition, action) in kinds {
        let declared = &template["Parameters"][parameter];
        assert_eq!(
            declared["Type"].as_str(),
            Some("CommaDelimitedList"),
            "{parameter}"
        );
        assert_eq!(declared["Default"].as_str(), Some(""), "{parameter}");
        // `!Not [!Equals [!Join ["", !Ref P], ""]]`, tags dropped: true when the list is not empty.
        let test = &template["Conditions"][condition];
        assert_eq!(test[0][0][0].as_str(), Some(""), "{condition}");
        assert_eq!(test[0][0][1].as_str(), Some(parameter), "{condition}");
        assert_eq!(test[0][1].as_str(), Some(""), "{condition}");

        // `!If [condition, policy, !Ref AWS::NoValue]`, tags dropped.
        let conditioned: Vec<&Yaml> = process
            .iter()
            .filter(|policy| policy[0].as_str() == Some(condition))
            .collect();
        let [policy] = conditioned[..] else {
            panic!(
                "ProcessFunction has {} policies under {condition}",
                conditioned.len()
            )
        };
        assert_eq!(policy[2].as_str(), Some("AWS::NoValue"), "{condition}");
        let statements = policy[1]["Statement"].as_vec().unwrap();
        let [statement] = &statements[..] else {
            panic!("{condition}: {statements:?}")
        };
        assert_eq!(statement["Effect"].as_str(), Some("Allow"));
        assert_eq!(statement["Action"].as_str(), Some(action), "{condition}");
        assert_eq!(
            statement["Resource"].as_str(),
            Some(parameter),
            "{condition}"
        );

        // Nothing else names the parameter or grants the action to anything else.
        let elsewhere = process
            .iter()
            .filter(|p| p[0].as_str() != Some(condition))
            .map(|p| format!("{p:?}"))
            .collect::<String>();
        assert!(
            !elsewhere.contains(parameter),
            "{parameter} used outside its policy"
        );
        assert!(
            !ingest.contains(parameter),
            "ingest may not deliver to routes"
        );
        if action != "sqs:SendMessage" {
            // The process function sends to its own dead-letter queue; SNS and EventBridge it
            // touches only for routes.
            assert!(
                !elsewhere.contains(action),
                "{action} granted outside its policy"
            );
            assert!(!ingest.contains(action), "ingest is granted {action}");
        }
    }
}
