// Reading input files for the loaders, with one-line errors that name the file.
#include "loader/internals.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "piemu/bus.hpp"

namespace piemu::loader {

namespace {
/// Closes the descriptor on every path out of read_file().
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0)
            ::close(fd);
    }
};
} // namespace

static const char* file_kind(mode_t mode) {
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

ErrorOr<std::vector<uint8_t>> read_file(const std::string& path) {
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0)
        return file_error(path, "cannot open: {}", std::strerror(errno));
    struct stat st {};
    if (::fstat(f.fd, &st) != 0)
        return file_error(path, "cannot read: {}", std::strerror(errno));
    if (S_ISDIR(st.st_mode))
        return file_error(path, "cannot read: {}", std::strerror(EISDIR));
    // Regular files, and pipes (`piemu run /dev/stdin < image`); never a device such as
    // /dev/zero, which would be read until memory runs out.
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
        return file_error(path, "cannot read: {}, not a file", file_kind(st.st_mode));
    // Checked before reading: a huge file must not exhaust host memory (std::bad_alloc).
    if (S_ISREG(st.st_mode) && uint64_t(st.st_size) > kMaxFileSize)
        return file_error(path, "too large: {:#x} bytes, more than any guest memory ({:#x})",
                          uint64_t(st.st_size), kMaxFileSize);

    std::vector<uint8_t> data;
    if (S_ISREG(st.st_mode))
        data.reserve(static_cast<size_t>(st.st_size));
    uint8_t chunk[64 * 1024];
    for (;;) {
        ssize_t n = ::read(f.fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return file_error(path, "cannot read: {}", std::strerror(errno));
        if (n == 0)
            break;
        if (data.size() + size_t(n) > kMaxFileSize) // a pipe, or a file that grew
            return file_error(path, "too large: more than any guest memory ({:#x} bytes)",
                              kMaxFileSize);
        data.insert(data.end(), chunk, chunk + n);
    }
    if (data.empty())
        return file_error(path, "empty file");
    return data;
}

std::string ram_range(const Bus& bus) {
    return fmt::format("0x00000000-0x{:08x}", uint64_t(bus.ram_size()) - 1);
}

bool fits_in_memory(const Bus& bus, uint64_t addr, uint64_t size) {
    if (size > UINT32_MAX || addr + size > (uint64_t(1) << 32))
        return false;
    if (size == 0)
        return addr <= bus.ram_size() || bus.is_memory(uint32_t(addr));
    return bus.is_memory(uint32_t(addr), uint32_t(size));
}

ErrorOr<void> check_fits(const std::string& path, const char* what, uint64_t addr, uint64_t size,
                         const Bus& bus) {
    if (!fits_in_memory(bus, addr, size))
        return file_error(path, "{} of {:#x} bytes at 0x{:08x} does not fit in RAM ({})", what,
                          size, addr, ram_range(bus));
    return {};
}

} // namespace piemu::loader
