#pragma once
// The element types a checkpoint can hold, named as safetensors names them.

#include <cstddef>
#include <string>

namespace hfjit {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "F32", ...
// Parses a safetensors dtype name; throws Error naming `where` when unknown.
DType parse_dtype(const std::string& name, const std::string& where);

}  // namespace hfjit
