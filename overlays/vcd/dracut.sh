# sik: dracut sources this each time its initqueue settles, until the root appears. Once the
# stick's data partition is there, show the ISO as a CD (overlays/vcd/vcd.sh); udev then sees
# its label, and root=live:CDLABEL= finds it.
if [ ! -e /sik/state/done ]; then
    /sik/bin/busybox sh /sik/vcd.sh try
fi
