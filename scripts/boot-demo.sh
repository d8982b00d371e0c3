#!/usr/bin/env bash
# Boot a sik disk image in QEMU with the serial console on this terminal.
# usage: scripts/boot-demo.sh bios|uefi [IMAGE]   (changes to the image are discarded)
set -euo pipefail
firmware=${1:-bios}
image=${2:-sik.img}
accel=(-accel tcg -cpu max)
if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then accel=(-accel kvm -cpu host); fi
fw=()
if [ "$firmware" = uefi ]; then
    vars=$(mktemp --suffix=.fd)
    trap 'rm -f "$vars"' EXIT
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vars"
    fw=(-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
        -drive "if=pflash,format=raw,file=$vars")
fi
exec qemu-system-x86_64 "${accel[@]}" -m 1024 -nographic "${fw[@]}" \
    -drive "file=$image,format=raw,if=virtio,snapshot=on"
