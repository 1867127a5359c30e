// Fuzz target: the kernel model's guest syscall ABI (src/kernel/syscalls.cpp and
// everything behind it: genirq's request/free/enable/disable, printk's format
// reader, kthreads, softirqs, tasklets, work, completions, mutexes, the firmware
// and MMC calls). The input becomes a tiny guest (an ELF with the kernel-model note,
// built here) whose init makes up to kMaxCalls `svc #0` calls, numbers and r0-r5
// taken from the input: raw words, small numbers, pointers into a data area the
// input fills, or pointers to guest functions (return 1, return 0, spin forever,
// sleep in the handler). The run is bounded by --max-insns (100,000) and --duration
// (50 ms); every outcome is fine except a crash, a sanitizer report or a hang of the
// host.
//
// Creating the machine costs far more than running the input (four Unicorn engines,
// about 90,000 allocations under ASan). So under libFuzzer a zygote process per
// configuration, forked before the fuzzer read its corpus, creates that machine once
// and never runs it; each input runs in a child the zygote forks, on a copy of it, the
// way QEMU's device fuzzers run each input in a child of a process that initialised
// the machine once. The child's coverage counters (libFuzzer's inline 8-bit counters,
// __sancov_cntrs) are added to the fuzzer's through shared memory; a child that dies
// (a sanitizer report, an abort) makes the fuzzer abort too, so libFuzzer keeps the
// input. Every 1000th input also runs on a freshly created machine in the fuzzer and
// must end the same way (outcome, instructions, virtual time, kernel log). The replay
// binaries (no coverage counters) run every input on a fresh machine, leak checks
// included.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/loader_elf_builder.hpp"
#include "fuzz_input.hpp"
#include "kernel/kernel_model.hpp"
#include "piemu/guest_abi.h"
#include "piemu/machine.hpp"

using namespace piemu;

/// Defined (true) by replay_main.cpp.
extern "C" __attribute__((weak)) const bool piemu_fuzz_replaying;
/// ASan's (sanitizer/allocator_interface.h, which gcc's builds lack): empties the
/// quarantine and gives freed memory back to the system.
extern "C" __attribute__((weak)) void __sanitizer_purge_allocator();

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

/// The guest an input describes: the flags byte and the ELF image.
std::pair<uint8_t, std::vector<uint8_t>> build_guest(const uint8_t* data, size_t size) {
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
    return {flags, elf.build()};
}

/// How a run ended, as the parent compares it: plain data, for shared memory.
struct Result {
    int kind = 0;
    int status = 0;
    uint64_t instructions = 0;
    uint64_t now = 0;
    uint64_t log_hash = 0;
    char message[240] = {};

    bool operator==(const Result& o) const {
        return kind == o.kind && status == o.status && instructions == o.instructions &&
               now == o.now && log_hash == o.log_hash &&
               std::strncmp(message, o.message, sizeof message) == 0;
    }
    void print(const char* which) const {
        std::fprintf(stderr,
                     "fuzz_syscall: %s: outcome %d status %d, %llu instructions, "
                     "time %llu, log %016llx (%s)\n",
                     which, kind, status, (unsigned long long)instructions, (unsigned long long)now,
                     (unsigned long long)log_hash, message);
    }
};

void purge_allocator() {
    if (__sanitizer_purge_allocator)
        __sanitizer_purge_allocator();
}

bool verbose() {
    return std::getenv("PIEMU_FUZZ_VERBOSE") != nullptr;
}

std::unique_ptr<Machine> create_machine(uint8_t flags) {
    MachineOptions options;
    options.board = flags & 1 ? "raspi3b" : "raspi2b";
    options.kernel_model = true;
    options.threadirqs = flags & 2;
    options.panic_on_bug = flags & 4;
    // PIEMU_FUZZ_VERBOSE=1: the kernel log on stdout and the outcome, to read a case.
    options.uart = verbose() ? "stdio" : "none";
    // Not its warnings on stderr either: a guest that oopses in a loop filled the
    // fuzzer's log with gigabytes of them. Sanitizer reports still go there.
    options.kernel_warnings_to_stderr = false;
    // A run that makes its calls takes a few thousand instructions (1,205 at the median
    // of a grown corpus, 2,796 at the 90th percentile). One that reaches the limit has
    // lost its way (init running through zeroed RAM, a handler spinning), and under 1M
    // those runs were 6 % of the corpus and 80 % of its time, for no new coverage.
    options.max_insns = 100'000;
    options.duration_ns = 50'000'000;
    auto machine = Machine::create(options);
    FUZZ_CHECK(!machine.is_error());
    return std::move(machine.value());
}

