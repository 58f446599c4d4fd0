#!/usr/bin/env python3
"""Runs ingestd and its peers side by side and writes bench/results/.

Called by bench/run.sh (``make bench``) once every binary is built.  What
is measured, and how, is described in bench/README.md; in short:

* every server runs pinned to one core (SERVER_CPU), with one thread or
  worker, and every load generator to the other (LOAD_CPU);
* phase 1 (saturation): wrk with one thread at two connection counts,
  server CPU time (user + system, /proc/PID/stat) per request, heap
  allocations per request, peak RSS;
* phase 2 (fixed rate): bench/load, the open-loop generator, at 25%, 50%
  and 75% of the Go peer's saturation, latency from the scheduled time;
* servers are interleaved (A B C D A B C D ...) over several rounds and
  the report gives medians with their spread; a fixed CPU loop is timed
  on the server's core before each run, so a slowed host shows.

Only the standard library is used.  Nothing is skipped silently: a server
that cannot be built or started, or does not answer 202 to the reference
event, stops the benchmark with an error.
"""

import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
SHARED = os.path.join(os.environ.get(
    "INGESTD_SHARED_DIR", os.path.join(os.path.dirname(ROOT), "shared")),
    "bench")
RESULTS = os.path.join(HERE, "results")
RAW = os.path.join(RESULTS, "raw")

SERVER_CPU = os.environ.get("SERVER_CPU", "0")
LOAD_CPU = os.environ.get("LOAD_CPU", "1")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WRK_SECONDS = float(os.environ.get("BENCH_WRK_SECONDS", "4"))
WRK_CONNS = [int(c) for c in
             os.environ.get("BENCH_WRK_CONNS", "16 128").split()]
RATE_SECONDS = float(os.environ.get("BENCH_RATE_SECONDS", "4"))
RATE_SHARES = [0.25, 0.50, 0.75]
LOAD_CONNS = int(os.environ.get("BENCH_LOAD_CONNS", "128"))
SERVERS = os.environ.get("BENCH_SERVERS", "ingestd go rust nginx").split()
PROFILE = os.environ.get("BENCH_PROFILE", "1") == "1"
QUIET_BUDGET_S = float(os.environ.get("BENCH_QUIET_WAIT", "60"))

EVENT = os.path.join(SHARED, "event.json")
ESCAPED = os.path.join(SHARED, "event-escaped.json")
NDJSON = os.path.join(SHARED, "events-1000.ndjson")
LOAD = os.path.join(BUILD, "bench", "load")
ALLOC_SO = os.path.join(BUILD, "alloc_count.so")
CLK_TCK = os.sysconf("SC_CLK_TCK")
T0 = time.monotonic()

LABELS = {
    "ingestd": "ingestd (C)",
    "go": "Go net/http + encoding/json",
    "rust": "Rust hyper + serde (borrowed)",
    "nginx": "nginx constant 202",
}


class BenchError(Exception):
    pass


