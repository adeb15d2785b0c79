"""Prints Inlet's benchmark figures beside OpenSSL's SHA-256 speed on the same machine.

Reads `openssl speed -evp sha256 -mr -bytes 1048576` output on stdin and criterion's estimates
from the directory given as the first argument.
"""

import json
import pathlib
import sys


def openssl_bytes_per_sec(text: str) -> float:
    for line in text.splitlines():
        # Machine-readable result line: +F:<n>:sha256:<bytes per second for each size>
        if line.startswith("+F:"):
            return float(line.split(":")[3])
    sys.exit("no +F: line in the openssl output")


def mean_ns(criterion: pathlib.Path, *parts: str) -> float:
    estimates = criterion.joinpath(*parts, "new", "estimates.json")
    return json.loads(estimates.read_text())["mean"]["point_estimate"]


def main() -> None:
    criterion = pathlib.Path(sys.argv[1])
    openssl = openssl_bytes_per_sec(sys.stdin.read())
    print()
    print(f"openssl speed -evp sha256, 1 MiB blocks: {openssl / 1e6:8.1f} MB/s")
    for scheme in ("github", "stripe", "standard-webhooks"):
        for size, label in ((1024, "1KiB"), (64 * 1024, "64KiB"), (1024 * 1024, "1MiB")):
            ns = mean_ns(criterion, "verify", scheme, label)
            rate = size / (ns / 1e9)
            print(
                f"verify {scheme:<18} {label:>6}: {rate / 1e6:8.1f} MB/s "
                f"({rate / openssl:6.1%} of openssl)"
            )
    providers = sorted(p.name for p in (criterion / "provider").iterdir() if p.name != "report")
    for provider in providers:
        ns = mean_ns(criterion, "provider", provider)
        print(f"verify {provider:<18}  ~1KiB: {ns / 1000:8.2f} µs per delivery")
    for name in (
        "pipeline_2KiB_push",
        "apigw_event_to_response_2KiB_push",
        "pipeline_sample_push",
        "pipeline_sample_push_with_schema",
    ):
        ns = mean_ns(criterion, f"ingest_{name}")
        print(f"ingest {name:<40}: {ns / 1000:8.2f} µs per request")
    for name in ("batch10_store10ms_concurrent", "batch10_store10ms_sequential"):
        ns = mean_ns(criterion, "process", name)
        print(f"process {name:<39}: {ns / 1e6:8.1f} ms per batch")


if __name__ == "__main__":
    main()
