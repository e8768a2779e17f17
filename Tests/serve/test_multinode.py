"""Two `ketenhub serve` processes with different configuration files form one hub on one cluster
(`ketenhub broker`): node A takes partners' messages, routes and delivers; node B keeps the ledger,
runs the SLA monitor and answers the API. What privacy officers approve on B governs what A routes
next, and A killed with SIGKILL mid-stream loses nothing and delivers nothing twice."""
import json
import signal
import subprocess
import time
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, FormatChecker

from nodes import ROOT, Node, add_credential, call, eventually, post_message, simulated_messages, write_config

ORGANISATIONS = yaml.safe_load((ROOT / "Contracts/matrix/organisations.yaml").read_text())["organisations"]
REGIONS = yaml.safe_load((ROOT / "Contracts/matrix/municipalities.yaml").read_text())["regions"]


def recipients_of(messages):
    """Who can receive in the simulated cases: every organisation of a region one of their senders works
    in, and every organisation without a region (3RO, SHN, and the police's, OM's and RvdK's national points)."""
    senders = {organisation for organisation, _, _ in messages}
    codes = {o["code"] for o in ORGANISATIONS}
    regional = {code for region in REGIONS.values() if senders & set(region.values()) for code in region.values()}
    return sorted((regional & codes) | {o["code"] for o in ORGANISATIONS if o["code"] == o["type"]})


def outbox_deliveries(directory):
    """Every delivery file in the outboxes, as (organisation, attributes), duplicates included."""
    found = []
    for attributes in sorted(Path(directory, "outbox").glob("*/*.ce.json")):
        found.append((attributes.parent.name, json.loads(attributes.read_text())))
    return found


