#include "core/hdf5_util.h"

#include <deque>

namespace vdlab::h5 {

namespace {

// The C++ API's exceptions say only which C call failed ("H5Fclose failed"); why (a full disk, a
// truncated file) is in the error stack, which the C++ objects' destructors clear while the exception
// unwinds. So the stack is read when the error happens, by HDF5's automatic error handler, and kept
// per thread: the API function that failed and its innermost message.
struct Recorded {
  std::string api, reason;
};
thread_local std::deque<Recorded> recorded;

herr_t record_frame(unsigned n, const H5E_error2_t* err, void* data) {
  auto* r = static_cast<Recorded*>(data);
  if (n == 0 && err->desc) r->reason = err->desc;  // walked upward: the innermost frame first
  if (err->func_name) r->api = err->func_name;     // ... and the API function last
  return 0;
}

herr_t record_error(hid_t stack, void*) {
  Recorded r;
  H5Ewalk2(stack, H5E_WALK_UPWARD, record_frame, &r);
  recorded.push_back(std::move(r));
  if (recorded.size() > 8) recorded.pop_front();
  return 0;
}

// A failed read or write records the system's message inside its description:
// "file write failed: ..., errno = 28, error message = 'No space left on device', ...".
std::string short_reason(const std::string& reason) {
  const std::string tag = "error message = '";
  const auto at = reason.find(tag);
  if (at != std::string::npos) {
    const auto end = reason.find('\'', at + tag.size());
    if (end != std::string::npos) return reason.substr(at + tag.size(), end - at - tag.size());
  }
  return reason.size() > 200 ? reason.substr(0, 200) + "..." : reason;
}

}  // namespace

void quiet() { H5Eset_auto2(H5E_DEFAULT, record_error, nullptr); }

std::string describe(const H5::Exception& e) {
  const std::string detail = e.getDetailMsg();
  for (auto it = recorded.rbegin(); it != recorded.rend(); ++it)
    if (!it->api.empty() && detail.find(it->api) != std::string::npos && !it->reason.empty())
      return detail + ": " + short_reason(it->reason);
  return detail;
}

namespace {
H5::StrType utf8_string() {
  H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
  t.setCset(H5T_CSET_UTF8);
  return t;
}
}  // namespace

bool has_attr(const H5::H5Object& obj, const std::string& name) { return obj.attrExists(name); }

void write_string_attr(H5::H5Object& obj, const std::string& name, const std::string& value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  const auto type = utf8_string();
  H5::Attribute a = obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
  const char* p = value.c_str();
  a.write(type, &p);
}

std::string read_string_attr(const H5::H5Object& obj, const std::string& name) {
  H5::Attribute a = obj.openAttribute(name);
  std::string out;
  a.read(a.getStrType(), out);
  return out;
}

void write_double_attr(H5::H5Object& obj, const std::string& name, double value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  obj.createAttribute(name, H5::PredType::NATIVE_DOUBLE, H5::DataSpace(H5S_SCALAR))
      .write(H5::PredType::NATIVE_DOUBLE, &value);
}

double read_double_attr(const H5::H5Object& obj, const std::string& name) {
  double v = 0;
  obj.openAttribute(name).read(H5::PredType::NATIVE_DOUBLE, &v);
  return v;
}

void write_int_attr(H5::H5Object& obj, const std::string& name, std::int64_t value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  obj.createAttribute(name, H5::PredType::NATIVE_INT64, H5::DataSpace(H5S_SCALAR))
      .write(H5::PredType::NATIVE_INT64, &value);
}

std::int64_t read_int_attr(const H5::H5Object& obj, const std::string& name) {
  std::int64_t v = 0;
  obj.openAttribute(name).read(H5::PredType::NATIVE_INT64, &v);
  return v;
}

void write_doubles(H5::Group& g, const std::string& name, const std::vector<double>& values) {
  const hsize_t n = values.size();
  H5::DataSet d = g.createDataSet(name, H5::PredType::NATIVE_DOUBLE, H5::DataSpace(1, &n));
  if (n) d.write(values.data(), H5::PredType::NATIVE_DOUBLE);
}

std::vector<double> read_doubles(const H5::Group& g, const std::string& name) {
  H5::DataSet d = g.openDataSet(name);
  hsize_t n = 0;
  d.getSpace().getSimpleExtentDims(&n);
  std::vector<double> out(n);
  if (n) d.read(out.data(), H5::PredType::NATIVE_DOUBLE);
  return out;
}

void write_ints(H5::Group& g, const std::string& name, const std::vector<std::int32_t>& values) {
  const hsize_t n = values.size();
  H5::DataSet d = g.createDataSet(name, H5::PredType::NATIVE_INT32, H5::DataSpace(1, &n));
  if (n) d.write(values.data(), H5::PredType::NATIVE_INT32);
}

std::vector<std::int32_t> read_ints(const H5::Group& g, const std::string& name) {
  H5::DataSet d = g.openDataSet(name);
  hsize_t n = 0;
  d.getSpace().getSimpleExtentDims(&n);
  std::vector<std::int32_t> out(n);
  if (n) d.read(out.data(), H5::PredType::NATIVE_INT32);
  return out;
}

void write_strings(H5::Group& g, const std::string& name, const std::vector<std::string>& values) {
  const hsize_t n = values.size();
  const auto type = utf8_string();
  H5::DataSet d = g.createDataSet(name, type, H5::DataSpace(1, &n));
  std::vector<const char*> ptrs;
  for (const auto& s : values) ptrs.push_back(s.c_str());
  if (n) d.write(ptrs.data(), type);
}

std::vector<std::string> read_strings(const H5::Group& g, const std::string& name) {
  H5::DataSet d = g.openDataSet(name);
  hsize_t n = 0;
  d.getSpace().getSimpleExtentDims(&n);
  std::vector<char*> ptrs(n, nullptr);
  const auto type = utf8_string();
  if (n) d.read(ptrs.data(), type);
  std::vector<std::string> out;
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  if (n) H5Dvlen_reclaim(type.getId(), d.getSpace().getId(), H5P_DEFAULT, ptrs.data());
  return out;
}

void write_bytes(H5::Group& g, const std::string& name, const std::vector<hsize_t>& shape, const std::uint8_t* data) {
  H5::DSetCreatPropList props;
  std::vector<hsize_t> chunk = shape;
  if (!chunk.empty()) chunk[0] = 1;
  bool empty = false;
  for (auto s : shape) empty |= s == 0;
  if (!empty) {
    props.setChunk(int(chunk.size()), chunk.data());
    props.setShuffle();
    props.setDeflate(4);
  }
  H5::DataSet d = g.createDataSet(name, H5::PredType::NATIVE_UINT8, H5::DataSpace(int(shape.size()), shape.data()), props);
  if (!empty) d.write(data, H5::PredType::NATIVE_UINT8);
}

std::string link_name(const std::string& key) {
  std::string out = key;
  for (char& c : out)
    if (c == '/') c = '|';
  return out == "." ? "_" : out;
}

}  // namespace vdlab::h5
