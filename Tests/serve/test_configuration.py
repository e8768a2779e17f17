"""A node's configuration file: the schema in Contracts/config documents it (checked by Python's
jsonschema, which nobody here wrote), and `ketenhub serve` refuses what is wrong at start, naming the
key, the file and the line, and never repeating a value."""
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from nodes import BINARY, ROOT, Node, write_config

SCHEMA = json.loads((ROOT / "Contracts/config/hub.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)

VALID = """\
node: n1
roles: [gateway, router, delivery, ledger, sla, api]
kafka:
  bootstrapServers: 127.0.0.1:1
  properties:
    socket.timeout.ms: 10000
    sasl.password: {env: NODE_KAFKA_PASSWORD}
store: "sqlite::memory:"
credentials: credentials.json
http:
  listen: 127.0.0.1:0
delivery:
  transports:
    om: {outbox: outbox/om}
    politie: {url: https://politie.example/deliveries, bearer: {file: politie.token}}
"""


def serve(directory, text, env=None):
    path = Path(directory) / "node.yaml"
    path.write_text(text)
    environment = dict(os.environ, NODE_KAFKA_PASSWORD="not-the-real-one")
    environment.update(env or {})
    result = subprocess.run([BINARY, "serve", "--config", str(path)], capture_output=True, text=True, timeout=60,
                            cwd=ROOT, env=environment)
    return result, path


def test_the_commented_example_and_a_minimal_file_follow_the_schema():
    example = yaml.safe_load((ROOT / "deploy/ketenhub.yaml").read_text())
    assert list(VALIDATOR.iter_errors(example)) == []
    assert list(VALIDATOR.iter_errors(yaml.safe_load(VALID))) == []


# (what is wrong, the file's text, the key named, the line named, words of the message)
REFUSALS = [
    ("an unknown key at the top", VALID.replace("store:", "stroe:"), "stroe", 8, "unknown key"),
    ("an unknown key inside a mapping", VALID.replace("  listen:", "  listen: 127.0.0.1:0\n  lisen:"), "http.lisen", 12, "unknown key"),
    ("a missing required key", VALID.replace("  bootstrapServers: 127.0.0.1:1\n", ""), "kafka.bootstrapServers", 3, "required"),
    ("the store an api node needs", VALID.replace("store: \"sqlite::memory:\"\n", ""), "store", 1, "required"),
    ("a number where text is expected", VALID.replace("node: n1", "node: 12"), "node", 1, "expected text"),
    ("text where a number is expected", VALID.replace("  listen: 127.0.0.1:0", "  listen: 127.0.0.1:0\n  drainSeconds: five"), "http.drainSeconds", 12, "whole number"),
    ("an idle time of no seconds", VALID.replace("  listen: 127.0.0.1:0", "  listen: 127.0.0.1:0\n  idleSeconds: 0"), "http.idleSeconds", 12, "from 1 to 3600"),
    ("a single role instead of a list", VALID.replace("roles: [gateway, router, delivery, ledger, sla, api]", "roles: gateway"), "roles", 2, "expected a list"),
    ("an unknown role", VALID.replace("roles: [gateway,", "roles: [gatway,"), "roles[0]", 2, "unknown role"),
    ("a store URL of no known kind", VALID.replace("\"sqlite::memory:\"", "mysql://db/hub"), "store", 8, "expected sqlite:PATH"),
    ("a password in a PostgreSQL URL", VALID.replace("\"sqlite::memory:\"", "postgres://hub:geheim@db/hub"), "store", 8, "storePassword"),
    ("a PostgreSQL URL without its database", VALID.replace("\"sqlite::memory:\"", "postgres://hub@db"), "store", 8, "names its database"),
    ("a router batch of no events", VALID.replace("http:", "router: {batchSize: 0}\nhttp:"), "router.batchSize", 10, "from 1 to 10000"),
    ("router batch bytes under one record of 1 MB", VALID.replace("http:", "router: {batchBytes: 1048575}\nhttp:"), "router.batchBytes", 10,
     "from 1048576 to 67108864"),
    ("an unknown router setting", VALID.replace("http:", "router: {batchRecords: 10}\nhttp:"), "router.batchRecords", 10, "unknown key"),
    ("a retention period of no known unit", VALID.replace("http:", "retention: {alerts: 3 months}\nhttp:"), "retention.alerts", 10, "days or years"),
    ("a retention of an unknown kind", VALID.replace("http:", "retention: {emails: 90d}\nhttp:"), "retention.emails", 10, "unknown key"),
    ("a transport that is both", VALID.replace("om: {outbox: outbox/om}", "om: {outbox: outbox/om, url: https://om.example/}"), "delivery.transports.om", 14, "exactly one of"),
    ("TLS settings for an outbox", VALID.replace("om: {outbox: outbox/om}", "om: {outbox: outbox/om, tls: {trustRoots: ca.pem}}"),
     "delivery.transports.om.tls", 14, "an outbox directory takes no TLS settings"),
    ("TLS settings for a plain http URL", VALID.replace("om: {outbox: outbox/om}", "om: {url: http://om.example/d, tls: {trustRoots: ca.pem}}"),
     "delivery.transports.om.tls", 14, "TLS settings need an https URL"),
    ("a client certificate without its key", VALID.replace("om: {outbox: outbox/om}", "om: {url: https://om.example/d, tls: {certificate: hub.pem}}"),
     "delivery.transports.om.tls", 14, "a client certificate needs its private key"),
    ("TLS settings that set nothing", VALID.replace("om: {outbox: outbox/om}", "om: {url: https://om.example/d, tls: {}}"),
     "delivery.transports.om.tls", 14, "give trusted roots, a client certificate with its key, or both"),
]


@pytest.mark.parametrize("what,text,key,line,words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_wrong_file_is_refused_naming_key_file_and_line(tmp_path, what, text, key, line, words):
    result, path = serve(tmp_path, text)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{path}:{line}: {key}: " in result.stderr, result.stderr
    assert words in result.stderr
    # The schema refuses it as well: the document and the code agree.
    assert list(VALIDATOR.iter_errors(yaml.safe_load(text))) != [], what


def test_a_router_node_takes_the_batch_bounds_of_its_file(broker, tmp_path):
    extra = "router: {batchSize: 200, batchBytes: 2097152}\n"
    node = Node(write_config(tmp_path, "bounded", broker.bootstrap, ["router"], extra=extra))
    try:
        node.wait_for(r"batchBytes=2097152 batchSize=200 .*router joining the group")
    finally:
        node.stop()
    # Without the section, the defaults: 500 events and 8 MiB.
    node = Node(write_config(tmp_path, "default", broker.bootstrap, ["router"]))
    try:
        node.wait_for(r"batchBytes=8388608 batchSize=500 .*router joining the group")
    finally:
        node.stop()


def test_a_wrong_librdkafka_property_is_refused_naming_it(tmp_path):
    text = VALID.replace("    socket.timeout.ms: 10000", "    socket.timeout.ms: 10000\n    no.such.property: 1")
    result, path = serve(tmp_path, text)
    assert result.returncode == 2
    assert f"{path}:7: kafka.properties.no.such.property: librdkafka refuses the property no.such.property" in result.stderr
    result, path = serve(tmp_path, VALID.replace("socket.timeout.ms: 10000", "socket.timeout.ms: soon"))
    assert result.returncode == 2 and f"{path}:6: kafka.properties.socket.timeout.ms: librdkafka refuses" in result.stderr


def test_a_secret_written_inline_is_refused_without_repeating_it(tmp_path):
    result, path = serve(tmp_path, VALID.replace("sasl.password: {env: NODE_KAFKA_PASSWORD}", "sasl.password: hunter2-secret"))
    assert result.returncode == 2
    assert f"{path}:7: kafka.properties.sasl.password: a secret is referenced as {{env: NAME}} or {{file: PATH}}, never written inline" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert list(VALIDATOR.iter_errors(yaml.safe_load(path.read_text()))) != []
    result, path = serve(tmp_path, VALID.replace("bearer: {file: politie.token}", "bearer: kh_inline"))
    assert result.returncode == 2 and f"{path}:15: delivery.transports.politie.bearer: a secret is referenced" in result.stderr
    assert "kh_inline" not in result.stderr


def test_a_secret_reference_that_resolves_to_nothing_is_refused(tmp_path):
    result, path = serve(tmp_path, VALID, env={"NODE_KAFKA_PASSWORD": ""})
    assert result.returncode == 2
    assert f"{path}:7: kafka.properties.sasl.password: the environment variable NODE_KAFKA_PASSWORD is not set" in result.stderr
    result, path = serve(tmp_path, VALID)
    assert result.returncode == 2
    assert f"{path}:15: delivery.transports.politie.bearer: the secret file {tmp_path / 'politie.token'} cannot be read" in result.stderr


def test_a_tls_file_that_is_missing_or_not_pem_is_refused_naming_it_not_quoting_it(tmp_path):
    (tmp_path / "roots.pem").write_text("kh_not_a_certificate\n")
    for name, words in [("missing.pem", "the trusted root file cannot be read"), ("roots.pem", "the trusted root file holds no PEM certificate")]:
        text = VALID.replace("om: {outbox: outbox/om}", f"om: {{url: https://om.example/d, tls: {{trustRoots: {name}}}}}")
        result, path = serve(tmp_path, text)
        assert result.returncode == 2, result.stderr
        assert f"{path}:14: delivery.transports.om.tls.trustRoots: {tmp_path / name}: {words}" in result.stderr, result.stderr
        assert "kh_not_a_certificate" not in result.stderr + result.stdout
        assert list(VALIDATOR.iter_errors(yaml.safe_load(text))) == [], "the schema cannot know the file: only the node refuses it"


def test_not_yaml_is_refused_with_its_line(tmp_path):
    result, path = serve(tmp_path, VALID.replace("http:\n", "http: [\n"))
    assert result.returncode == 2 and f"{path}:" in result.stderr and "is not valid YAML" in result.stderr
