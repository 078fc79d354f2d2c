#include "core/hdf5_util.h"

#include <algorithm>
#include <deque>
#include <limits>

#include "core/error.h"

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

std::string file_name(hid_t id) {
  const ssize_t n = H5Fget_name(id, nullptr, 0);
  if (n <= 0) return "(an HDF5 file)";
  std::string out(std::size_t(n) + 1, '\0');
  H5Fget_name(id, out.data(), out.size());
  out.resize(std::size_t(n));
  return out;
}

std::string object_name(hid_t id) {
  const ssize_t n = H5Iget_name(id, nullptr, 0);
  if (n <= 0) return "(a dataset)";
  std::string out(std::size_t(n) + 1, '\0');
  H5Iget_name(id, out.data(), out.size());
  out.resize(std::size_t(n));
  return out;
}

// The product of `dims` times `element_bytes`, or SIZE_MAX when it overflows.
std::size_t bytes_of(const hsize_t* dims, int rank, std::size_t element_bytes) {
  std::size_t bytes = element_bytes;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] != 0 && bytes > std::numeric_limits<std::size_t>::max() / dims[i]) return SIZE_MAX;
    bytes *= std::size_t(dims[i]);
  }
  return bytes;
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string out = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + "]";
}

}  // namespace

std::vector<hsize_t> checked_extent(const H5::DataSet& d, int rank, std::size_t element_bytes) {
  const std::string what = file_name(d.getId()) + ": " + object_name(d.getId());
  const H5::DataSpace space = d.getSpace();
  const int found = space.getSimpleExtentNdims();
  if (found != rank)
    throw IoError(what + " has " + std::to_string(found) + " dimensions, expected " + std::to_string(rank) +
                  " (corrupt or not written by vdlab)");
  std::vector<hsize_t> dims(std::size_t(rank), 0);
  if (rank > 0) space.getSimpleExtentDims(dims.data());

  hsize_t file_bytes = 0;
  const hid_t file = H5Iget_file_id(d.getId());
  if (file >= 0) {
    H5Fget_filesize(file, &file_bytes);
    H5Fclose(file);
  }
  constexpr std::size_t kDeflateLimit = 1032, kFloor = std::size_t(64) << 20;
  const std::size_t limit =
      std::max<std::size_t>(kFloor, file_bytes > SIZE_MAX / kDeflateLimit ? SIZE_MAX : std::size_t(file_bytes) * kDeflateLimit);
  const std::size_t bytes = bytes_of(dims.data(), rank, element_bytes);
  if (bytes > limit)
    throw IoError(what + " declares " + shape_text(dims) + " elements (" +
                  (bytes == SIZE_MAX ? std::string("more than 2^64") : std::to_string(bytes)) + " bytes), more than a file of " +
                  std::to_string(file_bytes) + " bytes can hold: corrupt");

  // HDF5 allocates a whole chunk to read any part of it: its declared size is checked the same way.
  const H5::DSetCreatPropList props = d.getCreatePlist();
  if (props.getLayout() == H5D_CHUNKED) {
    std::vector<hsize_t> chunk(std::size_t(std::max(rank, 1)), 0);
    const int chunk_rank = props.getChunk(int(chunk.size()), chunk.data());
    const std::size_t type_bytes = std::max<std::size_t>(d.getDataType().getSize(), element_bytes);
    if (chunk_rank != rank || bytes_of(chunk.data(), rank, type_bytes) > limit)
      throw IoError(what + ": storage chunks of " + shape_text(chunk) + " elements, more than a file of " +
                    std::to_string(file_bytes) + " bytes can hold: corrupt");
  }
  return dims;
}

bool has_attr(const H5::H5Object& obj, const std::string& name) { return obj.attrExists(name); }

void write_string_attr(H5::H5Object& obj, const std::string& name, const std::string& value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  const auto type = utf8_string();
  H5::Attribute a = obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
  const char* p = value.c_str();
  a.write(type, &p);
}

namespace {

// HDF5 reads every element of an attribute into the buffer given: an attribute holding a list where
// vdlab reads one value (a string array, a vector of numbers) would overrun it.
void check_single_value(const H5::Attribute& a, const std::string& name, H5T_class_t expected) {
  const H5::DataSpace space = a.getSpace();
  const H5S_class_t kind = space.getSimpleExtentType();
  if (kind == H5S_NULL || space.getSimpleExtentNpoints() != 1)
    throw IoError(file_name(a.getId()) + ": attribute '" + name + "' holds " +
                  (kind == H5S_NULL ? std::string("no value") : std::to_string(space.getSimpleExtentNpoints()) + " values") +
                  ", expected one (corrupt or not written by vdlab)");
  const H5T_class_t found = a.getTypeClass();
  const bool numeric = found == H5T_INTEGER || found == H5T_FLOAT;
  if (expected == H5T_STRING ? found != H5T_STRING : !numeric)
    throw IoError(file_name(a.getId()) + ": attribute '" + name + "' is not " +
                  (expected == H5T_STRING ? "text" : "a number") + " (corrupt or not written by vdlab)");
}

}  // namespace

std::string read_string_attr(const H5::H5Object& obj, const std::string& name) {
  H5::Attribute a = obj.openAttribute(name);
  check_single_value(a, name, H5T_STRING);
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
  H5::Attribute a = obj.openAttribute(name);
  check_single_value(a, name, H5T_FLOAT);
  a.read(H5::PredType::NATIVE_DOUBLE, &v);
  return v;
}

void write_int_attr(H5::H5Object& obj, const std::string& name, std::int64_t value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  obj.createAttribute(name, H5::PredType::NATIVE_INT64, H5::DataSpace(H5S_SCALAR))
      .write(H5::PredType::NATIVE_INT64, &value);
}

std::int64_t read_int_attr(const H5::H5Object& obj, const std::string& name) {
  std::int64_t v = 0;
  H5::Attribute a = obj.openAttribute(name);
  check_single_value(a, name, H5T_INTEGER);
  a.read(H5::PredType::NATIVE_INT64, &v);
  return v;
}

void write_doubles(H5::Group& g, const std::string& name, const std::vector<double>& values) {
  const hsize_t n = values.size();
  H5::DataSet d = g.createDataSet(name, H5::PredType::NATIVE_DOUBLE, H5::DataSpace(1, &n));
  if (n) d.write(values.data(), H5::PredType::NATIVE_DOUBLE);
}

std::vector<double> read_doubles(const H5::Group& g, const std::string& name) {
  H5::DataSet d = g.openDataSet(name);
  const hsize_t n = checked_extent(d, 1, sizeof(double))[0];
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
  const hsize_t n = checked_extent(d, 1, sizeof(std::int32_t))[0];
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
  // The pointers, and at least one byte of each string.
  const hsize_t n = checked_extent(d, 1, sizeof(char*) + 1)[0];
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
