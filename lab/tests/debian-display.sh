# --take-display on a systemd host (shape debian): a display-manager.service (a small program holding
# /dev/dri/card0 open, as a display server does) is stopped, the framebuffer console handed over, bochs-drm
# unloaded and the GPU pair bound to vfio-pci; restore gives back the drivers, the console and the running
# display manager.
LAB_SHAPES="debian"
LAB_TIMEOUT=240

gpu=0000:01:00.0
hda=0000:01:00.1
fbcons() { for v in /sys/class/vtconsole/vtcon*; do echo "${v##*/} $(cat "$v/bind") $(cat "$v/name")"; done; }

guest() {
    assert_eq "$(driver_of $gpu)" bochs-drm "VGA on bochs-drm (loaded by udev)"
    [[ -e /dev/dri/card0 ]] || lab_fail "no /dev/dri/card0"
    # Installed as display managers are: a unit of its own, enabled with the alias display-manager.service (the
    # link /etc/systemd/system/display-manager.service -> the unit), which is how vfioctl finds it.
    cat >/etc/systemd/system/lab-dm.service <<'UNIT'
[Unit]
Description=Stand-in display manager holding the GPU's DRM device
[Service]
ExecStart=/usr/bin/python3 -c 'import os, time; fd = os.open("/dev/dri/card0", os.O_RDWR); time.sleep(1e9)'
[Install]
Alias=display-manager.service
UNIT
    systemctl daemon-reload
    systemctl enable lab-dm.service 2>&1 || lab_fail "systemctl enable lab-dm failed"
    ls -l /etc/systemd/system/display-manager.service
    systemctl start display-manager.service || lab_fail "the stand-in display manager does not start"
    sleep 1
    assert_eq "$(systemctl is-active display-manager.service)" active "display-manager.service is active"
    dm=$(systemctl show -p MainPID --value display-manager.service)
    ls -l "/proc/$dm/fd" | grep -q /dev/dri/card0 || lab_fail "the display manager does not hold /dev/dri/card0"
    fbcons >"$OUT/vtcon.before"

    run_vfioctl refused bind $gpu
    assert_ne "$(cat "$OUT/refused.status")" 0 "the boot display is refused without --take-display"
    run_vfioctl holders holders $gpu
    cat "$OUT/holders" "$OUT/holders.stderr"

    load_vfio_pci
    run_vfioctl take bind --take-display $gpu
    cat "$OUT/take" "$OUT/take.stderr"
    assert_eq "$(cat "$OUT/take.status")" 0 "bind --take-display exits 0"
    assert_eq "$(systemctl is-active display-manager.service)" inactive "the display manager was stopped"
    assert_eq "$(driver_of $gpu) $(driver_of $hda)" "vfio-pci vfio-pci" "both functions on vfio-pci"
    [[ ! -d /sys/module/bochs ]] || lab_fail "bochs still loaded"
    fbcons | tee "$OUT/vtcon.during"
    assert_no_grep " 1 .*frame buffer" "$OUT/vtcon.during" "no framebuffer vtconsole bound"

    run_vfioctl restore restore
    cat "$OUT/restore" "$OUT/restore.stderr"
    assert_eq "$(cat "$OUT/restore.status")" 0 "restore exits 0"
    assert_eq "$(driver_of $gpu) $(driver_of $hda)" "bochs-drm snd_hda_intel" "both drivers back"
    fbcons >"$OUT/vtcon.after"
    diff "$OUT/vtcon.before" "$OUT/vtcon.after" || lab_fail "vtconsoles differ after restore"
    echo "ok - framebuffer console bound again"
    sleep 1
    assert_eq "$(systemctl is-active display-manager.service)" active "restore started the display manager again"
    systemctl disable --now lab-dm.service
}
