// CLIP BPE tokenizer; the steps and why each is what it is are in clip_tokenizer.h.
#include "engine/models/clip_tokenizer.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "engine/util/error.h"
#include "engine/io/file_check.h"
#include "engine/io/json_file.h"

namespace ezivk::models {
namespace {

constexpr std::string_view kBos = "<|startoftext|>";
constexpr std::string_view kEos = "<|endoftext|>";
// transformers reads at most this many merges after the header line (CLIP's 49408 ids less bytes and specials).
constexpr size_t kMaxMerges = 49152 - 256 - 2;
// model_max_length beyond this is transformers' "no limit" placeholder, not a real length.
constexpr int64_t kMaxSaneLength = 1 << 20;

// ---- UTF-8 ------------------------------------------------------------------------------------------------

// Strict decoding (no overlongs, surrogates or values past U+10FFFF), as Python's str requires.
std::u32string decode_utf8(std::string_view s, const std::string& what) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    char32_t c = 0, min = 0;
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    } else if ((b0 & 0xE0) == 0xC0) {
      n = 2, c = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      n = 3, c = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      n = 4, c = b0 & 0x07, min = 0x10000;
    } else {
      fail(what + ": invalid UTF-8 at byte offset " + std::to_string(i));
    }
    if (i + n > s.size()) fail(what + ": invalid UTF-8 at byte offset " + std::to_string(i) + " (truncated sequence)");
    for (size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) fail(what + ": invalid UTF-8 at byte offset " + std::to_string(i + k));
      c = (c << 6) | (b & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
      fail(what + ": invalid UTF-8 at byte offset " + std::to_string(i) + " (overlong, surrogate or out of range)");
    out.push_back(c);
    i += n;
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

// GPT-2's byte -> printable character table: printable Latin-1 bytes stand for themselves, the rest (space,
// controls, NBSP, soft hyphen) take U+0100 onwards in byte order, so no symbol holds whitespace.
const std::array<std::string, 256>& byte_chars() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool kept = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      append_utf8(t[b], kept ? char32_t(b) : next++);
    }
    return t;
  }();
  return table;
}

// ---- step 2: BasicTokenizer's cleanup ----------------------------------------------------------------------

bool is_letter(char32_t c) { return (U_GET_GC_MASK(UChar32(c)) & U_GC_L_MASK) != 0; }
bool is_number(char32_t c) { return (U_GET_GC_MASK(UChar32(c)) & U_GC_N_MASK) != 0; }

bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Python's str.split() separators that survive the cleanup: everything else it splits on is Zs (already a
// space) or a control character (already gone).
bool is_word_break(UChar32 c) { return c == ' ' || c == 0x2028 || c == 0x2029; }

std::u32string to_code_points(const icu::UnicodeString& s) {
  std::u32string out;
  for (int32_t i = 0; i < s.length();) {
    const UChar32 c = s.char32At(i);
    out.push_back(char32_t(c));
    i += U16_LENGTH(c);
  }
  return out;
}

// Cleaned, NFC, lowercased words of one piece of prompt text (no special tokens inside).
std::vector<std::u32string> clean_words(const std::u32string& text) {
  icu::UnicodeString cleaned;
  for (char32_t c : text) {
    const int8_t cat = u_charType(UChar32(c));
    if (c == '\t' || c == '\n' || c == '\r' || cat == U_SPACE_SEPARATOR) {
      cleaned.append(UChar32(' '));
    } else if (c == 0 || c == 0xFFFD || cat == U_CONTROL_CHAR || cat == U_FORMAT_CHAR || cat == U_PRIVATE_USE_CHAR ||
               cat == U_SURROGATE || cat == U_UNASSIGNED) {
      continue;
    } else if (is_cjk(c)) {
      cleaned.append(UChar32(' ')).append(UChar32(c)).append(UChar32(' '));
    } else {
      cleaned.append(UChar32(c));
    }
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) fail(std::string("ICU: cannot load the NFC normalizer: ") + u_errorName(status));
  const icu::UnicodeString normal = nfc->normalize(cleaned, status);
  if (U_FAILURE(status)) fail(std::string("ICU: NFC normalization failed: ") + u_errorName(status));

  std::vector<std::u32string> words;
  int32_t start = 0;
  for (int32_t i = 0; i <= normal.length(); ++i) {
    if (i < normal.length() && !is_word_break(normal.charAt(i))) continue;
    if (i > start) {
      // Each word is lowercased on its own, as the reference does: final sigma looks only inside the word.
      icu::UnicodeString word(normal, start, i - start);
      words.push_back(to_code_points(word.toLower(icu::Locale::getRoot())));
    }
    start = i + 1;
  }
  return words;
}

// ---- step 3: the CLIP pattern ----------------------------------------------------------------------------

