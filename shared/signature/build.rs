//! Lists the provider files under `src/providers/` for the registry, so that adding a provider is
//! adding its file: each must export `pub static PROVIDER: crate::Provider`.

use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;

fn main() -> Result<(), Box<dyn Error>> {
    let dir = Path::new("src/providers");
    println!("cargo:rerun-if-changed=src/providers");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let (Some(stem), Some(extension)) = (path.file_stem(), path.extension()) else {
            continue;
        };
        if extension == "rs" {
            names.push(stem.to_string_lossy().into_owned());
        }
    }
    names.sort();
    let mut out = String::new();
    for name in &names {
        let path = std::fs::canonicalize(dir.join(format!("{name}.rs")))?;
        writeln!(
            out,
            "#[path = {:?}]\npub mod {name};",
            path.display().to_string()
        )?;
    }
    out.push_str("pub static FILES: &[&crate::Provider] = &[\n");
    for name in &names {
        writeln!(out, "    &{name}::PROVIDER,")?;
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR")?).join("providers.rs");
    std::fs::write(target, out)?;
    Ok(())
}
