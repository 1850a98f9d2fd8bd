"""Fuzz, load and soak runs against a locally started app (loopback only): `python scripts/stress.py fuzz|load|soak`.

`soak` runs mixed traffic for a fixed number of requests and samples the server's resident memory and the size of
every folder it writes to; `python scripts/stress.py soak --help` lists its options.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
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
            f"max_file_size=app.MAX_FILE_SIZE, state_session_capacity=app.SESSIONS, prevent_thread_lock=False, "
            f"quiet=True)")
    log = tempfile.NamedTemporaryFile(prefix="eyebench_app_", suffix=".log", delete=False)  # a pipe could fill up
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = log.name
    return wait_until_serving(proc, port, Path(log.name), 120)


def wait_until_serving(proc: subprocess.Popen, port: int, log_path: Path, seconds: float) -> subprocess.Popen:
    """Return `proc` once 127.0.0.1:port accepts connections; raise with the log's tail if it exits or times out."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"app exited: {log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"app did not start within {seconds:.0f} s")


def proc_status(pid: int) -> dict[str, str]:
    """The fields of /proc/PID/status (Linux)."""
    return dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc)."""
    rss = proc_status(pid).get("VmRSS")
    return int(rss.split()[0]) / 1024 if rss else float("nan")


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


# -- soak: mixed traffic for a fixed number of requests, memory and disk sampled as it runs --------------------
SOAK_MIX = "crop=2,face=1,evaluate=1,threshold=5,robustness=1"
CROPS = (ROOT / "sample_images" / "synthetic_closed_0.png", ROOT / "sample_images" / "astronaut_eye_left_open.png")
KNOWN = ("eyebench_app_outputs", "gradio")  # the app's output pictures and downloads; Gradio's uploads and cache


def parse_mix(text: str) -> dict[str, float]:
    """'crop=3,face=3,...' -> {kind: weight}; kinds: crop, face, evaluate, threshold, robustness."""
    mix = {}
    for part in filter(None, (t.strip() for t in text.split(","))):
        kind, _, weight = part.partition("=")
        if kind not in ("crop", "face", "evaluate", "threshold", "robustness"):
            raise argparse.ArgumentTypeError(f"unknown request kind {kind!r}")
        mix[kind] = float(weight or 1)
    if not mix or sum(mix.values()) <= 0:
        raise argparse.ArgumentTypeError("the mix needs at least one kind with a positive weight")
    return mix


def tree_size(path: Path) -> tuple[int, int]:
    """Bytes and files under a folder (or of one file); entries removed while walking are skipped."""
    total = files = 0
    stack = [str(path)]
    while stack:
        top = stack.pop()
        try:
            if not os.path.isdir(top) or os.path.islink(top):
                total, files = total + os.lstat(top).st_size, files + 1
                continue
            with os.scandir(top) as entries:
                for e in entries:
                    try:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
                        else:
                            total, files = total + e.stat(follow_symlinks=False).st_size, files + 1
                    except FileNotFoundError:
                        pass
        except FileNotFoundError:
            pass
    return total, files


def folder_label(name: str) -> str | None:
    """How a temp-folder entry is reported: its own name (outputs, gradio), `eyebench_eval_*` style, or `other`."""
    if name in KNOWN:
        return name
    m = re.match(r"(eyebench_[a-z]+_)", name)
    return f"{m.group(1)}*" if m else "other"


def app_folders(tmp: Path, gradio_dir: Path, private: bool) -> dict[str, list[Path]]:
    """Every folder the app writes to, grouped by label. A private temp root (an app this script started) is the
    app's alone, so everything in it counts; in a shared one only the app's own names and Gradio's folder do."""
    groups: dict[str, list[Path]] = {}
    try:
        entries = list(tmp.iterdir())
    except FileNotFoundError:
        entries = []
    for entry in entries:
        label = folder_label(entry.name)
        if label == "other" and not private:
            continue
        groups.setdefault(label, []).append(entry)
    if gradio_dir.resolve().parent != tmp.resolve():  # GRADIO_TEMP_DIR points elsewhere
        groups["gradio"] = [gradio_dir]
    return groups