// IGNORECASE equivalence for the pattern's literal letters: ASCII case, and U+017F (long s) ~ "s".
char32_t fold_literal(char32_t c) {
  if (c == 0x17F) return 's';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 'a';
  return c;
}

constexpr std::array<std::string_view, 9> kLiterals = {kBos, kEos, "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};

size_t literal_at(const std::u32string& w, size_t i) {
  for (std::string_view lit : kLiterals) {
    if (i + lit.size() > w.size()) continue;
    bool same = true;
    for (size_t k = 0; k < lit.size() && same; ++k) same = fold_literal(w[i + k]) == char32_t(lit[k]);
    if (same) return lit.size();
  }
  return 0;
}

// U+0345 is neither in [\p{L}] nor in [^\s\p{L}\p{N}] when the regex module matches case-insensitively (its
// case partner is a letter), so no alternative takes it.
bool matches_nothing(char32_t c) { return c == 0x345 || c == ' '; }

void pretokenize(const std::u32string& w, std::vector<std::string>& pieces) {
  size_t i = 0;
  while (i < w.size()) {
    size_t j = i;
    if (size_t n = literal_at(w, i)) {
      j = i + n;
    } else if (is_letter(w[i])) {
      while (j < w.size() && is_letter(w[j])) ++j;
    } else if (is_number(w[i])) {
      j = i + 1;
    } else if (matches_nothing(w[i])) {
      ++i;
      continue;
    } else {
      while (j < w.size() && !is_letter(w[j]) && !is_number(w[j]) && !matches_nothing(w[j])) ++j;
    }
    std::string piece;
    for (size_t k = i; k < j; ++k) append_utf8(piece, w[k]);
    pieces.push_back(std::move(piece));
    i = j;
  }
}

// ---- files ------------------------------------------------------------------------------------------------

std::string read_text(const std::filesystem::path& path) {
  std::error_code ec;
  io::expect_file(path, "a tokenizer file");
  return io::read_text_file(path);  // size-capped: a vocabulary is about 1 MB
}

nlohmann::json read_json(const std::filesystem::path& path) { return io::parse_json(read_text(path), path.string()); }

// A token entry in special_tokens_map.json / tokenizer_config.json: a string or an AddedToken object.
std::optional<std::string> token_content(const nlohmann::json& doc, const char* key,
                                         const std::filesystem::path& path) {
  if (!doc.contains(key) || doc[key].is_null()) return std::nullopt;
  const auto& v = doc[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  fail(path.string() + ": \"" + key + "\" must be a string or an object with a string \"content\"");
}

void check_fixed_token(const nlohmann::json& doc, const char* key, std::string_view expected,
                       const std::filesystem::path& path) {
  if (auto v = token_content(doc, key, path); v && *v != expected)
    fail(path.string() + ": \"" + key + "\" is '" + *v + "', but a CLIP tokenizer needs '" + std::string(expected) +
         "'");
}

bool is_space_ascii(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string> split_fields(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space_ascii(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !is_space_ascii(line[j])) ++j;
    if (j > i) out.emplace_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

ClipTokenizer::ClipTokenizer(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt,
                             std::string pad_token, int32_t max_length, const std::filesystem::path& pad_source)
    : max_length_(max_length) {
  const std::string vname = vocab_json.string(), mname = merges_txt.string();
  if (max_length < 2)
    fail("ClipTokenizer: max_length must be at least 2 (bos and eos), got " + std::to_string(max_length));

  const nlohmann::json vocab = read_json(vocab_json);
  if (!vocab.is_object() || vocab.empty()) fail(vname + ": expected a non-empty JSON object of token -> id");
  id_to_token_.assign(vocab.size(), std::string());
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer()) fail(vname + ": the id of '" + token + "' is not an integer");
    const int64_t i = id.get<int64_t>();
    if (i < 0 || i >= int64_t(vocab.size()))
      fail(vname + ": id " + std::to_string(i) + " of '" + token + "' is outside 0.." +
           std::to_string(vocab.size() - 1) + " (ids must be dense)");
    if (seen[size_t(i)]) fail(vname + ": id " + std::to_string(i) + " is used twice");
    seen[size_t(i)] = true;
    id_to_token_[size_t(i)] = token;
    vocab_.emplace(token, int32_t(i));
  }
  auto special_id = [&](std::string_view s, const char* role) {
    auto it = vocab_.find(std::string(s));
    if (it == vocab_.end()) fail(vname + ": the " + role + " token '" + std::string(s) + "' is not in the vocabulary");
    return it->second;
  };
  bos_ = special_id(kBos, "bos");
  eos_ = special_id(kEos, "eos");
  if (pad_token.empty()) fail((pad_source.empty() ? vname : pad_source.string()) + ": the pad token must not be empty");
  if (!pad_source.empty() && !vocab_.count(pad_token))
    fail(pad_source.string() + ": the pad token '" + pad_token + "' is not in the vocabulary (" + vname + ")");
  pad_ = special_id(pad_token, "pad");
  special_strings_ = {std::string(kBos), std::string(kEos)};
  if (pad_token != kBos && pad_token != kEos) special_strings_.push_back(pad_token);

  const std::string text = read_text(merges_txt);
  decode_utf8(text, mname);
  // The reference strips the whole file, splits at '\n', skips the header line and reads at most kMaxMerges.
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  const std::string_view body(text.data() + b, e - b);
  if (body.empty() || body[0] != '#') fail(mname + ": line 1 must be the '#version' header");
  size_t pos = body.find('\n');
  size_t line_no = 1;
  int32_t rank = 0;
  while (pos != std::string_view::npos && size_t(rank) < kMaxMerges) {
    const size_t start = pos + 1;
    pos = body.find('\n', start);
    const std::string_view line = body.substr(start, pos == std::string_view::npos ? pos : pos - start);
    ++line_no;
    const auto f = split_fields(line);
    if (f.size() != 2)
      fail(mname + ": line " + std::to_string(line_no) + " must hold two symbols, got " + std::to_string(f.size()));
    if (!vocab_.count(f[0] + f[1]))
      fail(mname + ": line " + std::to_string(line_no) + " merges to '" + f[0] + f[1] + "', which is not in " + vname);
    // A repeated pair takes its later rank, as the reference's dict does.
    merge_rank_[f[0] + ' ' + f[1]] = rank++;
  }
}

ClipTokenizerFolder ClipTokenizer::read_folder(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) fail(dir.string() + ": tokenizer folder not found");
  ClipTokenizerFolder cfg;
  cfg.vocab_json = dir / "vocab.json";
  cfg.merges_txt = dir / "merges.txt";
  std::optional<std::string> pad;
  // special_tokens_map.json overrides tokenizer_config.json, as transformers' from_pretrained does; SD 2.x
  // folders rely on that (the map says "!", the config "<|endoftext|>").
  for (const char* name : {"special_tokens_map.json", "tokenizer_config.json"}) {
    const auto path = dir / name;
    if (!std::filesystem::exists(path, ec)) continue;
    const nlohmann::json doc = read_json(path);
    if (!doc.is_object()) fail(path.string() + ": expected a JSON object");
    check_fixed_token(doc, "bos_token", kBos, path);
    check_fixed_token(doc, "eos_token", kEos, path);
    check_fixed_token(doc, "unk_token", kEos, path);
    if (!pad) {
      pad = token_content(doc, "pad_token", path);
      if (pad) cfg.pad_source = path;
    }
    if (std::string_view(name) != "tokenizer_config.json") continue;
    if (doc.contains("tokenizer_class") && doc["tokenizer_class"].is_string()) {
      const auto cls = doc["tokenizer_class"].get<std::string>();
      if (cls.rfind("CLIPTokenizer", 0) != 0)
        fail(path.string() + ": tokenizer_class is '" + cls + "', expected CLIPTokenizer");
    }
    if (doc.contains("model_max_length") && doc["model_max_length"].is_number_integer()) {
      const int64_t n = doc["model_max_length"].get<int64_t>();
      if (n < 2) fail(path.string() + ": model_max_length must be at least 2, got " + std::to_string(n));
      if (n <= kMaxSaneLength) cfg.max_length = int32_t(n);
    }
  }
  if (pad) cfg.pad_token = *pad;
  return cfg;
}

ClipTokenizer ClipTokenizer::from_folder(const std::filesystem::path& dir) {
  const ClipTokenizerFolder cfg = read_folder(dir);
  return ClipTokenizer(cfg.vocab_json, cfg.merges_txt, cfg.pad_token, cfg.max_length, cfg.pad_source);
}

const std::string& ClipTokenizer::piece(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    fail("ClipTokenizer: token id " + std::to_string(id) + " is outside the vocabulary (size " +
         std::to_string(vocab_size()) + ")");
  return id_to_token_[size_t(id)];
}

std::string ClipTokenizer::decode(const std::vector<int32_t>& ids) const {
  static const std::unordered_map<char32_t, unsigned char> byte_of = [] {
    std::unordered_map<char32_t, unsigned char> m;
    for (int b = 0; b < 256; ++b)
      m.emplace(decode_utf8(byte_chars()[size_t(b)], "byte table")[0], static_cast<unsigned char>(b));
    return m;
  }();
  std::string bytes;
  for (int32_t id : ids) {
    for (char32_t c : decode_utf8(piece(id), "vocabulary")) {
      auto it = byte_of.find(c);
      if (it != byte_of.end()) {
        bytes += char(it->second);
      } else {
        append_utf8(bytes, c);
      }
    }
  }
  // Python's errors="replace": one U+FFFD per maximal invalid subpart.
  std::string text;
  for (size_t i = 0; i < bytes.size();) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    const size_t n = b0 < 0x80                     ? 1
                     : (b0 >= 0xC2 && b0 <= 0xDF) ? 2
                     : (b0 >= 0xE0 && b0 <= 0xEF) ? 3
                     : (b0 >= 0xF0 && b0 <= 0xF4) ? 4
                                                  : 0;
    size_t k = 1;
    for (; n > 1 && k < n && i + k < bytes.size(); ++k) {
      const auto b = static_cast<unsigned char>(bytes[i + k]);
      unsigned char lo = 0x80, hi = 0xBF;
      if (k == 1 && b0 == 0xE0) lo = 0xA0;
      if (k == 1 && b0 == 0xED) hi = 0x9F;
      if (k == 1 && b0 == 0xF0) lo = 0x90;
      if (k == 1 && b0 == 0xF4) hi = 0x8F;
      if (b < lo || b > hi) break;
    }
    if (n != 0 && k == n) {
      text.append(bytes, i, n);
      i += n;
    } else {
      text += "\xEF\xBF\xBD";
      i += std::max<size_t>(k, 1);
    }
  }
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 4, "</w>") == 0) {
      out += ' ';
      i += 4;
    } else {
      out += text[i++];
    }
  }
  const size_t b = out.find_first_not_of(" \t\n\r\f\v");
  if (b == std::string::npos) return "";
  return out.substr(b, out.find_last_not_of(" \t\n\r\f\v") - b + 1);
}

