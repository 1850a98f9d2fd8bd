"""A fast CLI start: `--help` of eyebench and of every subcommand imports none of the heavy libraries."""
import json
import subprocess
import sys

HEAVY = ("torch", "timm", "sklearn", "skimage", "cv2", "gradio", "pytorch_grad_cam", "plotly")

# Runs in a fresh interpreter: the test process has imported everything already.
HELP_EVERYWHERE = """
import argparse, contextlib, io, json, sys
from eyebench import cli

def commands(parser, path=()):
    yield list(path)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, path + (name,))

helped = []
for path in commands(cli.build_parser()):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            cli.main(path + ["--help"])
        except SystemExit as exc:
            assert exc.code == 0, (path, exc.code)
    assert "usage: eyebench" in out.getvalue(), path
    helped.append(" ".join(path))
print(json.dumps({"helped": helped, "heavy": [m for m in HEAVY if m in sys.modules]}))
"""


def test_help_of_every_command_imports_nothing_heavy():
    code = f"HEAVY = {HEAVY!r}\n" + HELP_EVERYWHERE
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert {"", "train", "evaluate", "explain", "cv"} <= set(result["helped"])
    assert result["heavy"] == [], f"--help imported {result['heavy']}"


def test_importing_the_package_imports_nothing_heavy():
    code = ("import sys, eyebench, eyebench.models, eyebench.cli; eyebench.cli.build_parser(); "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_lazy_public_names_still_resolve():
    import eyebench

    assert eyebench.create_classifier("small_cnn").name == "small_cnn"
    assert {"explain_map", "load_classifier", "NotFittedError"} <= set(dir(eyebench))
    try:
        eyebench.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("unknown names must raise AttributeError")


def every_option(parser, path=()):
    """(command path, option) for every argument of every command and subcommand, -h excepted."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from every_option(sub, path + (name,))
        elif not isinstance(action, argparse._HelpAction):
            yield " ".join(path), "/".join(action.option_strings) or action.dest, action


def test_every_option_of_every_command_has_help():
    from eyebench import cli

    options = list(every_option(cli.build_parser()))
    assert len(options) > 100 and ("predict", "--whole-image") in {(c, o) for c, o, _ in options}
    missing = [f"{command} {option}" for command, option, action in options if not (action.help or "").strip()]
    assert not missing, f"options without --help text: {missing}"
