// dev_links.h: the /dev/disk/by-* links a pool's labels name, made in the initramfs.
//
// Pools are created and imported on the running system through udev's persistent links
// (/dev/disk/by-id/ata-...-part3, as the root-on-ZFS guides say), and their labels record those
// paths. Nothing runs udev in zinitrd's initramfs, so the links do not exist there: rather than
// re-pointing the pool at /dev/sda3 (which the import then writes into the labels, and which
// `zpool status` shows from then on), /init makes the link the label names, to the device the
// label was read from, as udev would have (relative, `../../sda3`). udev replaces it with its own
// after switch_root.
#pragma once

#include <string>

namespace zinitrd::rt {

/// True when RECORDED is a path /init may create as a link: under /dev/disk/by-*/, no "." or
/// ".." component, nothing but the characters udev leaves in link names (pure).
bool creatable_dev_link(const std::string& recorded);

/// The path to hand the kernel for a vdev whose label records RECORDED and was read on DEVICE
/// (both absolute /dev paths): RECORDED when it already leads to DEVICE (a link, or another node
/// of the same block device: /dev/mapper/NAME for /dev/dm-0), or when it is a
/// creatable link that does not exist yet and was made here; DEVICE otherwise (RECORDED leads
/// elsewhere, or could not be made). ROOT prefixes every file system access (tests).
std::string leaf_device_path(const std::string& recorded, const std::string& device,
                             const std::string& root = "");

}  // namespace zinitrd::rt
