"""A node's life: it answers /healthz and /readyz without a token, stops within a bounded time on
SIGINT and SIGTERM (every one of 20 runs, `serve` and `demo` alike), drains on SIGTERM without losing a
message it answered 202, and takes credential changes while it serves."""
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from nodes import (ALL_ROLES, ROOT, Node, Process, add_credential, call, eventually, post_message,
                      simulated_messages, write_config)

STOP_SECONDS = 30


def test_healthz_and_readyz_answer_without_a_token(broker, tmp_path):
    add_credential(tmp_path / "credentials.json", "operator", "operator")
    node = Node(write_config(tmp_path, "probe", broker.bootstrap, ALL_ROLES, transports=["om", "politie"],
                             kafka_properties={"statistics.interval.ms": 200}))
    try:
        status, body, _ = call(node.url, "/healthz")
        assert status == 200 and body == {"status": "alive"}
        ready = eventually("the node ready", lambda: (r := call(node.url, "/readyz"))[0] == 200 and r[1])
        assert ready["ready"] is True and ready["node"] == "probe" and ready["roles"] == sorted(ALL_ROLES)
        assert ready["checks"] == {"kafka": "ok", "ledger": "ok", "router": "ok", "delivery-om": "ok", "delivery-politie": "ok"}
        # One metrics path: the hub's own metrics and librdkafka's statistics (through swift-metrics)
        # in one registry, which promtool accepts.
        metrics = eventually("librdkafka's statistics in /metrics", lambda: (m := call(node.url, "/metrics"))[0] == 200
                             and b"kafka_client_queued_messages" in m[1] and m[1], 20)
        assert b"# TYPE ketenhub_dead_letters gauge" in metrics
        check = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        node.stop()

    # A node whose Kafka does not answer lives, and says it is not ready, and why.
    lost = Node(write_config(tmp_path, "lost", "127.0.0.1:9", ["api", "ledger"]))
    try:
        assert call(lost.url, "/healthz")[0] == 200
        status, body, _ = call(lost.url, "/readyz")
        assert status == 503 and body["ready"] is False
        assert body["checks"]["kafka"] == "Kafka does not answer" and body["checks"]["ledger"] == "ok"
    finally:
        lost.stop()


def stop_once(start, number):
    """Starts a process, signals it once it runs, and returns (exit status, seconds to stop, output)."""
    process = start()
    try:
        process.signal(number)
        began = time.monotonic()
        status = process.wait(STOP_SECONDS + 5)
        return status, time.monotonic() - began, process.output
    except subprocess.TimeoutExpired:
        return None, None, process.output
    finally:
        process.stop()