def proc_env(pid: int) -> dict[str, str]:
    """The environment a running process started with (Linux /proc)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(kv.split("=", 1) for kv in raw.decode(errors="replace").split("\0") if "=" in kv)


class Sampler(threading.Thread):
    """Every `interval` seconds: the server's RSS and threads, and the size of each folder it writes to."""

    def __init__(self, pid, tmp: Path, gradio_dir: Path, private: bool, interval: float, progress):
        super().__init__(daemon=True)
        self.pid, self.tmp, self.gradio_dir, self.private = pid, tmp, gradio_dir, private
        self.interval, self.progress = interval, progress
        self.samples: list[dict] = []
        self.stop = threading.Event()
        self.t0 = time.time()

    def sample(self) -> dict:
        row = {"t_s": round(time.time() - self.t0, 1), **self.progress()}
        if self.pid:
            try:
                st = proc_status(self.pid)
                row["rss_mb"] = round(int(st["VmRSS"].split()[0]) / 1024, 1)
                row["threads"] = int(st["Threads"])
            except (OSError, KeyError):
                row["rss_mb"] = row["threads"] = None
        sizes = {}
        for label, paths in sorted(app_folders(self.tmp, self.gradio_dir, self.private).items()):
            b = n = 0
            for path in paths:
                pb, pn = tree_size(path)
                b, n = b + pb, n + pn
            sizes[label] = {"mb": round(b / 2**20, 3), "files": n, "entries": len(paths)}
        row["folders"] = sizes
        row["folders_mb"] = round(sum(v["mb"] for v in sizes.values()), 3)
        self.samples.append(row)
        return row

    def run(self):
        while not self.stop.wait(self.interval):
            self.sample()


class Pictures:
    """The uploads: the sample eye crops and face picture, or (a share `new` of the time) a picture never sent
    before: the same one with a small random brightness change, written to a client-side folder."""

    def __init__(self, folder: Path, new: float):
        self.folder, self.new = folder, new
        self.count = 0
        self.lock = threading.Lock()

    def pick(self, kind: str, rng: random.Random) -> Path:
        src = FACE if kind == "face" else rng.choice(CROPS)
        if rng.random() >= self.new:
            return src
        with self.lock:
            self.count += 1
            n = self.count
        rgb = np.asarray(Image.open(src).convert("RGB")).astype(np.int16)
        rgb = np.clip(rgb + rng.randint(-12, 12) + np.random.default_rng(n).integers(-2, 3, rgb.shape), 0, 255)
        path = self.folder / f"{n:06d}_{src.stem}.png"
        Image.fromarray(rgb.astype(np.uint8)).save(path)
        return path


def soak_call(client, kind: str, rng: random.Random, pictures: Pictures, visit: dict) -> None:
    """One request of the given kind; raises when the answer is an error or lacks what it should hold."""
    from gradio_client import handle_file

    if kind in ("crop", "face"):
        path = pictures.pick(kind, rng)
        try:
            out = client.predict(handle_file(str(path)), kind == "crop", api_name="/predict")
        finally:
            if path.parent == pictures.folder:
                path.unlink(missing_ok=True)
        eyes = out[2]["eyes"]
        if not eyes or not all(m["label"] in ("open", "closed", "uncertain") for e in eyes
                               for m in e["models"].values()):
            raise AssertionError(f"{kind}: no classified eye in the answer: {str(out[2])[:200]}")
    elif kind == "evaluate":  # the default models, test set (the first offered) and bootstrap
        out = client.predict(zip_file=None, api_name="/evaluate")
        if not out[0] or not out[1]:
            raise AssertionError(f"evaluate: empty note or table: {str(out)[:200]}")
        model = out[6]  # the Threshold tab's model dropdown: the API answers skip the state component
        visit["models"] = [model["value"] if isinstance(model, dict) else model]
        choices = model.get("choices") if isinstance(model, dict) else None
        if choices:
            visit["models"] = [c[0] if isinstance(c, (list, tuple)) else c for c in choices]
    elif kind == "threshold":
        low, high = sorted((round(rng.random(), 3), round(rng.random(), 3)))
        out = client.predict(rng.choice(visit["models"]), low, high, api_name="/threshold")
        if "band" not in out[0]:
            raise AssertionError(f"threshold: no band statistics: {str(out[0])[:200]}")
    else:
        out = client.predict(zip_file=None, api_name="/robustness")
        if not out[0]:
            raise AssertionError(f"robustness: empty answer: {str(out)[:200]}")


def probe_threshold(url: str) -> tuple[bool, str]:
    """Whether a new visitor can move the band before any evaluation (the app opens on a held-out bundle), and
    the Threshold tab's default model."""
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    params = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/threshold"]["parameters"]
    model = next(p["parameter_default"] for p in params if p["parameter_name"] == "model")
    try:
        client.predict(model, 0.3, 0.7, api_name="/threshold")
        return True, model
    except Exception:  # noqa: BLE001 - "run an evaluation first"
        return False, model


