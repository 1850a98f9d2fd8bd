"""Extract user-uploaded zip archives safely: size, count and ratio limits, no traversal, no links, no nesting."""
from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from .config import IMAGE_EXTENSIONS
from .errors import EyebenchError

MAX_ENTRIES = 50_000
MAX_TOTAL_BYTES = 1_000_000_000  # uncompressed
MAX_ENTRY_BYTES = 50_000_000
MAX_RATIO = 200  # uncompressed / compressed, per entry (zip bombs)
ALLOWED_EXTRA = (".csv",)


class ZipError(EyebenchError):
    """An archive that is refused as a whole, with the reason."""


def extract_zip(path, dest=None, max_entries: int = MAX_ENTRIES, max_total: int = MAX_TOTAL_BYTES) -> tuple[Path, list[tuple[str, str]]]:
    """Extract images (and CSV manifests) of `path` into a fresh temp folder; returns (folder, skipped entries).

    The caller removes the folder when done, with `remove_tree`.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ZipError(f"not a readable zip archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise ZipError(f"too many entries: {len(infos)} (limit {max_entries})")
        total = sum(i.file_size for i in infos)
        if total > max_total:
            raise ZipError(f"archive expands to {total:,} bytes (limit {max_total:,})")
        out = Path(dest) if dest else Path(tempfile.mkdtemp(prefix="eyebench_zip_"))
        skipped: list[tuple[str, str]] = []
        written: set[Path] = set()
        for info in infos:
            name = info.filename
            if info.is_dir():
                continue
            reason = _refuse(info)
            if reason:
                skipped.append((name, reason))
                continue
            target = out.joinpath(*PurePosixPath(name).parts)
            if target in written:  # a second entry of the same name would silently replace the first
                skipped.append((name, "duplicate name in the archive: not extracted"))
                continue
            written.add(target)
            try:  # a hostile or damaged entry costs that entry, never the whole upload
                target.parent.mkdir(parents=True, exist_ok=True)
                dst = open(target, "wb")
            except OSError as exc:  # e.g. `a.png` and `a.png/b.png` in one archive
                skipped.append((name, f"cannot be written ({exc.strerror or exc}): not extracted"))
                continue
            try:
                with dst, zf.open(info) as src:
                    copied = _copy_limited(src, dst, MAX_ENTRY_BYTES)
            except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, zlib.error) as exc:
                target.unlink(missing_ok=True)  # bad CRC, truncated data, unsupported compression
                skipped.append((name, f"cannot be read ({exc}): not extracted"))
                continue
            if copied < 0:
                target.unlink(missing_ok=True)
                skipped.append((name, f"entry larger than {MAX_ENTRY_BYTES:,} bytes when expanded"))
        return out, skipped


def _refuse(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        return "unsafe path (absolute or '..'): not extracted"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link: not extracted"
    if info.flag_bits & 0x1:
        return "encrypted (needs a password): not extracted"
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in (".zip", ".tar", ".gz", ".tgz", ".7z", ".rar"):
        return "nested archive: ignored"
    if parts and (parts[0] == "__MACOSX" or PurePosixPath(name).name.startswith(".")):
        return "hidden or metadata file: ignored"
    if suffix not in IMAGE_EXTENSIONS + ALLOWED_EXTRA:
        return f"not an image ({suffix or 'no extension'}): ignored"
    if info.file_size > MAX_ENTRY_BYTES:
        return f"entry of {info.file_size:,} bytes (limit {MAX_ENTRY_BYTES:,})"
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        return f"compression ratio {info.file_size / info.compress_size:.0f}:1 looks like a zip bomb"
    return None


def _copy_limited(src, dst, limit: int) -> int:
    """Copy at most `limit` bytes; -1 if the stream is longer (declared sizes can lie)."""
    n = 0
    while True:
        chunk = src.read(1 << 20)
        if not chunk:
            return n
        n += len(chunk)
        if n > limit:
            return -1
        dst.write(chunk)


def remove_tree(path) -> None:
    """Delete an extraction folder (ignores a folder that is already gone)."""
    shutil.rmtree(path, ignore_errors=True)