def test_two_nodes_one_hub_governance_across_nodes_and_a_killed_node(broker, tmp_path):
    messages = simulated_messages(tmp_path, cases=16, seed=21)
    recipients = recipients_of(messages)
    assert len([code for code in recipients if code.startswith("vt-")]) >= 2, "the cases lie in several regions"
    store = tmp_path / "credentials.json"
    tokens = {code: add_credential(store, code, "partner", code) for code in recipients}
    tokens["operator"] = add_credential(store, "operator", "operator")
    tokens["officer-1"] = add_credential(store, "officer-1", "privacy-officer")
    tokens["officer-2"] = add_credential(store, "officer-2", "privacy-officer")
    config_a = write_config(tmp_path, "node-a", broker.bootstrap, ["gateway", "router", "delivery"], transports=recipients)
    config_b = write_config(tmp_path, "node-b", broker.bootstrap, ["api", "ledger", "sla"])
    node_b = Node(config_b)
    node_a = Node(config_a)
    try:
        for node in (node_a, node_b):
            eventually(f"{node.url} ready", lambda: call(node.url, "/readyz")[0] == 200, 60)
        assert call(node_a.url, "/api/me", tokens["operator"])[0] == 404, "node A runs no API"
        assert call(node_b.url, "/partners/politie/messages", tokens["politie"], "POST", b"<x/>")[0] == 404, "node B takes no messages"

        # Partners post to node A; A is killed (SIGKILL) while it routes and delivers, and restarted.
        answers = []
        for index, (organisation, body, content) in enumerate(messages):
            if index == len(messages) // 2:
                eventually("deliveries under way", lambda: len(outbox_deliveries(tmp_path)) >= 5, 60, 0.05)
                node_a.process.send_signal(signal.SIGKILL)
                node_a.process.wait()
                node_a = Node(config_a)
            answer = post_message(node_a.url, organisation, tokens[organisation], body, content)
            while answer[0] in (None, 503):  # as a partner does: send again later
                time.sleep(0.5)
                answer = post_message(node_a.url, organisation, tokens[organisation], body, content)
            answers.append((organisation, *answer))
        accepted = [dict(event, source=f"urn:ketenhub:{organisation}") for organisation, status, receipt, _ in answers
                    if status == 202 for event in receipt["events"]]
        assert all(status in (202, 422) for _, status, _, _ in answers)
        assert len(accepted) >= 40

        # Node B's API shows every accepted event's trace, from acceptance to the routed decisions.
        def traced():
            for event in accepted:
                status, trace, _ = call(node_b.url, f"/api/trace?source={event['source']}&id={event['id']}", tokens["operator"])
                if status != 200 or not trace["decisions"]:
                    return None
            return True
        eventually("every accepted event traced on node B", traced, 120, 1)

        # Every delivery reached its outbox; the partners acknowledge through node A; node B sees them.
        def settled():
            status, routed, _ = call(node_b.url, "/api/deliveries", tokens["operator"])
            files = outbox_deliveries(tmp_path)
            return status == 200 and routed and len({a["decisionid"] for _, a in files}) >= len(routed) and (routed, files)
        routed, files = eventually("every delivery in its outbox", settled, 120, 1)
        unique = {(organisation, attributes["decisionid"]) for organisation, attributes in files}
        assert {(d["organisation"], d["deliveryId"]) for d in routed} == unique, "nothing lost"
        assert len(files) == len(unique), "nothing delivered twice (an outbox file is named by its delivery)"
        for organisation, attributes in sorted(unique):
            body = {"deliveryId": attributes, "ketencaseid": next(a["ketencaseid"] for o, a in files if a["decisionid"] == attributes),
                    "status": "processed"}
            status, _, _ = call(node_a.url, f"/partners/{organisation}/acknowledgements", tokens[organisation], "POST", body)
            assert status == 202
        eventually("every delivery acknowledged on node B", lambda: len(call(node_b.url, "/api/deliveries?state=acknowledged",
                                                                              tokens["operator"])[1]) == len(unique), 60, 1)
        event = accepted[0]
        trace = call(node_b.url, f"/api/trace?source={event['source']}&id={event['id']}", tokens["operator"])[1]
        assert trace["event"]["acceptedAt"] and all(d["state"] == "acknowledged" for d in trace["deliveries"])

        # Governance on node B: a narrower VT-melding rule, proposed, approved by another officer, activated.
        current = (ROOT / "Contracts/matrix/sharing-matrix.yaml").read_text()
        narrowed = current.replace(
            "    disclosure: inhoud\n    fields: [/data/meldingId, /data/registeredAt, /data/municipalityCode, /data/concerns, /data/persons, /data/childrenPresent, /data/summary, /data/contactPerson]\n",
            "    disclosure: dat\n    fields: [/data/meldingId, /data/contactPerson]\n")
        assert narrowed != current
        status, version, _ = call(node_b.url, "/api/matrix/versions", tokens["officer-1"], "POST", {"files": {"sharing-matrix.yaml": narrowed}})
        assert status == 201
        assert call(node_b.url, f"/api/matrix/versions/{version['number']}/approve", tokens["officer-2"], "POST")[0] == 200
        assert call(node_b.url, f"/api/matrix/versions/{version['number']}/activate", tokens["officer-1"], "POST", {})[0] == 200
        time.sleep(3)  # the routers follow the governance topic within a second or two

        # The next VT-melding posted to node A is routed under it.
        melding = (ROOT / "Contracts/partners/politie/examples/vt-melding-en-aanhouding.xml").read_bytes()
        status, receipt, _ = post_message(node_a.url, "politie", tokens["politie"], melding, "application/xml")
        assert status == 202
        vt_melding = next(e for e in receipt["events"] if e["type"] == "nl.ketenhub.vt-melding.v1")

        def vt_decision():
            status, trace, _ = call(node_b.url, f"/api/trace?source=urn:ketenhub:politie&id={vt_melding['id']}", tokens["operator"])
            return status == 200 and next((d for d in trace["decisions"] if d["recipient"].startswith("vt-") and d["permitted"]), None)
        decision = eventually("the VT-melding routed on node A", vt_decision, 60, 0.5)
        assert decision["matrixVersion"] == version["matrixVersion"] and decision["ruleId"] == "VTM-VT"
        delivered = eventually("the VT-melding in VT's outbox", lambda: next(
            (a for o, a in outbox_deliveries(tmp_path) if a["decisionid"] == decision["decisionId"]), None), 60, 0.5)
        assert delivered["matrixversion"] == version["matrixVersion"] and delivered["disclosure"] == "dat"
        # The governance topic, read by kcat and checked by jsonschema: version 1 and the new one, whole.
        topic = subprocess.run(["kcat", "-C", "-b", broker.bootstrap, "-t", "ketenhub.governance", "-e", "-q", "-f", "%k\t%s\n"],
                               capture_output=True, text=True, timeout=60, check=True)
        schema = json.loads((ROOT / "Contracts/records/matrix-version.schema.json").read_text())
        published = {}
        for line in topic.stdout.splitlines():
            key, value = line.split("\t", 1)
            record = json.loads(value)
            assert list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(record)) == []
            assert key == f"matrix-version-{record['number']}"
            published[record["number"]] = record
        assert sorted(published) == [1, version["number"]]
        assert published[version["number"]]["approvedBy"] == "officer-2" and published[version["number"]]["bundle"]["files"]["sharing-matrix.yaml"] == narrowed
        print(f"two nodes: {len(answers)} messages, {len(accepted)} events accepted, {len(unique)} deliveries once each "
              f"across a SIGKILL of node A; version {version['number']} approved on B routed on A")
    finally:
        node_a.stop()
        node_b.stop()


