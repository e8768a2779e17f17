"""A running hub (`ketenhub demo` on the embedded cluster) and a headless Chromium from Debian's packages."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(url, path, token, method="GET", body=None):
    request = urllib.request.Request(url + path, method=method, headers={"Authorization": f"Bearer {token}"})
    if body is not None:
        request.data = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Hub:
    def __init__(self, url, tokens):
        self.url = url
        self.tokens = tokens

    def api(self, path, role="operator", method="GET", body=None):
        return api(self.url, path, self.tokens[role], method, body)


@pytest.fixture(scope="session")
def hub():
    binary = os.environ.get("KETENHUB_BIN") or str(ROOT / ".build" / "debug" / "ketenhub")
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="ketenhub-console-"))
    credentials = work / "credentials.json"
    log = open(work / "demo.log", "w")
    process = subprocess.Popen([binary, "demo", "--cases", "6", "--seed", "7", "--http-port", str(port), "--credentials-file", str(credentials)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while not credentials.exists():
            assert process.poll() is None, (work / "demo.log").read_text()
            assert time.time() < deadline, "the demo did not start"
            time.sleep(0.2)
        running = Hub(url, json.loads(credentials.read_text()))
        # The simulated partners' cases flow in; wait until every delivery is acknowledged and no more come.
        previous = None
        while True:
            status, deliveries = running.api("/api/deliveries")
            settled = status == 200 and deliveries and all(d["state"] == "acknowledged" for d in deliveries)
            if settled and previous == len(deliveries):
                break
            previous = len(deliveries) if settled else None
            assert time.time() < deadline, "the demo's deliveries were not all acknowledged within two minutes"
            time.sleep(1.5)
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def chromium():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"]:
        options.add_argument(argument)
    # The browser's console log, where Chromium reports what the page's Content-Security-Policy refused.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Debian's chromedriver matches Debian's chromium; nothing is downloaded.
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()
