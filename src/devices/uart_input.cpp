// Host byte sources for a UART's receive line. See uart_input.hpp.
#include "devices/uart_input.hpp"

#include <cerrno>
#include <poll.h>
#include <unistd.h>

namespace piemu {

int UartBytesInput::next_byte() {
    return pos_ < bytes_.size() ? bytes_[pos_++] : kEof;
}

std::unique_ptr<UartFdInput> UartFdInput::for_fd(int fd) {
    return std::make_unique<UartFdInput>(fd, isatty(fd) ? Mode::Polling : Mode::Blocking);
}

int UartFdInput::next_byte() {
    if (pos_ < len_)
        return buf_[pos_++];
    if (eof_)
        return kEof;
    if (mode_ == Mode::Polling) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
            return kNone;
    }
    for (;;) {
        ssize_t n = ::read(fd_, buf_.data(), buf_.size());
        if (n > 0) {
            len_ = static_cast<size_t>(n);
            pos_ = 1;
            return buf_[0];
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return kNone;
        eof_ = true; // end of file, or an error the guest cannot act on
        return kEof;
    }
}

} // namespace piemu
