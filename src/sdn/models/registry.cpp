// The registry: architecture name -> backbone factory, in one table.
#include "sdn/models/backbone.h"

#include "sdn/util/error.h"

namespace sdn::models {

const std::vector<std::pair<std::string, BackboneFactory>>& backbone_registry() {
  static const std::vector<std::pair<std::string, BackboneFactory>> table = {
      {"vgg16", make_vgg16},
      {"resnet56", make_resnet56},
      {"wrn32_4", make_wrn32_4},
      {"mobilenet", make_mobilenet},
  };
  return table;
}

const std::vector<std::string>& arch_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& entry : backbone_registry()) {
      out.push_back(entry.first);
    }
    return out;
  }();
  return names;
}

std::shared_ptr<BackboneImpl> make_backbone(const BackboneOptions& options) {
  options.validate();
  for (const auto& [name, factory] : backbone_registry()) {
    if (name == options.arch) {
      return factory(options);
    }
  }
  // validate() rejects names the table lacks.
  fail("--arch: unknown architecture '", options.arch, "'");
}

} // namespace sdn::models
