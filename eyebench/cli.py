"""Command-line interface: `eyebench train|calibrate|evaluate|predict|bench|summary|robustness|report|explain|cv|triage|export`."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import textwrap
from pathlib import Path

import numpy as np

from .config import (CLASS_NAMES, EYE_CROP_SCALE, MAX_ZOOM, MIN_ZOOM, SWEEP_IMAGES, ZOOM_AVERAGE, DataConfig,
                     command_line, pct)
from .train.config import RECIPE, TRAIN, TrainConfig, add_options

EPILOG = """Data layouts accepted by --data (detected automatically):
  1. MRL Eye Dataset names anywhere below a folder (sSSSS_IIIII_G_L_E_R_Q_NN.png; metadata from the name)
  2. class folders: open/ and closed/ (aliases such as Open_Eyes, closedLeftEyes are recognised)
  3. a CSV manifest (a .csv file, or manifest.csv in the folder): path,label[,subject][,other columns...]
     (sample_images/ is labelled by its samples.json, read the same way)
In a folder each file is labelled by its own MRL name, else by its class folder.
Subjects (people) come from MRL names, the manifest's subject column, or file-name stems with left/right
eyes grouped (--subject-from chooses another rule); every split is person-disjoint. Each command prints
where the subjects came from and warns when they look wrong."""


def cmd_train(args) -> int:
    from .train.pipeline import run_training

    run_training(args.model, args.data, args.out, TrainConfig.from_args(args), command=args.command_line,
                 subject_from=args.subject_from, split_from=args.split_from)
    return 0


def cmd_calibrate(args) -> int:
    from .train.pipeline import recalibrate

    for model in args.model:
        recalibrate(model, args.data, args.target_risk, args.band_rule, args.command_line, subject_from=args.subject_from,
                    flip_average=args.flip_average, zoom_average=args.zoom_average)
    return 0


def _load_models(dirs):
    from .models import load_classifier

    return [load_classifier(d) for d in dirs]


def _load_data(args):
    """The --data of a command, scanned, with what the user must know about it printed: each source's layout, where
    its subjects came from, and every warning (many files skipped, subjects that look wrong)."""
    from .data.dataset import describe, load_dataset

    dataset = load_dataset(args.data, subject_from=args.subject_from)
    print("\n".join(describe(dataset.report())))
    return dataset


def cmd_evaluate(args) -> int:
    from .evaluate.report import evaluate_checkpoint, format_head_angles, format_table

    models = _load_models(args.model)
    dataset = _load_data(args)
    rows, data_report = [], None
    for i, clf in enumerate(models, 1):
        print(f"[{i}/{len(models)}] {clf.checkpoint}", file=sys.stderr)
        row, used = evaluate_checkpoint(clf, dataset, args.split, args.bootstrap)
        if args.compare_labels:
            row["label_comparison"] = _label_comparison(clf, used)
        rows.append(row)
        data_report = data_report or used.report()
    print(format_table(rows))
    for r in rows if args.compare_labels else []:
        print(_comparison_line(r))
    for r in rows:
        if r.get("split"):
            print(f"{r['name']}: --split {r['split']} kept {r['n']} images of its {r['split']} people and left out "
                  f"{r['split_removed']} others")
        if r.get("leak"):
            print(f"WARNING {r['name']}: {r['leak']['message']}")
        for line in format_head_angles(r):
            print(line)
        ci = r.get("bootstrap_accuracy")
        if ci:
            print(f"{r['name']}: accuracy 95% CI over subjects " + (f"[{100 * ci['low']:.2f}%, {100 * ci['high']:.2f}%] "
                  f"({ci['n_subjects']} subjects, {ci['n_boot']} resamples)" if ci["low"] is not None else ci["note"]))
            if ci["low"] is not None and ci.get("subjects_trusted") is False:
                print(f"WARNING {r['name']}: {ci['note']}")
        if r.get("band"):
            u = r["band"]
            print(f"{r['name']}: uncertain band {[round(b, 4) for b in u['band']]} -> {u['n_uncertain']} uncertain "
                  f"(coverage {100 * u['coverage']:.2f}%, selective risk "
                  + ("-" if u["selective_risk"] is None else f"{100 * u['selective_risk']:.2f}%") + ")")
    rep = data_report or dataset.report()
    print(f"\nimages read: {rep['n_read']}, skipped: {rep['n_skipped']} {rep['skipped_reasons'] or ''}")
    for ex in rep["skipped_examples"]:
        print(f"  skipped {ex['path']}: {ex['reason']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"models": rows, "data": rep}, indent=1))
        print(f"wrote {args.json}")
    return 0


def _label_comparison(clf, used) -> dict:
    """A model's metrics on the original and the corrected labels of the same images (--compare-labels)."""
    from .data.dataset import load_images
    from .evaluate.audit import compare_labels

    arrays, kept = load_images(used, clf.data_config.input_size, clf.data_config.channels)
    result = compare_labels(kept, clf.proba_prepared(arrays))
    if result is None:
        raise ValueError("--compare-labels needs a corrected manifest: a CSV with an original_label column (the Review "
                         "tab's export, or `audit --accept-top`)")
    return result


def _comparison_line(row: dict) -> str:
    """One model's accuracy and closed recall before and after the label corrections."""
    c = row["label_comparison"]
    before, after = c["original"], c["corrected"]
    return (f"{row['name']}: {c['changed']} of {c['n']} labels changed ({c['open_to_closed']} open -> closed, "
            f"{c['closed_to_open']} closed -> open); accuracy {pct(before['accuracy'], sign=False)} on the original "
            f"labels -> {pct(after['accuracy'], sign=False)} on the corrected; closed recall "
            f"{pct(before['recall_closed'], sign=False)} -> {pct(after['recall_closed'], sign=False)}")


def cmd_audit(args) -> int:
    from .evaluate.analysis import restrict
    from .evaluate.audit import RULE, accept_top, audit_models, write_rows

    models = _named_models(args.model)
    dataset = restrict(_load_data(args), list(models.values()), args.split)
    rows, _ = audit_models(models, dataset, Path(args.csv).resolve().parent, progress=True)
    print(f"rule: {RULE}")
    if args.accept_top:
        rows = accept_top(rows, args.accept_top)
        taken = sum(r["decision"] != "kept" for r in rows)
        print(f"UNREVIEWED: the suggestions of the {args.accept_top} most doubted images were taken as their labels "
              f"({taken} labels changed) without anyone looking at them; review them (the app's Review tab) before "
              "you trust the result")
    write_rows(rows, args.csv)
    doubted = sum(r["suggested"] != r.get("original_label", r["label"]) for r in rows)
    print(f"wrote {args.csv}: {len(rows)} images, most doubted first; the models suggest the other label for "
          f"{doubted}. It is a manifest: --data {args.csv} reads it")
    for r in rows[:10]:
        print(f"  doubt {r['doubt']:.3f}  {r.get('original_label', r['label']):<6} -> suggested {r['suggested']:<6} "
              f"({r['n_disagree']} of {r['n_models']} models decide it)  {r['path']}")
    return 0


def _named_models(dirs) -> dict:
    """Loaded checkpoints by folder name (the whole path where two folders share a name), as the app names them."""
    from .models import load_classifier

    names = [Path(d).name for d in dirs]
    return {(n if names.count(n) == 1 else str(d)): load_classifier(d) for n, d in zip(names, dirs)}


def _band_text(band) -> str:
    return f"uncertain band on p(closed)=[{band[0]:.3f}, {band[1]:.3f}]" if band else "no band (cut at p(closed)=0.5)"


def _picture(path: str) -> np.ndarray:
    """The RGB array of a picture named on the command line; an unreadable one is an ImageError naming it."""
    from .data.images import ImageError, decode_image

    try:
        return decode_image(path)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from None


def _pictures(paths, models: dict, whole_image: bool, maps: bool):
    """(path, workbench.predict_picture result or None) per readable image; says why an image gives no eye."""
    from .data.images import ImageError, decode_image
    from .workbench import predict_picture

    for path in paths:
        try:
            res = predict_picture(models, decode_image(path), whole_image=whole_image, maps=maps)
        except ImageError as exc:
            print(f"{path}: cannot read: {exc}")
            yield path, None
            continue
        yield path, _noted(path, res)


