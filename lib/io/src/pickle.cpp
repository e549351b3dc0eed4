#include "hfjit/io/pickle.h"

#include <cstring>
#include <limits>
#include <optional>

#include "hfjit/error.h"

namespace hfjit {
namespace {

// Every object lives in one pool and refers to others by index, so cycles and
// deep nesting cost nothing to free and cannot overflow the C++ stack.
enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor };

struct Value {
  Kind kind = Kind::None;
  int64_t i = 0;
  double f = 0;
  std::string s;                // Str, Bytes; Global "module.name"; Storage key
  std::vector<size_t> items;    // Tuple/List; Dict as k0, v0, k1, v1, ...
  DType dtype = DType::F32;     // Storage, Tensor
  uint64_t numel = 0;           // Storage
  size_t storage = 0;           // Tensor: index of its Storage
  int64_t offset = 0;           // Tensor
  std::vector<int64_t> shape;   // Tensor
  std::vector<int64_t> stride;  // Tensor
};

struct StorageType {
  const char* name;
  DType dtype;
};
constexpr StorageType kStorageTypes[] = {
    {"torch.FloatStorage", DType::F32}, {"torch.DoubleStorage", DType::F64},
    {"torch.HalfStorage", DType::F16},  {"torch.BFloat16Storage", DType::BF16},
    {"torch.LongStorage", DType::I64},  {"torch.IntStorage", DType::I32},
    {"torch.ShortStorage", DType::I16}, {"torch.CharStorage", DType::I8},
    {"torch.ByteStorage", DType::U8},   {"torch.BoolStorage", DType::BOOL}};

constexpr const char* kAllowedGlobals[] = {"collections.OrderedDict",
                                           "torch._utils._rebuild_tensor_v2",
                                           "torch._utils._rebuild_parameter"};

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, std::string where, const PickleLimits& limits)
      : d_(data), n_(size), where_(std::move(where)), lim_(limits) {}

  std::vector<PickledTensor> run();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(context(where_, "pickle: " + what + " (at byte " + std::to_string(op_pos_) + ")"));
  }
  const uint8_t* take(size_t k) {
    if (k > n_ - p_) fail("truncated data");
    const uint8_t* r = d_ + p_;
    p_ += k;
    return r;
  }
  uint64_t le(size_t k) {
    const uint8_t* b = take(k);
    uint64_t v = 0;
    for (size_t j = k; j-- > 0;) v = (v << 8) | b[j];
    return v;
  }
  std::string line() {
    size_t start = p_;
    while (p_ < n_ && d_[p_] != '\n') {
      if (p_ - start > 256) fail("GLOBAL name too long");
      ++p_;
    }
    if (p_ >= n_) fail("truncated data");
    std::string s(reinterpret_cast<const char*>(d_ + start), p_ - start);
    ++p_;
    return s;
  }
  size_t make(Value v) {
    if (pool_.size() >= lim_.max_values) fail("too many objects");
    pool_.push_back(std::move(v));
    return pool_.size() - 1;
  }
  size_t make_kind(Kind k) {
    Value v;
    v.kind = k;
    return make(std::move(v));
  }
  void push(size_t v) {
    if (stack_.size() + marks_.size() >= lim_.max_stack) fail("stack too deep");
    stack_.push_back(v);
  }
  size_t pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    size_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  size_t top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<size_t> pop_mark() {
    if (marks_.empty()) fail("MARK expected");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<size_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  size_t string_value(Kind k, uint64_t len) {
    if (len > lim_.max_string) fail("string of " + std::to_string(len) + " bytes is too long");
    const uint8_t* b = take(static_cast<size_t>(len));
    Value v;
    v.kind = k;
    v.s.assign(reinterpret_cast<const char*>(b), static_cast<size_t>(len));
    return make(std::move(v));
  }
  Value& at(size_t i) { return pool_[i]; }
  void memo_put(uint64_t key, size_t v) {
    if (key >= lim_.max_values) fail("memo index too large");
    if (memo_.size() <= key) memo_.resize(key + 1, SIZE_MAX);
    memo_[key] = v;
  }
  size_t memo_get(uint64_t key) {
    if (key >= memo_.size() || memo_[key] == SIZE_MAX)
      fail("memo key " + std::to_string(key) + " is not defined");
    return memo_[key];
  }
  void set_items(size_t dict, const std::vector<size_t>& kv) {
    if (at(dict).kind != Kind::Dict) fail("SETITEM on something that is not a dict");
    if (kv.size() % 2 != 0) fail("SETITEMS with an odd number of items");
    for (size_t k = 0; k + 1 < kv.size(); k += 2) {
      auto& items = at(dict).items;
      bool replaced = false;
      if (at(kv[k]).kind == Kind::Str) {
        for (size_t j = 0; j + 1 < items.size(); j += 2)
          if (at(items[j]).kind == Kind::Str && at(items[j]).s == at(kv[k]).s) {
            items[j + 1] = kv[k + 1];
            replaced = true;
            break;
          }
      }
      if (!replaced) {
        items.push_back(kv[k]);
        items.push_back(kv[k + 1]);
      }
    }
  }
  void append_items(size_t list, const std::vector<size_t>& xs) {
    if (at(list).kind != Kind::List) fail("APPEND on something that is not a list");
    for (size_t x : xs) at(list).items.push_back(x);
  }
  std::vector<int64_t> int_tuple(size_t v, const char* what) {
    if (at(v).kind != Kind::Tuple) fail(std::string(what) + " is not a tuple");
    if (at(v).items.size() > lim_.max_dims) fail(std::string(what) + " has too many dimensions");
    std::vector<int64_t> out;
    for (size_t x : at(v).items) {
      if (at(x).kind != Kind::Int) fail(std::string(what) + " holds a non-integer");
      out.push_back(at(x).i);
    }
    return out;
  }
  size_t persistent_load(size_t pid);
  size_t call(size_t fn, size_t args);
  size_t rebuild_tensor(const std::vector<size_t>& args);

  const uint8_t* d_;
  size_t n_;
  size_t p_ = 0;
  size_t op_pos_ = 0;
  std::string where_;
  PickleLimits lim_;
  std::vector<Value> pool_;
  std::vector<size_t> stack_;
  std::vector<size_t> marks_;
  std::vector<size_t> memo_;
};

