//! `events/ingest.toml`: which API Gateway events to generate, and how each departs from an
//! honest delivery. The `expect` tables are for the tests; the generator only checks they parse
//! as tables. The keys are described at the top of that file.

use crate::error::CliError;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    case: Vec<Case>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub payload: Option<String>,
    /// The `{source}` path segment, when it is not the payload's source.
    pub source: Option<String>,
    #[serde(default = "post")]
    pub method: String,
    pub route_key: Option<String>,
    pub source_ip: Option<String>,
    /// Headers besides the payload's, added before signing.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub sign: bool,
    /// Which of the source's secrets signs (0, the first, is the current one).
    #[serde(default)]
    pub secret: usize,
    #[serde(default)]
    pub signed_secs_before: i64,
    pub pad_to: Option<usize>,
    pub tamper: Option<[String; 2]>,
    #[serde(default)]
    pub base64: bool,
    #[serde(rename = "expect")]
    _expect: toml::Table,
}

fn post() -> String {
    "POST".to_owned()
}

pub fn load(path: &Path) -> Result<Vec<Case>, CliError> {
    let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
    let manifest: Manifest =
        toml::from_str(&text).map_err(|e| CliError::fixture(path, e.to_string().trim()))?;
    let mut names = BTreeSet::new();
    for case in &manifest.case {
        let valid = !case.name.is_empty()
            && case
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(CliError::fixture(
                path,
                format!("case name {:?}: use a-z, 0-9 and `-`", case.name),
            ));
        }
        if !names.insert(case.name.as_str()) {
            return Err(CliError::fixture(
                path,
                format!("case name {:?} appears twice", case.name),
            ));
        }
        if case.payload.is_none() && case.source.is_none() {
            return Err(CliError::fixture(
                path,
                format!("case {:?}: needs a payload or a source", case.name),
            ));
        }
    }
    Ok(manifest.case)
}