def start_app_py(port: int, env: dict, log_path: Path) -> subprocess.Popen:
    """`python app.py` as a Space runs it, on 127.0.0.1:port with the given extra environment."""
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", **env}
    log = open(log_path, "wb")  # noqa: SIM115 - the child writes to it for its whole life; a pipe could fill up
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    return wait_until_serving(proc, port, log_path, 300)


def soak(args) -> dict:
    """Run the soak and return its record (samples, per-kind counts and latencies, growth after the warm-up)."""
    from gradio_client import Client

    mix = parse_mix(args.mix)
    client_dir = Path(tempfile.mkdtemp(prefix="eyebench_soak_client_"))  # never inside the app's temp root
    proc = None
    if args.url:
        url, pid = args.url, args.pid
        env = proc_env(pid) if pid else {}
        tmp = Path(env.get("TMPDIR") or env.get("TEMP") or env.get("TMP") or tempfile.gettempdir())
        private = False
    else:
        tmp = Path(args.app_tmp or tempfile.mkdtemp(prefix="eyebench_soak_app_"))
        tmp.mkdir(parents=True, exist_ok=True)
        env = {"TMPDIR": str(tmp), **dict(kv.split("=", 1) for kv in args.app_env)}
        port = free_port()
        t_start = time.time()
        proc = start_app_py(port, env, client_dir / "app.log")
        url, pid, private = f"http://127.0.0.1:{port}/", proc.pid, True
        print(f"app started in {time.time() - t_start:.0f} s (pid {pid}, temp root {tmp})", file=sys.stderr)
    gradio_dir = Path(env.get("GRADIO_TEMP_DIR") or tmp / "gradio")

    opens_on_bundle, default_model = probe_threshold(url)
    first_kind = "threshold" if opens_on_bundle else "evaluate"
    rng = random.Random(args.seed)
    kinds, weights = list(mix), list(mix.values())
    plan = rng.choices(kinds, weights, k=args.requests)
    lock = threading.Lock()
    done = {"requests": 0, "errors": 0}
    latencies: dict[str, list[float]] = {k: [] for k in (*kinds, "evaluate")}
    errors: list[str] = []
    pictures = Pictures(client_dir, args.new_pictures)
    sampler = Sampler(pid, tmp, gradio_dir, private, args.interval, lambda: dict(done))
    first = sampler.sample()
    print(f"before: rss {first.get('rss_mb')} MB, folders {first['folders_mb']} MB", file=sys.stderr)
    sampler.start()
    next_index = iter(range(args.requests))

    def take() -> int | None:
        with lock:
            return next(next_index, None)

    def worker(k: int) -> None:
        crng = random.Random(args.seed * 1000 + k)
        client, visit, used = None, {}, 0
        while (i := take()) is not None:
            kind = plan[i]
            if client is None or (args.visit_requests and used >= args.visit_requests):
                # a new visitor: on an app that opens on the held-out bundle, the page load fills the Threshold tab
                # from it (this visitor's own copy of the state); otherwise the visitor evaluates first
                client, visit, used = Client(url, verbose=False, download_files=False), {"models": [default_model]}, 0
                kind = first_kind
            t0 = time.perf_counter()
            try:
                soak_call(client, kind, crng, pictures, visit)
                ok = True
            except Exception as exc:  # noqa: BLE001 - every failure counts, whatever raised it
                ok = False
                with lock:
                    errors.append(f"{kind}: {str(exc)[:300]}")
            used += 1
            with lock:
                done["requests"] += 1
                done["errors"] += not ok
                if ok:
                    latencies[kind].append(time.perf_counter() - t0)
                n = done["requests"]
            if args.verbose and n % 100 == 0:
                print(f"{n} requests, {done['errors']} errors, rss {rss_mb(pid) if pid else '?'} MB",
                      file=sys.stderr)

    t0 = time.time()
    try:
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(worker, range(args.clients)))
    finally:
        wall = time.time() - t0
        sampler.stop.set()
        sampler.join()
        last = sampler.sample()
        alive = proc.poll() is None if proc else None
        if proc:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if private and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(client_dir, ignore_errors=True)
    samples = sampler.samples
    args.opens_on_bundle = opens_on_bundle
    return summarise(args, samples, latencies, errors, done, wall, alive, last)


