// Fuzz target: the kernel model's guest syscall ABI (src/kernel/syscalls.cpp and
// everything behind it: genirq's request/free/enable/disable, printk's format
// reader, kthreads, softirqs, tasklets, work, completions, mutexes, the firmware
// and MMC calls). The input becomes a tiny guest (an ELF with the kernel-model note,
// built here) whose init makes up to kMaxCalls `svc #0` calls, numbers and r0-r5
// taken from the input: raw words, small numbers, pointers into a data area the
// input fills, or pointers to guest functions (return 1, return 0, spin forever,
// sleep in the handler). The run is bounded by --max-insns (1M) and --duration (50 ms);
// every outcome is fine except a crash, a sanitizer report or a hang of the host.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../unit/loader_elf_builder.hpp"
#include "fuzz_input.hpp"
#include "piemu/guest_abi.h"
#include "piemu/machine.hpp"

using namespace piemu;

namespace {

constexpr uint32_t kText = 0x8000, kTable = 0x9000, kDataArea = 0x9400;
constexpr unsigned kMaxCalls = 32, kDataBytes = 0x200;

// init: push {r4-r9, lr}; r8 = table; r9 = count; loop: ldm r8!, {r0-r5, r7};
// svc #0; until r9 == 0; return 0. Then the functions arguments may point at.
constexpr uint32_t kInit[] = {
    0xe92d43f0, 0xe3098000, 0xe3408000, 0xe3009000 /* | count */,
    0xe3590000, 0x0a000003, 0xe8b800bf, 0xef000000,
    0xe2499001, 0xeafffff9, 0xe3a00000, 0xe8bd83f0,
};
constexpr uint32_t kRet1 = kText + 0x40, kRet0 = kText + 0x48, kSpin = kText + 0x50,
                   kSleeper = kText + 0x54;
constexpr uint32_t kFunctions[] = {
    0xe3a00001, 0xe12fff1e,                                     // ret1
    0xe3a00000, 0xe12fff1e,                                     // ret0
    0xeafffffe,                                                 // spin
    0xe92d4080, 0xe3a0000a, 0xe3a07009, 0xef000000, 0xe8bd8080, // msleep(10) in a handler
};

void put_words(std::vector<uint8_t>& out, size_t at, const uint32_t* words, size_t n) {
    if (out.size() < at + 4 * n)
        out.resize(at + 4 * n);
    for (size_t i = 0; i < n; ++i)
        for (int b = 0; b < 4; ++b)
            out[at + 4 * i + b] = uint8_t(words[i] >> (8 * b));
}

uint32_t argument(fuzz::Input& in) {
    uint8_t mode = in.u8();
    switch (mode & 3) {
    case 0:
        return in.u32();
    case 1:
        return in.u8();
    case 2:
        return kDataArea + in.u8() * 2;
    default: {
        static constexpr uint32_t kFns[] = {kRet1, kRet0, kSpin, kSleeper, kDataArea, 0};
        return kFns[(mode >> 2) % 6];
    }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    uint8_t flags = in.u8();

    // The data area first (strings, completions, tasklets...), then the calls.
    std::vector<uint8_t> rw(kDataArea - kTable + kDataBytes);
    std::string_view area = in.bytes(in.u8() * 2);
    std::copy(area.begin(), area.end(), rw.begin() + (kDataArea - kTable));
    unsigned calls = 0;
    for (; calls < kMaxCalls && !in.empty(); ++calls) {
        uint32_t entry[7];
        for (int r = 0; r < 6; ++r)
            entry[r] = argument(in);
        entry[6] = in.u8() % (__NR_piemu_syscalls + 4); // r7: some numbers past the last
        put_words(rw, calls * sizeof entry, entry, 7);
    }

    std::vector<uint8_t> text;
    put_words(text, 0, kInit, std::size(kInit));
    put_words(text, 0x40, kFunctions, std::size(kFunctions));
    uint32_t count = 0xe3009000 | calls; // movw r9, #calls
    put_words(text, 12, &count, 1);

    loader_test::ElfBuilder elf;
    elf.entry = kText;
    elf.segments.push_back({.paddr = kText, .data = text});
    elf.segments.push_back({.paddr = kTable, .data = rw, .flags = PF_R | PF_W});
    elf.symbols.push_back({.name = "init", .value = kText, .size = 0x30});
    elf.symbols.push_back({.name = "handler", .value = kRet1, .size = 8});
    elf.note_section.push_back(loader_test::piemu_note(kKernelModelAbiVersion));
    auto bytes = elf.build();
    fuzz::MemFile file(bytes.data(), bytes.size());
    if (const char* keep = std::getenv("PIEMU_FUZZ_KEEP_ELF")) // to run it with piemu
        if (FILE* f = std::fopen(keep, "wb")) {
            std::fwrite(bytes.data(), 1, bytes.size(), f);
            std::fclose(f);
        }

    MachineOptions options;
    options.board = flags & 1 ? "raspi3b" : "raspi2b";
    options.kernel_model = true;
    options.threadirqs = flags & 2;
    options.panic_on_bug = flags & 4;
    // PIEMU_FUZZ_VERBOSE=1: the kernel log on stdout and the outcome, to read a case.
    bool verbose = std::getenv("PIEMU_FUZZ_VERBOSE") != nullptr;
    options.uart = verbose ? "stdio" : "none";
    options.max_insns = 1'000'000;
    options.duration_ns = 50'000'000;
    auto machine = Machine::create(options);
    FUZZ_CHECK(!machine.is_error());
    auto loaded = machine.value()->load(file.path(), std::nullopt);
    FUZZ_CHECK(!loaded.is_error());
    RunOutcome outcome = machine.value()->run();
    if (verbose)
        std::printf("-- outcome %d, status %d: %s\n", int(outcome.kind), outcome.exit_status,
                    outcome.message.c_str());
    FUZZ_CHECK(outcome.kind != RunOutcome::Kind::HostSignal);
    return 0;
}