void ClipTokenizer::bpe(const std::string& piece, std::vector<int32_t>& out) const {
  auto id_of = [&](const std::string& sym) {
    auto it = vocab_.find(sym);
    return it == vocab_.end() ? eos_ : it->second;  // unknown -> unk, which is <|endoftext|>
  };
  if (piece == kBos || piece == kEos) {
    out.push_back(id_of(piece));
    return;
  }
  std::vector<std::string> word;
  for (unsigned char b : piece) word.push_back(byte_chars()[b]);
  word.back() += "</w>";
  std::string key;
  while (word.size() > 1) {
    int32_t best = INT32_MAX;
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      key.assign(word[i]).append(1, ' ').append(word[i + 1]);
      auto it = merge_rank_.find(key);
      if (it != merge_rank_.end() && it->second < best) best = it->second, best_at = i;
    }
    if (best == INT32_MAX) break;
    const std::string first = word[best_at], second = word[best_at + 1];
    std::vector<std::string> merged;
    merged.reserve(word.size());
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(std::move(word[i]));
        ++i;
      }
    }
    word = std::move(merged);
  }
  for (const auto& sym : word) out.push_back(id_of(sym));
}

std::vector<int32_t> ClipTokenizer::tokenize(std::string_view text) const {
  decode_utf8(text, "prompt");
  std::vector<int32_t> ids;
  std::vector<std::string> pieces;
  auto run_text = [&](std::string_view chunk) {
    for (const auto& word : clean_words(decode_utf8(chunk, "prompt"))) {
      pieces.clear();
      pretokenize(word, pieces);
      for (const auto& p : pieces) bpe(p, ids);
    }
  };
  // Step 1: cut at the special strings (earliest match, then the longest one there).
  size_t i = 0;
  while (i < text.size()) {
    size_t at = std::string_view::npos;
    const std::string* hit = nullptr;
    for (const auto& s : special_strings_) {
      const size_t j = text.find(s, i);
      if (j != std::string_view::npos && (j < at || (j == at && s.size() > hit->size()))) at = j, hit = &s;
    }
    if (!hit) {
      run_text(text.substr(i));
      break;
    }
    if (at > i) run_text(text.substr(i, at - i));
    ids.push_back(vocab_.at(*hit));
    i = at + hit->size();
  }
  return ids;
}

TokenizedPrompt ClipTokenizer::encode(std::string_view prompt) const {
  const std::vector<int32_t> tokens = tokenize(prompt);
  const size_t keep = std::min(tokens.size(), size_t(max_length_ - 2));
  TokenizedPrompt r;
  r.ids.reserve(size_t(max_length_));
  r.ids.push_back(bos_);
  r.ids.insert(r.ids.end(), tokens.begin(), tokens.begin() + std::ptrdiff_t(keep));
  r.ids.push_back(eos_);
  r.length = int32_t(r.ids.size());
  r.ids.resize(size_t(max_length_), pad_);
  r.truncated = keep < tokens.size();
  r.dropped = int32_t(tokens.size() - keep);
  r.pieces.reserve(r.ids.size());
  for (int32_t id : r.ids) r.pieces.push_back(id_to_token_[size_t(id)]);
  return r;
}

}  // namespace ezivk::models
