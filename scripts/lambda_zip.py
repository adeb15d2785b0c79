#!/usr/bin/env python3
"""Checks and finishes each function's package, target/lambda/<function>/bootstrap.zip as
`cargo lambda build` made it from the package's [package.metadata.lambda.build]: the executable
`bootstrap` and the config `inlet.toml` at the archive's root, beside it, where the function reads
it (Lambda's 4 KB cap on a function's environment rules out passing the config in a variable).

For each function:
- refuses the package when `bootstrap` is missing, when `inlet.toml` is missing (cargo lambda
  skips an `include` path it cannot find without a word), when it differs from --config (the
  file that was meant to be packaged), has no sources, or names a secret that is not a reference
  (`env:` or `secretsmanager:`): the zip is uploaded to S3 as it is;
- adds to the ingest package the JSON Schema files the config's sources name (`schemas`), at
  the same paths relative to `inlet.toml` as they have relative to the config given, refusing a
  path that leaves the config's directory or a file that is missing (ingest reads and compiles
  them at start-up; process only reads ingest's verdict, so its package has none);
- rewrites the zip reproducibly (entries in a fixed order, fixed timestamps, deflate 9,
  `bootstrap` executable), so the same inputs give the same bytes;
- prints the zipped size against its budget (ingest 3.5 MB, process 4.5 MB: process carries the
  routes' destinations and jq); a package over it is refused;
- with --into DIR, also unpacks the package into DIR (what `sam build` deploys).
Exits 1 when any package is refused, so the build that made it fails.

Usage: lambda_zip.py [--config PATH] [--into DIR] FUNCTION... (run from the repository root),
or lambda_zip.py --names-schemas CONFIG (exit 0 when the config names schemas, 1 when it names
none, 2 when it cannot be read)."""
import argparse
import os
import sys
import tempfile
import zipfile

try:
    import tomllib
except ModuleNotFoundError:
    # Exit 2, not 1: `--names-schemas` answers "no" with 1.
    print("lambda_zip.py needs Python 3.11 or newer (tomllib), to read the packaged config", file=sys.stderr)
    sys.exit(2)

# Bytes per zipped package. Ingest answers providers and must start fastest; process also
# carries the routes' AWS destinations (SNS, EventBridge) and the jq interpreter.
BUDGETS = {"ingest": 3.5 * 1000 * 1000, "process": 4.5 * 1000 * 1000}
BINARY = "bootstrap"
# The file the functions read beside their executable (DEFAULT_FILE in shared/core's config loader).
CONFIG = "inlet.toml"
# A fixed timestamp keeps the archive byte-for-byte reproducible for the same inputs.
EPOCH = (1980, 1, 1, 0, 0, 0)
REFERENCES = ("env:", "secretsmanager:")
# The functions that read the sources' schema files.
SCHEMA_READERS = {"ingest"}
# Ingest built with its `schemas` feature (the JSON Schema validator, about 0.5 MB zipped), which
# the Makefile turns on only when the packaged config names schemas.
SCHEMA_BUDGETS = {"ingest": 4.0 * 1000 * 1000}


class Refused(Exception):
    pass


def secret_fields(config):
    """(key, value) of every config field that holds a secret reference."""
    sources = config.get("sources")
    for name, source in (sources.items() if isinstance(sources, dict) else []):
        if not isinstance(source, dict):
            continue
        secrets = source.get("secrets", [])
        for i, secret in enumerate(secrets if isinstance(secrets, list) else [secrets]):
            yield f"sources.{name}.secrets[{i}]", secret
        if "handshake_secret" in source:
            yield f"sources.{name}.handshake_secret", source["handshake_secret"]
    routes = config.get("routes", [])
    for i, route in enumerate(routes if isinstance(routes, list) else []):
        action = route.get("action") if isinstance(route, dict) else None
        if isinstance(action, dict) and "secret" in action:
            yield f"routes[{i}].action.secret", action["secret"]


def schema_files(config, base):
    """{path in the package: bytes} of every schema file the config's sources name, read
    relative to `base`, the given config's directory."""
    files = {}
    for name, source in config.get("sources", {}).items():
        schemas = source.get("schemas", {}) if isinstance(source, dict) else {}
        for event_type, path in (schemas.items() if isinstance(schemas, dict) else []):
            key = f"sources.{name}.schemas.{event_type}"
            parts = path.split("/") if isinstance(path, str) else []
            if not parts or path.startswith("/") or "\\" in path or any(p in ("", "..") for p in parts):
                raise Refused(f"`{key}` is not a path relative to the config's directory without `..`")
            inside = "/".join(p for p in parts if p != ".")
            try:
                with open(os.path.join(base, *parts), "rb") as schema:
                    files[inside] = schema.read()
            except OSError as error:
                raise Refused(f"`{key}`: {error}") from error
    return files


