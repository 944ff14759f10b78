// ClipTokenizer against tools/fixtures/clip_bpe_reference.py (an independent stdlib-Python implementation of
// transformers' slow CLIPTokenizer) on the real CLIP vocabulary in ../shared/data/clip-bpe, plus hand-worked
// cases on a vocabulary built here and the error paths.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/util/error.h"
#include "engine/models/clip_tokenizer.h"

namespace fs = std::filesystem;
using ezivk::models::ClipTokenizer;

namespace {

fs::path repo_root() { return fs::absolute(fs::path(__FILE__)).parent_path().parent_path().parent_path(); }
// A copy of ../shared/data/clip-bpe (the real CLIP vocabulary, MIT licence) kept in the repository so the tests
// need nothing outside the clone.
fs::path clip_bpe_dir() { return repo_root() / "tests" / "fixtures" / "clip-bpe"; }
fs::path fixtures() { return repo_root() / "tests" / "fixtures"; }

nlohmann::json load_json(const fs::path& p) {
  std::ifstream f(p);
  EXPECT_TRUE(f.good()) << p;
  return nlohmann::json::parse(f);
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

// A fresh folder under the temp directory, removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("ezivk_clip_tok_" + name + "_" + std::to_string(getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The message of the Error that f throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ezivk::Error& e) {
    return e.what();
  }
  return "";
}

class ClipBpe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(clip_bpe_dir() / "vocab.json")) << "the CLIP vocabulary is expected at " << clip_bpe_dir();
    sd2_ = new ClipTokenizer(clip_bpe_dir() / "vocab.json", clip_bpe_dir() / "merges.txt", "!");
    sd1_ = new ClipTokenizer(clip_bpe_dir() / "vocab.json", clip_bpe_dir() / "merges.txt", "<|endoftext|>");
  }
  static void TearDownTestSuite() {
    delete sd2_;
    delete sd1_;
    sd2_ = sd1_ = nullptr;
  }
  static ClipTokenizer* sd2_;
  static ClipTokenizer* sd1_;
};
ClipTokenizer* ClipBpe::sd2_ = nullptr;
ClipTokenizer* ClipBpe::sd1_ = nullptr;

}  // namespace

TEST_F(ClipBpe, SpecialIdsComeFromTheVocabulary) {
  ASSERT_NE(sd2_, nullptr);
  EXPECT_EQ(sd2_->vocab_size(), 49408);
  EXPECT_EQ(sd2_->bos(), 49406);
  EXPECT_EQ(sd2_->eos(), 49407);
  EXPECT_EQ(sd2_->pad(), 0);
  EXPECT_EQ(sd1_->pad(), 49407);
  EXPECT_EQ(sd2_->max_length(), 77);
  EXPECT_EQ(sd2_->piece(320), "a</w>");
  EXPECT_EQ(sd2_->piece(0), "!");
  EXPECT_THROW(sd2_->piece(49408), ezivk::Error);
  EXPECT_THROW(sd2_->piece(-1), ezivk::Error);
}

TEST_F(ClipBpe, Sd2EmptyPrompt) {
  ASSERT_NE(sd2_, nullptr);
  std::vector<int32_t> want(77, 0);
  want[0] = 49406;
  want[1] = 49407;
  const auto r = sd2_->encode("");
  EXPECT_EQ(r.ids, want);
  EXPECT_EQ(r.length, 2);
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(r.dropped, 0);
  ASSERT_EQ(r.pieces.size(), 77u);
  EXPECT_EQ(r.pieces[0], "<|startoftext|>");
  EXPECT_EQ(r.pieces[2], "!");
}

