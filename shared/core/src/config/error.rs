//! How a refused config reads: where the text came from, then what is wrong with it.
//!
//! Validation only knows the problem; the loader knows the origin and joins the two, so no
//! message can name a file the config was not read from.

use std::fmt;
use std::path::PathBuf;

/// Where config text came from. A refusal starts with it, so the reader knows what to edit: the
/// file `--config` named, the `INLET_CONFIG` variable, or the file the functions found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Origin {
    /// Text handed over with no name (`Config::parse`).
    Unnamed,
    /// The value of an environment variable.
    Variable(&'static str),
    /// A file, as its path was given.
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unnamed => f.write_str("config"),
            Self::Variable(name) => f.write_str(name),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// What is wrong, whatever the origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum Problem {
    /// Not TOML, or a key no table takes: the parser's own message, which names the key and line.
    #[error("{0}")]
    Syntax(String),
    /// A value validation refused; `key` is the dotted path to it, as in `routes[1].action.url`.
    #[error("`{key}`: {why}")]
    Invalid { key: String, why: String },
    /// The file could not be read.
    #[error("cannot read it: {0}")]
    Read(String),
    /// The functions found neither variable and cannot tell where their executable is.
    #[error("nowhere to read it from: set INLET_CONFIG or INLET_CONFIG_FILE")]
    Nowhere,
}

/// A refusal of the key at `key`, for validation to return.
pub(super) fn invalid(key: impl Into<String>, why: impl Into<String>) -> Problem {
    Problem::Invalid {
        key: key.into(),
        why: why.into(),
    }
}

/// Why a config was refused: `<origin>: <problem>`, as in
/// ``other.toml: `sources.x.scheme`: unknown scheme `gitlab`; …``. The problem always names the
/// key at fault, or is the TOML parser's message (which names it too).
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {problem}")]
pub struct ConfigError {
    origin: Origin,
    problem: Problem,
}

impl ConfigError {
    pub(super) fn new(origin: Origin, problem: Problem) -> Self {
        Self { origin, problem }
    }

    /// For the tests beside the loader, which check both halves.
    #[cfg(test)]
    pub(super) fn parts(&self) -> (&Origin, &Problem) {
        (&self.origin, &self.problem)
    }
}
