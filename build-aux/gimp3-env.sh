#!/usr/bin/env bash
# gimp3-env.sh -- run a command in an environment that has GIMP 3 and every
# package gimp-cam needs (build-aux/debian-packages.txt).
#
#   build-aux/gimp3-env.sh COMMAND [ARGS...]
#
# On a Debian/Ubuntu host whose archive has GIMP 3 (Debian 13 "trixie" and later)
# the packages are installed natively with apt and COMMAND runs on the host.
# Anywhere else (Debian 12 has only GIMP 2.10) it needs root: it creates once, with
# debootstrap, a Debian 13 root in $CAM_ENV_ROOT (default /var/cache/gimp-cam/trixie,
# outside the source tree), installs the package list there, bind-mounts the source
# tree and the datasets at the same paths, and runs COMMAND inside with chroot.
# The mounts live in a private mount namespace (unshare), so they disappear when
# the command ends, fails or is killed; several runs may share the root at once.
# Second runs reuse the root and only install what the package list gained.
#
# Environment:
#   CAM_ENV_ROOT    where the Debian 13 root lives (default /var/cache/gimp-cam/trixie)
#   CAM_ENV_MIRROR  Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   CAM_ENV_NATIVE  1 = never use a chroot (fail if the host cannot provide GIMP 3)
#   CAM_DATA_DIR    datasets (default: ../shared/data beside the source tree)
#   CAM_CLEAN_ROOT  the clean Debian 13 root of build-aux/clean-root.sh (default: beside
#                   CAM_ENV_ROOT, .../trixie-clean); bind-mounted at the same path
set -euo pipefail

