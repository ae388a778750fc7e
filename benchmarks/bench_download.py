"""Download speed and memory of video.download beside curl, against nginx on loopback.

    python benchmarks/bench_download.py [--size-mib 512] [--runs 5]

Starts a private nginx (Debian package `nginx` or `nginx-light`; installed with apt-get
if missing) on a free 127.0.0.1 port with its config, pid, logs and temp paths in a temp
dir, serves a random file of the given size, then alternates `curl -s -o FILE URL` and our
downloader (`fetch_to_file_sync`, each run in a fresh Python process so its peak RSS is its
own), deleting the outputs and running sync(2) between runs (outside the timing, so no run
inherits the write-back of the one before). Prints a table and writes it to
benchmarks/results-download.txt. nginx is stopped at the end, also on error or Ctrl-C.

Timing: curl is timed from outside (process start to exit). Ours is timed inside the child
around the `fetch_to_file_sync` call only (Python start-up and imports excluded), and that
call also computes the sha256 of every byte and fsyncs the file and the folder before
renaming it, which curl does not do. Peak RSS is `/usr/bin/time -f %M` of each child.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results-download.txt"
NGINX_BINARY = "/usr/sbin/nginx"
TIME_BINARY = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
MiB = 1 << 20
MB = 1_000_000
TARGET_RATIO = 0.7
TARGET_RSS_MIB = 64

# Runs in a fresh interpreter: one download, its own timing, one JSON line on stdout.
CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from starvideos_tui.video import download
    from starvideos_tui.video.download import fetch_to_file_sync
    url, final, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    if mode == "no-sha256":  # diagnostic only: what the inline hash costs
        class _NoHash:
            def update(self, data): pass
            def hexdigest(self): return ""
        download.hashlib = type("_H", (), {"sha256": staticmethod(_NoHash)})
    if mode == "no-fsync":  # diagnostic only: what durability costs
        os.fsync = lambda fd: None
    start = time.perf_counter()
    saved = fetch_to_file_sync(url, final)
    seconds = time.perf_counter() - start
    hwm = next(int(line.split()[1]) for line in open("/proc/self/status")
               if line.startswith("VmHWM:"))
    print(json.dumps({"seconds": seconds, "size": saved.size, "sha256": saved.sha256,
                      "path": str(saved.path), "vmhwm_kib": hwm}))
    """
)


class BenchError(Exception):
    """Something the user must fix; printed as one line."""


@dataclass
class Tool:
    name: str
    seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + sys seconds of the process
    hwm_kib: list[int] = field(default_factory=list)  # ours only: VmHWM seen from inside


# -- nginx -------------------------------------------------------------------------------


