#!/usr/bin/env bash
# Builds dcloud's test image from Debian's busybox-static (nothing can be pulled from Docker Hub
# here) and publishes it to the two loopback test registries started by scripts/bootstrap.sh:
#   dcloud-test/busybox:1                local only
#   127.0.0.1:5000/dcloud/busybox:1      open registry
#   127.0.0.1:5001/private/busybox:1     registry behind basic auth
# Idempotent: the image is rebuilt only when its recipe (applets, /etc files, busybox binary)
# changed, and pushed only when a registry does not already serve exactly the local image.
# Progress goes to stderr; stdout gets one line saying what was done, for bootstrap's summary.
# These names (and registry/credentials.sh) are mirrored in test/support/env.ts: change both together.
set -euo pipefail
shopt -s inherit_errexit

IMAGE=dcloud-test/busybox:1
OPEN_REF=127.0.0.1:5000/dcloud/busybox:1
PRIVATE_REF=127.0.0.1:5001/private/busybox:1
source "$(dirname "${BASH_SOURCE[0]}")/registry/credentials.sh"
BUSYBOX=/bin/busybox
RECIPE_LABEL=org.dcloud.test-image.recipe

# What jobs in tests (and the examples in docs) may call. Keep the list short: every applet
# here is something a test job can rely on.
APPLETS=(sh echo cat sha256sum sleep head tail dd yes wget nc ls id env true false printf wc tr seq grep mkdir rm uname)
PASSWD=$'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/sh\n'
GROUP=$'root:x:0:\nnogroup:x:65534:\n'

log() { printf 'build-test-images: %s\n' "$*" >&2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

recipe_hash() {
  { printf '%s\n' "${APPLETS[*]}" "$PASSWD" "$GROUP"; sha256sum <"$BUSYBOX"; } | sha256sum | cut -c1-16
}

build_image() {
  local rootfs=$WORK/rootfs applet
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  cp "$BUSYBOX" "$rootfs/bin/busybox"
  for applet in "${APPLETS[@]}"; do ln -s busybox "$rootfs/bin/$applet"; done
  printf '%s' "$PASSWD" >"$rootfs/etc/passwd"
  printf '%s' "$GROUP" >"$rootfs/etc/group"
  tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -c . |
    docker import --change "LABEL $RECIPE_LABEL=$1" - "$IMAGE" >/dev/null
}

# The digest under which REGISTRY serves REPO:TAG, or nothing when it does not have it.
remote_digest() {
  local registry=$1 repo=$2 tag=$3
  shift 3
  local headers
  # A registry that does not answer has nothing: the push that follows reports why.
  headers=$(curl -sSI --max-time 5 "$@" \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$registry/v2/$repo/manifests/$tag") || return 0
  tr -d '\r' <<<"$headers" | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p'
}

# True when the local image already came from (or went to) REGISTRY/REPO at the digest it serves.
published() {
  local ref=$1
  shift
  local registry=${ref%%/*} rest=${ref#*/}
  local repo=${rest%:*} tag=${rest##*:}
  local digest local_digests
  digest=$(remote_digest "$registry" "$repo" "$tag" "$@")
  [ -n "$digest" ] || return 1
  local_digests=$(docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$IMAGE")
  grep -qxF "$registry/$repo@$digest" <<<"$local_digests"
}

push_open() {
  docker tag "$IMAGE" "$OPEN_REF"
  docker push "$OPEN_REF" >&2
}

push_private() {
  # A throw-away client config: the credentials exist only for this push and never land in
  # ~/.docker/config.json, so nothing on the machine can pull from 5001 by accident.
  local client_config=$WORK/docker-config
  docker tag "$IMAGE" "$PRIVATE_REF"
  printf '%s' "$REGISTRY_PASSWORD" |
    DOCKER_CONFIG=$client_config docker login -u "$REGISTRY_USER" --password-stdin "${PRIVATE_REF%%/*}" >&2
  DOCKER_CONFIG=$client_config docker push "$PRIVATE_REF" >&2
  DOCKER_CONFIG=$client_config docker logout "${PRIVATE_REF%%/*}" >&2
}

want=$(recipe_hash)
have=$(docker image inspect -f "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$want" ]; then
  image_state="$IMAGE present"
else
  log "building $IMAGE (recipe $want)"
  build_image "$want"
  image_state="$IMAGE built"
fi

if published "$OPEN_REF"; then
  open_state="5000 has it"
else
  log "pushing $OPEN_REF"
  push_open
  open_state="pushed to 5000"
fi

if published "$PRIVATE_REF" -u "$REGISTRY_USER:$REGISTRY_PASSWORD"; then
  private_state="5001 has it"
else
  log "pushing $PRIVATE_REF"
  push_private
  private_state="pushed to 5001"
fi

echo "$image_state, $open_state, $private_state"