def _noted(path, res: dict) -> dict | None:
    """Print how the eyes of a picture were found (not for a plain eye crop, the usual input); None if none was."""
    if res["how"] != "crop":
        print(f"{path}: {res['message']}")
        for line in res.get("face_lines", []):
            print(f"{path}: {line}")
    return res if res["eyes"] else None


def cmd_predict(args) -> int:
    models = _named_models(args.model)
    status = 0
    for path, res in _pictures(args.images, models, args.whole_image, maps=False):
        if res is None:
            status = 1
            continue
        for eye in res["eyes"]:
            for r in eye["results"]:
                print(f"{path}\t{r['model']}\t{r['decision']}\tp(open)={r['p_open']:.4f}\tp(closed)={r['p_closed']:.4f}"
                      f"\teye={eye['side']}\tbox={','.join(map(str, eye['box']))}\t{_band_text(r['band'])}"
                      f"\tface={eye['face'] + 1}")
    return status


def cmd_bench(args) -> int:
    from .bench import bench_classifier, bench_picture, bench_threshold, machine_load, recording_refusal

    load = machine_load()
    if args.record and recording_refusal(args.seconds, load):
        raise ValueError(recording_refusal(args.seconds, load))
    if args.video is not None:
        return _bench_video(args, load)
    if args.faces or args.face_videos:
        return _bench_faces(args)
    if args.picture:
        models = _named_models(args.model)
        r = bench_picture(models, _picture(args.picture))
        t = bench_threshold()
        print(f"app predict ({', '.join(models)}; eyes + every model + every map): median {r['median_ms']:.0f} ms, "
              f"max {r['max_ms']:.0f} ms over {r['repeats']} runs ({_load_text(load)})")
        print(f"threshold update on {t['n_images']} cached images: median {t['median_ms']:.1f} ms")
        return 0
    rows = []
    for clf in _load_models(args.model):
        r = bench_classifier(clf, batch_size=args.batch_size, seconds=args.seconds)
        r["load"] = {"before": load, "after": machine_load()}
        rows.append(r)
        threads = r["threads"]["batch"]
        print(f"{clf.name:<14} batch {r['batch_images_per_second']:>9.0f} img/s ({r['batch_ms_per_image']:.3f} ms/img, "
              f"batch {r['batch_size']}, {threads or '-'} threads)   single {r['single_ms_per_image']:.2f} ms/img "
              f"({r['single_images_per_second']:.0f} img/s, {r['threads']['single']} thread as predict and the app use; "
              f"{r['single_ms_default_threads']:.2f} ms with {threads or '-'})   {_load_text(r['load']['after'])}")
    if load["busy"] or any(r["load"]["after"]["busy"] for r in rows):
        print("WARNING: the machine was busy (load average above its cores): these figures are lower than it can do")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.record:
        _record_bench(rows, args.command_line)
    return 0


