"""Fixtures of the Directory Sync page's browser tests: a fresh `dirsync-local` with the demo
tenant per test (its own state folder and free port), and Debian's chromium driven by
Playwright, with every console error and every request recorded."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

# CI shares two cores among many processes: give each check time before it fails.
expect.set_options(timeout=15_000)

CHROMIUM = os.environ.get("DIRSYNC_CHROMIUM", "/usr/bin/chromium")
PAGE_LINE = "Directory Sync page: "


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Local:
    """One running `dirsync-local`: its page link, its token, its demo LDIF and its API."""

    def __init__(self, binary):
        self.state = tempfile.mkdtemp(prefix="dirsync-browser-")
        port = free_port()
        env = dict(os.environ)
        env.pop("DIRSYNC_JWT_SECRET", None)
        env.pop("DIRSYNC_LDIF_DIR", None)
        self.process = subprocess.Popen(
            [binary, "--listen", f"127.0.0.1:{port}", "--state", self.state],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.output = []
        self.link = self._wait_for_link()
        fragment = dict(p.split("=", 1) for p in urlsplit(self.link).fragment.split("&"))
        self.token = fragment["token"]
        self.tenant = fragment["tenant"]
        self.base = f"http://127.0.0.1:{port}"
        # The demo writes its LDIF into the state folder (the local LDIF folder).
        self.ldif = os.path.join(self.state, "demo.ldif")
        pbx = [line for line in self.output if line.startswith("PBX simulator: ")]
        self.pbx = pbx[0].split()[2] if pbx else None

    def _wait_for_link(self):
        found = []

        def read():
            for line in self.process.stdout:
                self.output.append(line)
                if line.startswith(PAGE_LINE) and not found:
                    found.append(line[len(PAGE_LINE):].strip())
                    ready.set()
            ready.set()

        ready = threading.Event()
        threading.Thread(target=read, daemon=True).start()
        ready.wait(60)
        if not found:
            self.stop()
            raise RuntimeError("dirsync-local printed no page link:\n" + "".join(self.output))
        return found[0]

    def api(self, method, path, body=None, token=None, tenant=None):
        """The API as the page calls it: (status, JSON body)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base}/v1/tenants/{tenant or self.tenant}{path}",
            data=data,
            method=method,
            headers={
                "Authorization": "Bearer " + (token or self.token),
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def add_manual_extension(self, number, email):
        """An extension made by hand on the demo's PBX (no sync marker): its id."""
        with open(os.path.join(self.state, "secrets", "demo.json"), encoding="utf-8") as f:
            token = json.load(f)["pbx_token"]
        request = urllib.request.Request(
            f"{self.pbx}/v1/extensions",
            data=json.dumps({"number": number, "first_name": "Front", "last_name": "Desk", "email": email}).encode(),
            method="POST",
            headers={
                "Authorization": "Bearer " + token,
                "Content-Type": "application/json",
                "Idempotency-Key": "browser-test-" + number,
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["id"]

    def edit_ldif(self, edit):
        with open(self.ldif, encoding="utf-8") as f:
            text = f.read()
        changed = edit(text)
        assert changed != text, "the LDIF edit changed nothing"
        with open(self.ldif, "w", encoding="utf-8") as f:
            f.write(changed)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.state, ignore_errors=True)


@pytest.fixture
def local():
    binary = os.environ.get("DIRSYNC_LOCAL_BIN")
    if not binary:
        pytest.fail("DIRSYNC_LOCAL_BIN must name the dirsync-local binary (scripts/browser-test sets it)")
    service = Local(binary)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class Watched:
    """A page whose console errors, script errors and requests are kept for the checks."""

    def __init__(self, page):
        self.page = page
        self.errors = []
        self.requests = []
        # Failed API answers the test itself provokes (a bad token) are logged by Chromium.
        self.expected_failures = set()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))

    def _console(self, message):
        if message.type not in ("error", "warning"):
            return
        text = message.text
        if any(f"status of {status}" in text for status in self.expected_failures):
            return
        self.errors.append(f"console {message.type}: {text}")


@pytest.fixture
def watched(browser, request):
    width = getattr(request, "param", 900)
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme="light")
    # Nothing may leave 127.0.0.1: a request elsewhere is refused and recorded.
    context.route(
        "**/*",
        lambda route: route.continue_()
        if urlsplit(route.request.url).hostname == "127.0.0.1"
        else route.abort(),
    )
    page = context.new_page()
    watch = Watched(page)
    yield watch
    context.close()
    foreign = [
        u
        for u in watch.requests
        if urlsplit(u).scheme not in ("about", "data") and urlsplit(u).hostname != "127.0.0.1"
    ]
    assert not foreign, f"requests left 127.0.0.1: {foreign}"
    assert not watch.errors, "\n".join(watch.errors)
