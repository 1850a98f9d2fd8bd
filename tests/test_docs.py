"""The documentation speaks to users: no words about how or where the work was done, a short README, and every
`python -m eyebench <command>` in the README is a real command."""
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
MAX_README_LINES = 250


def doc_files() -> list[Path]:
    """README.md, docs/*.md, results/**/README.md and the checkpoints' model cards."""
    files = [README, *sorted((REPO_ROOT / "docs").glob("*.md")), *sorted((REPO_ROOT / "results").rglob("README.md")),
             *sorted((REPO_ROOT / "checkpoints").glob("*/README.md"))]
    return [f for f in files if f.is_file()]


def generated(path: Path) -> bool:
    """A README written by eyebench from a recorded config (model card, held-out bundle), not by hand."""
    return (path.parent / "config.json").is_file() or (path.parent / "bundle.json").is_file()


# Words about the work's own organisation and machines (word boundaries: "tissue" or "talent" do not match).
FORBIDDEN = {
    "session": re.compile(r"\bsessions?\b", re.IGNORECASE),
    "issue": re.compile(r"\bissues?\b|(?<![\w&])#\d+\b", re.IGNORECASE),
    "lent": re.compile(r"\blent\b", re.IGNORECASE),
    "H200": re.compile(r"\bH200\b", re.IGNORECASE),
    "/work/": re.compile(r"/work/", re.IGNORECASE),
}
# A path that only exists where the work was done. Generated cards and bundle READMEs quote the exact commands they
# were made with (tests/test_shipped.py requires a card to hold its train command verbatim), so they are exempt.
SHARED_PATH = re.compile(r"\.\./shared\b", re.IGNORECASE)


ALL = {**FORBIDDEN, "../shared": SHARED_PATH}


def offending_words(line: str, patterns: dict = ALL) -> list[str]:
    return [name for name, pattern in patterns.items() if pattern.search(line)]


def offences(path: Path) -> list[str]:
    patterns = FORBIDDEN if generated(path) else ALL
    return [f"{path.relative_to(REPO_ROOT)}:{number}: {name!r} in {line.strip()[:120]!r}"
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            for name in offending_words(line, patterns)]


def test_the_documents_are_found():
    names = {f.relative_to(REPO_ROOT).as_posix() for f in doc_files()}
    assert "README.md" in names and "docs/history.md" in names and "docs/formats.md" in names
    assert any(n.startswith("checkpoints/") for n in names)


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_documents_do_not_speak_of_how_the_work_was_organised(path):
    assert not offences(path), "\n".join(offences(path))


def test_forbidden_words_match_whole_words_only():
    assert not offending_words("tissue, talented, lentil, sessionless, H2000, &#8212;, ../shared_data")
    for line in ("see the issue", "Issue #12", "fixed in #24", "session 7 registered", "a lent GPU",
                 "an h200", "in /work/wip/x", "read ../shared/data/mrl"):
        assert offending_words(line), line


def test_readme_is_short():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_README_LINES, f"README.md has {n} lines; keep it at most {MAX_README_LINES} (history goes to docs/)"


def subcommands() -> set[str]:
    import argparse

    from eyebench.cli import build_parser

    parser = build_parser()
    return {name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices}


def test_readme_commands_exist():
    known = subcommands()
    assert {"train", "evaluate", "predict"} <= known
    text = README.read_text(encoding="utf-8")
    used = re.findall(r"python -m eyebench\s+([A-Za-z][\w-]*)", text)
    assert used, "the README shows no `python -m eyebench <command>`"
    unknown = sorted(set(used) - known)
    assert not unknown, f"README.md uses commands that `python -m eyebench` does not have: {unknown} (known: {sorted(known)})"


def test_the_architecture_section_names_every_module():
    """The README's Architecture block lists every module and package of eyebench/ (a new one must be placed there)."""
    text = README.read_text(encoding="utf-8")
    block = text[text.index("<!-- ARCHITECTURE -->"):text.index("<!-- /ARCHITECTURE -->")]
    package = REPO_ROOT / "eyebench"
    names = {p.name for p in package.glob("*.py")} | {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").is_file()}
    names |= {p.name for sub in package.iterdir() if sub.is_dir() and sub.name not in ("app", "commands", "formatters")
              for p in sub.glob("*.py") if p.name != "__init__.py"}
    missing = sorted(n for n in names if n not in block)
    assert not missing, f"README.md's Architecture section does not name {missing}"
