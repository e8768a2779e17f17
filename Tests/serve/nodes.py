"""`ketenhub serve` as operators run it: `ketenhub broker` (the embedded cluster in a process of its
own, standing in for Apache Kafka), credentials made with `ketenhub credentials add`, and nodes
started from configuration files, each a process of its own."""
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("KETENHUB_BIN", str(ROOT / ".build" / "debug" / "ketenhub"))
ALL_ROLES = ["gateway", "router", "delivery", "ledger", "sla", "api"]


def call(url, path, token=None, method="GET", body=None, headers=None):
    """(status, JSON body or raw bytes, response headers); never raises for an HTTP status."""
    request = urllib.request.Request(url + path, method=method, headers=dict(headers or {}))
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.data = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, decode(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, decode(error.read()), dict(error.headers)


def decode(data):
    try:
        return json.loads(data or b"null")
    except ValueError:
        return data


def eventually(what, probe, seconds=60, interval=0.3):
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what}")
        time.sleep(interval)


class Process:
    """A ketenhub process whose output is collected line by line as it comes."""

    def __init__(self, arguments, cwd=None, env=None):
        self.lines = []
        self.process = subprocess.Popen([BINARY, *arguments], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern, seconds=60):
        expression = re.compile(pattern)

        def probe():
            if self.process.poll() is not None and not any(expression.search(l) for l in self.lines):
                raise AssertionError(f"process ended ({self.process.returncode}) before {pattern!r}:\n" + "\n".join(self.lines[-30:]))
            return next((m for l in list(self.lines) if (m := expression.search(l))), None)
        return eventually(pattern, probe, seconds, 0.05)

    def signal(self, number):
        self.process.send_signal(number)

    def wait(self, seconds):
        return self.process.wait(timeout=seconds)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    @property
    def output(self):
        return "\n".join(self.lines)


class Node(Process):
    """`ketenhub serve --config FILE`, once it serves."""

    def __init__(self, config_file, env=None):
        super().__init__(["serve", "--config", str(config_file)], env=env)
        self.url = self.wait_for(r"serving on (http://\S+)").group(1)


class Broker(Process):
    def __init__(self, directory):
        port_file = Path(directory) / "broker.port"
        super().__init__(["broker", "--hub-topics", "--port-file", str(port_file)], cwd=ROOT)
        self.bootstrap = eventually("the broker's port file", lambda: port_file.exists() and port_file.read_text().split("\n")[0], 30, 0.05)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("broker"))
    yield b
    b.signal(signal.SIGTERM)
    try:
        b.wait(30)
    finally:
        b.stop()


def add_credential(file, principal, role, organisation=None, expires=None):
    arguments = ["credentials", "add", "--file", str(file), "--principal", principal, "--role", role]
    if organisation:
        arguments += ["--organisation", organisation]
    if expires:
        arguments += ["--expires", expires]
    result = subprocess.run([BINARY, *arguments], capture_output=True, text=True, check=True)
    return next(line for line in result.stdout.splitlines() if line.startswith("kh_"))


def write_config(directory, name, bootstrap, roles, transports=None, extra="", kafka_properties=None):
    """A node's configuration file, as an operator writes it (YAML)."""
    lines = [
        f"node: {name}",
        f"roles: [{', '.join(roles)}]",
        "kafka:",
        f"  bootstrapServers: {bootstrap}",
        "  fetchMaxWaitMs: 10",
    ] + (["  properties:"] + [f"    {k}: {v}" for k, v in kafka_properties.items()] if kafka_properties else []) + [
        "store: sqlite:ledger.sqlite",
        "credentials: credentials.json",
        f"matrix: {ROOT / 'Contracts/matrix'}",
        f"formats: {ROOT / 'Contracts/partners'}",
        f"clocks: {ROOT / 'Contracts/sla/clocks.yaml'}",
        f"console: {ROOT / 'Console'}",
        "http:",
        "  listen: 127.0.0.1:0",
        "  drainSeconds: 5",
    ]
    if transports:
        lines += ["delivery:", "  transports:"] + [f"    {o}: {{outbox: outbox/{o}}}" for o in transports]
        lines += ["  retry: {initialMs: 100, maximumMs: 1000}"]
    path = Path(directory) / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def simulated_messages(directory, cases, seed):
    """Native messages of made-up cases (`ketenhub simulate --out`), by HTTP partner, in sending order."""
    out = Path(directory) / f"messages-{seed}"
    subprocess.run([BINARY, "simulate", "--cases", str(cases), "--seed", str(seed), "--out", str(out)],
                   cwd=ROOT, capture_output=True, check=True)
    files = [(file.name, organisation.name, file) for organisation in out.iterdir() for file in organisation.iterdir()
             if organisation.name != "3ro"]  # 3RO is a batch partner: its files go through a drop directory
    return [(organisation, file.read_bytes(), content_type(file)) for _, organisation, file in sorted(files)]


def content_type(file):
    return {"xml": "application/xml", "json": "application/json", "csv": "text/csv"}.get(file.suffix.lstrip("."), "application/octet-stream")


def post_message(url, organisation, token, body, content):
    try:
        return call(url, f"/partners/{organisation}/messages", token, "POST", body, {"Content-Type": content})
    except (urllib.error.URLError, ConnectionError) as error:
        return None, str(error), {}
