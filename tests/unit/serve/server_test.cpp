// The HTTP layer in process, on a loopback port the system picks, over the
// engine and a fake network: routes, JSON answers and errors, the API key,
// the body limit, 503 when the queue is full, metrics, shutdown.
#include "sdn/serve/server.h"

#include "sdn/analysis/npy.h"
#include "sdn/util/error.h"

#include "temp_dir.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

namespace {

using namespace sdn::serve;

// Images are 1 x 2 x 2: pixel 0 is the stage the image exits at, pixel 1
// its class.
class FakeNetwork final : public StagedModel {
 public:
  int64_t num_stages() const override {
    return 2;
  }
  int64_t num_exits() const override {
    return 2;
  }
  void run(int64_t stage, StageBatch& batch) override {
    const auto rows =
        batch.input.reshape({batch.input.size(0), 4}).contiguous();
    const int64_t m = rows.size(0);
    const float* r = rows.data_ptr<float>();
    batch.exits.assign(static_cast<size_t>(m), 0);
    batch.answers.assign(static_cast<size_t>(m), {});
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < m; ++i) {
      if (r[4 * i] <= static_cast<float>(stage)) {
        batch.exits[static_cast<size_t>(i)] = 1;
        auto& a = batch.answers[static_cast<size_t>(i)];
        a.prediction = static_cast<int64_t>(r[4 * i + 1]);
        a.confidence = 0.75f;
        a.exit = stage;
        a.cost = stage == 0 ? 0.5 : 1.25;
      } else {
        keep.push_back(i);
      }
    }
    batch.next = keep.empty() ?
        torch::Tensor() :
        batch.input.index_select(0, torch::tensor(keep, torch::kLong));
  }
};

InputSpec spec(int64_t max_images) {
  InputSpec s;
  s.info.name = "synthetic";
  s.info.channels = 1;
  s.info.side = 2;
  s.info.num_classes = 3;
  s.info.mean = {0};
  s.info.std = {1};
  s.info.class_names = {"ant", "bee", "cat"};
  s.fit = sdn::data::ImageFit::kExact;
  s.max_images = max_images;
  return s;
}

// A .npy of images (exit stage, class) each, shape [N, 1, 2, 2] or, with
// `one`, [1, 2, 2].
std::string npy(
    const std::vector<std::pair<int, int>>& images,
    bool one = false) {
  std::vector<float> values;
  for (const auto& [stage, cls] : images) {
    values.insert(
        values.end(),
        {static_cast<float>(stage), static_cast<float>(cls), 0.f, 0.f});
  }
  if (one) {
    return sdn::analysis::encode_npy(values, {1, 2, 2});
  }
  return sdn::analysis::encode_npy(
      values, {static_cast<int64_t>(images.size()), 1, 2, 2});
}

// An engine, its executor (unless held back) and a server on a free port.
struct Running {
  FakeNetwork net;
  Metrics metrics{2, 2, 8};
  std::unique_ptr<Engine> engine;
  std::unique_ptr<HttpServer> server;
  std::thread executor;
  std::thread listener;
  int port = 0;

  Running(ServerOptions options, int64_t queue_limit, bool start_executor) {
    EngineOptions eo;
    eo.max_batch = 8;
    eo.max_wait = std::chrono::microseconds(0);
    eo.queue_limit = queue_limit;
    engine = std::make_unique<Engine>(net, eo, &metrics);
    ModelInfo info;
    info.class_names = {"ant", "bee", "cat"};
    info.num_exits = 2;
    info.mode = "stage";
    info.policy = "fake";
    server = std::make_unique<HttpServer>(
        *engine, metrics, spec(queue_limit), info, options);
    port = server->bind();
    listener = std::thread([this] { server->listen(); });
    if (start_executor) {
      start();
    }
  }
  void start() {
    executor = std::thread([this] { engine->run(); });
  }
  ~Running() {
    server->shutdown();
    listener.join();
    engine->stop();
    if (executor.joinable()) {
      executor.join();
    }
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(std::chrono::seconds(30));
    return c;
  }
};