// Ids checked by hand in vocab.json; "! !! !!!" under SD1 padding is OpenCLIP's [256, 748, 995] and under SD2
// padding diffusers' six zeros (diffusers issue 4153).
TEST_F(ClipBpe, HandCheckedIds) {
  ASSERT_NE(sd2_, nullptr);
  EXPECT_EQ(sd2_->tokenize("a photo of an astronaut riding a horse on mars"),
            (std::vector<int32_t>{320, 1125, 539, 550, 18376, 6765, 320, 4558, 525, 7496}));
  EXPECT_EQ(sd1_->tokenize("! !! !!!"), (std::vector<int32_t>{256, 748, 995}));
  EXPECT_EQ(sd2_->tokenize("! !! !!!"), (std::vector<int32_t>(6, 0)));
  EXPECT_EQ(sd2_->tokenize("A Dog"), (std::vector<int32_t>{320, 1929}));
}

TEST_F(ClipBpe, MatchesReferenceFixture) {
  ASSERT_NE(sd2_, nullptr);
  const auto doc = load_json(fixtures() / "tokenizer" / "clip_bpe_cases.json");
  ASSERT_EQ(doc["max_length"].get<int>(), 77);
  ASSERT_GE(doc["cases"].size(), 30u);
  for (const auto& c : doc["cases"]) {
    const auto prompt = c["prompt"].get<std::string>();
    for (const auto& [key, tok] : {std::pair{"pad_bang", sd2_}, std::pair{"pad_eos", sd1_}}) {
      SCOPED_TRACE(std::string(key) + " prompt: " + nlohmann::json(prompt).dump());
      const auto& want = c[key];
      const auto r = tok->encode(prompt);
      EXPECT_EQ(r.ids, want["ids"].get<std::vector<int32_t>>());
      EXPECT_EQ(r.length, want["length"].get<int32_t>());
      EXPECT_EQ(r.truncated, want["truncated"].get<bool>());
      EXPECT_EQ(r.dropped, want["dropped"].get<int32_t>());
      ASSERT_EQ(r.pieces.size(), r.ids.size());
      for (size_t i = 0; i < r.ids.size(); ++i) EXPECT_EQ(r.pieces[i], tok->piece(r.ids[i]));
      const auto tokens = tok->tokenize(prompt);
      EXPECT_EQ(tokens.size(), size_t(r.length - 2 + r.dropped));
      if (!r.truncated) {
        EXPECT_EQ(tokens, std::vector<int32_t>(r.ids.begin() + 1, r.ids.begin() + r.length - 1));
      }
    }
  }
}

// decode reads pieces back to text ("</w>" is a space); the accents and CJK survive the byte-level round trip.
TEST_F(ClipBpe, DecodeReadsTheTokensBack) {
  ASSERT_NE(sd2_, nullptr);
  EXPECT_EQ(sd2_->decode(sd2_->tokenize("A photo, of a DOG!!")), "a photo , of a dog !!");
  EXPECT_EQ(sd1_->decode(sd1_->tokenize("café naïve 猫と犬")), "café naïve 猫 と 犬");
  EXPECT_EQ(sd2_->decode({49406, 320, 49407}), "<|startoftext|>a <|endoftext|>");
  // Byte 0xC3 ("Ã", id 127) without its continuation decode to U+FFFD, as Python's errors="replace" does.
  EXPECT_EQ(sd2_->piece(127), "\xC3\x83");
  EXPECT_EQ(sd2_->decode({127, 320}), "\xEF\xBF\xBD" "a");
}

TEST_F(ClipBpe, TruncationKeepsSeventyFiveTokensThenEos) {
  ASSERT_NE(sd2_, nullptr);
  std::string p75, p76;
  for (int i = 0; i < 76; ++i) (i < 75 ? p75 : p76) += "dog ";
  p76 = p75 + p76;
  const auto a = sd2_->encode(p75);
  EXPECT_FALSE(a.truncated);
  EXPECT_EQ(a.length, 77);
  EXPECT_EQ(a.ids[75], 1929);
  EXPECT_EQ(a.ids[76], 49407);
  const auto b = sd2_->encode(p76);
  EXPECT_TRUE(b.truncated);
  EXPECT_EQ(b.dropped, 1);
  EXPECT_EQ(b.length, 77);
  EXPECT_EQ(b.ids, a.ids);
  EXPECT_EQ(sd2_->tokenize(p76).size(), 76u);
}

