// The gdb stub's TCP transport and `--gdb` endpoint parsing (see gdb_transport.hpp).
#include "debug/gdb_transport.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace piemu::gdb {

namespace {

constexpr int kWaitSliceMs = 100; ///< how often a blocking wait looks at cancel()

std::optional<uint16_t> parse_port(std::string_view s) {
    if (s.empty() || s.size() > 5)
        return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + unsigned(c - '0');
    }
    if (v > 65535)
        return std::nullopt;
    return uint16_t(v);
}

/// HOST as a dotted IPv4 address: itself, or the first IPv4 address of the name.
std::optional<std::string> resolve_ipv4(const std::string& host) {
    in_addr a{};
    if (inet_pton(AF_INET, host.c_str(), &a) == 1)
        return host;
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res)
        return std::nullopt;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, text, sizeof text);
    freeaddrinfo(res);
    return std::string(text);
}

} // namespace

ErrorOr<Endpoint> parse_endpoint(std::string_view spec, bool allow_remote) {
    const std::string usage =
        fmt::format("--gdb {}: expected tcp::PORT or tcp:HOST:PORT (e.g. tcp::1234)", spec);
    if (spec.substr(0, 4) != "tcp:")
        return Error{usage};
    std::string_view rest = spec.substr(4);
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos)
        return Error{usage};
    std::string host(rest.substr(0, colon));
    auto port = parse_port(rest.substr(colon + 1));
    if (!port)
        return Error{fmt::format("--gdb {}: '{}' is not a port number (0-65535)", spec,
                                 rest.substr(colon + 1))};
    Endpoint e;
    e.port = *port;
    if (host.empty() || host == "localhost") {
        e.host = "127.0.0.1";
        return e;
    }
    auto ip = resolve_ipv4(host);
    if (!ip)
        return Error{fmt::format("--gdb {}: cannot resolve '{}' to an IPv4 address", spec, host)};
    e.host = *ip;
    in_addr a{};
    inet_pton(AF_INET, e.host.c_str(), &a);
    e.loopback = (ntohl(a.s_addr) >> 24) == 127;
    if (!e.loopback && !allow_remote)
        return Error{fmt::format("--gdb {}: {} is not a loopback address; anyone who can reach "
                                 "it would control the guest (add --gdb-allow-remote to allow it)",
                                 spec, e.host)};
    return e;
}

ErrorOr<std::unique_ptr<TcpTransport>> TcpTransport::listen(const Endpoint& at,
                                                            std::string_view spec) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return Error{
            fmt::format("--gdb {}: cannot create a socket: {}", spec, std::strerror(errno))};
    // Rebinding right after an earlier piemu is fine; a port someone listens on is not.
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(at.port);
    inet_pton(AF_INET, at.host.c_str(), &addr.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || ::listen(fd, 1) < 0) {
        int err = errno;
        ::close(fd);
        return Error{fmt::format("--gdb {}: cannot listen on {}:{}: {}", spec, at.host, at.port,
                                 std::strerror(err))};
    }
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    return std::unique_ptr<TcpTransport>(new TcpTransport(fd, ntohs(addr.sin_port)));
}

TcpTransport::~TcpTransport() {
    disconnect();
    if (listener_ >= 0)
        ::close(listener_);
}

IoStatus TcpTransport::wait_readable(int fd, bool block, bool& ready) {
    ready = false;
    for (;;) {
        if (block && cancelled())
            return IoStatus::Cancelled;
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, block ? kWaitSliceMs : 0);
        if (n > 0) {
            ready = true;
            return IoStatus::Ok;
        }
        if (n < 0 && errno != EINTR)
            return IoStatus::Closed;
        if (!block)
            return IoStatus::Ok;
    }
}

IoStatus TcpTransport::accept(bool block) {
    if (client_ >= 0)
        return IoStatus::Ok;
    bool ready = false;
    IoStatus st = wait_readable(listener_, block, ready);
    if (st != IoStatus::Ok || !ready)
        return st;
    int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
        return IoStatus::Ok; // the client gave up before we took it: keep listening
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    client_ = fd;
    return IoStatus::Ok;
}

IoStatus TcpTransport::receive(std::string& out, bool block) {
    if (client_ < 0)
        return IoStatus::Closed;
    bool ready = false;
    IoStatus st = wait_readable(client_, block, ready);
    if (st == IoStatus::Closed) {
        disconnect();
        return st;
    }
    if (st != IoStatus::Ok || !ready)
        return st;
    char buf[4096];
    ssize_t n = ::recv(client_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
        out.append(buf, size_t(n));
        return IoStatus::Ok;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return IoStatus::Ok;
    disconnect(); // 0: an orderly close; < 0: reset
    return IoStatus::Closed;
}

void TcpTransport::send(std::string_view bytes) {
    while (client_ >= 0 && !bytes.empty()) {
        ssize_t n = ::send(client_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            // A client that does not read: wait, but not past a host signal.
            if (cancelled()) {
                disconnect();
                return;
            }
            pollfd p{client_, POLLOUT, 0};
            ::poll(&p, 1, kWaitSliceMs);
            continue;
        }
        if (n <= 0) {
            disconnect();
            return;
        }
        bytes.remove_prefix(size_t(n));
    }
}

void TcpTransport::disconnect() {
    if (client_ >= 0)
        ::close(client_);
    client_ = -1;
}

} // namespace piemu::gdb
