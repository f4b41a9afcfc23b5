"""``codispatch submit`` on bad and awkward input (issue 13, items 7, 8 and 10): exit 2 with a
message naming file, line, column and fix; nothing written on a rejection; several files in one
transaction; a drop directory that never wedges."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from control.cli import main
from control.runtime.wiring import open_store
from control.settings import load_settings

from .conftest import START

HEADER = "job_id,release,deadline,gpus,work_gpu_h,home_site"
GOOD = "2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8,10,shanghai"


def _write(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _submit(config: Path, *args: str) -> int:
    return main(["submit", "--config", str(config), "--at", START, *args])


def _ids(config: Path) -> list[str]:
    store = open_store(load_settings(config))
    try:
        return sorted(store.jobs_frame()["job_id"])
    finally:
        store.close()


def test_header_only_is_zero_jobs_and_zero_bytes_names_the_file(runtime_config, tmp_path, capsys) -> None:
    header_only = _write(tmp_path / "drop.csv")
    assert _submit(runtime_config, "--file", str(header_only)) == 0
    assert "drop.csv: 0 job(s) (header only)" in capsys.readouterr().out
    empty = tmp_path / "zero.csv"
    empty.write_bytes(b"")
    assert _submit(runtime_config, "--file", str(empty)) == 2
    err = capsys.readouterr().err
    assert f"job file {empty} is empty (0 bytes)" in err and HEADER in err and "Traceback" not in err


def test_mixed_offsets_in_a_time_column_are_read_as_utc(runtime_config, tmp_path) -> None:
    path = _write(tmp_path / "mixed.csv", f"j1,{GOOD}", "j2,2023-07-03T08:00:00+08:00,2023-07-04T00:00:00Z,8,10,shanghai")
    assert _submit(runtime_config, "--file", str(path)) == 0
    jobs = open_store(load_settings(runtime_config)).jobs_frame().set_index("job_id")
    assert jobs.loc["j1", "release"] == jobs.loc["j2", "release"] == pd.Timestamp("2023-07-03T00:00:00Z")


def test_extra_field_blames_its_line_and_position(runtime_config, tmp_path, capsys) -> None:
    path = _write(tmp_path / "extra.csv", f"j1,{GOOD}", f"j2,{GOOD},surplus", f"j3,{GOOD}")
    assert _submit(runtime_config, "--file", str(path)) == 2
    err = capsys.readouterr().err
    assert f"{path} line 3: 7 fields but the header has 6; field 7 ('surplus') comes after the last column 'home_site'" in err
    short = _write(tmp_path / "short.csv", f"j1,{GOOD}", "j2,2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8,10")
    assert _submit(runtime_config, "--file", str(short)) == 2
    assert "line 3: 5 fields but the header has 6; no value for column(s) ['home_site']" in capsys.readouterr().err
    assert _ids(runtime_config) == []


@pytest.mark.parametrize(("row", "expected"), [
    ("j1,2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8000,10,shanghai",
     "line 2 (job 'j1'), column gpus: needs at least 8000 GPUs but the largest allowed site has"),
    ("j1,2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8,inf,shanghai", "column work_gpu_h: value 'inf' is not finite"),
    ("j1,2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8,nan,shanghai", "column work_gpu_h: value 'nan' is not a number"),
    ("j1,2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8.5,10,shanghai", "column gpus: value '8.5' is not a whole number"),
    (",2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8,10,shanghai", "line 2, column job_id: no value"),
    (" j1,2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8,10,shanghai", "value ' j1' has spaces before or after it"),
    ("j1,2023-06-01T00:00:00Z,2023-06-02T00:00:00Z,8,10,shanghai",
     "column deadline: value 2023-06-02T00:00:00Z is already past (now 2023-07-02T20:00:00Z)"),
    ("j1,2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8,1000,shanghai",
     "column work_gpu_h: 1000 reference-GPU h cannot finish between 2023-07-03T00:00:00Z and the deadline"),
    ("j1,2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8,10,shanghai ", None),  # site padded: accepted (not an id)
])
def test_jobs_that_can_never_be_satisfied_are_rejected(runtime_config, tmp_path, capsys, row, expected) -> None:
    path = _write(tmp_path / "bad.csv", row)
    code = _submit(runtime_config, "--file", str(path))
    err = capsys.readouterr().err
    if expected is None:
        assert code == 0, err
        return
    assert code == 2 and expected in err and "np." not in err and "Traceback" not in err, err
    assert _ids(runtime_config) == []


def test_command_line_job_messages_show_no_internals(runtime_config, capsys) -> None:
    assert _submit(runtime_config, "--job-id", "j1", "--gpus", "8", "--work-gpu-h", "nan", "--release",
                   "2023-07-03T00:00Z", "--deadline", "2023-07-04T00:00Z", "--home-site", "shanghai") == 2
    err = capsys.readouterr().err
    assert "submit row 1 (job 'j1'), column work_gpu_h: value 'nan' is not a number" in err and "np.float64" not in err
    assert _submit(runtime_config, "--job-id", "j1", "--gpus", "8.5", "--work-gpu-h", "10", "--release",
                   "2023-07-03T00:00Z", "--deadline", "2023-07-04T00:00Z", "--home-site", "shanghai") == 2
    assert "column gpus: value '8.5' is not a whole number" in capsys.readouterr().err


def test_tight_job_is_accepted_and_flagged(runtime_config, tmp_path, capsys) -> None:
    # 8 H800 GPUs x 22 h = 176 of the 24 h window's 192 GPU-h: feasible alone, at risk behind others
    path = _write(tmp_path / "tight.csv", "j1,2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8,176,shanghai")
    assert _submit(runtime_config, "--file", str(path)) == 0
    assert "warning: job 'j1' is at risk: it needs 22.0 h at full speed of the 24.0 h left" in capsys.readouterr().err


def test_several_files_are_one_transaction(runtime_config, tmp_path, capsys) -> None:
    a = _write(tmp_path / "a.csv", f"a1,{GOOD}", f"a2,{GOOD}")
    b = _write(tmp_path / "b.csv", f"b1,{GOOD}", "b2,2023-07-03T00:00:00Z,2023-07-04T00:00:00Z,8,10,atlantis")
    assert _submit(runtime_config, "--file", str(a), str(b)) == 2
    assert "b.csv line 3 (job 'b2'), column home_site" in capsys.readouterr().err
    assert _ids(runtime_config) == []  # a.csv was not committed either
    c = _write(tmp_path / "c.csv", f"a2,{GOOD}")
    assert _submit(runtime_config, "--file", str(a), str(c)) == 2
    assert "job id 'a2' is in both" in capsys.readouterr().err
    b.write_text(f"{HEADER}\nb1,{GOOD}\n")
    assert _submit(runtime_config, "--file", str(a), str(b)) == 0
    out = capsys.readouterr().out
    assert "a.csv: 2 job(s)" in out and "b.csv: 1 job(s)" in out and "submitted 3 job(s) in one transaction" in out
    assert _submit(runtime_config, "--file", str(b), str(_write(tmp_path / "d.csv", f"d1,{GOOD}"))) == 2
    assert "already exist" in capsys.readouterr().err
    assert _ids(runtime_config) == ["a1", "a2", "b1"]


def test_drop_directory_moves_files_and_never_wedges(runtime_config, tmp_path, capsys) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    _write(drop / "1-first.csv", f"j1,{GOOD}")
    assert _submit(runtime_config, "--drop-dir", str(drop)) == 0
    assert (drop / "done" / "1-first.csv").is_file()
    # the same file again (already submitted), a bad one, an empty drop file and a good one after them
    _write(drop / "1-first.csv", f"j1,{GOOD}")
    _write(drop / "2-bad.csv", f"j2,{GOOD},x")
    _write(drop / "3-empty.csv")
    _write(drop / "4-good.csv", f"j4,{GOOD}")
    (drop / "5-partial.csv.tmp").write_text("job_id,rel")  # still being written: not a .csv yet
    assert _submit(runtime_config, "--drop-dir", str(drop)) == 2
    out = capsys.readouterr().out
    assert "2 file(s) submitted, 2 rejected, of 4" in out
    assert sorted(p.name for p in (drop / "done").iterdir()) == ["1-first.csv", "3-empty.csv", "4-good.csv"]
    rejected = sorted(p.name for p in (drop / "rejected").iterdir())
    assert rejected == ["1-first.csv", "1-first.csv.reason.txt", "2-bad.csv", "2-bad.csv.reason.txt"]
    assert "already exist" in (drop / "rejected" / "1-first.csv.reason.txt").read_text()
    assert "line 2: 7 fields" in (drop / "rejected" / "2-bad.csv.reason.txt").read_text()
    assert sorted(p.name for p in drop.glob("*.*")) == ["5-partial.csv.tmp"]
    assert _ids(runtime_config) == ["j1", "j4"]
    _write(drop / "2-bad.csv", f"j5,{GOOD},x")  # the same name again: kept beside the first, never overwritten
    assert _submit(runtime_config, "--drop-dir", str(drop)) == 2
    assert (drop / "rejected" / "2-bad.1.csv").is_file() and (drop / "rejected" / "2-bad.1.csv.reason.txt").is_file()
