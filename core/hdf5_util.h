#pragma once
// Small helpers over the HDF5 C++ API shared by the cell, sweep and clip-store files: string attributes
// (UTF-8, variable length, readable by h5py as str), scalar attributes, and chunked compressed arrays.
#include <H5Cpp.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vdlab::h5 {

// Turns off the library's own error printing; errors surface as exceptions that name the file. The
// reason HDF5 records deep in its error stack is kept for describe().
void quiet();
// One line for an HDF5 failure: the failing call and, where HDF5 recorded one, the innermost reason
// ("H5Fclose failed: No space left on device", "H5Fopen failed: truncated file: eof = ...").
std::string describe(const H5::Exception& e);

void write_string_attr(H5::H5Object& obj, const std::string& name, const std::string& value);
std::string read_string_attr(const H5::H5Object& obj, const std::string& name);
void write_double_attr(H5::H5Object& obj, const std::string& name, double value);
double read_double_attr(const H5::H5Object& obj, const std::string& name);
void write_int_attr(H5::H5Object& obj, const std::string& name, std::int64_t value);
std::int64_t read_int_attr(const H5::H5Object& obj, const std::string& name);
bool has_attr(const H5::H5Object& obj, const std::string& name);

void write_doubles(H5::Group& g, const std::string& name, const std::vector<double>& values);
std::vector<double> read_doubles(const H5::Group& g, const std::string& name);
void write_ints(H5::Group& g, const std::string& name, const std::vector<std::int32_t>& values);
std::vector<std::int32_t> read_ints(const H5::Group& g, const std::string& name);
void write_strings(H5::Group& g, const std::string& name, const std::vector<std::string>& values);
std::vector<std::string> read_strings(const H5::Group& g, const std::string& name);
// uint8 array of any shape, chunked per first-axis item, shuffled and deflated.
void write_bytes(H5::Group& g, const std::string& name, const std::vector<hsize_t>& shape, const std::uint8_t* data);

// The extent of dataset `d`, checked before anything is allocated to read it: the sizes come from the
// file, and a corrupt file can declare any. It must have `rank` dimensions, and its bytes in memory
// (`element_bytes` per element), and those of one storage chunk, must be bytes the file can hold: real
// data is in the file, deflated at most 1032:1 (deflate's limit), so more than 1032 times the file's
// size is a corrupt file, not data (64 MiB at least, so that a small dataset never written, which
// reads as its fill value, stays readable). Throws IoError naming the file and the dataset.
std::vector<hsize_t> checked_extent(const H5::DataSet& d, int rank, std::size_t element_bytes);

// A name usable as an HDF5 link ('/' is the only character HDF5 forbids; '.' alone is reserved).
std::string link_name(const std::string& key);

}  // namespace vdlab::h5
