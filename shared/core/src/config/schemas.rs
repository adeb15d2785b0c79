//! A source's `schemas` (event type → JSON Schema file) and `on_invalid`.
//!
//! Validation checks what the TOML says (types, relative paths that stay beside the config); a
//! pass after it ([`load_all`]) reads each file relative to the config's directory and compiles
//! it, so a missing file, a file that is not JSON or a schema that does not compile is refused at
//! start-up naming `sources.<name>.schemas.<type>`. Ingest and the CLI run that pass; process
//! does not (it only reads the verdict ingest put in the envelope), so it does not link the
//! validator.

use super::Config;
use super::error::{Problem, invalid};
use crate::schema::Validator;
use std::collections::BTreeMap;
use std::path::{Component, Path};
use std::sync::Arc;

/// The type a schema applies to when the event type has none of its own.
pub const ANY_TYPE: &str = "*";

/// What happens to a delivery that breaks its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnInvalid {
    /// Accepted (202) and queued with its errors; process dead-letters it as `schema_invalid`
    /// before any route runs. Nothing is lost, and the provider is not told to retry something
    /// that will never pass.
    #[default]
    DeadLetter,
    /// Refused with a 422 `schema_invalid` listing the errors; nothing is queued.
    Reject,
}

impl OnInvalid {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeadLetter => "dead_letter",
            Self::Reject => "reject",
        }
    }
}

/// One schema file of a source.
#[derive(Clone)]
pub struct SchemaFile {
    /// As written in the config: relative to the config's directory, `/`-separated.
    pub path: String,
    /// The compiled schema, once [`load_all`] has run (ingest, the CLI); `None` in process.
    pub validator: Option<Arc<Validator>>,
}

impl std::fmt::Debug for SchemaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaFile")
            .field("path", &self.path)
            .field("compiled", &self.validator.is_some())
            .finish()
    }
}

/// A source's schemas, by event type (`*` for any type without one of its own).
#[derive(Debug, Clone, Default)]
pub struct SourceSchemas {
    pub by_type: BTreeMap<String, SchemaFile>,
    pub on_invalid: OnInvalid,
}

impl SourceSchemas {
    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }

    /// The schema an event of `event_type` is checked against: its type's, else `*`'s.
    pub fn for_type(&self, event_type: Option<&str>) -> Option<&SchemaFile> {
        event_type
            .and_then(|t| self.by_type.get(t))
            .or_else(|| self.by_type.get(ANY_TYPE))
    }

    /// Validates `schemas` and `on_invalid` as written under `key` (`sources.<name>`).
    pub(super) fn validate(
        key: &str,
        schemas: Option<BTreeMap<String, String>>,
        on_invalid: Option<String>,
    ) -> Result<Self, Problem> {
        let on_invalid = match on_invalid.as_deref() {
            None => OnInvalid::default(),
            Some("dead_letter") => OnInvalid::DeadLetter,
            Some("reject") => OnInvalid::Reject,
            Some(_) => {
                return Err(invalid(
                    format!("{key}.on_invalid"),
                    "expected \"dead_letter\" or \"reject\"",
                ));
            }
        };
        let Some(schemas) = schemas else {
            return if on_invalid == OnInvalid::default() {
                Ok(Self::default())
            } else {
                // A setting that would do nothing is refused rather than silently ignored.
                Err(invalid(
                    format!("{key}.on_invalid"),
                    "applies to schemas, and this source has none (`schemas`)",
                ))
            };
        };
        let mut by_type = BTreeMap::new();
        for (event_type, path) in schemas {
            let field = format!("{key}.schemas.{}", quoted_key(&event_type));
            if event_type.is_empty() {
                return Err(invalid(field, "an event type, or \"*\" for any type"));
            }
            check_path(&field, &path)?;
            by_type.insert(
                event_type,
                SchemaFile {
                    path,
                    validator: None,
                },
            );
        }
        Ok(Self {
            by_type,
            on_invalid,
        })
    }
}

/// A TOML key as it must be written: bare when it can be, quoted otherwise (`"*"`,
/// `"orders/create"`), so the refusal names the key the way the user writes it.
fn quoted_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_owned()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A schema's path is relative to the config and stays beside it: the package carries the
/// config and its schemas together (scripts/lambda_zip.py), in the same layout.
fn check_path(field: &str, path: &str) -> Result<(), Problem> {
    let as_path = Path::new(path);
    let inside = !path.is_empty()
        && !path.contains('\\')
        && as_path
            .components()
            .all(|part| matches!(part, Component::Normal(_) | Component::CurDir));
    if inside {
        Ok(())
    } else {
        Err(invalid(
            field,
            "a path relative to the config's directory, without `..` (it is packaged beside the config)",
        ))
    }
}

/// Reads and compiles every source's schemas, each relative to `base` (the config's directory);
/// the first refusal stops it, as a function's start-up stops.
pub(super) fn load_all(config: &mut Config, base: &Path) -> Result<(), Problem> {
    for (name, source) in &mut config.sources {
        if let Some(problem) = compile_each(name, &mut source.schemas, base)
            .into_iter()
            .next()
        {
            return Err(problem);
        }
    }
    Ok(())
}

/// Reads and compiles one source's schemas, relative to `base`: every refusal, for `inlet
/// check`, which lists them all.
pub(super) fn compile_each(name: &str, schemas: &mut SourceSchemas, base: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (event_type, file) in &mut schemas.by_type {
        let field = format!("sources.{name}.schemas.{}", quoted_key(event_type));
        match compile(&field, &base.join(&file.path)) {
            Ok(validator) => file.validator = Some(Arc::new(validator)),
            Err(problem) => problems.push(problem),
        }
    }
    problems
}

/// The schema at `path`, parsed and compiled; refusals name `field`. Drafts 7 and 2020-12 (the
/// default when `$schema` is absent); `$ref` resolves within the document only.
fn compile(field: &str, path: &Path) -> Result<Validator, Problem> {
    let text = std::fs::read(path)
        .map_err(|error| invalid(field, format!("cannot read {}: {error}", path.display())))?;
    let document: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|error| invalid(field, format!("{} is not JSON: {error}", path.display())))?;
    crate::schema::compile(document)
        .map_err(|why| invalid(field, format!("{} {why}", path.display())))
}

#[cfg(all(test, not(feature = "schemas")))]
mod without_the_feature {
    use super::super::Config;

    /// A package built without schema support (the default ingest build) must not start with a
    /// config that names schemas, and say how to build one that can.
    #[test]
    fn a_config_with_schemas_is_refused_naming_the_key() {
        let dir =
            std::env::temp_dir().join(format!("inlet-core-no-schemas-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("push.json"), r#"{"type": "object"}"#).unwrap();
        let path = dir.join("inlet.toml");
        std::fs::write(
            &path,
            "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n\
             [sources.github.schemas]\npush = \"push.json\"\n",
        )
        .unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(error.contains("`sources.github.schemas.push`"), "{error}");
        assert!(error.contains("without the `schemas` feature"), "{error}");
    }
}