def find_nginx() -> str:
    found = shutil.which("nginx") or (NGINX_BINARY if os.access(NGINX_BINARY, os.X_OK) else None)
    if found:
        return found
    print("nginx is not on PATH: installing the Debian package nginx-light (apt-get install -y)")
    install = ["apt-get", "install", "-y", "--no-install-recommends", "nginx-light"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, check=False).returncode != 0:
        print("apt-get install failed; running apt-get update and trying once more")
        subprocess.run(["apt-get", "update"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    found = shutil.which("nginx") or (NGINX_BINARY if os.access(NGINX_BINARY, os.X_OK) else None)
    if not found:
        raise BenchError("nginx is not installed and apt-get could not install nginx-light")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_config(nginx: str, prefix: Path, www: Path, port: int) -> str:
    built = subprocess.run([nginx, "-V"], capture_output=True, text=True, check=False).stderr
    temp_paths = ["client_body_temp_path", "proxy_temp_path"]
    for module in ("fastcgi", "uwsgi", "scgi"):
        if f"--without-http_{module}_module" not in built:
            temp_paths.append(f"{module}_temp_path")
    temps = "\n".join(f"    {name} {prefix / name};" for name in temp_paths)
    return textwrap.dedent(
        """\
        daemon off;
        master_process on;
        worker_processes 1;
        pid {pid};
        error_log {log} warn;
        events {{ worker_connections 64; }}
        http {{
            access_log off;
        {temps}
            sendfile on;
            tcp_nopush on;
            keepalive_timeout 10;
            default_type application/octet-stream;
            server {{
                listen 127.0.0.1:{port};
                root {www};
                location / {{ }}
            }}
        }}
        """
    ).format(pid=prefix / "nginx.pid", log=prefix / "error.log", temps=temps, port=port, www=www)


@contextlib.contextmanager
def running_nginx(nginx: str, prefix: Path, www: Path) -> Iterator[int]:
    """nginx in the foreground as our child, on a free port; stopped however we leave."""
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(nginx, prefix, www, port))
    command = [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    check = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise BenchError(f"nginx refused the config: {check.stderr.strip()}")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise BenchError(f"nginx exited at start ({process.returncode}): {stderr.strip()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise BenchError(f"nginx did not listen on 127.0.0.1:{port} within 10 s")
            time.sleep(0.05)
        yield port
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM: nginx's fast shutdown, workers included
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr:
            process.stderr.close()


# -- the runs ------------------------------------------------------------------------------


def make_source(path: Path, size: int) -> str:
    """A real video padded to `size` bytes with a `free` box of random bytes: only a file
    that decodes as a video is called saved, so the benchmark fetches one."""
    from starvideos_tui.simulator.video import sample_video

    video = sample_video(3).data
    digest = hashlib.sha256(video)
    left = size - len(video)
    header = struct.pack(">I4sQ", 1, b"free", left)  # the 64-bit size form: any size
    digest.update(header)
    left -= len(header)
    with path.open("wb") as handle:
        handle.write(video + header)
        while left:
            block = os.urandom(min(4 * MiB, left))
            handle.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def run_child(
    command: list[str], env: dict[str, str] | None = None
) -> tuple[float, int, float, str]:
    """Run `command`; (wall s, peak RSS KiB of that program alone, CPU s (user+sys), stdout).

    The peak comes from `/usr/bin/time -f %M`: wait4() from this Python process would floor
    it at our own RSS, since Linux carries the pre-exec high-water mark of a forked child
    into its ru_maxrss.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        timed = [TIME_BINARY, "-f", "%M", "-o", rss_file.name, *command] if TIME_BINARY else command
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        process = subprocess.Popen(timed, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        out, err = process.communicate()
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if process.returncode != 0:
            tail = err.decode(errors="replace").strip()[-600:]
            raise BenchError(f"{command[0]} failed ({process.returncode}): {tail}")
        if TIME_BINARY:
            rss = int(rss_file.read().strip().splitlines()[-1])
        else:  # no GNU time: the wait4 figure, an upper bound
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, rss, cpu, out.decode()


def run_curl(url: str, out: Path, size: int, tool: Tool, *, sync: bool = False) -> None:
    command = ["curl", "-s", "-o", str(out), url]
    if sync:  # curl, then fsync of its file (coreutils `sync FILE`): the same durability
        command = ["sh", "-c", 'curl -s -o "$1" "$2" && sync "$1"', "sh", str(out), url]
    seconds, rss, cpu, _ = run_child(command)
    if out.stat().st_size != size:
        raise BenchError(f"curl wrote {out.stat().st_size} bytes, expected {size}")
    tool.seconds.append(seconds)
    tool.rss_kib.append(rss)
    tool.cpu.append(cpu)


def run_ours(
    url: str,
    out: Path,
    size: int,
    sha256: str,
    tool: Tool,
    mode: str = "full",
    whole: Tool | None = None,
) -> None:
    """One download in a fresh process; `whole`, if given, gets that process's wall time."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    wall, rss, cpu, stdout = run_child([sys.executable, "-c", CHILD, url, str(out), mode], env)
    result = json.loads(stdout.strip().splitlines()[-1])
    expected = (size, "" if mode == "no-sha256" else sha256)
    if (result["size"], result["sha256"]) != expected or Path(result["path"]) != out:
        raise BenchError(f"our download is wrong: {result}")
    tool.seconds.append(float(result["seconds"]))
    tool.rss_kib.append(rss if TIME_BINARY else int(result["vmhwm_kib"]))
    tool.hwm_kib.append(int(result["vmhwm_kib"]))
    tool.cpu.append(cpu)
    if whole is not None:
        whole.seconds.append(wall)
        whole.rss_kib.append(rss)
        whole.cpu.append(cpu)


def clean_outputs(folder: Path) -> None:
    """Delete the outputs and write back everything dirty, so no run inherits the write-back
    (or the discards of a deleted file) of the run before it."""
    for path in folder.iterdir():
        path.unlink()
    os.sync()


def version_of(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "?"


def report(
    curl: Tool, ours: Tool, references: list[tuple[Tool, str]], size: int, runs: int, nginx: str
) -> str:
    def row(tool: Tool, base: float) -> str:
        median = statistics.median(tool.seconds)
        speed = size / median / MB
        return (
            f"{tool.name:<26}{median:>10.3f}{speed:>12.1f}{speed / base:>8.2f}"
            f"{max(tool.rss_kib) / 1024:>14.1f}{statistics.median(tool.cpu):>8.2f}"
        )

    curl_speed = size / statistics.median(curl.seconds) / MB
    ours_speed = size / statistics.median(ours.seconds) / MB
    ratio = ours_speed / curl_speed
    peak = max(ours.rss_kib) / 1024
    lines = [
        f"download benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"file {size // MiB} MiB of random bytes from nginx on 127.0.0.1, {runs} runs each, "
        "interleaved (the order rotates every round)",
        f"{version_of([nginx, '-v'])}; {' '.join(version_of(['curl', '--version']).split()[:2])}; "
        f"Python {platform.python_version()}; {os.cpu_count()} CPUs; {platform.machine()}",
        "",
        f"{'tool':<26}{'median s':>10}{'median MB/s':>12}{'ratio':>8}"
        f"{'peak RSS MiB':>14}{'CPU s':>8}",
        row(curl, curl_speed),
        row(ours, curl_speed),
        *(f"{row(tool, curl_speed)}   ({note})" for tool, note in references),
        "",
        "MB = 10^6 bytes; ratio = throughput / curl's; peak RSS = max over runs",
        "(/usr/bin/time -f %M of each process); CPU s = median user+sys of the whole process",
        "(ours: Python start-up and imports included, about 0.1 s).",
        "ours = starvideos_tui.video.download.fetch_to_file_sync in a fresh process, timed around",
        "the call: it includes the sha256 of every byte and the fsync of the file and folder",
        "(curl does neither); curl is timed from process start to exit, and so is the",
        "'whole process' row (the same runs of ours, interpreter start-up and imports",
        "included). The curl row with `sync FILE` adds an fsync after curl, for a",
        "like-for-like durability reference.",
        f"cross-check: ours' own VmHWM (/proc/self/status) peaked at "
        f"{max(ours.hwm_kib) / 1024:.1f} MiB.",
        "",
        "per run, seconds:",
        *(
            f"  {t.name}: {', '.join(f'{s:.3f}' for s in t.seconds)}"
            for t in (curl, ours, *(r for r, _ in references))
        ),
        "",
        f"target ratio >= {TARGET_RATIO}: {'PASS' if ratio >= TARGET_RATIO else 'FAIL'} "
        f"({ratio:.2f}); target peak RSS < {TARGET_RSS_MIB} MiB: "
        f"{'PASS' if peak < TARGET_RSS_MIB else 'FAIL'} ({peak:.1f} MiB)",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=512, help="file size (default 512)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each tool (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir for a look")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also run ours without the sha256 and without the fsync (diagnostic rows)",
    )
    args = parser.parse_args(argv)
    if args.size_mib < 1 or args.runs < 1:
        parser.error("--size-mib and --runs must be 1 or more")

    # A plain `kill` must still stop nginx: turn SIGTERM into an exception that unwinds.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if not shutil.which("curl"):
            raise BenchError("curl is not installed (apt-get install -y curl)")
        nginx = find_nginx()
        work = Path(tempfile.mkdtemp(prefix="bench-download-"))
        try:
            www, out = work / "www", work / "out"
            www.mkdir()
            out.mkdir()
            # nginx's workers run as an unprivileged user when started as root.
            for folder in (work, www):
                folder.chmod(0o755)
            size = args.size_mib * MiB
            print(f"creating {args.size_mib} MiB of random bytes in {www} ...", flush=True)
            sha256 = make_source(www / "video.bin", size)
            (www / "video.bin").chmod(0o644)
            with running_nginx(nginx, work, www) as port:
                url = f"http://127.0.0.1:{port}/video.bin"
                print(f"nginx ({nginx}) serving {url}", flush=True)
                curl = Tool("curl -s -o")
                ours = Tool("ours (+sha256, +fsync)")
                whole = Tool("ours, whole process")
                synced = Tool("curl -s -o; sync FILE")
                runners: list[tuple[Tool, Callable[[], None]]] = [
                    (curl, lambda: run_curl(url, out / "curl.bin", size, curl)),
                    (
                        ours,
                        lambda: run_ours(url, out / "ours.mp4", size, sha256, ours, whole=whole),
                    ),
                    (synced, lambda: run_curl(url, out / "curl.bin", size, synced, sync=True)),
                ]
                references = [
                    (whole, "the same runs timed from outside, Python start-up included"),
                    (synced, "reference: curl with fsync"),
                ]
                if args.breakdown:
                    for mode in ("no-sha256", "no-fsync"):
                        tool = Tool(f"ours, {mode.replace('-', ' ')}")
                        references.append((tool, "diagnostic"))
                        runners.append(
                            (
                                tool,
                                functools.partial(
                                    run_ours, url, out / "ours.mp4", size, sha256, tool, mode
                                ),
                            )
                        )
                for n in range(args.runs):
                    # Rotate the order, so no tool always runs first on a cold cache.
                    turn = n % len(runners)
                    for _, run in runners[turn:] + runners[:turn]:
                        run()
                        clean_outputs(out)
                    done = ", ".join(f"{t.name} {t.seconds[-1]:.3f} s" for t, _ in runners)
                    print(f"run {n + 1}/{args.runs}: {done}", flush=True)
            print("nginx stopped")
            table = report(curl, ours, references, size, args.runs, nginx)
        finally:
            if args.keep:
                print(f"kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    except BenchError as exc:
        print(f"bench_download: {exc}", file=sys.stderr)
        return 1
    print()
    print(table, end="")
    RESULTS.write_text(table)
    print(f"\n(written to {RESULTS.relative_to(REPO)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
