// bench_raw_unicorn - run a piemu firmware ELF in a plain Unicorn engine and time it.
//
// Usage: bench_raw_unicorn [options] IMAGE.elf
//   --until ADDR     stop address (default: the ELF symbol `_exit`, where start.S
//                    goes when main returns)
//   --ram MIB        RAM mapped from address 0 (default 64)
//   --block-hook     add an empty UC_HOOK_BLOCK callback (measures its cost)
//   --count-hook     add a UC_HOOK_BLOCK callback that counts instructions (size/4,
//                    ARM state) and blocks, and prints both: the least a hook that
//                    keeps piemu's virtual clock can do
//   --tlb-virtual    UC_TLB_VIRTUAL with an identity UC_HOOK_TLB_FILL (as piemu does)
//   --mmio-rest      map every unmapped page of the 4 GiB space as MMIO (as piemu does)
//                    whose reads return 0 and writes vanish: device accesses of an
//                    image (bench_compute_timer's controllers) then complete
//   --uart-mmio      the PL011 page as MMIO with such callbacks too, instead of RAM:
//                    Unicorn's own cost of a device access (bench_mmio)
//
// The engine is a Cortex-A7 (uc_ctl_set_cpu_model), RAM is uc_mem_map'd at 0, and
// the PL011 page (0x3F201000) is plain RAM so UART writes land there and vanish
// (its flag register reads 0: never "FIFO full"). Unicorn has no interrupt input, so
// an image that arms a timer (bench_compute_timer) runs without its interrupts: the
// same work, less the handler. PT_LOAD segments are copied in;
// .bss and the stacks are zeroed by the image itself. One uc_emu_start runs from
// the entry to the stop address. Prints on stdout:
//   bench_raw_unicorn: wall 1.234567 s
// (plus `bench_raw_unicorn: instructions N, blocks M` with --count-hook).
// Exit status 0 when the run reached the stop address with r0 == 0 (main returned
// 0), 1 otherwise.
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <unicorn/unicorn.h>

namespace {

#pragma pack(push, 1)
struct Elf32Ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version, entry, phoff, shoff, flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct Elf32Phdr {
    uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};
struct Elf32Shdr {
    uint32_t name, type, flags, addr, offset, size, link, info, addralign, entsize;
};
struct Elf32Sym {
    uint32_t name, value, size;
    uint8_t info, other;
    uint16_t shndx;
};
#pragma pack(pop)

constexpr uint32_t kPtLoad = 1, kShtSymtab = 2;
constexpr uint64_t kUartPage = 0x3F201000;
constexpr uint64_t kPage = 0x1000;

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "bench_raw_unicorn: %s\n", msg.c_str());
    std::exit(2);
}

void check(uc_err e, const char* what) {
    if (e != UC_ERR_OK)
        die(std::string(what) + ": " + uc_strerror(e));
}

template <typename T>
T read_at(const std::vector<uint8_t>& f, uint64_t off) {
    if (off + sizeof(T) > f.size())
        die("truncated ELF");
    T v;
    std::memcpy(&v, f.data() + off, sizeof(T));
    return v;
}

std::optional<uint32_t> find_symbol(const std::vector<uint8_t>& f, const Elf32Ehdr& eh,
                                    const char* want) {
    for (unsigned i = 0; i < eh.shnum; i++) {
        auto sh = read_at<Elf32Shdr>(f, eh.shoff + uint64_t(i) * eh.shentsize);
        if (sh.type != kShtSymtab || !sh.entsize)
            continue;
        auto strtab = read_at<Elf32Shdr>(f, eh.shoff + uint64_t(sh.link) * eh.shentsize);
        for (uint32_t k = 0; k < sh.size / sh.entsize; k++) {
            auto sym = read_at<Elf32Sym>(f, sh.offset + uint64_t(k) * sh.entsize);
            uint64_t name = uint64_t(strtab.offset) + sym.name;
            if (name >= f.size())
                continue;
            const char* s = reinterpret_cast<const char*>(f.data() + name);
            if (std::strncmp(s, want, f.size() - name) == 0)
                return sym.value & ~1u;
        }
    }
    return std::nullopt;
}

uint64_t g_insns = 0, g_blocks = 0;

void empty_block_hook(uc_engine*, uint64_t, uint32_t, void*) {}
void count_block_hook(uc_engine*, uint64_t, uint32_t size, void*) {
    g_insns += size / 4;
    ++g_blocks;
}
bool identity_tlb_fill(uc_engine*, uint64_t vaddr, uc_mem_type, uc_tlb_entry* e, void*) {
    e->paddr = vaddr;
    e->perms = UC_PROT_ALL;
    return true;
}
uint64_t mmio_read(uc_engine*, uint64_t, unsigned, void*) {
    return 0;
}
void mmio_write(uc_engine*, uint64_t, unsigned, uint64_t, void*) {}

} // namespace