def check_config(text, expected):
    """The number of sources in the packaged config; Refused when it is not the one to ship."""
    if expected is not None and text != expected:
        raise Refused(f"its {CONFIG} is not the config given to package")
    try:
        config = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise Refused(f"its {CONFIG} is not TOML: {error}") from error
    sources = config.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise Refused(f"its {CONFIG} has no [sources]")
    for key, value in secret_fields(config):
        if not (isinstance(value, str) and value.startswith(REFERENCES)):
            # Never print the value: it may be the secret itself.
            raise Refused(f"its {CONFIG} has `{key}` that is not an env: or secretsmanager: reference")
    return len(sources), config


def entry(name):
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    mode = 0o40755 if name.endswith("/") else 0o100755 if name == BINARY else 0o100644
    info.external_attr = (mode & 0xFFFF) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def finish(function, expected, base, into):
    directory = os.path.join("target", "lambda", function)
    archive = os.path.join(directory, "bootstrap.zip")
    if not os.path.exists(archive):
        raise Refused(f"{archive} is missing: build it with `cargo lambda build -p inlet-{function}`")
    with zipfile.ZipFile(archive) as built:
        files = {info.filename: built.read(info) for info in built.infolist()}
    for name in files:
        parts = name.split("/")
        if name.startswith("/") or ".." in parts:
            raise Refused(f"{archive} has an entry outside the package: {name}")
    if BINARY not in files:
        raise Refused(f"{archive} has no {BINARY}")
    if CONFIG not in files:
        raise Refused(
            f"{archive} has no {CONFIG} beside {BINARY}: the function would not start "
            f"(is `include` in functions/{function}/Cargo.toml, and was cargo lambda run from the repository root?)"
        )
    sources, config = check_config(files[CONFIG], expected)
    schemas = schema_files(config, base) if function in SCHEMA_READERS else {}
    for name in schemas:
        if name in (BINARY, CONFIG):
            raise Refused(f"a schema would replace the package's {name}")
    files.update(schemas)

    # The executable first, the rest by name: one order for the same inputs.
    names = [BINARY] + sorted(name for name in files if name != BINARY)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".zip")
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w") as out:
            for name in names:
                out.writestr(entry(name), files[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        os.replace(temporary, archive)
        # mkstemp made it private; a package is no secret (it holds references only).
        os.chmod(archive, 0o644)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)

    if into is not None:
        for name in names:
            path = os.path.join(into, name)
            if name.endswith("/"):
                os.makedirs(path, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(path) or into, exist_ok=True)
            with open(path, "wb") as out:
                out.write(files[name])
            os.chmod(path, 0o755 if name == BINARY else 0o644)

    zipped = os.path.getsize(archive)
    budget = (SCHEMA_BUDGETS if schemas else BUDGETS).get(function, min(BUDGETS.values()))
    print(
        f"{archive}: {zipped:,} bytes ({zipped / 1e6:.2f} MB; {BINARY} {len(files[BINARY]) / 1e6:.2f} MB, "
        f"{CONFIG} {len(files[CONFIG]):,} bytes, {sources} sources"
        f"{f', {len(schemas)} schemas' if schemas else ''})"
        f"{f', unpacked into {into}' if into is not None else ''} "
        f"{'ok' if zipped <= budget else 'OVER'} (budget {budget / 1e6:g} MB)"
    )
    if zipped > budget:
        raise Refused(f"{archive} is over the {budget / 1e6:g} MB budget")


def names_schemas(path):
    """Whether the config at `path` names schemas: exit status 0 if so, 1 if not (the Makefile
    builds ingest with its `schemas` feature then), 2 if it cannot be read."""
    try:
        with open(path, "rb") as source:
            config = tomllib.load(source)
    except (OSError, tomllib.TOMLDecodeError) as error:
        print(f"lambda_zip.py: {path}: {error}", file=sys.stderr)
        sys.exit(2)
    sources = config.get("sources", {})
    return any(isinstance(s, dict) and s.get("schemas") for s in sources.values())


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--names-schemas":
        sys.exit(0 if names_schemas(sys.argv[2]) else 1)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help=f"the file that should be packaged as {CONFIG}")
    parser.add_argument("--into", help="also unpack each package into this directory")
    parser.add_argument("functions", nargs="*", default=["ingest", "process"])
    args = parser.parse_args()
    if args.into is not None and len(args.functions) != 1:
        parser.error("--into takes one function: each is unpacked on its own")
    expected = None
    # Schema paths are relative to the config given; cargo lambda packaged ./inlet.toml otherwise.
    base = os.path.dirname(args.config or CONFIG) or "."
    if args.config is not None:
        try:
            with open(args.config, "rb") as source:
                expected = source.read()
        except OSError as error:
            print(f"lambda_zip.py: the config to package: {error}", file=sys.stderr)
            sys.exit(1)
    refused = []
    for function in args.functions:
        try:
            finish(function, expected, base, args.into)
        except Refused as reason:
            print(f"lambda_zip.py: {function}: {reason}", file=sys.stderr)
            refused.append(function)
    if refused:
        print(f"lambda_zip.py: refused {', '.join(refused)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
