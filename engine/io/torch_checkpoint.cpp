#include "engine/io/torch_checkpoint.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <variant>

#include "engine/util/error.h"
#include "engine/util/half.h"

namespace ezivk::io {

const char* torch_dtype_name(TorchDType t) {
  switch (t) {
    case TorchDType::F32: return "F32";
    case TorchDType::F16: return "F16";
    case TorchDType::BF16: return "BF16";
    case TorchDType::F64: return "F64";
  }
  return "?";
}

size_t torch_dtype_bytes(TorchDType t) {
  switch (t) {
    case TorchDType::F32: return 4;
    case TorchDType::F16:
    case TorchDType::BF16: return 2;
    case TorchDType::F64: return 8;
  }
  return 0;
}

int64_t TorchTensor::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

bool TorchTensor::contiguous() const {
  int64_t expect = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expect) return false;
    expect *= shape[i];
  }
  return true;
}

namespace {

// --- the values the machine handles --------------------------------------------------------------------------

struct Value;
using ValuePtr = std::shared_ptr<Value>;
struct Global {
  std::string module, name;
};
struct Storage {
  TorchDType dtype;
  std::string key;
  int64_t numel;
};
struct Dict {
  std::vector<std::pair<ValuePtr, ValuePtr>> items;
};
struct List {
  std::vector<ValuePtr> items;
};
struct Tuple {
  std::vector<ValuePtr> items;
};
struct None {};
struct Value {
  std::variant<None, bool, int64_t, double, std::string, Global, Storage, Dict, List, Tuple, TorchTensor> v;
};

ValuePtr make(auto x) {
  auto p = std::make_shared<Value>();
  p->v = std::move(x);
  return p;
}

const char* kind_of(const Value& v) {
  static const char* names[] = {"None", "bool", "int", "float", "string", "global", "storage",
                                "dict", "list", "tuple", "tensor"};
  return names[v.v.index()];
}

std::optional<TorchDType> storage_dtype(const Global& g) {
  if (g.module != "torch") return std::nullopt;
  if (g.name == "FloatStorage") return TorchDType::F32;
  if (g.name == "HalfStorage") return TorchDType::F16;
  if (g.name == "BFloat16Storage") return TorchDType::BF16;
  if (g.name == "DoubleStorage") return TorchDType::F64;
  return std::nullopt;
}

bool allowed_callable(const Global& g) {
  return (g.module == "collections" && g.name == "OrderedDict") ||
         (g.module == "torch._utils" && (g.name == "_rebuild_tensor_v2" || g.name == "_rebuild_parameter"));
}

class Machine {
 public:
  Machine(std::span<const std::byte> pkl, const std::string& file,
          const std::map<std::string, std::span<const std::byte>>& storages)
      : b_(pkl), file_(file), storages_(storages) {}

