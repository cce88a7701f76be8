// Fused max + average pooling for the internal classifiers (see the header).
#include "sdn/heads/max_avg_pool.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/autograd.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sdn::heads {

namespace {

/// The largest window side: offsets within a window are stored as uint8.
constexpr int64_t kMaxKernel = 16;

struct Geometry {
  int64_t n = 0, c = 0, h = 0, w = 0, ho = 0, wo = 0, k = 0;
  bool channels_last = false;
};

Geometry geometry_of(const torch::Tensor& x, int64_t k) {
  Geometry g;
  g.n = x.size(0);
  g.c = x.size(1);
  g.h = x.size(2);
  g.w = x.size(3);
  g.k = k;
  g.ho = g.h / k;
  g.wo = g.w / k;
  // A tensor contiguous both ways (C == 1, or 1x1 maps) takes the NCHW path.
  g.channels_last =
      !x.is_contiguous() && x.is_contiguous(torch::MemoryFormat::ChannelsLast);
  return g;
}

torch::MemoryFormat format_of(const Geometry& g) {
  return g.channels_last ? torch::MemoryFormat::ChannelsLast :
                           torch::MemoryFormat::Contiguous;
}

/// Parallel grain: about this many input elements per task.
int64_t grain_for(int64_t elements_per_item) {
  constexpr int64_t kElementsPerTask = 32768;
  return std::max<int64_t>(
      1, kElementsPerTask / std::max<int64_t>(1, elements_per_item));
}

/// Forward: max, argmax offset (i * k + j) and mean of every window. The
/// scan order and the comparison are ATen's max_pool2d (first maximum in
/// row-major window order, NaN wins); the mean is ATen's avg_pool2d (sum in
/// the same order from zero, then divided by k * k).
void pool_forward(
    const Geometry& g,
    const float* x,
    float* mx,
    float* av,
    uint8_t* am) {
  const auto kk = static_cast<float>(g.k * g.k);
  constexpr float kLowest = -std::numeric_limits<float>::infinity();
  if (g.channels_last) {
    // x is [N, H, W, C] in memory; outputs [N, Ho, Wo, C].
    at::parallel_for(
        0,
        g.n * g.ho,
        grain_for(g.k * g.w * g.c),
        [&](int64_t begin, int64_t end) {
          for (int64_t r = begin; r < end; ++r) {
            const int64_t n = r / g.ho;
            const int64_t ho = r % g.ho;
            for (int64_t wo = 0; wo < g.wo; ++wo) {
              const int64_t o = ((n * g.ho + ho) * g.wo + wo) * g.c;
              float* pm = mx + o;
              float* pa = av + o;
              uint8_t* pi = am + o;
              for (int64_t c = 0; c < g.c; ++c) {
                pm[c] = kLowest;
                pa[c] = 0.0F;
                pi[c] = 0;
              }
              for (int64_t i = 0; i < g.k; ++i) {
                for (int64_t j = 0; j < g.k; ++j) {
                  const float* px =
                      x + ((n * g.h + ho * g.k + i) * g.w + wo * g.k + j) * g.c;
                  const auto off = static_cast<uint8_t>(i * g.k + j);
                  for (int64_t c = 0; c < g.c; ++c) {
                    const float v = px[c];
                    if (v > pm[c] || std::isnan(v)) {
                      pm[c] = v;
                      pi[c] = off;
                    }
                    pa[c] += v;
                  }
                }
              }
              for (int64_t c = 0; c < g.c; ++c) {
                pa[c] /= kk;
              }
            }
          }
        });
    return;
  }
  // NCHW: one task item is one row of windows of one channel.
  at::parallel_for(
      0,
      g.n * g.c * g.ho,
      grain_for(g.k * g.w),
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const int64_t plane = r / g.ho;
          const int64_t ho = r % g.ho;
          const float* px = x + (plane * g.h + ho * g.k) * g.w;
          for (int64_t wo = 0; wo < g.wo; ++wo) {
            float m = kLowest;
            float s = 0.0F;
            uint8_t a = 0;
            for (int64_t i = 0; i < g.k; ++i) {
              const float* row = px + i * g.w + wo * g.k;
              for (int64_t j = 0; j < g.k; ++j) {
                const float v = row[j];
                if (v > m || std::isnan(v)) {
                  m = v;
                  a = static_cast<uint8_t>(i * g.k + j);
                }
                s += v;
              }
            }
            const int64_t o = (plane * g.ho + ho) * g.wo + wo;
            mx[o] = m;
            av[o] = s / kk;
            am[o] = a;
          }
        }
      });
}

