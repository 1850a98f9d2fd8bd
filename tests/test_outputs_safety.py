"""The one rule for every command's outputs: never write over an input of the same command; an output that exists is
refused without --overwrite (exit code 2, one line naming it) and replaced with it, saying so."""
import argparse
import json
import shutil

import numpy as np
import pytest
from conftest import write_png

from eyebench.cli import build_parser, main
from eyebench.commands.args import OVERWRITE_RULE, Output, _check_outputs
from eyebench.evaluate.heldout import FORMAT

OUTPUT_DESTS = {"out", "json", "csv", "onnx", "sheet"}


def run(capsys, *argv):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def checked(*argv):
    """The lines `_check_outputs` returns for a command line (it raises ValueError on a refusal)."""
    return _check_outputs(build_parser().parse_args([str(a) for a in argv]))


def commands(parser, name="eyebench"):
    """(name, parser) of every command, sub-commands (cv-report pooled, ...) included."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield name, parser
    for action in subs:
        for sub_name, sub in action.choices.items():
            yield from commands(sub, f"{name} {sub_name}")


def test_every_output_option_takes_the_one_output_type_and_has_overwrite():
    found = 0
    for name, parser in commands(build_parser()):
        outputs = [a for a in parser._actions if isinstance(a.type, Output)]
        named = [a for a in parser._actions if a.dest in OUTPUT_DESTS]
        assert named == [a for a in outputs if a.dest in OUTPUT_DESTS], name  # every --out/--json/... is an Output
        overwrite = [a for a in parser._actions if a.dest == "overwrite"]
        assert bool(outputs) == bool(overwrite), name
        if overwrite:
            found += 1
            assert "refused" in overwrite[0].help and "never written over" in overwrite[0].help, name
    assert found >= 15


def test_the_main_help_states_the_rule(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert " ".join(OVERWRITE_RULE.split()) in text


def test_explain_refuses_to_write_over_its_input_photo(capsys, tmp_path, trained_cnn):
    photo = write_png(tmp_path / "photo.png", np.full((40, 60), 128, np.uint8))
    before = photo.read_bytes()
    for extra in ((), ("--overwrite",)):
        rc, out, err = run(capsys, "explain", "--model", trained_cnn, photo, "--out", photo, *extra)
        assert rc == 2 and out == ""
        assert err.strip() == (f"eyebench explain: error: --out {photo} would write over {photo.resolve()}, an input "
                               "of this command: give another path")
        assert photo.read_bytes() == before


def test_an_existing_file_inside_an_input_folder_is_an_input(capsys, tmp_path, trained_cnn):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(trained_cnn, ckpt)
    card = (ckpt / "README.md").read_text()
    photo = write_png(tmp_path / "photo.png", np.full((40, 60), 128, np.uint8))
    rc, _, err = run(capsys, "explain", "--model", ckpt, photo, "--out", ckpt / "README.md", "--overwrite")
    assert rc == 2 and "an input of this command" in err and (ckpt / "README.md").read_text() == card


def test_evaluate_json_exists_refused_then_replaced_with_overwrite(capsys, tmp_path, trained_cnn, mrl_dir):
    notes = tmp_path / "notes.json"
    notes.write_text("my notes")
    rc, out, err = run(capsys, "evaluate", "--model", trained_cnn, "--data", mrl_dir, "--json", notes)
    assert rc == 2 and out == "" and notes.read_text() == "my notes"
    assert err.strip() == f"eyebench evaluate: error: {notes} exists: pass --overwrite to replace it"
    rc, out, err = run(capsys, "evaluate", "--model", trained_cnn, "--data", mrl_dir, "--json", notes, "--overwrite")
    assert rc == 0, err
    assert "models" in json.loads(notes.read_text())
    assert out.strip().splitlines()[-1] == f"replaced {notes} (--overwrite)"


def test_video_refuses_a_folder_holding_its_outputs(capsys, tmp_path, trained_cnn):
    clip, out_dir = tmp_path / "clip.avi", tmp_path / "out"
    clip.write_bytes(b"not read: the refusal comes first")
    out_dir.mkdir()
    (out_dir / "frames.csv").write_text("my frames")
    rc, _, err = run(capsys, "video", clip, "--model", trained_cnn, "--out", out_dir)
    assert rc == 2 and err.strip() == (f"eyebench video: error: {out_dir / 'frames.csv'} exists: pass --overwrite to "
                                       "replace it")
    assert (out_dir / "frames.csv").read_text() == "my frames"
    assert checked("video", clip, "--model", trained_cnn, "--out", out_dir, "--overwrite") == [
        f"replaced {out_dir / 'frames.csv'} (--overwrite)"]
    assert checked("video", clip, "--model", trained_cnn, "--out", tmp_path) == []  # beside its input: fine
    with pytest.raises(ValueError, match="an input of this command"):  # unless one of the files it writes is the input
        checked("video", out_dir / "frames.csv", "--model", trained_cnn, "--out", out_dir, "--overwrite")


def test_heldout_replaces_its_own_bundle_and_refuses_other_files(tmp_path, trained_cnn, mrl_dir):
    base = ["heldout", "--model", trained_cnn, "--data", mrl_dir, "--out"]
    bundle = tmp_path / "heldout"
    bundle.mkdir()
    (bundle / "bundle.json").write_text(json.dumps({"format": FORMAT, "split": {}, "models": {}, "sweeps": {}}))
    (bundle / "README.md").write_text("written by heldout")
    assert checked(*base, bundle) == [f"replaced {bundle / 'README.md'}, {bundle / 'bundle.json'} (an earlier output "
                                      "of this command)"]
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "README.md").write_text("my notes")
    with pytest.raises(ValueError, match=f"{notes / 'README.md'} exists: pass --overwrite"):
        checked(*base, notes)


def test_train_keeps_resume_and_replaces_a_finished_checkpoint_only_with_overwrite(tmp_path, trained_cnn, mrl_dir):
    base = ["train", "small_cnn", "--data", mrl_dir, "--out"]
    ckpt = tmp_path / "small_cnn"
    shutil.copytree(trained_cnn, ckpt)
    with pytest.raises(ValueError, match=f"{ckpt / 'config.json'} exists: pass --overwrite"):
        checked(*base, ckpt)
    assert checked(*base, ckpt, "--overwrite") == [f"replaced {ckpt / 'config.json'} (--overwrite)"]
    (ckpt / "resume.pt").write_bytes(b"a stopped run")
    assert checked(*base, ckpt, "--resume") == []  # continued, not replaced
    with pytest.raises(ValueError, match="an input of this command"):  # its split is read from the folder it writes
        checked(*base, ckpt, "--split-from", ckpt, "--overwrite")
    assert checked("cv", "small_cnn", "--data", mrl_dir, "--out", tmp_path / "small_cnn_cv") == []
