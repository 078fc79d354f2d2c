// libFuzzer's custom mutator for the HDF5 targets (clip_store, cell_file): each input is a well-formed
// HDF5 file, and each mutation changes what the file holds, through the HDF5 library, the way a file
// from another program, an older or newer vdlab, or a half-finished edit would differ: an attribute's
// text (mutated by libFuzzer's own byte mutations, so JSON and format strings get fuzzed), an
// attribute's type, a dataset's rank, extent, element type, chunking or data, a missing object, a group
// where a dataset belongs, an extra object.
//
// Why not bytes: libhdf5 1.10.8 (Debian 12) itself crashes or hangs on corrupted metadata (a corrupt
// global-heap reference: SEGV or an endless loop in H5HG_read within seconds of byte-level fuzzing),
// which no reader built on it can prevent. vdlab's part, what it does with whatever a readable file
// holds, is what these targets fuzz. fuzz/README.md says more.
#include <H5Cpp.h>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz/hdf5_mutator.h"

#include "core/hdf5_util.h"
#include "fuzz/scratch.h"

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace vdlab::fuzz {
namespace {

struct Object {
  std::string path;
  bool is_group;
};

void walk(const H5::Group& g, const std::string& path, std::vector<Object>& out) {
  for (hsize_t i = 0; i < g.getNumObjs(); ++i) {
    const std::string name = g.getObjnameByIdx(i);
    const std::string child = (path == "/" ? "/" : path + "/") + name;
    const H5G_obj_t type = g.getObjTypeByIdx(i);
    if (type == H5G_GROUP) {
      out.push_back({child, true});
      walk(g.openGroup(name), child, out);
    } else if (type == H5G_DATASET) {
      out.push_back({child, false});
    }
  }
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}
std::string leaf_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string mutated_text(std::string text, std::mt19937& rng) {
  static const char* const kTexts[] = {"vdlab-cell/1", "vdlab-clips/1", "vdlab-samples/1", "{}", "[]", "null",
                                       "{\"a\": [1, 2, {\"b\": null}]}", "1e999", "\"", "", "{\"name\": \"mm\"}"};
  if (rng() % 4 == 0) return kTexts[rng() % std::size(kTexts)];
  if (text.empty()) text = "x";
  std::vector<std::uint8_t> bytes(text.begin(), text.end());
  const std::size_t max = std::max<std::size_t>(64, bytes.size() * 2);
  bytes.resize(max);
  bytes.resize(LLVMFuzzerMutate(bytes.data(), text.size(), max));
  return std::string(bytes.begin(), bytes.end());
}

H5::DataType pick_type(std::mt19937& rng) {
  switch (rng() % 7) {
    case 0: return H5::PredType::NATIVE_UINT8;
    case 1: return H5::PredType::NATIVE_INT32;
    case 2: return H5::PredType::NATIVE_INT64;
    case 3: return H5::PredType::NATIVE_DOUBLE;
    case 4: return H5::PredType::NATIVE_FLOAT;
    case 5: return H5::StrType(H5::PredType::C_S1, 8);
    default: {
      H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
      t.setCset(H5T_CSET_UTF8);
      return t;
    }
  }
}

hsize_t pick_extent(std::mt19937& rng) {
  static const hsize_t kSizes[] = {0, 1, 1, 2, 2, 3, 3, 4, 5, 8, 16, 255, 65536, hsize_t(1) << 31, hsize_t(1) << 40};
  return kSizes[rng() % std::size(kSizes)];
}

// Fills a freshly created dataset of `count` elements with bytes (numbers) or short strings.
void fill(H5::DataSet& d, const H5::DataType& type, hsize_t count, std::mt19937& rng) {
  if (type.getClass() == H5T_STRING) {
    std::vector<std::string> texts(count);
    for (auto& t : texts) t = mutated_text("a red circle", rng);
    if (type.isVariableStr()) {
      std::vector<const char*> ptrs;
      for (const auto& t : texts) ptrs.push_back(t.c_str());
      d.write(ptrs.data(), type);
    } else {
      std::vector<char> flat(count * type.getSize(), 0);
      for (hsize_t i = 0; i < count; ++i)
        std::memcpy(&flat[i * type.getSize()], texts[i].data(), std::min<std::size_t>(texts[i].size(), type.getSize()));
      d.write(flat.data(), type);
    }
    return;
  }
  std::vector<std::uint8_t> bytes(count * type.getSize());
  for (auto& b : bytes) b = std::uint8_t(rng() % 4 == 0 ? 0 : rng());
  d.write(bytes.data(), type);
}

// A new dataset at `path` (what was there is unlinked first): rank, extent, type and chunking drawn,
// often close to the old shape; written when small, else left to its fill value.
void replace_dataset(H5::H5File& file, const std::string& path, std::mt19937& rng) {
  std::vector<hsize_t> dims;
  if (file.nameExists(path) && file.childObjType(path) == H5O_TYPE_DATASET) {
    H5::DataSet old = file.openDataSet(path);
    const int rank = old.getSpace().getSimpleExtentNdims();
    dims.resize(std::size_t(std::max(rank, 0)));
    if (rank > 0) old.getSpace().getSimpleExtentDims(dims.data());
  }
  if (file.nameExists(path)) file.unlink(path);
  switch (rng() % 4) {
    case 0:  // another rank
      dims.resize(rng() % 7);
      for (auto& d : dims) d = pick_extent(rng);
      break;
    default:  // one extent changed
      if (dims.empty()) dims.push_back(pick_extent(rng));
      dims[rng() % dims.size()] = pick_extent(rng);
  }
  const H5::DataType type = pick_type(rng);
  hsize_t count = 1;
  bool huge = false;
  for (auto d : dims) {
    huge = huge || (d != 0 && count > (hsize_t(1) << 20) / d);
    count = huge ? 0 : count * d;
  }
  H5::DSetCreatPropList props;
  const bool any_zero = std::find(dims.begin(), dims.end(), 0) != dims.end();
  if (!dims.empty() && !any_zero && (huge || rng() % 2)) {
    std::vector<hsize_t> chunk = dims;
    for (auto& c : chunk) c = std::min<hsize_t>(c, rng() % 3 == 0 ? c : 1 + rng() % 4);
    props.setChunk(int(chunk.size()), chunk.data());
  }
  const H5::DataSpace space = dims.empty() ? H5::DataSpace(H5S_SCALAR) : H5::DataSpace(int(dims.size()), dims.data());
  H5::DataSet d = file.createDataSet(path, type, space, props);
  if (!huge && count > 0 && count <= 4096 && rng() % 4) fill(d, type, count, rng);
}

void replace_attribute(H5::H5Object& obj, const std::string& name, std::mt19937& rng) {
  std::string old;
  if (obj.attrExists(name)) {
    try {
      old = h5::read_string_attr(obj, name);
    } catch (const H5::Exception&) {
    } catch (const std::exception&) {  // not text: the mutation starts from nothing
    }
  }
  const unsigned kind = rng() % 8;
  if (obj.attrExists(name)) obj.removeAttr(name);
  switch (kind) {
    case 0: return;  // missing
    case 1: h5::write_int_attr(obj, name, std::int64_t(rng() % 3) - 1); return;
    case 2: h5::write_double_attr(obj, name, rng() % 2 ? 1e308 * 10 : 0.5); return;
    case 3: {  // an array of two strings where one is expected
      H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
      const hsize_t two = 2;
      const char* values[2] = {"vdlab-cell/1", "{}"};
      obj.createAttribute(name, t, H5::DataSpace(1, &two)).write(t, values);
      return;
    }
    case 4: {  // fixed-length text
      H5::StrType t(H5::PredType::C_S1, 12);
      char value[12] = "vdlab-cell/";
      obj.createAttribute(name, t, H5::DataSpace(H5S_SCALAR)).write(t, value);
      return;
    }
    default: h5::write_string_attr(obj, name, mutated_text(old, rng)); return;
  }
}

void mutate_file(H5::H5File& file, std::mt19937& rng) {
  std::vector<Object> objects = {{"/", true}};
  walk(file.openGroup("/"), "/", objects);
  static const char* const kNames[] = {"videos", "labels", "captions", "ids", "samples", "metrics", "per_sample",
                                       "format", "id", "hash", "config", "provenance", "stats", "timings", "inputs",
                                       "scored", "key", "value", "higher_is_better", "skipped", "skip_reason",
                                       "protocol", "source"};
  const Object& target = objects[rng() % objects.size()];
  switch (rng() % 10) {
    case 0:
    case 1:
    case 2:
    case 3: {  // an attribute: text mutated, type changed, removed, or a new one
      H5::Group g;
      H5::DataSet d;
      H5::H5Object* obj = nullptr;
      if (target.is_group) g = file.openGroup(target.path), obj = &g;
      else d = file.openDataSet(target.path), obj = &d;
      std::string name = kNames[rng() % std::size(kNames)];
      if (obj->getNumAttrs() > 0 && rng() % 4) name = obj->openAttribute(unsigned(rng() % obj->getNumAttrs())).getName();
      replace_attribute(*obj, name, rng);
      return;
    }
    case 4:
    case 5:
    case 6: {  // a dataset: replaced by another shape or type
      std::string path = target.path;
      if (target.is_group) path = (target.path == "/" ? "/" : target.path + "/") + kNames[rng() % 7];
      if (file.nameExists(path) && file.childObjType(path) == H5O_TYPE_GROUP) return;
      replace_dataset(file, path, rng);
      return;
    }
    case 7:  // an object missing
      if (target.path != "/") file.unlink(target.path);
      return;
    case 8:  // a group where a dataset was, or a new group
      if (target.path != "/" && !target.is_group) {
        file.unlink(target.path);
        file.createGroup(target.path);
      } else if (target.is_group) {
        const std::string path = (target.path == "/" ? "/" : target.path + "/") + kNames[rng() % std::size(kNames)];
        if (!file.nameExists(path)) file.createGroup(path);
      }
      return;
    default: {  // a copy of an object under another name (a second metric, a duplicate)
      if (target.path == "/") return;
      const std::string path = parent_of(target.path) + "/" + leaf_of(target.path) + "_" + std::to_string(rng() % 4);
      if (!file.nameExists(path)) H5Ocopy(file.getId(), target.path.c_str(), file.getId(), path.c_str(), H5P_DEFAULT, H5P_DEFAULT);
      return;
    }
  }
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

std::size_t mutate_hdf5(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned seed) {
  h5::quiet();
  std::mt19937 rng(seed);
  const std::string path = write_scratch_file("mutate.h5", data, size);
  try {
    H5::H5File file(path, H5F_ACC_RDWR);
    const int mutations = 1 + int(rng() % 3);
    for (int i = 0; i < mutations; ++i) mutate_file(file, rng);
    file.close();
  } catch (const H5::Exception&) {
    // Not every drawn change is possible (a chunk larger than its dataset, a name taken): the file
    // keeps the changes made before it, still well-formed.
  } catch (const std::exception&) {
    // The same for what vdlab's helpers refuse to read (an attribute that is not text).
  }
  const std::vector<std::uint8_t> out = read_bytes(path);
  if (out.empty() || out.size() > max_size) return size;
  std::copy(out.begin(), out.end(), data);
  return out.size();
}

}  // namespace vdlab::fuzz
