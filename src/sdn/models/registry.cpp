// The registry: architecture name -> backbone.
#include "sdn/models/mobilenet.h"
#include "sdn/models/resnet.h"
#include "sdn/models/vgg.h"
#include "sdn/models/wide_resnet.h"

#include "sdn/util/error.h"

namespace sdn::models {

const std::vector<std::string>& arch_names() {
  static const std::vector<std::string> names = {
      "vgg16", "resnet56", "wrn32_4", "mobilenet"};
  return names;
}

std::shared_ptr<BackboneImpl> make_backbone(const BackboneOptions& options) {
  options.validate();
  if (options.arch == "vgg16") {
    return std::make_shared<VggImpl>(options);
  }
  if (options.arch == "resnet56") {
    return std::make_shared<ResNetImpl>(options);
  }
  if (options.arch == "wrn32_4") {
    return std::make_shared<WideResNetImpl>(options);
  }
  if (options.arch == "mobilenet") {
    return std::make_shared<MobileNetImpl>(options);
  }
  // validate() rejects unknown names; this guards a name added to
  // arch_names() without a constructor here.
  fail("--arch: architecture '", options.arch, "' has no constructor");
}

} // namespace sdn::models
