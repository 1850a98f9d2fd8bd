"""`eyebench summary`: markdown tables of the held-out results stored in verified checkpoints."""
from __future__ import annotations

import sys

from .args import input_path


def run(args) -> int:
    from ..evaluate.heldout import weights_sha256
    from ..formatters.training import summary_lines
    from ..models.checkpoint import CheckpointError, load_classifier
    from ..models.summary import model_table, results_table

    verified, failed = [], []
    for d in args.checkpoints:  # the tables come from config.json: first check that its weights are there and fit it
        try:
            load_classifier(d)
            results_table([d]), model_table([d])  # its recorded results and calibration read as the tables need
            verified.append(d)
        except CheckpointError as exc:
            failed.append(str(exc))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            failed.append(f"checkpoint {d}: config.json's recorded results or calibration are damaged ({exc!r})")
    if verified:
        print("\n".join(summary_lines(verified, [weights_sha256(d) for d in verified])))
    for message in failed:
        print(f"NOT VERIFIED, left out of the tables: {message}", file=sys.stderr)
    return 1 if failed else 0


def add_parser(sub) -> None:
    s = sub.add_parser("summary", help="markdown tables of the held-out test results stored in checkpoints, after "
                                        "checking that each one's weights load and match its config.json")
    s.add_argument("checkpoints", nargs="+", type=input_path, help="checkpoint folders")
    s.set_defaults(func=run)
