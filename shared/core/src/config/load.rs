//! Where the config text comes from: given text, a file, or the functions' environment. Each
//! path records its origin, and every refusal starts with it, so `inlet --config other.toml`
//! names `other.toml` and a function configured through `INLET_CONFIG` names the variable.
//!
//! The functions also read what their event queue holds (`INLET_QUEUE_RETENTION_SECONDS`,
//! `INLET_MAX_RECEIVE_COUNT`, which the template sets from the queue's own settings), so that a
//! retry schedule the queue would cut short is refused at start-up. Given text and files are
//! checked against the template's defaults, as `inlet dev`'s queue is built.

use super::Config;
use super::error::{ConfigError, Origin, Problem};
use super::raw::RawConfig;
use super::retry::QueueLimits;
use super::{schemas, transforms};
use std::path::{Path, PathBuf};

/// The variable holding the whole TOML text: an override only (tests, `make coldstart`). Lambda
/// caps a function's environment at 4 KB in all, too small for a config with a few dozen sources,
/// so `template.yaml` does not set it.
const TEXT_VARIABLE: &str = "INLET_CONFIG";
/// The variable naming a config file instead.
const FILE_VARIABLE: &str = "INLET_CONFIG_FILE";
/// The file the functions read beside their executable when neither variable is set: how the
/// deployed functions are configured, since each package carries it next to `bootstrap`
/// (`[package.metadata.lambda.build] include` in functions/*/Cargo.toml; scripts/lambda_zip.py
/// refuses a package without it).
const DEFAULT_FILE: &str = "inlet.toml";

impl Config {
    /// Parses and validates config text that has no name; refusals start with `config:`.
    /// Schema paths in it are relative to the current directory.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        parse_from(
            text,
            Origin::Unnamed,
            Path::new("."),
            QueueLimits::default(),
            every_pass,
        )
    }

    /// Reads and validates the file at `path`; refusals start with the path as given. Schema
    /// paths in it are relative to its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        load_with(path, QueueLimits::default(), every_pass)
    }

    /// Reads the config as the functions do: `INLET_CONFIG` (the TOML text), else the file
    /// `INLET_CONFIG_FILE` names, else `inlet.toml` beside the executable (on Lambda,
    /// `/var/task/inlet.toml`, packaged with the function); and the queue's limits from
    /// `INLET_QUEUE_RETENTION_SECONDS` and `INLET_MAX_RECEIVE_COUNT` (a bad number is refused
    /// naming its variable).
    pub fn from_env() -> Result<Self, ConfigError> {
        from_env_with(every_pass)
    }

    /// [`Config::from_env`] for ingest, which never runs a route: every refusal but a transform
    /// that does not compile (process refuses that at its start-up, as `inlet check` does), so
    /// the ingest function does not link the jq interpreter. Its schemas are read and compiled.
    pub fn from_env_for_ingest() -> Result<Self, ConfigError> {
        from_env_with(schemas::load_all)
    }

    /// [`Config::from_env`] for process, which never checks a body against a schema (ingest
    /// put its verdict in the envelope): the schemas are not read, and the function does not
    /// link the validator. Transforms are compiled.
    pub fn from_env_for_process() -> Result<Self, ConfigError> {
        from_env_with(|config, _| transforms::compile_all(config))
    }
}

/// The directory a config file's relative paths (its schemas) are read from: the file's own, or
/// the current one for a bare file name.
pub fn config_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// What runs on the validated config before it is handed out, given the config's directory:
/// [`every_pass`], or the one pass a function needs.
type AfterValidation = fn(&mut Config, &Path) -> Result<(), Problem>;

/// The routes' transforms compiled, the sources' schemas read and compiled.
fn every_pass(config: &mut Config, base: &Path) -> Result<(), Problem> {
    transforms::compile_all(config)?;
    schemas::load_all(config, base)
}

fn from_env_with(after: AfterValidation) -> Result<Config, ConfigError> {
    from_sources(
        |name| std::env::var(name).ok(),
        || {
            let exe = std::env::current_exe().ok()?;
            exe.parent().map(Path::to_path_buf)
        },
        after,
    )
}

