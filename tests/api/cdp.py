"""Drive headless Chromium over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
no port, no extra package): open a page with an Authorization header, collect console errors,
evaluate JavaScript, take a screenshot."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.accounting.browser import FLAGS


def _high(fd: int) -> int:
    import fcntl

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Chromium:
    def __init__(self, timeout_s: float = 60.0) -> None:
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if browser is None:
            raise RuntimeError("chromium not found; run scripts/install_system_deps.sh (Debian package chromium)")
        self.timeout_s = timeout_s
        self.profile = tempfile.mkdtemp(prefix="codispatch-cdp-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # the child's ends above fd 9, so that moving them to 3 and 4 never overwrites one of them
        to_chrome_r, from_chrome_w = (_high(to_chrome_r), _high(from_chrome_w))
        # Chromium reads commands on fd 3 and writes answers on fd 4: a shell puts the pipe ends there
        command = [browser, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-pipe",
                   "--window-size=1400,1000", "about:blank"]
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w} {to_chrome_r}<&- {from_chrome_w}>&-',
             *command], pass_fds=(to_chrome_r, from_chrome_w), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def close(self) -> None:
        try:
            os.close(self._to_chrome)
            os.close(self._from_chrome)
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _read_message(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict[str, Any] | None = None, session: bool = True) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout_s
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def open_tab(self, headers: dict[str, str]) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Network.setExtraHTTPHeaders", {"headers": headers})

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def load(self, url: str) -> float:
        """Open ``url`` and wait until the dashboard says it is ready; returns the wall time [s]."""
        self.events.clear()
        started = time.monotonic()
        self.send("Page.navigate", {"url": url})
        deadline = started + self.timeout_s
        while time.monotonic() < deadline:
            state = self.evaluate("document.body ? document.body.getAttribute('data-ready') : null")
            if state:
                if state != "1":
                    raise AssertionError(f"{url}: the page reported an error: {self.evaluate('document.body.innerText')}")
                return time.monotonic() - started
            time.sleep(0.05)
        raise TimeoutError(f"{url} did not become ready")

    def console_errors(self) -> list[str]:
        self.send("Runtime.evaluate", {"expression": "1"})  # flush pending events
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                errors.append(str(params.get("exceptionDetails", {}).get("text")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                errors.append(str(params["entry"].get("text")) + " " + str(params["entry"].get("url", "")))
        return errors

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