nlohmann::json body_json(const httplib::Result& r) {
  return nlohmann::json::parse(r->body);
}

} // namespace

TEST(Server, LoopbackAddresses) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "localhost", "::1"}) {
    EXPECT_TRUE(is_loopback(host)) << host;
  }
  for (const char* host :
       {"0.0.0.0",
        "10.0.0.1",
        "127.0.0",
        "127.0.0.256",
        "127.0.0.1.5",
        "128.0.0.1",
        "::",
        "example.com",
        "127.0.0.x"}) {
    EXPECT_FALSE(is_loopback(host)) << host;
  }
}

TEST(Server, SameKeyComparesWholeKeys) {
  EXPECT_TRUE(same_key("secret", "secret"));
  EXPECT_FALSE(same_key("secreT", "secret"));
  EXPECT_FALSE(same_key("secret", "secret2"));
  EXPECT_FALSE(same_key("", "secret"));
  EXPECT_FALSE(same_key("secret", ""));
}

TEST(Server, ReadsTheKeyFileAndRefusesBadOnes) {
  const sdn::testing::TempDir dir("serve_key");
  const std::string path = dir.str("key");
  std::ofstream(path) << "  s3cret \nsecond line\n";
  EXPECT_EQ(read_api_key(path), "s3cret");
  std::ofstream(path) << "\n";
  EXPECT_THROW(read_api_key(path), sdn::Error);
  try {
    read_api_key(dir.str("missing"));
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--api-key-file"), std::string::npos);
  }
}

TEST(Server, OptionsRefuseOpenHostsWithoutAKey) {
  ServerOptions o;
  EXPECT_NO_THROW(o.validate());
  o.host = "0.0.0.0";
  try {
    o.validate();
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--insecure"), std::string::npos);
  }
  o.insecure = true;
  EXPECT_NO_THROW(o.validate());
  o.api_key = "k";
  EXPECT_THROW(o.validate(), sdn::Error); // --insecure changes nothing
  o.insecure = false;
  EXPECT_NO_THROW(o.validate());
  o.host = "127.0.0.1";
  o.api_key.clear();
  o.insecure = true;
  EXPECT_THROW(o.validate(), sdn::Error); // loopback: nothing to allow
  o.insecure = false;
  o.port = 70000;
  EXPECT_THROW(o.validate(), sdn::Error);
}

TEST(Server, ClassifiesAndAnswersEveryRoute) {
  ServerOptions o;
  o.max_body_bytes = 4096;
  Running s(o, 16, true);
  auto c = s.client();
  // A list for [N, C, H, W]: classes, names, 1-based exits, costs.
  auto r = c.Post(
      "/v1/classify", npy({{1, 2}, {0, 1}, {1, 0}}), "application/x-npy");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = body_json(r);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["class"], 2);
  EXPECT_EQ(j[0]["class_name"], "cat");
  EXPECT_EQ(j[0]["exit"], 2);
  EXPECT_DOUBLE_EQ(j[0]["cost"].get<double>(), 1.25);
  EXPECT_EQ(j[1]["class"], 1);
  EXPECT_EQ(j[1]["exit"], 1);
  EXPECT_DOUBLE_EQ(j[1]["confidence"].get<double>(), 0.75);
  EXPECT_GE(j[1]["latency_ms"].get<double>(), 0.0);
  EXPECT_EQ(j[2]["class_name"], "ant");
  // One object for [C, H, W].
  r = c.Post("/v1/classify", npy({{0, 1}}, true), "application/x-npy");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  j = body_json(r);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["class_name"], "bee");
  // Bad bodies: JSON errors with the status decode_body gives.
  r = c.Post("/v1/classify", "GIF89a", "image/gif");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);
  EXPECT_NE(
      body_json(r)["error"].get<std::string>().find("image/gif"),
      std::string::npos);
  r = c.Post("/v1/classify", "not an npy", "application/x-npy");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(body_json(r).contains("error"));
  // Over the body limit: 413 from httplib, in JSON too.
  r = c.Post("/v1/classify", std::string(5000, 'x'), "application/x-npy");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(body_json(r).contains("error"));
  r = c.Get("/nowhere");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(body_json(r).contains("error"));
  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body_json(r)["status"], "ok");
  EXPECT_EQ(body_json(r)["exits"], 2);
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  for (const char* line :
       {"sdn_serve_requests_total{path=\"/v1/classify\",code=\"200\"} 2",
        "sdn_serve_requests_total{path=\"/v1/classify\",code=\"415\"} 1",
        "sdn_serve_requests_total{path=\"/v1/classify\",code=\"413\"} 1",
        "sdn_serve_requests_total{path=\"other\",code=\"404\"} 1",
        "sdn_serve_exits_total{exit=\"1\"} 2",
        "sdn_serve_exits_total{exit=\"2\"} 2",
        "sdn_serve_classify_seconds_count 2"}) {
    EXPECT_NE(r->body.find(line), std::string::npos) << line << "\n" << r->body;
  }
}

