# Booting a machine shape and reading back what the guest reported (bash, sourced by lab/run-tests).

lab_shapes() {
    local f
    for f in "$LAB_DIR"/shapes/*.sh; do
        # SHAPE.guest.sh is a shape's guest-side hook, q35.sh the building blocks: neither is a shape.
        [[ $f == *.guest.sh || $f == */q35.sh ]] || basename "$f" .sh
    done
}

shape_title() {
    (
        . "$LAB_DIR/shapes/q35.sh"
        . "$LAB_DIR/shapes/$1.sh"
        printf '%s\n' "$SHAPE_TITLE"
    )
}

# boot_shape SHAPE MODE INITRD BOOT_DIR TIMEOUT [MEM]
#   MODE run:   console to BOOT_DIR/console.log, data channel to BOOT_DIR/data.log, killed after TIMEOUT s.
#   MODE shell: console on this terminal (Ctrl-A x quits QEMU), no time limit.
# Prints nothing; returns QEMU's (or timeout's) exit status. Writes the QEMU command to BOOT_DIR/qemu.cmd.
boot_shape() {
    local shape=$1 mode=$2 initrd=$3 timeout_s=$5 mem=${6:-}
    (
        BOOT_DIR=$4
        QEMU_ARGS=()
        . "$LAB_DIR/shapes/q35.sh"
        [[ -f $LAB_DIR/shapes/$shape.sh ]] || die "no machine shape $shape (lab/shapes/$shape.sh)"
        . "$LAB_DIR/shapes/$shape.sh"
        [[ -n $mem ]] && SHAPE_MEM=$mem
        QEMU_ARGS=(qemu-system-x86_64 -nodefaults -no-user-config -accel tcg,thread=multi -display none -vga none)
        shape_args
        if [[ ${SHAPE_BOOT:-kernel} == disk ]]; then
            # A shape that boots from its own disk (firmware, bootloader): the guest may reboot, and its kernel
            # arguments come from its bootloader's configuration, not from here.
            QEMU_ARGS+=(-boot strict=on)
        else
            # no_timer_check: under TCG on a busy machine the kernel's early check that the timer IRQ reaches
            # the IO-APIC can miss its ticks and panic ("IO-APIC + timer doesn't work").
            QEMU_ARGS+=(-no-reboot -kernel "$KERNEL_IMAGE" -initrd "$initrd"
                -append "console=ttyS0,115200 panic=-1 quiet no_timer_check $SHAPE_APPEND ${LAB_APPEND:-}")
        fi
        if [[ $mode == shell ]]; then
            QEMU_ARGS+=(-serial mon:stdio -serial "file:$BOOT_DIR/data.log")
            printf '%q ' "${QEMU_ARGS[@]}" >"$BOOT_DIR/qemu.cmd"
            exec "${QEMU_ARGS[@]}"
        fi
        QEMU_ARGS+=(-monitor none -serial "file:$BOOT_DIR/console.log" -serial "file:$BOOT_DIR/data.log")
        printf '%q ' "${QEMU_ARGS[@]}" >"$BOOT_DIR/qemu.cmd"
        : >"$BOOT_DIR/console.log"
        local tailpid=
        if [[ ${LAB_VERBOSE:-0} == 1 ]]; then
            tail -n +1 -f "$BOOT_DIR/console.log" >&2 &
            tailpid=$!
        fi
        timeout -k 5 "$timeout_s" "${QEMU_ARGS[@]}" </dev/null >"$BOOT_DIR/qemu.out" 2>&1
        local rc=$?
        [[ -n $tailpid ]] && { sleep 0.2; kill "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null; }
        exit $rc
    )
}

# Split BOOT_DIR/data.log into BOOT_DIR/TEST/out/FILES and BOOT_DIR/results ("TEST STATUS RC SECONDS").
collect_results() {
    local dir=$1
    : >"$dir/results"
    tr -d '\r' <"$dir/data.log" | awk -v dir="$dir" '
        function shq(s) { gsub(/\047/, "\047\\\047\047", s); return "\047" s "\047" }
        /^@@LAB FILE / {
            path = dir "/" $3 "/out/" $4
            d = path; sub(/\/[^\/]*$/, "", d)
            system("mkdir -p " shq(d))
            b64 = path ".b64"; printf "" > b64; infile = 1; files[b64] = path; next
        }
        /^@@LAB ENDFILE/ { close(b64); infile = 0; next }
        infile { print > b64; next }
        /^@@LAB RESULT / { print $3, $4, $5, $6 > (dir "/results") }
        /^@@LAB BOOTED / { print $4 > (dir "/booted-at") }
        /^@@LAB (NOTE|REBOOT|FATAL) / { print > (dir "/notes") }
        /^@@LAB DONE/ { print $3 > (dir "/done") }
        END { for (f in files) print f, files[f] > (dir "/files") }
    '
    local b64 path
    if [[ -f $dir/files ]]; then
        while read -r b64 path; do
            base64 -d "$b64" >"$path" 2>/dev/null || log "could not decode $path from the guest"
            rm -f "$b64"
        done <"$dir/files"
        rm -f "$dir/files"
    fi
}
