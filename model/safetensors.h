// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
// header, then the raw little-endian tensor data. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data section)
// and may hold "__metadata__": {string: string}.
//
// The reader checks the whole header before it returns: a truncated file, a header that
// is not JSON, an unknown dtype, a malformed shape, data offsets outside the data section
// or a byte size that does not match shape × dtype are errors that name the file and the
// tensor. Lookups check the expected shape and dtype and name the tensor on a mismatch.
// Thread-safety: a SafetensorsFile is immutable after Read; a writer is single-threaded.
#ifndef LIGHTRL_MODEL_SAFETENSORS_H_
#define LIGHTRL_MODEL_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lightrl::model {

enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

std::string_view DTypeName(DType dtype);
size_t DTypeSize(DType dtype);
// InvalidArgument for a name that is not one of the dtypes above.
StatusOr<DType> ParseDType(std::string_view name);

std::string ShapeToString(const std::vector<int64_t>& shape);
int64_t NumElements(const std::vector<int64_t>& shape);

struct TensorEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  size_t begin = 0;  // byte offsets in the data section
  size_t end = 0;
};

class SafetensorsFile {
 public:
  // Reads and validates `path`.
  static StatusOr<SafetensorsFile> Read(const std::string& path);
  // Validates bytes that came from `path` (used in error messages).
  static StatusOr<SafetensorsFile> Parse(std::string bytes, const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<TensorEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Null if there is no tensor `name`.
  const TensorEntry* Find(std::string_view name) const;

  // Copies tensor `name` into out (NumElements(shape) values), converting F64/F32/F16/BF16.
  // NotFound if missing; InvalidArgument on a shape mismatch or a non-float dtype.
  template <typename T>
  Status ReadFloats(std::string_view name, const std::vector<int64_t>& shape, T* out) const;

  // Copies an I64 (or I32) tensor into out. Same errors as ReadFloats.
  Status ReadInt64s(std::string_view name, const std::vector<int64_t>& shape, int64_t* out) const;

 private:
  StatusOr<const TensorEntry*> Lookup(std::string_view name,
                                      const std::vector<int64_t>& shape) const;
  Status TensorError(const TensorEntry& entry, std::string_view what) const;

  std::string path_;
  std::string bytes_;
  size_t data_start_ = 0;
  std::vector<TensorEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Collects tensors and writes one safetensors file. The data pointers must stay valid
// until Write returns; nothing is copied before then.
class SafetensorsWriter {
 public:
  void Add(std::string name, DType dtype, std::vector<int64_t> shape, const void* data);
  void SetMetadata(std::string key, std::string value);
  // Writes atomically (see file_util.h). Tensors keep the order of Add.
  Status Write(const std::string& path) const;

 private:
  struct Pending {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    const void* data;
  };
  std::vector<Pending> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace lightrl::model

#endif  // LIGHTRL_MODEL_SAFETENSORS_H_
