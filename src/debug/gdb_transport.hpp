// How the gdb stub reaches its client: a byte stream it can poll without blocking
// (while the guest runs) and wait on (while the guest is stopped), plus accepting
// clients. TcpTransport is the real one (`--gdb tcp::PORT`); the protocol tests use
// a scripted fake.
//
// Waiting is host-side only: whatever the host's timing, nothing of it reaches the
// machine (the stub polls between slices counted in guest instructions).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "piemu/error.hpp"

namespace piemu::gdb {

/// How a receive or accept ended.
enum class IoStatus {
    Ok,        ///< bytes (possibly none, when not blocking) or a client
    Closed,    ///< the client went away (or never was): it is disconnected now
    Cancelled, ///< a blocking wait gave up because cancel() said so (a host signal)
};

class Transport {
public:
    virtual ~Transport() = default;
    /// Takes a waiting client if there is none yet. With `block`, waits for one;
    /// otherwise returns at once (connected() tells whether one came).
    virtual IoStatus accept(bool block) = 0;
    virtual bool connected() const = 0;
    /// Appends what the client sent to `out`. With `block`, waits for at least one
    /// byte. Closed when the client has gone (the transport then has no client).
    virtual IoStatus receive(std::string& out, bool block) = 0;
    /// Sends bytes to the client (dropped if there is none; a failed send
    /// disconnects it).
    virtual void send(std::string_view bytes) = 0;
    /// Drops the client; the transport keeps accepting new ones.
    virtual void disconnect() = 0;
    /// Blocking waits end with Cancelled when `cancel()` returns true; it is checked
    /// at least every 100 ms of host time.
    void set_cancel(std::function<bool()> cancel) { cancel_ = std::move(cancel); }

protected:
    bool cancelled() const { return cancel_ && cancel_(); }

private:
    std::function<bool()> cancel_;
};

/// Where `--gdb` listens.
struct Endpoint {
    std::string host; ///< dotted IPv4 address
    uint16_t port = 0;
    bool loopback = true;
};

/// Parses `tcp::PORT` (127.0.0.1) or `tcp:HOST:PORT` (HOST an IPv4 address or a
/// name; `localhost` is 127.0.0.1). PORT 0 asks the system for a free port. A
/// non-loopback HOST is an error unless `allow_remote`. Errors name the option.
ErrorOr<Endpoint> parse_endpoint(std::string_view spec, bool allow_remote);

/// A TCP listening socket serving one client at a time (others wait in the backlog
/// until the first one has gone).
class TcpTransport final : public Transport {
public:
    /// Binds and listens; errors (port in use, ...) name `spec`.
    static ErrorOr<std::unique_ptr<TcpTransport>> listen(const Endpoint& at, std::string_view spec);
    ~TcpTransport() override;
    TcpTransport(const TcpTransport&) = delete;
    TcpTransport& operator=(const TcpTransport&) = delete;

    /// The port bound (the system's choice for port 0).
    uint16_t port() const { return port_; }
    IoStatus accept(bool block) override;
    bool connected() const override { return client_ >= 0; }
    IoStatus receive(std::string& out, bool block) override;
    void send(std::string_view bytes) override;
    void disconnect() override;

private:
    TcpTransport(int listener, uint16_t port) : listener_(listener), port_(port) {}
    /// poll() on `fd` for input: with `block`, until ready or cancelled.
    IoStatus wait_readable(int fd, bool block, bool& ready);

    int listener_ = -1;
    int client_ = -1;
    uint16_t port_ = 0;
};

} // namespace piemu::gdb