die() { printf 'gimp3-env: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'gimp3-env: %s\n' "$*" >&2; }

[ $# -ge 1 ] || die "usage: build-aux/gimp3-env.sh COMMAND [ARGS...]"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
pkglist="$here/debian-packages.txt"
root=${CAM_ENV_ROOT:-/var/cache/gimp-cam/trixie}
mirror=${CAM_ENV_MIRROR:-http://deb.debian.org/debian}
need_mb=6000   # a trixie root with GIMP and PyTorch takes about 4 GB

[ -r "$pkglist" ] || die "package list $pkglist is missing"
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$pkglist" | grep -v '^$')
stamp_of_list=$(sha256sum "$pkglist" | cut -d' ' -f1)

data_dir=${CAM_DATA_DIR:-}
if [ -z "$data_dir" ] && [ -d "$src/../shared/data" ]; then
    data_dir=$(cd "$src/../shared/data" && pwd)
fi

all_installed() { # are all packages installed in the dpkg database given as $1 (a root)?
    local admin="$1/var/lib/dpkg"
    [ -d "$admin" ] || return 1
    local missing
    missing=$(dpkg-query --admindir="$admin" -W -f='${db:Status-Abbrev} ${Package}\n' "${packages[@]}" 2>/dev/null \
              | awk '$1 != "ii" {print $2}' | head -1) || return 1
    [ -z "$missing" ] && [ "$(dpkg-query --admindir="$admin" -W "${packages[@]}" 2>/dev/null | wc -l)" -ge "${#packages[@]}" ]
}

check_disk() { # $1 = folder that will grow
    local dir=$1 avail
    while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
    avail=$(df -Pm "$dir" | awk 'NR==2 {print $4}')
    [ "$avail" -ge "$need_mb" ] || die "low disk space: $avail MB free under $dir, the Debian 13 environment needs about $need_mb MB (set CAM_ENV_ROOT to a roomier place)"
}

apt_install() { # $1 = "" for the host, else a chroot root
    local r=$1 run=()
    [ -n "$r" ] && run=(chroot "$r")
    export DEBIAN_FRONTEND=noninteractive
    "${run[@]}" apt-get update -qq >/dev/null 2>&1 \
        || "${run[@]}" apt-get update \
        || die "cannot reach the Debian package archive (apt-get update failed); check the network or the mirror"
    "${run[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" \
        || die "apt-get install of the packages in $pkglist failed (see the messages above)"
}

# 1. A host whose own archive has GIMP 3: install natively and run there.
host_has_gimp3() { pkg-config --exists 'gimp-3.0 >= 3.0' 2>/dev/null && all_installed ""; }
if host_has_gimp3; then
    exec env ${data_dir:+CAM_DATA_DIR="$data_dir"} "$@"
fi
if command -v apt-cache >/dev/null && apt-cache show libgimp-3.0-dev >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "this host's archive has GIMP 3 but the packages are not all installed; run as root once (or: sudo apt-get install \$(grep -v '^#' $pkglist))"
    say "installing the package list natively"
    apt_install ""
    exec env ${data_dir:+CAM_DATA_DIR="$data_dir"} "$@"
fi
[ "${CAM_ENV_NATIVE:-0}" = 1 ] && die "CAM_ENV_NATIVE=1 but this host has no GIMP 3 packages"

# 2. Otherwise a Debian 13 root, which needs root.
[ "$(id -u)" -eq 0 ] || die "this host has no GIMP 3 (Debian 12 ships only GIMP 2.10) and we are not root: run as root to create the Debian 13 environment in $root, or install GIMP 3 and the packages in $pkglist yourself"
command -v apt-get >/dev/null || die "no GIMP 3 here and this is not a Debian/Ubuntu host: install GIMP 3's development packages natively (see README.md)"

mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9   # one creator/installer at a time; released before the command runs

if [ ! -f "$root/.gimp-cam-ready" ]; then
    check_disk "$(dirname "$root")"
    if ! command -v debootstrap >/dev/null; then
        say "installing debootstrap on the host"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 \
          || { apt-get update -qq >/dev/null 2>&1 || die "cannot reach the Debian package archive to install debootstrap"; \
               DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null || die "could not install debootstrap"; }
    fi
    say "creating a Debian 13 root in $root (once; a few minutes)"
    rm -rf "$root.partial"
    debootstrap --variant=minbase trixie "$root.partial" "$mirror" >"$root.debootstrap.log" 2>&1 \
        || { tail -5 "$root.debootstrap.log" >&2; die "debootstrap of Debian 13 from $mirror failed (no network to the package archive? log: $root.debootstrap.log)"; }
    rm -rf "$root"
    mv "$root.partial" "$root"
    touch "$root/.gimp-cam-ready"
fi

if [ "$(cat "$root/.gimp-cam-packages" 2>/dev/null)" != "$stamp_of_list" ]; then
    check_disk "$root"
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    say "installing the package list into $root"
    unshare --mount --propagation private bash -c '
        mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" && shift && chroot "$@"' \
        _ "$root" "$root" /bin/sh -c "export DEBIAN_FRONTEND=noninteractive;
          dpkg --configure -a >/dev/null 2>&1 || true   # finish an install that was interrupted
          (apt-get update -qq >/dev/null 2>&1 || apt-get update) || exit 90
          apt-get install -y -qq --no-install-recommends $(printf '%q ' "${packages[@]}") || exit 91
          grep -q '^de_DE.UTF-8' /etc/locale.gen || printf 'de_DE.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n' >>/etc/locale.gen
          locale-gen >/dev/null" \
        || case $? in
             90) die "cannot reach the Debian package archive from the Debian 13 root (apt-get update failed)";;
             *)  die "installing the packages of $pkglist into $root failed (see the messages above)";;
           esac
    echo "$stamp_of_list" >"$root/.gimp-cam-packages"
fi
flock -u 9

# 3. Run the command inside, with the source tree (and datasets) at the same paths.
binds=("$src")
[ -n "$data_dir" ] && [ -d "$data_dir" ] && binds+=("$(cd "$data_dir" && pwd)")
# A git worktree's .git is a file naming the main repository's: bind that too, so git
# (meson dist) works inside.
if [ -f "$src/.git" ] && command -v git >/dev/null; then
    common=$(cd "$src" && git rev-parse --path-format=absolute --git-common-dir 2>/dev/null) || common=
    case $common in "$src"/* | "") ;; *) [ -d "$common" ] && binds+=("$common");; esac
fi
# The clean Debian 13 root where build-aux/package-check.sh installs the .debs.
clean_root=${CAM_CLEAN_ROOT:-$(dirname "$root")/trixie-clean}
mkdir -p "$clean_root"
binds+=("$clean_root")
cwd=$(pwd)
case "$cwd/" in "$src"/*) ;; *) cwd=$src ;; esac

cmd=$(printf '%q ' "$@")
exec unshare --mount --propagation private bash -c '
    set -e
    root=$1; shift; cwd=$1; shift; cmd=$1; shift; data=$1; shift; clean=$1; shift; mirror=$1; shift
    trap "umount -R -l \"\$root/proc\" \"\$root/dev\" 2>/dev/null || true" EXIT INT TERM
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/tmp"
    for b in "$@"; do mkdir -p "$root$b"; mount --rbind "$b" "$root$b"; done
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}" ${data:+CAM_DATA_DIR=$data} \
        ${CAM_MODEL_PATH:+CAM_MODEL_PATH=$CAM_MODEL_PATH} ${CAM_BENCH_FULL:+CAM_BENCH_FULL=$CAM_BENCH_FULL} ${CAM_NO_AVX512:+CAM_NO_AVX512=$CAM_NO_AVX512} ${CAM_NO_AVX2:+CAM_NO_AVX2=$CAM_NO_AVX2} \
        CAM_CLEAN_ROOT="$clean" CAM_ENV_MIRROR="$mirror" \
        /bin/bash -c "cd \"$cwd\" && $cmd"
' _ "$root" "$cwd" "$cmd" "$data_dir" "$clean_root" "$mirror" "${binds[@]}"
