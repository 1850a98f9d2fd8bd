"""Safe extraction of uploaded zips: normal archives, traversal, links, bombs, nesting, damaged entries."""
import stat
import zipfile

import cv2
import numpy as np
import pytest
from conftest import draw_eye

from eyebench import safezip
from eyebench.safezip import ZipError, extract_zip, remove_tree


def png_bytes(is_open=True, seed=0) -> bytes:
    return cv2.imencode(".png", draw_eye(is_open, np.random.default_rng(seed), 48))[1].tobytes()


def make_zip(path, entries, compression=zipfile.ZIP_DEFLATED):
    """entries: name -> bytes, or (ZipInfo, bytes) pairs for hand-made headers."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for item in entries:
            if isinstance(item, tuple):
                zf.writestr(*item)
            else:
                zf.writestr(item, entries[item])
    return path


@pytest.fixture
def extract(tmp_path):
    """extract_zip into a fresh folder; returns (folder, {name: reason})."""
    def run(zip_path):
        folder, skipped = extract_zip(zip_path, dest=tmp_path / "out")
        return folder, dict(skipped)
    return run


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_normal_zip_of_images(tmp_path):
    from eyebench.data.dataset import scan_folder

    entries = {"open/": b"", "open/a.png": png_bytes(True, 1), "closed/b.png": png_bytes(False, 2),
               "manifest.csv": b"path,label\nopen/a.png,open\nclosed/b.png,closed\n"}
    folder, skipped = extract_zip(make_zip(tmp_path / "ok.zip", entries))
    try:
        assert folder.name.startswith("eyebench_zip_")  # a fresh temp folder by default
        assert files_under(folder) == ["closed/b.png", "manifest.csv", "open/a.png"]
        assert (folder / "open" / "a.png").read_bytes() == entries["open/a.png"]
        assert skipped == []
        assert scan_folder(folder, "upload").labels.tolist() == [0, 1]  # a usable dataset
    finally:
        remove_tree(folder)
    assert not folder.exists()
    remove_tree(folder)  # removing twice is fine


@pytest.mark.parametrize("name", ["../x.png", "a/../../x.png", "/tmp/x.png", "C:/x.png", "..\\x.png"])
def test_path_traversal_is_refused(tmp_path, extract, name):
    folder, skipped = extract(make_zip(tmp_path / "evil.zip", {name: png_bytes(), "fine.png": png_bytes()}))
    assert skipped == {name: "unsafe path (absolute or '..'): not extracted"}
    assert files_under(folder) == ["fine.png"]
    assert not (tmp_path / "x.png").exists() and not (folder.parent / "x.png").exists()


def test_symlink_entry_is_refused(tmp_path, extract):
    link = zipfile.ZipInfo("link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16  # how zip stores a symbolic link
    folder, skipped = extract(make_zip(tmp_path / "link.zip", [(link, "/etc/passwd"), ("a.png", png_bytes())]))
    assert skipped == {"link.png": "symbolic link: not extracted"}
    assert files_under(folder) == ["a.png"] and not (folder / "link.png").is_symlink()


def test_zip_bomb_entry_is_refused(tmp_path, extract):
    bomb = b"\0" * 5_000_000  # compresses about 1000:1
    folder, skipped = extract(make_zip(tmp_path / "bomb.zip", {"big.png": bomb, "a.png": png_bytes()}))
    assert "zip bomb" in skipped["big.png"]
    assert files_under(folder) == ["a.png"]


def test_archive_limits_refuse_the_whole_archive(tmp_path):
    path = make_zip(tmp_path / "many.zip", {f"{i}.png": png_bytes(seed=i) for i in range(5)})
    with pytest.raises(ZipError, match="too many entries: 5"):
        extract_zip(path, dest=tmp_path / "out", max_entries=4)
    with pytest.raises(ZipError, match="expands to"):
        extract_zip(path, dest=tmp_path / "out", max_total=100)
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_entry_size_limit(tmp_path, extract, monkeypatch):
    monkeypatch.setattr(safezip, "MAX_ENTRY_BYTES", 100)
    folder, skipped = extract(make_zip(tmp_path / "big.zip", {"a.png": png_bytes()}, zipfile.ZIP_STORED))
    assert "limit 100" in skipped["a.png"] and files_under(folder) == []


def test_nested_archives_hidden_files_and_non_images_are_listed_as_skipped(tmp_path, extract):
    inner = make_zip(tmp_path / "inner.zip", {"x.png": png_bytes()}).read_bytes()
    folder, skipped = extract(make_zip(tmp_path / "mixed.zip", {
        "inner.zip": inner, "more.tar.gz": b"x", "notes.txt": b"hello", "README": b"x", "run.sh": b"rm -rf /",
        "__MACOSX/._a.png": b"x", ".hidden.png": png_bytes(), "a.png": png_bytes(), "B.JPG": png_bytes()}))
    assert files_under(folder) == ["B.JPG", "a.png"]
    assert skipped["inner.zip"] == skipped["more.tar.gz"] == "nested archive: ignored"
    assert skipped["notes.txt"] == "not an image (.txt): ignored"
    assert skipped["README"] == "not an image (no extension): ignored"
    assert skipped["run.sh"].startswith("not an image")
    assert skipped["__MACOSX/._a.png"] == skipped[".hidden.png"] == "hidden or metadata file: ignored"


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_not_a_zip_raises_zip_error(tmp_path, content):
    path = tmp_path / "upload.zip"
    path.write_bytes(content)
    with pytest.raises(ZipError, match="not a readable zip archive"):
        extract_zip(path)
    with pytest.raises(ZipError):
        extract_zip(tmp_path / "missing.zip")


def test_encrypted_entry_is_skipped_not_fatal(tmp_path, extract):
    path = make_zip(tmp_path / "enc.zip", {"locked.png": png_bytes(), "a.png": png_bytes()})
    data = bytearray(path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local and central headers
        at = data.index(signature) + flag_at
        data[at] |= 0x1  # bit 0: "encrypted", a password is needed to read the entry
    path.write_bytes(bytes(data))
    folder, skipped = extract(path)
    assert skipped["locked.png"] == "encrypted (needs a password): not extracted"
    assert files_under(folder) == ["a.png"]


def test_damaged_entry_is_skipped_not_fatal(tmp_path, extract):
    good, bad = png_bytes(True, 1), png_bytes(False, 2)
    path = make_zip(tmp_path / "crc.zip", {"bad.png": bad, "good.png": good}, zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    at = data.index(bad) + len(bad) // 2
    data[at] ^= 0xFF  # stored bytes no longer match the CRC
    path.write_bytes(bytes(data))
    folder, skipped = extract(path)
    assert "cannot be read" in skipped["bad.png"]
    assert files_under(folder) == ["good.png"]


def test_entries_whose_names_clash_are_skipped(tmp_path, extract):
    folder, skipped = extract(make_zip(tmp_path / "clash.zip", {"a.png": png_bytes(1), "a.png/b.png": png_bytes(2)}))
    assert files_under(folder) == ["a.png"]
    assert "cannot be written" in skipped["a.png/b.png"]


def test_a_repeated_entry_name_keeps_the_first_and_says_so(tmp_path, extract):
    """Two entries named open/a.png (zip allows it): the second no longer silently replaces the first."""
    first, second = png_bytes(True, 1), png_bytes(False, 2)
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile's own warning when writing it
        archive = make_zip(tmp_path / "dup.zip", [("open/a.png", first), ("open/a.png", second)])
    folder, skipped = extract(archive)
    assert files_under(folder) == ["open/a.png"] and (folder / "open" / "a.png").read_bytes() == first
    assert skipped == {"open/a.png": "duplicate name in the archive: not extracted"}