def log(msg):
    print("bench [%5.0fs] %s" % (time.monotonic() - T0, msg),
          file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_request(port, method, path, body=None, timeout=5.0):
    """One request on a fresh connection; returns (status, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body else {}
        conn.request(method, path, body=body, headers=headers)
        rsp = conn.getresponse()
        return rsp.status, rsp.read()
    finally:
        conn.close()


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------- /proc

def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = read_file("/proc/%s/stat" % entry).decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def cpu_seconds(pids):
    """User + system CPU of the processes (all their threads)."""
    total = 0
    for pid in pids:
        stat = read_file("/proc/%d/stat" % pid).decode()
        fields = stat[stat.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def core_times():
    """Per core, ms busy (user, nice, system) and ms stolen by the
    hypervisor, from /proc/stat: {"0": (busy, steal), ...}."""
    out = {}
    for line in read_file("/proc/stat").decode().splitlines():
        fields = line.split()
        if fields[0][:3] == "cpu" and fields[0] != "cpu":
            busy = int(fields[1]) + int(fields[2]) + int(fields[3])
            out[fields[0][3:]] = (1000.0 * busy / CLK_TCK,
                                  1000.0 * int(fields[8]) / CLK_TCK)
    return out


def own_cpu_ms():
    """CPU of this script and of its finished children (wrk, load)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        total += ru.ru_utime + ru.ru_stime
    return 1000.0 * total


def peak_rss_kib(pids):
    total = 0
    for pid in pids:
        for line in read_file("/proc/%d/status" % pid).decode().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total


# -------------------------------------------------------------- servers

class Server:
    """One server under test, started fresh for each measured slot."""

    def __init__(self, name):
        self.name = name
        self.proc = None
        self.pids = []
        self.port = None
        self.scratch = None
        self.log_file = None

    def command(self):
        addr = "127.0.0.1:%d" % self.port
        if self.name == "ingestd":
            return [os.path.join(BUILD, "ingestd"), "serve", "--listen",
                    addr, "--threads", "1", "--data-dir",
                    os.path.join(self.scratch, "data")]
        if self.name == "go":
            return [os.path.join(BUILD, "bench", "goingest"), "-listen", addr]
        if self.name == "rust":
            return [os.path.join(HERE, "peers", "rust", "target", "release",
                                 "rustingest"), "--listen", addr]
        if self.name == "nginx":
            return [shutil.which("nginx") or "/usr/sbin/nginx", "-p",
                    self.scratch, "-c",
                    os.path.join(self.scratch, "nginx.conf"), "-e",
                    os.path.join(self.scratch, "error.log")]
        raise BenchError("unknown server %s" % self.name)

    def environment(self):
        env = dict(os.environ)
        if self.name == "go":
            # One P, as the others get one thread; gctrace logs each GC.
            env["GOMAXPROCS"] = "1"
            env["GODEBUG"] = "gctrace=1"
        else:
            env["LD_PRELOAD"] = ALLOC_SO
            env["ALLOC_COUNT_FILE"] = os.path.join(self.scratch, "allocs")
        return env

    def prepare(self):
        os.makedirs(os.path.join(self.scratch, "data"))
        if self.name == "nginx":
            conf = read_file(os.path.join(HERE, "peers", "nginx",
                                          "nginx.conf.in")).decode()
            conf = conf.replace("@PORT@", str(self.port))
            conf = conf.replace("@PREFIX@", self.scratch)
            with open(os.path.join(self.scratch, "nginx.conf"), "w") as f:
                f.write(conf)

    def start(self, tag):
        self.port = free_port()
        self.scratch = tempfile.mkdtemp(prefix="bench-%s-" % self.name)
        self.prepare()
        self.log_file = os.path.join(RAW, "%s-%s.log" % (self.name, tag))
        out = open(self.log_file, "wb")
        cmd = ["taskset", "-c", SERVER_CPU] + self.command()
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=out,
                                     env=self.environment(),
                                     start_new_session=True)
        out.close()
        try:
            self.wait_ready()
        except BenchError:
            self.stop()
            raise
        self.pids = [self.proc.pid] + children_of(self.proc.pid)

    def wait_ready(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError("%s exited with %d at start; see %s" % (
                    self.name, self.proc.returncode, self.log_file))
            try:
                status, _ = http_request(self.port, "GET", "/healthz",
                                         timeout=1)
                if status == 200:
                    time.sleep(0.1)  # let nginx's worker come up
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise BenchError("%s did not answer /healthz in 15 s" % self.name)

    def allocations(self):
        """(allocation calls, GC cycles or None) since the start."""
        if self.name == "go":
            _, body = http_request(self.port, "GET", "/debug/mallocs")
            stats = json.loads(body)
            return stats["mallocs"], stats["num_gc"]
        raw = read_file(os.path.join(self.scratch, "allocs"))
        malloc, calloc, realloc, aligned, _ = struct.unpack("<5Q", raw[:40])
        return malloc + calloc + realloc + aligned, None

    def snapshot(self):
        allocs, gcs = self.allocations()
        return {"cpu_s": cpu_seconds(self.pids), "allocs": allocs,
                "gc": gcs}

    def stop(self):
        """Stops the server; returns its peak RSS (KiB) while it ran."""
        rss = peak_rss_kib(self.pids)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)
        return rss


# ---------------------------------------------------------------- loads

def pinned(cmd):
    return ["taskset", "-c", LOAD_CPU] + cmd


def calibrate():
    out = subprocess.run(["taskset", "-c", SERVER_CPU, LOAD, "--calibrate"],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"calibration_ms=([\d.]+)", out).group(1))


def parse_pairs(line):
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}


def run_wrk(port, conns, seconds, script, args):
    cmd = pinned(["wrk", "-t1", "-c%d" % conns, "-d%gs" % seconds,
                  "--timeout", "5s", "-s", os.path.join(HERE, "wrk", script),
                  "http://127.0.0.1:%d/ingest" % port, "--"] + args)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    line = [l for l in out.splitlines() if l.startswith("WRK_RESULT")]
    if not line:
        raise BenchError("wrk printed no result:\n" + out)
    res = parse_pairs(line[0])
    res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
    res["socket_errors"] = (res["connect"] + res["read"] + res["write"] +
                            res["timeout"])
    return res


def run_load(port, rate, quantiles_path):
    cmd = pinned([LOAD, "--port", str(port), "--body", EVENT, "--rate",
                  "%.0f" % rate, "--duration", "%g" % RATE_SECONDS,
                  "--warmup", "1", "--drain", "2", "--connections",
                  str(LOAD_CONNS), "--quantiles", quantiles_path])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         timeout=RATE_SECONDS + 30).stdout
    line = [l for l in out.splitlines() if l.startswith("RESULT")]
    if not line:
        raise BenchError("load printed no result:\n" + out)
    res = parse_pairs(line[0])
    res["quantiles"] = {}
    for qline in read_file(quantiles_path).decode().splitlines():
        if not qline.startswith("#"):
            q, v = qline.split()
            res["quantiles"][q] = float(v)
    return res


