"""Scenario files (docs/tools.md, "Scenario files"): TOML in, a kernel
and processes out; mistakes name the line and the field."""

import subprocess
import sys
from pathlib import Path

import pytest

import pykernel as pk
from pykernel.scenario import ScenarioError, load, loads, locate

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
# a comment
[machine]
cpus = 1

[costs]
switch = 0

[scheduler]
name = "RoundRobin"
quantum = 4

[programs]
long = [["compute", 24]]
short = [
    ["compute", 3],
]

[[processes]]
program = "long"
name = "P1"

[[processes]]
program = "short"
count = 2
"""


def test_textbook_round_robin_from_a_scenario_gives_the_textbook_waits():
    # Silberschatz 10th ed. 5.3.3 (docs/references.md [SGG10]): RR quantum 4, bursts 24, 3, 3: waits 6, 4, 7
    k, procs = loads(GOOD).build()
    k.run()
    assert [p.stats.wait for p in procs] == [6, 4, 7]
    assert [p.name for p in procs] == ["P1", "short-1", "short-2"]


def test_locate_finds_tables_arrays_of_tables_and_keys_after_multiline_values():
    lines = locate(GOOD)
    assert lines[("machine",)] == 2
    assert lines[("scheduler", "quantum")] == 10
    assert lines[("programs", "short")] == 14
    assert lines[("processes", 0, "program")] == 19
    assert lines[("processes", 1, "count")] == 24


def test_locate_handles_dotted_keys_and_quoted_keys():
    lines = locate('a.b = 1\n[t]\n"x y".z = [\n 1,\n]\nw = 2\n')
    assert lines[("a", "b")] == 1 and lines[("t", "x y", "z")] == 3 and lines[("t", "w")] == 6


def error(text):
    with pytest.raises(ScenarioError) as info:
        loads(text).build()
    return info.value


def test_unknown_program_names_the_line_and_field():
    e = error(GOOD.replace('program = "short"', 'program = "shrot"'))
    assert (e.line, e.field) == (23, "processes[1].program")
    assert str(e).startswith("<string>:23: processes[1].program: unknown program 'shrot'")


def test_unknown_policy_names_the_scheduler_name_line():
    e = error(GOOD.replace('"RoundRobin"', '"RoundRobbin"'))
    assert (e.line, e.field) == (9, "scheduler.name") and "RoundRobin" in e.message


def test_bad_policy_parameter_names_its_line():
    e = error(GOOD.replace("quantum = 4", "quantum = -4"))
    assert (e.line, e.field) == (10, "scheduler.quantum")


def test_bad_operation_is_reported_at_its_program_line():
    e = error(GOOD.replace('["compute", 3]', '["compute", "soon"]'))
    assert (e.line, e.field) == (14, "programs.short[0]")
    assert "compute" in e.message


def test_unknown_operation_lists_the_known_ones():
    e = error(GOOD.replace('["compute", 24]', '["fly", 24]'))
    assert e.line == 13 and "unknown operation 'fly'" in e.message and "touch_range" in e.message


def test_unknown_process_field_names_its_line():
    e = error(GOOD.replace("count = 2", "count = 2\nnicely = 3"))
    assert (e.line, e.field) == (25, "processes[1].nicely")


def test_bad_machine_value_names_its_line():
    e = error(GOOD.replace("cpus = 1", "cpus = 0"))
    assert (e.line, e.field) == (3, "machine.cpus") and "between 1 and 256" in e.message


def test_bad_process_value_names_its_line():
    e = error(GOOD.replace("count = 2", "count = 2\nnice = 40"))
    assert (e.line, e.field) == (25, "processes[1].nice")


def test_toml_syntax_error_gives_the_parser_line():
    with pytest.raises(ScenarioError) as info:
        loads("[machine]\ncpus = = 1\n")
    assert info.value.line == 2 and "not valid TOML" in str(info.value)


def test_unknown_table_is_an_error():
    e = error("[machin]\ncpus = 1\n")
    assert (e.line, e.field) == (1, "machin")


def test_durations_take_units():
    k, procs = loads('[programs]\np = [["compute", "1.5 us"], ["sleep", "2 ms"]]\n'
                     '[costs]\nswitch = 0\n[[processes]]\nprogram = "p"\nat = "1 s"\n').build()
    k.run()
    assert procs[0].stats.arrival == 1_000_000_000
    assert procs[0].stats.cpu_time == 1500 and procs[0].stats.blocked == 2_000_000


def test_params_override_values_by_dotted_path():
    sc = loads(GOOD, params={"machine.cpus": 2, "processes.1.count": 3})
    k, procs = sc.build()
    assert k.cpus == 2 and len(procs) == 4


def test_memory_and_mmu_tables_make_a_kernel_with_virtual_memory():
    k, procs = load(ROOT / "examples" / "memory.toml").build()
    k.run()
    assert k.memory.frames == 65536 and k.mmu.asid is False
    # 2 MiB of 4 KiB pages, each zero-filled on its first touch
    assert [p.stats.page_faults for p in procs] == [512] * 8


EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_scenario_runs_to_its_end(path):
    k = load(path).run(progress=False)
    assert k.stats.context_switches > 0


def cli(*argv, cwd):
    return subprocess.run([sys.executable, "-m", "pykernel", *argv], capture_output=True,
                          text=True, cwd=cwd)


def test_cli_run_prints_the_summary(tmp_path):
    (tmp_path / "s.toml").write_text(GOOD)
    r = cli("run", "s.toml", "--report", "threads", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("machine\n  1 CPU(s)")
    assert "  RoundRobin(4 ns)" in r.stdout and "P1.0" in r.stdout


def test_cli_run_until_stops_early(tmp_path):
    (tmp_path / "s.toml").write_text(GOOD)
    r = cli("run", "s.toml", "--until", "10ns", cwd=tmp_path)
    assert "  simulated 10 ns;" in r.stdout


def test_cli_run_error_names_file_line_and_field(tmp_path):
    (tmp_path / "s.toml").write_text(GOOD.replace("cpus = 1", "cpus = 0"))
    r = cli("run", "s.toml", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "s.toml:3: machine.cpus: Kernel cpus must be between 1 and 256" in r.stderr


def test_cli_run_progress_line_shows_time_and_switch_rate(tmp_path):
    (tmp_path / "s.toml").write_text(GOOD.replace('[["compute", 24]]',
                                                  '[["loop", 3000000, [["compute", 4]]]]'))
    code = ("import sys, pykernel.run as k; k._Progress.delay = k._Progress.interval = 0;"
            "from pykernel.cli import main; sys.exit(main(['run', 's.toml', '--progress']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and "ms simulated" in r.stderr and "M switches/s" in r.stderr


def test_a_limits_table_sets_the_kernels_limits():
    k, _ = loads(GOOD + "\n[limits]\nmax_threads = 3\nmax_messages = 10\n").build()
    assert (k.limits.max_threads, k.limits.max_messages) == (3, 10)


def test_a_scenario_past_its_thread_limit_names_the_limit():
    with pytest.raises(pk.NoMemory, match=r"max_threads=2"):
        loads(GOOD + "\n[limits]\nmax_threads = 2\n").build()


def test_an_unknown_limit_names_its_line():
    e = error(GOOD + "\n[limits]\nmax_widgets = 3\n")
    assert e.field == "limits.max_widgets"


# ---- found by fuzzing (fuzz/corpus/scenario/regression-*) ----------------------------

def test_a_process_entry_that_is_not_a_table_is_a_scenario_error():
    with pytest.raises(ScenarioError, match=r"processes\[0\]: a process is a table"):
        loads("processes = [1, 2]\n").build()


def test_a_program_name_that_is_not_a_string_is_a_scenario_error():
    text = '[programs]\na = [["compute", 5]]\n[[processes]]\nprogram = ["a"]\n'
    with pytest.raises(ScenarioError, match=r"processes\[0\]\.program: unknown program"):
        loads(text).build()


def test_a_duration_too_long_for_a_float_is_out_of_range_not_an_overflow():
    text = '[programs]\na = [["compute", "' + "9" * 400 + ' ms"]]\n'
    with pytest.raises(ScenarioError, match=r"programs\.a\[0\]: compute: compute duration must be <="):
        loads(text).build()


def test_a_duration_with_more_digits_than_python_converts_is_a_scenario_error():
    with pytest.raises(ScenarioError, match=r"run\.until: duration 9+\.\.\. has too many digits"):
        loads('[run]\nuntil = "' + "9" * 5000 + ' s"\n').until


def test_run_until_must_be_a_time():
    with pytest.raises(ScenarioError, match=r"run\.until: until duration must be an int, not list"):
        loads("[run]\nuntil = [1]\n").until


def test_fractional_durations_are_exact():
    # "0.3 us" is 300 ns exactly (a float product would be 300.00000000000006)
    assert loads('[run]\nuntil = "0.3 us"\n').until == 300


def test_a_toml_int_with_more_digits_than_python_converts_is_a_scenario_error():
    # tomllib raises a plain ValueError there, not TOMLDecodeError
    with pytest.raises(ScenarioError, match="not valid TOML: Exceeds the limit"):
        loads("[run]\nuntil = " + "9" * 5000 + "\n")


# ---- nesting and encoding: ScenarioError, never RecursionError or UnicodeDecodeError ----

def _nested_loops(n: int) -> str:
    ops = '["compute", 1]'
    for _ in range(n):
        ops = f'["loop", 2, [{ops}]]'
    return f'# loops\n[programs]\np = [{ops}]\n[[processes]]\nprogram = "p"\n'


def test_3000_nested_arrays_are_a_scenario_error_at_their_line():
    with pytest.raises(ScenarioError) as e:
        loads("# deep\n\nx = " + "[" * 3000 + "]" * 3000 + "\n")
    assert (e.value.line, e.value.message) == (3, "arrays or inline tables nest too deeply to parse")


def test_2000_nested_inline_tables_are_a_scenario_error_at_their_line():
    with pytest.raises(ScenarioError) as e:
        loads("[run]\nx = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n")
    assert (e.value.line, e.value.message) == (2, "arrays or inline tables nest too deeply to parse")


def test_ops_nested_500_loops_deep_are_a_scenario_error():
    # 1,000 nested arrays: refused while parsing, at the line of the program
    with pytest.raises(ScenarioError) as e:
        loads(_nested_loops(500)).build()
    assert e.value.line == 3


def test_loops_nested_past_the_limit_name_the_operation_that_is_too_deep():
    # loops nest at most PK_LOOP_DEPTH = 16 deep (csrc/core/pk_api.h); the 17th is refused
    with pytest.raises(ScenarioError) as e:
        loads(_nested_loops(100)).build()
    assert e.value.line == 3
    assert e.value.field == "programs.p" + "[0]" * 17
    assert e.value.message == "loops nest at most 16 deep: instruction 16 opens one at depth 17"


def test_loops_nested_exactly_to_the_limit_build():
    k, procs = loads(_nested_loops(16)).build()
    assert len(procs) == 1


def test_a_file_that_is_not_utf8_is_a_scenario_error_at_its_line(tmp_path):
    # "A TOML file must be a valid UTF-8 encoded Unicode document." (TOML v1.0.0)
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"[machine]\ncpus = 1\n# caf\xe9\n")
    with pytest.raises(ScenarioError) as e:
        load(path)
    assert (e.value.path, e.value.line) == (str(path), 3)
    assert e.value.message == "not UTF-8 (a TOML file must be): byte 0xe9 at column 6"


def test_cli_run_of_a_deeply_nested_file_is_one_line_and_status_2(tmp_path):
    (tmp_path / "deep.toml").write_text("x = " + "[" * 3000 + "]" * 3000 + "\n")
    r = cli("run", "deep.toml", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == ("pykernel: error: deep.toml:1: arrays or inline tables nest too "
                        "deeply to parse\n")


def test_cli_run_of_a_file_that_is_not_utf8_is_one_line_and_status_2(tmp_path):
    (tmp_path / "bad.toml").write_bytes(b"\xff\n")
    r = cli("run", "bad.toml", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == ("pykernel: error: bad.toml:1: not UTF-8 (a TOML file must be): "
                        "byte 0xff at column 1\n")
