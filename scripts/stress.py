"""Fuzz and load runs against a locally started app (loopback only): `python scripts/stress.py fuzz|load`."""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EYE = ROOT / "sample_images" / "synthetic_closed_0.png"
FACE = ROOT / "sample_images" / "astronaut_face.jpg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int) -> subprocess.Popen:
    """Run app.py on 127.0.0.1:port in a child process and wait until it answers."""
    code = (f"import app; app.demo.launch(server_name='127.0.0.1', server_port={port}, "
            f"max_file_size=app.MAX_FILE_SIZE, prevent_thread_lock=False, quiet=True)")
    log = tempfile.NamedTemporaryFile(prefix="eyebench_app_", suffix=".log", delete=False)  # a pipe could fill up
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = log.name
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"app exited: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("app did not start within 120 s")


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def hostile_inputs(n: int, folder: Path, seed: int = 0) -> list[tuple[str, Path]]:
    """n generated malformed or hostile files: corrupted real images, random bytes, huge dims, odd modes, bad zips."""
    rng = random.Random(seed)
    real = [EYE.read_bytes(), FACE.read_bytes()]
    makers = []

    def corrupt(i):
        b = bytearray(rng.choice(real))
        for _ in range(rng.randint(1, 40)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return "corrupted.png", bytes(b)

    def truncated(i):
        b = rng.choice(real)
        return "truncated.jpg", b[: rng.randint(1, len(b) - 1)]

    def random_bytes(i):
        return rng.choice(["x.png", "x.jpg", "x.gif", "x.bmp"]), os.urandom(rng.randint(0, 5000))

    def huge(i):
        """A small file whose PNG header claims a huge picture (a decompression bomb)."""
        buf = io.BytesIO()
        Image.new("L", (8, 8)).save(buf, "PNG")
        data = bytearray(buf.getvalue())
        w, h = rng.choice([20000, 30000, 65000]), rng.choice([20000, 12000, 65000])
        data[16:24] = w.to_bytes(4, "big") + h.to_bytes(4, "big")  # IHDR width, height
        data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # IHDR CRC over type + fields
        return "huge.png", bytes(data)

    def odd_mode(i):
        mode, size = rng.choice([("I;16", (64, 64)), ("RGBA", (40, 40)), ("P", (50, 50)), ("CMYK", (60, 60)),
                                 ("1", (30, 30)), ("LA", (33, 33)), ("F", (20, 20)), ("L", (1, 1))])
        img = Image.fromarray(np.random.default_rng(i).integers(0, 255, size[::-1], dtype=np.uint8)).convert(mode) \
            if mode not in ("I;16", "F") else Image.new(mode, size)
        fmt = "TIFF" if mode in ("CMYK", "F", "I;16") else "PNG"
        buf = io.BytesIO()
        img.save(buf, fmt)
        return f"odd.{'tif' if fmt == 'TIFF' else 'png'}", buf.getvalue()

    def text_as_image(i):
        return "notes.png", b"this is not an image\n" * rng.randint(1, 100)

    def bad_zip(i):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            kind = i % 4
            if kind == 0:
                z.writestr("../../escape.png", EYE.read_bytes())
            elif kind == 1:
                z.writestr("open/bomb.png", b"\0" * 30_000_000)
            elif kind == 2:
                z.writestr("open/nested.zip", b"PK\x03\x04junk")
                z.writestr("closed/readme.txt", "hello")
            else:
                info = zipfile.ZipInfo("open/link.png")
                info.external_attr = (0o120777 << 16)
                z.writestr(info, "/etc/passwd")
        return "hostile.zip", buf.getvalue()

    makers = [corrupt, truncated, random_bytes, huge, odd_mode, text_as_image, bad_zip]
    out = []
    for i in range(n):
        maker = makers[i % len(makers)]
        name, data = maker(i)
        path = folder / f"{i:04d}_{name}"
        path.write_bytes(data)
        out.append((maker.__name__, path))
    return out


def fuzz(n: int) -> dict:
    from gradio_client import Client, handle_file

    port = free_port()
    proc = start_app(port)
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    counts = {"clear_message": 0, "accepted": 0, "unhandled": 0}
    unhandled = []
    mem0 = rss_mb(proc.pid)
    with tempfile.TemporaryDirectory() as tmp:
        for kind, path in hostile_inputs(n, Path(tmp)):
            try:
                if path.suffix == ".zip":
                    client.predict([], "sample_images (shipped)", handle_file(str(path)), 0, api_name="/evaluate")
                else:
                    client.predict(handle_file(str(path)), False, api_name="/predict")
                counts["accepted"] += 1  # e.g. an odd but valid image mode was classified
            except Exception as exc:  # noqa: BLE001 - classify what the client saw
                msg = str(exc)
                if "has raised an exception" in msg or "Traceback" in msg or not msg.strip():
                    counts["unhandled"] += 1
                    unhandled.append(f"{kind}: {msg[:200]}")
                else:
                    counts["clear_message"] += 1
            if proc.poll() is not None:
                break
        alive = proc.poll() is None
        ok = False
        if alive:
            res = client.predict(handle_file(str(EYE)), False, api_name="/predict")
            ok = bool(res[2]["eyes"]) and all(m["label"] in ("open", "closed", "uncertain")
                                              for m in res[2]["eyes"][0]["models"].values())
    mem1 = rss_mb(proc.pid) if alive else float("nan")
    proc.terminate()
    return {"inputs": n, **counts, "server_crashed": not alive, "valid_request_after": ok,
            "rss_mb_before": round(mem0, 1), "rss_mb_after": round(mem1, 1), "unhandled_examples": unhandled[:5]}


def load(clients: int, requests: int) -> dict:
    from gradio_client import Client, handle_file

    port = free_port()
    proc = start_app(port)
    url = f"http://127.0.0.1:{port}/"
    warm = Client(url, verbose=False)
    warm.predict(handle_file(str(EYE)), False, api_name="/predict")
    mem0 = rss_mb(proc.pid)
    latencies, errors = [], []

    def worker(k):
        c = Client(url, verbose=False)
        for j in range(requests):
            t0 = time.perf_counter()
            try:
                c.predict(handle_file(str(EYE if (k + j) % 2 else FACE)), False, api_name="/predict")
                latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001
                errors.append(str(exc)[:200])

    t0 = time.time()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    wall = time.time() - t0
    mem1 = rss_mb(proc.pid)
    proc.terminate()
    lat = np.array(latencies) * 1000
    return {"clients": clients, "requests_each": requests, "ok": len(latencies), "errors": len(errors),
            "error_examples": errors[:3], "p50_ms": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
            "p95_ms": round(float(np.percentile(lat, 95)), 1) if len(lat) else None, "wall_s": round(wall, 1),
            "rss_mb_before": round(mem0, 1), "rss_mb_after": round(mem1, 1), "rss_growth_mb": round(mem1 - mem0, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fuzz", help="send hostile inputs to /predict and /evaluate, then one valid request")
    f.add_argument("--n", type=int, default=500)
    ld = sub.add_parser("load", help="concurrent gradio_client users calling /predict")
    ld.add_argument("--clients", type=int, default=16)
    ld.add_argument("--requests", type=int, default=25)
    for sp in (f, ld):
        sp.add_argument("--json", help="also write the result here")
    args = p.parse_args()
    result = fuzz(args.n) if args.cmd == "fuzz" else load(args.clients, args.requests)
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
