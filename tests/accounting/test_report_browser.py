"""The simulation's report opens in a real browser (headless Chromium), every plot renders, and
the totals it shows match summary.json and the ledger CSV files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from control.cli import main
from tests.accounting.browser import rendered_dom



def _number(dom: str, element_id: str) -> float:
    match = re.search(rf'id="{element_id}">([-0-9.,]+)<', dom)
    assert match, f"no element {element_id!r} with a number in the rendered report"
    return float(match.group(1).replace(",", ""))


def check_report(out: Path, policies: int) -> None:
    dom = rendered_dom(out / "report.html")
    images = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert images, "the probe did not run: the page did not finish loading"
    loaded, total = map(int, images.groups())
    assert total >= 1 + policies + 5 and loaded == total, f"{loaded} of {total} images rendered"
    widths = [int(w) for w in re.search(r'data-widths="([0-9,]*)"', dom).group(1).split(",")]
    assert min(widths) >= 300  # real plots, not placeholders
    summary = json.loads((out / "summary.json").read_text())["policies"]["mpc"]
    # shown with 3 decimals: equal to half a unit of the last digit
    assert _number(dom, "total-location") == pytest.approx(summary["emissions_tco2"], abs=5e-4)
    assert _number(dom, "total-energy-mwh") == pytest.approx(summary["energy_mwh"], abs=5e-4)
    assert _number(dom, "total-green-mwh") == pytest.approx(summary["green_energy_mwh"], abs=5e-4)
    period = pd.read_csv(out / "ledger" / "period.csv").set_index("site")
    assert _number(dom, "total-market") == pytest.approx(period.loc["TOTAL", "market_tco2"], abs=5e-4)
    assert "identities hold" in dom and "FAILED" not in dom
    assert period.loc["TOTAL", "factor_set_version"] in dom


@pytest.mark.browser
def test_one_day_report_renders_in_chromium(sim) -> None:
    check_report(sim, policies=2)


@pytest.mark.browser
@pytest.mark.slow
def test_default_seven_day_report_renders_in_chromium(default_config, tmp_path) -> None:
    assert main(["simulate", "--config", str(default_config), "--days", "7", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    policies = len(json.loads((tmp_path / "summary.json").read_text())["policies"])
    check_report(tmp_path, policies)