def test_a_forged_governance_record_is_not_routed_under(broker, tmp_path):
    """Whoever gets to write to the governance topic cannot make a router route under a version that
    lacks a second officer's approval, or whose files are not the version it names."""
    store = tmp_path / "credentials.json"
    politie = add_credential(store, "politie", "partner", "politie")
    node = Node(write_config(tmp_path, "router-only", broker.bootstrap, ["gateway", "router"]))
    try:
        eventually("ready", lambda: call(node.url, "/readyz")[0] == 200, 60)
        files = {str(p.relative_to(ROOT / "Contracts/matrix")): p.read_text()
                 for p in sorted((ROOT / "Contracts/matrix").rglob("*")) if p.is_file()}
        files["sharing-matrix.yaml"] = files["sharing-matrix.yaml"].replace("disclosure: inhoud", "disclosure: dat")
        forged = {"matrixVersion": "2026.11-forged", "state": "activated", "proposedAt": "2026-01-01T00:00:00Z",
                  "approvedAt": "2026-01-01T00:00:00Z", "activeFrom": "2020-01-01T00:00:00Z", "bundle": {"files": files}}
        records = [dict(forged, number=7, proposedBy="mallory", approvedBy="mallory", activatedBy="mallory"),
                   dict(forged, number=8, proposedBy="mallory", approvedBy="eve", activatedBy="eve")]
        lines = "".join(f"matrix-version-{r['number']}\t{json.dumps(r)}\n" for r in records)
        subprocess.run(["kcat", "-P", "-b", broker.bootstrap, "-t", "ketenhub.governance", "-K", "\t"],
                       input=lines, text=True, check=True, timeout=60)
        node.wait_for("lacks a second officer's approval", 30)
        node.wait_for("names other files than it carries", 30)

        melding = (ROOT / "Contracts/partners/politie/examples/vt-melding-en-aanhouding.xml").read_bytes()
        status, receipt, _ = post_message(node.url, "politie", politie, melding, "application/xml")
        assert status == 202
        ids = {event["id"] for event in receipt["events"]}

        def decided():
            topic = subprocess.run(["kcat", "-C", "-b", broker.bootstrap, "-t", "ketenhub.audit.decisions", "-e", "-q", "-f", "%s\n"],
                                   capture_output=True, text=True, timeout=60)
            found = [json.loads(line) for line in topic.stdout.splitlines() if line.strip()]
            found = [d for d in found if d["eventId"] in ids]
            return len({d["eventId"] for d in found}) == len(ids) and found
        decisions = eventually("the events decided", decided, 60, 0.5)
        assert all(d["matrixVersion"] != "2026.11-forged" for d in decisions)
        assert any(d["outcome"] == "permit" and d.get("disclosure") == "inhoud" for d in decisions), "routed under the repository's matrix"
    finally:
        node.stop()
