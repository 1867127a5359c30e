// Helpers shared by the fuzz targets (tests/fuzz/README.md): a reader that takes
// typed values from the fuzzer's bytes, files made from bytes for the APIs that take
// a path, and the invariant check that turns a broken promise into a crash libFuzzer
// reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include <sys/mman.h>
#include <unistd.h>

namespace piemu::fuzz {

/// Takes little-endian values from the front of the input; past its end every value
/// is 0, so a short input is still a complete (if dull) test case.
class Input {
public:
    Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}

    bool empty() const { return p_ == end_; }
    size_t remaining() const { return size_t(end_ - p_); }
    uint8_t u8() { return p_ < end_ ? *p_++ : 0; }
    uint16_t u16() { return uint16_t(u8() | u8() << 8); }
    uint32_t u32() { return uint32_t(u16()) | uint32_t(u16()) << 16; }
    /// Up to `n` bytes, as a view into the input (shorter at its end).
    std::string_view bytes(size_t n) {
        n = std::min(n, remaining());
        std::string_view v(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        return v;
    }

private:
    const uint8_t* p_;
    const uint8_t* end_;
};

/// FNV-1a over values (their 8 little-endian bytes) and texts: what a run showed, to
/// compare two runs of one input.
struct Digest {
    uint64_t h = 1469598103934665603ull;
    void add_byte(uint8_t b) { h = (h ^ b) * 1099511628211ull; }
    void add(uint64_t v) {
        for (int i = 0; i < 8; ++i)
            add_byte(uint8_t(v >> (8 * i)));
    }
    void add(std::string_view text) {
        for (unsigned char c : text)
            add_byte(c);
    }
};

/// A file holding `data` for APIs that take a path: a memfd named through
/// /proc/self/fd, so a million executions leave nothing on disk.
class MemFile {
public:
    MemFile(const void* data, size_t size) {
        fd_ = ::memfd_create("piemu-fuzz", MFD_CLOEXEC);
        if (fd_ < 0)
            std::abort();
        const char* p = static_cast<const char*>(data);
        for (size_t done = 0; done < size;) {
            ssize_t n = ::write(fd_, p + done, size - done);
            if (n <= 0)
                std::abort();
            done += size_t(n);
        }
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    ~MemFile() { ::close(fd_); }
    MemFile(const MemFile&) = delete;
    MemFile& operator=(const MemFile&) = delete;
    const std::string& path() const { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

/// A broken invariant: says which and aborts, which libFuzzer records as a crash
/// with the input that caused it.
[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "piemu fuzz: invariant broken at %s:%d: %s\n", file, line, what);
    std::abort();
}

/// libFuzzer's coverage counters (coverage_counters.cpp); empty without coverage.
std::span<uint8_t> coverage_counters();
/// Adds `from` (a copy of the counters, from another process) to them, saturating at
/// 255. Not instrumented itself: traced, its comparisons took 5 % of fuzz_syscall.
void add_coverage_counters(const uint8_t* from);

} // namespace piemu::fuzz

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ::piemu::fuzz::invariant_failed(#cond, __FILE__, __LINE__);                            \
    } while (0)
