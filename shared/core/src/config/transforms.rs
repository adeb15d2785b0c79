//! Whether the routes' transforms compile: a pass over the validated config, apart from
//! validation so that ingest, which never runs a route, can load the config without linking the
//! jq interpreter (`Config::from_env_for_ingest`). Every other loader runs it.

use super::Config;
use super::error::{Problem, invalid};
use crate::actions::transform::Transform;

/// The first route whose `transform` does not compile, as `routes[i].transform` with jaq's
/// message.
pub(super) fn compile_all(config: &Config) -> Result<(), Problem> {
    for (index, route) in config.routes.iter().enumerate() {
        if let Some(program) = &route.transform {
            compile(&format!("routes[{index}].transform"), program)?;
        }
    }
    Ok(())
}

/// `program` compiles, or the refusal for `key`.
pub(super) fn compile(key: &str, program: &str) -> Result<(), Problem> {
    Transform::compile(program)
        .map(|_| ())
        .map_err(|why| invalid(key, format!("the jq program does not compile: {why}")))
}
