// Malformed safetensors: every kind of damage gives one clear error naming the file and the
// problem, never a crash; random corruption of a valid file never crashes either.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/hf/safetensors.h"
#include "automodel/hf/safetensors_writer.h"
#include "test_util.h"

namespace automodel::hf {
namespace {

using automodel::testing::TempDir;

std::string with_header(const std::string& header, size_t data_bytes, int64_t claimed_len = -1) {
  std::string out(8, '\0');
  uint64_t len = claimed_len >= 0 ? static_cast<uint64_t>(claimed_len) : header.size();
  std::memcpy(out.data(), &len, 8);
  return out + header + std::string(data_bytes, '\x01');
}

std::string open_error(const TempDir& dir, const std::string& bytes) {
  auto path = dir / "bad.safetensors";
  write_file_atomic(path, bytes);
  try {
    SafetensorsFile::open(path);
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << "error does not name the file: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "error is not one line: " << msg;
    return msg;
  }
  ADD_FAILURE() << "no error for malformed file";
  return "";
}

#define EXPECT_ERROR_MENTIONS(bytes, fragment)                                  \
  do {                                                                          \
    TempDir dir;                                                                \
    auto msg = open_error(dir, bytes);                                          \
    EXPECT_NE(msg.find(fragment), std::string::npos) << "message: " << msg;     \
  } while (0)

TEST(SafetensorsMalformed, FileShorterThanLengthPrefix) { EXPECT_ERROR_MENTIONS(std::string("abc"), "at least 8"); }

TEST(SafetensorsMalformed, HeaderLengthBeyondFile) {
  EXPECT_ERROR_MENTIONS(with_header("{}", 0, 4096), "exceeds the file");
}

TEST(SafetensorsMalformed, TruncatedData) {
  EXPECT_ERROR_MENTIONS(with_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8), "out of range");
}

TEST(SafetensorsMalformed, HeaderNotJson) { EXPECT_ERROR_MENTIONS(with_header("{not json", 0), "not valid JSON"); }

TEST(SafetensorsMalformed, HeaderNotAnObject) { EXPECT_ERROR_MENTIONS(with_header("[1,2]", 0), "must be a JSON object"); }

TEST(SafetensorsMalformed, OffsetsOutOfRange) {
  EXPECT_ERROR_MENTIONS(with_header(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[100,104]}})", 4), "out of range");
}

TEST(SafetensorsMalformed, OffsetsReversed) {
  EXPECT_ERROR_MENTIONS(with_header(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", 4), "out of range");
}

TEST(SafetensorsMalformed, OverlappingTensors) {
  EXPECT_ERROR_MENTIONS(with_header(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},
                                       "b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", 8), "overlap");
}

TEST(SafetensorsMalformed, ShapeTimesDtypeDiffersFromByteCount) {
  EXPECT_ERROR_MENTIONS(with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "needs 12 bytes");
}

TEST(SafetensorsMalformed, HugeShapeOverflowIsCaught) {
  EXPECT_ERROR_MENTIONS(
      with_header(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8), "needs");
}

TEST(SafetensorsMalformed, UnknownDtype) {
  EXPECT_ERROR_MENTIONS(with_header(R"({"w":{"dtype":"F17","shape":[1],"data_offsets":[0,1]}})", 1), "unknown dtype 'F17'");
}

TEST(SafetensorsMalformed, DuplicateTensorNames) {
  EXPECT_ERROR_MENTIONS(with_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},
                                       "w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2), "duplicate tensor name 'w'");
}

TEST(SafetensorsMalformed, NegativeShape) {
  EXPECT_ERROR_MENTIONS(with_header(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", 1), "non-negative");
}

TEST(SafetensorsMalformed, MissingFields) {
  EXPECT_ERROR_MENTIONS(with_header(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", 1), "'dtype'");
  EXPECT_ERROR_MENTIONS(with_header(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", 1), "'shape'");
  EXPECT_ERROR_MENTIONS(with_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", 1), "data_offsets");
}

TEST(SafetensorsMalformed, MetadataMustHoldStrings) {
  EXPECT_ERROR_MENTIONS(with_header(R"({"__metadata__":{"format":3}})", 0), "__metadata__");
}

TEST(SafetensorsMalformed, RandomCorruptionNeverCrashes) {
  TempDir dir;
  std::vector<float> v(32, 1.0f);
  write_safetensors(dir / "ok.safetensors", {{"a.weight", DType::F32, {4, 8}, v.data(), 128},
                                             {"b.bias", DType::BF16, {8}, v.data(), 16}});
  const std::string good = read_file(dir / "ok.safetensors");
  std::mt19937 rng(1234);
  int opened = 0, rejected = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    std::string bytes = good;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % std::min<size_t>(bytes.size(), 200);  // mostly the header
      bytes[pos] = static_cast<char>(rng() % 256);
    }
    if (rng() % 5 == 0) bytes.resize(rng() % bytes.size());
    write_file_atomic(dir / "mut.safetensors", bytes);
    try {
      auto f = SafetensorsFile::open(dir / "mut.safetensors");
      // Whatever parsed must lie inside the file.
      for (const auto& t : f->tensors()) ASSERT_LE(t.end, f->file_size());
      ++opened;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_EQ(opened + rejected, 1500);
}

}  // namespace
}  // namespace automodel::hf
