"""tests/bench/converge/report.py: the benchmark's table with the controller's CPU next to the wall-clock
times, and the timed runner that measures that CPU (the controller's processes only)."""

import importlib.util
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SPEC = importlib.util.spec_from_file_location("converge_report",
                                              os.path.join(TOP, "tests", "bench", "converge", "report.py"))
report = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(report)


def test_timed_measures_the_wall_clock_and_the_childrens_cpu(tmp_path):
    out, log = tmp_path / "t", tmp_path / "log"
    earlier = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    assert report.timed(str(out), str(log), [sys.executable, "-c", earlier]) == 0
    busy = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\nprint('done')"
    assert report.timed(str(out), str(log), [sys.executable, "-c", busy]) == 0
    wall, cpu = (float(x) for x in out.read_text().split())
    assert cpu >= 0.25 and wall >= cpu - 0.05  # this run's CPU only, not that of earlier children
    assert log.read_text() == "done\n"
    assert report.timed(str(out), str(log), [sys.executable, "-c", "raise SystemExit(3)"]) == 3


def test_table_prints_the_ratios_and_the_controllers_cpu(tmp_path, capsys):
    tsv = tmp_path / "results.tsv"
    tsv.write_text("3\t200.0\t10.0\t50.0\t4.0\n30\t700.0\t25.0\t300.0\t20.0\n")
    assert report.table(str(tsv)) == 0
    out = capsys.readouterr().out
    assert "30 hosts: the controller's CPU 300 s of the first converge's 700 s, 20 s of the no-op's 25 s" in out
    assert "no-op ratio at 3 hosts: 0.050 (goal <= 0.10: met)" in out
    assert "growth 3 -> 30 hosts: first 3.50x (goal <= 3x: NOT met), no-op 2.50x (goal <= 2x: NOT met)" in out
    tsv.write_text("3\t200.0\t10.0\n")  # a results file of the earlier format: no CPU columns
    assert report.table(str(tsv)) == 0
    assert "controller's CPU" not in capsys.readouterr().out


def test_median_picks_the_middle_no_op_by_wall_time(tmp_path):
    paths = []
    for i, (wall, cpu) in enumerate([(4.0, 3.9), (3.1, 3.0), (7.5, 7.0)]):
        path = tmp_path / ("noop%d-3.time" % (i + 1))
        path.write_text("%.1f %.1f\n" % (wall, cpu))
        paths.append(str(path))
    assert report.median(paths) == paths[0]  # 3.1 < 4.0 < 7.5
    assert report.median(paths[1:]) == paths[2]  # an even count: the upper of the two
    assert report.median(paths[:1]) == paths[0]
