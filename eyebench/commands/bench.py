"""`eyebench bench`: inference speed on this machine; eyes found in face photos and closures in face videos."""
from __future__ import annotations

import json
from pathlib import Path

from ..config import EYE_CROP_SCALE
from ..errors import EyebenchError
from .args import _add_output, bounded, input_path, output_file
from .common import _load_models, _named_models, _picture


def run(args) -> int:
    from ..bench import (
        bench_classifier,
        bench_picture,
        bench_threshold,
        machine_load,
        recording_refusal,
    )

    load = machine_load()
    if args.record and recording_refusal(args.seconds, load):
        raise EyebenchError(recording_refusal(args.seconds, load))
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
    from ..eye_finding import score_photos, score_videos

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
    from ..bench import bench_video, machine_load

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
    from ..faces import finder_notice

    if finder_notice():
        return f"Haar detection every {tracker['detect_every']} frames (MediaPipe unavailable)"
    return "face landmarks every frame, face detection when the face is lost"


def _record_bench(rows: list[dict], command: str) -> None:
    import platform

    import torch

    from ..models.checkpoint import update_record

    for r in rows:
        load = r["load"]["before"]
        machine = (f"{load['cores']} CPU cores ({platform.machine()}), torch {torch.__version__}, "
                   f"{r['threads']['batch'] or '-'} threads for batches, {r['threads']['single']} for single images, "
                   f"load average {load['load_1min']:.2f} at the start, {r['seconds']:g} s per measurement")
        update_record(r["checkpoint"], "bench", {**r, "command": command, "machine": machine})
    print("recorded in each checkpoint's config.json and model card")


def add_parser(sub) -> None:
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
    b.set_defaults(func=run)