TEST(Server, AsksEveryRequestForTheKey) {
  ServerOptions o;
  o.api_key = "s3cret";
  Running s(o, 16, true);
  auto c = s.client();
  for (const char* path : {"/healthz", "/metrics"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
    EXPECT_TRUE(body_json(r).contains("error"));
  }
  auto r = c.Post("/v1/classify", npy({{0, 1}}), "application/x-npy");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  c.set_bearer_token_auth("wrong");
  r = c.Post("/v1/classify", npy({{0, 1}}), "application/x-npy");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  c.set_bearer_token_auth("s3cret");
  r = c.Post("/v1/classify", npy({{0, 1}}), "application/x-npy");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// With the executor held back, admitted images stay in flight: the next
// request over the queue limit gets 503 with Retry-After; one of more
// images than the limit could ever hold gets 413; once the executor runs,
// the admitted request is answered.
TEST(Server, QueueLimitGives503AndAdmittedRequestsAreAnswered) {
  Running s(ServerOptions{}, 2, false);
  std::optional<httplib::Result> first;
  std::thread waiting([&] {
    auto c = s.client();
    first.emplace(
        c.Post("/v1/classify", npy({{1, 0}, {0, 2}}), "application/x-npy"));
  });
  for (int i = 0; i < 3000 && s.engine->in_flight() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(s.engine->in_flight(), 2);
  auto c = s.client();
  auto r = c.Post("/v1/classify", npy({{0, 1}}), "application/x-npy");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_NE(
      body_json(r)["error"].get<std::string>().find("--queue-limit"),
      std::string::npos);
  r = c.Post(
      "/v1/classify", npy({{0, 1}, {0, 1}, {0, 1}}), "application/x-npy");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  s.start();
  waiting.join();
  ASSERT_TRUE(first && *first);
  ASSERT_EQ((*first)->status, 200) << (*first)->body;
  const auto j = body_json(*first);
  EXPECT_EQ(j[0]["class"], 0);
  EXPECT_EQ(j[1]["class"], 2);
}

// shutdown() while a request waits for the engine: it is still answered,
// and listen() returns.
TEST(Server, ShutdownAnswersWhatWasAdmitted) {
  auto s = std::make_unique<Running>(ServerOptions{}, 4, false);
  std::optional<httplib::Result> answer;
  std::thread waiting([&] {
    auto c = s->client();
    answer.emplace(c.Post("/v1/classify", npy({{1, 1}}), "application/x-npy"));
  });
  for (int i = 0; i < 3000 && s->engine->in_flight() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(s->engine->in_flight(), 1);
  s->server->shutdown();
  s->start();
  waiting.join();
  ASSERT_TRUE(answer && *answer);
  EXPECT_EQ((*answer)->status, 200) << (*answer)->body;
  s.reset(); // joins the listener: listen() returned
}