fn load_with(
    path: &Path,
    queue: QueueLimits,
    after: AfterValidation,
) -> Result<Config, ConfigError> {
    let origin = Origin::File(path.to_owned());
    match std::fs::read_to_string(path) {
        Ok(text) => parse_from(&text, origin, config_dir(path), queue, after),
        Err(error) => Err(ConfigError::new(origin, Problem::Read(error.to_string()))),
    }
}

fn parse_from(
    text: &str,
    origin: Origin,
    base: &Path,
    queue: QueueLimits,
    after: AfterValidation,
) -> Result<Config, ConfigError> {
    toml::from_str::<RawConfig>(text)
        // The parser's message spans lines (it quotes the line at fault); its trailing newline
        // would leave a blank line under every refusal.
        .map_err(|e| Problem::Syntax(e.to_string().trim().to_owned()))
        .and_then(|raw| raw.validate_with(queue))
        .and_then(|mut config| after(&mut config, base).map(|()| config))
        .map_err(|problem| ConfigError::new(origin, problem))
}

/// [`Config::from_env`] over any variables and executable directory, so the tests need not
/// change the process's environment, which every test thread shares.
fn from_sources(
    var: impl Fn(&str) -> Option<String>,
    exe_dir: impl FnOnce() -> Option<PathBuf>,
    after: AfterValidation,
) -> Result<Config, ConfigError> {
    // Read first: a deployment whose queue variables are wrong is refused whatever its config.
    // The value could not be read as a number, which is what `Problem::Read` says of a file.
    let queue = QueueLimits::from_vars(&var).map_err(|error| {
        ConfigError::new(Origin::Variable(error.variable), Problem::Read(error.why))
    })?;
    if let Some(text) = var(TEXT_VARIABLE) {
        // Schema paths in the text are relative to the current directory.
        return parse_from(
            &text,
            Origin::Variable(TEXT_VARIABLE),
            Path::new("."),
            queue,
            after,
        );
    }
    let path = match var(FILE_VARIABLE) {
        Some(path) => PathBuf::from(path),
        None => match exe_dir() {
            Some(dir) => dir.join(DEFAULT_FILE),
            None => return Err(ConfigError::new(Origin::Unnamed, Problem::Nowhere)),
        },
    };
    load_with(&path, queue, after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use inlet_signature::Scheme;

    const GITHUB: &str = "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n";
    const BAD_SCHEME: &str = "[sources.x]\nscheme = \"gitlub\"\nsecrets = [\"env:X\"]\n";
    const BAD_SYNTAX: &str = "[sources.x\nscheme = \"github\"\n";

    /// A directory of its own under the system's temporary directory, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("inlet-core-config-{}-{name}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn file(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn refusal(result: Result<Config, ConfigError>) -> ConfigError {
        match result {
            Ok(_) => panic!("accepted"),
            Err(error) => error,
        }
    }

    #[test]
    fn a_load_names_the_file_it_read_for_an_invalid_key() {
        let scratch = Scratch::new("invalid");
        let path = scratch.file("other.toml", BAD_SCHEME);
        let error = refusal(Config::load(&path));
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("{}: `sources.x.scheme`: ", path.display())),
            "{message}"
        );
        assert!(!message.contains("inlet.toml"), "{message}");
        let (origin, problem) = error.parts();
        assert_eq!(origin, &Origin::File(path.clone()));
        assert!(
            matches!(problem, Problem::Invalid { key, .. } if key == "sources.x.scheme"),
            "{problem:?}"
        );
    }

    #[test]
    fn a_load_names_the_file_it_read_for_a_syntax_error() {
        let scratch = Scratch::new("syntax");
        let path = scratch.file("other.toml", BAD_SYNTAX);
        let error = refusal(Config::load(&path));
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("{}: TOML parse error", path.display())),
            "{message}"
        );
        assert!(!message.contains("inlet.toml"), "{message}");
        assert!(matches!(error.parts().1, Problem::Syntax(_)));
    }

    #[test]
    fn a_load_names_the_file_it_read_for_an_unknown_key() {
        let scratch = Scratch::new("unknown-key");
        let path = scratch.file("other.toml", &format!("{GITHUB}colour = \"red\"\n"));
        let message = refusal(Config::load(&path)).to_string();
        assert!(
            message.starts_with(&format!("{}: ", path.display())),
            "{message}"
        );
        assert!(message.contains("`colour`"), "{message}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let scratch = Scratch::new("missing");
        let path = scratch.0.join("absent.toml");
        let error = refusal(Config::load(&path));
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}: cannot read it: ", path.display())),
            "{error}"
        );
        assert!(matches!(error.parts().1, Problem::Read(_)));
    }

    #[test]
    fn text_without_an_origin_is_called_config() {
        let message = refusal(Config::parse(BAD_SCHEME)).to_string();
        assert!(
            message.starts_with("config: `sources.x.scheme`: unknown scheme `gitlub`"),
            "{message}"
        );
        let message = refusal(Config::parse(BAD_SYNTAX)).to_string();
        assert!(message.starts_with("config: TOML parse error"), "{message}");
        assert!(!message.ends_with('\n'), "{message:?}");
    }

    #[test]
    fn the_text_variable_wins_and_is_named() {
        let vars = |name: &str| match name {
            "INLET_CONFIG" => Some(BAD_SCHEME.to_owned()),
            "INLET_CONFIG_FILE" => Some("/nonexistent/elsewhere.toml".to_owned()),
            _ => None,
        };
        let message = refusal(from_sources(vars, || None, every_pass)).to_string();
        assert!(
            message.starts_with("INLET_CONFIG: `sources.x.scheme`: "),
            "{message}"
        );
        let good = |name: &str| (name == "INLET_CONFIG").then(|| GITHUB.to_owned());
        let config = from_sources(good, || None, every_pass).unwrap();
        assert_eq!(
            config.source("github").unwrap().scheme,
            Scheme::named("github").unwrap()
        );
    }

    #[test]
    fn the_file_variable_names_its_path() {
        let scratch = Scratch::new("file-variable");
        let path = scratch.file("deployed.toml", BAD_SCHEME);
        let vars = |name: &str| (name == "INLET_CONFIG_FILE").then(|| path.display().to_string());
        let message = refusal(from_sources(vars, || None, every_pass)).to_string();
        assert!(
            message.starts_with(&format!("{}: `sources.x.scheme`: ", path.display())),
            "{message}"
        );
    }

    #[test]
    fn the_default_file_is_beside_the_executable_and_named() {
        let scratch = Scratch::new("beside-exe");
        let path = scratch.file("inlet.toml", BAD_SCHEME);
        let message = refusal(from_sources(
            |_| None,
            || Some(scratch.0.clone()),
            every_pass,
        ))
        .to_string();
        assert!(
            message.starts_with(&format!("{}: `sources.x.scheme`: ", path.display())),
            "{message}"
        );
        scratch.file("inlet.toml", GITHUB);
        assert!(from_sources(|_| None, || Some(scratch.0.clone()), every_pass).is_ok());
    }

    #[test]
    fn with_nowhere_to_look_the_refusal_says_what_to_set() {
        let message = refusal(from_sources(|_| None, || None, every_pass)).to_string();
        assert_eq!(
            message,
            "config: nowhere to read it from: set INLET_CONFIG or INLET_CONFIG_FILE"
        );
    }

    #[test]
    fn the_queue_variables_are_read_beside_the_config_and_a_bad_one_is_named() {
        let vars = |receives: &'static str| {
            move |name: &str| match name {
                "INLET_CONFIG" => Some(GITHUB.to_owned()),
                "INLET_QUEUE_RETENTION_SECONDS" => Some("1209600".to_owned()),
                "INLET_MAX_RECEIVE_COUNT" => Some(receives.to_owned()),
                _ => None,
            }
        };
        let config = from_sources(vars("1000"), || None, every_pass).unwrap();
        assert_eq!(
            config.queue,
            QueueLimits {
                retention_secs: 1_209_600,
                max_receive_count: 1000
            }
        );
        let config = from_sources(
            |name: &str| (name == "INLET_CONFIG").then(|| GITHUB.to_owned()),
            || None,
            every_pass,
        )
        .unwrap();
        assert_eq!(config.queue, QueueLimits::default());

        let message = refusal(from_sources(vars("many"), || None, every_pass)).to_string();
        assert!(
            message.starts_with("INLET_MAX_RECEIVE_COUNT: cannot read it: `many` is not "),
            "{message}"
        );

        // The default schedule needs 173 receives: a queue allowing 100 refuses it, saying what
        // to raise.
        let message = refusal(from_sources(vars("100"), || None, every_pass)).to_string();
        assert!(
            message.starts_with("INLET_CONFIG: `process.retry_schedule`: "),
            "{message}"
        );
        assert!(
            message.contains("raise INLET_MAX_RECEIVE_COUNT (the template's MaxReceiveCount)"),
            "{message}"
        );
    }

    /// One source per provider of the registry, each with what it needs, and the generic schemes,
    /// with a route each: what a busy deployment looks like.
    fn big_config() -> String {
        let mut text = String::from("[defaults]\ntolerance_secs = 300\n\n");
        let mut names = Vec::new();
        for provider in inlet_signature::registry::all() {
            let scheme = Scheme::Provider(provider);
            let name = provider.name.replace('-', "_");
            // A secret a handshake hands over is kept whole in a secret the ingest function may
            // write; the others are a JSON key of a shared secret, and one being rotated out.
            let secrets = if scheme.enrols_secret() {
                format!("\"secretsmanager:inlet/{name}\"")
            } else {
                format!(
                    "\"secretsmanager:inlet/webhooks#{name}\", \"env:{}_PREVIOUS\"",
                    name.to_uppercase()
                )
            };
            text.push_str(&format!(
                "[sources.{name}]\nscheme = \"{}\"\nsecrets = [{secrets}]\n",
                provider.name
            ));
            if scheme.signs_url() {
                text.push_str(&format!(
                    "url = \"https://hooks.example.com/webhooks/{name}\"\n"
                ));
            }
            if scheme.needs_handshake_secret() {
                text.push_str(&format!(
                    "handshake_secret = \"secretsmanager:inlet/{name}#handshake\"\n"
                ));
            }
            text.push('\n');
            names.push(name);
        }
        text.push_str(
            "[sources.crm]\nscheme = \"hmac\"\nheader = \"X-Signature\"\nprefix = \"sha256=\"\n\
             id_pointer = \"/data/id\"\nsecrets = [\"env:CRM_SECRET\"]\n\n\
             [sources.internal]\nscheme = \"token\"\nheader = \"X-Api-Key\"\nsecrets = [\"env:INTERNAL_TOKEN\"]\n\n\
             [sources.open]\nscheme = \"none\"\nallow_unsigned = true\nallow_ips = [\"203.0.113.0/24\"]\n\n",
        );
        names.extend(["crm", "internal", "open"].map(String::from));
        for name in &names {
            text.push_str(&format!(
                "[[routes]]\nsource = \"{name}\"\naction = {{ type = \"forward\", url = \"https://agents.example.com/hooks/{name}\", secret = \"secretsmanager:inlet/forward#secret\" }}\n\n"
            ));
        }
        text
    }

    #[test]
    fn a_config_too_big_for_lambdas_environment_loads_from_beside_the_executable() {
        let text = big_config();
        let sources = inlet_signature::registry::all().len() + 3;
        assert!(sources >= 50, "only {sources} sources");
        // Lambda refuses a function whose environment variables exceed 4 KB in all, so this could
        // never be passed in INLET_CONFIG: the package carries it as inlet.toml beside bootstrap.
        assert!(text.len() > 4096, "only {} bytes", text.len());

        let scratch = Scratch::new("big");
        scratch.file("bootstrap", "");
        scratch.file(DEFAULT_FILE, &text);
        // The functions' own path: no variable set, the file beside the executable.
        let config = from_sources(|_| None, || Some(scratch.0.clone()), every_pass).unwrap();
        assert_eq!(config.sources.len(), sources);
        assert_eq!(config.routes.len(), sources);
        let meta = config.source("meta").unwrap();
        assert!(meta.handshake_secret.is_some());
        assert!(config.source("twilio").unwrap().url.is_some());

        // INLET_CONFIG, when set, still wins over the packaged file.
        let vars = |name: &str| (name == TEXT_VARIABLE).then(|| GITHUB.to_owned());
        let config = from_sources(vars, || Some(scratch.0.clone()), every_pass).unwrap();
        assert_eq!(config.sources.len(), 1);
    }

    #[test]
    fn the_sample_config_at_the_repo_root_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../inlet.toml");
        let config = Config::load(&path).unwrap();
        assert!(
            config
                .sources
                .values()
                .any(|s| matches!(s.scheme, Scheme::Hmac(_)))
        );
    }
}
