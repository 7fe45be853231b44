# The GPU-like pair (VGA 01:00.0 on bochs-drm with the framebuffer console, HDA 01:00.1): bind refuses the
# boot display without --take-display; with it, fbcon is unbound, bochs unloaded, both functions go to vfio-pci,
# the group is viable and verify passes; restore gives back both drivers, the module and the console.
LAB_SHAPES="A"
LAB_TIMEOUT=120

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }
fbcons() { for v in /sys/class/vtconsole/vtcon*; do echo "${v##*/} $(cat "$v/bind") $(cat "$v/name")"; done; }

guest() {
    assert_eq "$(driver_of 0000:01:00.0)" bochs-drm "VGA on bochs-drm"
    assert_contains "$(cat /proc/fb)" bochs "bochs-drm's framebuffer is the console"
    fbcons >"$OUT/vtcon.before"
    cat "$OUT/vtcon.before"
    run_vfioctl refused bind 0000:01:00.0
    assert_eq "$(cat "$OUT/refused.status")" 2 "the boot display is refused without --take-display"
    assert_grep "boot display" "$OUT/refused.stderr" "and says why"

    run_vfioctl take bind --take-display 0000:01:00.0
    cat "$OUT/take" "$OUT/take.stderr"
    assert_eq "$(cat "$OUT/take.status")" 0 "bind --take-display exits 0"
    assert_eq "$(driver_of 0000:01:00.0)" vfio-pci "VGA on vfio-pci"
    assert_eq "$(driver_of 0000:01:00.1)" vfio-pci "HDA on vfio-pci (same group)"
    [ ! -d /sys/module/bochs ] || lab_fail "bochs still loaded"
    echo "ok - bochs unloaded"
    assert_no_grep " 1 .*frame buffer" "$(fbcons >"$OUT/vtcon.during"; echo "$OUT/vtcon.during")" "no framebuffer vtconsole bound"
    run_vfioctl verify verify 0000:01:00.0
    cat "$OUT/verify"
    assert_eq "$(cat "$OUT/verify.status")" 0 "verify passes on the VGA function"
    run_vfioctl verify1 verify 0000:01:00.1
    assert_eq "$(cat "$OUT/verify1.status")" 0 "verify passes on the HDA function"

    run_vfioctl restore restore
    cat "$OUT/restore" "$OUT/restore.stderr"
    assert_eq "$(cat "$OUT/restore.status")" 0 "restore exits 0"
    assert_eq "$(driver_of 0000:01:00.0)" bochs-drm "VGA back on bochs-drm"
    assert_eq "$(driver_of 0000:01:00.1)" snd_hda_intel "HDA back on snd_hda_intel"
    assert_eq "$(cat /sys/bus/pci/devices/0000:01:00.0/driver_override)" "(null)" "VGA override cleared"
    fbcons >"$OUT/vtcon.after"
    diff "$OUT/vtcon.before" "$OUT/vtcon.after" || lab_fail "vtconsoles differ after restore"
    echo "ok - framebuffer console bound again"
    assert_contains "$(cat /proc/fb)" bochs "bochs-drm's framebuffer is back"
}