TEST_F(ClipBpe, InvalidUtf8NamesTheByteOffset) {
  ASSERT_NE(sd2_, nullptr);
  EXPECT_NE(error_of([&] { sd2_->encode("ab\x80" "c"); }).find("byte offset 2"), std::string::npos);
  EXPECT_NE(error_of([&] { sd2_->encode("a\xC0\xAF"); }).find("byte offset 1"), std::string::npos);  // overlong '/'
  EXPECT_NE(error_of([&] { sd2_->encode("abc\xE2\x82"); }).find("byte offset 3"), std::string::npos);  // truncated
  EXPECT_NE(error_of([&] { sd2_->encode("\xED\xA0\x80"); }).find("byte offset 0"), std::string::npos);  // surrogate
  EXPECT_NE(error_of([&] { sd2_->tokenize("x\xE2\x28\xA1"); }).find("byte offset 2"), std::string::npos);
}

// ---- a vocabulary built here, small enough to work out by hand ---------------------------------------------

namespace {

struct TinyVocab {
  TempDir dir{"tiny"};
  // Symbols in id order; a merges.txt written from `merges` (rank = position).
  TinyVocab(const std::vector<std::string>& symbols, const std::vector<std::string>& merges) {
    nlohmann::json v = nlohmann::json::object();
    for (size_t i = 0; i < symbols.size(); ++i) v[symbols[i]] = i;
    write(dir.path / "vocab.json", v.dump());
    std::string m = "#version: 0.2\n";
    for (const auto& line : merges) m += line + "\n";
    write(dir.path / "merges.txt", m);
  }
  ClipTokenizer load(const std::string& pad = "<|endoftext|>", int32_t max_length = 8) const {
    return ClipTokenizer(dir.path / "vocab.json", dir.path / "merges.txt", pad, max_length);
  }
};

// ids:                                     0    1    2     3       4       5       6    7     8       9
const std::vector<std::string> kSymbols = {"!", "a", "b", "a</w>", "b</w>", "c</w>", "aa", "ab", "aa</w>", "bc</w>",
                                           // 10         11         12                 13
                                           "aaa</w>", "!</w>", "<|startoftext|>", "<|endoftext|>"};

}  // namespace

TEST(ClipBpeTiny, LowestRankMergesFirstLeftToRightWithoutOverlap) {
  // Ranks: 0 "b c</w>", 1 "a a", 2 "a b", 3 "aa a</w>".
  TinyVocab v(kSymbols, {"b c</w>", "a a", "a b", "aa a</w>"});
  const auto t = v.load();
  // "abc": a b c</w>; "b c</w>" (rank 0) beats "a b" (rank 2) although it is further right.
  EXPECT_EQ(t.tokenize("abc"), (std::vector<int32_t>{1, 9}));
  // "aaa": a a a</w> -> (a a) at the first place only -> aa a</w> -> aaa</w>.
  EXPECT_EQ(t.tokenize("aaa"), (std::vector<int32_t>{10}));
  // "aaaa": a a a a</w> -> "a a" merges where it starts at 0; at 2 the pair is (a, a</w>): aa a a</w>, and
  // neither "aa a" nor "a a</w>" has a rank.
  EXPECT_EQ(t.tokenize("aaaa"), (std::vector<int32_t>{6, 1, 3}));
  // "ab": a b</w>: no rank for "a b</w>" -> two symbols.
  EXPECT_EQ(t.tokenize("ab"), (std::vector<int32_t>{1, 4}));
  // A symbol missing from the vocabulary becomes unk (<|endoftext|>, id 13); "z</w>" is missing.
  EXPECT_EQ(t.tokenize("a z"), (std::vector<int32_t>{3, 13}));
  // Words, case and punctuation: "AB!" -> "ab!" -> [ab] [!] -> a b</w>, !</w>.
  EXPECT_EQ(t.tokenize("AB!"), (std::vector<int32_t>{1, 4, 11}));
}