/// Backward: d x = d avg / (k * k) everywhere in a window, plus d max at the
/// window's argmax; zero outside the windows (floor mode). One write per
/// element of d x.
void pool_backward(
    const Geometry& g,
    const float* gm,
    const float* ga,
    const uint8_t* am,
    float* gx) {
  const auto kk = static_cast<float>(g.k * g.k);
  if (g.channels_last) {
    at::parallel_for(
        0, g.n * g.h, grain_for(g.w * g.c), [&](int64_t begin, int64_t end) {
          for (int64_t r = begin; r < end; ++r) {
            const int64_t n = r / g.h;
            const int64_t h = r % g.h;
            const int64_t ho = h / g.k;
            const int64_t i = h % g.k;
            float* row = gx + r * g.w * g.c;
            for (int64_t w = 0; w < g.w; ++w) {
              float* out = row + w * g.c;
              const int64_t wo = w / g.k;
              if (ho >= g.ho || wo >= g.wo) {
                std::fill(out, out + g.c, 0.0F);
                continue;
              }
              const int64_t o = ((n * g.ho + ho) * g.wo + wo) * g.c;
              const auto off = static_cast<uint8_t>(i * g.k + w % g.k);
              for (int64_t c = 0; c < g.c; ++c) {
                const float d = ga[o + c] / kk;
                out[c] = am[o + c] == off ? d + gm[o + c] : d;
              }
            }
          }
        });
    return;
  }
  at::parallel_for(
      0, g.n * g.c * g.h, grain_for(g.w), [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const int64_t plane = r / g.h;
          const int64_t h = r % g.h;
          const int64_t ho = h / g.k;
          const int64_t i = h % g.k;
          float* row = gx + r * g.w;
          if (ho >= g.ho) {
            std::fill(row, row + g.w, 0.0F);
            continue;
          }
          for (int64_t w = 0; w < g.w; ++w) {
            const int64_t wo = w / g.k;
            if (wo >= g.wo) {
              row[w] = 0.0F;
              continue;
            }
            const int64_t o = (plane * g.ho + ho) * g.wo + wo;
            const float d = ga[o] / kk;
            row[w] = am[o] == static_cast<uint8_t>(i * g.k + w % g.k) ?
                d + gm[o] :
                d;
          }
        }
      });
}

struct Pooled {
  torch::Tensor max, avg, argmax;
};

Pooled pool(const torch::Tensor& x, const Geometry& g) {
  const auto format = format_of(g);
  const auto options = x.options().memory_format(format);
  Pooled p;
  p.max = torch::empty({g.n, g.c, g.ho, g.wo}, options);
  p.avg = torch::empty({g.n, g.c, g.ho, g.wo}, options);
  p.argmax = torch::empty({g.n, g.c, g.ho, g.wo}, options.dtype(torch::kUInt8));
  pool_forward(
      g,
      x.data_ptr<float>(),
      p.max.data_ptr<float>(),
      p.avg.data_ptr<float>(),
      p.argmax.data_ptr<uint8_t>());
  return p;
}

class MaxAvgPoolFunction
    : public torch::autograd::Function<MaxAvgPoolFunction> {
 public:
  static torch::autograd::variable_list forward(
      torch::autograd::AutogradContext* ctx,
      const torch::Tensor& x,
      int64_t k) {
    const auto g = geometry_of(x, k);
    auto p = pool(x, g);
    ctx->saved_data["argmax"] = p.argmax;
    ctx->saved_data["k"] = k;
    ctx->saved_data["h"] = g.h;
    ctx->saved_data["w"] = g.w;
    ctx->saved_data["channels_last"] = g.channels_last;
    return {p.max, p.avg};
  }

  static torch::autograd::variable_list backward(
      torch::autograd::AutogradContext* ctx,
      torch::autograd::variable_list grads) {
    const auto argmax = ctx->saved_data["argmax"].toTensor();
    Geometry g;
    g.n = argmax.size(0);
    g.c = argmax.size(1);
    g.ho = argmax.size(2);
    g.wo = argmax.size(3);
    g.k = ctx->saved_data["k"].toInt();
    g.h = ctx->saved_data["h"].toInt();
    g.w = ctx->saved_data["w"].toInt();
    g.channels_last = ctx->saved_data["channels_last"].toBool();
    const auto format = format_of(g);
    const auto options = argmax.options().dtype(torch::kFloat);
    auto grad_of = [&](const torch::Tensor& t) {
      return t.defined() ?
          t.to(torch::kFloat).contiguous(format) :
          torch::zeros({g.n, g.c, g.ho, g.wo}, options.memory_format(format));
    };
    const auto gm = grad_of(grads[0]);
    const auto ga = grad_of(grads[1]);
    auto gx = torch::empty({g.n, g.c, g.h, g.w}, options.memory_format(format));
    pool_backward(
        g,
        gm.data_ptr<float>(),
        ga.data_ptr<float>(),
        argmax.data_ptr<uint8_t>(),
        gx.data_ptr<float>());
    return {gx, torch::Tensor()};
  }
};

} // namespace

bool max_avg_pool_is_fused(const torch::Tensor& x, int64_t k) {
  return x.defined() && x.dim() == 4 && x.device().is_cpu() &&
      x.scalar_type() == torch::kFloat && k >= 1 && k <= kMaxKernel &&
      x.size(2) >= k && x.size(3) >= k &&
      (x.is_contiguous() || x.is_contiguous(torch::MemoryFormat::ChannelsLast));
}

std::pair<torch::Tensor, torch::Tensor> max_avg_pool(
    const torch::Tensor& x,
    int64_t k) {
  if (!max_avg_pool_is_fused(x, k)) {
    return {
        torch::max_pool2d(x, {k, k}, {k, k}),
        torch::avg_pool2d(x, {k, k}, {k, k})};
  }
  if (!at::GradMode::is_enabled() || !x.requires_grad()) {
    auto p = pool(x, geometry_of(x, k));
    return {p.max, p.avg};
  }
  auto out = MaxAvgPoolFunction::apply(x, k);
  return {out[0], out[1]};
}

} // namespace sdn::heads
