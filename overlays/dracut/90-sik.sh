#!/bin/sh
# sik: customise a dracut live system. dracut sources pre-pivot hooks once the root is mounted
# on $NEWROOT; dmsquash-live's iso-scan left the ISO's partition on /run/initramfs/isoscan.
sik_init=$(getarg init=)
/bin/sh /sik/sik.sh "$NEWROOT" /run/initramfs/isoscan "${sik_init:-/sbin/init}"
# Without systemd, sik.sh wrote a launcher. dracut looks for real_init= (it reads
# /etc/cmdline.d too) and checks it is executable under $NEWROOT before /run moves there.
if [ -x /run/sik/bin/init ]; then
    mkdir -p "$NEWROOT/run/sik/bin" && mount --bind /run/sik/bin "$NEWROOT/run/sik/bin" &&
        mkdir -p /etc/cmdline.d && echo "real_init=/run/sik/bin/init" >/etc/cmdline.d/99-sik-init.conf
fi
unset sik_init
