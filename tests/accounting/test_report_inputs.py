"""Reports on hostile input (issue 13, item 13): a 5,000-character job id does not blow up the
chart, formula-like cells are escaped in every CSV written, and the per-site table fits 1280 px."""

from __future__ import annotations

import base64
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from control.accounting.ledger import FactorTable, build_ledger
from control.reporting import accounting_plots as plots
from control.reporting.accounting_report import accounting_html, write_ledger_csv, write_page
from control.safe_csv import read_csv, write_csv

REPO = Path(__file__).resolve().parents[2]
HOUR = pd.Timestamp("2023-07-03T00:00Z")
FACTORS = FactorTable("test factors", "v1", None, {"r": 0.6}, {"r": 0.3})
HOSTILE = ["=HYPERLINK(\"http://x\",\"click\")", "+1+1", "-2+3", "@SUM(A1)", "x" * 5000, "plain"]


def _ledger(ids: list[str], sites: int = 1):
    rows, dispatch = [], []
    for k in range(sites):
        site = f"site_with_a_long_name_{k}"
        rows.append({"time": HOUR, "site": site, "region": "r", "it_load_mw": 8.0, "load_mw": 10.0,
                     "green_used_mw": 4.0, "curtailment_absorbed_mw": 1.0, "grid_import_mw": 6.0, "ci_g_per_kwh": 500.0})
        share = 1.0 / len(ids)
        dispatch += [{"time": HOUR, "job_id": j, "site": site, "gpus": 8, "work_gpu_h": 8.0,
                      "it_energy_mwh": 8.0 * share, "facility_energy_mwh": 10.0 * share} for j in ids]
    return build_ledger(pd.DataFrame(dispatch), pd.DataFrame(rows), FACTORS)


def _png_size(data: str) -> tuple[int, int]:
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", raw[16:24])


def test_long_job_id_does_not_grow_the_chart() -> None:
    normal = _png_size(plots.top_jobs(_ledger(["a", "b"]).job_intensity(), "tco2"))
    long = _png_size(plots.top_jobs(_ledger(HOSTILE).job_intensity(), "tco2"))
    assert long[0] * long[1] <= 1.5 * normal[0] * normal[1] < 2e6, (normal, long)  # was ~176 megapixels
    labels = plots.short_labels(["x" * 5000, "x" * 4999 + "y", "short"])
    assert max(map(len, labels)) <= plots.LABEL_CHARS and len(set(labels)) == 3 and labels[2] == "short"


def test_ledger_csv_escapes_formula_cells_and_keeps_numbers(tmp_path) -> None:
    paths = write_ledger_csv(_ledger(HOSTILE), tmp_path)
    text = (tmp_path / "job_hour.csv").read_text()
    for cell in HOSTILE[:4]:
        assert f"'{cell[:5]}" in text.replace('""', '"')
    for path in paths:  # no cell of any file a spreadsheet would run
        for line in path.read_text().splitlines():
            for cell in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', line):
                cell = cell.strip('"')
                assert not cell.startswith(("=", "+", "@")), (path.name, cell[:40])
                assert not cell.startswith("-") or re.fullmatch(r"-[0-9.eE+-]+", cell), (path.name, cell[:40])
    back = read_csv(tmp_path / "job_hour.csv")
    assert sorted(back["job_id"].unique()) == sorted(HOSTILE)  # what codispatch reads back is unchanged


def test_negative_numbers_stay_numbers(tmp_path) -> None:
    path = write_csv(pd.DataFrame({"x": [-1.5, 2.0], "name": ["-a", "'=b"]}), tmp_path / "t.csv", index=False)
    assert path.read_text().splitlines() == ["x,name", "-1.5,'-a", "2.0,''=b"]
    assert read_csv(path)["name"].tolist() == ["-a", "'=b"]


def test_every_csv_codispatch_writes_goes_through_the_escaping_writer() -> None:
    offenders = []
    for folder in ("control", "forecasts", "grid_models", "scripts"):
        for path in (REPO / folder).rglob("*.py"):
            if path.name != "safe_csv.py" and ".to_csv(" in path.read_text(encoding="utf-8"):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == [], f"write CSVs with control.safe_csv.write_csv (formula escaping): {offenders}"


PROBE = """<script>window.addEventListener('load', () => {
  const t = document.getElementById('per-site');
  document.body.setAttribute('data-fit', Math.ceil(t.getBoundingClientRect().right) + '/' + window.innerWidth);
});</script>"""


@pytest.mark.browser
def test_per_site_table_fits_a_1280_px_window(tmp_path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed (scripts/install_system_deps.sh)")
    body = accounting_html(_ledger(["a", "b"], sites=8), None, "mpc")
    page = write_page(tmp_path / "report.html", "per-site width", body)
    page.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               f"--user-data-dir={profile}", "--window-size=1280,900", "--virtual-time-budget=5000",
                               "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    fit = re.search(r'data-fit="(\d+)/(\d+)"', done.stdout)
    assert fit, done.stderr[-2000:]
    right, width = map(int, fit.groups())
    assert width == 1280 and right <= width, f"per-site table ends at {right} px in a {width} px window"
