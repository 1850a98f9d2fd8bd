"""`eyebench bench`: inference speed on this machine; eyes found in face photos and closures in face videos."""
from __future__ import annotations


from ..config import EYE_CROP_SCALE
from ..errors import EyebenchError
from .args import _add_output, bounded, input_path, output_file
from .common import _load_models, _named_models, _picture, _write_json


def run(args) -> int:
    from ..bench import (
        bench_classifier,
        bench_picture,
        bench_threshold,
        bench_video,
        machine_load,
        record_bench,
        recording_refusal,
    )
    from ..formatters import prediction as text

    load = machine_load()
    if args.record and recording_refusal(args.seconds, load):
        raise EyebenchError(recording_refusal(args.seconds, load))
    rows = []
    if args.video is not None:  # frames per second of the whole video pipeline per model (and of the tracking alone)
        videos = bench_video(_named_models(args.model), args.video or None)
        print("\n".join(text.video_bench_lines(videos)))
        if load.busy or machine_load().busy:
            print(text.BUSY_WARNING)
        result = [r.to_dict() for r in videos]
    elif args.faces or args.face_videos:  # eyes found on labelled face photos, closures in labelled face videos
        from ..eye_finding import score_photos, score_videos

        models, result = _named_models(args.model), {}
        if args.faces:
            photos = score_photos(models, args.faces, progress=True, crop_scale=args.crop_scale)
            print("\n".join(text.photo_score_lines(args.faces, photos, args.crop_scale)))
            result["photos"] = photos.to_dict()
        if args.face_videos:
            scores = score_videos(models, args.face_videos)
            print("\n".join(text.video_score_lines(scores)))
            result["videos"] = [v.to_dict() for v in scores]
    elif args.picture:
        models = _named_models(args.model)
        r = bench_picture(models, _picture(args.picture))
        t = bench_threshold()
        print(f"app predict ({', '.join(models)}; eyes + every model + every map): median {r.median_ms:.0f} ms, "
              f"max {r.max_ms:.0f} ms over {r.repeats} runs ({text.load_text(load)})")
        print(f"threshold update on {t.n_images} cached images: median {t.median_ms:.1f} ms")
        return 0
    else:
        for clf in _load_models(args.model):
            rows.append(bench_classifier(clf, load, batch_size=args.batch_size, seconds=args.seconds))
            print(text.bench_line(rows[-1]))
        if text.was_busy(load, [r.load for r in rows]):
            print(text.BUSY_WARNING)
        result = [r.to_dict() for r in rows]
    if args.json:
        _write_json(args.json, result)
    if args.record and rows:
        record_bench(rows, args.command_line)
        print("recorded in each checkpoint's config.json and model card")
    return 0


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
