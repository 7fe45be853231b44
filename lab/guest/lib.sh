# Helpers for lab tests, POSIX sh: sourced by busybox sh in the guest and by bash on the host.
# A test fails on the first failed assertion (each part runs in its own shell, so exit is local).

# Stop the test as failed / skipped, with the reason.
lab_fail() { echo "FAIL: $*" >&2; exit 1; }
lab_skip() { echo "SKIP: $*" >&2; exit 77; }
note() { echo "# $*"; }

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
    [ "$1" = "$2" ] || lab_fail "$3: expected '$2', got '$1'"
    echo "ok - $3"
}

# assert_ne ACTUAL UNEXPECTED WHAT
assert_ne() {
    [ "$1" != "$2" ] || lab_fail "$3: got '$1', which it must not be"
    echo "ok - $3"
}

# assert_contains TEXT NEEDLE WHAT
assert_contains() {
    case $1 in
        *"$2"*) echo "ok - $3" ;;
        *) lab_fail "$3: '$2' not found in: $1" ;;
    esac
}

# assert_not_contains TEXT NEEDLE WHAT
assert_not_contains() {
    case $1 in
        *"$2"*) lab_fail "$3: '$2' found in: $1" ;;
        *) echo "ok - $3" ;;
    esac
}

# assert_grep PATTERN FILE WHAT  (extended regular expression)
assert_grep() {
    grep -qE "$1" "$2" || lab_fail "$3: /$1/ not in $2"
    echo "ok - $3"
}

# assert_no_grep PATTERN FILE WHAT
assert_no_grep() {
    ! grep -qE "$1" "$2" || lab_fail "$3: /$1/ found in $2: $(grep -E "$1" "$2" | head -3)"
    echo "ok - $3"
}

# assert_status EXPECTED WHAT COMMAND...  (runs COMMAND, output to the log)
assert_status() {
    _want=$1 _what=$2
    shift 2
    "$@"
    _got=$?
    [ "$_got" = "$_want" ] || lab_fail "$_what: '$*' exited $_got, expected $_want"
    echo "ok - $_what"
}

# Run vfioctl, keeping a copy of what it printed in $OUT/NAME and its exit status in $OUT/NAME.status.
# run_vfioctl NAME ARGS...
run_vfioctl() {
    _name=$1
    shift
    echo "\$ vfioctl $*"
    vfioctl "$@" >"$OUT/$_name" 2>"$OUT/$_name.stderr"
    _rc=$?
    echo "$_rc" >"$OUT/$_name.status"
    echo "(exit $_rc)"
    return 0
}

# nested_initrd OUTPUT MODULE...: the initramfs of a nested guest (QEMU inside the lab guest, booted with the lab's
# own kernel): busybox, each MODULE (a path under /usr/lib/modules/VERSION, e.g. kernel/drivers/nvme/host/nvme.ko)
# with its dependencies from modules.dep (nearest first there, so loaded in reverse, each once), and an /init that
# mounts proc, sys and dev, loads them, runs the shell lines given on standard input (they print what the nested
# guest sees, as "NESTED ..." lines on its serial console), says NESTED DONE and powers off.
nested_initrd() {
    _out=$1
    shift
    _n=$(mktemp -d)
    mkdir -p $_n/bin $_n/dev $_n/proc $_n/sys
    cp /usr/bin/busybox $_n/bin/busybox
    for _a in sh mount cat ls dd head sleep insmod poweroff grep sed readlink basename echo; do ln -s busybox $_n/bin/$_a; done
    _v=$(uname -r)
    _seen=" "
    _mods=""
    for _top in "$@"; do
        _order=""
        for _m in $(sed -n "s|^$_top:||p" /usr/lib/modules/$_v/modules.dep); do _order="$_m $_order"; done
        for _m in $_order $_top; do
            case $_seen in *" $_m "*) ;; *) _seen="$_seen$_m "; _mods="$_mods $_m" ;; esac
        done
    done
    for _m in $_mods; do cp /usr/lib/modules/$_v/$_m $_n/bin/ || { rm -rf $_n; return 1; }; done
    {
        echo '#!/bin/sh'
        echo 'mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev'
        for _m in $_mods; do echo "insmod /bin/${_m##*/}"; done
        cat
        echo 'echo NESTED DONE; poweroff -f'
    } >$_n/init
    chmod 755 $_n/init
    (cd $_n && find . | cpio -o -H newc 2>/dev/null) >"$_out"
    _rc=$?
    rm -rf $_n
    return $_rc
}
