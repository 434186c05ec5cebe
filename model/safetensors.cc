#include "model/safetensors.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "model/file_util.h"

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace lightrl::model {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100u << 20;

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {{DType::kF64, "F64", 8}, {DType::kF32, "F32", 4},
                                 {DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2},
                                 {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
                                 {DType::kI16, "I16", 2}, {DType::kI8, "I8", 1},
                                 {DType::kU8, "U8", 1},   {DType::kBool, "BOOL", 1}};

const DTypeInfo& Info(DType dtype) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.dtype == dtype) return info;
  }
  return kDTypes[0];
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float value;
  if (exponent == 0) {
    value = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    value =
        mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    value = std::ldexp(static_cast<float>(mantissa | 0x400), static_cast<int>(exponent) - 25);
  }
  return sign ? -value : value;
}

float Bf16ToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

template <typename Raw>
Raw Load(const char* p) {
  Raw value;
  std::memcpy(&value, p, sizeof(Raw));
  return value;
}

StatusOr<std::vector<int64_t>> ParseShape(const Json& shape) {
  if (!shape.is_array()) return InvalidArgumentError("shape is not a list");
  std::vector<int64_t> dims;
  for (const Json& d : shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) {
      return InvalidArgumentError("shape entry " + d.dump() + " is not a non-negative integer");
    }
    dims.push_back(d.get<int64_t>());
  }
  return dims;
}

}  // namespace

std::string_view DTypeName(DType dtype) { return Info(dtype).name; }
size_t DTypeSize(DType dtype) { return Info(dtype).size; }

StatusOr<DType> ParseDType(std::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.name == name) return info.dtype;
  }
  return InvalidArgumentError("unknown dtype '" + std::string(name) + "'");
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

StatusOr<SafetensorsFile> SafetensorsFile::Read(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return Parse(std::move(bytes), path);
}

StatusOr<SafetensorsFile> SafetensorsFile::Parse(std::string bytes, const std::string& path) {
  if (bytes.size() < 8) {
    return DataLossError(path + ": truncated: " + std::to_string(bytes.size()) +
                         " bytes, shorter than the 8-byte header length");
  }
  const uint64_t header_len = Load<uint64_t>(bytes.data());
  if (header_len > kMaxHeaderBytes || header_len > bytes.size() - 8) {
    return DataLossError(path + ": truncated or corrupt: header length " +
                         std::to_string(header_len) + " but only " +
                         std::to_string(bytes.size() - 8) + " bytes follow");
  }
  const Json header =
      Json::parse(bytes.begin() + 8, bytes.begin() + 8 + header_len, nullptr, false);
  if (header.is_discarded() || !header.is_object()) {
    return DataLossError(path + ": bad header JSON (not a JSON object)");
  }
  SafetensorsFile file;
  file.path_ = path;
  file.data_start_ = 8 + header_len;
  const size_t data_size = bytes.size() - file.data_start_;
  for (const auto& [name, value] : header.items()) {
    const std::string where = path + ": tensor '" + name + "': ";
    if (name == "__metadata__") {
      if (!value.is_object()) return DataLossError(path + ": __metadata__ is not an object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string())
          return DataLossError(path + ": __metadata__ '" + key + "' is not a string");
        file.metadata_[key] = text.get<std::string>();
      }
      continue;
    }
    if (!value.is_object() || !value.contains("dtype") || !value["dtype"].is_string() ||
        !value.contains("shape") || !value.contains("data_offsets")) {
      return DataLossError(where + "entry needs dtype, shape and data_offsets");
    }
    TensorEntry entry;
    entry.name = name;
    auto dtype = ParseDType(value["dtype"].get<std::string>());
    if (!dtype.ok()) return DataLossError(where + std::string(dtype.status().message()));
    entry.dtype = *dtype;
    auto shape = ParseShape(value["shape"]);
    if (!shape.ok()) return DataLossError(where + std::string(shape.status().message()));
    entry.shape = *shape;
    const Json& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      return DataLossError(where + "data_offsets must be two non-negative integers");
    }
    entry.begin = offsets[0].get<uint64_t>();
    entry.end = offsets[1].get<uint64_t>();
    if (entry.begin > entry.end || entry.end > data_size) {
      return DataLossError(where + "data offsets [" + std::to_string(entry.begin) + ", " +
                           std::to_string(entry.end) + ") out of range: the data section has " +
                           std::to_string(data_size) + " bytes (truncated file?)");
    }
    const size_t expected = static_cast<size_t>(NumElements(entry.shape)) * DTypeSize(entry.dtype);
    if (entry.end - entry.begin != expected) {
      return DataLossError(where + std::to_string(entry.end - entry.begin) +
                           " bytes do not match shape " + ShapeToString(entry.shape) + " of " +
                           std::string(DTypeName(entry.dtype)));
    }
    file.entries_.push_back(std::move(entry));
  }
  file.bytes_ = std::move(bytes);
  return file;
}

