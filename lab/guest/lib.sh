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
