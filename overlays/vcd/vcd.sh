#!/bin/sh
# sik's virtual CD: show one ISO file of the stick's data partition to the distribution's
# initramfs as a read-only block device carrying the ISO's own label, before the initramfs
# looks for its medium. Runs under sik's bundled busybox, so the initramfs's own tool set does
# not matter; /sik/vcd.conf (written by `sik generate`, sik/customize/vcd.py) says what to do.
#
#   /sik/bin/busybox sh /sik/vcd.sh wait   wait for the data partition (sik.wait=, 60 s)
#   /sik/bin/busybox sh /sik/vcd.sh try    set up only if the partition is there already
#
# Exit status 0: the device is there (/dev/sik/cd); 1: not (yet). When the ISO's bytes on the
# stick are not those `sik generate` saw, it prints one line and never returns: stale bytes
# never boot.

BB=${SIK_BUSYBOX:-/sik/bin/busybox}
PATH=/sbin:/bin:/usr/sbin:/usr/bin
export PATH
STATE=${SIK_STATE:-/sik/state}
. "${SIK_VCD_CONF:-/sik/vcd.conf}"

say() {
    echo "sik: $*" >/dev/console 2>/dev/null || echo "sik: $*" >&2
}

stale() {
    say "$SIK_ISO_PATH changed since sik generate; run sik generate"
    while :; do
        $BB sleep 3600
    done
}

# node NAME: a block device node for /sys/class/block/NAME, made by us (no udev needed).
node() {
    nd=$STATE/dev/$1
    if [ ! -b "$nd" ]; then
        read -r majmin <"/sys/class/block/$1/dev" || return 1
        $BB mkdir -p "$STATE/dev"
        $BB mknod "$nd" b "${majmin%%:*}" "${majmin#*:}" || return 1
    fi
    echo "$nd"
}

