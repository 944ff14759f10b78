// `ezivk likeness`: how much of a subject's colouring pictures show (engine/eval/subject_likeness.h), the
// measure the demo model's subject-transfer figures are reported in.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/eval/subject_likeness.h"
#include "engine/io/image_file.h"
#include "tools/ezivk/commands.h"

namespace ezivk::cli {
namespace {

constexpr const char* kUsage =
    "usage: ezivk likeness --subject IMG [--json] PICTURE...\n"
    "  For each picture, the share of the subject's hue distribution (its coloured pixels that are not white\n"
    "  background) that the picture's coloured pixels cover: histogram intersection in [0, 1]. Compare a\n"
    "  subject-driven picture with the text-only picture of the same prompt and seed (`generate --baseline`):\n"
    "  the difference is the subject gain.\n"
    "  --json   one object {\"subject\", \"pictures\": [{\"path\", \"likeness\"}]} instead of lines\n";

}  // namespace

int likeness(const std::vector<std::string>& args) {
  std::optional<std::string> subject;
  std::vector<std::string> pictures;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--subject") {
      if (i + 1 >= args.size()) throw UsageError("--subject needs a value");
      subject = args[++i];
    } else if (a == "--json") {
      json = true;
    } else if (a.starts_with("--")) {
      throw UsageError("unknown option " + a + " (see --help)");
    } else {
      pictures.push_back(a);
    }
  }
  if (!subject) throw UsageError("--subject IMG is required (see --help)");
  if (pictures.empty()) throw UsageError("no picture to measure (see --help)");
  const io::Image8 s = io::read_image(*subject);
  nlohmann::json out = {{"subject", *subject}, {"pictures", nlohmann::json::array()}};
  for (const auto& p : pictures) {
    const double v = eval::subject_likeness(s, io::read_image(p), subject->c_str());
    if (json) out["pictures"].push_back({{"path", p}, {"likeness", v}});
    else std::printf("%.4f %s\n", v, p.c_str());
  }
  if (json) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace ezivk::cli
