#pragma once
// The CLIP BPE tokenizer (transformers' CLIPTokenizer) from a diffusers tokenizer/ folder: vocab.json +
// merges.txt, with the pad token and length from special_tokens_map.json / tokenizer_config.json.
// Token ids are identical to the reference tokenizer's: SD2 pads with "!" (id 0), SD1 with <|endoftext|>.
//
// The reference is transformers 4.x's slow CLIPTokenizer as diffusers calls it (padding="max_length",
// max_length=77, truncation=True) in an environment without ftfy, which diffusers does not install. Without
// ftfy that class cleans text with BasicTokenizer(strip_accents=False, do_split_on_punc=False), so the exact
// steps are:
//  1. Special tokens first: the raw prompt is cut (case-sensitively, earliest then longest match) at every
//     occurrence of the special-token strings <|startoftext|>, <|endoftext|> and the pad token; a cut piece is
//     that token's id. Because SD 2.x's pad token is "!", every "!" there is id 0 and never merges ("dog!!"
//     -> dog</w> ! !), while SD 1.x gives dog</w> !!</w>; this is diffusers' behaviour (diffusers issue 4153).
//  2. Each other piece: drop U+0000, U+FFFD and every character of general category C* except \t \n \r (so
//     zero-width joiners, soft hyphens, private-use and unassigned code points vanish); \t \n \r and Zs become
//     a space; a space is put on each side of CJK ideographs; NFC; split at spaces and U+2028/U+2029; each
//     word lowercased with full Unicode case mapping (final sigma, "İ" -> "i̇"). Accents are kept.
//  3. Each word is cut with <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|
//     [^\s\p{L}\p{N}]+ under IGNORECASE (the first alternative that matches wins; U+017F counts as "s";
//     U+0345 matches no alternative under IGNORECASE and is dropped, as the regex module does).
//  4. UTF-8 bytes -> GPT-2 byte-to-unicode characters, "</w>" on the last one, merge the lowest-ranked pair
//     everywhere until no pair has a rank. The exact pieces "<|startoftext|>" / "<|endoftext|>" skip BPE. A
//     symbol missing from vocab.json becomes the unk token (<|endoftext|>), as in the reference.
//  5. [bos] + the first max_length - 2 tokens + [eos], then pad ids up to max_length.
// Unicode tables come from ICU; they can differ from the reference's Python only for characters assigned in
// a Unicode version one of them lacks. With ftfy installed the reference would differ (it straightens curly
// quotes and fixes mojibake instead of step 2); transformers' fast tokenizer would also differ (no CJK
// spacing, no control-character removal).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ezivk::models {

struct TokenizedPrompt {
  std::vector<int32_t> ids;          // always max_length ids: bos, tokens, eos, padding
  std::vector<std::string> pieces;   // the vocabulary string of each id (same length as ids)
  int32_t length = 0;                // ids before padding (bos + kept tokens + eos)
  bool truncated = false;            // the prompt had more than max_length - 2 tokens
  int32_t dropped = 0;               // how many tokens truncation dropped
};

// What a diffusers tokenizer/ folder says: its two vocabulary files, the pad token and the sequence length.
struct ClipTokenizerFolder {
  std::filesystem::path vocab_json, merges_txt;
  std::string pad_token = "<|endoftext|>";
  std::filesystem::path pad_source;  // the JSON file that named the pad token (empty: the default)
  int32_t max_length = 77;
};

class ClipTokenizer {
 public:
  // vocab.json, merges.txt; pad_token is a vocabulary string ("!" or "<|endoftext|>").
  // pad_source names the file the pad token came from, so an unknown pad token is blamed on it, not on vocab.json.
  ClipTokenizer(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt,
                std::string pad_token = "<|endoftext|>", int32_t max_length = 77,
                const std::filesystem::path& pad_source = {});
  // A diffusers tokenizer/ folder: pad token from special_tokens_map.json (or tokenizer_config.json), max
  // length from tokenizer_config.json's model_max_length (77 when absent or absurdly large).
  static ClipTokenizer from_folder(const std::filesystem::path& dir);
  // Reads the folder's JSON files without loading the vocabulary (from_folder is this plus the constructor).
  // The pad token may be a string or an AddedToken object {"content": ...}; a bos/eos/unk token other than
  // CLIP's, or a tokenizer_class that is not a CLIP tokenizer, is an Error.
  static ClipTokenizerFolder read_folder(const std::filesystem::path& dir);

  TokenizedPrompt encode(std::string_view prompt) const;
  // BPE tokens of the text without bos/eos/padding/truncation.
  std::vector<int32_t> tokenize(std::string_view text) const;

  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  int32_t pad() const { return pad_; }
  int32_t max_length() const { return max_length_; }
  int32_t vocab_size() const { return int32_t(id_to_token_.size()); }
  const std::string& piece(int32_t id) const;
  // The text that ids spell, as transformers' convert_tokens_to_string: pieces joined, byte characters
  // mapped back to bytes, invalid UTF-8 replaced by U+FFFD, "</w>" read as a space, ends stripped.
  std::string decode(const std::vector<int32_t>& ids) const;

 private:
  // BPE of one pre-tokenized piece (UTF-8), appended to out as ids.
  void bpe(const std::string& piece, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, int32_t> merge_rank_;  // "a b" -> rank
  std::vector<std::string> special_strings_;              // bos, eos, pad strings: cut out of the prompt first
  int32_t bos_ = 0, eos_ = 0, pad_ = 0, max_length_ = 77;
};

}  // namespace ezivk::models
