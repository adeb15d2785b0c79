//! The `FrontDoor` parameter: API Gateway's HTTP API (the default) or a Lambda function URL. Each
//! front door's resources exist under its own condition and nothing else refers to them
//! unconditionally, so either choice deploys; the output names whichever is there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::template;
use yaml_rust2::Yaml;

/// The resources of `kind`, by logical id, with their condition.
fn resources_of<'a>(template: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    template["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().unwrap(), r))
        .collect()
}

/// The HTTP API's route keys, sorted.
pub(super) fn routes(template: &Yaml) -> Vec<String> {
    let mut keys: Vec<String> = resources_of(template, "AWS::ApiGatewayV2::Route")
        .into_iter()
        .map(|(_, route)| route["Properties"]["RouteKey"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

#[test]
fn each_front_door_exists_under_its_own_condition() {
    let template = template();
    let parameter = &template["Parameters"]["FrontDoor"];
    assert_eq!(parameter["Default"].as_str(), Some("http-api"));
    let allowed: Vec<&str> = parameter["AllowedValues"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(allowed, ["http-api", "function-url"]);

    for kind in [
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Stage",
    ] {
        let found = resources_of(&template, kind);
        assert!(!found.is_empty(), "no {kind}");
        for (id, resource) in found {
            assert_eq!(resource["Condition"].as_str(), Some("UseHttpApi"), "{id}");
        }
    }
    let urls = resources_of(&template, "AWS::Lambda::Url");
    assert_eq!(urls.len(), 1);
    let (id, url) = urls[0];
    assert_eq!(url["Condition"].as_str(), Some("UseFunctionUrl"), "{id}");
    // The signature is the authentication, as behind the HTTP API.
    assert_eq!(url["Properties"]["AuthType"].as_str(), Some("NONE"));
    assert_eq!(
        url["Properties"]["TargetFunctionArn"].as_str(),
        Some("IngestFunction.Arn")
    );

    // Each front door may invoke ingest, and only while it exists: the API from its own routes,
    // the URL only through the URL.
    let permissions = resources_of(&template, "AWS::Lambda::Permission");
    let invoke = |condition: &str| {
        permissions
            .iter()
            .find(|(_, p)| p["Condition"].as_str() == Some(condition))
            .map(|(_, p)| &p["Properties"])
            .unwrap_or_else(|| panic!("no permission under {condition}"))
    };
    let api = invoke("UseHttpApi");
    assert_eq!(api["Principal"].as_str(), Some("apigateway.amazonaws.com"));
    assert!(
        api["SourceArn"]
            .as_str()
            .unwrap()
            .ends_with(":${WebhookApi}/*/*/webhooks/{source}")
    );
    // Through the URL only: `lambda:InvokeFunctionUrl` with `AuthType NONE`, and (required of
    // function URLs made since October 2025) `lambda:InvokeFunction` only when invoked via one.
    let mut through_url: Vec<(&str, &Yaml)> = permissions
        .iter()
        .filter(|(_, p)| p["Condition"].as_str() == Some("UseFunctionUrl"))
        .map(|(_, p)| {
            (
                p["Properties"]["Action"].as_str().unwrap(),
                &p["Properties"],
            )
        })
        .collect();
    through_url.sort_by_key(|(action, _)| *action);
    assert_eq!(through_url.len(), 2, "{through_url:?}");
    let (action, function) = through_url[0];
    assert_eq!(action, "lambda:InvokeFunction");
    assert_eq!(function["InvokedViaFunctionUrl"].as_bool(), Some(true));
    let (action, url) = through_url[1];
    assert_eq!(action, "lambda:InvokeFunctionUrl");
    assert_eq!(url["FunctionUrlAuthType"].as_str(), Some("NONE"));
    // No HttpApi events on the function: SAM would make their API unconditionally.
    assert!(template["Resources"]["IngestFunction"]["Properties"]["Events"].is_badvalue());
}

#[test]
fn the_front_doors_alarm_and_output_follow_the_choice() {
    let template = template();
    let alarms = [
        ("Ingest5xxAlarm", "UseHttpApi", "5xx"),
        ("IngestUrl5xxAlarm", "UseFunctionUrl", "Url5xxCount"),
    ];
    for (id, condition, metric) in alarms {
        let alarm = &template["Resources"][id];
        assert_eq!(alarm["Condition"].as_str(), Some(condition), "{id}");
        assert_eq!(
            alarm["Properties"]["MetricName"].as_str(),
            Some(metric),
            "{id}"
        );
    }
    // `!If [UseHttpApi, <the API's URL>, <the function URL>]`: the tag is dropped on load.
    let output = template["Outputs"]["WebhookBaseUrl"]["Value"]
        .as_vec()
        .unwrap();
    assert_eq!(output[0].as_str(), Some("UseHttpApi"));
    assert!(
        output[1]
            .as_str()
            .unwrap()
            .contains("${WebhookApi}.execute-api")
    );
    assert_eq!(
        output[2].as_str(),
        Some("${IngestUrl.FunctionUrl}webhooks/")
    );
}