# The data partition: the one whose filesystem UUID (ext4) or serial (exFAT, FAT32) is the
# stick's, read where the filesystem keeps it.
find_partition() {
    sector=$((SIK_PROBE_OFFSET / 512))
    within=$((SIK_PROBE_OFFSET % 512))
    count=$((${#SIK_PROBE_HEX} / 2))
    for sys in /sys/class/block/*; do
        [ -e "$sys/partition" ] || continue
        name=${sys##*/}
        case "$name" in loop* | dm-* | ram* | zram* | sr* | nbd*) continue ;; esac
        dev=$(node "$name") || continue
        got=$($BB dd if="$dev" bs=512 skip="$sector" count=1 2>/dev/null |
            $BB od -An -v -tx1 -j "$within" -N "$count" | $BB tr -d ' \n')
        if [ "$got" = "$SIK_PROBE_HEX" ]; then
            echo "$dev"
            return 0
        fi
    done
    return 1
}

# iso_range FROM LENGTH SOURCE: the ISO's bytes FROM..FROM+LENGTH, read from SOURCE (the
# partition) through the extents, so nothing is attached before the bytes are checked.
# Every offset and length is a multiple of 512 (sik refuses other layouts at build time).
iso_range() {
    from=$1
    want=$2
    logical=0
    for ext in $EXTENTS; do
        start=${ext%%:*}
        len=${ext#*:}
        if [ "$want" -gt 0 ] && [ $((logical + len)) -gt "$from" ]; then
            skip=$((from - logical))
            take=$((len - skip))
            [ "$take" -gt "$want" ] && take=$want
            $BB dd if="$3" bs=512 skip=$(((start + skip) / 512)) count=$((take / 512)) 2>/dev/null
            from=$((from + take))
            want=$((want - take))
        fi
        logical=$((logical + len))
    done
}

sha() {
    $BB sha256sum | $BB cut -d ' ' -f 1
}

same_iso() {
    edge=65536
    [ "$SIK_SIZE" -lt "$edge" ] && edge=$SIK_SIZE
    [ "$(iso_range 0 "$edge" "$1" | sha)" = "$SIK_HEAD_SHA256" ] || return 1
    [ "$(iso_range $((SIK_SIZE - edge)) "$edge" "$1" | sha)" = "$SIK_TAIL_SHA256" ]
}

load() {
    [ -d "/sys/module/$1" ] && return 0
    modprobe -q "$1" 2>/dev/null || $BB modprobe -q "$1" 2>/dev/null
    [ -d "/sys/module/$1" ] && return 0
    [ -f "/sik/modules/$1.ko" ] && $BB insmod "/sik/modules/$1.ko" 2>/dev/null
    [ -d "/sys/module/$1" ]
}

# attach_loop FILE OFFSET SIZE: a read-only loop device; util-linux's losetup (when the
# initramfs has it) also limits it to SIZE, busybox's cannot.
attach_loop() {
    if losetup --version 2>/dev/null | $BB grep -q util-linux; then
        losetup --read-only --offset "$2" --sizelimit "$3" --find --show "$1" && return 0
    fi
    loopdev=$($BB losetup -f) || return 1
    $BB losetup -r -o "$2" "$loopdev" "$1" && echo "$loopdev"
}

dmsetup_() {
    if command -v dmsetup >/dev/null 2>&1; then
        dmsetup "$@"
    else
        /sik/lib/ld-linux.so --library-path /sik/lib /sik/bin/dmsetup "$@"
    fi
}

# attach_dm PARTITION: device-mapper linear over the extents, on a read-only loop device of
# the whole partition, so the partition itself stays free to be mounted read-write.
attach_dm() {
    part_name=${1##*/}
    whole=$(attach_loop "$1" 0 $(($($BB cat "/sys/class/block/$part_name/size") * 512))) || return 1
    table=
    logical=0
    for ext in $EXTENTS; do
        start=${ext%%:*}
        len=${ext#*:}
        table="$table$((logical / 512)) $((len / 512)) linear $whole $((start / 512))
"
        logical=$((logical + len))
    done
    printf %s "$table" | dmsetup_ create sik-cd --readonly --noudevsync || return 1
    dmsetup_ mknodes sik-cd >/dev/null 2>&1
    echo /dev/mapper/sik-cd
}

SEEN=
coldplug() {
    # What mdev or udev would do: load the driver of every device that has appeared, once.
    aliases=$($BB cat /sys/bus/*/devices/*/modalias 2>/dev/null | $BB sort -u)
    set -f
    for alias in $aliases; do
        case " $SEEN " in *" $alias "*) continue ;; esac
        SEEN="$SEEN $alias"
        modprobe -q -b "$alias" 2>/dev/null || $BB modprobe -q -b "$alias" 2>/dev/null
    done
    set +f
}

setup() {
    for module in $SIK_MODULES; do
        load "$module" || say "cannot load the $module module that sik took from the ISO"
    done
    load loop || { say "no loop module: $SIK_ISO_PATH cannot be shown as a CD"; return 1; }
    if [ "$SIK_BACKING" = dm ] && ! load dm_mod; then
        say "no device-mapper module: $SIK_ISO_PATH cannot be shown as a CD"
        return 1
    fi
    if [ "$SIK_BACKING" = ram ]; then
        EXTENTS="0:$SIK_SIZE"
        source=$SIK_RAM_ISO
        [ -f "$source" ] || { say "GRUB did not load $SIK_ISO_PATH into memory"; return 1; }
    else
        EXTENTS=$SIK_EXTENTS
        source=$(find_partition) || return 1
    fi
    same_iso "$source" || stale
    case "$SIK_BACKING" in
    loop) device=$(attach_loop "$source" "${EXTENTS%%:*}" "$SIK_SIZE") ;;
    dm) device=$(attach_dm "$source") ;;
    ram) device=$(attach_loop "$source" 0 "$SIK_SIZE") ;;
    esac
    if [ -z "$device" ]; then
        say "cannot attach $SIK_ISO_PATH as a CD ($SIK_BACKING)"
        return 1
    fi
    $BB mkdir -p "${SIK_DEVICE%/*}"
    $BB ln -sf "$($BB readlink -f "$device")" "$SIK_DEVICE"
    : >"$STATE/done"
}

main() {
    $BB mkdir -p "$STATE"
    [ -e "$STATE/done" ] && return 0
    if [ "$1" = try ] || [ "$SIK_BACKING" = ram ]; then
        setup
        return
    fi
    wait=60
    for arg in $($BB cat /proc/cmdline); do
        case "$arg" in sik.wait=*) wait=${arg#sik.wait=} ;; esac
    done
    tries=$((wait * 4))
    while [ "$tries" -gt 0 ]; do
        [ -n "$SIK_COLDPLUG" ] && coldplug
        if find_partition >/dev/null; then
            setup
            return
        fi
        $BB usleep 250000
        tries=$((tries - 1))
    done
    say "the stick's data partition did not appear within $wait s: $SIK_ISO_PATH is not shown as a CD"
    return 1
}

# Sourced with SIK_VCD_LIBRARY set (sik's own tests), it only defines the functions above.
[ -n "${SIK_VCD_LIBRARY:-}" ] || main "$@"