def summarise(args, samples, latencies, errors, done, wall, alive, last) -> dict:
    """The soak's figures: errors, latency per kind, RSS growth after the warm-up, folder sizes; pass or fail."""
    with_rss = [s for s in samples if s.get("rss_mb") is not None]
    warm = next((s for s in with_rss if s["requests"] >= args.warmup), None)
    after = [s for s in with_rss if warm and s["t_s"] >= warm["t_s"]]
    rss_growth = round(last["rss_mb"] - warm["rss_mb"], 1) if warm and last.get("rss_mb") is not None else None
    peak_growth = round(max(s["rss_mb"] for s in after) - warm["rss_mb"], 1) if after else None
    labels = sorted({k for s in samples for k in s["folders"]})
    folders = {k: {"start_mb": samples[0]["folders"].get(k, {}).get("mb", 0.0),
                   "max_mb": max(s["folders"].get(k, {}).get("mb", 0.0) for s in samples),
                   "end_mb": last["folders"].get(k, {}).get("mb", 0.0),
                   "max_files": max(s["folders"].get(k, {}).get("files", 0) for s in samples)} for k in labels}
    folders_max = round(max(s["folders_mb"] for s in samples), 2)
    lat = {k: {"n": len(v), "p50_ms": round(float(np.percentile(v, 50)) * 1000, 1),
               "p95_ms": round(float(np.percentile(v, 95)) * 1000, 1)} for k, v in latencies.items() if v}
    passed = (done["errors"] == 0 and done["requests"] == args.requests and alive is not False
              and rss_growth is not None and max(rss_growth, peak_growth) <= args.max_growth_mb
              and folders_max <= args.max_folders_mb)
    ram_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "command": "python scripts/stress.py " + " ".join(sys.argv[1:]),
        "machine": {"arch": platform.machine(), "cpus": os.cpu_count(), "ram_gb": ram_gb,
                    "python": sys.version.split()[0]},
        "clients": args.clients, "requests": done["requests"], "errors": done["errors"],
        "error_examples": errors[:5], "server_alive_at_end": alive, "wall_s": round(wall, 1),
        "visits_open_with": "threshold" if args.opens_on_bundle else "evaluate",
        "mix": parse_mix(args.mix), "new_pictures": args.new_pictures, "visit_requests": args.visit_requests,
        "app_env": list(args.app_env), "latency": lat,
        "rss_mb": {"start": samples[0].get("rss_mb"), "at_warmup": warm and warm["rss_mb"], "end": last.get("rss_mb"),
                   "max": max((s["rss_mb"] for s in with_rss), default=None)},
        "warmup_requests": args.warmup, "rss_growth_after_warmup_mb": rss_growth,
        "rss_peak_growth_after_warmup_mb": peak_growth,
        "threads": {"start": samples[0].get("threads"), "end": last.get("threads"),
                    "max": max((s["threads"] for s in with_rss if s.get("threads")), default=None)},
        "folders": folders, "folders_max_mb": folders_max,
        "limits": {"max_growth_mb": args.max_growth_mb, "max_folders_mb": args.max_folders_mb}, "passed": passed,
        "samples": samples,
    }


def plot_soak(result: dict, path: Path) -> None:
    """RSS and threads, and each folder's size, against the requests answered (PNG with matplotlib, else SVG)."""
    s = result["samples"]
    x = [r["requests"] for r in s]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        path = path.with_suffix(".svg")
        path.write_text(svg_lines(x, [r.get("rss_mb") or 0 for r in s], "RSS (MB) vs requests"))
        return
    fig, (a, b) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    a.plot(x, [r.get("rss_mb") for r in s], color="tab:blue", label="server RSS")
    warm = result["rss_mb"]["at_warmup"]
    if warm is not None:
        a.axvline(result["warmup_requests"], color="gray", ls=":", lw=1)
        a.axhspan(warm, warm + result["limits"]["max_growth_mb"], color="tab:green", alpha=0.12,
                  label=f"+{result['limits']['max_growth_mb']:.0f} MB after {result['warmup_requests']} requests")
    a.set_ylabel("RSS (MB)")
    a.legend(loc="lower right", fontsize=8)
    t = a.twinx()
    t.plot(x, [r.get("threads") for r in s], color="tab:orange", lw=0.8, alpha=0.7)
    t.set_ylabel("threads", color="tab:orange")
    for label in sorted({k for r in s for k in r["folders"]}):
        b.plot(x, [r["folders"].get(label, {}).get("mb", 0) for r in s], label=label)
    b.plot(x, [r["folders_mb"] for r in s], color="black", lw=1, ls="--", label="all")
    b.set_ylabel("folder size (MB)")
    b.set_xlabel("requests answered")
    b.legend(loc="upper left", fontsize=8)
    a.set_title(f"soak: {result['clients']} clients, {result['requests']} requests, {result['errors']} errors",
                fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def svg_lines(x, y, title: str, w: int = 640, h: int = 240) -> str:
    """A bare SVG line chart (used when matplotlib is missing)."""
    x0, x1, y0, y1 = min(x), max(x) or 1, min(y), max(y)
    sx = lambda v: 40 + (w - 50) * (v - x0) / ((x1 - x0) or 1)  # noqa: E731
    sy = lambda v: h - 20 - (h - 40) * (v - y0) / ((y1 - y0) or 1)  # noqa: E731
    pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x, y))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><text x="40" y="14" font-size="12">'
            f'{title} ({y0:.0f}-{y1:.0f})</text><polyline fill="none" stroke="steelblue" points="{pts}"/></svg>')


