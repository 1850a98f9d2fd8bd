"""Write a checkpoint's README.md model card from its config: use, data, split, person-disjoint results."""
from __future__ import annotations

from ..config import MIN_GROUP_IMAGES


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _metrics_table(block: dict) -> list[str]:
    lines = ["| data | n | accuracy | balanced acc. | closed recall | open recall | closed precision | ROC-AUC |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    rows = [("all", block["overall"])] + list(block.get("per_source", {}).items())
    for name, m in rows:
        if not m.get("n"):
            continue
        auc = "-" if m.get("roc_auc") is None else f"{m['roc_auc']:.4f}"
        lines.append(f"| {name} | {m['n']} | {_pct(m['accuracy'])} | {_pct(m['balanced_accuracy'])} | "
                     f"{_pct(m['recall_closed'])} | {_pct(m['recall_open'])} | {_pct(m['precision_closed'])} | {auc} |")
    return lines


def model_card(config: dict) -> str:
    """Markdown model card; every number comes from config.json, written by `eyebench train`."""
    name = config["architecture"]
    dc = config["data_config"]
    lines = [f"# {name}", "",
             f"Eye-state classifier (`{', '.join(config['class_names'])}`) from eyebench; family `{config['family']}`, "
             f"{config.get('num_parameters', 0):,} parameters, "
             + (f"{config['flops_per_image'] / 1e6:.1f} MFLOPs per image, " if config.get("flops_per_image") else "")
             + f"input {dc['input_size']}x{dc['input_size']} {'grayscale' if dc['channels'] == 1 else 'RGB'}"
             + (" with CLAHE local contrast equalisation" if dc.get("contrast") == "clahe" else "")
             + (", weights stored in float16 (metrics below are measured on the stored weights)"
                if config.get("storage_dtype") == "float16" else "") + ".", "",
             "## Intended use",
             "Classifying single eye crops as open or closed (drowsiness research, demos). Not a safety device: "
             "results on new people, cameras and lighting can be worse than the numbers below.", ""]
    if config.get("train_command"):
        lines += ["## How it was trained", "```", config["train_command"], "```", ""]
    tr = config.get("trained") or {}
    if tr and config.get("family") == "torch":
        lines += [f"Seed {tr.get('seed')}, {tr.get('epochs_run')} epochs run (best epoch by validation kept), batch "
                  f"{tr.get('batch_size')}, peak learning rate {tr.get('lr')}, augmentation strength "
                  f"{tr.get('aug_strength', 1.0)}, initialisation: {tr.get('initialisation', 'random')}"
                  + (f", exponential moving average of the weights (decay {tr['ema_decay']}) validated and kept"
                     if tr.get("ema_decay") else "")
                  + (f", synthetic glasses (frame edge, glare spots) on {100 * tr['glasses']:g}% of training images"
                     if tr.get("glasses") else "")
                  + (f", label smoothing {tr['label_smoothing']}" if tr.get("label_smoothing") else "")
                  + (f", hard training people drawn more often (--hard-people {tr['hard_people']})"
                     if tr.get("hard_people") else "")
                  + (f", the highest-loss {100 * tr['drop_hardest']:g}% of every batch left out of the loss"
                     f" (--drop-hardest {tr['drop_hardest']})" if tr.get("drop_hardest") else "")
                  + (f", forward pass in {tr['autocast']} autocast (weights float32)" if tr.get("autocast") else "") + "; "
                  f"{tr.get('seconds')} s on {tr.get('machine', 'the training machine')}."
                  + (f" Distilled from {', '.join(tr['distillation']['teachers'])} (alpha {tr['distillation']['alpha']}, "
                     f"temperature {tr['distillation']['temperature']})." if tr.get("distillation") else ""), ""]
    elif tr:
        lines += [f"Seed {tr.get('seed')}; SVM C chosen on validation balanced accuracy: "
                  f"{config.get('model_args', {}).get('C')}; {tr.get('seconds')} s on the training machine.", ""]
    if tr.get("provenance"):
        lines += [tr["provenance"], ""]
    cal = config.get("calibration")
    if cal:
        band = cal["band"]
        lines += ["## Calibration and the uncertain band (fitted on validation subjects)",
                  f"Temperature {cal['temperature']:.3f}; ECE {cal['ece_before']:.4f} before, {cal['ece_after']:.4f} after "
                  f"({cal['ece_definition']}).",
                  f"Uncertain band on p(closed): [{band['band'][0]:.4f}, {band['band'][1]:.4f}], chosen for selective "
                  f"risk <= {100 * band['target_risk']:.1f}% on validation "
                  + (f"for every validation person with at least {MIN_GROUP_IMAGES} images and for each source's pool "
                     "of the others "
                     if band.get("rule") == "per person" else "over all validation images pooled ")
                  + f"(reached: {band['reached']}); validation coverage {100 * band['coverage']:.2f}%"
                  + (f", riskiest group `{band['worst_group']['group']}` at {_pct(band['worst_group']['selective_risk'])}"
                     if band.get("worst_group") else "") + ".", ""]
        if cal.get("command"):
            lines += ["Refitted after training (same weights) with:", "```", cal["command"], "```", ""]
        test_band = (config.get("metrics") or {}).get("test", {}).get("band")
        if test_band:
            lines += [f"On the test subjects the band keeps {100 * test_band['coverage']:.2f}% of images with accuracy "
                      f"{100 * (1 - test_band['selective_risk']):.2f}% on them; rejected: open "
                      f"{_pct(test_band['rejection_rate']['open'])}, closed {_pct(test_band['rejection_rate']['closed'])}.", ""]
    bench = config.get("bench")
    if bench:
        lines += ["## Speed", f"Measured by `{bench['command']}` on {bench['machine']}: "
                  f"{bench['batch_images_per_second']:.0f} images/s in batches of {bench['batch_size']} (prepared input), "
                  f"{bench['single_ms_per_image']:.2f} ms for one raw crop.", ""]
    split = config.get("split")
    if split:
        lines += ["## Data split (person-disjoint)",
                  f"Subjects are split with seed {split.get('seed')}; no subject is in two splits. "
                  f"Images: {split.get('n_images')}.", ""]
        by_source = split.get("by_source") or {"all": {p: split.get(p, []) for p in ("train", "val", "test")}}
        for source, parts in by_source.items():
            for part in ("train", "val", "test"):
                ids = parts.get(part, [])
                shown = ", ".join(ids[:30]) + (f", ... ({len(ids)} in all)" if len(ids) > 30 else "")
                lines.append(f"- `{source}` **{part}** ({len(ids)} subjects): {shown}")
        lines += ["", "The full lists are in `config.json` (`split`) and `split.json`.", ""]
    data = config.get("data")
    if data:
        lines += ["## Training data", ""]
        for src, info in data.get("sources", {}).items():
            lines.append(f"- `{src}`: {info.get('layout')} layout from `{info.get('root')}`; subjects from {info.get('subjects_from')}")
        lines += [f"- read {data.get('n_read')} images, skipped {data.get('n_skipped')} {data.get('skipped_reasons') or ''}", ""]
    metrics = config.get("metrics")
    if metrics:
        lines += ["## Results on held-out subjects", "",
                  "Measured by `eyebench train` at the end of training on the test subjects of the split above "
                  "(reproduce with `python -m eyebench evaluate --model <this folder> --data <same data> --split test`).", ""]
        lines += ["### Test subjects"] + _metrics_table(metrics["test"]) + [""]
        ws = metrics["test"].get("worst_subject")
        if ws:
            lines += [f"Worst test subject: `{ws['subject']}` with accuracy {_pct(ws['accuracy'])} over {ws['n']} images.", ""]
        lines += ["### Validation subjects (used for model selection and calibration)"] + _metrics_table(metrics["val"]) + [""]
    lines += ["## Limitations",
              "- MRL is near-infrared, CEW is visible light at 24x24: other sensors and resolutions are out of domain.",
              "- MRL has no head-angle label; angle robustness is not measured here.",
              "- Half-closed eyes are ambiguous and their labels are noisy.", ""]
    return "\n".join(lines)
