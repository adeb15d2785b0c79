//! The `LocalEndpointUrl` parameter. `sam local invoke` passes a function only the variables the
//! template declares, so `make sam-invoke` reaches the AWS emulator through this parameter (as
//! `AWS_ENDPOINT_URL`, which inlet-aws honours). Deployed with the default, the variable must not
//! exist at all: the functions then call AWS itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::template;
use yaml_rust2::Yaml;

fn strings(value: &Yaml) -> Vec<&str> {
    value
        .as_vec()
        .unwrap_or_else(|| panic!("not a list: {value:?}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}")))
        .collect()
}

#[test]
fn the_endpoint_variable_exists_only_when_the_parameter_is_given() {
    let template = template();
    let parameter = &template["Parameters"]["LocalEndpointUrl"];
    assert_eq!(parameter["Type"].as_str(), Some("String"));
    assert_eq!(
        parameter["Default"].as_str(),
        Some(""),
        "deployed: no endpoint"
    );

    // Tags are dropped on load: `!Not [!Equals [!Ref LocalEndpointUrl, ""]]` reads as nested lists.
    let condition = &template["Conditions"]["HasLocalEndpoint"];
    let equals = &condition.as_vec().expect("!Not [...]")[0];
    assert_eq!(strings(equals), ["LocalEndpointUrl", ""]);

    let variable = &template["Globals"]["Function"]["Environment"]["Variables"]["AWS_ENDPOINT_URL"];
    assert_eq!(
        strings(variable),
        ["HasLocalEndpoint", "LocalEndpointUrl", "AWS::NoValue"],
        "AWS_ENDPOINT_URL must be !If [HasLocalEndpoint, !Ref LocalEndpointUrl, !Ref AWS::NoValue]"
    );
}

#[test]
fn make_sam_invoke_gives_the_parameter_and_runs_in_make_test() {
    let root = inlet_testkit::repo_root();
    let driver = std::fs::read_to_string(root.join("scripts/sam_invoke.py")).unwrap();
    assert!(
        driver.contains("LocalEndpointUrl="),
        "sam_invoke.py passes the emulator's endpoint"
    );
    let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap();
    let test = makefile
        .lines()
        .find(|line| line.starts_with("test:"))
        .unwrap();
    assert!(
        test.split_whitespace().any(|t| t == "sam-invoke"),
        "make test runs the sam local invoke tier: {test}"
    );
}
