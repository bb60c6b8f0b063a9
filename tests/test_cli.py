from pathlib import Path

import pytest

from meltwater.cli import main
from meltwater.data.catalog import get_source
from meltwater.data.cube import open_cube


def test_demo_and_cube_commands(tmp_path, capsys):
    root = str(tmp_path)
    assert main(["demo", "--size", "tiny", "--data-root", root]) == 0
    assert main(["cube", "--source", "demo", "--years", "2018", "--data-root", root]) == 0
    cube = open_cube(get_source("demo", data_root=tmp_path))
    assert set(cube.indexes["time"].year) == {2018}
    assert "cube written to" in capsys.readouterr().out


def test_user_errors_are_one_line(tmp_path, capsys):
    assert main(["cube", "--source", "nope", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("meltwater cube: error: unknown source 'nope'") and "\n" not in err
    assert "Traceback" not in err
    assert main(["cube", "--source", "demo", "--data-root", str(tmp_path)]) == 2
    assert "run `meltwater demo` first" in capsys.readouterr().err


def test_verbose_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="unknown source"):
        main(["--verbose", "cube", "--source", "nope", "--data-root", str(tmp_path)])


def test_precompute_ablation_names_are_checked(tiny_data_root, capsys):
    argv = ["precompute", "--models", "pmw_threshold", "--data-root", str(tiny_data_root)]
    assert main([*argv, "--ablations", "pmw,bogus"]) == 2
    assert "--ablations: unknown ['bogus']" in capsys.readouterr().err


def test_serve_runs_panel_on_the_installed_app_bound_to_loopback():
    from meltwater.cli.entry import build_parser
    from meltwater.cli.serve import serve_command

    cmd = serve_command(build_parser().parse_args(["serve", "--port", "5077"]))
    assert cmd[1:4] == ["-m", "panel", "serve"] and cmd[4].endswith("app.py")
    assert Path(cmd[4]).is_file()
    assert cmd[cmd.index("--address") + 1] == "127.0.0.1"
    assert "--allow-websocket-origin=localhost:5077" in cmd and "--num-procs" not in cmd
    setup = Path(cmd[cmd.index("--setup") + 1])  # warms every process (dashboard/warm.py)
    assert setup.name == "warm.py" and setup.is_file()
    many = serve_command(build_parser().parse_args(["serve", "--num-procs", "3"]))
    assert many[many.index("--num-procs") + 1] == "3"


def test_serve_sizes_the_session_pool_and_refuses_a_bad_size(capsys):
    from meltwater.cli.entry import build_parser
    from meltwater.cli.serve import serve_env
    from meltwater.resources import POOL_ENV

    args = build_parser().parse_args(["serve", "--num-procs", "2", "--pool", "20"])
    assert serve_env(args, {"PATH": "/bin"}) == {"PATH": "/bin", POOL_ENV: "20"}
    plain = build_parser().parse_args(["serve"])
    assert POOL_ENV not in serve_env(plain, {})  # the dashboard's default
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--pool", "-3"])
    assert "--pool: expected a whole number of sessions ≥ 0, got '-3'" in capsys.readouterr().err
