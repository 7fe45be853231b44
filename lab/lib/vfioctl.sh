# Building the vfioctl that goes into the guest: release, Swift runtime linked in, in .build-lab.
# Sets VFIOCTL_BIN (empty when LAB_VFIOCTL=none: boots without vfioctl, for harness work).

ensure_vfioctl() {
    if [[ -n ${LAB_VFIOCTL:-} ]]; then
        if [[ $LAB_VFIOCTL == none ]]; then
            VFIOCTL_BIN=
            log "LAB_VFIOCTL=none: the guest has no vfioctl; tests that need it fail"
            return 0
        fi
        [[ -x $LAB_VFIOCTL ]] || die "LAB_VFIOCTL=$LAB_VFIOCTL is not an executable"
        VFIOCTL_BIN=$(realpath "$LAB_VFIOCTL")
        return 0
    fi
    local scratch=$REPO_DIR/.build-lab
    VFIOCTL_BIN=$scratch/release/vfioctl
    if [[ ${LAB_NO_BUILD:-0} == 1 ]]; then
        [[ -x $VFIOCTL_BIN ]] || die "--no-build, but there is no $VFIOCTL_BIN"
        return 0
    fi
    if ! command -v swift >/dev/null 2>&1; then
        [[ -x /opt/swift/usr/bin/swift ]] && PATH=/opt/swift/usr/bin:$PATH
        command -v swift >/dev/null 2>&1 || die "no swift toolchain in PATH to build vfioctl"
    fi
    # A fully static executable needs nothing in the guest; the static Swift stdlib alone still needs
    # glibc, libstdc++ and libgcc_s, which the initramfs builder copies in (ldd). Remember what worked.
    local modes=(static-executable static-stdlib) mode memo=$LAB_CACHE/swift-link-mode
    [[ $(cat "$memo" 2>/dev/null) == static-stdlib ]] && modes=(static-stdlib static-executable)
    [[ -n ${LAB_SWIFT_LINK:-} ]] && modes=("$LAB_SWIFT_LINK")
    local started
    started=$(now)
    log "building vfioctl (release, ${modes[0]}) in .build-lab"
    for mode in "${modes[@]}"; do
        local flags=()
        case $mode in
            static-executable) flags=(-Xswiftc -static-executable) ;;
            static-stdlib) flags=(--static-swift-stdlib) ;;
            *) die "LAB_SWIFT_LINK must be static-executable or static-stdlib, not $mode" ;;
        esac
        if (cd "$REPO_DIR" && swift build -c release --scratch-path "$scratch" --product vfioctl "${flags[@]}") \
            >"$LAB_CACHE/swift-build.log" 2>&1; then
            printf '%s\n' "$mode" >"$memo"
            log "vfioctl built ($mode) in $(elapsed "$started") s"
            return 0
        fi
        log "swift build ($mode) failed; last lines of $LAB_CACHE/swift-build.log:"
        grep -E 'error|warning: unable' "$LAB_CACHE/swift-build.log" | head -5 >&2
    done
    tail -30 "$LAB_CACHE/swift-build.log" >&2
    die "could not build vfioctl"
}
