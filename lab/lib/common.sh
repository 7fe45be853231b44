# Host-side helpers shared by the lab harness (bash). Sourced by lab/run-tests.

LAB_DIR=${LAB_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
# Everything downloaded or built lives here (git-ignored: /lab/cache/ in .gitignore).
LAB_CACHE=${LAB_CACHE:-$LAB_DIR/cache}

# Debian packages the lab needs on the host, by the command that proves each is there.
LAB_HOST_PACKAGES=(
    "qemu-system-x86_64:qemu-system-x86"
    "busybox:busybox-static"
    "cpio:cpio"
    "depmod:kmod"
    "jq:jq"
)

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 3; }

# Seconds since the epoch with millisecond precision, for timings.
now() { date +%s.%3N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Install the host packages that are missing (Debian's apt; root or sudo).
ensure_host_packages() {
    local missing=() entry cmd pkg
    for entry in "${LAB_HOST_PACKAGES[@]}"; do
        cmd=${entry%%:*} pkg=${entry#*:}
        # busybox must be the static one: it is copied into the guest as is.
        if [[ $cmd == busybox ]]; then
            [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1 && continue
        elif PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null 2>&1; then
            continue
        fi
        missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing host packages: ${missing[*]}"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >"$LAB_CACHE/apt-install.log" 2>&1; then
        "${sudo[@]}" apt-get update -q >>"$LAB_CACHE/apt-install.log" 2>&1 || true
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            "${missing[@]}" >>"$LAB_CACHE/apt-install.log" 2>&1 ||
            { tail -20 "$LAB_CACHE/apt-install.log" >&2; die "apt-get install ${missing[*]} failed"; }
    fi
}

# Print a test's metadata variable (LAB_SHAPES, LAB_TIMEOUT, LAB_PAYLOADS, LAB_MEM) without running it.
test_meta() {
    local file=$1 var=$2
    (
        # shellcheck disable=SC1090
        . "$file" >/dev/null 2>&1
        eval "printf '%s\n' \"\${$var:-}\""
    )
}

# QEMU memory size (2G, 3072M, 3072) in MiB.
mem_mib() {
    local v=${1^^}
    case $v in
        *G) echo $((${v%G} * 1024)) ;;
        *M) echo "${v%M}" ;;
        *) echo "$v" ;;
    esac
}

test_name() { basename "$1" .sh; }

# A test file defines host() when part of it runs on the host after the guest part.
test_has_host_part() { grep -qE '^host\(\)' "$1"; }
