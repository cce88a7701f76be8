#include "sdn/train/distributed.h"

#include "sdn/util/error.h"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/torch.h>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>

namespace sdn::train {

namespace {

// Parses a whole decimal integer; nullopt on anything else.
bool parse_int(const std::string& text, int64_t& out) {
  if (text.empty()) {
    return false;
  }
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size()) {
    return false;
  }
  out = v;
  return true;
}

int64_t env_int(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    return fallback;
  }
  int64_t out = 0;
  check(
      parse_int(value, out),
      "environment variable ",
      name,
      " must be an integer, got '",
      value,
      "'");
  return out;
}

struct HostPort {
  std::string host;
  int64_t port = 0;
};

// Splits "HOST:PORT" ("[v6]:PORT" too); false when it is not of that form.
bool split_host_port(const std::string& master, HostPort& out) {
  const auto colon = master.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return false;
  }
  out.host = master.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' &&
      out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  return parse_int(master.substr(colon + 1), out.port) && out.port > 0 &&
      out.port < 65536;
}

constexpr const char* kFilePrefix = "file:";

bool is_file_master(const std::string& master) {
  return master.rfind(kFilePrefix, 0) == 0;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string torch_message(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) {
    return c10->what_without_backtrace();
  }
  return e.what();
}

// FNV-1a over the bytes of every tensor, in order.
uint64_t hash_bytes(const std::vector<torch::Tensor>& tensors) {
  uint64_t h = 1469598103934665603ULL;
  for (const auto& t : tensors) {
    const auto cpu = t.detach().to(torch::kCPU).contiguous();
    const auto* p = static_cast<const unsigned char*>(cpu.data_ptr());
    const size_t n = static_cast<size_t>(cpu.numel()) * cpu.element_size();
    for (size_t i = 0; i < n; ++i) {
      h = (h ^ p[i]) * 1099511628211ULL;
    }
  }
  return h;
}

// Groups tensors of one dtype and device into runs of at most `cap` bytes,
// preserving their order within each group.
std::vector<std::vector<torch::Tensor>> buckets(
    const std::vector<torch::Tensor>& tensors,
    int64_t cap) {
  std::map<std::string, std::vector<torch::Tensor>> groups;
  std::vector<std::string> keys;
  for (const auto& t : tensors) {
    const std::string key = str_cat(t.scalar_type(), "@", t.device());
    if (groups.find(key) == groups.end()) {
      keys.push_back(key);
    }
    groups[key].push_back(t);
  }
  std::vector<std::vector<torch::Tensor>> out;
  for (const auto& key : keys) {
    int64_t bytes = cap; // forces a new bucket for the first tensor
    for (const auto& t : groups[key]) {
      const int64_t size = t.numel() * static_cast<int64_t>(t.element_size());
      if (bytes + size > cap && bytes > 0) {
        out.emplace_back();
        bytes = 0;
      }
      out.back().push_back(t);
      bytes += size;
    }
  }
  return out;
}

// Runs `f` on the flat concatenation of `bucket` and copies the result back.
template <typename F>
void on_flat(const std::vector<torch::Tensor>& bucket, F f) {
  std::vector<torch::Tensor> flat_parts;
  flat_parts.reserve(bucket.size());
  for (const auto& t : bucket) {
    flat_parts.push_back(t.reshape(-1));
  }
  auto flat = torch::cat(flat_parts);
  f(flat);
  int64_t offset = 0;
  for (const auto& t : bucket) {
    const int64_t n = t.numel();
    t.copy_(flat.narrow(/*dim=*/0, offset, n).view(t.sizes()));
    offset += n;
  }
}

} // namespace

void DistributedOptions::validate() const {
  check(world_size >= 1, "--world-size must be >= 1, got ", world_size);
  check(
      rank >= 0 && rank < world_size,
      "--rank must be in [0, ",
      world_size,
      "), got ",
      rank);
  check(
      timeout_seconds > 0,
      "--dist-timeout must be > 0 seconds, got ",
      timeout_seconds);
  if (enabled()) {
    HostPort hp;
    check(
        (is_file_master(master) &&
         master.size() > std::string(kFilePrefix).size()) ||
            split_host_port(master, hp),
        "--master must be HOST:PORT or file:PATH, got '",
        master,
        "'");
  }
}

DistributedOptions distributed_options_from_env(DistributedOptions base) {
  base.world_size = env_int("WORLD_SIZE", base.world_size);
  base.rank = env_int("RANK", base.rank);
  base.local_rank = env_int("LOCAL_RANK", base.local_rank);
  const char* addr = std::getenv("MASTER_ADDR");
  const char* port = std::getenv("MASTER_PORT");
  const bool has_addr = addr != nullptr && *addr != '\0';
  const bool has_port = port != nullptr && *port != '\0';
  if (has_addr || has_port) {
    HostPort hp;
    if (!split_host_port(base.master, hp)) {
      hp.host = "127.0.0.1";
      hp.port = 29500;
    }
    if (has_addr) {
      hp.host = addr;
    }
    if (has_port) {
      hp.port = env_int("MASTER_PORT", hp.port);
    }
    base.master = str_cat(hp.host, ":", hp.port);
  }
  return base;
}