const TensorEntry* SafetensorsFile::Find(std::string_view name) const {
  for (const TensorEntry& entry : entries_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

Status SafetensorsFile::TensorError(const TensorEntry& entry, std::string_view what) const {
  return InvalidArgumentError(path_ + ": tensor '" + entry.name + "': " + std::string(what));
}

StatusOr<const TensorEntry*> SafetensorsFile::Lookup(std::string_view name,
                                                     const std::vector<int64_t>& shape) const {
  const TensorEntry* entry = Find(name);
  if (entry == nullptr)
    return NotFoundError(path_ + ": missing tensor '" + std::string(name) + "'");
  if (entry->shape != shape) {
    return TensorError(
        *entry, "shape " + ShapeToString(entry->shape) + ", expected " + ShapeToString(shape));
  }
  return entry;
}

template <typename T>
Status SafetensorsFile::ReadFloats(std::string_view name, const std::vector<int64_t>& shape,
                                   T* out) const {
  ASSIGN_OR_RETURN(const TensorEntry* entry, Lookup(name, shape));
  const char* p = bytes_.data() + data_start_ + entry->begin;
  const int64_t n = NumElements(shape);
  switch (entry->dtype) {
    case DType::kF64:
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(Load<double>(p + 8 * i));
      return Status::Ok();
    case DType::kF32:
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(Load<float>(p + 4 * i));
      return Status::Ok();
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i)
        out[i] = static_cast<T>(HalfToFloat(Load<uint16_t>(p + 2 * i)));
      return Status::Ok();
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i)
        out[i] = static_cast<T>(Bf16ToFloat(Load<uint16_t>(p + 2 * i)));
      return Status::Ok();
    default:
      return TensorError(*entry,
                         "dtype " + std::string(DTypeName(entry->dtype)) + " is not a float type");
  }
}

Status SafetensorsFile::ReadInt64s(std::string_view name, const std::vector<int64_t>& shape,
                                   int64_t* out) const {
  ASSIGN_OR_RETURN(const TensorEntry* entry, Lookup(name, shape));
  const char* p = bytes_.data() + data_start_ + entry->begin;
  const int64_t n = NumElements(shape);
  if (entry->dtype == DType::kI64) {
    for (int64_t i = 0; i < n; ++i) out[i] = Load<int64_t>(p + 8 * i);
  } else if (entry->dtype == DType::kI32) {
    for (int64_t i = 0; i < n; ++i) out[i] = Load<int32_t>(p + 4 * i);
  } else {
    return TensorError(*entry,
                       "dtype " + std::string(DTypeName(entry->dtype)) + " is not I64 or I32");
  }
  return Status::Ok();
}

template Status SafetensorsFile::ReadFloats<float>(std::string_view, const std::vector<int64_t>&,
                                                   float*) const;
template Status SafetensorsFile::ReadFloats<double>(std::string_view, const std::vector<int64_t>&,
                                                    double*) const;

void SafetensorsWriter::Add(std::string name, DType dtype, std::vector<int64_t> shape,
                            const void* data) {
  tensors_.push_back({std::move(name), dtype, std::move(shape), data});
}

void SafetensorsWriter::SetMetadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

Status SafetensorsWriter::Write(const std::string& path) const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  std::vector<std::string_view> pieces(2);
  size_t offset = 0;
  for (const Pending& t : tensors_) {
    const size_t bytes = static_cast<size_t>(NumElements(t.shape)) * DTypeSize(t.dtype);
    header[t.name] = {{"dtype", DTypeName(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    pieces.emplace_back(static_cast<const char*>(t.data), bytes);
    offset += bytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  const uint64_t header_len = header_text.size();
  char length_bytes[8];
  std::memcpy(length_bytes, &header_len, 8);
  pieces[0] = std::string_view(length_bytes, 8);
  pieces[1] = header_text;
  return WriteFileAtomically(path, pieces);
}

}  // namespace lightrl::model
