#!/bin/sh
# Run the stick's /boot/customize/init once, as root, in the booted system. A failing script
# costs one line on the console, never the boot.
script=/run/sik/stick/boot/customize/init
[ -f "$script" ] || exit 0
if [ -x "$script" ] && [ "$(head -c 2 "$script")" = "#!" ]; then
    "$script"
else
    /bin/sh "$script"
fi
status=$?
if [ "$status" -ne 0 ]; then
    echo "sik: /boot/customize/init failed (exit status $status)" >/dev/console 2>/dev/null
fi
exit 0