std::vector<std::string> available_backends() {
  std::vector<std::string> out;
#ifdef USE_C10D_GLOO
  out.push_back("gloo");
#endif
#ifdef USE_C10D_NCCL
  out.push_back("nccl");
#endif
  return out;
}

std::string device_for_rank(
    const std::string& device,
    const DistributedOptions& options) {
  if (!options.enabled() || device != "cuda") {
    return device;
  }
  int64_t local = options.local_rank;
  if (local < 0) {
    const auto gpus = static_cast<int64_t>(torch::cuda::device_count());
    local = options.rank % std::max<int64_t>(1, gpus);
  }
  return str_cat("cuda:", local);
}

namespace {

// The collectives, over whichever c10d group type the backend provides (in
// LibTorch 1.13 they are ProcessGroups, in 2.x Backends: no common base).
struct Collectives {
  virtual ~Collectives() = default;
  virtual void all_reduce(torch::Tensor& t, c10d::ReduceOp op) = 0;
  virtual void broadcast(torch::Tensor& t) = 0;
  virtual void barrier() = 0;
};

template <typename Group>
class GroupCollectives : public Collectives {
 public:
  explicit GroupCollectives(c10::intrusive_ptr<Group> group)
      : group_(std::move(group)) {}
  void all_reduce(torch::Tensor& t, c10d::ReduceOp op) override {
    std::vector<torch::Tensor> tensors{t};
    c10d::AllreduceOptions o;
    o.reduceOp = op;
    group_->allreduce(tensors, o)->wait();
  }
  void broadcast(torch::Tensor& t) override {
    std::vector<torch::Tensor> tensors{t};
    c10d::BroadcastOptions o;
    o.rootRank = 0;
    group_->broadcast(tensors, o)->wait();
  }
  void barrier() override {
    group_->barrier(c10d::BarrierOptions())->wait();
  }

 private:
  c10::intrusive_ptr<Group> group_;
};

} // namespace

struct Communicator::Impl {
  DistributedOptions options;
  std::string backend = "none";
  torch::Device device{torch::kCPU}; // where small reductions run
  c10::intrusive_ptr<c10d::Store> store;
  std::unique_ptr<Collectives> group;

  std::string who() const {
    return str_cat("rank ", options.rank, " of ", options.world_size);
  }

  // Runs one collective; any failure becomes an sdn::Error saying which.
  template <typename F>
  void run(const char* what, F f) {
    try {
      f();
    } catch (const std::exception& e) {
      fail(
          who(),
          ": ",
          what,
          " failed: ",
          torch_message(e),
          " (another rank stopped, crashed or is unreachable; the run "
          "can continue from its last checkpoint with --resume)");
    }
  }

  void connect(const std::string& device_name) {
    const auto timeout = std::chrono::milliseconds(
        static_cast<int64_t>(options.timeout_seconds * 1000));
    const int rank = static_cast<int>(options.rank);
    const int size = static_cast<int>(options.world_size);
    const std::string& master = options.master;
    // Refuse a missing backend before waiting for the other ranks.
    const bool cuda = torch::Device(device_name).is_cuda();
    const auto backends = available_backends();
    const bool have =
        std::find(backends.begin(), backends.end(), cuda ? "nccl" : "gloo") !=
        backends.end();
    check(
        have || !cuda,
        "--device ",
        device_name,
        " with --world-size ",
        size,
        " needs NCCL, and this LibTorch was built without it (Debian's "
        "libtorch is CPU-only): train on --device cpu (Gloo) or build sdn "
        "against a CUDA LibTorch");
    check(
        have || cuda,
        "--world-size ",
        size,
        ": this sdn was built without Gloo (install libgloo-dev and rebuild)");
    HostPort hp;
    try {
      if (is_file_master(master)) {
        store = c10::make_intrusive<c10d::FileStore>(
            master.substr(std::string(kFilePrefix).size()), size);
      } else {
        split_host_port(master, hp);
        c10d::TCPStoreOptions so;
        so.port = static_cast<uint16_t>(hp.port);
        so.isServer = rank == 0;
        so.numWorkers = static_cast<size_t>(size);
        so.waitWorkers = true;
        so.timeout = timeout;
        store = c10::make_intrusive<c10d::TCPStore>(hp.host, so);
      }
      store->setTimeout(timeout);
      if (cuda) {
#ifdef USE_C10D_NCCL
        // Without it a dead peer leaves NCCL waiting forever (1.13 name,
        // then 2.x name); an explicit setting by the user wins.
        setenv("NCCL_ASYNC_ERROR_HANDLING", "1", /*overwrite=*/0);
        setenv("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1", /*overwrite=*/0);
        device = torch::Device(device_name);
        auto o = c10d::ProcessGroupNCCL::Options::create();
        o->timeout = timeout;
        group = std::make_unique<GroupCollectives<c10d::ProcessGroupNCCL>>(
            c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, o));
        backend = "nccl";
#else
        fail("unreachable: no NCCL");
#endif
      } else {
#ifdef USE_C10D_GLOO
        auto o = c10d::ProcessGroupGloo::Options::create(timeout);
        const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
        if (iface != nullptr && *iface != '\0') {
          o->devices.push_back(
              c10d::ProcessGroupGloo::createDeviceForInterface(iface));
        } else if (!is_file_master(master) && is_loopback(hp.host)) {
          // A one-machine run stays on loopback whatever the host name
          // resolves to.
          o->devices.push_back(
              c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        } else {
          o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        }
        group = std::make_unique<GroupCollectives<c10d::ProcessGroupGloo>>(
            c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, o));
        backend = "gloo";
#else
        fail("unreachable: no Gloo");
#endif
      }
    } catch (const sdn::Error&) {
      throw;
    } catch (const std::exception& e) {
      fail(
          who(),
          ": rendezvous at ",
          master,
          " failed: ",
          torch_message(e),
          " (did every rank start within --dist-timeout ",
          options.timeout_seconds,
          " s, with the same --world-size and --master?)");
    }
  }

  void all_reduce(torch::Tensor& t, c10d::ReduceOp op, const char* what) {
    run(what, [&] { group->all_reduce(t, op); });
  }
};

