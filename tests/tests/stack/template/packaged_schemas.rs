//! scripts/lambda_zip.py packages the schema files a config names into the ingest package, at
//! the same paths relative to `inlet.toml` (where ingest reads them), and refuses a package whose
//! config names a schema it cannot find or one outside the config's directory. Process reads
//! only ingest's verdict: its package carries none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::python;
use inlet_testkit::{Scratch, repo_root};
use std::path::Path;
use std::process::{Command, Output};

const CONFIG: &str = "[sources.github]\nscheme = \"github\"\nsecrets = [\"secretsmanager:inlet/github#secret\"]\n\
                      [sources.github.schemas]\npush = \"schemas/github/push.json\"\n";

/// `target/lambda/<function>/bootstrap.zip` as cargo lambda makes it: bootstrap and the config.
fn pack(dir: &Path, function: &str, config: &str) {
    let package = dir.join("target/lambda").join(function);
    std::fs::create_dir_all(&package).unwrap();
    let status = Command::new(python())
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
             \x20   z.writestr('bootstrap', b'\\x7fELF not really')\n\
             \x20   z.writestr('inlet.toml', open(sys.argv[2], 'rb').read())\n",
        )
        .arg(package.join("bootstrap.zip"))
        .arg(dir.join(config))
        .status()
        .unwrap();
    assert!(status.success());
}

fn finish(dir: &Path, config: &str, function: &str, into: &str) -> Output {
    Command::new(python())
        .arg(repo_root().join("scripts/lambda_zip.py"))
        .args(["--config", config, "--into", into, function])
        .current_dir(dir)
        .output()
        .unwrap()
}

fn entries(zip: &Path) -> Vec<String> {
    let out = Command::new(python())
        .arg("-c")
        .arg("import sys, zipfile\nprint('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))")
        .arg(zip)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_ingest_package_carries_the_schemas_beside_its_config() {
    let scratch = Scratch::with_prefix("inlet-lambda-zip-schemas");
    let dir = scratch.path();
    std::fs::create_dir_all(dir.join("deploy/schemas/github")).unwrap();
    let schema = std::fs::read(repo_root().join("events/schemas/github/push.json")).unwrap();
    std::fs::write(dir.join("deploy/schemas/github/push.json"), &schema).unwrap();
    std::fs::write(dir.join("deploy/inlet.toml"), CONFIG).unwrap();

    for function in ["ingest", "process"] {
        pack(dir, function, "deploy/inlet.toml");
        let out = finish(
            dir,
            "deploy/inlet.toml",
            function,
            &format!("out-{function}"),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{function}: {out:?}");
        let zip = dir
            .join("target/lambda")
            .join(function)
            .join("bootstrap.zip");
        let names = entries(&zip);
        if function == "ingest" {
            assert_eq!(
                names,
                ["bootstrap", "inlet.toml", "schemas/github/push.json"]
            );
            assert!(stdout.contains("1 sources, 1 schemas)"), "{stdout}");
            let unpacked = dir.join("out-ingest/schemas/github/push.json");
            assert_eq!(std::fs::read(unpacked).unwrap(), schema);
        } else {
            assert_eq!(
                names,
                ["bootstrap", "inlet.toml"],
                "process reads no schema"
            );
        }
    }

    // A schema that is not there, or one outside the config's directory, fails the build.
    for (path, says) in [
        (
            "schemas/github/gone.json",
            "`sources.github.schemas.push`: ",
        ),
        (
            "../push.json",
            "is not a path relative to the config's directory without `..`",
        ),
    ] {
        let config = CONFIG.replace("schemas/github/push.json", path);
        std::fs::write(dir.join("deploy/inlet.toml"), &config).unwrap();
        pack(dir, "ingest", "deploy/inlet.toml");
        let out = finish(dir, "deploy/inlet.toml", "ingest", "out-refused");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {out:?}");
        assert!(stderr.contains(says), "{path}: {stderr}");
    }
}
