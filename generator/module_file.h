// module_file.h: reading kernel module files that may be compressed (.ko.xz, .ko.zst, .ko.gz).
//
// Distributions compress their modules (Debian 13: xz, Fedora: xz, Arch and Ubuntu: zstd), and
// an image is built on a host whose libkmod may have been built without that format (kmod
// --version: -XZ, -ZSTD, -ZLIB; Debian 12's lacks zlib). zinitrd therefore decompresses modules
// itself (liblzma, libzstd, zlib) and reads their .modinfo with libelf: what a module needs never
// depends on how the host's libkmod was built. The indexes (modules.dep.bin, ...) are read with
// libkmod, as they need no decompression.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "result.h"

namespace zinitrd::gen {

/// How a module file is stored, from its name.
enum class ModuleCompression { kNone, kGzip, kXz, kZstd };

/// The compression of module file PATH by its suffix (.ko, .ko.gz, .ko.xz, .ko.zst).
ModuleCompression module_compression(std::string_view path);
/// "none", "gzip", "xz", "zstd".
std::string_view compression_label(ModuleCompression c);
/// PATH without its compression suffix (".ko.xz" -> ".ko"); PATH itself when not compressed.
std::string uncompressed_module_path(std::string_view path);

/// DATA (the content of a file compressed with C) decompressed. Errors name WHAT (a path) and
/// say what is wrong with the data. kNone returns DATA unchanged.
Result<std::string> decompress(std::string_view data, ModuleCompression c, std::string_view what);

/// The content of module file HOST_PATH, decompressed according to its suffix.
Result<std::string> read_module_file(const std::string& host_path);

/// The key=value records of the .modinfo section of ELF module IMAGE (uncompressed), in order.
/// WHAT names the module in errors.
Result<std::vector<std::pair<std::string, std::string>>> parse_modinfo(std::string_view image,
                                                                       std::string_view what);

}  // namespace zinitrd::gen
