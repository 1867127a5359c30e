// Hostile guests (docs/robustness.md): whatever the guest does, piemu stays in control
// and the run ends with a defined outcome. Each test names the hostile act and the
// outcome it expects. Guest code is hand-assembled ARM (GNU as listings in comments).
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "board/board_builder.hpp"
#include "board/builtin_dtbs.hpp"
#include "devices/bcm2835_dma.hpp"
#include "devices/bcm2835_usb.hpp"
#include "devices/sd_card.hpp"
#include "kernel/kernel_model.hpp"
#include "loader_elf_builder.hpp"
#include "loader_temp_dir.hpp"
#include "piemu/exit_status.hpp"
#include "piemu/kernel/printk.hpp"
#include "piemu/machine.hpp"

using namespace piemu;

namespace {

std::unique_ptr<Machine> make(MachineOptions o) {
    o.uart = "none";
    auto m = Machine::create(o);
    EXPECT_FALSE(m.is_error()) << (m.is_error() ? m.error().message : "");
    return m.release_value();
}

void put(Machine& m, uint32_t addr, std::vector<uint32_t> words) {
    ASSERT_TRUE(
        m.bus().write_phys(addr, {reinterpret_cast<uint8_t*>(words.data()), words.size() * 4}));
}

/// A tiny guest (kernel-model note) whose init is `code` at 0x8000.
std::string tiny_guest(const loader_test::TempDir& dir, const std::vector<uint32_t>& code) {
    std::vector<uint8_t> bytes;
    for (uint32_t w : code)
        for (int b = 0; b < 4; ++b)
            bytes.push_back(uint8_t(w >> (8 * b)));
    loader_test::ElfBuilder elf;
    elf.entry = 0x8000;
    elf.segments.push_back({.paddr = 0x8000, .data = bytes});
    elf.symbols.push_back({.name = "init", .value = 0x8000, .size = uint32_t(bytes.size())});
    elf.note_section.push_back(loader_test::piemu_note(kKernelModelAbiVersion));
    return dir.write("guest.elf", elf.build());
}

/// Cores faked as in the board builder's tests, for device-level tests on a real board.
struct Pins : IrqSink {
    void set_irq_input(unsigned, bool) override {}
};
struct Board {
    explicit Board(const char* name) {
        lines.timers.push_back({&timer[0], &timer[1], &timer[2], &timer[3]});
        lines.pmu.push_back(&pmu);
        lines.cpu_inputs.push_back(&pins);
        board = build_board(builtin_dtb(name), bus, clock, 1, lines);
    }
    /// Advances virtual time, firing what is due (the run loop's part); returns how
    /// many timers fired.
    unsigned advance(uint64_t cycles) {
        uint64_t target = clock.now() + cycles;
        unsigned fired = 0;
        while (clock.next_deadline() <= target && fired < 10'000'000) {
            clock.set_now(std::max(clock.now(), clock.next_deadline()));
            fired += clock.run_due();
        }
        clock.set_now(target);
        return fired;
    }
    VirtualClock clock{1'000'000'000};
    Bus bus{64u << 20};
    std::array<IrqLine, 4> timer;
    IrqLine pmu;
    Pins pins;
    CoreLines lines;
    ErrorOr<BuiltBoard> board = Error{"not built"};
};

} // namespace

// ---- bare guests: the guest owns its vectors (VBAR 0, MMU off)

TEST(HostileGuest, JumpToUnmappedMemoryIsAPrefetchAbortForTheGuest) {
    MachineOptions o;
    o.max_insns = 10'000;
    auto m = make(o);
    // movw r0, #0; movt r0, #0x5000; bx r0 (0x50000000: no RAM, no device)
    put(*m, 0x8000, {0xe3000000, 0xe3450000, 0xe12fff10});
    put(*m, 0x0c, {0xe320f003, 0xeafffffe}); // prefetch abort vector: wfi; b .
    m->core().set_pc(0x8000, false);
    RunOutcome r = m->run();
    EXPECT_EQ(r.kind, RunOutcome::Kind::Deadlock) << r.message; // the handler's wfi
    ArmCore& c = m->core();
    EXPECT_EQ(c.mode(), uint32_t(CpuMode::Abt));
    EXPECT_EQ(c.reg(14), 0x50000004u);          // LR_abt = faulting + 4
    EXPECT_EQ(c.cp15(6, 0, 0, 2), 0x50000000u); // IFAR
}

TEST(HostileGuest, RecursiveAbortsEndTheRunWithAReport) {
    MachineOptions o;
    o.strict_mmio = true;
    o.max_insns = 10'000'000;
    auto m = make(o);
    // movw r0, #0; movt r0, #0x5000; ldr r1, [r0]: a synchronous external abort, whose
    // handler (0x10) does the same load again, for ever.
    put(*m, 0x8000, {0xe3000000, 0xe3450000, 0xe5901000});
    put(*m, 0x10, {0xe3000000, 0xe3450000, 0xe5901000});
    m->core().set_pc(0x8000, false);
    RunOutcome r = m->run();
    EXPECT_EQ(r.kind, RunOutcome::Kind::Fault);
    EXPECT_EQ(r.exit_status, kExitUndeliverableFault);
    EXPECT_NE(r.message.find("exception loop"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("recursive abort"), std::string::npos) << r.message;
}

TEST(HostileGuest, AbortHandlerThatFaultsOnItsOwnStackEndsTheRun) {
    MachineOptions o;
    o.strict_mmio = true;
    o.max_insns = 10'000'000;
    auto m = make(o);
    // sp = 0x50000000 (unclaimed) in UND and ABT mode; udf. Both vectors branch to a
    // handler whose first push faults on that stack: a data abort inside the handler
    // of every abort. movw r0, #0; movt r0, #0x5000; cps #0x1b; mov sp, r0;
    // cps #0x17; mov sp, r0; cps #0x13; udf
    put(*m, 0x8000,
        {0xe3000000, 0xe3450000, 0xf102001b, 0xe1a0d000, 0xf1020017, 0xe1a0d000, 0xf1020013,
         0xe7f000f0});
    put(*m, 0x04, {0xea000005});             // b 0x20
    put(*m, 0x10, {0xea000002});             // b 0x20
    put(*m, 0x20, {0xe92d5fff, 0xeafffffe}); // push {r0-r12, lr}; b .
    m->core().set_pc(0x8000, false);
    RunOutcome r = m->run();
    EXPECT_EQ(r.kind, RunOutcome::Kind::Fault) << r.message;
    EXPECT_EQ(r.exit_status, kExitUndeliverableFault);
    EXPECT_NE(r.message.find("recursive abort"), std::string::npos) << r.message;
}

// ---- devices: every register at every width, DMA and mailbox pointing anywhere

/// Writes then reads every byte offset of every device window (aligned or not, the
/// last ones running past the window's end) at widths 1, 2 and 4 with three values,
/// letting time pass; returns a digest of every value read and every line's level.
uint64_t sweep_every_register(const char* board_name) {
    Board b(board_name);
    EXPECT_FALSE(b.board.is_error()) << b.board.error().message;
    if (b.board.is_error())
        return 0;
    uint64_t digest = 1469598103934665603ull; // FNV-1a
    auto add = [&](uint64_t v) {
        for (int i = 0; i < 8; ++i)
            digest = (digest ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ull;
    };
    for (const auto& m : b.bus.devices()) {
        SCOPED_TRACE(m.device->name());
        for (uint32_t value : {0xffffffffu, 0u, 0xa5a5a5a5u}) {
            for (uint32_t off = 0; off < m.size; ++off) {
                for (unsigned size : {1u, 2u, 4u}) {
                    b.bus.mmio_write(m.base + off, value, size);
                    add(b.bus.mmio_read(m.base + off, size));
                }
                if (off % 0x1000 == 0xfff) {
                    EXPECT_LT(b.advance(100'000), 10'000'000u) << "an event storm";
                }
            }
            // 10 ms of virtual time: the timers due fire, and no model re-arms one
            // at the same instant for ever (advance() gives up after 10 M events).
            EXPECT_LT(b.advance(10'000'000), 10'000'000u) << "an event storm";
            for (IrqLine* line : m.device->irq_outputs())
                add(line->level());
        }
        m.device->reset();
    }
    return digest;
}

TEST(HostileGuest, EveryRegisterOfEveryDeviceAtEveryWidthAndValue) {
    // Nothing crashes (and, under ASan, nothing reads or writes out of bounds), and
    // the device models answer the same on a second board: no host state leaks in.
    for (const char* name : {"raspi2b", "raspi3b"}) {
        SCOPED_TRACE(name);
        uint64_t first = sweep_every_register(name);
        EXPECT_EQ(sweep_every_register(name), first);
    }
}

TEST(HostileGuest, DmaControlBlocksPointingAnywhere) {
    Board b("raspi3b");
    ASSERT_FALSE(b.board.is_error());
    auto* dma = b.board.value().find_model<Bcm2835Dma>();
    ASSERT_NE(dma, nullptr);
    uint32_t base = b.bus.find_device_of(*dma);
    auto cb = [&](uint32_t at, std::array<uint32_t, 8> words) {
        ASSERT_TRUE(b.bus.write_phys(at, {reinterpret_cast<uint8_t*>(words.data()), 32}));
    };
    auto start = [&](unsigned ch, uint32_t cb_addr) {
        b.bus.mmio_write(base + ch * 0x100 + 0x04, cb_addr, 4); // CONBLK_AD
        b.bus.mmio_write(base + ch * 0x100 + 0x00, 1, 4);       // CS.ACTIVE
    };
    auto cs = [&](unsigned ch) { return b.bus.mmio_read(base + ch * 0x100, 4); };

    // A control block chained to itself, copying nothing: the channel stays busy, as
    // the hardware would, and virtual time still passes.
    cb(0x1000, {0, 0x2000, 0x3000, 0, 0, 0x1000, 0, 0});
    start(0, 0x1000);
    b.advance(100'000'000); // 100 ms
    EXPECT_EQ(b.clock.now(), 100'000'000u);
    EXPECT_TRUE(cs(0) & 1) << "still active";

    // A control block across the end of RAM, at the last word of the 32-bit space,
    // and in the peripheral window.
    for (uint32_t at : {(64u << 20) - 16, 0xffffffe0u, 0x3f201000u}) {
        SCOPED_TRACE(at);
        start(1, at);
        b.advance(10'000'000);
        EXPECT_FALSE(cs(1) & 1) << "the channel stopped";
    }

    // Copies from and to the end of RAM and beyond: stopped with an error, no host access.
    cb(0x1100, {0, (64u << 20) - 8, 0x3000, 0x100, 0, 0, 0, 0});
    cb(0x1120, {0, 0x2000, (64u << 20) - 8, 0x100, 0, 0, 0, 0});
    cb(0x1140, {0, 0xfffffff0, 0xfffffff0, 0xffff, 0, 0, 0, 0});
    for (uint32_t at : {0x1100u, 0x1120u, 0x1140u}) {
        SCOPED_TRACE(at);
        start(2, at);
        b.advance(100'000'000);
        EXPECT_FALSE(cs(2) & 1) << "the channel stopped";
        b.bus.mmio_write(base + 0x200, 1u << 31, 4); // reset the channel
    }
}

TEST(HostileGuest, MailboxPropertyBufferCrossingTheEndOfRam) {
    Board b("raspi3b");
    ASSERT_FALSE(b.board.is_error());
    Device* mbox = b.board.value().device_by_compatible("brcm,bcm2835-mbox");
    ASSERT_NE(mbox, nullptr);
    uint32_t base = b.bus.find_device_of(*mbox);
    constexpr uint32_t kEnd = 64u << 20;
    // A buffer whose size word (64) runs past the end of RAM, 16 bytes before it.
    uint32_t words[2] = {64, 0};
    ASSERT_TRUE(b.bus.write_phys(kEnd - 16, {reinterpret_cast<uint8_t*>(words), 8}));
    b.bus.mmio_write(base + 0x20, 0xc0000000u | (kEnd - 16) | 8, 4); // WRITE, channel 8
    b.advance(10'000'000);
    EXPECT_EQ(b.bus.mmio_read(base + 0x00, 4), 0xc0000000u | (kEnd - 16) | 8)
        << "the message comes back on channel 8";
    uint32_t code = 0;
    ASSERT_TRUE(b.bus.read32(kEnd - 12, code));
    EXPECT_TRUE(code == 0 || code == 0x80000001u) << std::hex << code;
    // And one whose address is past RAM altogether.
    b.bus.mmio_write(base + 0x20, 0xc0000000u | 0x3fff0000u | 8, 4);
    b.advance(10'000'000);
    EXPECT_EQ(b.bus.mmio_read(base + 0x00, 4), 0xc0000000u | 0x3fff0000u | 8);
}

// ---- SD commands in every state, USB channels with garbage

namespace {

/// Takes a fresh card to `target` the way a host does (SD spec figures 4-1 and 4-13):
/// CMD8, ACMD41 until ready, CMD2, CMD3, CMD7, then CMD17 (data) or CMD24 (rcv) of
/// block 1. Prg and Dis last no time in the model (programming is instantaneous).
void sd_reach(SdCard& card, SdCard::State target) {
    using S = SdCard::State;
    if (target == S::Idle)
        return;
    card.command(8, 0x1aa);
    for (int i = 0; i < 4 && card.state() == S::Idle; ++i) {
        card.command(55, 0);
        card.command(41, 0x40ff8000);
    }
    if (target == S::Ready)
        return;
    card.command(2, 0);
    if (target == S::Ident)
        return;
    card.command(3, 0);
    if (target == S::Stby)
        return;
    card.command(7, uint32_t(card.rca()) << 16);
    if (target == S::Data)
        card.command(17, 1);
    if (target == S::Rcv)
        card.command(24, 1);
}

std::vector<uint8_t> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

TEST(HostileGuest, SdCommandsInEveryState) {
    // Every command 0-63, plain and as an application command, with arguments that
    // are zero, all ones, the card's RCA, CMD8's and ACMD41's, a block in the image
    // and one past it, in every state the card can be seen in; then the host reads
    // what the card sends (bounded) and offers one block of write data. Whatever the
    // command, the card ends in a defined state, and the image changes only by whole
    // blocks the card took: at most the one block offered, byte for byte.
    using S = SdCard::State;
    loader_test::TempDir dir;
    constexpr size_t kImage = 64 * 512;
    std::vector<uint8_t> original(kImage);
    for (size_t i = 0; i < kImage; ++i)
        original[i] = uint8_t(i * 7 + (i >> 9));
    std::string path = dir.write("card.img", original);
    std::vector<uint8_t> mark(512, 0x5a);
    unsigned writes_taken = 0;
    for (S state : {S::Idle, S::Ready, S::Ident, S::Stby, S::Tran, S::Data, S::Rcv}) {
        for (unsigned cmd = 0; cmd < 64; ++cmd) {
            for (bool app : {false, true}) {
                for (uint32_t arg : {0u, 0xffffffffu, 0xb3680000u, 0x1aau, 0x40ff8000u, 5u, 64u}) {
                    SCOPED_TRACE(testing::Message()
                                 << "state " << int(state) << (app ? " ACMD" : " CMD") << cmd
                                 << " arg 0x" << std::hex << arg);
                    auto opened = SdCard::open(path, false);
                    ASSERT_FALSE(opened.is_error()) << opened.error().message;
                    auto card = opened.release_value();
                    sd_reach(*card, state);
                    ASSERT_EQ(card->state(), state);
                    if (app)
                        card->command(55, uint32_t(card->rca()) << 16);
                    SdResponse r = card->command(cmd, arg);
                    EXPECT_LE(int(r.type), int(SdResponseType::R7));
                    EXPECT_LE(int(card->state()), int(S::Dis));
                    uint8_t byte = 0;
                    size_t sent = 0;
                    while (card->data_ready() && sent <= 2 * kImage && card->read_data(byte))
                        ++sent;
                    EXPECT_LE(sent, kImage) << "the card sends no more than the image";
                    size_t took = card->write_block(mark);
                    card->command(12, 0); // end a multi-block transfer, if one is open
                    card.reset();         // closes (and unlocks) the image

                    std::vector<uint8_t> now = file_bytes(path);
                    ASSERT_EQ(now.size(), kImage);
                    unsigned changed = 0;
                    for (size_t blk = 0; blk < kImage / 512; ++blk) {
                        auto at = now.begin() + long(blk * 512);
                        if (std::equal(at, at + 512, original.begin() + long(blk * 512)))
                            continue;
                        ++changed;
                        EXPECT_TRUE(std::equal(at, at + 512, mark.begin()))
                            << "block " << blk << " holds neither its data nor the block written";
                        std::copy_n(original.begin() + long(blk * 512), 512, at);
                    }
                    EXPECT_LE(changed, 1u);
                    EXPECT_EQ(changed, took == 512 ? 1u : 0u) << "took " << took << " bytes";
                    if (changed) {
                        ++writes_taken;
                        dir.write("card.img", now); // back to the original
                    }
                }
            }
        }
    }
    // The sweep reached the write path: CMD24/25 in tran with a block in the image,
    // and the write CMD24 opened in rcv (continued by commands the card ignores there).
    EXPECT_GT(writes_taken, 0u);
}

TEST(HostileGuest, UsbChannelsWithGarbage) {
    // Every host channel of the dwc_otg core programmed with random characteristics,
    // split control, transfer size and DMA address (anywhere in the 32-bit space),
    // enabled, with the root port powered and enabled or not: every channel halts
    // (nothing answers on the port), the interrupt line follows GINTSTS & GINTMSK, and
    // no DMA ever touches RAM.
    Board b("raspi3b");
    ASSERT_FALSE(b.board.is_error());
    auto* usb = b.board.value().find_model<Bcm2835Usb>();
    ASSERT_NE(usb, nullptr);
    uint32_t base = b.bus.find_device_of(*usb);
    auto rd = [&](uint32_t off) { return b.bus.mmio_read(base + off, 4); };
    auto wr = [&](uint32_t off, uint32_t v) { b.bus.mmio_write(base + off, v, 4); };
    std::vector<uint8_t> ram_before(b.bus.ram_size());
    for (size_t i = 0; i < ram_before.size(); i += 4)
        ram_before[i] = uint8_t(i >> 2);
    ASSERT_TRUE(b.bus.write_phys(0, ram_before));
    uint32_t x = 0x2545f491u;
    auto rnd = [&] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return x;
    };
    for (int round = 0; round < 64; ++round) {
        SCOPED_TRACE(round);
        if (round % 2) { // power, reset and enable the root port (dwc2's sequence)
            wr(0x440, 0x1000);
            wr(0x440, 0x1000 | 0x100);
            b.advance(60'000'000); // 60 ms of reset
            wr(0x440, 0x1000);
        } else {
            wr(0x440, 0); // port off
        }
        wr(0x008, (rnd() & ~0x1fu) | 0x21); // GAHBCFG: DMAEn, GlblIntrMsk, random rest
        wr(0x018, rnd());                   // GINTMSK
        wr(0x418, rnd());                   // HAINTMSK
        for (unsigned ch = 0; ch < 8; ++ch) {
            uint32_t c = 0x500 + 0x20 * ch;
            wr(c + 0x04, rnd());              // HCSPLT
            wr(c + 0x0c, rnd());              // HCINTMSK
            wr(c + 0x10, rnd());              // HCTSIZ
            wr(c + 0x14, rnd());              // HCDMA
            wr(c + 0x00, rnd() | (1u << 31)); // HCCHAR with ChEna (and maybe ChDis)
        }
        EXPECT_LT(b.advance(12'000'000), 10'000'000u); // 12 ms
        for (unsigned ch = 0; ch < 8; ++ch) {
            SCOPED_TRACE(ch);
            uint32_t c = 0x500 + 0x20 * ch;
            EXPECT_EQ(rd(c) & (1u << 31), 0u) << "the channel is still enabled";
            EXPECT_NE(rd(c + 0x08) & 0x2, 0u) << "HCINT.ChHltd";
        }
        EXPECT_EQ(usb->irq().level(), (rd(0x014) & rd(0x018)) != 0);
        for (unsigned ch = 0; ch < 8; ++ch)
            wr(0x508 + 0x20 * ch, 0xffffffff); // clear HCINT
    }
    std::vector<uint8_t> ram_after(b.bus.ram_size());
    ASSERT_TRUE(b.bus.read_phys(0, ram_after));
    EXPECT_TRUE(ram_after == ram_before) << "RAM changed";
}

// ---- the kernel model's guests

TEST(HostileGuest, InterruptStormIsDisabledBySpuriousDetectionAndTheRunGoesOn) {
    loader_test::TempDir dir;
    // request_irq(31, handler, 0, "storm", 1); systimer C1 = CLO + 100 (CS.M1 stays set:
    // the line stays high); msleep(2000); return 0. The handler returns IRQ_NONE.
    std::string elf = tiny_guest(
        dir, {0xe92d40f0, 0xe3a0001f, 0xe3081080, 0xe3401000, 0xe3a02000, 0xe3a03000, 0xe3084090,
              0xe3404000, 0xe3a05001, 0xe3a07001, 0xef000000, 0xe3032004, 0xe3432f00, 0xe5921000,
              0xe2811064, 0xe582100c, 0xe30007d0, 0xe3a07009, 0xef000000, 0xe3a00000, 0xe8bd80f0,
              0,          0,          0,          0,          0,          0,          0,
              0,          0,          0,          0,          0xe3a00000, 0xe12fff1e, 0,
              0,          0x726f7473, 0x0000006d});
    MachineOptions o;
    o.kernel_model = true;
    o.max_insns = 500'000'000;
    auto m = make(o);
    ASSERT_FALSE(m->load(elf, std::nullopt).is_error());
    RunOutcome r = m->run();
    EXPECT_EQ(r.kind, RunOutcome::Kind::GuestExit) << r.message;
    EXPECT_EQ(r.exit_status, 0);
    std::string log = m->kernel_model()->log().dmesg();
    EXPECT_NE(log.find("irq 31: nobody cared"), std::string::npos) << log;
    EXPECT_NE(log.find("Disabling IRQ #31"), std::string::npos) << log;
}

TEST(HostileGuest, UserModeExecutingTheVectorPage) {
    loader_test::TempDir dir;
    // cps #0x10; movw r0, #0x0018; movt r0, #0xffff; bx r0 (vector_irq, from USR)
    std::string elf = tiny_guest(dir, {0xf1020010, 0xe3000018, 0xe34f0fff, 0xe12fff10});
    MachineOptions o;
    o.kernel_model = true;
    o.max_insns = 10'000'000;
    auto m = make(o);
    ASSERT_FALSE(m->load(elf, std::nullopt).is_error());
    RunOutcome r = m->run();
    // vector_irq's `mrs spsr` is UNPREDICTABLE in USR mode and undefined here: an Oops
    // in init, which is fatal (Linux 4.14 maps the vector page user-readable for the
    // kuser helpers, so user code can reach it).
    std::string log = m->kernel_model()->log().dmesg();
    EXPECT_EQ(r.kind, RunOutcome::Kind::Panic) << r.message << "\n" << log;
    EXPECT_EQ(r.exit_status, kExitKernelPanic);
    EXPECT_NE(log.find("Internal error: Oops - undefined instruction"), std::string::npos) << log;
    EXPECT_NE(log.find("PC is at vector_irq+"), std::string::npos) << log;
    EXPECT_NE(log.find("Kernel panic - not syncing: Attempted to kill init!"), std::string::npos);
}
