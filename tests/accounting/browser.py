"""Open an HTML file in headless Chromium and return the DOM after load, with a probe that
records how each image rendered (``data-images`` = "loaded/total", ``data-widths``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

PROBE = """<script>window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0);
  document.body.setAttribute('data-images', ok.length + '/' + imgs.length);
  document.body.setAttribute('data-widths', imgs.map(i => i.naturalWidth).join(','));
});</script>"""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def rendered_dom(page: Path, timeout_s: float = 120.0) -> str:
    """DOM of ``page`` (a copy with the probe appended) after Chromium loaded and ran it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise RuntimeError("chromium not found; run scripts/install_system_deps.sh (Debian package chromium)")
    with tempfile.TemporaryDirectory() as profile, tempfile.TemporaryDirectory() as work:
        probed = Path(work) / page.name
        probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
        done = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom",
             probed.as_uri()],
            capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0 or "<body" not in done.stdout:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout
