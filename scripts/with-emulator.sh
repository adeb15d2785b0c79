#!/usr/bin/env bash
# Runs a command with a moto server (the AWS emulator from .venv) on 127.0.0.1:5055 (or
# EMULATOR_PORT), and stops the emulator afterwards, whatever way the command ends. A fixed port
# means the endpoint printed yesterday still works today; only when something else holds it does
# the emulator move to a free port, and say so. (The tests start their own emulators on free ports.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
moto="$root/.venv/bin/moto_server"
[ -x "$moto" ] || { echo "$moto is missing: run 'make venv'" >&2; exit 2; }

# An endpoint given from outside (another emulator, or unset with real credentials) is honoured.
if [ -n "${AWS_ENDPOINT_URL:-}" ] && [ -z "${INLET_OWN_EMULATOR:-}" ]; then
  exec "$@"
fi
# So is a running `make dev`'s: `inlet dev` records its emulator in .inlet/stack.json while it runs.
if [ -z "${INLET_OWN_EMULATOR:-}" ] && [ -f "$root/.inlet/stack.json" ]; then
  running=$("$root/.venv/bin/python" - "$root/.inlet/stack.json" <<'PY'
import json, os, sys
try:
    state = json.load(open(sys.argv[1]))
    os.kill(int(state["pid"]), 0)
    print(state["endpoint"], state["region"])
except (OSError, ValueError, KeyError):
    pass
PY
)
  if [ -n "$running" ]; then
    read -r AWS_ENDPOINT_URL AWS_REGION <<<"$running"
    export AWS_ENDPOINT_URL AWS_REGION
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
    echo "emulator: the running make dev's, $AWS_ENDPOINT_URL (.inlet/stack.json)" >&2
    exec "$@"
  fi
fi

# 5055: not a port moto (5000), LocalStack (4566) or the usual dev servers (3000, 8000, 8080) take.
wanted="${EMULATOR_PORT:-5055}"
port=$("$root/.venv/bin/python" - "$wanted" <<'PY'
import socket, sys
s = socket.socket()
# As the server will: a port left in TIME_WAIT by the last run is free, a listener is not.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    s.close()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
)
if [ "$port" != "$wanted" ]; then
  echo "emulator: port $wanted is taken; using free port $port instead (EMULATOR_PORT=N picks another)" >&2
fi
mkdir -p "$root/target"
# Its own session: Ctrl-C reaches the command (which stops gracefully, still using the emulator),
# and the emulator is stopped by the trap once the command has ended.
setsid "$moto" -H 127.0.0.1 -p "$port" >"$root/target/moto.log" 2>&1 &
moto_pid=$!
stop() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq 1 200); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$moto_pid" 2>/dev/null || { echo "moto failed to start; see target/moto.log" >&2; exit 1; }
  sleep 0.05
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
echo "emulator: moto on $AWS_ENDPOINT_URL (log: target/moto.log)" >&2
"$@"