Communicator::Communicator(
    const DistributedOptions& options,
    const std::string& device)
    : impl_(std::make_unique<Impl>()) {
  options.validate();
  impl_->options = options;
  if (options.enabled()) {
    impl_->connect(device);
  }
}

Communicator::~Communicator() = default;

int64_t Communicator::rank() const {
  return impl_->options.rank;
}

int64_t Communicator::world_size() const {
  return impl_->options.world_size;
}

std::string Communicator::backend() const {
  return impl_->backend;
}

void Communicator::average_gradients(const std::vector<torch::Tensor>& params) {
  if (!impl_->group) {
    return;
  }
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    if (p.grad().defined()) {
      grads.push_back(p.grad());
    }
  }
  const double scale = 1.0 / static_cast<double>(world_size());
  for (const auto& bucket : buckets(grads, kBucketBytes)) {
    on_flat(bucket, [&](torch::Tensor& flat) {
      impl_->all_reduce(flat, c10d::ReduceOp::SUM, "gradient all-reduce");
      flat.mul_(scale);
    });
  }
}

void Communicator::broadcast(const std::vector<torch::Tensor>& tensors) {
  if (!impl_->group) {
    return;
  }
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> data;
  for (const auto& t : tensors) {
    data.push_back(t.detach());
  }
  for (const auto& bucket : buckets(data, kBucketBytes)) {
    on_flat(bucket, [&](torch::Tensor& flat) {
      impl_->run(
          "broadcast from rank 0", [&] { impl_->group->broadcast(flat); });
    });
  }
}

std::vector<double> Communicator::sum(const std::vector<double>& values) {
  if (!impl_->group || values.empty()) {
    return values;
  }
  auto t = torch::tensor(values, torch::kFloat64).to(impl_->device);
  impl_->all_reduce(t, c10d::ReduceOp::SUM, "all-reduce");
  t = t.to(torch::kCPU);
  return std::vector<double>(
      t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

double Communicator::mean(double value) {
  if (!impl_->group) {
    return value;
  }
  return sum({value})[0] / static_cast<double>(world_size());
}

void Communicator::check_same(
    const std::vector<torch::Tensor>& tensors,
    const std::string& what) {
  if (!impl_->group) {
    return;
  }
  check_same(hash_bytes(tensors), what);
}

void Communicator::check_same(uint64_t fingerprint, const std::string& what) {
  if (!impl_->group) {
    return;
  }
  // One MAX reduction of (v, -v) yields the maximum and the minimum; 62 bits
  // keep the negation in range.
  const auto v = static_cast<int64_t>(fingerprint >> 2);
  auto t = torch::tensor({v, -v}, torch::kInt64).to(impl_->device);
  impl_->all_reduce(t, c10d::ReduceOp::MAX, "consistency check");
  t = t.to(torch::kCPU);
  check(
      t[0].item<int64_t>() == -t[1].item<int64_t>(),
      impl_->who(),
      ": the ranks disagree on ",
      what);
}

void Communicator::barrier() {
  if (!impl_->group) {
    return;
  }
  impl_->run("barrier", [&] { impl_->group->barrier(); });
}

} // namespace sdn::train
