#!/usr/bin/env python3
"""Zips each target/lambda/<function>/bootstrap as Lambda takes it (bootstrap.zip beside it, the
file executable at the archive's root) and prints the zipped sizes against the 3.5 MB budget.
Exits 1 when any package is over the budget, so the build that made it fails.

Usage: lambda_zip.py FUNCTION... (run from the repository root)."""
import os
import sys
import zipfile

BUDGET = 3.5 * 1000 * 1000  # bytes, per zipped bootstrap
# A fixed timestamp keeps the archive byte-for-byte reproducible for the same binary.
EPOCH = (1980, 1, 1, 0, 0, 0)


def main(functions):
    over = []
    for function in functions:
        directory = os.path.join("target", "lambda", function)
        binary = os.path.join(directory, "bootstrap")
        archive = os.path.join(directory, "bootstrap.zip")
        info = zipfile.ZipInfo("bootstrap", date_time=EPOCH)
        info.external_attr = (0o100755 & 0xFFFF) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(binary, "rb") as source:
            data = source.read()
        with zipfile.ZipFile(archive, "w") as out:
            out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        zipped = os.path.getsize(archive)
        verdict = "ok" if zipped <= BUDGET else "OVER the 3.5 MB budget"
        if zipped > BUDGET:
            over.append(function)
        print(
            f"{archive}: {zipped:,} bytes ({zipped / 1e6:.2f} MB; bootstrap {len(data) / 1e6:.2f} MB) {verdict}"
        )
    return over


if __name__ == "__main__":
    over = main(sys.argv[1:] or ["ingest", "process"])
    if over:
        print(
            f"lambda_zip.py: {', '.join(over)} over the {BUDGET / 1e6:g} MB budget",
            file=sys.stderr,
        )
        sys.exit(1)
