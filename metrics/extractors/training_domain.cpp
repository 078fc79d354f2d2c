#include "metrics/extractors/training_domain.h"

#include <filesystem>

namespace vdlab {

namespace {

std::string canonical(const std::string& path) {
  std::error_code ec;
  const auto p = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : p.string();
}

const std::string kFolder = "video-folder:";

}  // namespace

std::string domain_of(const Json& source) {
  if (!source.is_object()) return "";
  if (source.contains("name") && source.at("name").is_string()) {
    const std::string name = source.at("name").get<std::string>();
    if (name == "video-folder") return kFolder + canonical(source.value("root", std::string()));
    if (name == "hdf5") return "";  // a clip store says nothing about where its clips came from
    return name;
  }
  const std::string kind = source.value("kind", std::string());
  if (kind == "video-folder") return kFolder + canonical(source.value("path", std::string()));
  if (kind == "hdf5" && source.contains("dataset")) return domain_of(source.at("dataset"));
  return "";
}

std::string domain_warning(const std::string& extractor, const Json& trained_on, const Json& scored) {
  const std::string a = domain_of(trained_on), b = domain_of(scored);
  if (a.empty() || b.empty() || a == b) return "";
  // A folder of clips inside the training folder (its test split, a subfolder) is the same domain.
  if (a.rfind(kFolder, 0) == 0 && b.rfind(a + "/", 0) == 0) return "";
  return extractor + " was trained on " + a + " but scores clips from " + b +
         ": it may read appearance it knows rather than what differs (train it on this domain with "
         "tiny_train.data)";
}

}  // namespace vdlab
