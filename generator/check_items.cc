// check_items.cc: see check_items.h. Items are listed in boot-chain order: module -> DKMS ->
// userland -> hostid -> root dataset -> cache -> image.
#include "check_items.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "check_parsers.h"
#include "text.h"

namespace zinitrd::gen {
namespace {

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

CheckItem item(std::string id, CheckState state, std::string detail, std::string fix = {}) {
  return CheckItem{std::move(id), state, std::move(detail), std::move(fix)};
}

std::string rebuild_fix(std::string_view kver) {
  return "run `zinitrd build --kver " + std::string(kver) + "`";
}

}  // namespace

const char* check_state_name(CheckState state) {
  switch (state) {
    case CheckState::kOk:
      return "ok";
    case CheckState::kWarn:
      return "warn";
    case CheckState::kFail:
      return "fail";
    case CheckState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

CheckItem check_zfs_module(std::string_view kver, const std::vector<ModuleFact>& modules,
                           std::string_view lookup_error) {
  const std::string k(kver);
  std::string fix_build = "run `dkms autoinstall -k " + k +
                          "` (needs zfs-dkms and the headers of " + k + "), then " +
                          rebuild_fix(kver);
  if (!lookup_error.empty())
    return item("zfs-module", CheckState::kFail, std::string(lookup_error), fix_build);
  if (modules.empty() || (modules[0].path.empty() && !modules[0].builtin))
    return item("zfs-module", CheckState::kFail, "zfs.ko is not built for " + k, fix_build);
  std::vector<std::string> missing, mismatched;
  size_t files = 0;
  for (const auto& m : modules) {
    if (m.builtin) continue;
    if (m.path.empty()) {
      missing.push_back(m.name);
      continue;
    }
    ++files;
    std::vector<std::string> vm = split_words(m.vermagic);
    if (vm.empty() || vm[0] != k)
      mismatched.push_back(m.name + " (built for " + (vm.empty() ? "an unknown kernel" : vm[0]) +
                           ")");
  }
  if (!missing.empty() || !mismatched.empty()) {
    std::string d;
    if (!missing.empty()) {
      d = "missing for " + k + ":";
      d += " " + join(missing, " ");
    }
    if (!mismatched.empty()) {
      if (!d.empty()) d += "; ";
      d += "vermagic does not match " + k + ":";
      d += " " + join(mismatched, " ");
    }
    return item("zfs-module", CheckState::kFail, d, fix_build);
  }
  if (modules[0].builtin) return item("zfs-module", CheckState::kOk, "zfs is built into " + k);
  return item(
      "zfs-module", CheckState::kOk,
      modules[0].path + " and " + std::to_string(files - 1) + " dependencies, built for " + k);
}

CheckItem check_dkms(std::string_view kver, const std::optional<std::string>& status_output,
                     bool module_present) {
  const std::string k(kver);
  if (!status_output)
    return item("dkms", module_present ? CheckState::kOk : CheckState::kUnknown,
                "dkms is not installed" +
                    std::string(module_present ? " (zfs.ko does not come from DKMS)" : ""),
                module_present ? "" : "install zfs-dkms, or a zfs module package for " + k);
  std::string state = parse_dkms_state(*status_output, "zfs", kver);
  if (state.empty()) {
    if (module_present)
      return item("dkms", CheckState::kOk,
                  "DKMS does not manage zfs for " + k + " (zfs.ko comes from elsewhere)");
    return item(
        "dkms", CheckState::kFail, "DKMS has no zfs module for " + k,
        "install zfs-dkms and linux-headers-" + k + ", then run `dkms autoinstall -k " + k + "`");
  }
  if (state.starts_with("installed")) {
    if (state.find("WARNING") != std::string::npos)
      return item("dkms", CheckState::kWarn, "zfs for " + k + ": " + state,
                  "see `dkms status -k " + k +
                      "`; reinstall with `dkms install --force zfs/VERSION -k " + k + "`");
    return item("dkms", CheckState::kOk, "zfs for " + k + ": " + state);
  }
  return item("dkms", module_present ? CheckState::kWarn : CheckState::kFail,
              "zfs for " + k + ": " + state + " (not installed)",
              "run `dkms autoinstall -k " + k + "` (needs linux-headers-" + k + ")");
}

CheckItem check_versions(std::string_view module_version, std::string_view userland_version) {
  if (module_version.empty() || userland_version.empty())
    return item("zfs-version", CheckState::kUnknown,
                std::string("cannot compare: ") + (module_version.empty()
                                                       ? "zfs.ko has no version"
                                                       : "the zfs userland version is unknown"));
  std::string m = upstream_version(module_version), u = upstream_version(userland_version);
  std::string d =
      "userland " + std::string(userland_version) + ", module " + std::string(module_version);
  if (m == u) return item("zfs-version", CheckState::kOk, d);
  auto minor = [](const std::string& v) { return v.substr(0, v.find('.', v.find('.') + 1)); };
  std::string fix =
      "install the zfs-dkms that matches zfsutils-linux (same version), then rebuild the image";
  if (minor(m) != minor(u))
    return item("zfs-version", CheckState::kFail,
                d + ": the image's zpool may not talk to this module", fix);
  return item("zfs-version", CheckState::kWarn, d, fix);
}

CheckItem check_hostid(const std::optional<std::string>& hostid_file,
                       std::optional<uint32_t> pool_hostid, std::string_view pool) {
  const std::string p(pool);
  std::optional<uint32_t> host = hostid_file ? parse_hostid_file(*hostid_file) : std::nullopt;
  if (hostid_file && !host)
    return item("hostid", CheckState::kFail,
                "/etc/hostid is " + std::to_string(hostid_file->size()) + " bytes, not 4",
                "recreate it with `zgenhostid -f`, then rebuild the image");
  if (!host || *host == 0) {
    std::string what = host ? "/etc/hostid is zero" : "/etc/hostid is missing";
    if (pool_hostid && *pool_hostid != 0)
      return item("hostid", CheckState::kFail,
                  what + " but pool " + p + " was last imported under hostid " +
                      hex32(*pool_hostid) + ": the boot import would refuse it",
                  "run `zgenhostid -f " + hex32(*pool_hostid) + "`, then rebuild the image");
    return item(
        "hostid", CheckState::kWarn, what + ": pools are owned by hostid 0",
        "run `zgenhostid` and `zpool import`/re-import the pools under it, then rebuild the image");
  }
  if (!pool_hostid)
    return item("hostid", CheckState::kOk,
                "/etc/hostid " + hex32(*host) +
                    (p.empty() ? " (the root pool's hostid could not be read)"
                               : " (pool " + p + "'s hostid could not be read)"));
  if (*pool_hostid != *host)
    return item("hostid", CheckState::kFail,
                "/etc/hostid is " + hex32(*host) + " but pool " + p + " was last imported under " +
                    hex32(*pool_hostid) + ": the boot import would refuse it",
                "run `zgenhostid -f " + hex32(*pool_hostid) + "` (or `zpool export/import " + p +
                    "` under this hostid), then rebuild the image");
  return item("hostid", CheckState::kOk,
              "/etc/hostid " + hex32(*host) + ", as pool " + p + " was last imported");
}

CheckItem check_root_dataset(const PoolFacts& pools) {
  if (!pools.unusable.empty())
    return item("root-dataset", CheckState::kUnknown, "cannot check: " + pools.unusable,
                "run `modprobe zfs` (or check on the machine that boots from the pool)");
  std::string pool = pools.root_dataset.substr(0, pools.root_dataset.find('/'));
  if (pools.wants_bootfs) {
    if (pools.bootfs.empty() || pools.bootfs == "-")
      return item("root-dataset", CheckState::kFail,
                  "the kernel command line boots the pool's bootfs, but no imported pool has one",
                  "run `zpool set bootfs=POOL/DATASET POOL` for the root pool");
    if (!pools.bootfs_exists)
      return item("root-dataset", CheckState::kFail, "bootfs " + pools.bootfs + " does not exist",
                  "run `zpool set bootfs=POOL/DATASET POOL` with the dataset holding /");
    return item("root-dataset", CheckState::kOk, "bootfs " + pools.bootfs + " exists");
  }
  if (pools.root_dataset.empty())
    return item("root-dataset", CheckState::kUnknown,
                "cannot check: / is not a ZFS dataset on this host",
                "run `zinitrd check` on the machine that boots from the pool");
  if (!pools.root_dataset_exists)
    return item("root-dataset", CheckState::kFail,
                "root dataset " + pools.root_dataset + " is not listed by `zfs list`",
                "check the root= parameter of the boot entry");
  return item("root-dataset", CheckState::kOk, "root dataset " + pools.root_dataset + " exists");
}

CheckItem check_zpool_cache(const PoolFacts& pools) {
  if (!pools.cache)
    return item("zpool-cache", CheckState::kOk,
                "no /etc/zfs/zpool.cache: the boot finds pools by scanning devices");
  if (!pools.cache_error.empty())
    return item("zpool-cache", CheckState::kUnknown,
                "cannot read /etc/zfs/zpool.cache: " + pools.cache_error,
                "run `zdb -C -U /etc/zfs/zpool.cache` to see why");
  std::vector<std::string> cached = parse_zdb_pools(*pools.cache);
  std::string list = cached.empty() ? "" : " " + join(cached, " ");
  if (!pools.unusable.empty())
    return item("zpool-cache", CheckState::kUnknown,
                "zpool.cache lists" + (list.empty() ? std::string(" no pool") : list) +
                    "; cannot tell which are imported: " + pools.unusable);
  std::vector<std::string> absent;
  for (const auto& p : cached)
    if (std::find(pools.imported.begin(), pools.imported.end(), p) == pools.imported.end())
      absent.push_back(p);
  if (absent.empty())
    return item("zpool-cache", CheckState::kOk,
                "zpool.cache lists" + (list.empty() ? std::string(" no pool") : list));
  std::string a = " " + join(absent, " ");
  return item(
      "zpool-cache", CheckState::kWarn, "zpool.cache lists pools that are not imported:" + a,
      "remove /etc/zfs/zpool.cache, run `zpool set cachefile=/etc/zfs/zpool.cache POOL` for each "
      "imported pool, then rebuild the image");
}

std::vector<CheckItem> check_image(std::string_view kver, const ImageFacts& image) {
  std::vector<CheckItem> items;
  const std::string fix = rebuild_fix(kver);
  if (!image.exists) {
    items.push_back(item("image", CheckState::kFail, "no image at " + image.path, fix));
    return items;
  }
  if (!image.read_error.empty()) {
    items.push_back(item("image", CheckState::kFail, image.read_error, fix));
    return items;
  }
  items.push_back(item("image", CheckState::kOk,
                       image.path + " (" + std::to_string(image.members.size()) + " entries)"));

  if (image.module_mtime == 0)
    items.push_back(
        item("image-fresh", CheckState::kUnknown, "cannot compare: zfs.ko was not found"));
  else if (image.module_mtime > image.mtime)
    items.push_back(item("image-fresh", CheckState::kWarn,
                         "the image is older than zfs.ko of " + std::string(kver), fix));
  else
    items.push_back(item("image-fresh", CheckState::kOk, "the image is newer than zfs.ko"));

  const std::string dir = "/modules/" + std::string(kver) + "/";
  bool zfs = false, init = false, runtime = false;
  for (const auto& m : image.members) {
    std::string_view name = std::string_view(m.path).substr(m.path.rfind('/') + 1);
    if (m.path.find(dir) != std::string::npos && (name == "zfs.ko" || name.starts_with("zfs.ko.")))
      zfs = true;
    if (m.path == "/init") init = true;
    if (m.path == "/usr/lib/zinitrd/init" && S_ISREG(m.mode)) runtime = true;
  }
  items.push_back(
      zfs ? item("image-zfs", CheckState::kOk, "contains zfs.ko for " + std::string(kver))
          : item("image-zfs", CheckState::kFail, "contains no zfs.ko for " + std::string(kver),
                 fix));

  // Plain values and flags: gcc 12 wrongly warns that these optionals may be read uninitialised.
  std::optional<uint32_t> host_id, image_id;
  if (image.host_hostid) host_id = parse_hostid_file(*image.host_hostid);
  if (image.hostid) image_id = parse_hostid_file(*image.hostid);
  const bool has_host = host_id.has_value(), has_image = image_id.has_value();
  const uint32_t host = host_id.value_or(0), in_image_id = image_id.value_or(0);
  if (has_host && has_image && host == in_image_id)
    items.push_back(item("image-hostid", CheckState::kOk, "contains /etc/hostid " + hex32(host)));
  else if (has_host && has_image)
    items.push_back(item("image-hostid", CheckState::kFail,
                         "contains hostid " + hex32(in_image_id) + ", the host has " + hex32(host),
                         fix));
  else if (has_host)
    items.push_back(item("image-hostid", CheckState::kFail, "contains no /etc/hostid", fix));
  else if (has_image)
    items.push_back(
        item("image-hostid", CheckState::kWarn,
             "contains hostid " + hex32(in_image_id) + " but the host has no /etc/hostid", fix));
  else
    items.push_back(item("image-hostid", CheckState::kWarn,
                         "neither the host nor the image has /etc/hostid",
                         "run `zgenhostid`, then rebuild the image"));

  if (!init)
    items.push_back(item("image-runtime", CheckState::kFail, "contains no /init", fix));
  else if (!runtime)
    items.push_back(item("image-runtime", CheckState::kWarn,
                         "has an /init but not zinitrd's runtime (/usr/lib/zinitrd/init): made by "
                         "another generator?",
                         fix));
  else
    items.push_back(
        item("image-runtime", CheckState::kOk, "contains /init and the zinitrd runtime"));
  return items;
}

}  // namespace zinitrd::gen
