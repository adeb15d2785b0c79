"""`make sam-invoke`: both functions as `sam build` packages them, run by `sam local invoke` in
Lambda's container image with the committed events/, against the AWS emulator, and the answers
checked. SAM exits 0 even when the function never answered, so every verdict here is read from
what the function returned and what it did on the emulator, never from SAM's exit code.

Run by scripts/with-docker.sh (a Docker engine, DOCKER_HOST) inside scripts/with-emulator.sh
(AWS_ENDPOINT_URL: its own moto, or a running `make dev`'s). The run provisions a stack of its own
on the emulator (queue, dead-letter queue, table, bucket and Secrets Manager secrets, under one
run name) and deletes it afterwards, so a `make dev` stack on the same emulator is left as it was.

The packages are the deployable ones: `sam build` runs the template's build methods (the root
Makefile's build-<Function>: cargo lambda, arm64) with DEPLOY_CONFIG naming a config made from
inlet.toml for this run, packaged as inlet.toml beside bootstrap. Only what differs for a local
run differs in it: a deployed function has no `env:` secrets but the template's variables (SAM
passes no others), so its `env:NAME` references become `secretsmanager:<run>/NAME`, with the values
from local.env put into the emulator's Secrets Manager, as a deployment keeps them; and the GitHub
route forwards to a target of this run's. The environment is the template's: sam local invoke
takes the template's parameter LocalEndpointUrl (AWS_ENDPOINT_URL for both functions) and
`--env-vars` naming this run's queue, table and bucket for the variables the template declares.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "sam-invoke"
# The config's GitHub route forwards here (inlet.toml); this run points it at its own target.
SAMPLE_FORWARD_URL = "http://127.0.0.1:8900/hooks"
ENV_REF = re.compile(r'"env:([A-Za-z_][A-Za-z0-9_]*)"')


class Failed(Exception):
    """A check that did not hold: the run ends non-zero with this message."""


def check(condition: bool, what: str, detail: object = "") -> None:
    if not condition:
        raise Failed(f"{what}{': ' if detail != '' else ''}{detail}")
    print(f"  ok  {what}")


def read_env_file(path: Path) -> dict:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if found:
            values[found.group(1)] = found.group(2)
    return values


class ForwardTarget:
    """The agent the GitHub route forwards to: records every request, answers 204."""

    def __init__(self) -> None:
        self.received: list = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Stack:
    """This run's queue, dead-letter queue, table, bucket and secrets on the emulator."""

    def __init__(self, run: str) -> None:
        kw = {"endpoint_url": os.environ["AWS_ENDPOINT_URL"], "region_name": os.environ["AWS_REGION"]}
        self.sqs = boto3.client("sqs", **kw)
        self.dynamodb = boto3.client("dynamodb", **kw)
        self.s3 = boto3.client("s3", **kw)
        self.secrets = boto3.client("secretsmanager", **kw)
        self.run = run
        self.queue_url = self.dlq_url = None
        self.table = self.bucket = None
        self.secret_ids: list = []

    def create(self, secret_values: dict) -> None:
        self.dlq_url = self.sqs.create_queue(QueueName=f"{self.run}-dlq")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "500"})
        self.queue_url = self.sqs.create_queue(
            QueueName=self.run, Attributes={"VisibilityTimeout": "180", "RedrivePolicy": redrive}
        )["QueueUrl"]
        self.dynamodb.create_table(
            TableName=self.run,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.table = self.run
        self.s3.create_bucket(Bucket=self.run)
        self.bucket = self.run
        for name, value in secret_values.items():
            secret_id = f"{self.run}/{name}"
            self.secrets.create_secret(Name=secret_id, SecretString=value)
            self.secret_ids.append(secret_id)

    def delete(self) -> None:
        """Everything this run made, whatever state the run ended in."""
        steps = [(lambda u=u: self.sqs.delete_queue(QueueUrl=u)) for u in (self.queue_url, self.dlq_url) if u]
        if self.table:
            steps.append(lambda: self.dynamodb.delete_table(TableName=self.table))
        if self.bucket:
            steps.append(self.empty_and_delete_bucket)
        steps += [
            (lambda s=s: self.secrets.delete_secret(SecretId=s, ForceDeleteWithoutRecovery=True))
            for s in self.secret_ids
        ]
        for step in steps:
            try:
                step()
            except Exception as error:  # noqa: BLE001 (clean-up goes on; say what was left)
                print(f"  (clean-up: {error})", file=sys.stderr)

    def empty_and_delete_bucket(self) -> None:
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                self.s3.delete_object(Bucket=self.bucket, Key=item["Key"])
        self.s3.delete_bucket(Bucket=self.bucket)

    def queued_keys(self) -> list:
        """The envelope keys on the queue, read without consuming them for good."""
        keys = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0
            ).get("Messages", [])
            if not got:
                return keys
            keys += [json.loads(m["Body"])["key"] for m in got]

    def depth(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def claim_status(self, key: str):
        item = self.dynamodb.get_item(TableName=self.table, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
        return item.get("status", {}).get("S") if item else None


class Sam:
    """The pinned SAM CLI, its Lambda containers on the host's network (sam_host_network.py)."""

    def __init__(self, python: str, pins: str) -> None:
        self.command = [python, str(ROOT / "scripts" / "sam_host_network.py"), pins, "--"]
        self.env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}

    def build(self, config: Path, log: Path) -> None:
        print(f"$ DEPLOY_CONFIG={config.relative_to(ROOT)} sam build --build-dir {(WORK / 'build').relative_to(ROOT)}")
        with log.open("w") as out:
            done = subprocess.run(
                self.command + ["build", "--build-dir", str(WORK / "build")],
                cwd=ROOT,
                env={**self.env, "DEPLOY_CONFIG": str(config.relative_to(ROOT))},
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            raise Failed(f"sam build failed ({done.returncode}); its output: {log.relative_to(ROOT)}")

    def invoke(self, function: str, event: str, parameters: list, env_vars: Path, log: Path):
        """The function's answer (SAM's standard output, one JSON value), its log going to `log`."""
        args = [
            "local", "invoke", function,
            "--template", str(WORK / "build" / "template.yaml"),
            "--event", event,
            "--env-vars", str(env_vars),
            "--parameter-overrides", *parameters,
            "--skip-pull-image",
        ]  # fmt: skip
        print(f"$ sam local invoke {function} --event {event} --skip-pull-image …")
        with log.open("a") as err:
            err.write(f"\n=== sam local invoke {function} --event {event}\n")
            err.flush()
            done = subprocess.run(
                self.command + args, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=err, check=False, timeout=600
            )
        answer = done.stdout.decode("utf-8", "replace").strip()
        try:
            return json.loads(answer)
        except json.JSONDecodeError:
            raise Failed(
                f"{function} gave no answer (sam exited {done.returncode}, printed {answer[:300]!r});"
                f" its log: {log.relative_to(ROOT)}"
            ) from None


def copy_schemas(config_text: str, source_dir: Path, into: Path) -> None:
    """The schema files the config's sources name, copied beside the made config at the same
    relative paths (they are read, and packaged, relative to the config)."""
    for source in tomllib.loads(config_text).get("sources", {}).values():
        for path in source.get("schemas", {}).values():
            (into / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source_dir / path, into / path)


def standard_webhooks_valid(headers: dict, body: bytes, secret: str) -> bool:
    """The forward's signature, checked as the agent would (Standard Webhooks, whsec_ key)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, item) for item in headers.get("webhook-signature", "").split())


def record_body(record: dict) -> bytes:
    envelope = json.loads(record["body"])
    if "body_b64" in envelope:
        return base64.b64decode(envelope["body_b64"])
    return envelope["body"].encode()


def logged_trace_ids(text: str, key: str) -> set:
    """The trace ids on the JSON log lines in `text` (one invocation's) about event `key` (a line
    without one counts as None)."""
    ids = set()
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        fields = entry.get("fields") if isinstance(entry, dict) else None
        if isinstance(fields, dict) and fields.get("key") == key:
            ids.add(fields.get("trace_id"))
    return ids


def run_checks(args, stack: Stack, target: ForwardTarget, sam: Sam, env: dict) -> None:
    log = WORK / "invoke.log"
    log.write_text("")
    parameters = [f"LocalEndpointUrl={os.environ['AWS_ENDPOINT_URL']}"]
    env_vars = WORK / "env-vars.json"
    env_vars.write_text(
        json.dumps(
            {
                "Parameters": {
                    "INLET_QUEUE_URL": stack.queue_url,
                    "INLET_DLQ_URL": stack.dlq_url,
                    "INLET_TABLE": stack.table,
                    "INLET_BUCKET": stack.bucket,
                }
            },
            indent=2,
        )
    )

    print("ingest: each front door's event (API Gateway HTTP API, Lambda function URL)")
    expected_keys = []
    for event in args.ingest_event:
        start = len(log.read_text())
        answer = sam.invoke("IngestFunction", event, parameters, env_vars, log)
        check(answer.get("statusCode") == 202, f"{event}: statusCode 202", answer)
        key = json.loads(answer.get("body") or "{}").get("id")
        check(bool(key) and key.startswith("github#"), f"{event}: answers the queued key {key}", answer)
        expected_keys.append(key)
        traces = logged_trace_ids(log.read_text()[start:], key)
        check(
            len(traces) == 1 and re.fullmatch(r"[0-9a-f]{32}", str(next(iter(traces)))) is not None,
            f"{event}: ingest's log lines for {key} carry its trace id",
            traces,
        )
    queued = stack.queued_keys()
    check(sorted(queued) == sorted(expected_keys), f"the queue holds exactly those messages ({len(queued)})", queued)

    print(f"process: {args.process_event}")
    records = json.loads(Path(args.process_event).read_text())["Records"]
    github = [r for r in records if json.loads(r["body"])["source"] == "github"]
    keys = [json.loads(r["body"])["key"] for r in records]
    start = len(log.read_text())
    answer = sam.invoke("ProcessFunction", args.process_event, parameters, env_vars, log)
    process_log = log.read_text()[start:]
    check(answer.get("batchItemFailures") == [], "batchItemFailures is [] (every record done)", answer)
    check(len(target.received) == len(github), f"the forward target received {len(github)} POST", target.received)
    for (headers, body), record in zip(target.received, github):
        key = json.loads(record["body"])["key"]
        check(body == record_body(record), f"{key}: forwarded body is the delivery's bytes")
        check(headers.get("webhook-id") == key, f"{key}: webhook-id is the event key", headers)
        check(
            standard_webhooks_valid(headers, body, env["AGENT_FORWARD_SECRET"]),
            f"{key}: the forward's Standard Webhooks signature verifies with AGENT_FORWARD_SECRET",
        )
        traceparent = headers.get("traceparent", "")
        check(re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]", traceparent) is not None, f"{key}: a traceparent", headers)
        trace_id = traceparent.split("-")[1] if traceparent else None
        traces = logged_trace_ids(process_log, key)
        check(traces == {trace_id}, f"{key}: process's log lines carry the forward's trace id {trace_id}", traces)
    statuses = {key: stack.claim_status(key) for key in keys}
    check(all(s == "COMPLETED" for s in statuses.values()), f"all {len(keys)} claims COMPLETED in DynamoDB", statuses)
    check(stack.depth(stack.dlq_url) == 0, "nothing dead-lettered")

    print(f"process again: {args.process_event} (SQS delivers at least once)")
    answer = sam.invoke("ProcessFunction", args.process_event, parameters, env_vars, log)
    check(answer.get("batchItemFailures") == [], "batchItemFailures is [] (every record a duplicate)", answer)
    check(len(target.received) == len(github), "nothing forwarded twice", len(target.received))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sam-python", required=True, help="the Python of the venv with the pinned SAM CLI")
    parser.add_argument("--sam-pins", default="tools/requirements-lint.txt")
    parser.add_argument("--config", default="inlet.toml")
    parser.add_argument("--env-file", default="local.env")
    parser.add_argument("--ingest-event", action="append", help="repeatable; GitHub deliveries (a forwarded route)")
    parser.add_argument("--process-event", default="events/process/standard-mixed-sources.json")
    args = parser.parse_args()
    args.ingest_event = args.ingest_event or [
        "events/ingest/github-push.json",
        "events/ingest/function-url-github-push.json",
    ]
    os.chdir(ROOT)
    WORK.mkdir(parents=True, exist_ok=True)

    env = read_env_file(Path(args.env_file))
    config_text = Path(args.config).read_text(encoding="utf-8")
    referenced = sorted(set(ENV_REF.findall(config_text)))
    missing = [name for name in referenced if name not in env]
    if missing:
        print(f"sam-invoke: {args.env_file} lacks {', '.join(missing)}, which {args.config} references", file=sys.stderr)
        return 2

    run = f"inlet-sam-{secrets.token_hex(4)}"
    stack, target = Stack(run), ForwardTarget()
    sam = Sam(args.sam_python, args.sam_pins)
    print(f"sam-invoke: stack {run} on {os.environ['AWS_ENDPOINT_URL']}; forward target {target.url}")
    try:
        stack.create({name: env[name] for name in referenced})
        config = WORK / "inlet.toml"
        config.write_text(
            f"# Made by scripts/sam_invoke.py from {args.config} for run {run}: env: secrets read from\n"
            f"# this run's Secrets Manager, the GitHub route forwarded to this run's target.\n"
            + ENV_REF.sub(lambda m: f'"secretsmanager:{run}/{m.group(1)}"', config_text).replace(
                SAMPLE_FORWARD_URL, target.url
            )
        )
        copy_schemas(config_text, Path(args.config).parent, WORK)
        sam.build(config, WORK / "build.log")
        run_checks(args, stack, target, sam, env)
    except Failed as failure:
        print(f"sam-invoke: FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        target.close()
        stack.delete()
    print("sam-invoke: both functions answered as expected under sam local invoke")
    return 0


if __name__ == "__main__":
    sys.exit(main())
