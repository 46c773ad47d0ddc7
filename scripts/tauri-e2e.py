#!/usr/bin/env python3
"""End-to-end test of relaywatch-desktop's Tauri transport through tauri-driver + WebKitWebDriver.

Run by scripts/desktop-smoke inside its Xvfb + D-Bus session (gnome-keyring for the keychain).
It starts a loopback webhook receiver answering like Slack, starts tauri-driver on a free port,
opens the app's settings window through WebDriver, adds a Slack channel pointing at the receiver,
presses "Send test message" and reads the platform's reply on screen. Rule kept: every assertion
compares what the window shows with what the receiver and the config file hold; only loopback is
contacted. Standard library only.

usage: tauri-e2e.py --app BIN --work DIR --shots DIR
"""

import argparse
import base64
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
SECRET_TAIL = "E2eSecretTail7q"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver(http.server.BaseHTTPRequestHandler):
    """Answers every POST like a Slack incoming webhook (`200 ok`) and records it."""

    requests = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Receiver.requests.append({"path": self.path, "body": body.decode("utf-8", "replace")})
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_):
        pass


class Driver:
    """A minimal W3C WebDriver client. tauri-driver sometimes resets one connection while it
    proxies (tauri-on-debian.md §7), so each call is tried up to three times."""

    def __init__(self, port):
        self.port = port
        self.sid = None

    def call(self, method, path, body=None, timeout=60):
        last = None
        for attempt in range(3):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                data = None if body is None else json.dumps(body).encode()
                headers = {"Content-Type": "application/json"} if data is not None else {}
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                out = json.loads(raw) if raw else {}
                if resp.status >= 400:
                    raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {raw[:400]!r}")
                return out.get("value")
            except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError) as e:
                last = e
                time.sleep(0.3 * (attempt + 1))
            finally:
                conn.close()
        raise RuntimeError(f"{method} {path}: {last}")

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.sid}{path}", body)

    def find(self, css, wait=30.0):
        end = time.time() + wait
        while True:
            try:
                return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]
            except RuntimeError:
                if time.time() > end:
                    raise RuntimeError(f"no element {css!r} within {wait:.0f} s")
                time.sleep(0.2)

    def click(self, css):
        self.s("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text):
        self.s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def text(self, css):
        return self.s("GET", f"/element/{self.find(css)}/text")


def shot(d, folder, name):
    """Saves the window as WebDriver sees it."""
    png = base64.b64decode(d.s("GET", "/screenshot"))
    os.makedirs(folder, exist_ok=True)
    out = os.path.join(folder, name)
    with open(out, "wb") as f:
        f.write(png)
    print(f"tauri-e2e: screenshot {out} ({len(png)} bytes)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--app", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--shots", required=True)
    a = ap.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver_addr = f"127.0.0.1:{server.server_address[1]}"
    hook = f"http://{receiver_addr}/services/T000/B000/{SECRET_TAIL}"

    config = os.path.join(a.work, "e2e.toml")
    with open(config, "w") as f:
        f.write('[source]\nkind = "demo"\n\n[network]\nallow = ["127.0.0.1/32"]\nallow_http = true\n')

    port = free_port()
    log = open(os.path.join(a.work, "tauri-driver.log"), "w")
    driver_proc = subprocess.Popen(["tauri-driver", "--port", str(port)], stdout=log, stderr=log)
    d = Driver(port)
    try:
        end = time.time() + 30
        while True:
            try:
                d.call("GET", "/status", timeout=2)
                break
            except (OSError, RuntimeError):
                if time.time() > end or driver_proc.poll() is not None:
                    raise RuntimeError("tauri-driver did not answer /status within 30 s")
                time.sleep(0.2)

        t0 = time.time()
        caps = {"tauri:options": {"application": a.app, "args": ["--config", config, "--open", "settings"]}}
        d.sid = d.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}}, timeout=120)["sessionId"]
        print(f"tauri-e2e: session started in {time.time() - t0:.2f} s")

        # The page runs inside the app, so api.js must use Tauri's invoke, not fetch.
        d.find("#add-channel")
        assert d.js("return !!(window.__TAURI__ && window.__TAURI__.core && window.__TAURI__.core.invoke)"), \
            "window.__TAURI__.core.invoke is missing: the page is not using the Tauri transport"
        assert d.js("return location.protocol") != "http:", "the settings page was served over HTTP"

        d.click("#add-channel")
        d.type("#c-name", "team-e2e")
        d.js("const s = document.querySelector('#c-type'); s.value = 'slack';"
             "s.dispatchEvent(new Event('change', {bubbles: true}));")
        d.type("#c-url", hook)
        d.click("#c-save")
        d.find("#channel-result.ok")
        row = '.channel[data-channel="team-e2e"]'
        shown = d.text(row)
        assert "••••il7q" in shown, f"the channel row does not show the masked secret: {shown!r}"
        with open(config) as f:
            saved = f.read()
        assert "team-e2e" in saved, "the channel is not in the config file"
        leaked = [l for l in saved.splitlines() if SECRET_TAIL in l or receiver_addr in l]
        assert not leaked, f"the webhook URL is in the config file: {leaked}"

        before = len(Receiver.requests)
        d.click(f"{row} button.test")
        d.find(f"{row} .test-result.ok", wait=60)
        reply = d.text(f"{row} .test-result")
        got = [r for r in Receiver.requests[before:] if r["path"].endswith(SECRET_TAIL)]
        assert len(got) == 1, f"the receiver got {len(got)} test messages, expected 1"
        assert "HTTP 200" in reply and "Reply: ok" in reply, f"the reply on screen: {reply!r}"
        assert SECRET_TAIL not in reply, "the reply on screen shows the secret"
        print(f"tauri-e2e: reply on screen: {reply.strip()!r}")

        shot(d, a.shots, "settings-e2e.png")

        # The dashboard in the same window: its header must read the app's status (not
        # "Offline" with no refresh time while numbers are shown) and its numbers the snapshot's.
        d.click('nav a[href="index.html"]')
        d.find("body[data-loaded='1']", wait=60)
        health = d.js("return document.querySelector('#health').className")
        refreshed = d.text("#refreshed").strip()
        requests = d.text("#kpi-requests .value").strip()
        assert "ok" in health.split(), f"the dashboard's health badge is {health!r}"
        assert refreshed not in ("", "–"), f"the dashboard's last refresh reads {refreshed!r}"
        assert any(ch.isdigit() for ch in requests), f"requests today reads {requests!r}"
        print(f"tauri-e2e: dashboard header ok, last refresh {refreshed}, requests today {requests}")
        shot(d, a.shots, "dashboard-e2e.png")
        return 0
    except (AssertionError, RuntimeError, KeyError, TypeError) as e:
        print(f"tauri-e2e: FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        if d.sid:
            try:
                d.call("DELETE", f"/session/{d.sid}", timeout=30)
            except (OSError, RuntimeError):
                pass
        driver_proc.terminate()
        try:
            driver_proc.wait(10)
        except subprocess.TimeoutExpired:
            driver_proc.kill()
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
