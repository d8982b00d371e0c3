"""Boot a stick in a virtual machine on the host: QEMU, its firmware, a copy-on-write overlay
that keeps the stick unwritten, and what the guest's console says about how far it got."""