  ValuePtr run() {
    while (true) {
      const size_t at = pos_;
      const uint8_t op = u8();
      switch (op) {
        case 0x80: u8(); break;                        // PROTO
        case 0x95: bytes(8); break;                    // FRAME (length only)
        case '.': return pop("STOP");                  // STOP
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case 'N': push(make(None{})); break;
        case 0x88: push(make(true)); break;            // NEWTRUE
        case 0x89: push(make(false)); break;           // NEWFALSE
        case 'K': push(make(int64_t(u8()))); break;    // BININT1
        case 'M': push(make(int64_t(uint16_t(le(2))))); break;  // BININT2
        case 'J': push(make(int64_t(int32_t(uint32_t(le(4)))))); break;  // BININT
        case 0x8a: {                                   // LONG1: little-endian two's complement
          const size_t n = u8();
          if (n > 8) bad(at, "an integer of " + std::to_string(n) + " bytes");
          const uint64_t raw = n ? le(int(n)) : 0;
          int64_t v = int64_t(raw);
          if (n && n < 8 && (raw >> (8 * n - 1)) & 1) v = int64_t(raw | (~uint64_t(0) << (8 * n)));
          push(make(v));
          break;
        }
        case 'G': {                                    // BINFLOAT, big-endian double
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = bits << 8 | u8();
          double d;
          std::memcpy(&d, &bits, 8);
          push(make(d));
          break;
        }
        case 'X': push(make(str(le(4)))); break;       // BINUNICODE
        case 0x8c: push(make(str(u8()))); break;       // SHORT_BINUNICODE
        case 0x8d: push(make(str(le(8)))); break;      // BINUNICODE8
        case 'c': {                                    // GLOBAL "module\nname\n"
          const std::string module = line(), name = line();
          push(global(module, name, at));
          break;
        }
        case 0x93: {                                   // STACK_GLOBAL
          const std::string name = as_string(pop("STACK_GLOBAL"), at), module = as_string(pop("STACK_GLOBAL"), at);
          push(global(module, name, at));
          break;
        }
        case 'q': memo(u8()); break;                   // BINPUT
        case 'r': memo(le(4)); break;                  // LONG_BINPUT
        case 0x94: memo(memo_.size()); break;          // MEMOIZE
        case 'h': push(recall(u8(), at)); break;       // BINGET
        case 'j': push(recall(le(4), at)); break;      // LONG_BINGET
        case ')': push(make(Tuple{})); break;          // EMPTY_TUPLE
        case '}': push(make(Dict{})); break;           // EMPTY_DICT
        case ']': push(make(List{})); break;           // EMPTY_LIST
        case 't': push(make(Tuple{since_mark(at)})); break;  // TUPLE
        case 0x85: case 0x86: case 0x87: {             // TUPLE1..3
          Tuple t;
          t.items.resize(op - 0x84);
          for (size_t i = t.items.size(); i-- > 0;) t.items[i] = pop("TUPLE");
          push(make(std::move(t)));
          break;
        }
        case 's': {                                    // SETITEM
          auto v = pop("SETITEM"), k = pop("SETITEM");
          dict_of(top(at), at).items.emplace_back(k, v);
          break;
        }
        case 'u': {                                    // SETITEMS
          auto items = since_mark(at);
          if (items.size() % 2) bad(at, "SETITEMS with an odd number of values");
          auto& d = dict_of(top(at), at);
          for (size_t i = 0; i < items.size(); i += 2) d.items.emplace_back(items[i], items[i + 1]);
          break;
        }
        case 'a': {                                    // APPEND
          auto v = pop("APPEND");
          list_of(top(at), at).items.push_back(v);
          break;
        }
        case 'e': {                                    // APPENDS
          auto items = since_mark(at);
          auto& l = list_of(top(at), at);
          l.items.insert(l.items.end(), items.begin(), items.end());
          break;
        }
        case 'Q': push(persistent(pop("BINPERSID"), at)); break;  // BINPERSID
        case 'R': {                                    // REDUCE
          auto args = pop("REDUCE"), fn = pop("REDUCE");
          push(reduce(*fn, *args, at));
          break;
        }
        case 'b': {                                    // BUILD: only an OrderedDict's attributes (_metadata)
          auto state = pop("BUILD");
          if (!std::holds_alternative<Dict>(top(at)->v)) bad(at, "BUILD on a " + std::string(kind_of(*top(at))));
          break;
        }
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          bad(at, std::string("pickle opcode ") + hex + ", which a torch.save state dict does not use");
        }
      }
    }
  }

