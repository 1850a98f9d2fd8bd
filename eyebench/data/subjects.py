"""Whether subjects read from file names look like people, and the warning when they do not."""
from __future__ import annotations

from pathlib import Path

from .filenames import looks_like_counter

SUBJECT_HINT = ("a manifest's subject column names each image's person for sure; or choose the rule with --subject-from "
                "folder, file or regex:PATTERN")
MIN_IMAGES_TO_JUDGE = 10  # fewer images than this: no guess about whether the subjects look right
COUNTER_SHARE = 0.1  # counter-like names on at least this share of a source's images: its subjects are doubted


def subject_doubt(source: str, samples: list, info: dict, by_rule: bool,
                  sure: bool) -> tuple[str | None, str | None]:
    """Why guessed subjects look wrong, in a few words (None when they look right), and the warning that says so: one
    subject for a whole folder, each image its own subject, or names that look like counters (`_660`, `IMG_1234`,
    see `looks_like_counter`), worst when one counter is read as one subject under both classes. Subjects that are
    sure (MRL names, a manifest's subject column) and the chosen `--subject-from file` are not second-guessed; names
    are judged only where the subjects were read from them (no --subject-from rule)."""
    n, subjects = len(samples), {s.subject for s in samples}
    if sure or n < MIN_IMAGES_TO_JUDGE or info.get("subject_rule") == "file":
        return None, None
    example = f"e.g. {Path(samples[0].path).name} -> {samples[0].subject!r}"
    if len(subjects) == 1:
        return "all images are one subject", (
            f"{source}: all {n} images are one subject by {info['subjects_from']} ({example}): if they show several "
            f"people, the person-disjoint splits and per-person results are wrong; {SUBJECT_HINT}")
    if len(subjects) == n:
        return "each image is a subject of its own", (
            f"{source}: each of the {n} images is a subject of its own by {info['subjects_from']} ({example}): if "
            f"some show the same person, a split can put that person on both sides; {SUBJECT_HINT}")
    if by_rule:
        return None, None
    counted = [s for s in samples if looks_like_counter(s.subject)]
    if not counted:
        return None, None
    labels: dict[str, dict[int, object]] = {}
    for s in counted:
        labels.setdefault(s.subject, {}).setdefault(s.label, s)
    merged = [by_label for by_label in labels.values() if len(by_label) > 1]
    if len(counted) < COUNTER_SHARE * n and not merged:
        return None, None
    first = counted[0]
    why = (f"{source}: {len(counted)} of {n} images have file names that look like counters, not people "
           f"(e.g. {Path(first.path).name} -> {first.subject!r}), so {len(labels)} subjects were read from numbers")
    if merged:
        a, b = (merged[0][label] for label in sorted(merged[0]))
        why += (f"; {len(merged)} of these subjects hold images of both classes (e.g. {_short(a.path)} and "
                f"{_short(b.path)} are one subject), which looks like one counter in two folders, not one person")
    return ("subjects read from file names that look like counters"
            + (f", {len(merged)} merged across the two classes" if merged else ""),
            f"{why}: person-disjoint splits, per-person results and subject-level intervals may not be over people; "
            f"{SUBJECT_HINT}")


def _short(path: str) -> str:
    """A file name with its folder (`open/_660.jpg`), enough to tell two files of the same name apart."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}"