int main(int argc, char** argv) {
    std::string image;
    std::optional<uint32_t> until;
    uint64_t ram_mib = 64;
    bool block_hook = false, count_hook = false, tlb_virtual = false, mmio_rest = false;
    bool uart_mmio = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--until")
            until = uint32_t(std::stoul(value(), nullptr, 0));
        else if (a == "--ram")
            ram_mib = std::stoul(value(), nullptr, 0);
        else if (a == "--block-hook")
            block_hook = true;
        else if (a == "--count-hook")
            count_hook = true;
        else if (a == "--tlb-virtual")
            tlb_virtual = true;
        else if (a == "--mmio-rest")
            mmio_rest = true;
        else if (a == "--uart-mmio")
            uart_mmio = true;
        else if (a == "-h" || a == "--help") {
            std::puts("usage: bench_raw_unicorn [--until ADDR] [--ram MIB] [--block-hook] "
                      "[--count-hook] [--tlb-virtual] [--mmio-rest] [--uart-mmio] IMAGE.elf");
            return 0;
        } else if (!a.empty() && a[0] == '-')
            die("unknown option " + a);
        else if (image.empty())
            image = a;
        else
            die("more than one image");
    }
    if (image.empty())
        die("no image given (see --help)");

    std::ifstream in(image, std::ios::binary);
    if (!in)
        die("cannot read " + image);
    std::vector<uint8_t> f((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto eh = read_at<Elf32Ehdr>(f, 0);
    if (std::memcmp(eh.ident,
                    "\x7f"
                    "ELF",
                    4) != 0 ||
        eh.ident[4] != 1 || eh.machine != 40)
        die(image + ": not a 32-bit ARM ELF");
    if (!until)
        until = find_symbol(f, eh, "_exit");
    if (!until)
        die(image + ": no symbol _exit; give --until ADDR");

    uint64_t ram = ram_mib << 20;
    uc_engine* uc = nullptr;
    check(uc_open(UC_ARCH_ARM, UC_MODE_ARM, &uc), "uc_open");
    check(uc_ctl_set_cpu_model(uc, UC_CPU_ARM_CORTEX_A7), "set cpu model");
    if (tlb_virtual)
        check(uc_ctl_tlb_mode(uc, UC_TLB_VIRTUAL), "tlb mode");
    check(uc_mem_map(uc, 0, ram, UC_PROT_ALL), "mapping RAM");
    if (uart_mmio)
        check(uc_mmio_map(uc, kUartPage, kPage, mmio_read, nullptr, mmio_write, nullptr),
              "mmio PL011 page");
    else
        check(uc_mem_map(uc, kUartPage, kPage, UC_PROT_READ | UC_PROT_WRITE), "mapping PL011 page");
    if (mmio_rest) {
        check(uc_mmio_map(uc, ram, kUartPage - ram, mmio_read, nullptr, mmio_write, nullptr),
              "mmio below PL011");
        check(uc_mmio_map(uc, kUartPage + kPage, (1ull << 32) - kUartPage - kPage, mmio_read,
                          nullptr, mmio_write, nullptr),
              "mmio above PL011");
    }

    for (unsigned i = 0; i < eh.phnum; i++) {
        auto ph = read_at<Elf32Phdr>(f, eh.phoff + uint64_t(i) * eh.phentsize);
        if (ph.type != kPtLoad || ph.memsz == 0)
            continue;
        if (uint64_t(ph.paddr) + ph.memsz > ram)
            die("segment beyond the mapped RAM (raise --ram)");
        if (uint64_t(ph.offset) + ph.filesz > f.size())
            die("segment beyond the end of the file");
        check(uc_mem_write(uc, ph.paddr, f.data() + ph.offset, ph.filesz), "loading segment");
    }

    uc_hook h;
    if (block_hook || count_hook)
        check(uc_hook_add(uc, &h, UC_HOOK_BLOCK,
                          reinterpret_cast<void*>(count_hook ? count_block_hook : empty_block_hook),
                          nullptr, 1, 0),
              "block hook");
    if (tlb_virtual)
        check(uc_hook_add(uc, &h, UC_HOOK_TLB_FILL, reinterpret_cast<void*>(identity_tlb_fill),
                          nullptr, 1, 0),
              "tlb fill hook");

    auto t0 = std::chrono::steady_clock::now();
    uc_err err = uc_emu_start(uc, eh.entry, *until, 0, 0);
    auto t1 = std::chrono::steady_clock::now();
    double secs = std::chrono::duration<double>(t1 - t0).count();

    uint32_t pc = 0, r0 = 0;
    uc_reg_read(uc, UC_ARM_REG_PC, &pc);
    uc_reg_read(uc, UC_ARM_REG_R0, &r0);
    uc_close(uc);

    std::printf("bench_raw_unicorn: wall %.6f s\n", secs);
    if (count_hook)
        std::printf("bench_raw_unicorn: instructions %" PRIu64 ", blocks %" PRIu64 "\n", g_insns,
                    g_blocks);
    if (err != UC_ERR_OK) {
        std::fprintf(stderr, "bench_raw_unicorn: stopped with %s at pc 0x%08x\n", uc_strerror(err),
                     pc);
        return 1;
    }
    if (pc != *until || r0 != 0) {
        std::fprintf(stderr, "bench_raw_unicorn: ended at 0x%08x with r0 %u (expected 0x%08x, 0)\n",
                     pc, r0, *until);
        return 1;
    }
    return 0;
}
