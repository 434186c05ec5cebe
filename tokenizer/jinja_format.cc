#include "tokenizer/jinja_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "tokenizer/jinja_text.h"

namespace lightrl::jinja {
namespace {

std::string Hex(uint32_t value, int width, char prefix) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "\\%c%0*x", prefix, width, value);
  return buffer;
}

// Code points Python's str.isprintable() rejects, above ASCII: Latin-1 controls and the
// no-break space, the soft hyphen, the other space separators and the format characters that
// chat text meets.
bool PrintableAboveAscii(uint32_t c) {
  if (c <= 0xA0 || c == 0xAD) return false;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F)) return false;
  if ((c >= 0x205F && c <= 0x2064) || c == 0x3000 || c == 0xFEFF) return false;
  return true;
}

std::string StringRepr(const std::string& text) {
  const char quote =
      text.find('\'') != std::string::npos && text.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (std::string_view cp : CodePoints(text)) {
    const uint32_t c = DecodeCodePoint(cp);
    if (c == static_cast<uint32_t>(quote) || c == '\\') {
      out += '\\';
      out += cp;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !PrintableAboveAscii(c))) {
      out += c <= 0xFF ? Hex(c, 2, 'x') : Hex(c, 4, 'u');
    } else {
      out += cp;
    }
  }
  out += quote;
  return out;
}

std::string JsonString(const std::string& text, bool ensure_ascii) {
  std::string out = "\"";
  for (std::string_view cp : CodePoints(text)) {
    const uint32_t c = DecodeCodePoint(cp);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
      if (c > 0xFFFF) {
        out += Hex(0xD800 + ((c - 0x10000) >> 10), 4, 'u');
        out += Hex(0xDC00 + ((c - 0x10000) & 0x3FF), 4, 'u');
      } else {
        out += Hex(c, 4, 'u');
      }
    } else {
      out += cp;
    }
  }
  return out + "\"";
}

// repr, with `top` telling str() (undefined prints as "") from a nested repr.
std::string Format(const Value& value, bool top) {
  switch (value.kind()) {
    case Value::Kind::kUndefined:
      return top ? "" : "Undefined";
    case Value::Kind::kNone:
      return "None";
    case Value::Kind::kBool:
      return value.as_bool() ? "True" : "False";
    case Value::Kind::kInt:
      return std::to_string(value.as_int());
    case Value::Kind::kFloat:
      return FloatRepr(value.as_float());
    case Value::Kind::kString:
      return top ? value.as_string() : StringRepr(value.as_string());
    case Value::Kind::kList: {
      const List& list = value.as_list();
      std::string out = list.is_tuple ? "(" : "[";
      for (size_t i = 0; i < list.items.size(); ++i) {
        if (i > 0) out += ", ";
        out += Format(list.items[i], false);
      }
      if (list.is_tuple && list.items.size() == 1) out += ",";
      return out + (list.is_tuple ? ")" : "]");
    }
    case Value::Kind::kDict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, item] : value.as_dict().entries) {
        if (!first) out += ", ";
        first = false;
        out += StringRepr(key) + ": " + Format(item, false);
      }
      return out + "}";
    }
    case Value::Kind::kNamespace: {
      std::string out = "<Namespace {";
      bool first = true;
      for (const auto& [key, item] : value.as_namespace().attributes) {
        if (!first) out += ", ";
        first = false;
        out += StringRepr(key) + ": " + Format(item, false);
      }
      return out + "}>";
    }
    case Value::Kind::kCallable:
      return "<function " + value.as_callable().Name() + ">";
  }
  return "";
}

Status Dump(const Value& value, const JsonOptions& options,
            const std::pair<std::string, std::string>& separators, int depth, std::string& out) {
  auto newline = [&](int level) {
    if (!options.indent) return;
    out += '\n';
    for (int i = 0; i < level; ++i) out += *options.indent;
  };
  switch (value.kind()) {
    case Value::Kind::kNone:
      out += "null";
      return Status::Ok();
    case Value::Kind::kBool:
      out += value.as_bool() ? "true" : "false";
      return Status::Ok();
    case Value::Kind::kInt:
      out += std::to_string(value.as_int());
      return Status::Ok();
    case Value::Kind::kFloat: {
      const double f = value.as_float();
      out += std::isnan(f)   ? "NaN"
             : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity")
                             : FloatRepr(f);
      return Status::Ok();
    }
    case Value::Kind::kString:
      out += JsonString(value.as_string(), options.ensure_ascii);
      return Status::Ok();
    case Value::Kind::kList: {
      const std::vector<Value>& items = value.as_list().items;
      if (items.empty()) {
        out += "[]";
        return Status::Ok();
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += separators.first;
        newline(depth + 1);
        RETURN_IF_ERROR(Dump(items[i], options, separators, depth + 1, out));
      }
      newline(depth);
      out += ']';
      return Status::Ok();
    }
    case Value::Kind::kDict: {
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& entry : value.as_dict().entries) entries.push_back(&entry);
      if (entries.empty()) {
        out += "{}";
        return Status::Ok();
      }
      if (options.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](auto* a, auto* b) { return a->first < b->first; });
      }
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += separators.first;
        newline(depth + 1);
        out += JsonString(entries[i]->first, options.ensure_ascii) + separators.second;
        RETURN_IF_ERROR(Dump(entries[i]->second, options, separators, depth + 1, out));
      }
      newline(depth);
      out += '}';
      return Status::Ok();
    }
    default:
      return InvalidArgumentError("Object of type " + value.TypeName() +
                                  " is not JSON serializable");
  }
}

}  // namespace

std::string FloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  const std::string_view text(buffer, result.ptr - buffer);  // "-d.ddde+XX"
  const bool negative = text[0] == '-';
  const size_t e = text.find('e');
  std::string digits;
  for (char c : text.substr(negative ? 1 : 0, e - (negative ? 1 : 0))) {
    if (c != '.') digits += c;
  }
  const int exponent = std::stoi(std::string(text.substr(e + 1)));
  const int point = exponent + 1;  // Digits before the decimal point.
  const int count = static_cast<int>(digits.size());
  std::string out = negative ? "-" : "";
  if (point > -4 && point <= 16) {
    if (point <= 0) {
      out += "0." + std::string(-point, '0') + digits;
    } else if (point >= count) {
      out += digits + std::string(point - count, '0') + ".0";
    } else {
      out += digits.substr(0, point) + "." + digits.substr(point);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (count > 1) out += "." + digits.substr(1);
  char exp[16];
  std::snprintf(exp, sizeof(exp), "e%c%02d", point - 1 < 0 ? '-' : '+', std::abs(point - 1));
  return out + exp;
}

std::string ToStr(const Value& value) { return Format(value, true); }

std::string ToRepr(const Value& value) { return Format(value, false); }

StatusOr<std::string> ToJson(const Value& value, const JsonOptions& options) {
  std::pair<std::string, std::string> separators =
      options.separators.value_or(std::make_pair(options.indent ? "," : ", ", ": "));
  std::string out;
  RETURN_IF_ERROR(Dump(value, options, separators, 0, out));
  return out;
}

}  // namespace lightrl::jinja
