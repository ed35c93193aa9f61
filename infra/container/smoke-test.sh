#!/usr/bin/env bash
# `npm run test:container`: builds the image with buildah and checks that it runs, as STACK.md
# describes for a machine with no container registry: the Debian base image is made from Debian's
# archive with mmdebstrap and tagged with its public name (so the Containerfile keeps its ordinary
# FROM), then `buildah bud --isolation=chroot --pull=never`, then the coordinator is started with
# `buildah run` (host network) and must answer /healthz, pass the image's own HEALTHCHECK command, run
# as the non-root user, and the same image must run an agent. Needs root and
# `apt-get install buildah mmdebstrap uidmap`. Takes minutes: not part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in buildah mmdebstrap curl; do
  command -v "$tool" >/dev/null || { echo "test:container: $tool missing (apt-get install -y buildah mmdebstrap uidmap curl)" >&2; exit 1; }
done
# In a sandbox without cgroup v2 delegation, default ulimits cannot be set.
conf=$(mktemp); printf '[containers]\ndefault_ulimits = []\n' > "$conf"; export CONTAINERS_CONF="$conf"
BASE=docker.io/library/debian:trixie-slim
IMAGE=localhost/upsfleet:smoke
PORT=${UPSFLEET_SMOKE_PORT:-18480}
TOKEN=container-smoke-admin-token-0123456789
work=$(mktemp -d)
ctr=""
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$work" "$conf"
}
trap cleanup EXIT

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

if ! buildah inspect --type image "$BASE" >/dev/null 2>&1; then
  step "base image $BASE from Debian's archive (mmdebstrap)"
  mmdebstrap --variant=minbase --include=ca-certificates trixie "$work/base.tar" http://deb.debian.org/debian
  base=$(buildah from scratch)
  buildah add "$base" "$work/base.tar" / >/dev/null
  buildah config --cmd /bin/bash "$base"
  buildah commit --rm "$base" "$BASE" >/dev/null
fi

step "buildah bud"
# The host's CA bundle, for npm behind a TLS-intercepting proxy (read at build time, not kept).
ca=${UPSFLEET_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}
secret=()
[ -f "$ca" ] && secret=(--secret "id=ca,src=$ca")
buildah bud --isolation=chroot --pull=never --layers --format docker "${secret[@]}" -f infra/container/Containerfile -t "$IMAGE" .

step "the image"
user=$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$IMAGE")
health=$(buildah inspect --type image --format "{{.Docker.Config.Healthcheck}}" "$IMAGE")
echo "user: $user; healthcheck: $health"
[ "$user" = upsfleet ] || { echo "FAIL: the image runs as '$user', not upsfleet" >&2; exit 1; }
[ -n "$health" ] && [ "$health" != "<nil>" ] || { echo "FAIL: no HEALTHCHECK" >&2; exit 1; }

step "the coordinator, from the image (host network)"
ctr=$(buildah from --pull=never "$IMAGE")
buildah run --isolation=chroot --env UPSFLEET_ADMIN_TOKEN="$TOKEN" --env UPSFLEET_LISTEN="127.0.0.1:$PORT" \
  "$ctr" -- upsfleet coordinator > "$work/coordinator.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/coordinator.log"; echo "FAIL: the coordinator exited" >&2; exit 1; }
  sleep 1
done
echo "GET /healthz: $(curl -sf "http://127.0.0.1:$PORT/healthz")"
status=$(curl -sf -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/status")
echo "GET /api/v1/status: ${status:0:80}…"
buildah run --isolation=chroot "$ctr" -- id -un | grep -qx upsfleet || { echo "FAIL: not run as upsfleet" >&2; exit 1; }

step "the same image runs an agent: it enrolls with the coordinator"
enrollment=$(curl -sf -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"name":"nas"}' "http://127.0.0.1:$PORT/api/v1/enrollments" | sed -E 's/.*"token":"([^"]+)".*/\1/')
buildah run --isolation=chroot --env UPSFLEET_ENROLL_TOKEN="$enrollment" "$ctr" -- \
  upsfleet enroll --coordinator "http://127.0.0.1:$PORT" --name nas --state-dir /var/lib/upsfleet/agent
curl -sf -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/hosts" | grep -q '"name":"nas"' \
  || { echo "FAIL: the agent did not enroll" >&2; exit 1; }

printf '\ntest:container: passed (%ss)\n' "$SECONDS"
