# A process holding the VGA's DRM node (bochs-drm's /dev/dri/card0) is named by bind: the dry run, the plain
# bind and the --take-display handoff (whose `modprobe -r bochs` would fail while the node is open) refuse with its
# PID, command and node. Forced, the handoff checks again right before it touches the console, fails there naming
# the holder at that moment, and rolls back with the framebuffer console still bound (this guest has no system
# console driver: a framebuffer console unbound while bochs stays loaded could not be bound again).
LAB_SHAPES="A"
LAB_TIMEOUT=180

# Progress on the console (the test's own output comes back only when it ends).
mark() { echo "<3>lab holders-bind: $*" >/dev/kmsg 2>/dev/null; }

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }

guest() {
    assert_eq "$(driver_of 0000:01:00.0)" bochs-drm "VGA on bochs-drm"
    card=$(ls /sys/bus/pci/devices/0000:01:00.0/drm | grep -E '^card[0-9]+$' | head -1)
    [ -n "$card" ] || lab_fail "bochs-drm has no card node"
    [ -c "/dev/dri/$card" ] || lab_fail "/dev/dri/$card is no character device"
    # The holder: a shell that opens the card node read-only and sleeps with it.
    # Its standard streams go nowhere: the harness waits for every writer of the test's output to close, and a
    # holder left running (a failed assertion exits before the kill below) would hold it for its whole sleep.
    sh -c "exec 3</dev/dri/$card; exec sleep 600" </dev/null >/dev/null 2>&1 &
    holder=$!
    trap 'kill "$holder" 2>/dev/null' EXIT
    sleep 1
    # busybox may run the applet without a new image: take the name the kernel shows.
    comm=$(cat "/proc/$holder/comm")
    note "holder PID $holder ($comm) holds /dev/dri/$card: $(ls -l /proc/$holder/fd/3)"

    mark "holder started"
    run_vfioctl holders holders 0000:01:00.0
    cat "$OUT/holders"
    assert_eq "$(cat "$OUT/holders.status")" 1 "vfioctl holders: held (exit 1)"
    assert_grep "^ +$holder +$comm +/dev/dri/$card" "$OUT/holders" "holders lists the holding process on /dev/dri/$card"

    mark "holders done; dry run"
    run_vfioctl dry bind --dry-run 0000:01:00.0
    cat "$OUT/dry.stderr"
    assert_eq "$(cat "$OUT/dry.status")" 2 "bind --dry-run refuses"
    assert_grep "0000:01:00.0 is held by $comm \(PID $holder\): /dev/dri/$card: unbinding it from bochs-drm" "$OUT/dry.stderr" "the dry run names PID, command and node"

    mark "plain bind"
    run_vfioctl plain bind 0000:01:00.0
    assert_eq "$(cat "$OUT/plain.status")" 2 "bind refuses"
    assert_grep "held by $comm \(PID $holder\)" "$OUT/plain.stderr" "bind names the holder"
    assert_eq "$(driver_of 0000:01:00.0)" bochs-drm "nothing changed"

    mark "take-display bind"
    run_vfioctl take bind --take-display 0000:01:00.0
    cat "$OUT/take" "$OUT/take.stderr"
    assert_eq "$(cat "$OUT/take.status")" 2 "the handoff refuses (bochs cannot be unloaded while the node is open)"
    assert_grep "0000:01:00.0 is held by $comm \(PID $holder\): /dev/dri/$card: the display handoff unloads bochs, which fails while they keep it open" "$OUT/take.stderr" "it names the holder and the module"
    assert_no_grep "binding despite" "$OUT/take.stderr" "the boot display is no warning when --take-display hands it over"

    mark "forced take-display bind"
    vtcon=$(grep -l "frame buffer" /sys/class/vtconsole/vtcon*/name | head -1)
    vtcon=${vtcon%/name}
    assert_eq "$(cat "$vtcon/bind")" 1 "the framebuffer console is bound before"
    start=$(date +%s)
    run_vfioctl forced bind --take-display --force 0000:01:00.0
    end=$(date +%s)
    cat "$OUT/forced" "$OUT/forced.stderr"
    note "forced bind --take-display with a holder: exit $(cat "$OUT/forced.status") after $((end - start)) s"
    assert_eq "$(cat "$OUT/forced.status")" 3 "the forced handoff fails"
    assert_grep "no process holds a device node of 0000:01:00.0 did not happen" "$OUT/forced.stderr" "at the check before the console"
    assert_grep "0000:01:00.0 was held at that moment by $comm \(PID $holder\): /dev/dri/$card" "$OUT/forced.stderr" "the failure names the holder at that moment"
    assert_grep "rolled back" "$OUT/forced.stderr" "and rolled back"
    assert_eq "$(cat "$vtcon/bind")" 1 "the framebuffer console is still bound"
    assert_eq "$(driver_of 0000:01:00.0)" bochs-drm "VGA still on bochs-drm"
    assert_eq "$(driver_of 0000:01:00.1)" snd_hda_intel "HDA still on snd_hda_intel"
    [ -e /run/vfioctl/bind.journal ] && lab_fail "a journal was left: $(cat /run/vfioctl/bind.journal)"

    mark "killing the holder"
    kill "$holder"
    wait "$holder" 2>/dev/null
    mark "last checks"
    run_vfioctl free holders 0000:01:00.0
    assert_eq "$(cat "$OUT/free.status")" 0 "nothing holds it once the process is gone"
    run_vfioctl dry2 bind --dry-run --take-display 0000:01:00.0
    assert_eq "$(cat "$OUT/dry2.status")" 0 "the handoff is allowed again"
}