def _bench_faces(args) -> int:
    """bench --faces / --face-videos: eyes found and state right on labelled face photos, closures in videos."""
    from .eye_finding import score_photos, score_videos

    models = _named_models(args.model)
    result = {}
    if args.faces:
        r = result["photos"] = score_photos(models, args.faces, progress=True, crop_scale=args.crop_scale)
        print(f"{args.faces}: {r['photos']} photos, eyes found {r['found']} of {r['labelled']} labelled "
              f"({100 * r['found_share']:.1f}%); eye crops {args.crop_scale:g} x the eye-corner distance")
        for name, m in r["models"].items():
            print(f"  {name:<18} " + (f"state right on {m['right']} of {m['judged']} judged eyes "
                                      f"({100 * m['accuracy']:.1f}%)" if m["judged"] else "no eye judged"))
    if args.face_videos:
        result["videos"] = score_videos(models, args.face_videos)
        for v in result["videos"]:
            print(f"{v['file']}: labelled {v['blinks']} blinks, {v['long_closures']} long closures "
                  f"({v['frames_per_second']:.0f} frames/s)")
            for name, c in v["models"].items():
                exact = "exact" if (c["blinks"], c["long_closures"]) == (v["blinks"], v["long_closures"]) else "WRONG"
                print(f"  {name:<18} {c['blinks']} blinks, {c['long_closures']} long closures, {c['closures']} "
                      f"other closures ({exact})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


def _bench_video(args, load: dict) -> int:
    """bench --video: frames per second of the whole video pipeline per model (and of the tracking alone)."""
    from .bench import bench_video, machine_load

    rows = bench_video(_named_models(args.model), args.video or None)
    print(f"video pipeline (decode, track, classify) on {rows[0]['video']}, {rows[0]['width']}x{rows[0]['height']}, "
          f"{rows[0]['frames']} frames, {_tracking_text(rows[0]['tracker'])}:")
    for r in rows:
        stages = ", ".join(f"{k.split(':')[0]} {v:.2f} s" for k, v in r["seconds"].items() if k != "total")
        print(f"{r['model']:<16} {r['frames_per_second']:6.1f} frames/s   ({r['frames_per_cpu_second']:.1f} per CPU "
              f"second; {stages})   {_load_text(r['load']['after'])}")
    if load["busy"] or machine_load()["busy"]:
        print("WARNING: the machine was busy (load average above its cores): these figures are lower than it can do")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def _load_text(load: dict) -> str:
    return f"load {load['load_1min']:.2f} on {load['cores']} cores" + (" BUSY" if load["busy"] else "")


def _tracking_text(tracker: dict) -> str:
    """How the eyes were followed: landmarks every frame, or (the Haar fallback) detection every N frames."""
    from .faces import finder_notice

    if finder_notice():
        return f"Haar detection every {tracker['detect_every']} frames (MediaPipe unavailable)"
    return "face landmarks every frame, face detection when the face is lost"


def _record_bench(rows: list[dict], command: str) -> None:
    import platform

    import torch

    from .models.checkpoint import update_record

    for r in rows:
        load = r["load"]["before"]
        machine = (f"{load['cores']} CPU cores ({platform.machine()}), torch {torch.__version__}, "
                   f"{r['threads']['batch'] or '-'} threads for batches, {r['threads']['single']} for single images, "
                   f"load average {load['load_1min']:.2f} at the start, {r['seconds']:g} s per measurement")
        update_record(r["checkpoint"], "bench", {**r, "command": command, "machine": machine})
    print("recorded in each checkpoint's config.json and model card")


def cmd_summary(args) -> int:
    from .evaluate.heldout import weights_sha256
    from .models.checkpoint import CheckpointError, load_classifier
    from .models.summary import model_table, results_table

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
        print(results_table(verified))
        print()
        print(model_table(verified))
        print("\nweights verified (model.safetensors loads and matches its config.json; sha256): "
              + ", ".join(f"{Path(d).name} {weights_sha256(d)[:12]}" for d in verified))
    for message in failed:
        print(f"NOT VERIFIED, left out of the tables: {message}", file=sys.stderr)
    return 1 if failed else 0


def cmd_robustness(args) -> int:
    from .evaluate.analysis import analyse_models, restrict
    from .evaluate.perturbations import SWEEPS

    unknown = [name for name in args.sweep or () if name not in SWEEPS]
    if unknown:
        raise ValueError(f"--sweep {', '.join(unknown)}: no such sweep (choose from {', '.join(SWEEPS)})")
    models = _load_models(args.model)
    dataset = restrict(_load_data(args), models, args.split)
    result = analyse_models(models, dataset, sweep_max=args.sweep_images, seed=args.seed, sweep_names=args.sweep)
    slim = {"models": {n: {"subsets": r["subsets"], "accuracy": r["accuracy"], "recall_closed": r["recall_closed"],
                           "n": r["n"]} for n, r in result["models"].items()},
            "sweeps": result["sweeps"], "data": result["data"]}
    Path(args.json).write_text(json.dumps(slim, indent=1))
    for name, r in slim["models"].items():
        print(f"\n{name}: subsets (accuracy / closed recall / rejected by band)")
        for row in r["subsets"]:
            rej = "-" if row.get("rejection_rate") is None else f"{100 * row['rejection_rate']:.1f}%"
            rc = "-" if row["recall_closed"] is None else f"{100 * row['recall_closed']:.1f}%"
            print(f"  {row['factor']:>12}={row['value']:<10} n={row['n']:<6} acc {100 * row['accuracy']:.1f}%  "
                  f"closed recall {rc}  rejected {rej}")
    print(f"\nsweeps on {result['sweeps']['n']} images ({result['sweeps']['note']})")
    for sweep, block in result["sweeps"]["sweeps"].items():
        for name, res in block["models"].items():
            accs = " ".join(f"{lvl}:{100 * a:.1f}" for lvl, a in zip(block["levels"], res["accuracy"]))
            print(f"  {sweep:<13} {name:<14} accuracy % per level  {accs}")
    if args.csv:
        from .evaluate.triage import write_csv

        out = Path(args.csv)
        out.mkdir(parents=True, exist_ok=True)
        write_csv([{"model": n, **row} for n, r in slim["models"].items() for row in r["subsets"]], out / "subsets.csv")
        write_csv([{"sweep": s, "level": lvl, "model": n, "accuracy": res["accuracy"][i],
                    "recall_closed": res["recall_closed"][i]}
                   for s, b in slim["sweeps"]["sweeps"].items() for n, res in b["models"].items()
                   for i, lvl in enumerate(b["levels"])], out / "sweeps.csv")
    print(f"wrote {args.json}" + (f" and CSV files in {args.csv}" if args.csv else ""))
    return 0


def cmd_report(args) -> int:
    from .data.dataset import load_images
    from .evaluate.analysis import analyse_models, restrict
    from .evaluate.html import render_report

    models = _load_models(args.model)
    dataset = restrict(_load_data(args), models, args.split)
    result = analyse_models(models, dataset, bootstrap=args.bootstrap, sweep_max=args.sweep_images, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    y = dataset.labels
    pick = np.concatenate([rng.choice(np.flatnonzero(y == c), min(3, int((y == c).sum())), replace=False)
                           for c in (0, 1) if (y == c).any()])
    images, _ = load_images(dataset.subset(pick), 96, 3, progress=False)
    labels = [CLASS_NAMES[y[i]] for i in pick]
    command = args.command_line
    Path(args.out).write_text(render_report(result, models, (list(images), labels), command=command))
    print(f"wrote {args.out}")
    return 0


DELETION_NOTE = ("deletion AUC: the mean p(decided class) while the map's most important pixels are blanked, 10% at a "
                 "time; lower than with a random order means the map points at pixels the model really uses")


def cmd_explain(args) -> int:
    import cv2

    from .explain import deletion_curve
    from .explain.figure import explanation_figure
    from .workbench import predict_picture

    if Path(args.out).suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"--out {args.out}: give a .png or .jpg file name")
    models = _named_models(args.model)
    image = _picture(args.image)
    res = _noted(args.image, predict_picture(models, image, whole_image=args.whole_image, maps=True))
    if res is None:
        return 1
    print(DELETION_NOTE)
    rows = []
    several = len({e["face"] for e in res["eyes"]}) > 1
    for eye in res["eyes"]:
        panels = []
        label = f"face {eye['face'] + 1} {eye['side']}" if several and eye["side"] != "crop" else eye["side"]
        title = "whole image" if eye["side"] == "crop" else f"{label} eye"
        for r in eye["results"]:
            d = deletion_curve(models[r["model"]], eye["crop"], r["heat"])
            verdict = "better than" if d["auc_saliency"] < d["auc_random"] else "NOT better than"
            print(f"{label} {r['model']}: {r['decision']} p(closed)={r['p_closed']:.4f}; deletion AUC "
                  f"{d['auc_saliency']:.3f} vs random order {d['auc_random']:.3f} ({verdict} random)")
            panels.append(([r["model"], f"{r['decision'].upper()} p(closed)={r['p_closed']:.3f}"], r["map"]))
        rows.append({"title": title, "image": eye["crop"], "panels": panels})
    figure = explanation_figure(rows)
    if not cv2.imwrite(args.out, cv2.cvtColor(figure, cv2.COLOR_RGB2BGR)):
        raise ValueError(f"could not write {args.out} (give a .png or .jpg file name)")
    print(f"wrote {args.out}: a row per eye (the input, then each model's map titled with its decision), "
          "and the colour scale")
    return 0


def cmd_cv(args) -> int:
    from .train.crossval import cross_validate, repeat_cross_validation

    config = dataclasses.replace(TrainConfig.from_args(args), resume=args.resume_folds)
    kw = dict(k=args.folds, holdout_of=args.holdout_of, train_share=args.train_people, subject_from=args.subject_from)
    if args.repeats == 1:
        res = cross_validate(args.model, args.data, args.out, config, **kw)
        runs = [res]
    else:
        seeds = list(range(config.seed, config.seed + args.repeats))
        res = repeat_cross_validation(args.model, args.data, args.out, seeds, config, **kw)
        runs = res["runs"]
    if runs[0]["left_out_subjects"]:
        print(f"left out the {len(runs[0]['left_out_subjects'])} test subjects of {runs[0]['holdout_of']}")
    for run in runs:
        _print_cv_run(run, f"seed {run['seed']}")
    if len(runs) > 1:
        print(f"mean over {len(runs)} seeds: {100 * res['accuracy_mean']:.2f}% (per seed: "
              + ", ".join(f"{100 * a:.2f}%" for a in res["accuracy_per_seed"])
              + f"; spread between seeds {100 * res['accuracy_seed_std']:.2f} points sd): a recipe should beat "
              "another by more than that spread")
        print(f"people-balanced accuracy, mean over {len(runs)} seeds: {pct(res['people_balanced_accuracy_mean'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


def _print_cv_run(run: dict, label: str) -> None:
    """The lines of one cross-validation run (a `cv` seed, or a committee of runs): each fold, then all folds."""
    from .evaluate.report import MIN_GROUP_N
    from .train.crossval import view_lines

    for f in run["folds"]:
        print(f"{label} fold {f['fold']}: accuracy {100 * f['accuracy']:.2f}%  "
              f"closed recall {100 * f['recall_closed']:.2f}%  n={f['n']}"
              + ("  weights " + ", ".join(f"{m} {w:.2f}" for m, w in f["weights"].items()) if "weights" in f else ""))
        print("\n".join("    " + line for line in view_lines(f)))
    ws = run["worst_subject"]
    print(f"{label}: accuracy {100 * run['accuracy_mean']:.2f}% +- {100 * run['accuracy_std']:.2f} "
          f"over {run['k']} folds; worst fold {run['worst_fold']['fold']} "
          f"({100 * run['worst_fold']['accuracy']:.2f}%); worst subject "
          + (f"(of those with n>={ws['min_n']}) {ws['subject']} ({100 * ws['accuracy']:.2f}%, n={ws['n']})" if ws
             else f"none: no subject has {MIN_GROUP_N} images"))
    print("\n".join(f"{label}, all folds: " + line for line in view_lines(run)))


def cmd_triage(args) -> int:
    from .data.dataset import load_images
    from .evaluate.analysis import restrict
    from .evaluate.triage import RULE, band_text, triage_rows, write_csv

    models = _named_models(args.model)
    dataset = restrict(_load_data(args), list(models.values()), args.split)
    rows = []
    print(f"rule: {RULE}")
    for name, clf in models.items():
        arrays, used = load_images(dataset, clf.data_config.input_size, clf.data_config.channels)
        listed = triage_rows(used, clf.proba_prepared(arrays), clf.uncertain_band, model=name)
        n_wrong = sum(r["reason"] == "misclassified" for r in listed)
        print(f"{name}: {len(listed)} of {len(used)} images listed ({n_wrong} misclassified, {len(listed) - n_wrong} "
              f"uncertain); band on p(closed) {band_text(clf.uncertain_band)}")
        rows += listed
    rows.sort(key=lambda r: r["p_true_class"])
    write_csv(rows, args.csv)
    print(f"wrote {args.csv}: {len(rows)} rows, one per listed image and model, worst first (lowest p(true class)); "
          "columns model, path, subject, label, decision, reason, p_closed, band, p_true_class")
    for r in rows[:10]:
        print(f"  {r['p_true_class']:.4f}  {r['model']:<12} {r['label']:<6} -> {r['decision']:<9} ({r['reason']}) "
              f"{r['path']}")
    return 0


def cmd_export(args) -> int:
    from .export import export_onnx

    if Path(args.onnx).suffix.lower() != ".onnx":
        raise ValueError(f"--onnx {args.onnx}: give a file name ending in .onnx")
    clf = _load_models([args.model])[0]
    meta = export_onnx(clf, args.onnx)
    print(f"wrote {args.onnx}: input 'input' (batch, {clf.data_config.channels}, {clf.data_config.input_size}, "
          f"{clf.data_config.input_size}) float32, output 'p_closed'\npreprocessing: {meta['preprocessing']}")
    return 0


class OutputPath(str):
    """A file or folder the command will write, named on the command line: its folder is made before any work."""

    kind: "Output"


class InputPath(str):
    """A file or folder the command reads, named on the command line: no output of the command may write over it."""

    read: Path


def input_path(text: str) -> InputPath:
    """argparse type of every picture, video, data, checkpoint and result file a command reads."""
    value = InputPath(text)
    value.read = Path(text)
    return value


def recipe_run(text: str) -> InputPath:
    """argparse type of `cv-report ensemble --run [RECIPE=]FOLDER`: the folder is what is read."""
    value = InputPath(text)
    value.read = Path(text.split("=", 1)[-1])
    return value


OVERWRITE_RULE = ("Outputs: no command writes over one of its own inputs (a picture, video, --data, --model or other "
                  "file it reads, or a file already inside a folder it reads), with or without --overwrite. An output file, or "
                  "a file a command writes inside an output folder, that exists already is refused before any work "
                  "(exit code 2) unless --overwrite is given, which replaces it and prints a line saying so. Folders "
                  "a command recognises as its own: `train --out` continues a stopped run (resume.pt) with --resume "
                  "and replaces a finished checkpoint only with --overwrite, as `committee` and `cv-report committee` "
                  "do; `cv --out` holding a cross-validation is continued with --resume and never replaced; "
                  "`heldout --out` replaces an earlier held-out bundle (its bundle.json), saying so.")
OVERWRITE_HELP = ("replace output files that exist already, printing a line saying so (without it they are refused "
                  "before any work); the command's own inputs are never written over")


@dataclasses.dataclass(frozen=True)
class Output:
    """argparse type of an output option: a file, or a folder and the files the command writes in it (`writes`, glob
    patterns). `whole`: the folder is all the command's own (a checkpoint, a cv run), so no input may lie in it;
    `resumes`: with --resume, a folder holding this file is continued, not replaced; `own`: recognises an earlier
    output of the command there, replaced without --overwrite; `note`: what --overwrite's help adds for it."""

    folder: bool = False
    writes: tuple[str, ...] = ()
    whole: bool = False
    resumes: str = ""
    own: object = None
    note: str = ""

    def __call__(self, path: str) -> OutputPath:
        _writable(path, self.folder)
        value = OutputPath(path)
        value.kind = self
        return value

    def existing(self, path) -> list[Path]:
        """The files this output would replace: the file itself, or the folder's files it writes."""
        root = Path(path)
        if not self.folder:
            return [root] if root.exists() else []
        return sorted(p for pattern in self.writes for p in root.glob(pattern) if p.is_file())

    def targets(self, path) -> list[Path]:
        """The resolved paths this output writes (for a `whole` folder: the folder)."""
        root = Path(path).resolve()
        return [root / name for name in self.writes] if self.folder and not self.whole else [root]


def _writable(path: str, folder: bool) -> None:
    """Refuse at once (not after the work) an output whose folder cannot be made or written, or a folder given for a
    file; main() makes the missing folders before the command runs."""
    target = Path(path)
    if not folder and target.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder: give a file name")
    if folder and target.exists() and not target.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file: give a folder")
    existing = target.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {path}: {existing} is not a writable folder")


def _heldout_bundle(folder: Path) -> bool:
    """Whether `folder` holds a bundle `heldout` wrote (its bundle.json names the split, models and sweeps)."""
    try:
        summary = json.loads((folder / "bundle.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(summary, dict) and {"split", "models", "sweeps"} <= set(summary)


output_file = Output()
CHECKPOINT = Output(folder=True, writes=("config.json",), whole=True,
                    note="; a finished checkpoint (config.json) in --out is replaced only with it")
TRAIN_OUT = dataclasses.replace(CHECKPOINT, writes=("config.json", "resume.pt"), resumes="resume.pt",
                                note="; a finished checkpoint (config.json) in --out is replaced only with it, a "
                                     "stopped run (resume.pt) continues with --resume instead")
CV_OUT = Output(folder=True, whole=True, note="; it does not apply to --out: a cross-validation there is continued "
                                               "with --resume and never replaced (give a new --out to start again)")
CV_COMMITTEES = Output(folder=True, writes=("fold_*/config.json",), whole=True,
                       note="; fold committees (fold_K/config.json) in --out are replaced only with it")
HELDOUT_OUT = Output(folder=True, writes=("predictions.csv", "bundle.json", "README.md"), own=_heldout_bundle,
                     note="; not needed to replace an earlier held-out bundle in --out (its bundle.json), which is "
                          "replaced with a line saying so")
VIDEO_OUT = Output(folder=True, writes=("frames.csv", "summary.json", "timeline.html"))
CSV_FOLDER = Output(folder=True, writes=("subsets.csv", "sweeps.csv"))


def _add_output(sp, flag: str, kind: Output, **kwargs) -> None:
    """An output option of a command, and (once per command) its --overwrite."""
    sp.add_argument(flag, type=kind, **kwargs)
    if sp.get_default("overwrite") is None:  # the first output option of this command
        sp.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP + kind.note)


def _inputs(args) -> list[Path]:
    """The resolved paths of everything the command reads (its InputPath arguments, --init-weights)."""
    found = []
    for dest, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, InputPath):
                found.append(item.read)
            elif dest == "init_weights" and item:  # a TrainConfig option (typed in train/config.py)
                found.append(Path(item))
    return [p.resolve() for p in found]


def _clash(out: OutputPath, inputs: list[Path]) -> Path | None:
    """The input `out` would write over: one of its files, an existing file inside an input folder, or (a `whole`
    folder) an input that is the folder or lies in it."""
    for target in out.kind.targets(out):
        for read in inputs:
            inside = target in read.parents if out.kind.whole else target.exists() and read in target.parents
            if read == target or inside:
                return read
    return None


def _check_outputs(args) -> list[str]:
    """Refuse, before any work, an output that would write over an input of the command, or over an existing file
    without --overwrite; returns the lines saying what the command replaces, to print once it has."""
    inputs, lines = _inputs(args), []
    for dest, out in vars(args).items():
        if not isinstance(out, OutputPath):
            continue
        read = _clash(out, inputs)
        if read is not None:
            raise ValueError(f"--{dest} {out} would write over {read}, an input of this command: give another path")
        kind, existing = out.kind, out.kind.existing(out)
        if not existing or (kind.resumes and getattr(args, "resume", False) and (Path(out) / kind.resumes).is_file()):
            continue
        own = kind.own is not None and kind.own(Path(out))
        if not own and not args.overwrite:
            raise ValueError(f"{existing[0]} exists: pass --overwrite to replace it")
        why = "an earlier output of this command" if own else "--overwrite"
        lines.append(f"replaced {', '.join(map(str, existing))} ({why})")
    return lines


def _make_output_folders(args) -> None:
    """Make the folder of every output path of the command (before the work, so that it cannot fail after it)."""
    for value in vars(args).values():
        if isinstance(value, OutputPath):
            Path(value).parent.mkdir(parents=True, exist_ok=True)


def _subject_rule(spec: str) -> str:
    """argparse type of --subject-from: the rule checked when the command line is read."""
    from .data.filenames import subject_rule

    try:
        subject_rule(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return spec


def bounded(kind: type, low: float, high: float | None = None, above: bool = False):
    """argparse type: a number of `kind` (int or float) from `low` (or, with `above`, above it) up to `high`."""
    noun = "a whole number" if kind is int else "a number"
    rule = f"{noun} {'above' if above else 'of at least'} {low:g}" + ("" if high is None else f" and at most {high:g}")

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value != value or (value <= low if above else value < low) \
                or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {rule}, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


SHARE = bounded(float, 0, 1, above=True)  # a risk, a share or a grid step: above 0, at most 1


def zoom_scale(text: str) -> float:
    """argparse type of --zoom-average: a number DataConfig accepts as zoom_average (MIN_ZOOM, off, to MAX_ZOOM)."""
    try:
        return DataConfig(zoom_average=float(text)).zoom_average
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from {MIN_ZOOM:g} (off) to {MAX_ZOOM:g}, got {text!r}") \
            from None


def _add_zoom_average(sp, what: str, default: float | None) -> None:
    """--zoom-average [SCALE]: average over the crop and its centre framed SCALE x tighter (data_config.zoom_average)."""
    sp.add_argument("--zoom-average", type=zoom_scale, nargs="?", const=ZOOM_AVERAGE, default=default, metavar="SCALE",
                    help=f"{what} over the crop and its centre framed SCALE x tighter (the eye larger; meant for crops cut "
                         f"wider than the training crops; stored as data_config.zoom_average; SCALE defaults to "
                         f"{ZOOM_AVERAGE:g}, 1 is off)" + ("; without the option the checkpoint's setting stays"
                                                          if default is None else ""))


def _add_data(sp, help: str = "data folder or CSV manifest (repeatable)", metavar: str | None = None) -> None:
    """--data (repeatable) and --subject-from, the data options of every command that reads data."""
    sp.add_argument("--data", action="append", type=input_path, required=True, metavar=metavar, help=help)
    sp.add_argument("--subject-from", type=_subject_rule, default="auto", metavar="RULE",
                    help="who is who, for person-disjoint splits and per-person results: auto (default: MRL names, a "
                         "manifest's subject column, else file names with left/right eyes grouped), folder (the "
                         "nearest folder above each image that is not open/ or closed/), file (every image a person "
                         "of its own) or regex:PATTERN (the first group of PATTERN in the file name). A manifest's "
                         "subject column is the sure way")


def _add_model_data_args(sp, split: bool = True, seed: bool = True) -> None:
    """--model and --data (repeatable), --split and --seed: the options of the analyses that read checkpoints."""
    sp.add_argument("--model", action="append", type=input_path, required=True,
                    help="checkpoint folder (repeatable)")
    _add_data(sp)
    if split:
        sp.add_argument("--split", choices=["train", "val", "test"], default=None,
                        help="only subjects that every model's saved split put in this part (e.g. test)")
    if seed:
        sp.add_argument("--seed", type=int, default=0, help="seed of image sampling (default 0)")


def add_train_parser(sub, classifiers: list[str]) -> None:
    t = sub.add_parser("train", help="train a classifier on person-disjoint splits and save a checkpoint",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("model", choices=classifiers, help="registry name of the classifier")
    _add_data(t)
    _add_output(t, "--out", TRAIN_OUT, required=True, help="checkpoint folder to write, e.g. checkpoints/small_cnn")
    t.add_argument("--split-from", type=input_path, metavar="DIR", default=None,
                   help="reuse the train/val/test people of this checkpoint's split.json instead of drawing a new split "
                        "(to retrain on more images of the same people without testing on anyone it learned from; "
                        "people it does not know go to train)")
    add_options(t, RECIPE, TRAIN)  # every TrainConfig field: recipe options, then the train-only ones
    t.set_defaults(func=cmd_train)


def add_calibrate_parser(sub) -> None:
    c = sub.add_parser("calibrate", help="refit temperature and uncertain band of checkpoints on their validation "
                                         "subjects (rewrites config.json and the model card; weights unchanged)",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("--model", action="append", type=input_path, required=True, help="checkpoint folder (repeatable)")
    _add_data(c, help="the data folders the checkpoint was trained on")
    c.add_argument("--target-risk", type=SHARE, default=None,
                   help="selective risk on validation (default: the one the checkpoint's band was fitted with, "
                        "else 0.01)")
    c.add_argument("--band-rule", choices=("per-person", "pooled"), default=None,
                   help="per-person: the risk holds for every validation person; pooled: on average (default: the "
                        "checkpoint's rule, else per-person)")
    c.add_argument("--flip-average", action=argparse.BooleanOptionalAction, default=None,
                   help="switch flip averaging on (--flip-average: each prediction is the mean closed logit of the crop "
                        "and its horizontal mirror) or off (--no-flip-average) before refitting, stored in config.json "
                        "(data_config.flip_average); default: keep the checkpoint's setting")
    _add_zoom_average(c, "before refitting, average each prediction", None)
    c.set_defaults(func=cmd_calibrate)


def add_evaluate_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="metrics of one or more checkpoints on a dataset",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--model", action="append", type=input_path, required=True, help="checkpoint folder (repeatable)")
    _add_data(e)
    e.add_argument("--split", choices=["train", "val", "test"], default=None,
                   help="only the subjects the checkpoint's saved split put in this part (e.g. test)")
    _add_output(e, "--json", output_file, help="write the results as JSON to this file")
    e.add_argument("--bootstrap", type=bounded(int, 0), default=0, metavar="N",
                   help="add a subject-level bootstrap 95%% CI of accuracy with N resamples")
    e.add_argument("--compare-labels", action="store_true",
                   help="with a corrected manifest (original_label column: the Review tab's export or audit "
                        "--accept-top): how many labels changed and each model's metrics on the original and the "
                        "corrected labels of the same images")
    e.set_defaults(func=cmd_evaluate)


PICTURE_HELP = ("Eyes are found as in the app: faces by MediaPipe's face detector and landmarks, each eye cut level on "
                "its corners (one answer per eye, with its face, side and box; a line per face gives its head pose and "
                "the eye aspect ratio, the landmark baseline); a picture the size of an eye crop, or a close-up of one "
                "eye without a face, is classified whole; the first line about a picture says which of these "
                "happened (none for a plain eye crop). Where MediaPipe cannot run, OpenCV Haar cascades are used, "
                "with a notice.")


def _add_whole_image(sp) -> None:
    sp.add_argument("--whole-image", action="store_true",
                    help="classify each picture whole, as one eye crop (no eye detection)")


def add_predict_parser(sub) -> None:
    pr = sub.add_parser("predict", help="label and probabilities for eye crops, or for each eye of a face photo",
                        description=PICTURE_HELP)
    pr.add_argument("--model", action="append", type=input_path, required=True, help="checkpoint folder (repeatable)")
    pr.add_argument("images", nargs="+", type=input_path,
                    help="image files: eye crops, close-ups of one eye, or face / scene photos")
    _add_whole_image(pr)
    pr.set_defaults(func=cmd_predict)


def add_bench_parser(sub) -> None:
    b = sub.add_parser("bench", help="inference speed on this machine (after a warm-up)")
    b.add_argument("--model", action="append", type=input_path, required=True, help="checkpoint folder (repeatable)")
    b.add_argument("--batch-size", type=bounded(int, 1), default=256,
                   help="batch size of the batch measurement (default 256)")
    b.add_argument("--seconds", type=bounded(float, 0, above=True), default=3.0,
                   help="time spent per measurement (default 3; --record needs 10 or more)")
    _add_output(b, "--json", output_file, help="write the measurements as JSON to this file")
    b.add_argument("--picture", type=input_path, metavar="IMAGE",
                   help="instead: time the app's predict path (all models with maps) on this picture, and a threshold move")
    b.add_argument("--video", nargs="?", const="", type=input_path, metavar="FILE",
                   help="instead: frames per second of the whole video pipeline (decode, track, classify) per model, "
                        "on FILE or, without FILE, on a 10 s 640x480 video made in code")
    b.add_argument("--faces", type=input_path, metavar="FOLDER",
                   help="instead: eyes found and eye state on labelled face photos (FOLDER/labels.csv: "
                        "file,faces,open_eyes,closed_eyes; scoring rule in eyebench/eye_finding.py)")
    b.add_argument("--crop-scale", type=bounded(float, 0.5), default=EYE_CROP_SCALE, metavar="S",
                   help="with --faces: cut each eye S x its corner distance wide (default %(default)s, the framing "
                        "the shipped checkpoints did best at; docs/history.md)")
    b.add_argument("--face-videos", type=input_path, metavar="FOLDER",
                   help="instead (or too): blinks and long closures counted in labelled face videos "
                        "(FOLDER/labels.csv: file,blinks,long_closures)")
    b.add_argument("--record", action="store_true",
                   help="store the result in each checkpoint's config.json and card; refused for runs shorter than "
                        "--seconds 10 and while the machine is busy (load average above its cores)")
    b.set_defaults(func=cmd_bench)


def add_summary_parser(sub) -> None:
    s = sub.add_parser("summary", help="markdown tables of the held-out test results stored in checkpoints, after "
                                        "checking that each one's weights load and match its config.json")
    s.add_argument("checkpoints", nargs="+", type=input_path, help="checkpoint folders")
    s.set_defaults(func=cmd_summary)


def add_robustness_parser(sub) -> None:
    r = sub.add_parser("robustness", help="metrics per metadata subset and per perturbation level, per model",
                       epilog="Subsets: every metadata factor (MRL: glasses, reflections, lighting, sensor, gender; "
                              "manifest: every extra column). Sweeps: rotation, simulated yaw, glasses/glare, blur, "
                              "gamma, noise, JPEG, down-scaling, framing (the eye smaller or larger in the same "
                              "crop). Angles are simulated, unless the data has measured ones: face photos (head_yaw, head_pitch) or an angle column.")
    _add_model_data_args(r)
    _add_output(r, "--json", output_file, required=True, help="write subsets and sweeps here")
    _add_output(r, "--csv", CSV_FOLDER, metavar="DIR", help="also write subsets.csv and sweeps.csv into DIR")
    r.add_argument("--sweep-images", type=bounded(int, 2), default=SWEEP_IMAGES,
                   help=f"images per sweep level (class-stratified, default {SWEEP_IMAGES}: a level's accuracy within "
                        "about 3 points; more for finer differences, at proportionally more time)")
    r.add_argument("--sweep", action="append", metavar="NAME",
                   help="run only this perturbation sweep (repeatable; default every one: rotation_deg, yaw_deg, "
                        "glasses, blur_sigma, gamma, noise_sigma, jpeg_quality, downscale_px, framing)")
    r.set_defaults(func=cmd_robustness)


def add_report_parser(sub) -> None:
    rp = sub.add_parser("report", help="one self-contained HTML report (metrics, plots, subsets, sweeps, maps)")
    _add_model_data_args(rp)
    _add_output(rp, "--out", output_file, required=True, help="HTML file to write")
    rp.add_argument("--bootstrap", type=bounded(int, 0), default=1000,
                    help="subject-level bootstrap resamples (default 1000)")
    rp.add_argument("--sweep-images", type=bounded(int, 2), default=SWEEP_IMAGES,
                    help=f"images per sweep level (default {SWEEP_IMAGES})")
    rp.set_defaults(func=cmd_report)


def add_explain_parser(sub) -> None:
    x = sub.add_parser("explain", help="explanation map (Grad-CAM / occlusion) of every model for one image",
                       description=PICTURE_HELP)
    x.add_argument("--model", action="append", type=input_path, required=True, help="checkpoint folder (repeatable)")
    x.add_argument("image", type=input_path,
                   help="image file: an eye crop, a close-up of one eye, or a face / scene photo")
    _add_whole_image(x)
    _add_output(x, "--out", output_file, required=True,
                help="PNG or JPEG to write: a row per eye (the input, then each model's map titled with its "
                        "decision) and the colour scale")
    x.set_defaults(func=cmd_explain)


def add_cv_parser(sub, classifiers: list[str]) -> None:
    cv = sub.add_parser("cv", help="K-fold cross-validation by person: mean +- std, worst fold, worst subject")
    cv.add_argument("model", choices=classifiers, help="registry name of the classifier")
    _add_data(cv)
    _add_output(cv, "--out", CV_OUT, required=True, help="folder for the fold checkpoints")
    cv.add_argument("--folds", type=bounded(int, 2), default=5,
                    help="number of folds; each tests on its own people (default 5)")
    add_options(cv, RECIPE)  # the recipe part of TrainConfig: the same flags, defaults and help as `train`
    cv.add_argument("--holdout-of", type=input_path, metavar="DIR",
                    help="leave out the test people of this checkpoint (e.g. a shipped one): folds are made of its "
                         "train and val people only, so recipes can be compared without looking at its test set")
    cv.add_argument("--train-people", type=SHARE, default=1.0, metavar="SHARE",
                    help="train each fold on only this share of its training people (per source, drawn with the seed; "
                         "smaller shares nested in larger ones), test people unchanged: a learning curve that says "
                         "whether recording more people would help (default 1 = all)")
    cv.add_argument("--repeats", type=bounded(int, 1), default=1, metavar="N",
                    help="run the whole cross-validation N times with seeds SEED..SEED+N-1 (other validation people, "
                         "CEW folds, initialisation and sampling; with few people the grouped test folds may repeat) "
                         "into OUT/seed_S and report the mean over seeds and its spread (default 1)")
    cv.add_argument("--resume", action="store_true", dest="resume_folds",
                    help="continue a cross-validation that was stopped, with the same command: folds finished in OUT "
                         "are reused (after checking their model, people and recipe), a fold stopped mid-way continues "
                         "from its last epoch (OUT/fold_K/resume.pt), the others are trained")
    _add_output(cv, "--json", output_file, help="write the fold results here")
    cv.set_defaults(func=cmd_cv)


TRIAGE_RULE = ("Each model decides by its own uncertain band on p(closed) (uncertain inside the band; a 0.5 cut "
               "without one); an image is listed once per model whose decision is uncertain or the wrong class, with "
               "that model's name, decision and reason.")


def add_triage_parser(sub) -> None:
    tg = sub.add_parser("triage", help="CSV of uncertain and misclassified images, worst first (data cleaning)",
                        description=TRIAGE_RULE)
    _add_model_data_args(tg, seed=False)
    _add_output(tg, "--csv", output_file, required=True, help="CSV file to write")
    tg.set_defaults(func=cmd_triage)


def add_audit_parser(sub) -> None:
    from .config import AUDIT_RULE as RULE

    au = sub.add_parser("audit", help="CSV of every image ranked by how much the models doubt its label (a manifest)",
                        description=f"One row per image: path,label,subject,suggested,doubt,n_models,n_disagree,"
                                    f"n_uncertain and each model's p(closed). Ranking: {RULE}. The CSV is a manifest "
                                    "(--data reads it); paths are relative to its folder. Review it in the app's "
                                    "Review tab, or take the top suggestions unreviewed with --accept-top.")
    _add_model_data_args(au, seed=False)
    _add_output(au, "--csv", output_file, required=True, help="CSV file to write")
    au.add_argument("--accept-top", type=bounded(int, 1), metavar="N",
                    help="take the suggestion of the N most doubted images as their label (original_label and "
                         "decision columns added; the output says it is unreviewed)")
    au.set_defaults(func=cmd_audit)


def add_export_parser(sub) -> None:
    ex = sub.add_parser("export", help="export a torch checkpoint to ONNX (dynamic batch; preprocessing in metadata)")
    ex.add_argument("--model", type=input_path, required=True, help="checkpoint folder")
    _add_output(ex, "--onnx", output_file, required=True, help="ONNX file to write")
    ex.set_defaults(func=cmd_export)


def build_parser() -> argparse.ArgumentParser:
    from .models.registry import NOT_TRAINED, list_classifiers

    p = argparse.ArgumentParser(prog="eyebench", description="Open/closed eye-state workbench.",
                                epilog=EPILOG + "\n\n" + textwrap.fill(OVERWRITE_RULE, 115, break_on_hyphens=False),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    classifiers = [c for c in list_classifiers() if c not in NOT_TRAINED]
    add_train_parser(sub, classifiers)
    add_calibrate_parser(sub)
    add_evaluate_parser(sub)
    add_predict_parser(sub)
    add_bench_parser(sub)
    add_summary_parser(sub)
    add_robustness_parser(sub)
    add_report_parser(sub)
    add_explain_parser(sub)
    add_cv_parser(sub, classifiers)
    add_triage_parser(sub)
    add_audit_parser(sub)
    add_export_parser(sub)
    add_cv_report_parser(sub)
    add_heldout_parser(sub)
    add_video_parser(sub)
    add_committee_parser(sub)
    return p


def cmd_committee(args) -> int:
    from .train.committee import fit_committee

    fit_committee(args.member, args.data, args.out, args.target_risk, args.band_rule, args.grid_step, args.flip_average,
                  args.command_line, subject_from=args.subject_from, zoom_average=args.zoom_average)
    return 0


def add_committee_parser(sub) -> None:
    c = sub.add_parser("committee", help="make a committee checkpoint: the weighted mean of trained checkpoints' "
                                         "calibrated logits, weights, temperature and band fitted on validation people",
                       description="Loads the --member checkpoints (they must share one saved split), fits their "
                                   "weights on that split's validation people (the lowest people-balanced log loss on "
                                   "a grid over the simplex), then the committee's own temperature and uncertain band "
                                   "on the same people, and writes --out like any checkpoint (members named by paths "
                                   "relative to it). Use it in evaluate, bench, heldout and the app like any model.")
    c.add_argument("--member", action="append", required=True, metavar="DIR",
                   help="a member checkpoint folder (repeat for each, at least two)")
    _add_data(c, help="the data folders the members were trained on (repeatable)")
    _add_output(c, "--out", CHECKPOINT, required=True,
                help="the committee's checkpoint folder, e.g. checkpoints/committee")
    c.add_argument("--grid-step", type=SHARE, default=0.1, help="step of the weight grid (default 0.1)")
    c.add_argument("--flip-average", action="store_true",
                   help="average the committee's prediction over the crop and its horizontal mirror")
    _add_zoom_average(c, "average the committee's prediction", 1.0)
    c.add_argument("--target-risk", type=SHARE, default=0.01, help="selective risk on validation (default 0.01)")
    c.add_argument("--band-rule", choices=("per-person", "pooled"), default="per-person",
                   help="per-person (default): the risk holds for every validation person; pooled: on average")
    c.set_defaults(func=cmd_committee)


def cmd_cv_report_pooled(args) -> int:
    from .evaluate.cvreport import format_pooled, pooled_rows

    rows = pooled_rows(args.files)
    print("\n".join(format_pooled(rows)))
    _write_json(args.json, rows)
    return 0


def cmd_cv_report_ensemble(args) -> int:
    from .evaluate.cvreport import ensemble_rows, fold_logits, format_ensemble

    runs = [tuple(r.split("=", 1)) if "=" in r else (r, r) for r in args.run]
    rows = ensemble_rows(runs, fold_logits([folder for _, folder in runs], args.data, args.subject_from))
    print("\n".join(format_ensemble(rows)))
    _write_json(args.json, rows)
    return 0


def cmd_cv_report_audit(args) -> int:
    from .evaluate.cvreport import audit_rows, contact_sheet, fold_logits, format_audit
    from .evaluate.triage import write_csv

    rows, summary = audit_rows(fold_logits(args.run, args.data, args.subject_from))
    print("\n".join(summary + format_audit(rows)))
    if args.csv:
        write_csv(rows, args.csv)
        print(f"wrote {args.csv} ({len(rows)} rows)")
    if args.sheet:
        every = [r for r in rows if r["runs_wrong"] == r["runs"]][: args.sheet_size]
        contact_sheet(every, args.sheet)
        print(f"wrote {args.sheet} ({len(every)} images)")
    return 0


def cmd_cv_report_committee(args) -> int:
    from .train.crossval import cross_validate_committee

    res = cross_validate_committee(args.run, args.data, args.out, args.grid_step, args.flip_average,
                                   subject_from=args.subject_from, target_risk=args.target_risk,
                                   zoom_average=args.zoom_average)
    _print_cv_run(res, "committee")
    _write_json(args.json, res)
    return 0


def _write_json(path, rows) -> None:
    if path:
        Path(path).write_text(json.dumps(rows, indent=1))
        print(f"wrote {path}")


CV_RUN_HELP = ("a `cv --out` folder (fold_1 ... fold_K; repeatable); every run must hold out the same people in each "
               "fold, as `cv --holdout-of` runs with other seeds or recipes do")


def _runs_report(reports, name: str, helptext: str, run_metavar: str, run_help: str):
    """A cv-report subcommand that scores cv fold checkpoints on their held-out people (--data, --run)."""
    r = reports.add_parser(name, help=helptext, description=helptext)
    _add_data(r, help="the data the folds were made from, to score (e.g. path/to/mrl; repeatable)", metavar="DIR")
    r.add_argument("--run", action="append", type=recipe_run if "=" in run_metavar else input_path, required=True,
                   metavar=run_metavar, help=run_help)
    return r


def add_cv_report_parser(sub) -> None:
    """`cv-report pooled|ensemble|audit`: analyses of finished cross-validation runs."""
    cr = sub.add_parser("cv-report", help="analyse finished cv runs: pooled out-of-fold accuracy, averaged runs, "
                                          "label audit")
    reports = cr.add_subparsers(dest="report", required=True)
    po = reports.add_parser("pooled", help="out-of-fold accuracy pooled over every tested image, from cv JSON files")
    po.add_argument("files", nargs="+", type=input_path, metavar="CV_JSON",
                    help="files written by `cv --json` (one line per seed of a --repeats file)")
    _add_output(po, "--json", output_file, metavar="FILE", help="also write the rows as JSON to this file")
    po.set_defaults(func=cmd_cv_report_pooled)
    ens = _runs_report(reports, "ensemble", "out-of-fold accuracy of each run and of each recipe's runs with averaged "
                       "logits (does averaging seeds or recipes help?)", "RECIPE=FOLDER",
                       CV_RUN_HELP + "; RECIPE= labels it, and the runs of one label are averaged together")
    _add_output(ens, "--json", output_file, metavar="FILE", help="also write the rows as JSON to this file")
    ens.set_defaults(func=cmd_cv_report_ensemble)
    aud = _runs_report(reports, "audit", "out-of-fold images the runs get wrong, by how many runs, per person (which "
                       "labels look wrong?)", "FOLDER", CV_RUN_HELP)
    _add_output(aud, "--csv", output_file, metavar="FILE",
                help="write every image at least one run gets wrong, most runs wrong first")
    _add_output(aud, "--sheet", output_file, metavar="PNG",
                help="contact sheet of the images every run gets wrong, worst first")
    aud.add_argument("--sheet-size", type=bounded(int, 1), default=120, metavar="N",
                     help="at most this many images on the sheet (default 120)")
    aud.set_defaults(func=cmd_cv_report_audit)
    com = _runs_report(reports, "committee", "cross-validate a committee of finished cv runs: in every fold, fit the "
                       "committee of the runs' fold checkpoints on that fold's validation people (as `committee` "
                       "does; pass every --data the runs were trained on) and test it on the fold's test people; prints "
                       "and writes what `cv` does",
                       "FOLDER", CV_RUN_HELP + "; also the same --seed (the same validation people)")
    _add_output(com, "--out", CV_COMMITTEES, required=True, help="folder for the fold committees (fold_1 ... fold_K)")
    com.add_argument("--grid-step", type=SHARE, default=0.1, help="step of the weight grid (default 0.1)")
    com.add_argument("--flip-average", action="store_true", help="the fold committees average crop and mirror")
    _add_zoom_average(com, "the fold committees average", 1.0)
    com.add_argument("--target-risk", type=SHARE, default=0.01,
                     help="selective risk of each fold committee's band on its validation people (default 0.01)")
    _add_output(com, "--json", output_file, metavar="FILE",
                help="also write the result (cv --json's shape) to this file")
    com.set_defaults(func=cmd_cv_report_committee)


def cmd_heldout(args) -> int:
    from .evaluate.heldout import build_bundle, write_bundle
    from .models.checkpoint import load_classifier

    models = {Path(d).name: load_classifier(d) for d in args.model}
    rows, summary = build_bundle(models, _load_data(args), sweep_max=args.sweep_images, seed=args.seed,
                                 command=args.command_line)
    out = write_bundle(args.out, rows, summary)
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"wrote {out}: {len(rows)} images of {summary['split']['n_subjects']} test people, {len(models)} models, "
          f"{len(summary['sweeps']['sweeps'])} sweeps on {summary['sweeps']['n']} images ({size / 1e6:.2f} MB)")
    return 0


def add_heldout_parser(sub) -> None:
    h = sub.add_parser("heldout", help="precompute the held-out results bundle the app opens on (numbers, no pixels)",
                       description="Per-image p(closed) of every checkpoint on the test people of their shared split, "
                                   "every perturbation sweep per model, and each checkpoint's weight hash: the "
                                   "app's Evaluate, Threshold and Robustness tabs open on it without any data.")
    h.add_argument("--model", action="append", type=input_path, required=True,
                   help="checkpoint folder (repeatable); all must share one saved split; named by folder name")
    _add_data(h, help="the data folders the checkpoints were trained on")
    _add_output(h, "--out", HELDOUT_OUT, required=True,
                help="folder to write predictions.csv, bundle.json and README.md into")
    h.add_argument("--sweep-images", type=bounded(int, 2), default=1000,
                   help="test images per perturbation level (class-stratified; default 1000)")
    h.add_argument("--seed", type=int, default=0, help="seed of the sweep sample (default 0)")
    h.set_defaults(func=cmd_heldout)


def cmd_video(args) -> int:
    from .video.options import TrackerOptions
    from .video.outputs import summary_sentence, write_outputs
    from .video.pipeline import analyse_video
    from .video.temporal import TemporalParams, frame_interval

    models = _named_models(args.model)
    tracker = TrackerOptions(detect_every=args.detect_every, detect_width=args.detect_width, smoothing=args.smoothing,
                             hold_frames=args.hold_frames)
    params = TemporalParams(median_frames=args.median, max_blink_ms=args.max_blink_ms,
                            long_closure_ms=args.long_closure_ms, min_closure_ms=args.min_closure_ms,
                            max_gap_ms=args.max_gap_ms, perclos_window_s=args.perclos_window)
    analysis = analyse_video(args.input, models, tracker, params, band=args.band, max_side=args.max_side, fps=args.fps,
                             progress=True, max_frames=args.max_frames)
    files = write_outputs(analysis, args.out)
    sec = analysis.seconds
    print(f"{len(analysis.rows)} frames in {sec['total']:.1f} s: {analysis.frames_per_second:.1f} frames/s "
          f"(decode {sec['decode']:.1f} s, track {sec['track']:.1f} s, "
          + ", ".join(f"{k.split(':', 1)[1]} {v:.1f} s" for k, v in sec.items() if k.startswith("classify:")) + ")")
    interval = frame_interval([r.time_s for r in analysis.rows])
    stated = f"the file states {analysis.info.fps:g} frames/s" if analysis.info.fps else "the file states no rate"
    print(f"frame times from {f'--fps {args.fps:g}' if args.fps else 'the video timestamps'}: one frame every "
          f"{1000 * interval:.1f} ms ({stated}; --fps sets another)")
    for name, timeline in analysis.timelines.items():
        print(f"{name}: {summary_sentence(timeline.summary())}")
    print("wrote " + ", ".join(str(p) for p in files.values()))
    return 0


VIDEO_HELP = """Eye state over time in a video: the largest face is followed frame by frame with MediaPipe's face
landmarks (the mesh every frame from the last frame's face region; face detection again only when the face is lost),
its eyes are cut level on their corners, every model gives p(closed) per eye, and per model a hysteresis on its
uncertain band gives the state, closures (blink / closure / long closure), blink rate and PERCLOS. The eye aspect
ratio of the landmarks (closed below 0.2, Soukupova and Cech 2016) is analysed beside the models as the baseline.
Writes OUT/frames.csv (per frame and eye: time, box, head pose, eyelid opening, p(closed) and state per model),
OUT/summary.json (per model: blinks, closures, blink rate, PERCLOS, frames without an eye, parameters used) and
OUT/timeline.html (offline plotly, with the head pose over time). Where MediaPipe cannot run, OpenCV Haar cascades
find the eyes every N frames with template tracking between (the --detect-* and tracking options below).
Definitions: eyebench/video/temporal.py, landmark_tracking.py and tracking.py (the fallback)."""


def add_video_parser(sub) -> None:
    from .video.options import TrackerOptions
    from .video.temporal import TemporalParams

    tracker, params = TrackerOptions(), TemporalParams()
    v = sub.add_parser("video", help="blinks, closures and PERCLOS of a video, per model (CSV, JSON, HTML timeline)",
                       description=VIDEO_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("input", type=input_path, metavar="INPUT",
                   help="video file (any container and codec OpenCV's FFmpeg reads)")
    v.add_argument("--model", action="append", type=input_path, required=True, metavar="DIR",
                   help="checkpoint folder (repeatable)")
    _add_output(v, "--out", VIDEO_OUT, required=True, metavar="DIR",
                help="folder for frames.csv, summary.json, timeline.html")
    v.add_argument("--detect-every", type=bounded(int, 1), default=tracker.detect_every, metavar="N",
                   help=f"Haar fallback only: detect every N frames, template tracking between (default {tracker.detect_every})")
    v.add_argument("--detect-width", type=int, default=tracker.detect_width, metavar="PX",
                   help=f"Haar fallback only: detect on a copy at most this wide (>= 320; default {tracker.detect_width})")
    v.add_argument("--smoothing", type=SHARE, default=tracker.smoothing,
                   help=f"Haar fallback only: weight of a new detection in the smoothed boxes, 1 = none (default {tracker.smoothing})")
    v.add_argument("--hold-frames", type=bounded(int, 0), default=tracker.hold_frames, metavar="N",
                   help=f"Haar fallback only: keep an eye the detector misses for N frames (default {tracker.hold_frames})")
    v.add_argument("--band", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="uncertain band on p(closed) for every model (default: each model's own band)")
    v.add_argument("--median", type=int, default=params.median_frames, metavar="FRAMES",
                   help="median smoothing of p(closed) over this many frames, odd, 1 = off (default 1)")
    v.add_argument("--max-blink-ms", type=float, default=params.max_blink_ms,
                   help=f"a closure shorter than this is a blink (default {params.max_blink_ms:g})")
    v.add_argument("--long-closure-ms", type=float, default=params.long_closure_ms,
                   help=f"a closure longer than this is a long closure (default {params.long_closure_ms:g})")
    v.add_argument("--min-closure-ms", type=float, default=params.min_closure_ms,
                   help=f"closures shorter than this are dropped as noise (default {params.min_closure_ms:g})")
    v.add_argument("--max-gap-ms", type=float, default=params.max_gap_ms,
                   help=f"frames without an eye bridged up to this long (default {params.max_gap_ms:g})")
    v.add_argument("--perclos-window", type=float, default=params.perclos_window_s, metavar="SECONDS",
                   help=f"sliding PERCLOS window (default {params.perclos_window_s:g})")
    v.add_argument("--fps", type=bounded(float, 0, above=True),
                   help="frame rate to time frames by (default: the video's own timestamps)")
    v.add_argument("--max-side", type=bounded(int, 1), default=4096, metavar="PX",
                   help="refuse videos wider or taller than this (default 4096)")
    v.add_argument("--max-frames", type=bounded(int, 1), metavar="N", help="stop after N frames")
    v.set_defaults(func=cmd_video)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)  # --help ends here, before anything heavy (torch, cv2, sklearn) is imported
    args.command_line = command_line(sys.argv[1:] if argv is None else argv)  # what checkpoints and reports record
    from .data.images import ImageError
    from .data.splits import SplitError
    from .models.checkpoint import CheckpointError

    try:
        replaced = _check_outputs(args)
        _make_output_folders(args)
        status = args.func(args)
        if status == 0 and replaced:
            print("\n".join(replaced))
        return status
    except (CheckpointError, SplitError, ImageError, FileNotFoundError, ValueError, KeyError) as exc:
        missing = isinstance(exc, FileNotFoundError) and exc.filename
        print(f"eyebench {args.cmd}: error: {f'{exc.filename}: no such file or folder' if missing else exc}",
              file=sys.stderr)
        return 2