/// Loads the guest on `machine` (created, never run) and runs it.
Result run(Machine& machine, const std::string& path) {
    auto loaded = machine.load(path, std::nullopt);
    FUZZ_CHECK(!loaded.is_error());
    RunOutcome outcome = machine.run();
    if (verbose())
        std::printf("-- outcome %d, status %d: %s\n", int(outcome.kind), outcome.exit_status,
                    outcome.message.c_str());
    FUZZ_CHECK(outcome.kind != RunOutcome::Kind::HostSignal);
    Result r;
    r.kind = int(outcome.kind);
    r.status = outcome.exit_status;
    r.instructions = machine.instructions();
    r.now = machine.clock().now();
    // The ring's records as stored (formatting them as dmesg does took 0.9 % of the
    // children's time in a profile of the lanes).
    fuzz::Digest log;
    for (const kernel::LogRecord& rec : machine.kernel_model()->log().records()) {
        log.add(rec.ts_ns);
        log.add(uint64_t(rec.level));
        log.add(rec.text);
        log.add_byte('\n');
    }
    r.log_hash = log.h;
    std::snprintf(r.message, sizeof r.message, "%s", outcome.message.c_str());
    return r;
}

/// How a run ended and the coverage it had: shared by the fuzzer, the zygotes and
/// their children (one input runs at a time).
struct Shared {
    Result result;
    uint8_t counters[];
};

