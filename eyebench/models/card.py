"""Write a checkpoint's README.md model card from its config: use, data, split, person-disjoint results."""
from __future__ import annotations

from ..config import MIN_GROUP_IMAGES, THIN_NOTE, ZOOM_OUT_RANGE, DataConfig, pct


def _metrics_table(block: dict) -> list[str]:
    lines = ["| data | n | accuracy | balanced acc. | closed recall | open recall | closed precision | ROC-AUC |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    rows = [("all", block["overall"])] + list(block.get("per_source", {}).items())
    for name, m in rows:
        if not m.get("n"):
            continue
        auc = "-" if m.get("roc_auc") is None else f"{m['roc_auc']:.4f}"
        lines.append(f"| {name} | {m['n']} | {pct(m['accuracy'])} | {pct(m['balanced_accuracy'])} | "
                     f"{pct(m['recall_closed'])} | {pct(m['recall_open'])} | {pct(m['precision_closed'])} | {auc} |")
    return lines


# the keys the sentences below speak of (or skip)
TRAINED_SHOWN = {"seed", "epochs_run", "batch_size", "lr", "aug_strength", "initialisation", "ema_decay", "glasses",
                 "label_smoothing", "hard_people", "drop_hardest", "autocast", "seconds", "machine", "distillation",
                 "provenance", "epoch_size", "storage_dtype", "person_cap", "zoom_out"}


def model_card(config: dict) -> str:
    """Markdown model card; every number comes from config.json, written by `eyebench train`."""
    sections = (_header, _training, _committee, _calibration, _speed, _split, _data, _results)
    lines = [line for section in sections for line in section(config)]
    lines += ["## Limitations",
              "- MRL is near-infrared, CEW is visible light at 24x24: other sensors and resolutions are out of domain.",
              "- MRL has no head-angle label; angle robustness is not measured here.",
              "- Half-closed eyes are ambiguous and their labels are noisy.", ""]
    return "\n".join(lines)


def _header(config: dict) -> list[str]:
    dc = config["data_config"]
    return [f"# {config['architecture']}", "",
            f"Eye-state classifier (`{', '.join(config['class_names'])}`) from eyebench; family `{config['family']}`, "
            f"{config.get('num_parameters', 0):,} parameters, "
            + (_cost(config['flops_per_image'], DataConfig.from_dict(dc).views) if config.get("flops_per_image") else "")
            + f"input {dc['input_size']}x{dc['input_size']} {'grayscale' if dc['channels'] == 1 else 'RGB'}"
            + (" with CLAHE local contrast equalisation" if dc.get("contrast") == "clahe" else "")
            + (", each prediction averaged over the crop and its horizontal mirror (flip averaging)"
               if dc.get("flip_average") else "")
            + (f", each prediction averaged over the crop and its centre framed {dc['zoom_average']:g} x tighter (zoom "
               "averaging)" if dc.get("zoom_average", 1) != 1 else "")
            + (", weights stored in float16 (metrics below are measured on the stored weights)"
               if config.get("storage_dtype") == "float16" else "") + ".", "",
            "## Intended use",
            "Classifying single eye crops as open or closed (drowsiness research, demos). Not a safety device: "
            "results on new people, cameras and lighting can be worse than the numbers below.", ""]


def _cost(flops: float, views: int) -> str:
    """`96.7 MFLOPs per image, `, or with flip or zoom averaging the forward pass's FLOPs and the passes per prediction."""
    if views == 1:
        return f"{flops / 1e6:.1f} MFLOPs per image, "
    return f"{flops / 1e6:.1f} MFLOPs per forward pass ({views} per prediction: {views * flops / 1e6:.1f} MFLOPs), "


def _training(config: dict) -> list[str]:
    """How it was trained: the command, then the options recorded in config.json["trained"]."""
    lines = ["## How it was trained", "```", config["train_command"], "```", ""] if config.get("train_command") else []
    tr = config.get("trained") or {}
    if tr and config.get("family") == "torch":
        lines += [_torch_recipe(tr), ""]
    elif tr:
        estimator = "logistic regression on eyelid-landmark features" if config.get("family") == "landmarks" else "SVM"
        model_args = config.get("model_args", {})
        lines += [f"Seed {tr.get('seed')}; {estimator} C chosen on validation balanced accuracy: "
                  f"{model_args.get('C')}; {tr.get('seconds')} s on the training machine.", ""]
    if tr.get("provenance"):
        lines += [tr["provenance"], ""]
    return lines


def _committee(config: dict) -> list[str]:
    """A committee's members, their weights and how the weights were chosen (config.json["committee"])."""
    com = config.get("committee")
    if not com:
        return []
    lines = ["## Committee",
             f"Averages the calibrated closed logits of {len(com['members'])} member checkpoints (folders relative to "
             "this one; loading checks that each still has the weights recorded here), then applies its own "
             "temperature and uncertain band.", "",
             "| member | architecture | weight | member temperature | validation accuracy | people-balanced |",
             "|---|---|---:|---:|---:|---:|"]
    for m in com["members"]:
        lines.append(f"| `{m['stored_as']}` | {m['architecture']} | {m['weight']:.2f} | {m['temperature']:.3f} | "
                     f"{pct(m['val_accuracy'])} | {pct(m['val_people_balanced_accuracy'])} |")
    c, search = com["committee"], com["search"]
    return lines + [f"| **committee** | | | | {pct(c['val_accuracy'])} | {pct(c['val_people_balanced_accuracy'])} |",
                    "", f"Weights chosen by the lowest {search['objective']} (grid step "
                    f"{search['grid_step']:g}, {search['candidates']} candidates).", ""]


def _torch_recipe(tr: dict) -> str:
    """One sentence on a torch recipe; options without a phrase of their own are named with their value."""
    others = {k: v for k, v in tr.items() if k not in TRAINED_SHOWN and v not in (None, False)}
    distilled = tr.get("distillation")
    return (f"Seed {tr.get('seed')}, {tr.get('epochs_run')} epochs run (best epoch by validation kept), batch "
            f"{tr.get('batch_size')}, peak learning rate {tr.get('lr')}, augmentation strength "
            f"{tr.get('aug_strength', 1.0)}, initialisation: {tr.get('initialisation', 'random')}"
            + (f", exponential moving average of the weights (decay {tr['ema_decay']}) validated and kept"
               if tr.get("ema_decay") else "")
            + (f", synthetic glasses (frame edge, glare spots) on {100 * tr['glasses']:g}% of training images"
               if tr.get("glasses") else "")
            + (f", {100 * tr['zoom_out']:g}% of training images framed wider (the eye shrunk to "
               f"{100 * ZOOM_OUT_RANGE[0]:g}-{100 * ZOOM_OUT_RANGE[1]:g}% of its size)"
               if tr.get("zoom_out") else "")
            + (f", label smoothing {tr['label_smoothing']}" if tr.get("label_smoothing") else "")
            + (f", hard training people drawn more often (--hard-people {tr['hard_people']})"
               if tr.get("hard_people") else "")
            + (f", people balanced within each source and class (a person counts as at most {tr['person_cap']:g}x the "
               f"median person's images, --person-cap {tr['person_cap']:g})" if tr.get("person_cap") else "")
            + (f", the highest-loss {100 * tr['drop_hardest']:g}% of every batch left out of the loss"
               f" (--drop-hardest {tr['drop_hardest']})" if tr.get("drop_hardest") else "")
            + (f", forward pass in {tr['autocast']} autocast (weights float32)" if tr.get("autocast") else "")
            + "".join(f", {k.replace('_', ' ')} {v}" for k, v in others.items()) + "; "
            f"{tr.get('seconds')} s on {tr.get('machine', 'the training machine')}."
            + (f" Distilled from {', '.join(distilled['teachers'])} (alpha {distilled['alpha']}, "
               f"temperature {distilled['temperature']})." if distilled else ""))


def _calibration(config: dict) -> list[str]:
    cal = config.get("calibration")
    if not cal:
        return []
    band = cal["band"]
    worst = band.get("worst_group")
    lines = ["## Calibration and the uncertain band (fitted on validation subjects)",
             f"Temperature {cal['temperature']:.3f}; ECE {cal['ece_before']:.4f} before, {cal['ece_after']:.4f} after "
             f"({cal['ece_definition']}).",
             f"Uncertain band on p(closed): [{band['band'][0]:.4f}, {band['band'][1]:.4f}], chosen for selective "
             f"risk <= {100 * band['target_risk']:.1f}% on validation "
             + (f"for every validation person with at least {MIN_GROUP_IMAGES} images and for each source's pool "
                "of the others "
                if band.get("rule") == "per person" else "over all validation images pooled ")
             + f"(reached: {band['reached']}); validation coverage {100 * band['coverage']:.2f}%"
             + (f", riskiest group `{worst['group']}` at {pct(worst['selective_risk'])}" if worst else "") + ".", ""]
    if cal.get("command"):
        lines += ["Refitted after training (same weights) with:", "```", cal["command"], "```", ""]
    test_band = (config.get("metrics") or {}).get("test", {}).get("band")
    if test_band:
        rejected = test_band["rejection_rate"]
        lines += [f"On the test subjects the band keeps {100 * test_band['coverage']:.2f}% of images with accuracy "
                  f"{100 * (1 - test_band['selective_risk']):.2f}% on them; rejected: open "
                  f"{pct(rejected['open'])}, closed {pct(rejected['closed'])}.", ""]
    return lines


def _speed(config: dict) -> list[str]:
    bench = config.get("bench")
    if not bench:
        return []
    return ["## Speed", f"Measured by `{bench['command']}` on {bench['machine']}: "
            f"{bench['batch_images_per_second']:.0f} images/s in batches of {bench['batch_size']} (prepared input), "
            f"{bench['single_ms_per_image']:.2f} ms for one raw crop.", ""]


def _split(config: dict) -> list[str]:
    split = config.get("split")
    if not split:
        return []
    lines = ["## Data split (person-disjoint)",
             (f"The people of the split of `{split['from']}`" if split.get("from") else
              f"Subjects are split with seed {split.get('seed')}") + "; no subject is in two splits. "
             f"Images: {split.get('n_images')}.", ""]
    if split.get("thin_in_validation"):
        lines += [f"**Caveat:** {THIN_NOTE}:", *[f"- {t}" for t in split["thin_in_validation"]], ""]
    by_source = split.get("by_source") or {"all": {p: split.get(p, []) for p in ("train", "val", "test")}}
    for source, parts in by_source.items():
        for part in ("train", "val", "test"):
            ids = parts.get(part, [])
            shown = ", ".join(ids[:30]) + (f", ... ({len(ids)} in all)" if len(ids) > 30 else "")
            lines.append(f"- `{source}` **{part}** ({len(ids)} subjects): {shown}")
    return lines + ["", "The full lists are in `config.json` (`split`) and `split.json`.", ""]


def _data(config: dict) -> list[str]:
    data = config.get("data")
    if not data:
        return []
    lines = ["## Training data", ""]
    for src, info in data.get("sources", {}).items():
        lines.append(f"- `{src}`: {info.get('layout')} layout from `{info.get('root')}`; subjects from "
                     f"{info.get('subjects_from')}")
    return lines + [f"- read {data.get('n_read')} images, skipped {data.get('n_skipped')} "
                    f"{data.get('skipped_reasons') or ''}", ""]


def _results(config: dict) -> list[str]:
    metrics = config.get("metrics")
    if not metrics:
        return []
    refit = (config.get("calibration") or {}).get("command")
    by = "by the refit above (`eyebench calibrate`)" if refit else "by `eyebench train` at the end of training"
    test = metrics["test"]
    lines = ["## Results on held-out subjects", "",
             f"Measured {by} on the test subjects of the split above "
             "(reproduce with `python -m eyebench evaluate --model <this folder> --data <same data> --split test`).", "",
             "### Test subjects", *_metrics_table(test), ""]
    ws = test.get("worst_subject")
    if ws:
        lines += [f"Worst test subject: `{ws['subject']}` with accuracy {pct(ws['accuracy'])} over {ws['n']} images.", ""]
    return lines + ["### Validation subjects (used for model selection and calibration)", *_metrics_table(metrics["val"]),
                    ""]
