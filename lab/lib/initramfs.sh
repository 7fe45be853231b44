# The guest's initramfs, made of concatenated newc cpio archives (the kernel unpacks them in order):
#   base.cpio     busybox, the kernel modules of modules.list with their dependencies (cached)
#   payload.cpio  the payloads the shape's tests name (cached per set of payloads; absent when none)
#   vfioctl.cpio  the vfioctl binary (and its shared libraries if it has any), rebuilt every run
#   boot.cpio     /init, the guest scripts, the tests and this boot's run.conf, rebuilt every boot
# Archives are uncompressed: unpacking them is faster than decompressing them under TCG.

# Copy a file to the same path under $1, and when it is a dynamic ELF, every shared library ldd lists
# (and the loader) too. Later payloads (QEMU for nested guests, cyclictest, stress-ng) come in this way.
stage_with_libs() {
    local stage=$1 file=$2
    [[ -e $file ]] || die "payload file $file does not exist on this machine"
    stage_copy "$stage" "$file"
    local lib
    # ldd prints "libx.so => /path (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
    while read -r lib; do
        [[ -n $lib ]] && stage_copy "$stage" "$lib"
    done < <(ldd "$file" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

# Copy one file (symlinks resolved) to its own path under the stage, replacing busybox applet links.
# /lib, /lib64, /bin and /sbin are links into /usr in the guest (merged /usr): a real folder of that name in a
# later archive would replace the link when the kernel unpacks it (and hide /lib/modules), so files ldd names
# there (/lib/x86_64-linux-gnu/libc.so.6) go under /usr.
stage_copy() {
    local stage=$1 file=$2
    local dest=$stage$file
    case $file in /lib/* | /lib64/* | /bin/* | /sbin/*) dest=$stage/usr$file ;; esac
    mkdir -p "$(dirname "$dest")"
    rm -f "$dest"
    cp -L "$file" "$dest"
}

# Copy a folder as is (symlinks kept), e.g. firmware or data files a payload reads at run time.
stage_tree() {
    local stage=$1 dir=$2
    [[ -e $dir ]] || die "payload folder $dir does not exist on this machine"
    mkdir -p "$stage$(dirname "$dir")"
    cp -a "$dir" "$stage$(dirname "$dir")/"
}

# Read a payload spec (lab/payloads/NAME.payload): lines "package PKG", "binary PATH", "file PATH",
# "tree PATH", "kernel" (the lab's own kernel image as /boot/vmlinuz, for nested guests); '#' starts a
# comment. Packages are installed on the host first when missing.
payload_packages() {
    awk '$1 == "package" { print $2 }' "$1"
}

stage_payload() {
    local stage=$1 spec=$2 kind arg
    while read -r kind arg _; do
        case $kind in
            '' | '#'*) ;;
            package) ;;
            binary | file) stage_with_libs "$stage" "$arg" ;;
            tree) stage_tree "$stage" "$arg" ;;
            kernel) mkdir -p "$stage/boot" && cp "$KERNEL_IMAGE" "$stage/boot/vmlinuz" ;;
            *) die "$spec: unknown payload line '$kind $arg'" ;;
        esac
    done <"$spec"
}

payload_spec() {
    local spec=$LAB_DIR/payloads/$1.payload
    [[ -f $spec ]] || die "no payload named $1 (expected $spec)"
    printf '%s\n' "$spec"
}

ensure_payload_packages() {
    local name pkg missing=()
    for name in "$@"; do
        while read -r pkg; do
            dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
        done < <(payload_packages "$(payload_spec "$name")")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing payload packages: ${missing[*]}"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >>"$LAB_CACHE/apt-install.log" 2>&1 || die "apt-get install ${missing[*]} failed (see $LAB_CACHE/apt-install.log)"
}

# Module names from modules.list (comments and blank lines dropped).
lab_modules() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$LAB_DIR/modules.list" | grep -v '^$'
}

# Write a newc cpio of the folder $1 to $2, every file owned by root.
make_cpio() {
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$2"
}

# Build (or reuse) base.cpio. Sets BASE_CPIO.
ensure_base_cpio() {
    local key
    key=$(
        {
            printf '%s\n' "$KERNEL_VERSION"
            cat "$LAB_DIR/modules.list" "$LAB_DIR/lib/initramfs.sh"
            sha256sum /bin/busybox
        } | sha256sum | cut -c1-16
    )
    BASE_CPIO=$LAB_CACHE/initramfs/base-$key.cpio
    [[ -f $BASE_CPIO ]] && return 0
    log "building the guest base image (busybox, kernel modules)"
    mkdir -p "$LAB_CACHE/initramfs"
    local stage
    stage=$(mktemp -d "$LAB_CACHE/initramfs/stage.XXXXXX")
    # Merged-/usr layout like Debian 12, so payload files keep the paths ldd reports.
    mkdir -p "$stage"/usr/{bin,sbin,lib,lib64} "$stage"/{dev,proc,sys,tmp,run,mnt,etc,root}
    ln -s usr/bin "$stage/bin"
    ln -s usr/sbin "$stage/sbin"
    ln -s usr/lib "$stage/lib"
    ln -s usr/lib64 "$stage/lib64"
    mknod -m 600 "$stage/dev/console" c 5 1
    mknod -m 666 "$stage/dev/null" c 1 3
    cp /bin/busybox "$stage/usr/bin/busybox"
    local applet
    for applet in $(/bin/busybox --list); do
        # Never link busybox to itself (it would replace the binary with a loop).
        [[ $applet == busybox ]] && continue
        ln -s busybox "$stage/usr/bin/$applet"
    done

    # Kernel modules: the closure modprobe computes for each listed module, then a fresh depmod.
    local modroot=$KERNEL_ROOT/lib/modules/$KERNEL_VERSION
    local destmod=$stage/usr/lib/modules/$KERNEL_VERSION
    mkdir -p "$destmod"
    cp "$modroot"/modules.builtin "$modroot"/modules.builtin.modinfo "$modroot"/modules.order "$destmod/"
    local m path
    while read -r m; do
        PATH=$PATH:/usr/sbin:/sbin modprobe -d "$KERNEL_ROOT" -S "$KERNEL_VERSION" --show-depends "$m" \
            >"$stage/deps" 2>&1 || die "module $m (modules.list) is not in kernel $KERNEL_VERSION: $(cat "$stage/deps")"
        # Built-in modules print "builtin NAME": nothing to copy.
        while read -r _ path _; do
            case $path in
                "$modroot"/*) mkdir -p "$destmod/$(dirname "${path#"$modroot"/}")"
                    cp "$path" "$destmod/${path#"$modroot"/}" ;;
            esac
        done <"$stage/deps"
    done < <(lab_modules)
    rm -f "$stage/deps"
    PATH=$PATH:/usr/sbin:/sbin depmod -b "$stage/usr" "$KERNEL_VERSION"
    lab_modules >"$stage/etc/lab-modules"

    make_cpio "$stage" "$BASE_CPIO.tmp"
    mv "$BASE_CPIO.tmp" "$BASE_CPIO"
    rm -rf "$stage"
}

# Build (or reuse) the cpio of the named payloads. Prints its path (nothing when no payload is named).
ensure_payload_cpio() {
    (($#)) || return 0
    local names
    names=$(printf '%s\n' "$@" | sort -u)
    local key
    key=$(
        {
            printf '%s\n' "$names" "$KERNEL_VERSION"
            cat "$LAB_DIR/lib/initramfs.sh"
            local p
            for p in $names; do cat "$(payload_spec "$p")"; done
        } | sha256sum | cut -c1-16
    )
    local out=$LAB_CACHE/initramfs/payload-$key.cpio
    if [[ ! -f $out ]]; then
        log "building the guest payload image ($(echo $names))"
        mkdir -p "$LAB_CACHE/initramfs"
        local stage p
        stage=$(mktemp -d "$LAB_CACHE/initramfs/stage.XXXXXX")
        for p in $names; do
            stage_payload "$stage" "$(payload_spec "$p")"
        done
        make_cpio "$stage" "$out.tmp"
        mv "$out.tmp" "$out"
        rm -rf "$stage"
    fi
    printf '%s\n' "$out"
}

# vfioctl.cpio: the binary at /usr/bin/vfioctl (with its libraries when it is not a static executable).
make_vfioctl_cpio() {
    local binary=$1 out=$2
    local stage
    stage=$(mktemp -d "$LAB_CACHE/initramfs/stage.XXXXXX")
    mkdir -p "$stage/usr/bin"
    if [[ -n $binary ]]; then
        # Debug info is most of a Swift binary; the guest unpacks every byte under TCG.
        strip -o "$stage/usr/bin/vfioctl" "$binary" 2>/dev/null || cp "$binary" "$stage/usr/bin/vfioctl"
        local lib
        while read -r lib; do
            [[ -n $lib ]] && stage_copy "$stage" "$lib"
        done < <(ldd "$binary" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
    fi
    make_cpio "$stage" "$out"
    rm -rf "$stage"
}

# boot.cpio: /init, guest helpers, every test (so a shell can run any of them) and run.conf.
make_boot_cpio() {
    local out=$1 shape=$2 mode=$3
    shift 3
    local stage
    stage=$(mktemp -d "$LAB_CACHE/initramfs/stage.XXXXXX")
    mkdir -p "$stage/lab/tests" "$stage/usr/bin"
    cp "$LAB_DIR/guest/init" "$stage/init"
    cp "$LAB_DIR/guest/lib.sh" "$stage/lab/lib.sh"
    cp "$LAB_DIR/guest/lab-test" "$stage/usr/bin/lab-test"
    chmod 755 "$stage/init" "$stage/usr/bin/lab-test"
    cp "$LAB_DIR"/tests/*.sh "$stage/lab/tests/"
    [[ -f $LAB_DIR/shapes/$shape.guest.sh ]] && cp "$LAB_DIR/shapes/$shape.guest.sh" "$stage/lab/shape-setup.sh"
    {
        printf 'LAB_SHAPE=%s\n' "$shape"
        printf 'LAB_MODE=%s\n' "$mode"
        printf 'LAB_TESTS="%s"\n' "$*"
    } >"$stage/lab/run.conf"
    make_cpio "$stage" "$out"
    rm -rf "$stage"
}
