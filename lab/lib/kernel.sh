# The guest kernel: Debian's linux-image-*-amd64, downloaded and unpacked, never installed on the host.
# Sets KERNEL_VERSION, KERNEL_ROOT (unpacked package with a depmod'ed /lib/modules) and KERNEL_IMAGE.

# The versioned package that Debian's linux-image-amd64 metapackage depends on.
debian_kernel_package() {
    local pkg
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    if [[ -z $pkg ]]; then
        local sudo=()
        ((EUID == 0)) || sudo=(sudo)
        "${sudo[@]}" apt-get update -q >/dev/null 2>&1 || true
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    fi
    [[ -n $pkg ]] || die "apt-cache cannot resolve linux-image-amd64 (is Debian's apt reachable?)"
    printf '%s\n' "$pkg"
}

# Reuse the cached kernel (cache/kernel/current) unless LAB_KERNEL_REFRESH=1: a second run needs no network.
ensure_kernel() {
    local base=$LAB_CACHE/kernel
    mkdir -p "$base"
    if [[ ${LAB_KERNEL_REFRESH:-0} != 1 && -f $base/current ]]; then
        KERNEL_VERSION=$(<"$base/current")
        if [[ -f $base/$KERNEL_VERSION/.complete ]]; then
            KERNEL_ROOT=$base/$KERNEL_VERSION/root
            KERNEL_IMAGE=$KERNEL_ROOT/boot/vmlinuz-$KERNEL_VERSION
            return 0
        fi
    fi
    local pkg
    pkg=$(debian_kernel_package)
    KERNEL_VERSION=${pkg#linux-image-}
    local dir=$base/$KERNEL_VERSION
    if [[ ! -f $dir/.complete ]]; then
        log "downloading $pkg (apt-get download + dpkg -x, not installed on this machine)"
        rm -rf "$dir"
        mkdir -p "$dir/deb"
        # apt's sandbox user may not write into the cache folder; download into a temp dir it owns.
        local tmp
        tmp=$(mktemp -d)
        chmod 777 "$tmp"
        (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
            (cd "$tmp" && apt-get update -q >/dev/null 2>&1 && apt-get download -q "$pkg" >/dev/null 2>&1) ||
            die "apt-get download $pkg failed"
        mv "$tmp"/*.deb "$dir/deb/"
        rmdir "$tmp"
        dpkg -x "$dir"/deb/*.deb "$dir/root"
        PATH=$PATH:/usr/sbin:/sbin depmod -b "$dir/root" "$KERNEL_VERSION"
        touch "$dir/.complete"
    fi
    printf '%s\n' "$KERNEL_VERSION" >"$base/current"
    KERNEL_ROOT=$dir/root
    KERNEL_IMAGE=$KERNEL_ROOT/boot/vmlinuz-$KERNEL_VERSION
    [[ -f $KERNEL_IMAGE ]] || die "no kernel image in $pkg ($KERNEL_IMAGE)"
}
