"""The pinned SAM CLI, with its Lambda containers on the host's network.

`sam local invoke` runs a function in a container on Docker's default network and publishes the
runtime interface emulator's port (8080 inside) on a free host port. On a Docker engine without a
bridge (the one `make sam-invoke` starts: no private-range addresses here) that network leads
nowhere, and `--docker-network host` does not help: SAM 1.170 still creates the container on the
default network and publishes the port. So this runs SAM as its own `sam` script does, but has
each Lambda container it creates use the host's network instead, with the emulator listening on
127.0.0.1 at the port SAM already chose for it (and the Runtime API on a free loopback port of its
own), so that SAM reaches the function where it expects to and the function reaches the AWS
emulator on 127.0.0.1. Nothing else SAM does changes: image, mounts, environment and command are
its own. It patches SAM's use of docker-py, so it refuses any SAM version but the pinned one.

Usage: python scripts/sam_host_network.py PINS_FILE -- SAM ARGUMENTS...
"""

import re
import socket
import sys
from importlib.metadata import version

# The emulator's own address inside the container (SAM's RAPID_PORT_CONTAINER) and the binary SAM
# makes the container's entry point.
RIE_PORT = "8080"
RIE = "/var/rapid/aws-lambda-rie"


def pinned_sam_version(pins_file: str) -> str:
    with open(pins_file, encoding="utf-8") as pins:
        for line in pins:
            found = re.match(r"\s*aws-sam-cli==([0-9.]+)\s*$", line)
            if found:
                return found.group(1)
    sys.exit(f"{pins_file} pins no aws-sam-cli version (a line aws-sam-cli==X.Y.Z)")


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def on_host_network(kwargs: dict) -> dict:
    """A Lambda container's create arguments, moved to the host's network."""
    ports = dict(kwargs.pop("ports", None) or {})
    binding = ports.pop(RIE_PORT, None) or ports.pop(int(RIE_PORT), None)
    if binding is None or ports:
        # Debug ports, or a SAM that binds differently: say so rather than start a container SAM
        # could not reach.
        raise SystemExit(f"sam_host_network: unexpected port bindings {kwargs!r}")
    _interface, host_port = binding
    entrypoint = list(kwargs.get("entrypoint") or [])
    if not entrypoint or entrypoint[0] != RIE:
        raise SystemExit(f"sam_host_network: the entry point is not {RIE}: {entrypoint!r}")
    kwargs["entrypoint"] = entrypoint + [
        "--runtime-interface-emulator-address",
        f"127.0.0.1:{host_port}",
        "--runtime-api-address",
        f"127.0.0.1:{free_loopback_port()}",
    ]
    kwargs["network_mode"] = "host"
    return kwargs


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        sys.exit(__doc__)
    wanted, running = pinned_sam_version(sys.argv[1]), version("aws-sam-cli")
    if running != wanted:
        sys.exit(f"sam_host_network: SAM CLI {running} is installed, {wanted} is pinned ({sys.argv[1]})")

    from docker.models.containers import ContainerCollection

    create = ContainerCollection.create

    def create_on_host_network(self, image, command=None, **kwargs):
        labels = kwargs.get("labels") or {}
        if labels.get("sam.cli.container.type") == "lambda":
            kwargs = on_host_network(kwargs)
        return create(self, image, command, **kwargs)

    ContainerCollection.create = create_on_host_network

    from samcli.cli.main import cli

    sys.argv = ["sam"] + sys.argv[3:]
    sys.exit(cli())


if __name__ == "__main__":
    main()
