// libFuzzer's inline 8-bit counters (the __sancov_cntrs section the linker bounds with
// __start_/__stop_ symbols), for a target that runs inputs in a forked child and
// adds the child's counters to its own (fuzz_syscall.cpp). This file is built without
// coverage instrumentation (tests/fuzz/CMakeLists.txt): an instrumented file that
// names these symbols stops clang 14's module constructor from registering the
// counters with libFuzzer. In a build without coverage the section does not exist
// and the span is empty.
#include <cstdint>
#include <span>

extern "C" __attribute__((weak)) uint8_t __start___sancov_cntrs[];
extern "C" __attribute__((weak)) uint8_t __stop___sancov_cntrs[];

namespace piemu::fuzz {

std::span<uint8_t> coverage_counters() {
    if (!__start___sancov_cntrs)
        return {};
    return {__start___sancov_cntrs, size_t(__stop___sancov_cntrs - __start___sancov_cntrs)};
}

void add_coverage_counters(const uint8_t* from) {
    for (uint8_t& c : coverage_counters()) {
        unsigned sum = c + *from++;
        c = uint8_t(sum > 255 ? 255 : sum);
    }
}

} // namespace piemu::fuzz
