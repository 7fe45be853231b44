# vfioctl rom reads the VGA card's option ROM through sysfs (journaled enable, read, disable) and reports its
# image: QEMU's stdvga BIOS, one legacy x86 image for 1234:1111 and no EFI image. Given that ROM as the GPU's
# rom file, doctor --spec warns that an OVMF guest cannot use it and plan warns too; the spec init wrote records
# the card's identity (subsystem ids, slot path), which doctor finds unchanged.
LAB_SHAPES="A"
LAB_TIMEOUT=150

guest() {
    d=0000:01:00.0
    [ -e /sys/bus/pci/devices/$d/rom ] || lab_fail "no rom attribute on $d"
    run_vfioctl rom.json rom $d --json
    cat "$OUT/rom.json" "$OUT/rom.json.stderr"
    assert_eq "$(cat "$OUT/rom.json.status")" 0 "rom exits 0 for a sound ROM"
    [ ! -s /run/vfioctl/rom.journal ] || lab_fail "rom.journal still holds an enable record"
    echo "ok - the ROM is disabled again (no open journal record)"

    run_vfioctl rom.txt rom $d --dump /tmp/vga.rom
    cat "$OUT/rom.txt"
    assert_grep "image 1 at 0x0000: 1234:1111, class 030000, x86 BIOS, .*checksum ok, last" "$OUT/rom.txt" "one legacy image for the stdvga"
    assert_grep "UEFI driver: none" "$OUT/rom.txt" "no EFI image"
    [ -s /tmp/vga.rom ] || lab_fail "--dump wrote nothing"
    echo "ok - --dump wrote $(wc -c </tmp/vga.rom) bytes"

    run_vfioctl init init --name labvm --device $d --vcpus 2 --memory 1G --rom /tmp/vga.rom --os linux
    cat "$OUT/init.stderr"
    assert_eq "$(cat "$OUT/init.status")" 0 "init exits 0"
    assert_grep '^slot-path = \["0000:00:[0-9a-f]{2}\.[0-7]"\]' "$OUT/init" "init records the slot path"
    assert_grep '^subsystem = "[0-9a-f]{4}:[0-9a-f]{4}"' "$OUT/init" "init records the subsystem ids"
    cp "$OUT/init" /tmp/labvm.toml

    run_vfioctl doctor doctor --spec /tmp/labvm.toml
    cat "$OUT/doctor"
    assert_grep "^\[PASS\] +$d is still 1234:1111 .*\(spec\.device-identity\)" "$OUT/doctor" "doctor finds the recorded card"
    assert_grep "^\[WARN\] +$d: ROM /tmp/vga.rom: the ROM has no EFI \(GOP\) image.*\(spec\.rom\)" "$OUT/doctor" "doctor warns: no EFI image"
    grep -E "\((firmware\.above-4g|device\.resizable-bar)\)" "$OUT/doctor" || true

    run_vfioctl plan plan /tmp/labvm.toml
    assert_grep "warning: ROM of $d /tmp/vga.rom: the ROM has no EFI \(GOP\) image" "$OUT/plan" "plan warns: no EFI image"

    # The address now names the NVMe: doctor fails and names where the VGA is.
    sed 's/^address = "0000:01:00.0"/address = "0000:03:00.0"/' /tmp/labvm.toml >/tmp/moved.toml
    run_vfioctl moved doctor --spec /tmp/moved.toml
    assert_eq "$(cat "$OUT/moved.status")" 2 "doctor exits 2 for a spec whose address holds another device"
    assert_grep "0000:03:00.0 now holds 1b36:0010 .*not 1234:1111 .*it is now at $d" "$OUT/moved" "and says where the card went"
}

host() {
    jq -e '.images | length == 1' "$OUT/rom.json" >/dev/null || lab_fail "expected one image"
    jq -e '.images[0] | .vendor == "1234" and .device == "1111" and .codeType == 0 and .last' "$OUT/rom.json" >/dev/null || lab_fail "image fields"
    jq -e '.hasUEFI == false and .valid == true and .headerOffset == 0' "$OUT/rom.json" >/dev/null || lab_fail "ROM verdict"
    echo "ok - rom --json: $(jq -c '.images[0] | {offset, vendor, device, codeType, sizeBytes, last}' "$OUT/rom.json")"
}