def crash_report(output):
    """What a process printed before it ended: the fatal error and the crashed thread's frames, which a
    crash report's thousands of lines of other threads and registers would push out of its tail."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if "Fatal error" in line or "Program crashed" in line or "crashed:" in line]
    picked = [line for start in starts[:3] for line in lines[max(0, start - 5):start + 25]]
    return "\n".join(picked) + "\n...\n" + output[-1500:]


def test_sigint_and_sigterm_end_serve_and_demo_within_a_bounded_time_in_20_runs_each(broker, tmp_path):
    add_credential(tmp_path / "credentials.json", "operator", "operator")
    config = write_config(tmp_path, "stopping", broker.bootstrap, ALL_ROLES, transports=["om"])

    def serve():
        node = Node(config)
        eventually("ready", lambda: call(node.url, "/readyz")[0] == 200)
        return node

    def demo():
        process = Process(["demo", "--http-port", "0", "--cases", "1"], cwd=ROOT)
        process.wait_for("Ctrl-C stops the demo")
        return process

    runs = [(name, start, number) for name, start in [("serve", serve), ("demo", demo)]
            for number in [signal.SIGINT, signal.SIGTERM] * 10]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda run: (run[0], run[2], *stop_once(run[1], run[2])), runs))
    for name, number, status, seconds, output in results:
        assert status == 0, f"{name} after {signal.Signals(number).name}: not stopped in {STOP_SECONDS} s, or not cleanly:\n{crash_report(output)}"
        assert seconds < STOP_SECONDS
        assert ("stopped" in output.splitlines()[-1]), output[-500:]
    slowest = max(r[3] for r in results)
    print(f"40 stops (20 serve, 20 demo), slowest {slowest:.1f} s")


def test_sigterm_drains_no_message_answered_202_is_lost(broker, tmp_path):
    messages = simulated_messages(tmp_path, cases=30, seed=11)
    tokens = {organisation: add_credential(tmp_path / "credentials.json", organisation, "partner", organisation)
              for organisation in {organisation for organisation, _, _ in messages}}
    node = Node(write_config(tmp_path, "draining", broker.bootstrap, ["gateway", "ledger"]))
    answers = []
    stop = threading.Event()

    def partner():
        for organisation, body, content in messages:
            if stop.is_set():
                break
            answers.append(post_message(node.url, organisation, tokens[organisation], body, content))

    sender = threading.Thread(target=partner)
    sender.start()
    eventually("some messages accepted", lambda: sum(1 for a in answers if a[0] == 202) >= 10, 60, 0.01)
    node.signal(signal.SIGTERM)
    status = node.wait(STOP_SECONDS)
    stop.set()
    sender.join()
    assert status == 0, node.output[-2000:]
    assert any(a[0] in (503, None) for a in answers), "the node stopped while the partner was still sending"
    accepted = [a for a in answers if a[0] == 202]
    refused_while_stopping = [a for a in answers if a[0] == 503]
    assert all("Retry-After" in a[2] for a in refused_while_stopping)
    assert all(a[0] in (202, 422, 503, None) for a in answers), {a[0] for a in answers}
    assert len(accepted) >= 10

    # Every event of every message answered 202 is on the canonical topic (read by kcat, another client).
    expected = {(event["id"]) for a in accepted for event in a[1]["events"]}
    topic = subprocess.run(["kcat", "-C", "-b", broker.bootstrap, "-t", "ketenhub.events.canonical", "-e", "-q",
                            "-X", "isolation.level=read_committed", "-f", "%h\n"], capture_output=True, text=True, timeout=60)
    on_topic = {h.split("=", 1)[1] for line in topic.stdout.splitlines() for h in line.split(",") if h.startswith("ce_id=")}
    assert expected <= on_topic, f"{len(expected - on_topic)} accepted events missing"
    print(f"drain: {len(accepted)} messages accepted ({len(expected)} events, all on the topic), "
          f"{len(refused_while_stopping)} answered 503 with Retry-After while stopping")


def test_credentials_change_while_serving(broker, tmp_path):
    store = tmp_path / "credentials.json"
    add_credential(store, "operator", "operator")
    node = Node(write_config(tmp_path, "credentials", broker.bootstrap, ["gateway", "api", "ledger"]))
    try:
        late = add_credential(store, "om-backoffice", "partner", "om")  # added while the node serves
        assert eventually("the new token taken", lambda: call(node.url, "/api/me", late)[0] == 200, 10, 0.2)
        # Ten seconds ahead: adding it starts a process, which a loaded machine can take seconds over.
        soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 10))
        expiring = add_credential(store, "om-expiring", "partner", "om", expires=soon)
        assert eventually("the expiring token taken", lambda: call(node.url, "/api/me", expiring)[0] == 200, 8, 0.1)
        eventually("the expired token refused", lambda: call(node.url, "/api/me", expiring)[0] == 401, 20, 0.2)
        listed = subprocess.run([node.process.args[0], "credentials", "list", "--file", str(store)], capture_output=True, text=True, check=True)
        assert late not in listed.stdout and "om-backoffice" in listed.stdout
        identifier = next(line.split()[0] for line in listed.stdout.splitlines() if "om-backoffice" in line)
        subprocess.run([node.process.args[0], "credentials", "revoke", "--file", str(store), "--id", identifier], check=True, capture_output=True)
        began = time.monotonic()
        eventually("the revoked token refused", lambda: call(node.url, "/api/me", late)[0] == 401, 10, 0.1)
        print(f"revocation took effect after {time.monotonic() - began:.1f} s")
    finally:
        node.stop()


def test_a_connection_that_sends_nothing_for_http_idle_seconds_is_closed(broker, tmp_path):
    """A partner that stops sending holds no connection past `http.idleSeconds`; nor does a client that
    announced a body the hub refuses (413) and asked to close. A client that writes its whole body
    before it reads the answer reads the refusal, whatever refused it (see `UnreadBodyMiddleware`)."""
    token = add_credential(tmp_path / "credentials.json", "politie-amsterdam", "partner", "politie-amsterdam")
    config = write_config(tmp_path, "idle", broker.bootstrap, ["gateway"])
    config.write_text(config.read_text().replace("  drainSeconds: 5", "  drainSeconds: 5\n  idleSeconds: 2"))
    node = Node(config)
    host, port = node.url.removeprefix("http://").split(":")
    try:
        def closed_within(connection, seconds):
            """Seconds until the server closed `connection` (what it answered before), or None."""
            start, answer = time.monotonic(), b""
            connection.settimeout(0.2)
            while time.monotonic() - start < seconds:
                try:
                    data = connection.recv(65536)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    return time.monotonic() - start, answer
                if not data:
                    return time.monotonic() - start, answer
                answer += data
            return None, answer

        # Half a request head, then nothing.
        silent = socket.create_connection((host, int(port)))
        silent.sendall(b"POST /partners/politie-amsterdam/messages HTTP/1.1\r\nHost: hub\r\n")
        waited, answer = closed_within(silent, 15)
        assert waited is not None and 1 <= waited <= 8, f"closed after {waited} s"

        # A body announced too large, with Connection: close, sent as far as the server reads it.
        refused = socket.create_connection((host, int(port)))
        refused.sendall(f"POST /partners/politie-amsterdam/messages HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {token}\r\n"
                        f"Content-Type: application/xml\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\n".encode())
        refused.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 0.5  # well within the idle time: the answer is read before the close
        while time.monotonic() < deadline and sent < 5_000_000:
            try:
                sent += refused.send(b"x" * 65536)
            except BlockingIOError:
                time.sleep(0.01)
        refused.setblocking(True)
        waited, answer = closed_within(refused, 15)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert waited is not None and waited <= 8, f"closed after {waited} s, having read {sent} of 5000000 bytes"

        # A client that writes its whole body before it reads the answer, and asks to close (Python's
        # urllib): the hub reads a refused body to its end, dropped, so that the client reads the
        # answer instead of a connection closed under it (at the idle time, 2 s here), whether the
        # body is too large (announced, or found while reading), its sender may not post it, or no
        # route takes it (the router's own 404 and 405).
        def refusal(path, body, bearer, announce=True):
            request = urllib.request.Request(f"{node.url}{path}", data=body, method="POST",
                                             headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/xml"})
            if not announce:  # sent chunked: the size is found while reading
                request.data = iter([body[i:i + 1_000_000] for i in range(0, len(body), 1_000_000)])
                request.add_header("Transfer-Encoding", "chunked")
            try:
                with urllib.request.urlopen(request, timeout=20) as answer:
                    return answer.status, answer.read()
            except urllib.error.HTTPError as error:
                return error.code, error.read()

        big = b"x" * 20_000_000
        status, body = refusal("/partners/politie-amsterdam/messages", big, token)
        assert status == 413 and b"at most 1048576 bytes" in body, (status, body[:200])
        status, body = refusal("/partners/politie-amsterdam/messages", big, token, announce=False)
        assert status == 413 and b"more than 1048576 bytes" in body, (status, body[:200])
        assert refusal("/partners/politie-amsterdam/messages", big, "not-a-token")[0] == 401
        assert refusal("/partners/politie-amsterdam/acknowledgements", big, token, announce=False)[0] == 413
        assert refusal("/partners/politie-amsterdam/messages", big, "not-a-token", announce=False)[0] == 401
        assert refusal("/partners/om/messages", big, token)[0] == 403
        assert refusal("/no/such/route", big, token)[0] == 404
        assert refusal("/healthz", big, token, announce=False)[0] == 405
        assert call(node.url, "/healthz")[0] == 200
    finally:
        node.stop()
