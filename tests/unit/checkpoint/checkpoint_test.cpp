// Checkpoint files of a small network: weights and sidecar round-trip, the
// sidecar's keys, errors naming the file and the key, checksums, values
// that cannot be meant, and interrupted swaps (`.new`/`.old`).
#include "sdn/checkpoint/checkpoint.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <set>

namespace fs = std::filesystem;
using namespace sdn::checkpoint;

namespace {

sdn::network::NetworkOptions small_sdn() {
  sdn::network::NetworkOptions o;
  o.backbone.arch = "resnet56";
  o.backbone.in_channels = 1;
  o.backbone.num_classes = 4;
  o.with_ics = true;
  return o;
}

TrainConfig small_config() {
  TrainConfig c;
  c.mode = Mode::kSdn;
  c.data.name = "synthetic";
  c.data.synthetic_classes = 4; // as small_sdn()
  c.data.synthetic_channels = 1;
  c.out = "/tmp/run";
  c.milestones = {3, 7};
  return c;
}

EpochMetrics small_metrics() {
  EpochMetrics m;
  m.epoch = 2;
  m.lr = 0.05;
  m.loss = 1.25;
  m.ic_weights = {0.1, 0.2};
  m.train_accuracy = {30, 40, 50};
  m.val_accuracy = {25, 50, 75};
  m.seconds = 1.5;
  m.images_per_second = 64;
  return m;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "";
}

void expect_same_state(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters();
  auto pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  }
  auto ba = a.named_buffers();
  auto bb = b.named_buffers();
  ASSERT_EQ(ba.size(), bb.size());
  for (const auto& item : ba) {
    EXPECT_TRUE(torch::equal(item.value(), bb[item.key()])) << item.key();
  }
}

class Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(3);
    net_ = sdn::network::SdnNetwork(small_sdn());
    // Non-default buffers, so that the round trip proves they are saved.
    torch::NoGradGuard no_grad;
    for (auto& b : net_->buffers()) {
      if (b.is_floating_point()) {
        b.uniform_(0.5, 1.5);
      }
    }
    meta_ = make_checkpoint_meta(net_, small_config(), 2, small_metrics());
    meta_.best_val_accuracy = 75;
    meta_.world_size = 2;
    write_checkpoint(dir_.str("ckpt"), net_, meta_, "optimizer bytes");
  }

  // The error reading the sidecar gives once `edit` changed what was
  // written ("" if none).
  std::string meta_error_after(
      const std::function<void(nlohmann::json&)>& edit) {
    auto j = sdn::read_json(dir_.str("ckpt/meta.json"));
    edit(j);
    sdn::write_json_atomic(dir_.str("ckpt/meta.json"), j);
    const std::string message =
        error_of([&] { read_checkpoint_meta(dir_.str("ckpt")); });
    write_checkpoint(dir_.str("ckpt"), net_, meta_, "optimizer bytes");
    return message;
  }

  sdn::testing::TempDir dir_{"checkpoint"};
  sdn::network::SdnNetwork net_{nullptr};
  CheckpointMeta meta_;
};

TEST_F(Checkpoint, MetaDescribesTheNetwork) {
  EXPECT_EQ(meta_.format, kCheckpointFormat);
  EXPECT_EQ(meta_.arch, "resnet56");
  EXPECT_EQ(meta_.dataset, "synthetic");
  EXPECT_EQ(meta_.input_shape, (std::vector<int64_t>{1, 32, 32}));
  EXPECT_EQ(meta_.num_classes, 4);
  EXPECT_TRUE(meta_.with_ics);
  EXPECT_EQ(meta_.ic_blocks, net_->backbone()->ic_blocks());
  EXPECT_EQ(meta_.num_exits, net_->num_exits());
  EXPECT_EQ(meta_.mode, Mode::kSdn);
  EXPECT_EQ(meta_.epoch, 2);
}

