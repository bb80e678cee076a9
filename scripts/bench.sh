#!/usr/bin/env bash
# The fleet benchmark (issue 6): bbws against HCL + terraform-provider-aws
# 3.39.0 on a local stack of its own (.bbws-bench, ports 5255/3407), for
# N = 10, 50, 100 by default. The creates of both go through a proxy that
# throttles at AWS's request rates (acceptance-tests/tools/aws_rates.py),
# both with the same max_retries. Prints markdown tables; raw figures go to
# .bbws-bench/bench.json. Not part of the test suite: it takes a while.
#
#   bash scripts/bench.sh [--sizes 10,50,100] [--skip-peer] [--repeat 20]
#                         [--max-retries 8] [--rate-scale 1.0] [--no-throttle]
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
