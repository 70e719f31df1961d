// boot_verdict.cc: the boot test's verdict line (see boot_verdict.h).
#include "boot_verdict.h"

#include <cstdio>
#include <cstdlib>

namespace zinitrd {
namespace {

bool needs_escape(char c) {
  auto u = static_cast<unsigned char>(c);
  return c == '%' || c == ' ' || u < 0x20 || u == 0x7f;
}

std::string escape(std::string_view v) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : v) {
    if (!needs_escape(c)) {
      out += c;
      continue;
    }
    auto u = static_cast<unsigned char>(c);
    out += '%';
    out += kHex[u >> 4];
    out += kHex[u & 15];
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string unescape(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() && hex_digit(v[i + 1]) >= 0 && hex_digit(v[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(v[i + 1]) * 16 + hex_digit(v[i + 2]));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

void field(std::string& out, std::string_view key, std::string_view value) {
  out += ' ';
  out += key;
  out += '=';
  out += escape(value);
}

}  // namespace

std::string format_boot_verdict(const BootVerdict& v) {
  std::string out(kBootVerdictTag.substr(0, kBootVerdictTag.size() - 1));
  field(out, "result", v.pass ? "PASS" : "FAIL");
  field(out, "stage", v.stage);
  if (!v.summary.empty()) field(out, "summary", v.summary);
  for (const auto& h : v.hints) field(out, "hint", h);
  if (!v.root.empty()) field(out, "root", v.root);
  if (!v.init.empty()) field(out, "init", v.init);
  if (v.pass) field(out, "children", std::to_string(v.children));
  for (const auto& [name, secs] : v.seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", secs);
    field(out, "t." + name, buf);
  }
  return out;
}

std::optional<BootVerdict> parse_boot_verdict(std::string_view line) {
  // The tag without its trailing space: the line may end right after it.
  std::string_view tag = kBootVerdictTag.substr(0, kBootVerdictTag.size() - 1);
  size_t at = line.find(tag);
  if (at == std::string_view::npos) return std::nullopt;
  line.remove_prefix(at + tag.size());
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  BootVerdict v;
  bool have_result = false;
  while (!line.empty()) {
    size_t sp = line.find(' ');
    std::string_view word = line.substr(0, sp);
    line.remove_prefix(sp == std::string_view::npos ? line.size() : sp + 1);
    size_t eq = word.find('=');
    if (word.empty() || eq == std::string_view::npos) continue;
    std::string_view key = word.substr(0, eq);
    std::string value = unescape(word.substr(eq + 1));
    if (key == "result") {
      if (value != "PASS" && value != "FAIL") return std::nullopt;
      v.pass = value == "PASS";
      have_result = true;
    } else if (key == "stage") {
      v.stage = value;
    } else if (key == "summary") {
      v.summary = value;
    } else if (key == "hint") {
      v.hints.push_back(value);
    } else if (key == "root") {
      v.root = value;
    } else if (key == "init") {
      v.init = value;
    } else if (key == "children") {
      v.children = std::atoi(value.c_str());
    } else if (key.substr(0, 2) == "t." && key.size() > 2) {
      char* end = nullptr;
      double secs = std::strtod(value.c_str(), &end);
      if (end && *end == '\0' && !value.empty()) v.seconds.emplace_back(key.substr(2), secs);
    }
  }
  if (!have_result) return std::nullopt;
  return v;
}

std::optional<std::string> parse_boot_log_line(std::string_view line) {
  size_t at = line.find(kBootLogTag);
  if (at == std::string_view::npos) return std::nullopt;
  line.remove_prefix(at + kBootLogTag.size());
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  return std::string(line);
}

}  // namespace zinitrd
