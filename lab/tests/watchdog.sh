# bind --take-display --watchdog 5: with no confirmation, the detached watchdog restores the handoff after the
# deadline (bochs-drm and the framebuffer console come back) although the bind has long exited; with
# `vfioctl bind --confirm` in time, the handoff stays.
LAB_SHAPES="A"
LAB_TIMEOUT=240

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# wait_driver ADDR DRIVER SECONDS: polls every 0.2 s (at most SECONDS of guest uptime).
wait_driver() {
    _end=$(awk -v u="$(uptime_s)" -v s="$3" 'BEGIN { print u + s }')
    while [ "$(driver_of "$1")" != "$2" ] && awk -v u="$(uptime_s)" -v e="$_end" 'BEGIN { exit !(u < e) }'; do sleep 0.2; done
}

# wait_log PATTERN SECONDS: until the watchdog's log has PATTERN.
wait_log() {
    _n=0
    while ! grep -q "$1" /run/vfioctl/watchdog.log 2>/dev/null && [ "$_n" -lt $(($2 * 5)) ]; do sleep 0.2; _n=$((_n + 1)); done
}

guest() {
    assert_eq "$(driver_of 0000:01:00.0)" bochs-drm "VGA on bochs-drm"
    run_vfioctl take bind --take-display --watchdog 5 0000:01:00.0
    returned=$(uptime_s)
    cat "$OUT/take" "$OUT/take.stderr"
    assert_eq "$(cat "$OUT/take.status")" 0 "bind --take-display --watchdog 5 exits 0"
    assert_grep "^watchdog \(PID [0-9]+\): the display comes back in 5.000 s" "$OUT/take" "it names the watchdog"
    assert_eq "$(driver_of 0000:01:00.0)" vfio-pci "VGA on vfio-pci after the bind"
    wait_driver 0000:01:00.0 bochs-drm 60
    note "VGA back on bochs-drm $(awk -v a="$returned" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }') s after the bind returned (deadline 5 s after arming)"
    assert_eq "$(driver_of 0000:01:00.0)" bochs-drm "the watchdog gave the VGA back to bochs-drm"
    wait_driver 0000:01:00.1 snd_hda_intel 20
    assert_eq "$(driver_of 0000:01:00.1)" snd_hda_intel "and the HDA to snd_hda_intel"
    [ -d /sys/module/bochs ] || lab_fail "bochs not loaded again"
    wait_log "the display is back" 30
    cp /run/vfioctl/watchdog.log "$OUT/watchdog.log"
    cat "$OUT/watchdog.log"
    assert_grep "no confirmation in time" "$OUT/watchdog.log" "the watchdog logged why"
    assert_grep "the display is back" "$OUT/watchdog.log" "and that the display is back"
    run_vfioctl late bind --confirm
    assert_eq "$(cat "$OUT/late.status")" 1 "a late --confirm says it is too late (exit 1)"

    run_vfioctl take2 bind --take-display --watchdog 5 0000:01:00.0
    assert_eq "$(cat "$OUT/take2.status")" 0 "second handoff exits 0"
    run_vfioctl confirm bind --confirm
    cat "$OUT/confirm"
    assert_eq "$(cat "$OUT/confirm.status")" 0 "bind --confirm exits 0"
    assert_grep "^confirmed: the watchdog stands down" "$OUT/confirm" "the watchdog stands down"
    sleep 8
    assert_eq "$(driver_of 0000:01:00.0)" vfio-pci "the handoff stays after the deadline"
    run_vfioctl restore restore
    assert_eq "$(cat "$OUT/restore.status")" 0 "restore exits 0"
    assert_eq "$(driver_of 0000:01:00.0)" bochs-drm "VGA back on bochs-drm"
}
