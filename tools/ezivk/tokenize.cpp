// `ezivk tokenize`: the CLIP token ids a prompt becomes, exactly as the text encoder will see them.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/util/error.h"
#include "engine/models/clip_tokenizer.h"
#include "tools/ezivk/commands.h"

namespace ezivk::cli {
namespace {

constexpr const char* kUsage =
    "usage: ezivk tokenize [--model DIR | --vocab VOCAB.json --merges MERGES.txt] [--pad TOKEN] [--json] \"prompt\"\n"
    "  Prints the CLIP token ids of the prompt: one line \"index id piece\" per token up to the end token, then\n"
    "  the count. A prompt longer than the model's 75 tokens is truncated, with a warning on stderr.\n"
    "  --model DIR        a diffusers model folder (its tokenizer/ is used) or a tokenizer folder itself;\n"
    "                     pad token and length come from its special_tokens_map.json / tokenizer_config.json\n"
    "  --vocab, --merges  the two vocabulary files directly (pad <|endoftext|>, 77 tokens unless --pad)\n"
    "  --pad TOKEN        pad with this vocabulary string instead (\"!\" for SD 2.x, \"<|endoftext|>\" for SD 1.x)\n"
    "  --json             print {\"ids\", \"pieces\", \"truncated\", \"length\", \"dropped\"} for all max_length ids\n";

std::filesystem::path tokenizer_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir / "vocab.json", ec)) return dir;
  if (std::filesystem::exists(dir / "tokenizer" / "vocab.json", ec)) return dir / "tokenizer";
  fail(dir.string() + ": neither " + (dir / "vocab.json").string() + " nor " +
       (dir / "tokenizer" / "vocab.json").string() + " exists");
}

}  // namespace

int tokenize(const std::vector<std::string>& args) {
  std::optional<std::string> model, vocab, merges, pad, prompt;
  bool json = false, options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
      return args[++i];
    };
    if (!options_done && (a == "--help" || a == "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (!options_done && a == "--model") {
      model = value();
    } else if (!options_done && a == "--vocab") {
      vocab = value();
    } else if (!options_done && a == "--merges") {
      merges = value();
    } else if (!options_done && a == "--pad") {
      pad = value();
    } else if (!options_done && a == "--json") {
      json = true;
    } else if (!options_done && a == "--") {
      options_done = true;
    } else if (!options_done && a.size() > 1 && a[0] == '-') {
      throw UsageError("unknown option '" + a + "' (see ezivk tokenize --help)");
    } else if (prompt) {
      throw UsageError("expected one prompt, got a second one ('" + a + "'); quote the prompt");
    } else {
      prompt = a;
    }
  }
  if (!prompt) throw UsageError("no prompt given (an empty prompt is \"\")");
  if (model && (vocab || merges)) throw UsageError("give either --model or --vocab/--merges, not both");
  if (!model && (!vocab || !merges))
    throw UsageError("give --model DIR (a model or tokenizer folder) or both --vocab and --merges");

  models::ClipTokenizerFolder cfg;
  if (model) {
    cfg = models::ClipTokenizer::read_folder(tokenizer_dir(*model));
  } else {
    cfg.vocab_json = *vocab;
    cfg.merges_txt = *merges;
  }
  if (pad) cfg.pad_token = *pad;
  const models::ClipTokenizer tok(cfg.vocab_json, cfg.merges_txt, cfg.pad_token, cfg.max_length);
  const models::TokenizedPrompt r = tok.encode(*prompt);

  if (r.truncated) {
    const std::vector<int32_t> all = tok.tokenize(*prompt);
    const std::vector<int32_t> lost(all.end() - r.dropped, all.end());
    std::fprintf(stderr, "warning: prompt is %zu tokens; the model sees only the first %d, dropped: \"%s\"\n",
                 all.size(), tok.max_length() - 2, tok.decode(lost).c_str());
  }
  if (json) {
    const nlohmann::json j = {{"ids", r.ids},         {"pieces", r.pieces}, {"truncated", r.truncated},
                              {"length", r.length},   {"dropped", r.dropped}};
    std::puts(j.dump().c_str());
    return 0;
  }
  for (int32_t i = 0; i < r.length; ++i) std::printf("%d %d %s\n", i, r.ids[size_t(i)], r.pieces[size_t(i)].c_str());
  std::printf("%d tokens (start, %d from the prompt, end), padded to %d with '%s' (id %d)\n", r.length, r.length - 2,
              tok.max_length(), tok.piece(tok.pad()).c_str(), tok.pad());
  return 0;
}

}  // namespace ezivk::cli
