// Host byte sources for a UART's receive line: the UartInput interface the UART polls,
// bytes held in memory (UartBytesInput) and a host file descriptor (UartFdInput).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace piemu {

/// A host byte source for a UART's receive line. The UART calls next_byte() only from
/// its own timer, at virtual-time points it chooses, so a source that always answers
/// (a file, a pipe, a buffer) gives the same guest-visible timeline on every run.
class UartInput {
public:
    static constexpr int kNone = -1; ///< nothing available now; ask again later
    static constexpr int kEof = -2;  ///< the source is exhausted; it is not asked again

    virtual ~UartInput() = default;
    /// Returns the next byte (0-255), kNone or kEof.
    virtual int next_byte() = 0;
};

/// Bytes held in memory: scripted input for tests and `--uart-input` style options.
class UartBytesInput : public UartInput {
public:
    explicit UartBytesInput(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
    explicit UartBytesInput(std::string_view text) : bytes_(text.begin(), text.end()) {}
    int next_byte() override;

private:
    std::vector<uint8_t> bytes_;
    size_t pos_ = 0;
};

/// Bytes read from a host file descriptor, which it does not own or close.
/// Blocking mode (files, pipes): a read waits for data, so what the guest sees depends
/// only on the bytes, never on when the writer produced them; end of file is kEof.
/// Polling mode (an interactive TTY): a read never waits and returns kNone when nothing
/// is typed, so the timeline depends on host timing: nondeterministic by nature. Putting
/// the TTY into raw mode is the caller's business.
class UartFdInput : public UartInput {
public:
    enum class Mode { Blocking, Polling };
    UartFdInput(int fd, Mode mode) : fd_(fd), mode_(mode) {}
    /// Polling for a TTY, Blocking for anything else.
    static std::unique_ptr<UartFdInput> for_fd(int fd);
    int next_byte() override;
    Mode mode() const { return mode_; }

private:
    int fd_;
    Mode mode_;
    std::array<uint8_t, 4096> buf_{};
    size_t pos_ = 0;
    size_t len_ = 0;
    bool eof_ = false;
};

} // namespace piemu
