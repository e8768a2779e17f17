#!/usr/bin/env python3
"""Writes deploy/strimzi/*.yaml (KafkaTopic, KafkaUser with ACLs) from the topics the code uses
(`ketenhub topics plan`) and the organisations of the matrix. Run after adding a topic or an
organisation; Tests/deploy checks the written files against the code."""
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = "ketenhub-kafka"


def topics(binary):
    return json.loads(subprocess.run([binary, "topics", "plan", "--matrix", str(ROOT / "Contracts/matrix")],
                                     capture_output=True, text=True, check=True).stdout)


def kafka_topic(topic):
    return {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaTopic",
            "metadata": {"name": topic["name"].replace(".", "-"), "labels": {"strimzi.io/cluster": CLUSTER}},
            "spec": {"topicName": topic["name"], "partitions": topic["partitions"], "replicas": 3,
                     "config": dict({"min.insync.replicas": 2}, **{k: (int(v) if v.lstrip("-").isdigit() else v)
                                                                  for k, v in topic["configs"].items()})}}


def acl(kind, name, operations, pattern="literal"):
    return {"resource": {"type": kind, "name": name, "patternType": pattern}, "operations": operations}


def user(name, acls):
    return {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaUser",
            "metadata": {"name": name, "labels": {"strimzi.io/cluster": CLUSTER}},
            "spec": {"authentication": {"type": "scram-sha-512"}, "authorization": {"type": "simple", "acls": acls}}}


def users(organisations):
    read, write = ["Read", "Describe"], ["Write", "Describe"]
    readers = acl("group", "ketenhub-reader-", ["Read"], "prefix")  # TopicReader's throwaway groups
    hub = [
        # gateway, api, ledger and sla: the core nodes (two replicas on one PostgreSQL store).
        user("ketenhub-core", [
            acl("topic", "ketenhub.events.canonical", ["Read", "Write", "Describe"]), acl("topic", "ketenhub.deadletter", ["Read", "Write", "Describe"]),
            acl("topic", "ketenhub.acknowledgements", ["Read", "Write", "Describe"]), acl("topic", "ketenhub.replays", ["Read", "Write", "Describe"]),
            acl("topic", "ketenhub.alerts", ["Read", "Write", "Describe"]), acl("topic", "ketenhub.governance", ["Read", "Write", "Describe"]),
            # the gateway's reference registry; case links written by the ledger's rules and the operators' API
            acl("topic", "ketenhub.references", ["Read", "Write", "Describe"]), acl("topic", "ketenhub.case-links", ["Read", "Write", "Describe"]),
            acl("topic", "ketenhub.audit.decisions", read), acl("topic", "ketenhub.delivery-status", read),
            # operators' replays write a delivery again to its organisation's topic
            acl("topic", "ketenhub.deliveries.", ["Read", "Write", "Describe"], "prefix"),
            acl("group", "ketenhub-ledger", ["Read"]), readers,
        ]),
        user("ketenhub-router", [
            acl("topic", "ketenhub.events.canonical", read), acl("group", "ketenhub-router", ["Read"]),
            acl("topic", "ketenhub.audit.decisions", ["Read", "Write", "Describe"]), acl("topic", "ketenhub.router.cases", ["Read", "Write", "Describe"]),
            acl("topic", "ketenhub.consent.state", ["Read", "Write", "Describe"]), acl("topic", "ketenhub.deadletter", write),
            acl("topic", "ketenhub.deliveries.", write, "prefix"), acl("topic", "ketenhub.governance", read),
            acl("transactionalId", "ketenhub-router", ["Write", "Describe"]), readers,
        ]),
        user("ketenhub-delivery", [
            acl("topic", "ketenhub.deliveries.", read, "prefix"), acl("group", "ketenhub-outbound-", ["Read"], "prefix"),
            acl("topic", "ketenhub.delivery-status", ["Read", "Write", "Describe"]), readers,
        ]),
    ]
    # A partner principal reads its own delivery topic and nothing else; it writes nothing to Kafka
    # (it posts to the gateway over HTTP).
    partners = [user(f"partner-{code}", [acl("topic", f"ketenhub.deliveries.{code}", read),
                                         acl("group", f"partner-{code}-", ["Read"], "prefix")]) for code in organisations]
    return hub + partners


def write(path, documents, header):
    text = header + "".join("---\n" + yaml.safe_dump(document, sort_keys=False) for document in documents)
    path.write_text(text)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".build/debug/ketenhub")
    organisations = [o["code"] for o in yaml.safe_load((ROOT / "Contracts/matrix/organisations.yaml").read_text())["organisations"]]
    write(ROOT / "deploy/strimzi/topics.yaml", [kafka_topic(t) for t in topics(binary)],
          "# The hub's topics for Strimzi, written by scripts/deploy-manifests.py from `ketenhub topics plan`.\n")
    write(ROOT / "deploy/strimzi/users.yaml", users(organisations),
          "# The hub's Kafka principals and their ACLs for Strimzi, written by scripts/deploy-manifests.py.\n"
          "# Each hub node kind may use only the topics it uses; each partner may read only its own delivery topic.\n")


if __name__ == "__main__":
    main()