TEST(ClipBpeTiny, PadTokenIsCutOutAndPadsTheTail) {
  TinyVocab v(kSymbols, {"b c</w>", "a a", "a b", "aa a</w>"});
  const auto eos_pad = v.load("<|endoftext|>", 8);
  const auto bang_pad = v.load("!", 8);
  EXPECT_EQ(eos_pad.encode("a!").ids, (std::vector<int32_t>{12, 3, 11, 13, 13, 13, 13, 13}));  // a</w>, !</w>
  EXPECT_EQ(bang_pad.encode("a!").ids, (std::vector<int32_t>{12, 3, 0, 13, 0, 0, 0, 0}));      // a</w>, !
  // max_length 8 keeps 6 tokens.
  const auto r = bang_pad.encode("c c c c c c c c");
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.dropped, 2);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{12, 5, 5, 5, 5, 5, 5, 13}));
}

TEST(ClipBpeTiny, FileProblemsAreOneErrorNamingTheFile) {
  TinyVocab v(kSymbols, {"b c</w>", "a a"});
  const fs::path vocab = v.dir.path / "vocab.json", merges = v.dir.path / "merges.txt";
  auto err = [&](const fs::path& vj, const fs::path& mt, const std::string& pad = "<|endoftext|>") {
    return error_of([&] { ClipTokenizer t(vj, mt, pad); });
  };
  EXPECT_EQ(err(vocab, merges), "");

  std::string e = err(v.dir.path / "nope.json", merges);
  EXPECT_NE(e.find("nope.json"), std::string::npos) << e;
  e = err(vocab, v.dir.path / "missing.txt");
  EXPECT_NE(e.find("missing.txt"), std::string::npos) << e;

  write(v.dir.path / "bad.json", "{\"a\": 0,");
  e = err(v.dir.path / "bad.json", merges);
  EXPECT_NE(e.find("bad.json"), std::string::npos) << e;

  write(v.dir.path / "three.txt", "#version: 0.2\na a\nb c </w>\n");
  e = err(vocab, v.dir.path / "three.txt");
  EXPECT_NE(e.find("three.txt"), std::string::npos) << e;
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;

  write(v.dir.path / "unknown.txt", "#version: 0.2\na a\nb b\n");  // "bb" is not in the vocabulary
  e = err(vocab, v.dir.path / "unknown.txt");
  EXPECT_NE(e.find("unknown.txt"), std::string::npos) << e;
  EXPECT_NE(e.find("'bb'"), std::string::npos) << e;

  write(v.dir.path / "noheader.txt", "a a\n");
  e = err(vocab, v.dir.path / "noheader.txt");
  EXPECT_NE(e.find("noheader.txt"), std::string::npos) << e;

  write(v.dir.path / "nobos.json", R"({"a": 0, "<|endoftext|>": 1})");
  e = err(v.dir.path / "nobos.json", merges);
  EXPECT_NE(e.find("<|startoftext|>"), std::string::npos) << e;

  write(v.dir.path / "gap.json", R"({"a": 0, "<|startoftext|>": 1, "<|endoftext|>": 3})");
  e = err(v.dir.path / "gap.json", merges);
  EXPECT_NE(e.find("gap.json"), std::string::npos) << e;

  e = err(vocab, merges, "<pad>");
  EXPECT_NE(e.find("<pad>"), std::string::npos) << e;

  write(v.dir.path / "badutf8.txt", "#version: 0.2\na a\n\xff b\n");
  e = err(vocab, v.dir.path / "badutf8.txt");
  EXPECT_NE(e.find("badutf8.txt"), std::string::npos) << e;
}