size_t Unpickler::persistent_load(size_t pid) {
  // ('storage', <storage type global>, key, location, numel)
  const Value& t = at(pid);
  if (t.kind != Kind::Tuple || t.items.size() != 5 || at(t.items[0]).kind != Kind::Str ||
      at(t.items[0]).s != "storage")
    fail("unsupported persistent id (expected a ('storage', type, key, location, numel) tuple)");
  const Value& type = at(t.items[1]);
  if (type.kind != Kind::Global) fail("storage type is not a global");
  std::optional<DType> dtype;
  for (const auto& st : kStorageTypes)
    if (type.s == st.name) dtype = st.dtype;
  if (!dtype) fail("unsupported storage type " + type.s);
  const Value& key = at(t.items[2]);
  const Value& numel = at(t.items[4]);
  if (key.kind != Kind::Str || numel.kind != Kind::Int || numel.i < 0)
    fail("malformed storage persistent id");
  Value s;
  s.kind = Kind::Storage;
  s.dtype = *dtype;
  s.s = key.s;
  s.numel = static_cast<uint64_t>(numel.i);
  return make(std::move(s));
}

size_t Unpickler::rebuild_tensor(const std::vector<size_t>& args) {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[,
  // metadata])
  if (args.size() < 4) fail("_rebuild_tensor_v2 takes at least 4 arguments");
  const Value& st = at(args[0]);
  if (st.kind != Kind::Storage) fail("_rebuild_tensor_v2: first argument is not a storage");
  if (at(args[1]).kind != Kind::Int || at(args[1]).i < 0)
    fail("_rebuild_tensor_v2: bad storage offset");
  Value t;
  t.kind = Kind::Tensor;
  t.storage = args[0];
  t.dtype = st.dtype;
  t.offset = at(args[1]).i;
  t.shape = int_tuple(args[2], "tensor size");
  t.stride = int_tuple(args[3], "tensor stride");
  if (t.shape.size() != t.stride.size()) fail("tensor size and stride differ in length");
  // The view must lie inside its storage.
  uint64_t last = static_cast<uint64_t>(t.offset);
  bool empty = false;
  for (size_t k = 0; k < t.shape.size(); ++k) {
    if (t.shape[k] < 0 || t.stride[k] < 0) fail("tensor with a negative size or stride");
    if (t.shape[k] == 0) empty = true;
  }
  if (!empty) {
    for (size_t k = 0; k < t.shape.size(); ++k) {
      uint64_t span = static_cast<uint64_t>(t.shape[k] - 1);
      uint64_t stride = static_cast<uint64_t>(t.stride[k]);
      if (stride != 0 && span > (std::numeric_limits<uint64_t>::max() / 2 - last) / stride)
        fail("tensor view is too large");
      last += span * stride;
    }
    if (last >= st.numel)
      fail("tensor view (last element " + std::to_string(last) + ") is outside its storage of " +
           std::to_string(st.numel) + " elements");
  }
  return make(std::move(t));
}

size_t Unpickler::call(size_t fn, size_t args) {
  if (at(fn).kind != Kind::Global) fail("REDUCE on something that is not a callable global");
  if (at(args).kind != Kind::Tuple) fail("REDUCE arguments are not a tuple");
  const std::string& name = at(fn).s;
  std::vector<size_t> a = at(args).items;
  if (name == "collections.OrderedDict") {
    if (!a.empty()) fail("OrderedDict with arguments is not supported");
    return make_kind(Kind::Dict);
  }
  if (name == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(a);
  if (name == "torch._utils._rebuild_parameter") {
    if (a.empty() || at(a[0]).kind != Kind::Tensor) fail("_rebuild_parameter needs a tensor");
    return a[0];
  }
  fail("global " + name + " cannot be called");
}

std::vector<PickledTensor> Unpickler::run() {
  while (true) {
    op_pos_ = p_;
    const uint8_t op = *take(1);
    switch (op) {
      case 0x80:
        take(1);
        break;  // PROTO
      case 0x95:
        take(8);
        break;     // FRAME
      case '.': {  // STOP
        size_t result = pop();
        const Value& dict = at(result);
        if (dict.kind != Kind::Dict)
          fail("the pickle is not a state dict (top level is not a dict)");
        std::vector<PickledTensor> out;
        for (size_t k = 0; k + 1 < dict.items.size(); k += 2) {
          const Value& key = at(dict.items[k]);
          const Value& val = at(dict.items[k + 1]);
          if (key.kind != Kind::Str) fail("a state dict key is not a string");
          if (val.kind != Kind::Tensor) fail("state dict entry \"" + key.s + "\" is not a tensor");
          const Value& st = at(val.storage);
          out.push_back({key.s, st.s, val.dtype, st.numel, val.offset, val.shape, val.stride});
        }
        return out;
      }
      case '(':
        marks_.push_back(stack_.size());
        break;  // MARK
      case '0':
        pop();
        break;  // POP
      case '1':
        pop_mark();
        break;  // POP_MARK
      case '2':
        push(top());
        break;  // DUP
      case '}':
        push(make_kind(Kind::Dict));
        break;  // EMPTY_DICT
      case ']':
        push(make_kind(Kind::List));
        break;  // EMPTY_LIST
      case ')':
        push(make_kind(Kind::Tuple));
        break;  // EMPTY_TUPLE
      case 't':
      case 'l':
      case 'd': {  // TUPLE, LIST, DICT
        std::vector<size_t> items = pop_mark();
        size_t v = make_kind(op == 't' ? Kind::Tuple : op == 'l' ? Kind::List : Kind::Dict);
        if (op == 'd')
          set_items(v, items);
        else
          at(v).items = std::move(items);
        push(v);
        break;
      }
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        size_t k = op - 0x84u;
        std::vector<size_t> items(k);
        for (size_t j = k; j-- > 0;) items[j] = pop();
        size_t v = make_kind(Kind::Tuple);
        at(v).items = std::move(items);
        push(v);
        break;
      }
      case 'a': {
        size_t x = pop();
        append_items(top(), {x});
        break;
      }  // APPEND
      case 'e': {
        auto xs = pop_mark();
        append_items(top(), xs);
        break;
      }  // APPENDS
      case 's': {
        size_t v = pop(), k = pop();
        set_items(top(), {k, v});
        break;
      }  // SETITEM
      case 'u': {
        auto kv = pop_mark();
        set_items(top(), kv);
        break;
      }  // SETITEMS
      case 'J': {
        Value v;
        v.kind = Kind::Int;
        v.i = static_cast<int32_t>(le(4));
        push(make(std::move(v)));
        break;
      }
      case 'K': {
        Value v;
        v.kind = Kind::Int;
        v.i = static_cast<int64_t>(le(1));
        push(make(std::move(v)));
        break;
      }
      case 'M': {
        Value v;
        v.kind = Kind::Int;
        v.i = static_cast<int64_t>(le(2));
        push(make(std::move(v)));
        break;
      }
      case 0x8a:
      case 0x8b: {  // LONG1, LONG4: little-endian two's complement
        uint64_t len = le(op == 0x8a ? 1 : 4);
        if (len > 8) fail("integer wider than 64 bits");
        uint64_t u = len == 0 ? 0 : le(static_cast<size_t>(len));
        if (len > 0 && len < 8 && (u >> (8 * len - 1)) & 1) u |= ~0ull << (8 * len);
        Value v;
        v.kind = Kind::Int;
        v.i = static_cast<int64_t>(u);
        push(make(std::move(v)));
        break;
      }
      case 'N':
        push(make_kind(Kind::None));
        break;
      case 0x88:
      case 0x89: {
        Value v;
        v.kind = Kind::Bool;
        v.i = op == 0x88;
        push(make(std::move(v)));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const uint8_t* b = take(8);
        uint64_t u = 0;
        for (int j = 0; j < 8; ++j) u = (u << 8) | b[j];
        Value v;
        v.kind = Kind::Float;
        std::memcpy(&v.f, &u, 8);
        push(make(std::move(v)));
        break;
      }
      case 'X':
        push(string_value(Kind::Str, le(4)));
        break;  // BINUNICODE
      case 0x8c:
        push(string_value(Kind::Str, le(1)));
        break;  // SHORT_BINUNICODE
      case 0x8d:
        push(string_value(Kind::Str, le(8)));
        break;  // BINUNICODE8
      case 'T':
        push(string_value(Kind::Str, le(4)));
        break;  // BINSTRING
      case 'U':
        push(string_value(Kind::Str, le(1)));
        break;  // SHORT_BINSTRING
      case 'B':
        push(string_value(Kind::Bytes, le(4)));
        break;  // BINBYTES
      case 'C':
        push(string_value(Kind::Bytes, le(1)));
        break;  // SHORT_BINBYTES
      case 0x8e:
        push(string_value(Kind::Bytes, le(8)));
        break;  // BINBYTES8
      case 'c':
      case 0x93: {  // GLOBAL, STACK_GLOBAL
        std::string module, name;
        if (op == 'c') {
          module = line();
          name = line();
        } else {
          size_t nm = pop(), mod = pop();
          if (at(nm).kind != Kind::Str || at(mod).kind != Kind::Str)
            fail("STACK_GLOBAL needs two strings");
          module = at(mod).s;
          name = at(nm).s;
        }
        std::string full = module + "." + name;
        bool ok = false;
        for (const char* g : kAllowedGlobals) ok = ok || full == g;
        for (const auto& st : kStorageTypes) ok = ok || full == st.name;
        if (!ok) fail("global " + full + " is not allowed in a state dict (refusing to load it)");
        Value v;
        v.kind = Kind::Global;
        v.s = full;
        push(make(std::move(v)));
        break;
      }
      case 'R': {
        size_t args = pop(), fn = pop();
        push(call(fn, args));
        break;
      }  // REDUCE
      case 0x81:
        fail("NEWOBJ is not allowed in a state dict");
      case 'b': {  // BUILD: only state on a dict (OrderedDict's _metadata), which we drop
        size_t state = pop();
        (void)state;
        if (at(top()).kind != Kind::Dict && at(top()).kind != Kind::Tensor)
          fail("BUILD on an object that is not a dict");
        break;
      }
      case 'q':
        memo_put(le(1), top());
        break;  // BINPUT
      case 'r':
        memo_put(le(4), top());
        break;  // LONG_BINPUT
      case 0x94:
        memo_put(memo_.size(), top());
        break;  // MEMOIZE
      case 'h':
        push(memo_get(le(1)));
        break;  // BINGET
      case 'j':
        push(memo_get(le(4)));
        break;  // LONG_BINGET
      case 'Q':
        push(persistent_load(pop()));
        break;  // BINPERSID
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported opcode ") + hex);
      }
    }
  }
}

}  // namespace

std::vector<PickledTensor> unpickle_state_dict(const uint8_t* data, size_t size,
                                               const std::string& where,
                                               const PickleLimits& limits) {
  return Unpickler(data, size, where, limits).run();
}

}  // namespace hfjit
