#include "router/cloud_health.h"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include "common/log.h"
#include "http/io.h"
#include "net/tls_listener.h"

namespace partita::router {

Result<HealthSample> ParseHealth(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return InvalidArgument("health body is not a JSON object");
  const boost::json::object& o = v.as_object();
  HealthSample s;
  const boost::json::value* healthy = o.if_contains("healthy");
  if (healthy == nullptr || !healthy->is_bool()) {
    return InvalidArgument("health body has no boolean 'healthy'");
  }
  s.healthy = healthy->as_bool();
  if (const boost::json::value* load = o.if_contains("load"); load && load->is_number()) {
    s.load = std::clamp(load->to_number<double>(), 0.0, 1.0);
  }
  if (const boost::json::value* b = o.if_contains("fleet_budget_left_usd"); b && b->is_number()) {
    s.budget_left_usd = b->to_number<double>();
  }
  return s;
}

Result<std::unique_ptr<CloudHealthPoller>> CloudHealthPoller::Create(
    std::string url, std::chrono::milliseconds interval, net::TlsContextPtr tls,
    CloudState& cloud) {
  boost::system::result<boost::urls::url_view> u = boost::urls::parse_absolute_uri(url);
  if (!u) return InvalidArgument("cloud.health_url '" + url + "' is not a URL");
  std::unique_ptr<CloudHealthPoller> p(new CloudHealthPoller(cloud));
  const std::string scheme(u->scheme());
  if (scheme != "http" && scheme != "https") {
    return InvalidArgument("cloud.health_url must be http:// or https://");
  }
  p->https_ = scheme == "https";
  p->host_ = std::string(u->host());
  p->port_ = u->has_port() ? u->port_number() : (p->https_ ? 443 : 80);
  p->target_ = std::string(u->encoded_path());
  if (p->target_.empty()) p->target_ = "/v1/partita/health";
  p->interval_ = interval;
  p->tls_ = std::move(tls);
  return p;
}

namespace {
constexpr http::Limits kHealthLimits{16 * 1024, 64 * 1024};
}  // namespace

asio::awaitable<Result<std::string>> CloudHealthPoller::Fetch() {
  auto executor = co_await asio::this_coro::executor;
  const auto timeout = std::min(interval_, std::chrono::milliseconds(2000));
  const std::string request = http::GetRequest(host_, target_, "partita-router");
  // One connection, kept alive across polls; a new one when it fails or is closed. A kept-alive
  // connection the gateway closed meanwhile is retried once on a new one.
  http::ReadResult read;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = tls_stream_.has_value() || tcp_stream_.has_value();
    if (https_) {
      if (!tls_stream_) {
        Result<net::TlsStream> stream =
            co_await net::ConnectTls(executor, host_, port_, tls_, timeout);
        if (!stream.ok()) co_return stream.status();
        tls_stream_.emplace(std::move(*stream));
      }
      net::beast::get_lowest_layer(*tls_stream_).expires_after(timeout);
      read = co_await http::Exchange(*tls_stream_, request, buffer_, response_, kHealthLimits);
    } else {
      if (!tcp_stream_) {
        net::tcp::resolver resolver(executor);
        auto [rec, results] = co_await resolver.async_resolve(host_, std::to_string(port_),
                                                              net::use_nothrow_awaitable);
        if (rec) co_return Unavailable(rec.message());
        tcp_stream_.emplace(executor);
        tcp_stream_->expires_after(timeout);
        auto [cec, ep] = co_await tcp_stream_->async_connect(results, net::use_nothrow_awaitable);
        if (cec) {
          tcp_stream_.reset();
          co_return Unavailable(cec.message());
        }
      }
      tcp_stream_->expires_after(timeout);
      read = co_await http::Exchange(*tcp_stream_, request, buffer_, response_, kHealthLimits);
    }
    const bool ok = read.status == http::ReadStatus::kOk;
    if (!ok || !response_.head.keep_alive) {
      tls_stream_.reset();
      tcp_stream_.reset();
      buffer_.Clear();
    }
    if (ok || !reused || read.status != http::ReadStatus::kClosed) break;
  }
  if (read.status == http::ReadStatus::kClosed) {
    co_return Unavailable("the gateway closed the connection without answering");
  }
  if (read.status != http::ReadStatus::kOk) co_return Unavailable(read.error);
  if (response_.head.status != 200) {
    co_return Unavailable("HTTP " + std::to_string(response_.head.status));
  }
  co_return response_.body;
}

asio::awaitable<void> CloudHealthPoller::Run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopped_) {
    Result<std::string> body = co_await Fetch();
    bool healthy = false;
    double load = 1.0;
    std::string why;
    if (body.ok()) {
      Result<HealthSample> s = ParseHealth(*body);
      if (s.ok()) {
        healthy = s->healthy;
        load = s->load;
        if (s->budget_left_usd >= 0) cloud_.SetGatewayBudgetLeft(s->budget_left_usd);
        if (!healthy) why = "the gateway reports no healthy upstream";
      } else {
        why = s.status().message();
      }
    } else {
      why = "gateway health unreachable: " + body.status().message();
    }
    cloud_.Set(healthy, load);
    polls_.fetch_add(1);
    if (healthy != last_healthy_) {
      last_healthy_ = healthy;
      if (healthy) {
        LogInfo("router", "cloud healthy again");
      } else {
        LogWarn("router", "cloud unhealthy: " + why);
      }
    }
    timer.expires_after(interval_);
    co_await timer.async_wait(net::use_nothrow_awaitable);
  }
}

}  // namespace partita::router