 private:
  [[noreturn]] void bad(size_t at, const std::string& what) const {
    fail(file_ + ": refused " + what + " (data.pkl byte " + std::to_string(at) + ")");
  }
  uint8_t u8() {
    if (pos_ >= b_.size()) fail(file_ + ": data.pkl ends in the middle of an instruction (truncated)");
    return std::to_integer<uint8_t>(b_[pos_++]);
  }
  uint64_t le(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t(u8()) << (8 * i);
    return v;
  }
  std::span<const std::byte> bytes(uint64_t n) {
    if (n > b_.size() - pos_) fail(file_ + ": data.pkl ends in the middle of a value (truncated)");
    auto s = b_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::string str(uint64_t n) {
    auto s = bytes(n);
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
  }
  std::string line() {
    std::string s;
    for (char c; (c = char(u8())) != '\n';) {
      s += c;
      if (s.size() > 256) fail(file_ + ": data.pkl has an overlong GLOBAL name");
    }
    return s;
  }
  void push(ValuePtr v) {
    if (stack_.size() > 1'000'000) fail(file_ + ": data.pkl's stack grows without bound");
    stack_.push_back(std::move(v));
  }
  ValuePtr pop(const char* op) {
    if (stack_.empty() || (!marks_.empty() && stack_.size() == marks_.back()))
      fail(file_ + ": malformed data.pkl (" + op + " on an empty stack)");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  const ValuePtr& top(size_t at) const {
    if (stack_.empty()) bad(at, "an instruction on an empty stack");
    return stack_.back();
  }
  std::vector<ValuePtr> since_mark(size_t at) {
    if (marks_.empty()) bad(at, "an instruction that needs a MARK without one");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + ptrdiff_t(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  void memo(uint64_t key) {
    if (stack_.empty()) fail(file_ + ": malformed data.pkl (memoizing an empty stack)");
    if (key > 10'000'000) fail(file_ + ": data.pkl memo key out of range");
    memo_[key] = stack_.back();
  }
  ValuePtr recall(uint64_t key, size_t at) {
    auto it = memo_.find(key);
    if (it == memo_.end()) bad(at, "a memo key that was never stored");
    return it->second;
  }
  Dict& dict_of(const ValuePtr& v, size_t at) {
    if (auto* d = std::get_if<Dict>(&v->v)) return *d;
    bad(at, std::string("setting items on a ") + kind_of(*v));
  }
  List& list_of(const ValuePtr& v, size_t at) {
    if (auto* l = std::get_if<List>(&v->v)) return *l;
    bad(at, std::string("appending to a ") + kind_of(*v));
  }
  std::string as_string(const ValuePtr& v, size_t at) {
    if (auto* s = std::get_if<std::string>(&v->v)) return *s;
    bad(at, std::string("a ") + kind_of(*v) + " where a string belongs");
  }
  int64_t as_int(const ValuePtr& v, size_t at, const char* what) {
    if (auto* i = std::get_if<int64_t>(&v->v)) return *i;
    bad(at, std::string("a ") + kind_of(*v) + " as " + what);
  }
  ValuePtr global(const std::string& module, const std::string& name, size_t at) {
    Global g{module, name};
    if (!allowed_callable(g) && !storage_dtype(g))
      bad(at, "the global " + module + "." + name + " (only tensors, their float storages and OrderedDict are allowed)");
    return make(g);
  }
  ValuePtr persistent(const ValuePtr& pid, size_t at) {
    const auto* t = std::get_if<Tuple>(&pid->v);
    if (!t || t->items.size() != 5 || as_string(t->items[0], at) != "storage")
      bad(at, "a persistent id that is not ('storage', type, key, location, size)");
    const auto* cls = std::get_if<Global>(&t->items[1]->v);
    const auto dt = cls ? storage_dtype(*cls) : std::nullopt;
    if (!dt) bad(at, "a storage whose type is not a float storage");
    Storage s{*dt, as_string(t->items[2], at), as_int(t->items[4], at, "a storage size")};
    auto it = storages_.find(s.key);
    if (it == storages_.end()) bad(at, "storage '" + s.key + "', which is not in the archive");
    if (s.numel < 0 || uint64_t(s.numel) > it->second.size() / torch_dtype_bytes(s.dtype))
      bad(at, "storage '" + s.key + "' of " + std::to_string(s.numel) + " elements in " +
                  std::to_string(it->second.size()) + " bytes");
    return make(s);
  }
  std::vector<int64_t> ints(const ValuePtr& v, size_t at, const char* what) {
    const auto* t = std::get_if<Tuple>(&v->v);
    if (!t) bad(at, std::string("a ") + kind_of(*v) + " as " + what);
    std::vector<int64_t> out;
    for (auto& x : t->items) out.push_back(as_int(x, at, what));
    return out;
  }
  ValuePtr reduce(const Value& fn, const Value& args, size_t at) {
    const auto* g = std::get_if<Global>(&fn.v);
    if (!g || !allowed_callable(*g))
      bad(at, std::string("calling ") + (g ? g->module + "." + g->name : std::string("a ") + kind_of(fn)));
    const auto* a = std::get_if<Tuple>(&args.v);
    if (!a) bad(at, "REDUCE arguments that are not a tuple");
    if (g->name == "OrderedDict") {
      if (!a->items.empty()) bad(at, "an OrderedDict built from arguments");
      return make(Dict{});
    }
    if (g->name == "_rebuild_parameter") {  // (tensor, requires_grad, hooks): the tensor
      if (a->items.size() != 3 || !std::holds_alternative<TorchTensor>(a->items[0]->v))
        bad(at, "a parameter that does not wrap a tensor");
      return a->items[0];
    }
    // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
    if (a->items.size() < 6 || a->items.size() > 7) bad(at, "_rebuild_tensor_v2 with unexpected arguments");
    const auto* s = std::get_if<Storage>(&a->items[0]->v);
    if (!s) bad(at, "a tensor whose storage is not a storage");
    TorchTensor t;
    t.dtype = s->dtype;
    t.storage = s->key;
    t.offset = as_int(a->items[1], at, "a storage offset");
    t.shape = ints(a->items[2], at, "a size");
    t.strides = ints(a->items[3], at, "a stride");
    if (t.shape.size() != t.strides.size() || t.shape.size() > 8) bad(at, "a tensor with mismatched size and stride");
    // Every element must lie inside the storage.
    int64_t last = t.offset;
    if (t.offset < 0) bad(at, "a negative storage offset");
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (t.shape[i] < 0 || t.strides[i] < 0 || t.shape[i] > (int64_t(1) << 40))
        bad(at, "a tensor with a negative or huge size or stride");
      if (t.shape[i] == 0) last = -1;
      if (last >= 0) {
        if (t.strides[i] > 0 && (t.shape[i] - 1) > (INT64_MAX - last) / t.strides[i]) bad(at, "a tensor too large");
        last += (t.shape[i] - 1) * t.strides[i];
      }
    }
    if (last >= s->numel) bad(at, "a tensor reaching past its storage '" + s->key + "'");
    return make(std::move(t));
  }

  std::span<const std::byte> b_;
  std::string file_;
  const std::map<std::string, std::span<const std::byte>>& storages_;
  size_t pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, ValuePtr> memo_;
};

}  // namespace

TorchCheckpoint::TorchCheckpoint(const std::filesystem::path& path) : zip_(path) {
  const std::string file = path.string();
  // The one <archive>/data.pkl names the prefix of everything else.
  std::string pkl;
  for (auto& [name, bytes] : zip_.entries()) {
    const auto slash = name.find('/');
    if (slash != std::string::npos && name.substr(slash) == "/data.pkl") {
      if (!pkl.empty()) fail(file + ": more than one data.pkl in the archive");
      pkl = name;
      prefix_ = name.substr(0, slash + 1);
    }
  }
  if (pkl.empty()) fail(file + ": no <archive>/data.pkl: not a torch.save checkpoint");
  for (auto& [name, bytes] : zip_.entries())
    if (name.rfind(prefix_ + "data/", 0) == 0) storages_[name.substr(prefix_.size() + 5)] = bytes;
  Machine m(zip_.entry(pkl), file, storages_);
  const ValuePtr root = m.run();
  const auto* d = std::get_if<Dict>(&root->v);
  if (!d) fail(file + ": the checkpoint holds a " + std::string(kind_of(*root)) + ", not a dict of tensors");
  for (auto& [k, v] : d->items) {
    const auto* key = std::get_if<std::string>(&k->v);
    if (!key) fail(file + ": a state-dict key that is not a string");
    if (std::holds_alternative<None>(v->v)) continue;
    const auto* t = std::get_if<TorchTensor>(&v->v);
    if (!t) fail(file + ": '" + *key + "' is a " + kind_of(*v) + ", not a tensor");
    TorchTensor copy = *t;
    copy.name = *key;
    tensors_.push_back(std::move(copy));
  }
  std::sort(tensors_.begin(), tensors_.end(), [](auto& a, auto& b) { return a.name < b.name; });
  for (size_t i = 1; i < tensors_.size(); ++i)
    if (tensors_[i].name == tensors_[i - 1].name) fail(file + ": tensor '" + tensors_[i].name + "' appears twice");
}

const TorchTensor* TorchCheckpoint::find(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name, [](auto& t, auto& n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

void TorchCheckpoint::to_f32(const TorchTensor& t, float* dst) const {
  const auto s = storages_.at(t.storage);
  const size_t eb = torch_dtype_bytes(t.dtype);
  auto load = [&](int64_t index) -> float {
    const std::byte* p = s.data() + size_t(index) * eb;
    switch (t.dtype) {
      case TorchDType::F32: {
        float f;
        std::memcpy(&f, p, 4);
        return f;
      }
      case TorchDType::F16: {
        uint16_t h;
        std::memcpy(&h, p, 2);
        return half_to_float(h);
      }
      case TorchDType::BF16: {
        uint16_t h;
        std::memcpy(&h, p, 2);
        const uint32_t bits = uint32_t(h) << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
      }
      case TorchDType::F64: {
        double d;
        std::memcpy(&d, p, 8);
        return float(d);
      }
    }
    return 0;
  };
  const int64_t n = t.numel();
  if (t.contiguous()) {
    for (int64_t i = 0; i < n; ++i) dst[i] = load(t.offset + i);
    return;
  }
  // Any strides: walk the index in row-major order.
  std::vector<int64_t> idx(t.shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t at = t.offset;
    for (size_t d = 0; d < idx.size(); ++d) at += idx[d] * t.strides[d];
    dst[i] = load(at);
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace ezivk::io
