#pragma once

// Shared by the report unit and e2e tests: a tag-balance checker for the
// HTML the report emits, the fixture report, and small PNG tiles.

#include "sdn/report/html.h"
#include "sdn/report/report_types.h"
#include "sdn/util/files.h"
#include "sdn/util/png.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace sdn::report::testing {

/// "" when every element the page opens is closed in order, text holds no
/// raw '<', and attribute quotes close; else a description of the first
/// problem with its offset.
inline std::string check_balance(const std::string& html) {
  static const std::set<std::string> kVoid = {
      "area",
      "base",
      "br",
      "col",
      "embed",
      "hr",
      "img",
      "input",
      "link",
      "meta",
      "source",
      "track",
      "wbr"};
  std::vector<std::string> open;
  size_t i = 0;
  while ((i = html.find('<', i)) != std::string::npos) {
    const std::string at = " at offset " + std::to_string(i);
    if (html.compare(i, 4, "<!--") == 0) {
      const size_t end = html.find("-->", i);
      if (end == std::string::npos) {
        return "unclosed comment" + at;
      }
      i = end + 3;
      continue;
    }
    if (html.compare(i, 2, "<!") == 0) {
      i = html.find('>', i);
      if (i == std::string::npos) {
        return "unclosed declaration" + at;
      }
      continue;
    }
    const bool closing = html.compare(i, 2, "</") == 0;
    size_t p = i + (closing ? 2 : 1);
    std::string name;
    while (
        p < html.size() &&
        (std::isalnum(static_cast<unsigned char>(html[p])) || html[p] == '-')) {
      name += static_cast<char>(std::tolower(html[p]));
      ++p;
    }
    if (name.empty()) {
      return "raw '<' in text" + at;
    }
    // Find the tag's end, skipping quoted attribute values.
    char quote = 0;
    while (p < html.size() && (quote != 0 || html[p] != '>')) {
      if (quote != 0 && html[p] == quote) {
        quote = 0;
      } else if (quote == 0 && (html[p] == '"' || html[p] == '\'')) {
        quote = html[p];
      } else if (quote == 0 && html[p] == '<') {
        return "'<' inside tag <" + name + at;
      }
      ++p;
    }
    if (p >= html.size()) {
      return "unterminated tag <" + name + at;
    }
    const bool self_closing = html[p - 1] == '/';
    if (closing) {
      if (open.empty() || open.back() != name) {
        return "</" + name + "> closes " +
            (open.empty() ? std::string("nothing") : "<" + open.back() + ">") +
            at;
      }
      open.pop_back();
    } else if (!self_closing && kVoid.count(name) == 0) {
      if (name == "style" || name == "script") {
        const size_t end = html.find("</" + name + ">", p);
        if (end == std::string::npos) {
          return "unclosed <" + name + ">" + at;
        }
        p = end + name.size() + 2;
      } else {
        open.push_back(name);
      }
    }
    i = p + 1;
  }
  if (!open.empty()) {
    return "<" + open.back() + "> never closed";
  }
  return "";
}

/// Non-overlapping occurrences of `needle` in `haystack`.
inline int count_of(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t i = haystack.find(needle); i != std::string::npos;
       i = haystack.find(needle, i + needle.size())) {
    ++n;
  }
  return n;
}

/// Where the realistic report of the tests lives.
inline std::string fixture_path() {
  return std::string(SDN_SOURCE_DIR) + "/tests/data/report_fixture.json";
}

/// tests/data/report_fixture.json as JSON.
inline nlohmann::json fixture_json() {
  return sdn::read_json(fixture_path());
}

/// tests/data/report_fixture.json read as a report.
inline Report fixture() {
  return report_from_json(fixture_json(), fixture_path());
}

/// A deterministic size x size test pattern (gradient, checker, disc) as PNG.
inline std::string pattern_png(int size, int channels, int seed) {
  std::vector<uint8_t> pixels;
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const int dx = x - size / 2, dy = y - size / 2;
      const bool disc = dx * dx + dy * dy < (size * size) / (6 + seed % 4);
      const bool checker = ((x / 4) + (y / 4) + seed) % 2 == 0;
      for (int c = 0; c < channels; ++c) {
        int v = (x * 255 / size + c * 80 + seed * 37) % 256;
        if (disc) {
          v = (v + 128 + 50 * c) % 256;
        } else if (checker) {
          v = v / 2;
        }
        pixels.push_back(static_cast<uint8_t>(v));
      }
    }
  }
  return sdn::encode_png(pixels, size, size, channels);
}

/// Two image grids: `color` 32x32 RGB tiles and `gray` 28x28 grey tiles.
inline std::vector<ImageGrid> fixture_grids(int color, int gray) {
  ImageGrid a;
  a.title = "Early exits that are right";
  a.description = "Test images the first internal classifier gets right.";
  for (int i = 0; i < color; ++i) {
    a.tiles.push_back(
        {pattern_png(32, 3, i), "IC1: class " + std::to_string(i % 10)});
  }
  ImageGrid b;
  b.title = "Destructive overthinking";
  b.description = "Correct at IC1, wrong at the final exit.";
  for (int i = 0; i < gray; ++i) {
    b.tiles.push_back(
        {pattern_png(28, 1, i + 3),
         "true 3 / final " + std::to_string(i) + " <wrong>"});
  }
  return {a, b};
}

} // namespace sdn::report::testing
