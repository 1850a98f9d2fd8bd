"""Command-line interface: `python -m eyebench <command>` builds the parser from eyebench/commands/ and dispatches."""
from __future__ import annotations

import argparse
import sys
import textwrap

from .commands import (
    audit,
    bench,
    calibrate,
    committee,
    cv,
    cv_report,
    evaluate,
    explain,
    export,
    heldout,
    predict,
    report,
    robustness,
    summary,
    train,
    triage,
    video,
)
from .commands.args import EPILOG, OVERWRITE_RULE, _check_outputs, _make_output_folders
from .config import command_line

# the order of `--help`
COMMANDS = (train, calibrate, evaluate, predict, bench, summary, robustness, report, explain, cv, triage, audit, export,
            cv_report, heldout, video, committee)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eyebench", description="Open/closed eye-state workbench.",
                                epilog=EPILOG + "\n\n" + textwrap.fill(OVERWRITE_RULE, 115, break_on_hyphens=False),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)  # --help ends here, before anything heavy (torch, cv2, sklearn) is imported
    args.command_line = command_line(sys.argv[1:] if argv is None else argv)  # what checkpoints and reports record
    from .errors import EyebenchError

    try:
        replaced = _check_outputs(args)
        _make_output_folders(args)
        status = args.func(args)
        if status == 0 and replaced:
            print("\n".join(replaced))
        return status
    except (EyebenchError, OSError) as exc:
        if isinstance(exc, OSError) and not (exc.filename or isinstance(exc, FileNotFoundError)):
            raise  # what the user can fix is an EyebenchError, or a file of theirs; anything else is a bug: its traceback
        print(f"eyebench {args.cmd}: error: {_user_text(exc)}", file=sys.stderr)
        return 2


def _user_text(exc: Exception) -> str:
    """What to tell the user: the message, or for a file of theirs its name and what the system said of it."""
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file or folder"
    return f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else str(exc)
