// Reading real safetensors files, and write -> read round trips (single file and sharded).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/hf/safetensors.h"
#include "automodel/hf/safetensors_writer.h"
#include "test_util.h"

namespace automodel::hf {
namespace {

using automodel::testing::fixtures_dir;
using automodel::testing::TempDir;

template <typename T>
std::vector<T> values_of(const TensorView& view) {
  std::vector<T> out(view.entry->nbytes() / sizeof(T));
  std::memcpy(out.data(), view.data, view.entry->nbytes());
  return out;
}

TEST(Safetensors, ReadsRealInt32File) {
  auto file = SafetensorsFile::open(fixtures_dir() / "safetensors" / "tensor-1d-int32.safetensors");
  ASSERT_EQ(file->tensors().size(), 1u);
  const auto* e = file->find("embedding");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->dtype, DType::I32);
  EXPECT_EQ(e->shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(values_of<int32_t>(file->view(*e)), (std::vector<int32_t>{1, 2, 3}));
}

TEST(Safetensors, ReadsRealFloat64And4dFiles) {
  auto f64 = SafetensorsFile::open(fixtures_dir() / "safetensors" / "tensor-2d-float64.safetensors");
  EXPECT_EQ(f64->find("embedding")->dtype, DType::F64);
  EXPECT_EQ(f64->find("embedding")->shape, (std::vector<int64_t>{2, 3}));
  auto f4d = SafetensorsFile::open(fixtures_dir() / "safetensors" / "tensor-4d-float32.safetensors");
  EXPECT_EQ(f4d->find("embedding")->shape, (std::vector<int64_t>{2, 3, 1, 3}));
  EXPECT_EQ(f4d->find("embedding")->nbytes(), 2u * 3 * 1 * 3 * 4);
}

TEST(Safetensors, RoundTripKeepsBytesDtypesShapesAndMetadata) {
  TempDir dir;
  std::vector<float> f32 = {1.5f, -2.25f, 3.0f, 0.0f, 7.0f, 8.0f};
  std::vector<uint16_t> bf16 = {0x3f80, 0xc000};
  std::vector<int64_t> i64 = {-1, 1LL << 40};
  std::vector<uint8_t> f8 = {0x38, 0xb8, 0x7e};
  std::vector<TensorToWrite> tensors = {
      {"z.weight", DType::F32, {2, 3}, f32.data(), f32.size() * 4},
      {"a.bf16", DType::BF16, {2}, bf16.data(), 4},
      {"m.ids", DType::I64, {1, 2}, i64.data(), 16},
      {"f8", DType::F8_E4M3, {3}, f8.data(), 3},
      {"empty", DType::F32, {0, 4}, nullptr, 0},
  };
  write_safetensors(dir / "x.safetensors", tensors, {{"format", "pt"}, {"note", "hi"}});
  auto file = SafetensorsFile::open(dir / "x.safetensors");
  EXPECT_EQ(file->metadata().at("note"), "hi");
  EXPECT_EQ(values_of<float>(file->view(*file->find("z.weight"))), f32);
  EXPECT_EQ(values_of<uint16_t>(file->view(*file->find("a.bf16"))), bf16);
  EXPECT_EQ(values_of<int64_t>(file->view(*file->find("m.ids"))), i64);
  EXPECT_EQ(values_of<uint8_t>(file->view(*file->find("f8"))), f8);
  EXPECT_EQ(file->find("empty")->shape, (std::vector<int64_t>{0, 4}));
  // The data section starts 8-byte aligned, as HF's writer guarantees.
  std::string bytes = read_file(dir / "x.safetensors");
  uint64_t header_len;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
}

TEST(Safetensors, ShardedWriteProducesIndexAndReadsBack) {
  TempDir dir;
  std::vector<std::vector<float>> data(5, std::vector<float>(256));
  std::vector<TensorToWrite> tensors;
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 256; ++j) data[i][j] = static_cast<float>(i * 1000 + j);
    tensors.push_back({"layer." + std::to_string(i), DType::F32, {16, 16}, data[i].data(), 1024});
  }
  auto written = write_sharded_safetensors(dir.path(), tensors, 2048);
  ASSERT_EQ(written.size(), 4u);  // 3 shards of <= 2 tensors + index
  EXPECT_TRUE(std::filesystem::exists(dir / "model-00001-of-00003.safetensors"));
  auto index = nlohmann::json::parse(read_file(dir / "model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), 5u * 1024);
  EXPECT_EQ(index["weight_map"]["layer.4"], "model-00003-of-00003.safetensors");
  auto ckpt = SafetensorsCheckpoint::open(dir.path());
  EXPECT_EQ(ckpt.names().size(), 5u);
  EXPECT_EQ(values_of<float>(ckpt.get("layer.3")), data[3]);
}

TEST(Safetensors, ResavingAsOneFileRemovesStaleIndex) {
  TempDir dir;
  std::vector<float> v(64, 1.0f);
  std::vector<TensorToWrite> two = {{"a", DType::F32, {64}, v.data(), 256}, {"b", DType::F32, {64}, v.data(), 256}};
  write_sharded_safetensors(dir.path(), two, 256);
  write_sharded_safetensors(dir.path(), two, 1 << 20);
  EXPECT_FALSE(std::filesystem::exists(dir / "model.safetensors.index.json"));
  EXPECT_EQ(SafetensorsCheckpoint::open(dir.path()).names().size(), 2u);
}

TEST(Safetensors, IndexNamingAMissingShardIsAnError) {
  TempDir dir;
  write_file_atomic(dir / "model.safetensors.index.json",
                    R"({"metadata": {}, "weight_map": {"w": "model-00001-of-00002.safetensors"}})");
  try {
    SafetensorsCheckpoint::open(dir.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model-00001-of-00002.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, WriterRejectsDataSizeThatDoesNotMatchShape) {
  TempDir dir;
  std::vector<float> v(3);
  EXPECT_THROW(write_safetensors(dir / "bad.safetensors", {{"w", DType::F32, {2, 2}, v.data(), 12}}), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.safetensors"));
}

TEST(AtomicFile, UncommittedWriteLeavesPreviousFileIntact) {
  TempDir dir;
  write_file_atomic(dir / "f.txt", "old");
  {
    AtomicFileWriter writer(dir / "f.txt");
    writer.write(std::string_view("new contents"));
    // destroyed without commit (as when a save throws half way)
  }
  EXPECT_EQ(read_file(dir / "f.txt"), "old");
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1u) << "temporary file left behind";
}

}  // namespace
}  // namespace automodel::hf
