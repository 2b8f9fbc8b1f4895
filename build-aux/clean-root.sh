#!/usr/bin/env bash
# clean-root.sh -- run a script as root in a throwaway copy of a clean Debian 13 root
# (debootstrap --variant=minbase: nothing but apt and the essentials), the way a new
# user's machine looks. build-aux/package-check.sh installs the built .debs there with
# apt and runs the install test.
#
#   build-aux/clean-root.sh DIR SCRIPT [ARGS...]
#
# DIR (the .debs, the test files) is bind-mounted at /mnt/run, and /mnt/run/SCRIPT
# runs there with bash as root, with network access for apt.
#
# The clean root is created once, in $CAM_CLEAN_ROOT/root (default
# /var/cache/gimp-cam/trixie-clean/root, about 250 MB; build-aux/gimp3-env.sh
# bind-mounts it into its environment at the same path), and never changed after:
# each run gets an overlay (the clean root read-only below, a scratch layer above,
# removed afterwards), so every run starts from the same clean state. Downloaded
# packages and the package lists are kept in $CAM_CLEAN_ROOT/archives and /lists:
# later runs download only what changed. Runs take turns (a lock), and everything
# lives in a private mount namespace: nothing stays mounted, even on failure.
# Needs root, debootstrap and overlayfs (else a plain copy of the root is used).
#
# Environment: CAM_CLEAN_ROOT, CAM_ENV_MIRROR (default http://deb.debian.org/debian)
set -euo pipefail

die() { printf 'clean-root: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'clean-root: %s\n' "$*" >&2; }

[ $# -ge 2 ] || die "usage: build-aux/clean-root.sh DIR SCRIPT [ARGS...]"
rundir=$(cd "$1" && pwd) || die "no folder $1"
shift
[ -f "$rundir/$1" ] || die "no script $rundir/$1"
[ "$(id -u)" -eq 0 ] || die "needs root (a chroot and mounts)"
base=${CAM_CLEAN_ROOT:-/var/cache/gimp-cam/trixie-clean}
mirror=${CAM_ENV_MIRROR:-http://deb.debian.org/debian}
clean=$base/root

mkdir -p "$base/archives/partial" "$base/lists/partial"
exec 8>"$base/lock"
flock 8   # one run (and one creator) at a time

if [ ! -f "$clean/.gimp-cam-clean" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
    say "creating a clean Debian 13 root in $clean (once; a few minutes)"
    rm -rf "$clean.partial"
    debootstrap --variant=minbase trixie "$clean.partial" "$mirror" >"$base/debootstrap.log" 2>&1 \
        || { tail -5 "$base/debootstrap.log" >&2; die "debootstrap of Debian 13 from $mirror failed (log: $base/debootstrap.log)"; }
    rm -f "$clean.partial"/var/cache/apt/archives/*.deb
    rm -rf "$clean"
    mv "$clean.partial" "$clean"
    touch "$clean/.gimp-cam-clean"
fi

scratch=$(mktemp -d "$base/run.XXXXXX")
cleanup() { rm -rf "$scratch"; }
trap cleanup EXIT
if grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null; then
    layers=overlay
else
    layers=copy
    say "no overlayfs here: copying the clean root"
fi

# A private mount namespace; inside a chroot (build-aux/gimp3-env.sh) "/" is not a
# mount point and cannot be made private, but there the namespace we are in is private
# already, so the new one may keep its (private) propagation.
propagation=private
unshare --mount --propagation private true 2>/dev/null || propagation=unchanged
set +e
unshare --mount --propagation "$propagation" bash -euc '
    clean=$1 scratch=$2 base=$3 rundir=$4 layers=$5; shift 5
    m=$scratch/merged
    mkdir -p "$m"
    if [ "$layers" = overlay ]; then
        mkdir -p "$scratch/upper" "$scratch/work"
        mount -t overlay overlay -o "lowerdir=$clean,upperdir=$scratch/upper,workdir=$scratch/work" "$m"
    else
        cp -a "$clean/." "$m/"
    fi
    mount -t proc proc "$m/proc"
    mount --rbind /dev "$m/dev"
    mount -t tmpfs tmpfs "$m/tmp"
    mount --bind "$base/archives" "$m/var/cache/apt/archives"
    mount --bind "$base/lists" "$m/var/lib/apt/lists"
    mkdir -p "$m/mnt/run"
    mount --bind "$rundir" "$m/mnt/run"
    cp /etc/resolv.conf "$m/etc/resolv.conf" 2>/dev/null || true
    chroot "$m" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash -c "cd /mnt/run && exec bash \"\$@\"" _ "$@"
' _ "$clean" "$scratch" "$base" "$rundir" "$layers" "$@"
rc=$?
exit $rc
