#include "sdn/app/config_file.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace sdn::app {

namespace {

/// Whether `args[from..]` (up to a lone `--`) gives option `opt` by any of
/// its long or short names.
bool given_on_command_line(
    const CLI::Option& opt,
    const std::vector<std::string>& args,
    size_t from) {
  std::vector<std::string> names;
  for (const auto& n : opt.get_lnames()) {
    names.push_back("--" + n);
  }
  for (const auto& n : opt.get_snames()) {
    names.push_back("-" + n);
  }
  for (size_t i = from; i < args.size() && args[i] != "--"; ++i) {
    for (const auto& n : names) {
      if (args[i] == n || args[i].rfind(n + "=", 0) == 0) {
        return true;
      }
    }
  }
  return false;
}

// What CLI11's TOML reader lets pass silently: a line that is neither a
// comment, a [section] nor `key = value` (a bare `lr` is dropped), inside
// or outside a multi-line array.
void check_lines(const std::string& text, const std::string& file) {
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  int depth = 0; // open '[' of a multi-line array
  while (std::getline(lines, line)) {
    ++number;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') {
      continue;
    }
    const bool starts_in_array = depth > 0;
    char quote = 0;
    for (char c : line) {
      if (quote != 0) {
        quote = c == quote ? 0 : quote;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '#') {
        break;
      } else if (c == '[') {
        ++depth;
      } else if (c == ']') {
        --depth;
      }
    }
    if (quote != 0) {
      throw CLI::ConfigError(
          "--config " + file + ": line " + std::to_string(number) +
          ": unterminated string");
    }
    if (!starts_in_array && line[first] != '[' &&
        line.find('=') == std::string::npos) {
      throw CLI::ConfigError(
          "--config " + file + ": line " + std::to_string(number) +
          ": expected 'key = value', got '" + line.substr(first) + "'");
    }
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

} // namespace

std::vector<std::string> expand_config_files(
    CLI::App& app,
    std::vector<std::string> args,
    std::map<std::string, std::string>* origin) {
  // Walk down the subcommand chain named on the command line.
  CLI::App* sub = &app;
  size_t sub_at = args.size();
  for (size_t i = 0; i < args.size() && args[i] != "--"; ++i) {
    CLI::App* next = nullptr;
    try {
      next = sub->get_subcommand(args[i]);
    } catch (const CLI::OptionNotFound&) {
      next = nullptr;
    }
    if (next != nullptr) {
      sub = next;
      sub_at = i;
    }
  }
  if (sub == &app) {
    return args;
  }
  CLI::Option* config = sub->get_option_no_throw("--config");
  if (config == nullptr) {
    return args;
  }
  std::optional<std::string> given;
  for (size_t i = sub_at + 1; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      given = args[i + 1];
    } else if (args[i].rfind("--config=", 0) == 0) {
      given = args[i].substr(9);
    }
  }
  if (!given) {
    return args;
  }
  const std::string file = *given;
  if (file.empty()) {
    throw CLI::FileError("--config: expected a file name, got an empty one");
  }
  std::string text;
  try {
    text = read_file(file);
  } catch (const Error& e) {
    throw CLI::FileError(std::string("--config ") + e.what());
  }
  check_lines(text, file);
  std::vector<CLI::ConfigItem> items;
  try {
    std::istringstream in(text);
    items = CLI::ConfigTOML().from_config(in);
  } catch (const CLI::Error& e) {
    throw CLI::ConfigError(
        "--config " + file + ": not a valid TOML file (" + e.what() + ")");
  }
  const std::string where = "--config " + file + ": ";
  const std::string cmd = "`sdn " + sub->get_name() + "`";
  std::vector<std::string> expanded;
  std::set<std::string> seen;
  for (const auto& item : items) {
    if (item.name == "++" || item.name == "--" || !item.parents.empty()) {
      const std::string section =
          item.parents.empty() ? item.name : item.parents.front();
      throw CLI::ConfigError(
          where + "sections ([" + section +
          "]) are not supported: put the keys of " + cmd + " at the top level");
    }
    CLI::Option* opt = sub->get_option_no_throw("--" + item.name);
    if (opt == nullptr || opt == config || opt == sub->get_help_ptr()) {
      throw CLI::ConfigError(
          where + "unknown key '" + item.name + "' for " + cmd +
          " (keys are its long options without the dashes; see --help)");
    }
    if (!seen.insert(item.name).second) {
      throw CLI::ConfigError(where + "key '" + item.name + "' is given twice");
    }
    if (given_on_command_line(*opt, args, sub_at + 1)) {
      continue;
    }
    const std::string flag = opt->get_lnames().empty() ?
        "-" + opt->get_snames().front() :
        "--" + opt->get_lnames().front();
    if (origin != nullptr) {
      (*origin)[opt->get_name()] = file;
    }
    if (opt->get_expected_min() == 0) {
      const std::string v =
          item.inputs.empty() ? "true" : lower(item.inputs[0]);
      if (v == "true" || v == "1" || v == "yes" || v == "on") {
        expanded.push_back(flag);
      } else if (!(v == "false" || v == "0" || v == "no" || v == "off")) {
        throw CLI::ConfigError(
            where + "key '" + item.name + "' is a flag: expected true or " +
            "false, got '" + item.inputs[0] + "'");
      }
      continue;
    }
    if (item.inputs.empty() ||
        (item.inputs.size() == 1 && item.inputs[0].empty())) {
      throw CLI::ConfigError(where + "key '" + item.name + "' has no value");
    }
    if (item.inputs.size() > 1 && opt->get_expected_max() == 1) {
      throw CLI::ConfigError(
          where + "key '" + item.name + "' takes one value, got " +
          std::to_string(item.inputs.size()) +
          " (an array, or the key given more than once)");
    }
    if (item.inputs.size() == 1) {
      // One token, so that a negative number is not taken for an option.
      expanded.push_back(flag + "=" + item.inputs[0]);
    } else {
      expanded.push_back(flag);
      for (const auto& v : item.inputs) {
        expanded.push_back(v);
      }
    }
  }
  args.insert(
      args.begin() + static_cast<std::ptrdiff_t>(sub_at + 1),
      expanded.begin(),
      expanded.end());
  return args;
}

} // namespace sdn::app
