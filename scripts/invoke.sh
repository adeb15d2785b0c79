#!/usr/bin/env bash
# `make invoke`: both functions under `cargo lambda watch` (cargo-lambda's Lambda Runtime API
# emulator), each invoked with a committed event from events/, against the local stack's queue,
# dead-letter queue and table on the AWS emulator. scripts/with-emulator.sh runs it with
# AWS_ENDPOINT_URL set: its own moto, or the endpoint given (a running `make dev`'s, say).
# Everything started here is stopped when it ends, however it ends.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
: "${AWS_ENDPOINT_URL:?run this through scripts/with-emulator.sh, or set AWS_ENDPOINT_URL}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
ingest_event=${INGEST_EVENT:-events/ingest/github-push.json}
process_event=${PROCESS_EVENT:-events/process/standard-mixed-sources.json}
# The config the functions run, and the file its `env:` secrets come from (empty: none), as for
# `make dev`.
config_file=${CONFIG:-inlet.toml}
env_file=${ENV_FILE-local.env}
python="$root/.venv/bin/python"
# cargo-lambda (and zig) live in the project venv: `make build-tools`.
export PATH="$root/.venv/bin:$PATH"
command -v cargo-lambda >/dev/null || { echo "cargo-lambda is missing: run 'make build-tools'" >&2; exit 2; }

# Each background job gets its own session, so that stopping it stops what it started too
# (cargo lambda watch runs cargo, which runs the function).
pids=()
stop() {
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() { # port, pid, what
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || { echo "$3 stopped before listening" >&2; return 1; }
    sleep 0.1
  done
  echo "$3 is not listening on 127.0.0.1:$1 after 60 s" >&2
  return 1
}

# The stack as `inlet dev` provisions it from template.yaml, under the same names, so that a
# running `make dev` stack is used as it is rather than duplicated.
stack=$("$python" - <<'EOF'
import json, os
import boto3
from botocore.exceptions import ClientError

kw = dict(endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])
sqs = boto3.client("sqs", **kw)
dynamodb = boto3.client("dynamodb", **kw)
s3 = boto3.client("s3", **kw)

def queue(name, attributes):
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError:
        return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

dlq = queue("inlet-events-dlq", {"MessageRetentionPeriod": "1209600"})
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
url = queue("inlet-events", {"VisibilityTimeout": "180", "RedrivePolicy": redrive})
table = "inlet-idempotency"
try:
    dynamodb.describe_table(TableName=table)
except ClientError:
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
bucket = "inlet-payloads"
try:
    s3.head_bucket(Bucket=bucket)
except ClientError:
    where = os.environ["AWS_REGION"]
    s3.create_bucket(Bucket=bucket, **({} if where == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": where}}))
print(url, dlq, table, bucket)
EOF
)
read -r INLET_QUEUE_URL INLET_DLQ_URL INLET_TABLE INLET_BUCKET <<<"$stack"
export INLET_QUEUE_URL INLET_DLQ_URL INLET_TABLE INLET_BUCKET
echo "stack: INLET_QUEUE_URL=$INLET_QUEUE_URL INLET_DLQ_URL=$INLET_DLQ_URL INLET_TABLE=$INLET_TABLE INLET_BUCKET=$INLET_BUCKET"

queue_depths() {
  "$python" - <<'EOF'
import os
import boto3
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])
for name, url in (("queue", os.environ["INLET_QUEUE_URL"]), ("dead-letter queue", os.environ["INLET_DLQ_URL"])):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    print(f"  {name}: {a['ApproximateNumberOfMessages']} visible, {a['ApproximateNumberOfMessagesNotVisible']} in flight")
EOF
}

# The config forwards GitHub events to http://127.0.0.1:8900/hooks. The functions get it with that
# URL pointed at a target of this run's own that takes every delivery (204), so the result does not
# depend on what else listens on 8900; FORWARD_URL=http://… sends them elsewhere instead.
if [ -z "${FORWARD_URL:-}" ]; then
  target_port=$(free_port)
  setsid "$python" - "$target_port" >target/invoke-target.log 2>&1 <<'EOF' &
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Target(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

HTTPServer(("127.0.0.1", int(sys.argv[1])), Target).serve_forever()
EOF
  pids+=($!)
  wait_for_port "$target_port" "${pids[-1]}" "the forward target"
  FORWARD_URL="http://127.0.0.1:$target_port/hooks"
fi
# Passed as INLET_CONFIG (the config's text), which wins over any inlet.toml; under watch the
# function runs from target/debug, where no inlet.toml sits beside it anyway.
config=$(<"$config_file")
export INLET_CONFIG="${config//http:\/\/127.0.0.1:8900\/hooks/$FORWARD_URL}"
echo "forward target: $FORWARD_URL"

# The secrets the config's `env:` references name, from the env file; a variable already set wins, as
# with `inlet --env-file`. Exported rather than passed with `--env-file`: cargo-lambda's env-file
# reader refuses the `=` padding of a base64 value, and watch passes its own environment on.
if [ -n "$env_file" ]; then
  while IFS= read -r line; do
    [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    [ -n "${!BASH_REMATCH[1]:-}" ] || export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
  done <"$env_file"
fi

# Built first, exactly as watch builds them, so that the first invoke finds them fresh instead of
# compiling (silently: its output goes to the log) while the invoke waits. On each function's first
# invoke watch runs `cargo run --bin <function>` at the workspace root: no -p, so cargo resolves
# features for every workspace member (the CLI's and the tests' tokio features too), and a build of
# `-p inlet-ingest -p inlet-process` alone would have other features and so another copy of the
# AWS SDK. Same profile (dev), same packages, same target directory. Watch runs without --quiet,
# so that its log shows cargo's line for each start: `Finished` at once when nothing was compiled.
echo "building the functions as cargo lambda watch runs them: cargo build --bin ingest --bin process" \
  "(the first time, a few minutes: it compiles the AWS SDK)"
cargo build --locked --bin ingest --bin process
port=$(free_port)
echo "starting cargo lambda watch on 127.0.0.1:$port (its log, with the functions': target/invoke-watch.log)"
setsid cargo lambda watch --ignore-changes --locked \
  --invoke-address 127.0.0.1 --invoke-port "$port" >target/invoke-watch.log 2>&1 &
pids+=($!)
wait_for_port "$port" "${pids[-1]}" "cargo lambda watch (log: target/invoke-watch.log)"

invoke() { # function, event file
  echo
  echo "invoking $1: watch starts it on the first invoke (cargo run --bin $1, already built)"
  echo "\$ cargo lambda invoke $1 --invoke-address 127.0.0.1 --invoke-port $port --data-file $2"
  cargo lambda invoke "$1" --invoke-address 127.0.0.1 --invoke-port "$port" --data-file "$2" --output-format json
  echo
}

invoke ingest "$ingest_event"
queue_depths
invoke process "$process_event"
queue_depths
echo "  (what ingest queued is still there: under watch nothing polls the queue, as Lambda's event"
echo "  source mapping would; process was handed $process_event instead)"
echo
echo "function log lines (target/invoke-watch.log):"
grep -E '^\{' target/invoke-watch.log || true