Shared* shared_memory() {
    static Shared* shared = [] {
        void* p = ::mmap(nullptr, sizeof(Shared) + fuzz::coverage_counters().size(),
                         PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        FUZZ_CHECK(p != MAP_FAILED);
        return static_cast<Shared*>(p);
    }();
    return shared;
}

/// Moves all `size` bytes through `io` (::read or ::write), again after a signal;
/// false at the end of the pipe or on an error.
template <typename Io, typename Byte>
bool transfer_all(Io io, int fd, Byte* p, size_t size) {
    while (size > 0) {
        ssize_t n = io(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        size -= size_t(n);
    }
    return true;
}

bool read_all(int fd, void* data, size_t size) {
    return transfer_all(::read, fd, static_cast<uint8_t*>(data), size);
}

bool write_all(int fd, const void* data, size_t size) {
    return transfer_all(::write, fd, static_cast<const uint8_t*>(data), size);
}

/// Ends this process when the one that forked it ends (libFuzzer's -timeout, a crash),
/// so no zygote or child outlives the fuzzer.
void die_with_parent(pid_t parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
        ::_exit(1);
}

/// A process forked from the fuzzer at its first input, before the fuzzer grew, that
/// creates one configuration's machine, never runs it, and forks a child per input to
/// run on a copy of it. fork() copies the page tables of everything the forking process
/// has mapped, so forking the fuzzer itself (its corpus, ASan's quarantine, eight
/// machines: about 300 MB) took over half of each input's time.
class Zygote {
public:
    explicit Zygote(uint8_t flags) {
        int requests[2], replies[2];
        FUZZ_CHECK(::pipe2(requests, O_CLOEXEC) == 0 && ::pipe2(replies, O_CLOEXEC) == 0);
        pid_t parent = ::getpid();
        std::fflush(stdout);
        std::fflush(stderr);
        pid_ = ::fork();
        FUZZ_CHECK(pid_ >= 0);
        if (pid_ == 0) {
            die_with_parent(parent);
            ::prctl(PR_SET_NAME, "fuzz-zygote");
            // The other zygotes' pipes too: each sees the end of its requests when the
            // fuzzer closes them.
            for (int fd : fuzzer_ends())
                ::close(fd);
            ::close(requests[1]);
            ::close(replies[0]);
            serve(flags, requests[0], replies[1]);
        }
        ::close(requests[0]);
        ::close(replies[1]);
        requests_ = requests[1];
        replies_ = replies[0];
        fuzzer_ends().insert(fuzzer_ends().end(), {requests_, replies_});
    }

    ~Zygote() {
        ::close(requests_);
        ::close(replies_);
        ::waitpid(pid_, nullptr, 0);
    }

    /// Runs `elf` on a copy of the machine and returns how it ended; the run's coverage
    /// is added to this process's.
    Result run(const std::vector<uint8_t>& elf) {
        uint32_t size = uint32_t(elf.size());
        int status = 0;
        if (!write_all(requests_, &size, sizeof size) ||
            !write_all(requests_, elf.data(), elf.size()) ||
            !read_all(replies_, &status, sizeof status)) {
            std::fprintf(stderr, "fuzz_syscall: the zygote (pid %d) is gone\n", int(pid_));
            std::abort();
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            // The child's sanitizer report or invariant came first in the log.
            std::fprintf(stderr, "fuzz_syscall: the forked run %s %d\n",
                         WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            std::abort();
        }
        Shared* shared = shared_memory();
        fuzz::add_coverage_counters(shared->counters);
        return shared->result;
    }

private:
    static std::vector<int>& fuzzer_ends() {
        static std::vector<int> fds;
        return fds;
    }

    [[noreturn]] static void serve(uint8_t flags, int requests, int replies) {
        std::unique_ptr<Machine> machine = create_machine(flags);
        // What creating it freed goes back, so each fork copies less.
        purge_allocator();
        std::vector<uint8_t> elf;
        pid_t zygote = ::getpid();
        for (;;) {
            uint32_t size = 0;
            if (!read_all(requests, &size, sizeof size))
                ::_exit(0); // the fuzzer is done
            elf.resize(size);
            FUZZ_CHECK(read_all(requests, elf.data(), size));
            std::fflush(stdout);
            std::fflush(stderr);
            pid_t pid = ::fork();
            FUZZ_CHECK(pid >= 0);
            if (pid == 0) {
                die_with_parent(zygote);
                ::prctl(PR_SET_NAME, "fuzz-run");
                std::span<uint8_t> counters = fuzz::coverage_counters();
                std::memset(counters.data(), 0, counters.size());
                fuzz::MemFile file(elf.data(), elf.size());
                Shared* shared = shared_memory();
                shared->result = ::run(*machine, file.path());
                if (std::getenv("PIEMU_FUZZ_TEST_CHILD_ABORT")) // fuzz.fork.child_abort
                    std::abort();
                std::memcpy(shared->counters, counters.data(), counters.size());
                std::fflush(stdout);
                ::_exit(0); // no atexit handlers, no leak check of the copied machine
            }
            int status = 0;
            while (::waitpid(pid, &status, 0) < 0)
                FUZZ_CHECK(errno == EINTR);
            FUZZ_CHECK(write_all(replies, &status, sizeof status));
        }
    }

    pid_t pid_ = -1;
    int requests_ = -1, replies_ = -1;
};

/// A zygote per configuration (the flags' three bits), all forked before the fuzzer
/// read its corpus; the shared memory is mapped first, so they share it.
std::vector<std::unique_ptr<Zygote>>& zygotes() {
    static std::vector<std::unique_ptr<Zygote>> all = [] {
        // A zygote that died makes a write to its pipe fail with EPIPE, which
        // Zygote::run reports, rather than kill the fuzzer without a word.
        ::signal(SIGPIPE, SIG_IGN);
        shared_memory();
        std::vector<std::unique_ptr<Zygote>> v;
        for (uint8_t f = 0; f < 8; ++f)
            v.push_back(std::make_unique<Zygote>(f));
        return v;
    }();
    return all;
}

/// Runs a guest that makes no calls on a machine made for it, then drops the machine and
/// returns its memory, so that what a process sets up on first use is set up once, in
/// the fuzzer the zygotes are forked from, and not again in every child: the dynamic
/// linker's lazy bindings and the like, and the exclusive-monitor probe (a scratch
/// Unicorn engine, created on the first switch between cores). Measured over the same
/// 3,950 inputs: 480 page faults and 5.3 ms of CPU per input against 922 and 7.7 ms.
void warm_up() {
    const uint8_t nothing[] = {0};
    auto guest = build_guest(nothing, sizeof nothing);
    fuzz::MemFile file(guest.second.data(), guest.second.size());
    run(*create_machine(guest.first), file.path());
    ArmCore::exclusive_monitor_reachable(); // probed on the first switch between cores
    purge_allocator();
}

bool forking() {
    bool replaying = &piemu_fuzz_replaying && piemu_fuzz_replaying;
    return !replaying && !fuzz::coverage_counters().empty();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (forking()) {
        warm_up();
        zygotes();
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto guest = build_guest(data, size);
    uint8_t flags = guest.first;
    const std::vector<uint8_t>& bytes = guest.second;
    if (const char* keep = std::getenv("PIEMU_FUZZ_KEEP_ELF")) // to run it with piemu
        if (FILE* f = std::fopen(keep, "wb")) {
            std::fwrite(bytes.data(), 1, bytes.size(), f);
            std::fclose(f);
        }

    // On a machine created for it: the replays' only run, and the fuzzer's check. (The
    // zygotes' children make their own file.)
    auto run_fresh = [&] {
        fuzz::MemFile file(bytes.data(), bytes.size());
        return run(*create_machine(flags), file.path());
    };
    if (!forking()) {
        run_fresh();
        return 0;
    }
    static uint64_t inputs = 0;
    Result forked = zygotes()[flags & 7]->run(bytes);
    if (inputs++ % 1000 == 0) {
        // A check, not what is fuzzed: its coverage is left out, so that what libFuzzer
        // sees is the children's (which fuzz.fork.coverage checks).
        std::span<uint8_t> counters = fuzz::coverage_counters();
        std::vector<uint8_t> saved(counters.begin(), counters.end());
        Result fresh = run_fresh();
        std::copy(saved.begin(), saved.end(), counters.begin());
        if (!(fresh == forked)) {
            forked.print("forked run");
            fresh.print("fresh machine");
            FUZZ_CHECK(fresh == forked);
        }
    }
    return 0;
}
