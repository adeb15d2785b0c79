//! What the event queue holds, against the config that depends on it: the process function is
//! told the queue's retention and `maxReceiveCount` (the same parameters the queue is built
//! from), their defaults are the ones the config is checked against when nothing says otherwise,
//! and the default retry schedule fits in them. And the alarm over the circuit breakers.

use super::{number, resource, template};
use inlet_core::config::{
    Config, MAX_RECEIVE_COUNT_VARIABLE, QUEUE_RETENTION_VARIABLE, QueueLimits, RetrySchedule,
};
use inlet_testkit::repo_root;
use yaml_rust2::Yaml;

/// A parameter's `Type`, `Default`, `MinValue` and `MaxValue`.
fn parameter(template: &Yaml, name: &str) -> (String, i64, i64, i64) {
    let declared = &template["Parameters"][name];
    assert!(
        !declared.is_badvalue(),
        "template.yaml has no parameter {name}"
    );
    let field = |key: &str| {
        declared[key]
            .as_i64()
            .unwrap_or_else(|| panic!("{name} has no {key}"))
    };
    (
        declared["Type"].as_str().unwrap_or_default().to_owned(),
        field("Default"),
        field("MinValue"),
        field("MaxValue"),
    )
}

#[test]
fn the_queue_is_built_from_the_parameters_the_process_function_is_told() {
    let template = template();
    let queue = resource(&template, "EventQueue");
    // `!Ref P` reads as `P` once its tag is dropped.
    assert_eq!(
        queue["MessageRetentionPeriod"].as_str(),
        Some("QueueRetentionSeconds")
    );
    assert_eq!(
        queue["RedrivePolicy"]["maxReceiveCount"].as_str(),
        Some("MaxReceiveCount")
    );
    // In Globals: ingest loads and checks the same config as process.
    let environment = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        environment[QUEUE_RETENTION_VARIABLE].as_str(),
        Some("QueueRetentionSeconds"),
        "{environment:?}"
    );
    assert_eq!(
        environment[MAX_RECEIVE_COUNT_VARIABLE].as_str(),
        Some("MaxReceiveCount"),
        "{environment:?}"
    );

    let defaults = QueueLimits::default();
    assert_eq!(
        parameter(&template, "QueueRetentionSeconds"),
        (
            "Number".to_owned(),
            i64::from(defaults.retention_secs),
            3600,
            1_209_600
        )
    );
    assert_eq!(
        parameter(&template, "MaxReceiveCount"),
        (
            "Number".to_owned(),
            i64::from(defaults.max_receive_count),
            1,
            1000
        )
    );
    assert_eq!(
        number(&template, &queue["MessageRetentionPeriod"]),
        i64::from(defaults.retention_secs)
    );
}

#[test]
fn the_default_schedule_fits_the_default_queue() {
    let template = template();
    let (_, retention, ..) = parameter(&template, "QueueRetentionSeconds");
    let (_, receives, ..) = parameter(&template, "MaxReceiveCount");
    let schedule = RetrySchedule::default();
    // An hour's margin past the span: the first attempt may itself wait in the queue.
    assert!(
        schedule.span_secs() + 3600 <= u64::try_from(retention).unwrap(),
        "span {} s",
        schedule.span_secs()
    );
    assert!(
        schedule.receives_needed() <= u64::try_from(receives).unwrap(),
        "{} receives",
        schedule.receives_needed()
    );
    // The repository's config, as the deployed process function checks it with the template's
    // defaults.
    let config = Config::load(&repo_root().join("inlet.toml")).unwrap();
    assert_eq!(config.queue, QueueLimits::default());
}

#[test]
fn an_open_breaker_holding_records_for_half_an_hour_alarms() {
    let template = template();
    let alarm = resource(&template, "BreakerOpenAlarm");
    assert_eq!(
        template["Resources"]["BreakerOpenAlarm"]["Type"].as_str(),
        Some("AWS::CloudWatch::Alarm")
    );
    assert_eq!(
        alarm["Namespace"].as_str(),
        Some(inlet_core::metrics::NAMESPACE)
    );
    assert_eq!(alarm["MetricName"].as_str(), Some("breaker_held"));
    // Over every destination at once: held records are counted without dimensions.
    assert!(alarm["Dimensions"].is_badvalue(), "{alarm:?}");
    assert_eq!(alarm["Statistic"].as_str(), Some("Sum"));
    assert_eq!(alarm["Period"].as_i64(), Some(900));
    assert_eq!(alarm["EvaluationPeriods"].as_i64(), Some(2));
    assert_eq!(alarm["Threshold"].as_i64(), Some(1));
    assert_eq!(
        alarm["ComparisonOperator"].as_str(),
        Some("GreaterThanOrEqualToThreshold")
    );
    assert_eq!(alarm["TreatMissingData"].as_str(), Some("notBreaching"));
    let description = alarm["AlarmDescription"].as_str().unwrap_or_default();
    assert!(
        description.contains("circuit breaker") && description.contains("30 minutes"),
        "{description}"
    );
    // To the alarm topic when one is given, as every other alarm.
    let actions = &alarm["AlarmActions"];
    assert_eq!(actions[0].as_str(), Some("HasAlarmTopic"), "{actions:?}");
    assert_eq!(actions[1][0].as_str(), Some("AlarmTopicArn"), "{actions:?}");
    assert_eq!(actions[2].as_str(), Some("AWS::NoValue"), "{actions:?}");
    assert_eq!(
        actions,
        &resource(&template, "DeadLetterAlarm")["AlarmActions"]
    );
}
