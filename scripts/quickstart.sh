#!/usr/bin/env bash
# The quickstart: bring up the local stack (moto + MariaDB + Terraform 1.15),
# build the provider, plan and apply examples/quickstart.
#
#   bash scripts/quickstart.sh           # up, build, plan, apply (safe to re-run)
#   bash scripts/quickstart.sh destroy   # destroy the quickstart tenant
#   bash scripts/quickstart.sh down      # destroy it and stop the stack
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bbws/target}"
stack="acceptance-tests/stack/stack.sh"
example="$root/examples/quickstart"
mode="${1:-up}"

tf() { (cd "$example" && terraform "$@"); }

case "$mode" in
  up)
    bash "$stack" up
    echo "==> building terraform-provider-bbws"
    cargo build -q -p terraform-provider-bbws
    # shellcheck disable=SC1091
    source "$root/.bbws/env.sh"
    echo "==> terraform plan (examples/quickstart)"
    tf plan -input=false -var-file="$root/.bbws/platform.tfvars.json" -out=tfplan
    echo "==> terraform apply"
    tf apply -input=false tfplan
    url="$(tf output -raw url)"
    cat <<MSG

The tenant is up: $url
(on the local stack the name resolves only inside the emulator's Route53 zone)

Next steps:
  source .bbws/env.sh && cd examples/quickstart
  terraform state show bbws_tenant.acme       # every part's id and ARN
  cargo run -q -p tenantctl -- --platform ../../.bbws/settings.json show 123456789012   # bbws-core, no Terraform
  # edit main.tf (desired_count = 3, status = "suspended", ...) and re-run:
  bash scripts/quickstart.sh
  bash scripts/quickstart.sh destroy          # remove the tenant (data kept: retain_data_on_destroy)
  bash scripts/quickstart.sh down             # ... and stop the local stack
MSG
    ;;
  destroy|down)
    if [ -f "$root/.bbws/env.sh" ] && bash "$stack" status >/dev/null 2>&1; then
      # shellcheck disable=SC1091
      source "$root/.bbws/env.sh"
      tf destroy -input=false -auto-approve -var-file="$root/.bbws/platform.tfvars.json"
    fi
    if [ "$mode" = down ]; then bash "$stack" down; fi
    ;;
  *)
    echo "usage: $0 [up|destroy|down]" >&2; exit 2 ;;
esac
