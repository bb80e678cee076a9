#!/usr/bin/env bash
# The fleet benchmark (issue 6): bbws against HCL + terraform-provider-aws
# 3.39.0 on a local stack of its own (.bbws-bench, ports 5255/3407), for
# N = 10, 50, 100 by default. The creates of both go through a proxy that
# throttles at AWS's request rates (acceptance-tests/tools/aws_rates.py),
# both with the same max_retries. Prints markdown tables; raw figures go to
# .bbws-bench/bench.json. Not part of the test suite: it takes a while.
#
# --curve (issue 15 point 5): each tool grows one fleet through the sizes
# given, in one workdir, on a pool of --listeners ALBs (bbws:
# listener_arns; the peer: tenant i on listener i mod L), and measures the
# no-change plan at each N; those creates go to moto directly (calm). Each
# tool's curve starts on a reset stack; its fleet is left for the next
# reset. The peer's curve stops within --peer-budget-s seconds.
#
#   bash scripts/bench.sh [--sizes 10,50,100] [--skip-peer] [--repeat 20]
#                         [--max-retries 8] [--rate-scale 1.0] [--no-throttle]
#                         [--curve 10,100,300,1000] [--listeners 10] [--peer-budget-s 1800]
#
# Issue 15 point 5 in one run (estimated from runs up to N = 50: about
# 1 h 15 min on the 2-core machine, the peer's curve stopping at N = 300):
#   bash scripts/bench.sh --sizes 100 --repeat 5 --curve 10,100,300,1000 --listeners 10 --peer-budget-s 1800
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bbws/target}"
export BBWS_STACK_DIR="${BBWS_BENCH_DIR:-$root/.bbws-bench}"
export BBWS_MOTO_PORT="${BBWS_BENCH_MOTO_PORT:-5255}" BBWS_MYSQL_PORT="${BBWS_BENCH_MYSQL_PORT:-3407}"
# A clean emulator and database for every run: figures from an empty start.
bash acceptance-tests/stack/stack.sh reset >&2
echo "==> building terraform-provider-bbws (release)" >&2
cargo build -q --release -p terraform-provider-bbws
exec "$BBWS_STACK_DIR/venv/bin/python" acceptance-tests/bench/bench.py "$BBWS_STACK_DIR" "$@"
