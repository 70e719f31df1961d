# 20-luks.sh: the systemd root on LUKS (scenarios_systemd.py's systemd_luks), sourced by
# make_pools.sh after 10-debian.sh, whose SD_PASS, opts and debian_root it uses.
# host only: the target's pool VM has no cryptsetup (its image is built from the target)
# disks: sd-lpool
#   lpool: the root-on-ZFS guide's LUKS variant: a LUKS2 volume on the disk's first partition
#          (UUID $SD_LUKS_UUID, passphrase $SD_PASS), opened as luks1, holding the pool with the
#          guide's datasets (debian_root); the root's /etc/crypttab names the volume as the guide
#          writes it, and its zpool.cache names lpool (on /dev/mapper/luks1). After the switch,
#          systemd-cryptsetup@luks1.service must find the volume open (no second prompt).
# PBKDF2 with 1000 iterations instead of argon2id's default cost: as pools/45-luks.sh says, each
# try costs the derivation under emulation, and argon2id's memory would not fit the pool VM.
SD_LUKS_UUID=4c554b53-5344-4000-8000-000000000001
run $B mkdir -p /run/cryptsetup
printf %s "$SD_PASS" | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
  --pbkdf-force-iterations 1000 --uuid "$SD_LUKS_UUID" "$(disk sd-lpool)" - || die "luksFormat sd-lpool"
printf %s "$SD_PASS" | cryptsetup open --key-file - "$(disk sd-lpool)" luks1 || die "open sd-lpool"
create $(opts) lpool /dev/mapper/luks1
CRYPTTAB="luks1 UUID=$SD_LUKS_UUID none luks,discard,initramfs" debian_root lpool
