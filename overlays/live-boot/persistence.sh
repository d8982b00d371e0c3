# sik: persistence in a file beside the ISO, for live-boot. Sourced by the init shell from
# scripts/live-premount/ORDER, after live-boot's own functions were read (by /scripts/live) and
# before it looks for persistence, so the function below replaces live-boot's.
#
# live-boot looks for persistence only on block devices that are not loop devices, and skips
# the partition its findiso= ISO was found on; sik keeps each ISO's persistence store in a file
# on exactly that partition. When the command line names that file (sik.persistence=PATH),
# attach it to a loop device, read-write, and offer that device to live-boot's search, which
# then finds it by its filesystem label ("persistence") as it would find a partition.
#
# storage_devices BLACK_LISTED WHITE_LISTED: the partitions live-boot may search, one a line
# (the same contract as the function it replaces, used only by find_persistence_media).
storage_devices()
{
	for sik_block in /sys/block/*
	do
		case "${sik_block##*/}" in
		loop*|ram*|fd*) continue ;;
		esac
		sik_disk=$(sys2dev "${sik_block}")
		if is_in_space_sep_list "${sik_disk}" ${1}
		then
			continue
		fi
		if [ -n "${2}" ] && ! is_in_space_sep_list "${sik_disk}" ${2}
		then
			continue
		fi
		for sik_part in $(subdevices "${sik_block}")
		do
			sik_name=$(sys2dev "${sik_part}")
			is_in_space_sep_list "${sik_name}" ${1} || echo "${sik_name}"
		done
	done
	sik_persistence_device
}

sik_persistence_device()
{
	if [ -e /run/sik/persistence-device ]
	then
		cat /run/sik/persistence-device
		return 0
	fi
	sik_file=
	for sik_arg in $(cat /proc/cmdline)
	do
		case "${sik_arg}" in
		sik.persistence=*) sik_file="${sik_arg#sik.persistence=}" ;;
		esac
	done
	[ -n "${sik_file}" ] || return 0
	if [ ! -f "/run/live/findiso${sik_file}" ]
	then
		echo "sik: no persistence: ${sik_file} is not beside the ISO" >/dev/console
		return 0
	fi
	# findiso mounted the partition read-only; the store must be writable.
	mount -o remount,rw /run/live/findiso 2>/dev/null
	sik_loop=$(losetup -f)
	if [ -n "${sik_loop}" ] && losetup "${sik_loop}" "/run/live/findiso${sik_file}"
	then
		mkdir -p /run/sik
		echo "${sik_loop}" >/run/sik/persistence-device
		echo "${sik_loop}"
	else
		echo "sik: no persistence: cannot attach ${sik_file} to a loop device" >/dev/console
	fi
}
