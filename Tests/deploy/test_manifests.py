"""deploy/ as an operator applies it: the Kubernetes objects pass kubernetes-validate (strict), every
topic the code uses (`ketenhub topics plan`) has a Strimzi KafkaTopic with the code's partition count,
no partner principal is granted anything but reading its own delivery topic, and every node file in
the ConfigMap follows Contracts/config/hub.schema.json."""
import json
import os
import subprocess
from pathlib import Path

import kubernetes_validate
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("KETENHUB_BIN", str(ROOT / ".build" / "debug" / "ketenhub"))
STRIMZI = "kafka.strimzi.io/v1beta2"


def documents(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


KUBERNETES = documents(ROOT / "deploy/kubernetes/ketenhub.yaml")
TOPICS = documents(ROOT / "deploy/strimzi/topics.yaml")
USERS = documents(ROOT / "deploy/strimzi/users.yaml")
ORGANISATIONS = [o["code"] for o in yaml.safe_load((ROOT / "Contracts/matrix/organisations.yaml").read_text())["organisations"]]


def test_the_kubernetes_objects_pass_a_schema_validator():
    assert {d["kind"] for d in KUBERNETES} == {"ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"}
    for document in KUBERNETES:
        kubernetes_validate.validate(document, "1.30.0", strict=True)  # raises with the path of what is wrong
    deployments = {d["metadata"]["name"]: d for d in KUBERNETES if d["kind"] == "Deployment"}
    assert set(deployments) == {"ketenhub-core", "ketenhub-router", "ketenhub-delivery"}
    for deployment in deployments.values():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["args"][:2] == ["serve", "--config"]


def test_every_node_file_of_the_configmap_follows_the_schema():
    schema = json.loads((ROOT / "Contracts/config/hub.schema.json").read_text())
    configmap = next(d for d in KUBERNETES if d["kind"] == "ConfigMap")
    files = {name: yaml.safe_load(text) for name, text in configmap["data"].items()}
    for name, config in files.items():
        assert list(Draft202012Validator(schema).iter_errors(config)) == [], name
    roles = sorted(role for config in files.values() for role in config["roles"])
    assert roles == sorted(["gateway", "router", "delivery", "ledger", "sla", "api"]), "every role runs exactly once"
    args = {d["spec"]["template"]["spec"]["containers"][0]["args"][2] for d in KUBERNETES if d["kind"] == "Deployment"}
    assert args == {f"/etc/ketenhub/config/{name}" for name in files}


def test_every_topic_the_code_uses_has_a_kafkatopic_with_its_partition_count():
    plan = json.loads(subprocess.run([BINARY, "topics", "plan", "--matrix", str(ROOT / "Contracts/matrix")],
                                     capture_output=True, text=True, check=True).stdout)
    declared = {t["spec"]["topicName"]: t for t in TOPICS}
    assert all(t["apiVersion"] == STRIMZI and t["kind"] == "KafkaTopic" for t in TOPICS)
    assert set(declared) == {t["name"] for t in plan}
    for topic in plan:
        spec = declared[topic["name"]]["spec"]
        assert spec["partitions"] == topic["partitions"], topic["name"]
        assert spec["replicas"] == 3 and spec["config"]["min.insync.replicas"] == 2
        for key, value in topic["configs"].items():
            assert str(spec["config"][key]) == value, (topic["name"], key)


def test_a_partner_principal_may_read_only_its_own_delivery_topic():
    users = {u["metadata"]["name"]: u for u in USERS}
    assert all(u["apiVersion"] == STRIMZI and u["kind"] == "KafkaUser" for u in USERS)
    for code in ORGANISATIONS:
        acls = users[f"partner-{code}"]["spec"]["authorization"]["acls"]
        topics = [a for a in acls if a["resource"]["type"] == "topic"]
        assert topics == [{"resource": {"type": "topic", "name": f"ketenhub.deliveries.{code}", "patternType": "literal"},
                           "operations": ["Read", "Describe"]}], code
        others = [a for a in acls if a["resource"]["type"] != "topic"]
        assert all(a["resource"]["type"] == "group" and a["resource"]["name"] == f"partner-{code}-" and a["operations"] == ["Read"]
                   for a in others), code
    # No principal but the hub's own is granted a delivery topic by prefix.
    for name, user in users.items():
        prefixed = [a for a in user["spec"]["authorization"]["acls"]
                    if a["resource"]["type"] == "topic" and a["resource"]["patternType"] == "prefix"]
        assert not prefixed or name.startswith("ketenhub-"), name


def test_each_hub_principal_is_granted_the_topics_its_roles_use():
    users = {u["metadata"]["name"]: u for u in USERS}
    configmap = next(d for d in KUBERNETES if d["kind"] == "ConfigMap")
    for name, text in configmap["data"].items():
        config = yaml.safe_load(text)
        principal = config["kafka"]["properties"]["sasl.username"]
        granted = users[principal]["spec"]["authorization"]["acls"]

        def allows(topic):
            return any(a["resource"]["type"] == "topic" and (
                a["resource"]["name"] == topic if a["resource"]["patternType"] == "literal" else topic.startswith(a["resource"]["name"]))
                for a in granted)
        needed = {"gateway": ["ketenhub.events.canonical", "ketenhub.deadletter", "ketenhub.acknowledgements"],
                  "router": ["ketenhub.events.canonical", "ketenhub.audit.decisions", "ketenhub.router.cases", "ketenhub.consent.state",
                             "ketenhub.router.checkpoints",
                             "ketenhub.deadletter", "ketenhub.governance", "ketenhub.deliveries.om"],
                  "delivery": ["ketenhub.delivery-status"] + [f"ketenhub.deliveries.{o}" for o in config.get("delivery", {}).get("transports", {})],
                  "ledger": ["ketenhub.events.canonical", "ketenhub.audit.decisions", "ketenhub.delivery-status", "ketenhub.acknowledgements",
                             "ketenhub.deadletter", "ketenhub.replays", "ketenhub.alerts"],
                  "sla": ["ketenhub.alerts"], "api": ["ketenhub.replays", "ketenhub.governance"]}
        for role in config["roles"]:
            for topic in needed[role]:
                assert allows(topic), (name, role, topic)


def test_the_router_runs_as_several_replicas_each_partition_writing_under_its_own_transactional_id():
    router = next(d for d in KUBERNETES if d["kind"] == "Deployment" and d["metadata"]["name"] == "ketenhub-router")
    assert router["spec"]["replicas"] > 1
    acls = next(u for u in USERS if u["metadata"]["name"] == "ketenhub-router")["spec"]["authorization"]["acls"]
    transactional = [a["resource"] for a in acls if a["resource"]["type"] == "transactionalId"]
    # The router of canonical partition N writes as ketenhub-router-N.
    assert transactional == [{"type": "transactionalId", "name": "ketenhub-router-", "patternType": "prefix"}]
