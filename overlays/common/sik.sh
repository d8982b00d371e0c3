#!/bin/sh
# sik's customisation step, run inside a distribution's initramfs once its root file system is
# mounted and before the initramfs switches to it. POSIX sh using only tools that both busybox
# and a dracut initramfs (util-linux, coreutils) provide.
#
#   sh /sik/sik.sh ROOT ISO_PARTITION_MOUNT REAL_INIT
#
# ROOT is where the new root is mounted, ISO_PARTITION_MOUNT where the initramfs mounted the
# partition holding the ISO file (the fallback when the stick's UUID is not found), REAL_INIT
# the program the initramfs will start. Nothing here may stop the boot: each failure prints one
# "sik: ..." line on the console and the step is skipped.

ROOT=${1:-/root}
ISO_MOUNT=${2:-}
REAL_INIT=${3:-/sbin/init}
STICK=/run/sik/stick
SIK_UUID=
[ -f /sik/stick.conf ] && . /sik/stick.conf

say() {
    echo "sik: $*" >/dev/console 2>/dev/null || echo "sik: $*" >&2
}

# mounts FIELD VALUE OTHER: the OTHER field (1 device, 2 directory) of the first line of
# /proc/mounts whose FIELD equals VALUE.
mounts() {
    while read -r dev dir rest; do
        if [ "$1" = 1 ] && [ "$dev" = "$2" ]; then
            echo "$dir"
            return 0
        fi
        if [ "$1" = 2 ] && [ "$dir" = "$2" ]; then
            echo "$dev"
            return 0
        fi
    done </proc/mounts
    return 1
}

stick_device() {
    if [ -n "$SIK_UUID" ] && [ -e "/dev/disk/by-uuid/$SIK_UUID" ]; then
        readlink -f "/dev/disk/by-uuid/$SIK_UUID"
        return 0
    fi
    if [ -n "$SIK_UUID" ]; then
        found=$(blkid -U "$SIK_UUID" 2>/dev/null) && [ -n "$found" ] && echo "$found" && return 0
    fi
    [ -n "$ISO_MOUNT" ] && mounts 2 "$ISO_MOUNT"
}

# Make the data partition reachable at $STICK, writable when its file system allows. The
# initramfs may already hold it read-only (live-boot, dracut's iso-scan): a second mount of the
# same file system cannot differ in read-only state, so remount that one and bind it.
mount_stick() {
    dev=$(stick_device) || dev=
    if [ -z "$dev" ]; then
        say "customisations skipped: the stick's data partition (UUID ${SIK_UUID:-unknown}) was not found"
        return 1
    fi
    mkdir -p "$STICK"
    if where=$(mounts 1 "$dev"); then
        mount -o remount,rw "$where" 2>/dev/null || say "the stick stays read-only: cannot remount $dev"
        mount --bind "$where" "$STICK" && return 0
    fi
    mount -o rw "$dev" "$STICK" 2>/dev/null || mount -o ro "$dev" "$STICK" 2>/dev/null || {
        say "customisations skipped: cannot mount $dev"
        return 1
    }
}

apply_overlay() {
    tree="$STICK/boot/customize/overlay"
    [ -d "$tree" ] || return 0
    # Directory by directory, so that a directory in the overlay goes through a symbolic link
    # of the same name in the root (lib -> usr/lib) instead of failing to replace it.
    (cd "$tree" && find . -type d) | while read -r d; do
        mkdir -p "$ROOT/$d" || say "skipped overlay directory ${d#./}"
    done
    (cd "$tree" && find . ! -type d) | while read -r f; do
        (cd "$tree" && cp -a "$f" "$ROOT/$f") || say "skipped overlay file ${f#./}"
    done
}

has_systemd() {
    target=$(readlink -f "$ROOT$REAL_INIT" 2>/dev/null) || return 1
    case "$target" in */systemd) return 0 ;; esac
    # readlink -f resolved an absolute link inside the initramfs, not inside ROOT: look again.
    link=$(readlink "$ROOT$REAL_INIT" 2>/dev/null) || return 1
    case "$link" in */systemd) return 0 ;; esac
    return 1
}