def measured(server, fn):
    """Runs fn() and adds what it cost the server (CPU, allocations), the
    hypervisor's steal on both cores, and the CPU that neither the server
    nor the load generator used on the two cores: other work on the host,
    which disturbs the run (softirq time is left out of both sides)."""
    before = server.snapshot()
    cores, own = core_times(), own_cpu_ms()
    res = fn()
    cores_after, own_after = core_times(), own_cpu_ms()
    after = server.snapshot()

    res["cpu_s"] = after["cpu_s"] - before["cpu_s"]
    res["allocs"] = after["allocs"] - before["allocs"]
    if after["gc"] is not None:
        res["gc"] = after["gc"] - before["gc"]
    delta = {c: [a - b for a, b in zip(cores_after[c], cores[c])]
             for c in (SERVER_CPU, LOAD_CPU)}
    res["steal_server_ms"] = delta[SERVER_CPU][1]
    res["steal_load_ms"] = delta[LOAD_CPU][1]
    busy = delta[SERVER_CPU][0] + delta[LOAD_CPU][0]
    res["other_ms"] = max(0.0, busy - 1000.0 * res["cpu_s"] -
                          (own_after - own))
    return res


def wait_for_quiet(state):
    """Waits, within a budget for the whole benchmark, until the host's
    two cores are mostly idle, so that a build or test run elsewhere on
    the machine does not land inside a measurement."""
    while state["quiet_budget_s"] > 0:
        cores = core_times()
        time.sleep(0.5)
        after = core_times()
        busy = sum(after[c][0] - cores[c][0] for c in (SERVER_CPU, LOAD_CPU))
        if busy < 0.1 * 500:
            return
        state["quiet_budget_s"] -= 0.5
        state["quiet_waited_s"] += 0.5
    state["noisy_slots"] += 1


# --------------------------------------------------------------- phases

def acceptance(server):
    """What each server answers to the reference, escaped and bad inputs."""
    status, body = http_request(server.port, "POST", "/ingest",
                                read_file(EVENT))
    if status != 202:
        raise BenchError("%s answered %d to the reference event: %r" % (
            server.name, status, body[:200]))
    escaped, _ = http_request(server.port, "POST", "/ingest",
                              read_file(ESCAPED))
    bad_json, _ = http_request(server.port, "POST", "/ingest", b"{\"a\":")
    get, _ = http_request(server.port, "GET", "/ingest")
    varied = run_wrk(server.port, WRK_CONNS[0], 2, "varied.lua",
                     [NDJSON, ESCAPED])
    return {"escaped_status": escaped, "bad_json_status": bad_json,
            "get_status": get, "varied_requests": varied["requests"],
            "varied_non2xx": varied["non2xx"]}


