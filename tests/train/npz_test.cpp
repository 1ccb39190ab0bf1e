// .npy/.npz writer: exact bytes of a small .npy, zip structure, round trip through read_npz.
#include "catapult/train/npz.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "catapult/core/error.hpp"

namespace catapult::train {
namespace {

TEST(Npz, NpyHeaderIsExactAndAligned) {
  const std::vector<float> v = {1.0F, 2.0F, 3.0F, 4.0F, 5.0F, 6.0F};
  const std::string b = npy_bytes({"x", {2, 3}, NpyType::Float32, v.data()});
  ASSERT_GE(b.size(), 10u);
  EXPECT_EQ(b.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(b[6], 1);
  EXPECT_EQ(b[7], 0);
  const std::size_t hlen = static_cast<unsigned char>(b[8]) | static_cast<unsigned char>(b[9]) << 8;
  EXPECT_EQ((10 + hlen) % 64, 0u);
  const std::string header = b.substr(10, hlen);
  EXPECT_EQ(header.substr(0, header.find('}') + 1),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(b.size(), 10 + hlen + 24);
  float last;
  std::memcpy(&last, b.data() + b.size() - 4, 4);
  EXPECT_EQ(last, 6.0F);
  // 1-D shapes have a trailing comma, scalars an empty tuple.
  const std::vector<double> five = {1, 2, 3, 4, 5};
  const std::string one = npy_bytes({"y", {5}, NpyType::Float64, five.data()});
  EXPECT_NE(one.find("'shape': (5,), }"), std::string::npos);
  const double s = 2.5;
  const std::string scalar = npy_bytes({"s", {}, NpyType::Float64, &s});
  EXPECT_NE(scalar.find("'shape': (), }"), std::string::npos);
}

TEST(Npz, RoundTripAndZipStructure) {
  const auto path = std::filesystem::temp_directory_path() / "catapult_npz_test.npz";
  const std::vector<float> a = {1.5F, -2.0F, 3.25F, 0.0F};
  const std::vector<double> b = {1e-300, 2.0, -7.0};
  const std::vector<std::int64_t> c = {784, 256, 10};
  write_npz(path, {{"a", {2, 2}, NpyType::Float32, a.data()},
                   {"b", {3}, NpyType::Float64, b.data()},
                   {"c", {3}, NpyType::Int64, c.data()}});
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.substr(0, 4), std::string("PK\x03\x04", 4));
  EXPECT_EQ(bytes.substr(bytes.size() - 22, 4), std::string("PK\x05\x06", 4));
  EXPECT_EQ(static_cast<unsigned char>(bytes[bytes.size() - 12]), 3);  // 3 entries
  EXPECT_NE(bytes.find("a.npy"), std::string::npos);
  const auto arrays = read_npz(path);
  ASSERT_EQ(arrays.size(), 3u);
  EXPECT_EQ(arrays[0].name, "a");
  EXPECT_EQ(arrays[0].shape, (std::vector<std::size_t>{2, 2}));
  EXPECT_EQ(arrays[0].values, (std::vector<double>{1.5, -2.0, 3.25, 0.0}));
  EXPECT_EQ(arrays[1].values, (std::vector<double>{1e-300, 2.0, -7.0}));
  EXPECT_EQ(arrays[2].type, NpyType::Int64);
  EXPECT_EQ(arrays[2].values, (std::vector<double>{784, 256, 10}));
  // A flipped data byte is caught by the CRC.
  std::string corrupt = bytes;
  corrupt[bytes.find("a.npy") + 5 + 128] ^= 0x01;
  {
    std::ofstream g(path, std::ios::binary | std::ios::trunc);
    g.write(corrupt.data(), static_cast<std::streamsize>(corrupt.size()));
  }
  EXPECT_THROW((void)read_npz(path), DataError);
  EXPECT_THROW(write_npz(path, {{"a", {1}, NpyType::Float32, a.data()},
                                {"a", {1}, NpyType::Float32, a.data()}}),
               InvalidArgument);
  std::filesystem::remove(path);
}

TEST(Npz, WeightsExportLayoutAndImport) {
  const auto path = std::filesystem::temp_directory_path() / "catapult_weights_test.npz";
  nn::Mlp<float> model(nn::MlpConfig{{5, 4, 3},
                                     kernels::Activation::Relu,
                                     kernels::Activation::Identity,
                                     true,
                                     nn::Parameterization::Ntk});
  Rng rng(4);
  model.init(rng);
  export_weights_npz(model, path);
  const auto arrays = read_npz(path);
  ASSERT_EQ(arrays.size(), 6u);
  EXPECT_EQ(arrays[0].name, "W0");
  EXPECT_EQ(arrays[0].shape, (std::vector<std::size_t>{4, 5}));
  EXPECT_EQ(arrays[1].name, "b0");
  EXPECT_EQ(arrays[2].name, "W1");
  EXPECT_EQ(arrays[2].shape, (std::vector<std::size_t>{3, 4}));
  // W1[2, 1] is flat entry offset(1) + 2·4 + 1.
  EXPECT_EQ(arrays[2].values[2 * 4 + 1], model.params()[model.weight_offset(1) + 9]);
  EXPECT_EQ(arrays[4].name, "widths");
  EXPECT_EQ(arrays[4].values, (std::vector<double>{5, 4, 3}));
  EXPECT_EQ(arrays[5].name, "scales");
  EXPECT_DOUBLE_EQ(arrays[5].values[1], 0.5);
  nn::Mlp<float> copy(model.config());
  import_weights_npz(copy, path);
  for (std::size_t i = 0; i < model.num_params(); ++i)
    ASSERT_EQ(copy.params()[i], model.params()[i]);
  nn::Mlp<float> other(nn::MlpConfig{{5, 3, 3}});
  EXPECT_THROW(import_weights_npz(other, path), DataError);
  std::filesystem::remove(path);
}

// An exported state (export_state_npz) restores parameters and optimizer state exactly: continuing
// from it matches continuing the original run bit for bit.
TEST(Npz, StateRoundTripContinuesIdentically) {
  const auto path = std::filesystem::temp_directory_path() / "catapult_state_test.npz";
  const nn::MlpConfig cfg{{6, 5, 3}};
  nn::Mlp<float> a(cfg);
  Rng rng(8);
  a.init(rng);
  optim::OptimizerConfig oc;
  oc.kind = optim::OptimizerKind::Adam;
  auto opt_a = optim::make_optimizer<float>(oc);
  std::vector<float> g(a.num_params());
  for (int s = 0; s < 3; ++s) {
    for (auto& x : g) x = static_cast<float>(rng.uniform(-1, 1));
    opt_a->step(a.params(), g.data(), g.size(), 0.01);
  }
  export_state_npz(a, *opt_a, path);
  nn::Mlp<float> b(cfg);
  auto opt_b = optim::make_optimizer<float>(oc);
  import_state_npz(b, *opt_b, path);
  EXPECT_EQ(opt_b->steps(), 3u);
  for (auto& x : g) x = static_cast<float>(rng.uniform(-1, 1));
  opt_a->step(a.params(), g.data(), g.size(), 0.01);
  opt_b->step(b.params(), g.data(), g.size(), 0.01);
  for (std::size_t i = 0; i < a.num_params(); ++i) ASSERT_EQ(a.params()[i], b.params()[i]) << i;
  nn::Mlp<float> wrong(nn::MlpConfig{{6, 4, 3}});
  EXPECT_THROW(import_state_npz(wrong, *opt_b, path), DataError);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace catapult::train