TEST_F(Checkpoint, WeightsAndSidecarRoundTrip) {
  CheckpointMeta meta;
  auto back = load_network(dir_.str("ckpt"), meta);
  expect_same_state(*net_, *back);
  // The sidecar gains the checksums of the files written beside it.
  ASSERT_EQ(meta.files.size(), 2u);
  EXPECT_EQ(meta.files.at("optimizer.pt").bytes, 15);
  EXPECT_EQ(meta.files.at("optimizer.pt").crc32, "a46815a1");
  EXPECT_EQ(
      meta.files.at("model.pt").bytes,
      static_cast<int64_t>(fs::file_size(dir_.str("ckpt/model.pt"))));
  meta.files.clear();
  EXPECT_EQ(to_json(meta), to_json(meta_));
  EXPECT_EQ(meta.config.milestones, (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(meta.metrics.val_accuracy, (std::vector<double>{25, 50, 75}));
  EXPECT_EQ(meta.best_val_accuracy, 75);
  EXPECT_EQ(meta.world_size, 2);
  EXPECT_EQ(sdn::read_file(dir_.str("ckpt/optimizer.pt")), "optimizer bytes");
}

TEST_F(Checkpoint, CheckpointFilesFillAFolderAndKeepWhereTheyCameFrom) {
  const std::string folder = dir_.str("plain");
  sdn::make_dirs(folder);
  CheckpointMeta meta = meta_;
  meta.imported_from = ImportSource{"w.pt", "pytorch", "0123abcd", "map.txt"};
  write_checkpoint_files(folder, net_, meta, "");
  EXPECT_FALSE(fs::exists(folder + "/optimizer.pt"));
  CheckpointMeta back;
  auto network = load_network(folder, back);
  expect_same_state(*net_, *network);
  EXPECT_EQ(back.files.size(), 1u);
  ASSERT_TRUE(back.imported_from.has_value());
  EXPECT_EQ(back.imported_from->file, "w.pt");
  EXPECT_EQ(back.imported_from->format, "pytorch");
  EXPECT_EQ(back.imported_from->crc32, "0123abcd");
  EXPECT_EQ(back.imported_from->name_map, "map.txt");
  back.files.clear();
  EXPECT_EQ(to_json(back), to_json(meta));
}

TEST_F(Checkpoint, SidecarKeysAreTheFileFormat) {
  // Existing checkpoints hold exactly these keys; renaming one breaks them.
  const auto j = sdn::read_json(dir_.str("ckpt/meta.json"));
  std::set<std::string> keys;
  for (const auto& item : j.items()) {
    keys.insert(item.key());
  }
  EXPECT_EQ(
      keys,
      (std::set<std::string>{
          "arch",
          "best_val_accuracy",
          "config",
          "dataset",
          "epoch",
          "files",
          "format",
          "ic_blocks",
          "input_shape",
          "metrics",
          "mode",
          "num_classes",
          "num_exits",
          "with_ics",
          "world_size"}));
  EXPECT_EQ(j["metrics"], to_json(small_metrics()));
  EXPECT_EQ(j["config"], to_json(small_config()));
  EXPECT_EQ(j["mode"], "sdn");
  // The file is the sorted, two-space-indented dump.
  EXPECT_EQ(sdn::read_file(dir_.str("ckpt/meta.json")), j.dump(2) + "\n");
}

TEST_F(Checkpoint, MissingOrMalformedKeysNameTheFileAndTheKey) {
  const std::string file = dir_.str("ckpt/meta.json");
  auto msg = meta_error_after([](nlohmann::json& j) { j.erase("num_exits"); });
  EXPECT_NE(msg.find(file), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing key 'num_exits'"), std::string::npos) << msg;
  msg = meta_error_after([](nlohmann::json& j) { j["config"].erase("lr"); });
  EXPECT_NE(msg.find("'config.lr'"), std::string::npos) << msg;
  msg = meta_error_after(
      [](nlohmann::json& j) { j["config"]["data"].erase("seed"); });
  EXPECT_NE(msg.find("'config.data.seed'"), std::string::npos) << msg;
  msg = meta_error_after([](nlohmann::json& j) { j["metrics"].erase("loss"); });
  EXPECT_NE(msg.find("'metrics.loss'"), std::string::npos) << msg;
  msg = meta_error_after([](nlohmann::json& j) { j["with_ics"] = "yes"; });
  EXPECT_NE(msg.find("'with_ics'"), std::string::npos) << msg;
  msg = meta_error_after([](nlohmann::json& j) { j["mode"] = "joint"; });
  EXPECT_NE(msg.find("'mode'"), std::string::npos) << msg;
  msg = meta_error_after([](nlohmann::json& j) { j["format"] = 9; });
  EXPECT_NE(msg.find("format 9"), std::string::npos) << msg;
  msg = meta_error_after([](nlohmann::json& j) { j["input_shape"] = {1, 32}; });
  EXPECT_NE(msg.find("input_shape"), std::string::npos) << msg;
  // A renamed key is a missing one.
  msg = meta_error_after([](nlohmann::json& j) {
    j["architecture"] = j["arch"];
    j.erase("arch");
  });
  EXPECT_NE(msg.find("missing key 'arch'"), std::string::npos) << msg;
  // The keys the trainer adds are optional.
  auto j = sdn::read_json(file);
  for (const char* key :
       {"best_val_accuracy",
        "world_size",
        "files",
        "train_samples",
        "train_data_crc32"}) {
    j.erase(key);
  }
  sdn::write_json_atomic(file, j);
  const auto meta = read_checkpoint_meta(dir_.str("ckpt"));
  EXPECT_EQ(meta.best_val_accuracy, -1);
  EXPECT_EQ(meta.world_size, 1);
}

TEST_F(Checkpoint, CorruptOrMissingWeightsNameTheFile) {
  const std::string weights = dir_.str("ckpt/model.pt");
  sdn::write_file_atomic(weights, "garbage");
  auto msg = error_of([&] { load_network(dir_.str("ckpt")); });
  EXPECT_NE(msg.find(weights), std::string::npos) << msg;
  fs::remove(weights);
  msg = error_of([&] { load_network(dir_.str("ckpt")); });
  EXPECT_NE(msg.find(weights), std::string::npos) << msg;
  msg = error_of([&] { load_network(dir_.str("nothing")); });
  EXPECT_NE(msg.find(dir_.str("nothing")), std::string::npos) << msg;
}

TEST_F(Checkpoint, AFlippedBitIsFoundByTheChecksum) {
  const std::string weights = dir_.str("ckpt/model.pt");
  std::string bytes = sdn::read_file(weights);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 8);
  sdn::write_file_atomic(weights, bytes);
  auto msg = error_of([&] { load_network(dir_.str("ckpt")); });
  EXPECT_NE(msg.find(weights + ": corrupt: CRC-32"), std::string::npos) << msg;
  sdn::write_file_atomic(weights, bytes + "x");
  msg = error_of([&] { load_network(dir_.str("ckpt")); });
  EXPECT_NE(msg.find(weights + ": corrupt: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("bytes, but meta.json records"), std::string::npos) << msg;
}

TEST_F(Checkpoint, SidecarValuesMustMeanSomething) {
  const std::string file = dir_.str("ckpt/meta.json");
  const auto good = sdn::read_json(file);
  const std::pair<std::function<void(nlohmann::json&)>, const char*> cases[] = {
      {[](nlohmann::json& j) { j["with_ics"] = false; }, "'with_ics'"},
      {[](nlohmann::json& j) { j["epoch"] = -1; }, "'epoch' must be >= 0"},
      {[](nlohmann::json& j) { j["num_classes"] = 1; }, "'num_classes'"},
      {[](nlohmann::json& j) {
         j["input_shape"] = {1, 0, 32};
       },
       "'input_shape' must hold positive sizes"},
      {[](nlohmann::json& j) { j["ic_blocks"][1] = 0; },
       "'ic_blocks' must be increasing"},
      {[](nlohmann::json& j) { j["world_size"] = 0; }, "'world_size'"},
      {[](nlohmann::json& j) { j["best_val_accuracy"] = 101; },
       "'best_val_accuracy'"},
      {[](nlohmann::json& j) { j["mode"] = "cnn"; }, "'with_ics' is true"},
      {[](nlohmann::json& j) { j["files"]["model.pt"]["crc32"] = "xyz"; },
       "'files.model.pt'"},
      {[](nlohmann::json& j) { j["arch"] = "resnet9"; },
       "describes no network sdn can build (--arch: unknown architecture "
       "'resnet9'"},
      {[](nlohmann::json& j) {
         j["input_shape"] = {1, 48, 48};
       },
       "input_side must be 32 or 64, got 48"},
      {[](nlohmann::json& j) {
         j["input_shape"] = {1, 32, 64};
       },
       "'input_shape' must describe square images, got 32x64"},
      {[](nlohmann::json& j) { j["config"]["momentum"] = 2.0; },
       "key 'config' is not a valid training configuration (--momentum"},
      {[](nlohmann::json& j) { j["config"]["mode"] = "cnn"; },
       "key 'config.mode' is cnn, but 'mode' is sdn"},
      {[](nlohmann::json& j) { j["config"]["arch"] = "vgg16"; },
       "key 'config.arch' is vgg16, but 'arch' is resnet56"},
      {[](nlohmann::json& j) { j["config"]["data"]["synthetic_classes"] = 5; },
       "key 'config.data' describes synthetic data of 5 classes"},
      {[](nlohmann::json& j) {
         j["imported_from"] = {
             {"file", "w.pt"},
             {"format", "onnx"},
             {"crc32", "0123abcd"},
             {"name_map", ""}};
       },
       "key 'imported_from.format' must be pytorch or safetensors, got 'onnx'"},
      {[](nlohmann::json& j) {
         j["imported_from"] = {
             {"file", "w.pt"},
             {"format", "pytorch"},
             {"crc32", "x"},
             {"name_map", ""}};
       },
       "key 'imported_from.crc32' must be 8 hex digits"},
      {[](nlohmann::json& j) {
         j["imported_from"] = {{"file", "w.pt"}, {"format", "pytorch"}};
       },
       "missing key 'imported_from.crc32'"},
  };
  for (const auto& [edit, expected] : cases) {
    const std::string msg = meta_error_after(edit);
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  }
  // A number that overflows to infinity is refused by the JSON parser.
  auto j = good;
  j["metrics"]["lr"] = 12345.5;
  std::string text = j.dump(2);
  text.replace(text.find("12345.5"), 7, "1e400");
  sdn::write_file_atomic(file, text);
  const std::string msg =
      error_of([&] { read_checkpoint_meta(dir_.str("ckpt")); });
  EXPECT_NE(msg.find(file), std::string::npos) << msg;
  EXPECT_NE(msg.find("overflow"), std::string::npos) << msg;
}

// The sidecar must describe the network the weights are for: LibTorch
// would otherwise replace each tensor with the file's, whatever its shape.
TEST_F(Checkpoint, SidecarAndWeightsMustAgree) {
  const std::string file = dir_.str("ckpt/meta.json");
  const auto good = sdn::read_json(file);
  auto j = good;
  j["num_classes"] = 7;
  j["config"]["data"]["synthetic_classes"] = 7;
  sdn::write_json_atomic(file, j);
  auto msg = error_of([&] { load_network(dir_.str("ckpt")); });
  EXPECT_NE(
      msg.find(dir_.str("ckpt/model.pt") + ": tensor '"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("has shape [4"), std::string::npos) << msg;
  EXPECT_NE(
      msg.find(file + " describes a network where it is [7"), std::string::npos)
      << msg;
  // ICs after blocks the architecture does not place them after.
  j = good;
  j["ic_blocks"] = {0, 1, 2, 3, 4, 5000};
  j["num_exits"] = 7;
  sdn::write_json_atomic(file, j);
  msg = error_of([&] { load_network(dir_.str("ckpt")); });
  EXPECT_NE(
      msg.find(file + ": key 'ic_blocks' lists [0, 1, 2, 3, 4, 5000]"),
      std::string::npos)
      << msg;
}

TEST_F(Checkpoint, TwoKillsInARowLoseNothing) {
  // A kill between the renames: ckpt.old (epoch 2) and a complete ckpt.new
  // (epoch 3), no ckpt. Readers take the newer, complete ckpt.new.
  CheckpointMeta newer = meta_;
  newer.epoch = 3;
  write_checkpoint(dir_.str("ckpt.next"), net_, newer, "state 3");
  fs::rename(dir_.str("ckpt"), dir_.str("ckpt.old"));
  fs::rename(dir_.str("ckpt.next"), dir_.str("ckpt.new"));
  EXPECT_EQ(resolve_checkpoint_dir(dir_.str("ckpt")), dir_.str("ckpt.new"));
  EXPECT_EQ(read_checkpoint_meta(dir_.str("ckpt")).epoch, 3);
  // The second kill, during the next write: its fresh ckpt.new is cut short
  // before meta.json. The swap was completed first, so ckpt (epoch 3) holds.
  EXPECT_TRUE(recover_checkpoint_dir(dir_.str("ckpt")));
  EXPECT_EQ(read_checkpoint_meta(dir_.str("ckpt")).epoch, 3);
  EXPECT_FALSE(fs::exists(dir_.str("ckpt.old")));
  EXPECT_FALSE(fs::exists(dir_.str("ckpt.new")));
  fs::create_directories(dir_.str("ckpt.new"));
  sdn::write_file_atomic(dir_.str("ckpt.new/model.pt"), "half");
  EXPECT_EQ(resolve_checkpoint_dir(dir_.str("ckpt")), dir_.str("ckpt"));
  EXPECT_TRUE(recover_checkpoint_dir(dir_.str("ckpt")));
  EXPECT_FALSE(fs::exists(dir_.str("ckpt.new")));
  EXPECT_EQ(sdn::read_file(dir_.str("ckpt/optimizer.pt")), "state 3");
  // Nothing at all: nothing to recover.
  EXPECT_FALSE(recover_checkpoint_dir(dir_.str("none")));
}

TEST_F(Checkpoint, AnInterruptedSwapFallsBackToOld) {
  // The crash window of write_checkpoint: ckpt moved aside, ckpt.new not yet
  // in place.
  fs::rename(dir_.str("ckpt"), dir_.str("ckpt.old"));
  EXPECT_EQ(resolve_checkpoint_dir(dir_.str("ckpt")), dir_.str("ckpt.old"));
  auto back = load_network(dir_.str("ckpt"));
  expect_same_state(*net_, *back);
  // Writing again replaces both.
  write_checkpoint(dir_.str("ckpt"), net_, meta_, "");
  EXPECT_EQ(resolve_checkpoint_dir(dir_.str("ckpt")), dir_.str("ckpt"));
  EXPECT_FALSE(fs::exists(dir_.str("ckpt.old")));
  EXPECT_FALSE(fs::exists(dir_.str("ckpt/optimizer.pt")));
}

} // namespace
