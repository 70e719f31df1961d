// features.h: the declarative features of modules.d and the plan of which ones an image uses.
//
// A feature is a folder modules.d/NAME/ holding feature.conf: "key = value" lines, `#` comments,
// values are space-separated words, keys may repeat (values accumulate):
//
//   description      = one line shown by `zinitrd features`
//   requires         = other features this one needs (planned first)
//   when             = always | on-request | exists:PATH   (default: on-request, i.e. --add)
//   kmod             = modules/aliases loaded at every boot; missing => build fails
//   kmod-optional    = the same, missing => warning
//   kmod-coldplug    = module names or directories under lib/modules/KVER (ending in '/'),
//                      included with their aliases and loaded only when a device matches
//   kmod-exclude     = module names or directories (ending in '/') left out of the
//                      kmod-coldplug directories (still included when something depends on them)
//   kmod-hint        = text appended when a `kmod` module is missing ({kver} is expanded)
//   program          = programs (name or absolute path) + ELF closure; missing => build fails
//   program-optional = the same, missing => skipped silently
//   library          = dlopen()ed libraries (soname or path); library-optional likewise
//   file             = files copied as they are (SRC or SRC:DST); file-optional likewise
//   hostid           = yes: embed /etc/hostid; warn when it is missing or zero
//   set              = KEY=VALUE runtime settings written to the boot config
//
// Directories are read in order (built-in modules.d, then the system's /etc/zinitrd/modules.d,
// inside its root); a later folder of the same name replaces an earlier one.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"
#include "root_fs.h"

namespace zinitrd::gen {

/// One feature, as declared in its feature.conf.
struct Feature {
  enum class When { kAlways, kOnRequest, kIfExists };
  std::string name;
  std::string dir;  ///< host directory of the feature (for messages and feature-local files)
  std::string description;
  std::vector<std::string> requires_;
  When when = When::kOnRequest;
  std::string when_path;  ///< kIfExists: in-root path whose existence enables the feature
  std::vector<std::string> kmods, kmods_optional, kmods_coldplug, kmods_exclude;
  std::string kmod_hint;
  std::vector<std::string> programs, programs_optional;
  std::vector<std::string> libraries, libraries_optional;
  std::vector<std::string> files, files_optional;  ///< "SRC" or "SRC:DST"
  bool hostid = false;
  std::map<std::string, std::string> settings;
};

/// Parses the text of one feature.conf; NAME and DIR are recorded. Errors name file and line.
Result<Feature> parse_feature(std::string_view name, std::string_view dir, std::string_view text);

/// Where a system keeps its own features, inside its root.
inline constexpr const char* kLocalFeatureDir = "/etc/zinitrd/modules.d";

/// Reads every DIR/NAME/feature.conf of HOST_DIRS (zinitrd's own: host paths; missing dirs are
/// skipped), then of kLocalFeatureDir inside ROOT (its links never lead to the host's files); a
/// later folder of the same name replaces an earlier one.
Result<std::vector<Feature>> load_features(const std::vector<std::string>& host_dirs,
                                           const RootFs& root);

/// Chooses the features of an image: those that apply (`always`, `exists:` true in ROOT), plus
/// ADD, minus OMIT, plus everything they require, in dependency order. Errors: an unknown name
/// in ADD/OMIT/requires, a dependency cycle, or omitting a feature that an included one requires.
Result<std::vector<const Feature*>> plan_features(const std::vector<Feature>& all,
                                                  const std::vector<std::string>& add,
                                                  const std::vector<std::string>& omit,
                                                  const RootFs& root);

}  // namespace zinitrd::gen