TEST(ClipBpeTiny, FolderPadTokenAndLength) {
  TinyVocab v(kSymbols, {"b c</w>"});
  const fs::path d = v.dir.path;
  // No JSON files: CLIPTokenizer's defaults.
  auto cfg = ClipTokenizer::read_folder(d);
  EXPECT_EQ(cfg.pad_token, "<|endoftext|>");
  EXPECT_EQ(cfg.max_length, 77);
  EXPECT_EQ(cfg.vocab_json, d / "vocab.json");

  // tokenizer_config.json alone; an absurd model_max_length means "none given".
  write(d / "tokenizer_config.json",
        R"({"pad_token": {"__type": "AddedToken", "content": "!", "lstrip": false},)"
        R"( "model_max_length": 1000000000000000019884624838656, "tokenizer_class": "CLIPTokenizer"})");
  cfg = ClipTokenizer::read_folder(d);
  EXPECT_EQ(cfg.pad_token, "!");
  EXPECT_EQ(cfg.max_length, 77);

  // special_tokens_map.json wins over tokenizer_config.json.
  write(d / "tokenizer_config.json", R"({"pad_token": "<|endoftext|>", "model_max_length": 12})");
  write(d / "special_tokens_map.json", R"({"pad_token": {"content": "!", "normalized": true}})");
  const auto t = ClipTokenizer::from_folder(d);
  EXPECT_EQ(t.pad(), 0);
  EXPECT_EQ(t.max_length(), 12);
  EXPECT_EQ(t.encode("").ids.size(), 12u);

  write(d / "special_tokens_map.json", R"({"pad_token": "<|endoftext|>"})");
  EXPECT_EQ(ClipTokenizer::from_folder(d).pad(), 13);

  write(d / "special_tokens_map.json", R"({"pad_token": 5})");
  EXPECT_NE(error_of([&] { ClipTokenizer::read_folder(d); }).find("special_tokens_map.json"), std::string::npos);
  write(d / "special_tokens_map.json", R"({"bos_token": "<s>"})");
  EXPECT_NE(error_of([&] { ClipTokenizer::read_folder(d); }).find("bos_token"), std::string::npos);
  write(d / "special_tokens_map.json", "{}");
  write(d / "tokenizer_config.json", R"({"tokenizer_class": "T5Tokenizer"})");
  EXPECT_NE(error_of([&] { ClipTokenizer::read_folder(d); }).find("T5Tokenizer"), std::string::npos);
  EXPECT_NE(error_of([&] { ClipTokenizer::read_folder(d / "absent"); }).find("absent"), std::string::npos);
}

// tests/fixtures/models/<model>/tokenizer against tests/fixtures/golden/<model>/tokens.json (same script).
TEST(ClipBpeFolders, TinyModelFoldersMatchGolden) {
  const fs::path golden = fixtures() / "golden";
  int checked = 0;
  if (!fs::exists(fixtures() / "models")) GTEST_SKIP() << "no tiny model folders";
  for (const auto& entry : fs::directory_iterator(fixtures() / "models")) {
    const fs::path tok_dir = entry.path() / "tokenizer";
    if (!fs::exists(tok_dir / "vocab.json")) continue;
    const std::string model = entry.path().filename().string();
    SCOPED_TRACE(model);
    const fs::path gold = golden / model / "tokens.json";
    ASSERT_TRUE(fs::exists(gold)) << "run tools/fixtures/clip_bpe_reference.py to write " << gold;
    const auto doc = load_json(gold);
    const auto t = ClipTokenizer::from_folder(tok_dir);
    EXPECT_EQ(t.piece(t.pad()), doc["pad_token"].get<std::string>());
    EXPECT_EQ(t.max_length(), doc["max_length"].get<int32_t>());
    ASSERT_FALSE(doc["cases"].empty());
    for (const auto& c : doc["cases"]) {
      const auto r = t.encode(c["prompt"].get<std::string>());
      EXPECT_EQ(r.ids, c["ids"].get<std::vector<int32_t>>()) << c["prompt"];
      EXPECT_EQ(r.length, c["length"].get<int32_t>());
      EXPECT_EQ(r.truncated, c["truncated"].get<bool>());
      EXPECT_EQ(r.dropped, c["dropped"].get<int32_t>());
    }
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no tiny model folder has a tokenizer";
}