def profile_ingestd(server):
    perf = shutil.which("perf")
    if perf is None:
        log("perf not found: no profile")
        return
    data = os.path.join(RAW, "perf-ingestd.data")
    rec = subprocess.Popen([perf, "record", "-e", "cpu-clock", "-F", "2999",
                            "-g", "-o", data, "-p", str(server.proc.pid),
                            "--", "sleep", "%g" % WRK_SECONDS],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    run_wrk(server.port, WRK_CONNS[-1], WRK_SECONDS, "post.lua", [EVENT])
    rec.wait()
    with open(os.path.join(RESULTS, "profile-ingestd.txt"), "w") as f:
        f.write("# perf record -e cpu-clock -g on ingestd under wrk -c%d; "
                "self time by binary, then by symbol\n" % WRK_CONNS[-1])
        for sort, limit in (("dso", "0.5"), ("symbol", "0.7")):
            f.write("\n".join(perf_report(perf, data, sort, limit)) + "\n")


def perf_report(perf, data, sort, limit):
    out = subprocess.run([perf, "report", "-i", data, "--stdio",
                          "--no-children", "-g", "none", "--sort", sort,
                          "--percent-limit", limit],
                         capture_output=True, text=True).stdout
    lines = []
    for line in out.splitlines():
        if line.strip() and not line.startswith("#"):
            lines.append(re.sub(r"(\s+-)+\s*$", "", line))
    return lines[:25]


def warm_up(server):
    """One second at the most connections any run will open, so pools and
    caches have reached their high-water mark before anything is counted:
    allocations while a server grows to a new peak of concurrency are
    start-up, not steady state."""
    conns = max(WRK_CONNS + [LOAD_CONNS])
    run_wrk(server.port, conns, 1, "post.lua", [EVENT])


def saturation_slot(name, rnd, data):
    server = Server(name)
    slot = {"server": name, "round": rnd}
    wait_for_quiet(data["host"])
    server.start("sat%d" % rnd)
    try:
        slot["calibration_ms"] = calibrate()
        if rnd == 0:
            data["acceptance"][name] = acceptance(server)
        warm_up(server)
        for conns in WRK_CONNS:
            slot["c%d" % conns] = measured(server, lambda: run_wrk(
                server.port, conns, WRK_SECONDS, "post.lua", [EVENT]))
        if PROFILE and name == "ingestd" and rnd == ROUNDS - 1:
            profile_ingestd(server)
    finally:
        slot["rss_kib"] = server.stop()
    data["saturation"].append(slot)
    top = slot["c%d" % WRK_CONNS[-1]]
    log("%-8s round %d: %.0f req/s, %.1f us CPU/req, calib %.0f ms" % (
        name, rnd + 1, top["rps"], 1e6 * top["cpu_s"] / top["requests"],
        slot["calibration_ms"]))


def rate_slot(name, rnd, rates, data):
    server = Server(name)
    slot = {"server": name, "round": rnd}
    wait_for_quiet(data["host"])
    server.start("rate%d" % rnd)
    try:
        slot["calibration_ms"] = calibrate()
        warm_up(server)
        for share, rate in zip(RATE_SHARES, rates):
            qpath = os.path.join(RAW, "q-%s-%d-%d.txt" % (
                name, rnd, share * 100))
            res = measured(server, lambda: run_load(server.port, rate, qpath))
            res["requests"] = rate * (RATE_SECONDS + 1)
            slot["r%d" % (share * 100)] = res
    finally:
        slot["rss_kib"] = server.stop()
    data["rates"].append(slot)
    mid = slot["r50"]
    log("%-8s round %d: at %.0f/s p99 %.0f us, p99.9 %.0f us" % (
        name, rnd + 1, mid["rate"], mid["p99_us"], mid["p999_us"]))


# ------------------------------------------------------------ reporting

def med(values):
    return statistics.median(values) if values else float("nan")


def spread(values):
    """Half the range, as a share of the median: '±x%'."""
    m = med(values)
    if len(values) < 2 or m == 0:
        return ""
    return " ±%.0f%%" % (50.0 * (max(values) - min(values)) / m)


def per_server(rows, name):
    return [r for r in rows if r["server"] == name]


def cpu_us(res):
    return 1e6 * res["cpu_s"] / res["requests"]


def summarize(data):
    """Medians per server, the figures every table and check reads."""
    top = "c%d" % WRK_CONNS[-1]
    out = {}
    for name in SERVERS:
        sat = per_server(data["saturation"], name)
        rates = per_server(data["rates"], name)
        s = {"cpu": [cpu_us(r[top]) for r in sat],
             "allocs": [r[top]["allocs"] / r[top]["requests"] for r in sat],
             "rss": [r["rss_kib"] / 1024 for r in sat + rates],
             "calib": [r["calibration_ms"] for r in sat + rates]}
        for conns in WRK_CONNS:
            s["rps%d" % conns] = [r["c%d" % conns]["rps"] for r in sat]
            s["cpu%d" % conns] = [cpu_us(r["c%d" % conns]) for r in sat]
        if name == "go":
            s["gc"] = [1e5 * r[top]["gc"] / r[top]["requests"] for r in sat]
        for share in RATE_SHARES:
            key = "r%d" % (share * 100)
            for field in ("p50_us", "p90_us", "p99_us", "p999_us",
                          "p9999_us", "max_us", "achieved_rps"):
                s[key + field] = [r[key][field] for r in rates]
            s[key + "cpu"] = [cpu_us(r[key]) for r in rates]
            s[key + "lost"] = [r[key]["failed"] + r[key]["unanswered"] +
                               r[key]["other"] for r in rates]
        out[name] = s
    return out


def fmt_allocs(per_request):
    """Two decimals, or enough to show that a small count is not zero."""
    if 0 < per_request < 0.01:
        return "%.1e" % per_request
    return "%.2f" % per_request


def fmt(value, digits=1):
    return ("%%.%df" % digits) % value


def summary_table(summ, data):
    lines = ["| server | CPU µs/request | CPU s per 100k req | req/s "
             "c=%d | req/s c=%d | p99 @50%% | p99.9 @50%% | allocs/request "
             "| peak RSS MiB | escaped event |" % tuple(WRK_CONNS[:2]),
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name in SERVERS:
        s = summ[name]
        acc = data["acceptance"][name]
        allocs = fmt_allocs(med(s["allocs"]))
        if name == "go":
            allocs += " (GC %.1f/100k req)" % med(s["gc"])
        escaped = "accepted" if acc["escaped_status"] == 202 else \
            "rejected (%d)" % acc["escaped_status"]
        lines.append("| %s | %s%s | %s | %s%s | %s%s | %s µs | %s µs | %s "
                     "| %s | %s |" % (
                         LABELS[name], fmt(med(s["cpu"]), 2),
                         spread(s["cpu"]), fmt(med(s["cpu"]) / 10, 2),
                         fmt(med(s["rps%d" % WRK_CONNS[0]]), 0),
                         spread(s["rps%d" % WRK_CONNS[0]]),
                         fmt(med(s["rps%d" % WRK_CONNS[-1]]), 0),
                         spread(s["rps%d" % WRK_CONNS[-1]]),
                         fmt(med(s["r50p99_us"]), 0),
                         fmt(med(s["r50p999_us"]), 0), allocs,
                         fmt(max(s["rss"]), 1), escaped))
    return lines


def round_ratio(mine, theirs):
    """Median over rounds of the ratio within each round: the servers of
    one round ran minutes apart, so host drift between rounds cancels."""
    return med([a / b for a, b in zip(mine, theirs) if b > 0])


RATIO_FIELDS = [("cpu", "CPU/request"), ("rps%d" % WRK_CONNS[-1],
                                         "req/s c=%d" % WRK_CONNS[-1]),
                ("r50p99_us", "p99 @50%"), ("r50p999_us", "p99.9 @50%")]


def ratio_table(summ):
    if "ingestd" not in summ:
        return ["(ingestd not measured)"]
    me = summ["ingestd"]
    lines = ["| ingestd ÷ peer | " + " | ".join(
        label for _, label in RATIO_FIELDS) + " |",
        "|---|" + "---:|" * len(RATIO_FIELDS)]
    for name in SERVERS:
        if name == "ingestd":
            continue
        lines.append("| %s | %s |" % (LABELS[name], " | ".join(
            "%.2f" % round_ratio(me[key], summ[name][key])
            for key, _ in RATIO_FIELDS)))
    return lines


def disturbance(runs):
    """'other / steal' ms over runs: CPU the host spent on work that was
    neither ours nor the server's, and time the hypervisor took."""
    return "%.0f / %.0f" % (
        sum(r.get("other_ms", 0.0) for r in runs),
        sum(r["steal_server_ms"] + r["steal_load_ms"] for r in runs))


def saturation_table(data):
    lines = ["| round | server | calib ms | " + " | ".join(
        "c=%d req/s | c=%d CPU µs/req | c=%d errors" % (c, c, c)
        for c in WRK_CONNS) + " | allocations c=%d (per req) | peak RSS MiB | "
        "other / steal ms |" % WRK_CONNS[-1],
        "|---:|---|---:|" + "---:|" * (3 * len(WRK_CONNS) + 3)]
    top = "c%d" % WRK_CONNS[-1]
    for r in data["saturation"]:
        cells = []
        for c in WRK_CONNS:
            res = r["c%d" % c]
            cells += [fmt(res["rps"], 0), fmt(cpu_us(res), 2),
                      "%d" % (res["non2xx"] + res["socket_errors"])]
        lines.append("| %d | %s | %.0f | %s | %d (%s) | %.1f | %s |" % (
            r["round"] + 1, r["server"], r["calibration_ms"],
            " | ".join(cells), r[top]["allocs"],
            fmt_allocs(r[top]["allocs"] / r[top]["requests"]),
            r["rss_kib"] / 1024,
            disturbance([r["c%d" % c] for c in WRK_CONNS])))
    return lines


def rate_rounds_table(data):
    lines = ["| round | server | calib ms | p99 µs | p99.9 µs | max µs | "
             "other / steal ms |", "|---:|---|---:|---:|---:|---:|---:|"]
    for r in data["rates"]:
        res = r["r50"]
        lines.append("| %d | %s | %.0f | %.0f | %.0f | %.0f | %s |" % (
            r["round"] + 1, r["server"], r["calibration_ms"], res["p99_us"],
            res["p999_us"], res["max_us"], disturbance([res])))
    return lines


def rate_table(summ, rates):
    lines = []
    for share, rate in zip(RATE_SHARES, rates):
        key = "r%d" % (share * 100)
        lines += ["", "**%.0f%% of Go's saturation: %.0f requests/s**" % (
            share * 100, rate), "",
            "| server | p50 | p90 | p99 | p99.9 | p99.99 | max | achieved "
            "req/s | CPU µs/req | lost |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name in SERVERS:
            s = summ[name]
            lines.append("| %s | %s | %s | %s%s | %s%s | %s | %s | %s | %s "
                         "| %d |" % (
                             LABELS[name], fmt(med(s[key + "p50_us"]), 0),
                             fmt(med(s[key + "p90_us"]), 0),
                             fmt(med(s[key + "p99_us"]), 0),
                             spread(s[key + "p99_us"]),
                             fmt(med(s[key + "p999_us"]), 0),
                             spread(s[key + "p999_us"]),
                             fmt(med(s[key + "p9999_us"]), 0),
                             fmt(med(s[key + "max_us"]), 0),
                             fmt(med(s[key + "achieved_rps"]), 0),
                             fmt(med(s[key + "cpu"]), 2),
                             sum(s[key + "lost"])))
    return lines


def acceptance_table(data):
    lines = ["| server | reference event | escaped event | invalid JSON | "
             "GET /ingest | varied run: non-2xx of requests |",
             "|---|---:|---:|---:|---:|---:|"]
    for name in SERVERS:
        a = data["acceptance"][name]
        lines.append("| %s | 202 | %d | %d | %d | %d of %d |" % (
            LABELS[name], a["escaped_status"], a["bad_json_status"],
            a["get_status"], a["varied_non2xx"], a["varied_requests"]))
    return lines


def check(label, value, limit):
    if value <= limit:
        verdict = "met"
    elif limit > 0:
        verdict = "**NOT met**, %.0f%% over" % (100.0 * (value / limit - 1))
    else:
        verdict = "**NOT met**"
    return "- %s: %.2f, target at most %.2f: %s" % (label, value, limit,
                                                     verdict)


TARGETS = [
    ("cpu", "nginx", 1.0, "CPU/request ÷ nginx's constant answer"),
    ("cpu", "go", 0.25, "CPU/request ÷ Go's"),
    ("cpu", "rust", 0.8, "CPU/request ÷ Rust's"),
    ("r50p99_us", "go", 0.2, "p99 at 50% ÷ Go's"),
    ("r50p999_us", "go", 0.2, "p99.9 at 50% ÷ Go's"),
    ("r50p99_us", "nginx", 1.0, "p99 at 50% ÷ nginx's"),
    ("r50p999_us", "nginx", 1.0, "p99.9 at 50% ÷ nginx's"),
]


def target_checks(summ, data):
    if "ingestd" not in summ:
        return ["(ingestd not measured)"]
    me = summ["ingestd"]
    out = []
    for key, peer, limit, label in TARGETS:
        if peer in summ:
            out.append(check(label, round_ratio(me[key], summ[peer][key]),
                             limit))
    allocs = med(me["allocs"])
    out.append("- heap allocations per request (absolute): %s, target 0: %s"
               % (fmt_allocs(allocs), "met" if allocs == 0 else
                  "**NOT met**"))
    takers = [LABELS[n] for n in SERVERS
              if data["acceptance"][n]["escaped_status"] == 202]
    out.append("- escaped strings accepted by: %s" % (", ".join(takers) or
                                                      "none"))
    return out


def profile_lines():
    path = os.path.join(RESULTS, "profile-ingestd.txt")
    if not os.path.exists(path):
        return ["(no profile taken)"]
    body = read_file(path).decode().splitlines()[1:30]
    return ["```"] + body + ["```"]


def machine_lines(data):
    m = data["machine"]
    return ["- host: %s, %s cores, %s, kernel %s" % (
        m["cpu"], m["cores"], m["memory"], m["kernel"]),
        "- tools: %s" % "; ".join(m["versions"]),
        "- run: %s, `make bench` (%d rounds; wrk %gs per run, fixed-rate "
        "%gs + 1 s warm-up)" % (data["date"], ROUNDS, WRK_SECONDS,
                                RATE_SECONDS),
        "- pinning: servers `taskset -c %s`, wrk and bench/load `taskset "
        "-c %s`; one thread/worker each (ingestd --threads 1, GOMAXPROCS=1, "
        "tokio current_thread, nginx worker_processes 1)" % (
            SERVER_CPU, LOAD_CPU),
        "- host speed: calibration loop on the server core %.0f–%.0f ms "
        "(median %.0f); hypervisor steal during the measured runs: %s" % (
            min(data["calibrations"]), max(data["calibrations"]),
            med(data["calibrations"]), total_steal(data))]


def total_steal(data):
    runs = [r["c%d" % c] for r in data["saturation"] for c in WRK_CONNS]
    runs += [r["r%d" % (share * 100)] for r in data["rates"]
             for share in RATE_SHARES]
    host = data.get("host", {})
    return ("%.0f ms on the server core, %.0f ms on the load core; other "
            "work on the host during them: %.0f ms of CPU (waited %.0f s "
            "for a quiet host; %d slots started on a busy one)" % (
                sum(r["steal_server_ms"] for r in runs),
                sum(r["steal_load_ms"] for r in runs),
                sum(r.get("other_ms", 0.0) for r in runs),
                host.get("quiet_waited_s", 0), host.get("noisy_slots", 0)))


def busy_host_warning(data):
    runs = [r["c%d" % c] for r in data["saturation"] for c in WRK_CONNS]
    runs += [r["r%d" % (share * 100)] for r in data["rates"]
             for share in RATE_SHARES]
    other_s = sum(r.get("other_ms", 0.0) for r in runs) / 1000
    measured_s = len(data["saturation"]) * len(WRK_CONNS) * WRK_SECONDS + \
        len(data["rates"]) * len(RATE_SHARES) * (RATE_SECONDS + 1)
    if other_s < 0.05 * measured_s:
        return []
    return ["", "**Warning: the host was busy.** Other processes used %.0f s "
            "of CPU on the two cores during %.0f s of measurement (%.0f%% of "
            "a core): they share the server's core, so requests/s and "
            "latency are disturbed; CPU per request, counted for the server "
            "alone, much less so. Rerun on a quiet machine." % (
                other_s, measured_s, 100.0 * other_s / measured_s)]


def write_results(data, summ, rates):
    lines = ["# ingestd benchmark results", "",
             "Written by `make bench` (bench/bench.py); how each figure is "
             "measured: bench/README.md. Medians over %d interleaved rounds; "
             "±x%% is half the spread between rounds." % ROUNDS, ""]
    lines += machine_lines(data)
    lines += busy_host_warning(data)
    lines += ["", "## Summary", "",
              "CPU is the server's user + system time per request under "
              "wrk -c%d (the primary figure); latency is from bench/load at "
              "50%% of the Go peer's saturation with %s connections "
              "(%.0f requests/s), from each request's scheduled time; "
              "ratios are medians of the ratios within each round." % (
                  WRK_CONNS[-1], rate_basis()[1:], rates[1]), ""]
    lines += summary_table(summ, data)
    lines += ["", "## Ratios (ingestd ÷ peer, same run)", ""]
    lines += ratio_table(summ)
    lines += ["", "## Targets (issue 5)", ""]
    lines += target_checks(summ, data)
    lines += ["", "## Fixed-rate latency (µs, medians)", ""]
    lines += rate_table(summ, rates)
    lines += ["", "![latency percentiles](latency.png)", "",
              "## Saturation runs (wrk, every round)", ""]
    lines += saturation_table(data)
    lines += ["", "## Fixed-rate runs at 50% (every round)", ""]
    lines += rate_rounds_table(data)
    lines += ["", "## What each server accepts", ""]
    lines += acceptance_table(data)
    lines += ["", "## Where ingestd spends its CPU (perf, self time)", ""]
    lines += profile_lines()
    text = "\n".join(lines) + "\n"
    with open(os.path.join(RESULTS, "RESULTS.md"), "w") as f:
        f.write(text)
    return text


def plot(summ, rates):
    qs = ["0.50000", "0.75000", "0.90000", "0.95000", "0.99000", "0.99500",
          "0.99900", "0.99950", "0.99990", "0.99999"]
    for share in RATE_SHARES:
        pct = int(share * 100)
        with open(os.path.join(RAW, "plot-%d.dat" % pct), "w") as f:
            f.write("x " + " ".join('"%s"' % LABELS[n] for n in SERVERS) +
                    "\n")
            for q in qs:
                cells = []
                for name in SERVERS:
                    files = [os.path.join(RAW, "q-%s-%d-%d.txt" % (
                        name, rnd, pct)) for rnd in range(ROUNDS)]
                    vals = [parse_quantiles(p)[q] for p in files]
                    cells.append("%.1f" % med(vals))
                f.write("%g %s\n" % (1 / (1 - float(q)), " ".join(cells)))
    script = os.path.join(RAW, "latency.gp")
    with open(script, "w") as f:
        f.write(gnuplot_script(rates))
    subprocess.run(["gnuplot", script], check=True, cwd=RAW)


def parse_quantiles(path):
    out = {}
    for line in read_file(path).decode().splitlines():
        if not line.startswith("#"):
            q, v = line.split()
            out[q] = float(v)
    return out


def gnuplot_script(rates):
    panels = []
    for share, rate in zip(RATE_SHARES, rates):
        pct = int(share * 100)
        panels.append(
            "set title '%d%% of Go saturation (%.0f req/s)'\n"
            "plot for [i=2:%d] 'plot-%d.dat' using 1:i with linespoints "
            "lw 2 pt 7 ps 0.6 title columnheader(i)\n" % (
                pct, rate, len(SERVERS) + 1, pct))
    return ("set terminal pngcairo size 1500,520 font ',10'\n"
            "set output '../latency.png'\n"
            "set multiplot layout 1,%d title 'Latency by percentile, from "
            "the scheduled time (bench/load, open loop, coordinated "
            "omission corrected)'\n"
            "set logscale xy\n"
            "set xtics ('50%%%%' 2, '90%%%%' 10, '99%%%%' 100, '99.9%%%%' 1000, "
            "'99.99%%%%' 10000, '99.999%%%%' 100000)\n"
            "set xrange [1.8:120000]\n"
            "set ylabel 'latency (µs)'\n"
            "set grid\n"
            "set key top left\n" % len(RATE_SHARES)) + "".join(panels) + \
        "unset multiplot\n"


def update_readme(text):
    """Copies the latest table into bench/README.md between markers."""
    path = os.path.join(HERE, "README.md")
    readme = read_file(path).decode()
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    if begin not in readme or end not in readme:
        return
    body = text.split("\n", 2)[2]
    body = body.replace("(latency.png)", "(results/latency.png)")
    readme = readme[:readme.index(begin) + len(begin)] + "\n" + body + \
        readme[readme.index(end):]
    with open(path, "w") as f:
        f.write(readme)


def machine_info():
    cpu = "unknown CPU"
    for line in read_file("/proc/cpuinfo").decode().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(read_file("/proc/meminfo").decode().split()[1])
    versions = []
    for cmd in (["go", "version"], ["/usr/bin/rustc", "--version"],
                ["nginx", "-v"], ["wrk", "-v"], ["gcc", "--version"]):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True)
            versions.append((p.stdout + p.stderr).strip().splitlines()[0])
        except (OSError, IndexError):
            versions.append("%s: not found" % cmd[0])
    return {"cpu": cpu, "cores": os.cpu_count(),
            "memory": "%.0f GiB" % (mem_kib / 1024 / 1024),
            "kernel": platform.release(), "versions": versions}


def check_inputs():
    for path in (EVENT, ESCAPED, NDJSON, LOAD, ALLOC_SO,
                 os.path.join(BUILD, "ingestd")):
        if not os.path.exists(path):
            raise BenchError("missing %s" % path)
    for tool in ("wrk", "taskset", "gnuplot"):
        if shutil.which(tool) is None:
            raise BenchError("%s not found (bench/deps.sh installs it)" %
                             tool)
    if os.cpu_count() < 2:
        raise BenchError("the benchmark needs two cores")


def report(data):
    rates = data["rates_per_s"]
    summ = summarize(data)
    text = write_results(data, summ, rates)
    plot(summ, rates)
    update_readme(text)
    print(text)
    log("done: bench/results/RESULTS.md, bench/results/latency.png")


def rate_basis():
    """The saturation run the fixed rates derive from: the one with as
    many connections as bench/load keeps, else the first.  A server's
    saturation depends on how many requests can wait at once: with 16
    connections bench/load could not keep the Go peer at half of its
    128-connection saturation, since each of its answers then takes
    milliseconds."""
    conns = LOAD_CONNS if LOAD_CONNS in WRK_CONNS else WRK_CONNS[0]
    return "c%d" % conns


def measure():
    check_inputs()
    os.makedirs(RAW, exist_ok=True)
    data = {"machine": machine_info(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "servers": SERVERS, "rounds": ROUNDS,
            "config": {"wrk_seconds": WRK_SECONDS, "wrk_conns": WRK_CONNS,
                       "rate_seconds": RATE_SECONDS,
                       "load_conns": LOAD_CONNS},
            "acceptance": {}, "saturation": [], "rates": [],
            "host": {"quiet_budget_s": QUIET_BUDGET_S, "quiet_waited_s": 0.0,
                     "noisy_slots": 0}}

    log("phase 1: saturation, %d rounds of %s" % (ROUNDS, " ".join(SERVERS)))
    for rnd in range(ROUNDS):
        for name in SERVERS:
            saturation_slot(name, rnd, data)

    ref = "go" if "go" in SERVERS else SERVERS[0]
    sat = med([r[rate_basis()]["rps"]
               for r in per_server(data["saturation"], ref)])
    rates = [share * sat for share in RATE_SHARES]
    data["rates_per_s"] = rates
    log("phase 2: fixed rates %s req/s (%s saturation %.0f)" % (
        ", ".join("%.0f" % r for r in rates), ref, sat))
    for rnd in range(ROUNDS):
        for name in SERVERS:
            rate_slot(name, rnd, rates, data)

    data["calibrations"] = [r["calibration_ms"] for r in
                            data["saturation"] + data["rates"]]
    with open(os.path.join(RAW, "measurements.json"), "w") as f:
        json.dump(data, f, indent=1)
    return data


def main():
    global SERVERS, ROUNDS, WRK_SECONDS, WRK_CONNS, RATE_SECONDS, LOAD_CONNS
    if sys.argv[1:] == ["--report-only"]:
        # Re-renders RESULTS.md and the plot from the last run's raw data.
        data = json.loads(read_file(os.path.join(RAW, "measurements.json")))
        SERVERS, ROUNDS = data["servers"], data["rounds"]
        cfg = data["config"]
        WRK_SECONDS, WRK_CONNS = cfg["wrk_seconds"], cfg["wrk_conns"]
        RATE_SECONDS, LOAD_CONNS = cfg["rate_seconds"], cfg["load_conns"]
        report(data)
        return
    report(measure())


if __name__ == "__main__":
    try:
        main()
    except (BenchError, subprocess.CalledProcessError,
            subprocess.TimeoutExpired) as e:
        print("bench: error: %s" % e, file=sys.stderr)
        sys.exit(1)
