#!/usr/bin/env bash
# Regenerates the walkthrough block of examples/specs/README.md (between the WALKTHROUGH markers) from real runs:
#   swift build && examples/specs/walkthrough.sh [path/to/vfioctl]
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-.build/debug/vfioctl}
H=examples/hosts/z490-three-gpus
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
block() {
  echo '```console'
  echo '$ vfioctl init --root examples/hosts/z490-three-gpus --name win11 --device 06:00.0 --vcpus 8 --memory 16G \'
  echo '      --hugepages --looking-glass 1920x1080 --input-by-id --iso /srv/iso/Win11.iso --virtio-iso /srv/iso/virtio-win.iso > win11.toml'
  "$B" init --root $H --name win11 --device 06:00.0 --vcpus 8 --memory 16G --hugepages --looking-glass 1920x1080 --input-by-id --iso /srv/iso/Win11.iso --virtio-iso /srv/iso/virtio-win.iso > "$tmp/win11.toml"
  echo '$ head -24 win11.toml'
  head -24 "$tmp/win11.toml"; echo '...'; echo
  echo '$ vfioctl plan --root examples/hosts/z490-three-gpus win11.toml'
  "$B" plan --root $H "$tmp/win11.toml" | sed "s#$tmp/##g"; echo
  echo '$ vfioctl render libvirt win11.toml | sed -n 14,24p'
  "$B" render libvirt "$tmp/win11.toml" | sed -n 14,24p
  echo '$ vfioctl render libvirt win11.toml | grep -A6 "<hostdev" | head -7'
  "$B" render libvirt "$tmp/win11.toml" | grep -A6 "<hostdev" | head -7; echo
  echo '$ vfioctl define --root examples/hosts/z490-three-gpus --user alice --dry-run win11.toml | grep -vE "^([-+@]| [^ ])"    # diffs left out'
  "$B" define --root $H --user alice --dry-run "$tmp/win11.toml" | grep -vE "^([-+@]| [^ ])" | sed "s#$tmp/##g"; echo
  echo '$ vfioctl render proxmox win11.toml | grep -E "^(affinity|cpu|hostpci0|hugepages):"'
  "$B" render proxmox "$tmp/win11.toml" | grep -E "^(affinity|cpu|hostpci0|hugepages):"; echo
  echo '$ cp -r examples/etc/debian /tmp/deb    # a Debian /etc: GRUB + initramfs-tools, kernel 6.1'
  echo '$ vfioctl setup win11.toml --root /tmp/deb          # --dry-run is the default'
  cp -r examples/etc/debian "$tmp/deb"
  "$B" setup "$tmp/win11.toml" --root "$tmp/deb"
  echo '$ vfioctl setup win11.toml --root /tmp/deb --apply'
  "$B" setup "$tmp/win11.toml" --root "$tmp/deb" --apply | sed 's#setup/[0-9TZ.]*#setup/TIMESTAMP#'
  echo '$ vfioctl setup --revert --root /tmp/deb && diff -r examples/etc/debian /tmp/deb'
  "$B" setup --revert --root "$tmp/deb" | sed 's#setup/[0-9TZ.]*#setup/TIMESTAMP#'
  diff -r examples/etc/debian "$tmp/deb" | grep -v "Only in $tmp/deb: var" || true
  echo '```'
}
block > "$tmp/block"
awk -v f="$tmp/block" '
  /<!-- WALKTHROUGH START -->/ { print; while ((getline l < f) > 0) print l; skip=1; next }
  /<!-- WALKTHROUGH END -->/ { skip=0 }
  !skip { print }' examples/specs/README.md > "$tmp/readme"
cp "$tmp/readme" examples/specs/README.md