unit_dir() {
    for d in /usr/lib/systemd/system /lib/systemd/system; do
        [ -d "$ROOT$d" ] && echo "$d" && return 0
    done
    return 1
}

# Mount each ExtensionImage read-only and check it is a systemd-sysext image; then either
# hand it to systemd-sysext (through /run/extensions) or stack it over /usr and /opt.
merge_extensions() {
    lower_usr=
    lower_opt=
    sysext=
    if has_systemd && units=$(unit_dir) && [ -e "$ROOT$units/systemd-sysext.service" ]; then
        sysext=$units
    fi
    for image in "$STICK"/boot/extensions/*.ExtensionImage; do
        [ -f "$image" ] || continue
        name=${image##*/}
        name=${name%.ExtensionImage}
        where=/run/sik/extensions/$name
        mkdir -p "$where"
        if ! mount -t squashfs -o loop,ro "$image" "$where" 2>/dev/null; then
            say "skipped ExtensionImage $name: not a squashfs image"
            rmdir "$where" 2>/dev/null
            continue
        fi
        if [ ! -f "$where/usr/lib/extension-release.d/extension-release.$name" ]; then
            say "skipped ExtensionImage $name: no usr/lib/extension-release.d/extension-release.$name"
            umount "$where" && rmdir "$where" 2>/dev/null
            continue
        fi
        if [ -n "$sysext" ]; then
            umount "$where" && rmdir "$where" 2>/dev/null
            mkdir -p /run/extensions
            ln -sf "$image" "/run/extensions/$name.raw"
            continue
        fi
        [ -d "$where/usr" ] && lower_usr="$lower_usr:$where/usr"
        [ -d "$where/opt" ] && lower_opt="$lower_opt:$where/opt"
    done
    if [ -n "$sysext" ] && [ -d /run/extensions ]; then
        mkdir -p /run/systemd/system/sysinit.target.wants
        ln -sf "$sysext/systemd-sysext.service" /run/systemd/system/sysinit.target.wants/
    fi
    stack_over usr "$lower_usr"
    stack_over opt "$lower_opt"
}

stack_over() {
    [ -n "$2" ] || return 0
    mkdir -p "$ROOT/$1"
    modprobe overlay 2>/dev/null
    mount -t overlay "sik-$1" -o "ro,lowerdir=${2#:}:$ROOT/$1" "$ROOT/$1" ||
        say "skipped ExtensionImages for /$1: overlayfs mount failed"
}

mount_home() {
    image="$STICK/home.img"
    [ -f "$image" ] || return 0
    modprobe ext4 2>/dev/null
    mkdir -p "$ROOT/home"
    mount -t ext4 -o loop,rw "$image" "$ROOT/home" 2>/dev/null ||
        say "skipped the persistent home: cannot mount /home.img"
}

# /boot/customize/init runs once the system is up: a systemd unit where the new root runs
# systemd, otherwise a small init that runs it and then becomes the system's own init.
schedule_init() {
    [ -f "$STICK/boot/customize/init" ] || return 0
    cp /sik/run-customize.sh /run/sik/run-customize.sh
    if has_systemd; then
        mkdir -p /run/systemd/system/multi-user.target.wants
        cp /sik/sik-customize.service /run/systemd/system/sik-customize.service
        ln -sf ../sik-customize.service /run/systemd/system/multi-user.target.wants/
        return 0
    fi
    # /run is mounted noexec by the initramfs; the wrapper needs a small file system of its own.
    mkdir -p /run/sik/bin
    mount -t tmpfs -o mode=0755,size=64k sik-bin /run/sik/bin || {
        say "skipped /boot/customize/init: cannot mount a tmpfs for its launcher"
        return 0
    }
    {
        echo "#!/bin/sh"
        echo "/bin/sh /run/sik/run-customize.sh </dev/null"
        echo "exec $REAL_INIT \"\$@\""
    } >/run/sik/bin/init
    chmod 0755 /run/sik/bin/init
}

main() {
    mkdir -p /run/sik
    mount_stick || return 0
    apply_overlay
    merge_extensions
    mount_home
    schedule_init
}

main
exit 0