def add_soak_parser(sub) -> None:
    sk = sub.add_parser(
        "soak", help="sustained mixed traffic; samples the server's RSS and folder sizes (JSON + plot)",
        description="N clients share a fixed number of requests (predict on an eye crop and a face picture, "
                    "evaluate and robustness on the default test set, threshold moves) while the server's resident "
                    "memory and the size of every folder it writes to are sampled. Starts `python app.py` on a free "
                    "port with a private temp folder (so every file it writes is counted), unless --url is given. "
                    "Exits 1 when a limit is exceeded.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sk.add_argument("--clients", type=int, default=8, help="concurrent gradio_client users")
    sk.add_argument("--requests", type=int, default=2000, help="requests in all, shared by the clients")
    sk.add_argument("--mix", default=SOAK_MIX,
                    help="request kinds and their weights: crop (an eye crop, whole image), face (a face picture, "
                         "eyes detected), evaluate, threshold (random band), robustness; predictions include maps")
    sk.add_argument("--new-pictures", type=float, default=0.25,
                    help="share of predict requests that upload a picture never sent before (a sample with a small "
                         "random brightness change), so new output files keep being written")
    sk.add_argument("--visit-requests", type=int, default=100,
                    help="a client leaves and comes back as a new visitor (a fresh page with its own state) after "
                         "this many requests; 0: never")
    sk.add_argument("--interval", type=float, default=2.0, help="seconds between samples")
    sk.add_argument("--warmup", type=int, default=500, help="requests after which RSS growth is measured")
    sk.add_argument("--max-growth-mb", type=float, default=50.0,
                    help="limit on RSS growth after the warm-up (at the end and at its peak)")
    sk.add_argument("--max-folders-mb", type=float, default=300.0,
                    help="limit on the size of all folders the app writes to, together, at any sample")
    sk.add_argument("--seed", type=int, default=0, help="seed of the request plan and the pictures")
    sk.add_argument("--app-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for the started app (repeatable), e.g. MALLOC_ARENA_MAX=2")
    sk.add_argument("--app-tmp", help="the started app's temp folder (TMPDIR); default: a fresh one, removed after")
    sk.add_argument("--url", help="attach to a running app at this URL instead of starting one")
    sk.add_argument("--pid", type=int, help="with --url: the server's process id (for RSS, threads and its TMPDIR)")
    sk.add_argument("--keep", action="store_true", help="keep the temp folders (the app's log is in the client one)")
    sk.add_argument("--json", help="write the result here (with every sample)")
    sk.add_argument("--plot", help="write the plot here (PNG; SVG when matplotlib is missing)")
    sk.add_argument("--verbose", action="store_true", help="print progress every 100 requests")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fuzz", help="send hostile inputs to /predict and /evaluate, then one valid request",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    f.add_argument("--n", type=int, default=500, help="hostile inputs to send")
    ld = sub.add_parser("load", help="concurrent gradio_client users calling /predict",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ld.add_argument("--clients", type=int, default=16, help="concurrent gradio_client users")
    ld.add_argument("--requests", type=int, default=25, help="requests per client")
    for sp in (f, ld):
        sp.add_argument("--json", help="also write the result here")
    add_soak_parser(sub)
    args = p.parse_args()
    if args.cmd == "soak":
        if args.pid and not args.url:
            p.error("--pid needs --url (the app to send requests to)")
        result = soak(args)
        if args.plot:
            plot_soak(result, Path(args.plot))
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(result, indent=1))
        print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))
        return 0 if result["passed"] else 1
    result = fuzz(args.n) if args.cmd == "fuzz" else load(args.clients, args.requests)
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
