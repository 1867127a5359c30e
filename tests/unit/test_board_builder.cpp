// Board builder tests: the real raspi2b/raspi3b device trees built with the built-in
// registry (every node listed, devices at their translated addresses, interrupts wired
// end to end and observed through the controllers' registers), and synthetic DTBs made
// with libfdt and built with a test registry of fake devices (nested ranges, inherited
// interrupt-parent, per-CPU wiring, interrupts-extended, and every error path with its
// message). Expected addresses and input numbers are written as numbers.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <libfdt.h>

#include "board/board_builder.hpp"
#include "board/device_registry.hpp"
#include "devices/bcm2835_aux.hpp"
#include "devices/bcm2835_pm_wdt.hpp"
#include "devices/bcm2835_vchiq.hpp"
#include "devices/pl011.hpp"
#include "piemu/bus.hpp"
#include "piemu/clock.hpp"

using namespace piemu;

namespace {

constexpr uint32_t kRam = 64u << 20;

/// Compiles a board's .dts with dtc, as boards/CMakeLists.txt does. The source tree is
/// found from PIEMU_TEST_DATA_DIR (<source>/tests/data, which need not exist).
std::vector<uint8_t> compile_board(const char* name) {
    std::string root = PIEMU_TEST_DATA_DIR;
    root.erase(root.rfind("/tests/data"));
    std::string cmd =
        "dtc -@ -q -I dts -O dtb -o - '" + root + "/boards/" + name + ".dts' 2>/dev/null";
    std::vector<uint8_t> out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p)
        return out;
    uint8_t buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        out.insert(out.end(), buf, buf + n);
    pclose(p);
    return out;
}

/// A core's interrupt pins: records the level of input 0 (IRQ) and 1 (FIQ).
struct FakePins : IrqSink {
    std::array<bool, 2> level{};
    void set_irq_input(unsigned input, bool l) override { level.at(input) = l; }
};

/// What the lead's Machine gives the builder: each core's timer and PMU lines and pins.
struct FakeCores {
    explicit FakeCores(unsigned n) : timers(n), pmu(n), pins(n) {
        for (unsigned c = 0; c < n; ++c) {
            lines.timers.push_back({&timers[c][0], &timers[c][1], &timers[c][2], &timers[c][3]});
            lines.pmu.push_back(&pmu[c]);
            lines.cpu_inputs.push_back(&pins[c]);
        }
    }
    std::vector<std::array<IrqLine, 4>> timers;
    std::vector<IrqLine> pmu;
    std::vector<FakePins> pins;
    CoreLines lines;
};

// ---------------------------------------------------------------------------------------
// Fakes for the synthetic trees

/// A device with `n` interrupt outputs and a 0x100-byte window.
class FakeDevice : public Device {
public:
    FakeDevice(std::string name, unsigned n) : Device(std::move(name)), lines_(n) {}
    uint32_t mmio_size() const override { return 0x100; }
    uint32_t read(uint32_t, unsigned) override { return 0; }
    void write(uint32_t, uint32_t, unsigned) override {}
    void reset() override { ++resets; }
    std::vector<IrqLine*> irq_outputs() override {
        std::vector<IrqLine*> out;
        for (auto& l : lines_)
            out.push_back(&l);
        return out;
    }
    unsigned resets = 0;

private:
    std::vector<IrqLine> lines_;
};

/// A controller with #interrupt-cells 2 = <bank bit>: banks 0-2 are shared inputs
/// bank * 32 + bit; bank 3 is per CPU, input 200 + 16 * cpu + bit. Records input levels.
class FakeIntc : public Device, public InterruptController, public IrqSink {
public:
    explicit FakeIntc(std::string name) : Device(std::move(name)) {}
    uint32_t mmio_size() const override { return 0x100; }
    uint32_t read(uint32_t, unsigned) override { return 0; }
    void write(uint32_t, uint32_t, unsigned) override {}
    void reset() override {}
    std::vector<IrqLine*> irq_outputs() override { return {&out}; }

    unsigned interrupt_cells() const override { return 2; }
    ErrorOr<unsigned> xlate(std::span<const uint32_t> c, unsigned cpu) const override {
        if (c[0] == 3)
            return 200 + 16 * cpu + c[1];
        if (c[0] > 3)
            return Error{"bank " + std::to_string(c[0]) + " does not exist"};
        return c[0] * 32 + c[1];
    }
    bool is_percpu(std::span<const uint32_t> c) const override { return c[0] == 3; }
    IrqSink& irq_sink() override { return *this; }
    void set_irq_input(unsigned input, bool level) override { inputs[input] = level; }

    std::map<unsigned, bool> inputs;
    IrqLine out;
    IrqLine fiq;
    std::array<IrqLine, 2> core_irq, core_fiq;
};

/// The built-in per-CPU entries (timer, PMU) plus the fakes.
DeviceRegistry test_registry() {
    DeviceRegistry r = DeviceRegistry::builtin();
    r.add(DeviceEntry::simple("test,dev1", "FakeDevice1", [](const DeviceContext& ctx) {
        return std::make_unique<FakeDevice>(ctx.name, 1);
    }));
    r.add(DeviceEntry::simple("test,dev2", "FakeDevice2", [](const DeviceContext& ctx) {
        return std::make_unique<FakeDevice>(ctx.name, 2);
    }));
    DeviceEntry intc;
    intc.compatible = "test,intc";
    intc.model = "FakeIntc";
    intc.create = [](const DeviceContext& ctx) -> ErrorOr<DeviceInstance> {
        auto ic = std::make_unique<FakeIntc>(ctx.name);
        DeviceInstance inst;
        inst.fiq_output = &ic->fiq;
        inst.child_fiq_input = 99;
        inst.device = std::move(ic);
        return inst;
    };
    intc.describe_specifier = [](std::span<const uint32_t> c) {
        return "bank " + std::to_string(c[0]) + " bit " + std::to_string(c[1]);
    };
    r.add(intc);
    // A root controller: two cores' IRQ and FIQ lines, no `interrupts` of its own.
    DeviceEntry root;
    root.compatible = "test,root-intc";
    root.model = "FakeRootIntc";
    root.create = [](const DeviceContext& ctx) -> ErrorOr<DeviceInstance> {
        auto ic = std::make_unique<FakeIntc>(ctx.name);
        DeviceInstance inst;
        for (unsigned c = 0; c < 2; ++c)
            inst.cpu_outputs.push_back({&ic->core_irq[c], &ic->core_fiq[c]});
        inst.child_fiq_input = 99;
        inst.outputs = {};
        inst.device = std::move(ic);
        return inst;
    };
    r.add(root);
    return r;
}

/// A DTB made with libfdt. Nodes are named by path (offsets move as the tree grows).
class Dtb {
public:
    Dtb() : buf_(1 << 16) {
        EXPECT_EQ(fdt_create_empty_tree(buf_.data(), int(buf_.size())), 0);
        cells("/", "#address-cells", {1});
        cells("/", "#size-cells", {1});
        strs("/", "compatible", {"test,board"});
        str("/", "model", "Test Board");
    }
    std::string add(const std::string& parent, const char* name) {
        int n = fdt_add_subnode(fdt(), at(parent), name);
        EXPECT_GE(n, 0) << name;
        return (parent == "/" ? "" : parent) + "/" + name;
    }
    void str(const std::string& path, const char* prop, const char* v) {
        EXPECT_EQ(fdt_setprop_string(fdt(), at(path), prop, v), 0);
    }
    void strs(const std::string& path, const char* prop, std::initializer_list<const char*> vs) {
        std::string joined;
        for (auto* v : vs)
            joined.append(v).push_back('\0');
        EXPECT_EQ(fdt_setprop(fdt(), at(path), prop, joined.data(), int(joined.size())), 0);
    }
    void cells(const std::string& path, const char* prop, std::initializer_list<uint32_t> vs) {
        std::vector<fdt32_t> be;
        for (uint32_t v : vs)
            be.push_back(cpu_to_fdt32(v));
        EXPECT_EQ(fdt_setprop(fdt(), at(path), prop, be.data(), int(be.size() * 4)), 0);
    }
    void empty(const std::string& path, const char* prop) {
        EXPECT_EQ(fdt_setprop(fdt(), at(path), prop, nullptr, 0), 0);
    }
    /// Gives the node a phandle and returns it.
    uint32_t phandle(const std::string& path) {
        uint32_t p = next_phandle_++;
        cells(path, "phandle", {p});
        return p;
    }
    std::vector<uint8_t> bytes() {
        std::vector<uint8_t> out(buf_);
        EXPECT_EQ(fdt_pack(out.data()), 0);
        out.resize(fdt_totalsize(out.data()));
        return out;
    }

private:
    void* fdt() { return buf_.data(); }
    int at(const std::string& path) {
        int n = fdt_path_offset(fdt(), path.c_str());
        EXPECT_GE(n, 0) << path;
        return n;
    }
    std::vector<uint8_t> buf_;
    uint32_t next_phandle_ = 1;
};

/// The usual synthetic board: /soc maps 0x7e000000 to 0x3f000000; /soc/intc is a
/// FakeIntc and the root's interrupt-parent.
struct SocDtb : Dtb {
    SocDtb() {
        soc = add("/", "soc");
        strs(soc, "compatible", {"simple-bus"});
        cells(soc, "#address-cells", {1});
        cells(soc, "#size-cells", {1});
        cells(soc, "ranges", {0x7e000000, 0x3f000000, 0x01000000});
        intc = add(soc, "intc@7e00b000");
        strs(intc, "compatible", {"test,intc"});
        cells(intc, "reg", {0x7e00b000, 0x100});
        empty(intc, "interrupt-controller");
        cells(intc, "#interrupt-cells", {2});
        intc_phandle = phandle(intc);
        cells("/", "interrupt-parent", {intc_phandle});
    }
    std::string soc, intc;
    uint32_t intc_phandle;
};

struct Built {
    VirtualClock clock{1'000'000'000};
    Bus bus{kRam};
    FakeCores cores{2};
    ErrorOr<BuiltBoard> board = Error{"not built"};

    Built(const std::vector<uint8_t>& dtb, const DeviceRegistry& registry, unsigned ncores = 2)
        : cores(ncores) {
        board = build_board(dtb, bus, clock, ncores, cores.lines, registry);
    }
    BuiltBoard& b() { return board.value(); }
    std::string error() const { return board.is_error() ? board.error().message : "(built)"; }
};

const BoardNode* node(const BuiltBoard& b, const std::string& path) {
    for (auto& n : b.nodes)
        if (n.path == path)
            return &n;
    return nullptr;
}

bool wiring_has(const BuiltBoard& b, const std::string& path, const std::string& text) {
    const BoardNode* n = node(b, path);
    if (!n)
        return false;
    for (auto& w : n->wiring)
        if (w.find(text) != std::string::npos)
            return true;
    return false;
}

FakeIntc* fake_intc(BuiltBoard& b, const std::string& path) {
    return b.find<FakeIntc>(path);
}

// ---------------------------------------------------------------------------------------
// The real boards

class RealBoard : public ::testing::TestWithParam<const char*> {};

TEST_P(RealBoard, EveryNodeListed) {
    auto dtb = compile_board(GetParam());
    ASSERT_FALSE(dtb.empty()) << "dtc failed on boards/" << GetParam() << ".dts";
    Built built(dtb, DeviceRegistry::builtin(), 4);
    ASSERT_FALSE(built.board.is_error()) << built.error();
    const BuiltBoard& b = built.b();
    for (const char* path : {"/memory@0",
                             "/cpus/cpu@0",
                             "/cpus/cpu@1",
                             "/cpus/cpu@2",
                             "/cpus/cpu@3",
                             "/timer",
                             "/arm-pmu",
                             "/soc",
                             "/soc/timer@7e003000",
                             "/soc/dma@7e007000",
                             "/soc/interrupt-controller@7e00b200",
                             "/soc/mailbox@7e00b840",
                             "/soc/mailbox@7e00b880",
                             "/soc/watchdog@7e100000",
                             "/soc/gpio@7e200000",
                             "/soc/serial@7e201000",
                             "/soc/mmc@7e202000",
                             "/soc/aux@7e215000",
                             "/soc/serial@7e215040",
                             "/soc/mmc@7e300000",
                             "/soc/usb@7e980000",
                             "/soc/local_intc@40000000",
                             "/phy"})
        EXPECT_NE(node(b, path), nullptr) << path;
    // Not modelled blocks are listed as such, with their wiring still explained.
    EXPECT_EQ(node(b, "/soc/gpio@7e200000")->model, "not modelled");
    EXPECT_EQ(node(b, "/soc/gpio@7e200000")->address->base, 0x3f200000u);
    EXPECT_EQ(node(b, "/soc/usb@7e980000")->model, "Bcm2835Usb");
    EXPECT_EQ(node(b, "/soc/usb@7e980000")->address->base, 0x3f980000u);
    EXPECT_EQ(node(b, "/soc/dma@7e007000")->model, "Bcm2835Dma");
    EXPECT_EQ(node(b, "/soc/mailbox@7e00b880")->model, "Bcm2835Mbox");
    EXPECT_EQ(b.stdout_path, "serial0:115200n8");
    EXPECT_EQ(b.aliases.at("serial0"), "/soc/serial@7e201000");
    EXPECT_EQ(node(b, "/soc/serial@7e201000")->label, "uart0");
}

TEST_P(RealBoard, Pl011AtItsTranslatedAddress) {
    auto dtb = compile_board(GetParam());
    Built built(dtb, DeviceRegistry::builtin(), 4);
    ASSERT_FALSE(built.board.is_error()) << built.error();
    const Bus::Mapping* m = built.bus.find_device(0x3f201000);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->base, 0x3f201000u);
    EXPECT_NE(dynamic_cast<Pl011*>(m->device), nullptr);
    EXPECT_EQ(m->device, built.b().stdout_device());
    EXPECT_EQ(m->device, built.b().device_for_alias("serial0"));
    EXPECT_EQ(node(built.b(), "/soc/serial@7e201000")->model, "Pl011");
    // PrimeCell ID: the silicon's r1p5, not the DT's periphid override.
    EXPECT_EQ(built.bus.mmio_read(0x3f201fe8, 4), 0x34u);
}

TEST_P(RealBoard, Controllers) {
    auto dtb = compile_board(GetParam());
    Built built(dtb, DeviceRegistry::builtin(), 4);
    ASSERT_FALSE(built.board.is_error()) << built.error();
    BuiltBoard& b = built.b();
    Device* armctrl = b.device_at("/soc/interrupt-controller@7e00b200");
    Device* local = b.device_at("/soc/local_intc@40000000");
    ASSERT_NE(armctrl, nullptr);
    ASSERT_NE(local, nullptr);
    EXPECT_EQ(built.bus.find_device(0x3f00b200)->device, armctrl);
    EXPECT_EQ(built.bus.find_device(0x3f00b200)->base, 0x3f00b200u);
    EXPECT_EQ(built.bus.find_device(0x40000000)->device, local);
    EXPECT_TRUE(wiring_has(b, "/soc/interrupt-controller@7e00b200",
                           "<8 4> -> local_intc GPU_FAST (Bcm2836LocalIntc input 64)"));
    EXPECT_TRUE(wiring_has(b, "/soc/interrupt-controller@7e00b200",
                           "FIQ -> local_intc FIQ input (Bcm2836LocalIntc input 65)"));
    EXPECT_TRUE(
        wiring_has(b, "/soc/local_intc@40000000", "core 3 IRQ, FIQ -> ArmCore 3 IRQ, FIQ pins"));
}

// UART -> ARMCTRL GPU IRQ 57 (bank 2 bit 25) -> local controller GPU IRQ -> core 0 IRQ pin.
TEST_P(RealBoard, UartReachesCore0) {
    auto dtb = compile_board(GetParam());
    Built built(dtb, DeviceRegistry::builtin(), 4);
    ASSERT_FALSE(built.board.is_error()) << built.error();
    BuiltBoard& b = built.b();
    EXPECT_TRUE(wiring_has(b, "/soc/serial@7e201000",
                           "<2 25> -> intc bank 2 bit 25 (Bcm2835Armctrl input 57)"));
    auto* uart = b.find<Pl011>("/soc/serial@7e201000");
    ASSERT_NE(uart, nullptr);
    built.bus.mmio_write(0x3f00b214, 1u << 25, 4); // Enable IRQs 2: GPU IRQ 57
    uart->irq().set(true);
    EXPECT_EQ(built.bus.mmio_read(0x3f00b208, 4) & (1u << 25), 1u << 25); // IRQ pending 2
    EXPECT_TRUE(built.cores.pins[0].level[0]);
    EXPECT_FALSE(built.cores.pins[1].level[0]);
    uart->irq().set(false);
    EXPECT_FALSE(built.cores.pins[0].level[0]);
}

TEST_P(RealBoard, SystemTimerLinesAreGpuIrqs0To3) {
    auto dtb = compile_board(GetParam());
    Built built(dtb, DeviceRegistry::builtin(), 4);
    ASSERT_FALSE(built.board.is_error()) << built.error();
    BuiltBoard& b = built.b();
    for (unsigned i = 0; i < 4; ++i)
        EXPECT_TRUE(wiring_has(b, "/soc/timer@7e003000",
                               "<1 " + std::to_string(i) + "> -> intc bank 1 bit " +
                                   std::to_string(i) + " (Bcm2835Armctrl input " +
                                   std::to_string(i) + ")"))
            << i;
    Device* st = b.device_at("/soc/timer@7e003000");
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(built.bus.find_device(0x3f003000)->device, st);
    built.bus.mmio_write(0x3f00b210, 0xf, 4); // Enable IRQs 1: GPU IRQs 0-3
    auto outs = st->irq_outputs();
    ASSERT_EQ(outs.size(), 4u);
    for (unsigned i = 0; i < 4; ++i) {
        outs[i]->set(true);
        EXPECT_EQ(built.bus.mmio_read(0x3f00b204, 4), (2u << i) - 1) << i; // IRQ pending 1
    }
}

TEST_P(RealBoard, WatchdogIsReachable) {
    auto dtb = compile_board(GetParam());
    Built built(dtb, DeviceRegistry::builtin(), 4);
    ASSERT_FALSE(built.board.is_error()) << built.error();
    auto* wdt = built.b().find_model<Bcm2835PmWdt>();
    ASSERT_NE(wdt, nullptr);
    EXPECT_EQ(wdt, built.b().device_at("/soc/watchdog@7e100000"));
    // Either of the node's compatibles finds it, whichever the registry matched.
    EXPECT_EQ(built.b().device_by_compatible("brcm,bcm2835-pm-wdt"), wdt);
    EXPECT_EQ(built.b().device_by_compatible("brcm,bcm2835-pm"), wdt);
    EXPECT_EQ(built.b().device_by_compatible("arm,primecell"),
              built.b().device_at("/soc/serial@7e201000"));
    EXPECT_EQ(built.bus.find_device(0x3f100024)->device, wdt);
    EXPECT_EQ(node(built.b(), "/soc/watchdog@7e100000")->model, "Bcm2835PmWdt");
}

// The timer node lists secure, non-secure, virtual, hypervisor (<0> <1> <3> <2>); each
// must reach the local controller's matching source bit for the right core.
TEST_P(RealBoard, GenericTimersPerCore) {
    auto dtb = compile_board(GetParam());
    Built built(dtb, DeviceRegistry::builtin(), 4);
    ASSERT_FALSE(built.board.is_error()) << built.error();
    BuiltBoard& b = built.b();
    EXPECT_TRUE(wiring_has(b, "/timer",
                           "<3 4> -> local_intc CNTVIRQ, per CPU (Bcm2836LocalIntc inputs 3, "
                           "19, 35, 51)"));
    EXPECT_TRUE(wiring_has(b, "/arm-pmu", "<9 4> -> local_intc PMU_FAST, per CPU"));
    for (unsigned core = 0; core < 4; ++core) {
        built.bus.mmio_write(0x40000040 + 4 * core, 0xf, 4); // timer IRQs 0-3 enabled
        for (unsigned t : {kCntps, kCntpns, kCnthp, kCntv}) {
            built.cores.timers[core][t].set(true);
            EXPECT_EQ(built.bus.mmio_read(0x40000060 + 4 * core, 4), 1u << t)
                << "core " << core << " timer " << t;
            EXPECT_TRUE(built.cores.pins[core].level[0]);
            built.cores.timers[core][t].set(false);
            EXPECT_FALSE(built.cores.pins[core].level[0]);
        }
    }
}

TEST_P(RealBoard, DescribeListsEveryRow) {
    auto dtb = compile_board(GetParam());
    Built built(dtb, DeviceRegistry::builtin(), 4);
    ASSERT_FALSE(built.board.is_error()) << built.error();
    std::string table = describe_board(built.b());
    EXPECT_NE(table.find("Raspberry Pi"), std::string::npos);
    EXPECT_NE(table.find("/soc/serial@7e201000 (uart0)"), std::string::npos);
    EXPECT_NE(table.find("0x3f201000-0x3f2011ff"), std::string::npos);
    EXPECT_NE(table.find("not modelled"), std::string::npos);
    for (auto& n : built.b().nodes)
        EXPECT_NE(table.find(n.path), std::string::npos) << n.path;
    std::printf("%s", table.c_str()); // for the reader of the test log
}

// The AUX block: one Bcm2835Aux for the aux node (AUX_IRQ, AUX_ENABLES) and the uart1
// node at +0x40, whose interrupt (GPU IRQ 29) the model drives.
TEST_P(RealBoard, AuxBlockIsOneModelForTwoNodes) {
    auto dtb = compile_board(GetParam());
    Built built(dtb, DeviceRegistry::builtin(), 4);
    ASSERT_FALSE(built.board.is_error()) << built.error();
    BuiltBoard& b = built.b();
    auto* aux = b.find<Bcm2835Aux>("/soc/aux@7e215000");
    ASSERT_NE(aux, nullptr);
    EXPECT_EQ(b.device_at("/soc/serial@7e215040"), aux);
    EXPECT_EQ(b.device_for_alias("serial1"), aux);
    EXPECT_EQ(b.device_by_compatible("brcm,bcm2835-aux-uart"), aux);
    EXPECT_EQ(node(b, "/soc/aux@7e215000")->model, "Bcm2835Aux");
    EXPECT_EQ(node(b, "/soc/serial@7e215040")->model, "Bcm2835Aux (mini UART)");
    EXPECT_EQ(node(b, "/soc/serial@7e215040")->compatible, "brcm,bcm2835-aux-uart");
    ASSERT_EQ(node(b, "/soc/serial@7e215040")->wiring.size(), 2u);
    EXPECT_EQ(node(b, "/soc/serial@7e215040")->wiring[0],
              "registers in aux's Bcm2835Aux (window 0x3f215000-0x3f2150ff)");
    EXPECT_EQ(node(b, "/soc/serial@7e215040")->wiring[1],
              "<1 29> -> intc bank 1 bit 29 (Bcm2835Armctrl input 29)");
    EXPECT_TRUE(node(b, "/soc/aux@7e215000")->wiring.empty());
    // One bus window from 0x3f215000, so the mini UART registers are the model's +0x40.
    ASSERT_NE(built.bus.find_device(0x3f215040), nullptr);
    EXPECT_EQ(built.bus.find_device(0x3f215040)->device, aux);
    EXPECT_EQ(built.bus.find_device(0x3f215040)->base, 0x3f215000u);
    // The VPU clock of the aux node (250 MHz) drives the baud generator: BAUD 270 gives
    // 250 MHz / (8 * 271) = 115313 baud.
    built.bus.mmio_write(0x3f215004, 1, 4);   // AUX_ENABLES: mini UART
    built.bus.mmio_write(0x3f215068, 270, 4); // AUX_MU_BAUD
    EXPECT_EQ(aux->baud_rate(), 115313u);
    // TX interrupt enabled with an empty FIFO: GPU IRQ 29 -> ARMCTRL -> core 0 IRQ pin.
    built.bus.mmio_write(0x3f00b210, 1u << 29, 4);     // Enable IRQs 1: GPU IRQ 29
    built.bus.mmio_write(0x3f215044, 0x2, 4);          // AUX_MU_IER: TX interrupt
    EXPECT_EQ(built.bus.mmio_read(0x3f215000, 4), 1u); // AUX_IRQ: mini UART
    EXPECT_EQ(built.bus.mmio_read(0x3f00b204, 4), 1u << 29);
    EXPECT_TRUE(built.cores.pins[0].level[0]);
    built.bus.mmio_write(0x3f215044, 0, 4);
    EXPECT_EQ(built.bus.mmio_read(0x3f00b204, 4), 0u);
    EXPECT_FALSE(built.cores.pins[0].level[0]);
}

// The VCHIQ doorbell: ARMCTRL basic bit 2 (input 66), pending in basic pending bit 2.
TEST_P(RealBoard, VchiqDoorbellIsArmBasicBit2) {
    auto dtb = compile_board(GetParam());
    Built built(dtb, DeviceRegistry::builtin(), 4);
    ASSERT_FALSE(built.board.is_error()) << built.error();
    BuiltBoard& b = built.b();
    auto* vchiq = b.find<Bcm2835Vchiq>("/soc/mailbox@7e00b840");
    ASSERT_NE(vchiq, nullptr);
    EXPECT_EQ(node(b, "/soc/mailbox@7e00b840")->model, "Bcm2835Vchiq");
    EXPECT_EQ(node(b, "/soc/mailbox@7e00b840")->label, "vchiq");
    EXPECT_TRUE(wiring_has(b, "/soc/mailbox@7e00b840",
                           "<0 2> -> intc bank 0 bit 2 (Bcm2835Armctrl input 66)"));
    EXPECT_EQ(built.bus.find_device(0x3f00b840)->device, vchiq);
    EXPECT_EQ(built.bus.find_device(0x3f00b880)->device, b.device_at("/soc/mailbox@7e00b880"));
    built.bus.mmio_write(0x3f00b218, 1u << 2, 4); // Enable Basic IRQs: ARM Doorbell 0
    vchiq->ring_arm_doorbell();
    EXPECT_EQ(built.bus.mmio_read(0x3f00b200, 4), 1u << 2); // IRQ basic pending
    EXPECT_TRUE(built.cores.pins[0].level[0]);
    EXPECT_EQ(built.bus.mmio_read(0x3f00b840, 4), 0x4u); // BELL0: rung, and now clear
    EXPECT_EQ(built.bus.mmio_read(0x3f00b200, 4), 0u);
    EXPECT_FALSE(built.cores.pins[0].level[0]);
    built.bus.mmio_write(0x3f00b848, 0, 4); // BELL2
    EXPECT_EQ(vchiq->vc_doorbell_rings(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Boards, RealBoard, ::testing::Values("raspi2b", "raspi3b"));

TEST(RealBoards, Raspi3bIsABcm2837) {
    auto dtb = compile_board("raspi3b");
    Built built(dtb, DeviceRegistry::builtin(), 4);
    ASSERT_FALSE(built.board.is_error()) << built.error();
    EXPECT_EQ(built.b().model, "Raspberry Pi 3 Model B");
    EXPECT_EQ(node(built.b(), "/arm-pmu")->compatible, "arm,cortex-a53-pmu");
    EXPECT_TRUE(wiring_has(built.b(), "/cpus/cpu@1", "reg 0x1 (MPIDR affinity)"));
}

// ---------------------------------------------------------------------------------------
// Synthetic trees: translation

TEST(BoardBuilder, NestedRangesTranslate) {
    SocDtb d;
    // /soc/bus@7e200000: two address cells; child 0:0x1000 is soc 0x7e200000.
    auto bus = d.add(d.soc, "bus@7e200000");
    d.strs(bus, "compatible", {"simple-bus"});
    d.cells(bus, "#address-cells", {2});
    d.cells(bus, "#size-cells", {1});
    d.cells(bus, "ranges", {0x0, 0x1000, 0x7e200000, 0x1000});
    // .../inner: empty ranges, identity.
    auto inner = d.add(bus, "inner");
    d.strs(inner, "compatible", {"simple-bus"});
    d.cells(inner, "#address-cells", {2});
    d.cells(inner, "#size-cells", {1});
    d.empty(inner, "ranges");
    auto dev = d.add(inner, "dev@1100");
    d.strs(dev, "compatible", {"test,unknown", "test,dev1"});
    d.cells(dev, "reg", {0x0, 0x1100, 0x100});
    d.cells(dev, "interrupts", {1, 7});
    Built built(d.bytes(), test_registry());
    ASSERT_FALSE(built.board.is_error()) << built.error();
    const BoardNode* n = node(built.b(), dev);
    ASSERT_NE(n, nullptr);
    ASSERT_TRUE(n->address);
    EXPECT_EQ(n->address->base, 0x3f200100u);
    EXPECT_EQ(n->address->size, 0x100u);
    EXPECT_EQ(n->compatible, "test,dev1"); // the first compatible with an entry
    EXPECT_EQ(n->model, "FakeDevice1");
    ASSERT_NE(built.bus.find_device(0x3f200100), nullptr);
    EXPECT_EQ(built.bus.find_device(0x3f200100)->device, built.b().device_at(dev));
    EXPECT_EQ(node(built.b(), d.intc)->address->base, 0x3f00b000u);
    EXPECT_TRUE(wiring_has(built.b(), bus, "ranges 0x00001000-0x00001fff -> 0x7e200000"));
}

TEST(BoardBuilder, BusWithoutRangesIsNotTranslatable) {
    SocDtb d;
    auto bus = d.add(d.soc, "bus@7e200000");
    d.strs(bus, "compatible", {"simple-bus"});
    d.cells(bus, "#address-cells", {1});
    d.cells(bus, "#size-cells", {1});
    auto dev = d.add(bus, "dev@100");
    d.strs(dev, "compatible", {"test,dev1"});
    d.cells(dev, "reg", {0x100, 0x100});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(),
              "/soc/bus@7e200000/dev@100: not translatable: /soc/bus@7e200000 has no ranges");
    EXPECT_TRUE(built.bus.devices().empty());
}

TEST(BoardBuilder, RegOutsideRanges) {
    SocDtb d;
    auto dev = d.add(d.soc, "dev@7f000000");
    d.strs(dev, "compatible", {"test,dev1"});
    d.cells(dev, "reg", {0x7f000000, 0x100});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(), "/soc/dev@7f000000: reg 0x7f000000 (0x100 bytes) lies outside the "
                             "ranges of /soc");
}

TEST(BoardBuilder, MalformedRanges) {
    SocDtb d;
    d.cells(d.soc, "ranges", {0x7e000000, 0x3f000000}); // two cells, entries need three
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(), "/soc: ranges is not a list of <child-address parent-address size> "
                             "(1+1+1 cells)");
}

TEST(BoardBuilder, InvalidDtb) {
    std::vector<uint8_t> junk(256, 0xa5);
    Built built(junk, test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error().rfind("device tree: not a valid DTB: ", 0), 0u) << built.error();
}

TEST(BoardBuilder, OverlappingWindows) {
    SocDtb d;
    for (const char* name : {"a@7e001000", "b@7e001080"}) {
        auto dev = d.add(d.soc, name);
        d.strs(dev, "compatible", {"test,dev1"});
        d.cells(dev, "reg", {name[0] == 'a' ? 0x7e001000u : 0x7e001080u, 0x80});
    }
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(),
              "/soc/a@7e001000: window 0x3f001000-0x3f0010ff overlaps /soc/b@7e001080");
    EXPECT_TRUE(built.bus.devices().empty()); // all or nothing
}

// ---------------------------------------------------------------------------------------
// Synthetic trees: interrupts

TEST(BoardBuilder, InheritedInterruptParent) {
    SocDtb d; // interrupt-parent only at the root
    auto dev = d.add(d.soc, "dev@7e001000");
    d.strs(dev, "compatible", {"test,dev2"});
    d.cells(dev, "reg", {0x7e001000, 0x100});
    d.cells(dev, "interrupts", {1, 4, 2, 25});
    Built built(d.bytes(), test_registry());
    ASSERT_FALSE(built.board.is_error()) << built.error();
    BuiltBoard& b = built.b();
    EXPECT_TRUE(wiring_has(b, dev, "<1 4> -> intc@7e00b000 bank 1 bit 4 (FakeIntc input 36)"));
    EXPECT_TRUE(wiring_has(b, dev, "<2 25> -> intc@7e00b000 bank 2 bit 25 (FakeIntc input 89)"));
    FakeIntc* ic = fake_intc(b, d.intc);
    ASSERT_NE(ic, nullptr);
    auto outs = b.device_at(dev)->irq_outputs();
    outs[1]->set(true);
    EXPECT_TRUE(ic->inputs[89]);
    EXPECT_FALSE(ic->inputs[36]);
    outs[0]->set(true);
    EXPECT_TRUE(ic->inputs[36]);
}

TEST(BoardBuilder, InterruptParentMissing) {
    SocDtb d;
    auto dev = d.add(d.soc, "serial@7e201000");
    d.strs(dev, "compatible", {"test,dev1"});
    d.cells(dev, "reg", {0x7e201000, 0x100});
    d.cells(dev, "interrupt-parent", {0x42});
    d.cells(dev, "interrupts", {2, 25});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(), "/soc/serial@7e201000: interrupt-parent 0x42 is no interrupt "
                             "controller (no node has that phandle)");
}

TEST(BoardBuilder, InterruptParentNotAController) {
    SocDtb d;
    auto other = d.add(d.soc, "other");
    uint32_t ph = d.phandle(other);
    auto dev = d.add(d.soc, "serial@7e201000");
    d.strs(dev, "compatible", {"test,dev1"});
    d.cells(dev, "reg", {0x7e201000, 0x100});
    d.cells(dev, "interrupt-parent", {ph});
    d.cells(dev, "interrupts", {2, 25});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(), "/soc/serial@7e201000: interrupt-parent 0x2 (/soc/other) is no "
                             "interrupt controller");
}

TEST(BoardBuilder, NoInterruptParentAnywhere) {
    Dtb d;
    auto dev = d.add("/", "dev@3f000000");
    d.strs(dev, "compatible", {"test,dev1"});
    d.cells(dev, "reg", {0x3f000000, 0x100});
    d.cells(dev, "interrupts", {2, 25});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(), "/dev@3f000000: has interrupts but no interrupt parent");
}

TEST(BoardBuilder, SpecifierCellCount) {
    SocDtb d;
    auto dev = d.add(d.soc, "dev@7e001000");
    d.strs(dev, "compatible", {"test,dev1"});
    d.cells(dev, "reg", {0x7e001000, 0x100});
    d.cells(dev, "interrupts", {1, 2, 3});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(), "/soc/dev@7e001000: interrupts has 3 cells, not a multiple of "
                             "#interrupt-cells 2 of /soc/intc@7e00b000");
}

TEST(BoardBuilder, SpecifierTheControllerRejects) {
    SocDtb d;
    auto dev = d.add(d.soc, "dev@7e001000");
    d.strs(dev, "compatible", {"test,dev1"});
    d.cells(dev, "reg", {0x7e001000, 0x100});
    d.cells(dev, "interrupts", {7, 1});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(), "/soc/dev@7e001000: interrupts entry 0 <7 1>: bank 7 does not exist");
}

TEST(BoardBuilder, SpecifierCountMustMatchOutputs) {
    SocDtb d;
    auto dev = d.add(d.soc, "dev@7e001000");
    d.strs(dev, "compatible", {"test,dev2"});
    d.cells(dev, "reg", {0x7e001000, 0x100});
    d.cells(dev, "interrupts", {1, 2});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(),
              "/soc/dev@7e001000: interrupts lists 1 specifiers but FakeDevice2 has 2 outputs");
}

TEST(BoardBuilder, NotModelledNodesAreListedAndExplained) {
    SocDtb d;
    auto dev = d.add(d.soc, "dma@7e007000");
    d.strs(dev, "compatible", {"test,nobody-models-this"});
    d.cells(dev, "reg", {0x7e007000, 0xf00});
    d.cells(dev, "interrupts", {1, 16});
    d.str(dev, "status", "disabled");
    Built built(d.bytes(), test_registry());
    ASSERT_FALSE(built.board.is_error()) << built.error();
    const BoardNode* n = node(built.b(), dev);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->model, "not modelled");
    EXPECT_TRUE(n->disabled);
    EXPECT_EQ(n->address->base, 0x3f007000u);
    EXPECT_TRUE(wiring_has(built.b(), dev,
                           "<1 16> -> intc@7e00b000 bank 1 bit 16 (FakeIntc input 48; source "
                           "not modelled)"));
    EXPECT_EQ(built.b().device_at(dev), nullptr);
    std::string table = describe_board(built.b());
    EXPECT_NE(table.find("not modelled, status disabled"), std::string::npos) << table;
}

TEST(BoardBuilder, InterruptsExtended) {
    SocDtb d;
    auto intc2 = d.add(d.soc, "intc@7e00c000");
    d.strs(intc2, "compatible", {"test,intc"});
    d.cells(intc2, "reg", {0x7e00c000, 0x100});
    d.empty(intc2, "interrupt-controller");
    d.cells(intc2, "#interrupt-cells", {2});
    uint32_t ph2 = d.phandle(intc2);
    auto dev = d.add(d.soc, "dev@7e001000");
    d.strs(dev, "compatible", {"test,dev2"});
    d.cells(dev, "reg", {0x7e001000, 0x100});
    d.cells(dev, "interrupts-extended", {d.intc_phandle, 0, 5, ph2, 1, 6});
    Built built(d.bytes(), test_registry());
    ASSERT_FALSE(built.board.is_error()) << built.error();
    auto outs = built.b().device_at(dev)->irq_outputs();
    outs[0]->set(true);
    outs[1]->set(true);
    EXPECT_TRUE(fake_intc(built.b(), d.intc)->inputs[5]);
    EXPECT_TRUE(fake_intc(built.b(), intc2)->inputs[38]);
    EXPECT_FALSE(fake_intc(built.b(), d.intc)->inputs.count(38));
}

/// /soc/root: the root controller (its own interrupt parent, no interrupts);
/// /soc/intc: a child controller whose IRQ and FIQ outputs go to root; /timer: per CPU.
struct TwoLevelDtb : SocDtb {
    TwoLevelDtb() {
        root = add(soc, "root@40000000");
        strs(root, "compatible", {"test,root-intc"});
        cells(soc, "ranges", {0x7e000000, 0x3f000000, 0x01000000, 0x40000000, 0x40000000, 0x1000});
        cells(root, "reg", {0x40000000, 0x100});
        empty(root, "interrupt-controller");
        cells(root, "#interrupt-cells", {2});
        root_phandle = phandle(root);
        cells(root, "interrupt-parent", {root_phandle});
        cells(intc, "interrupt-parent", {root_phandle});
        cells(intc, "interrupts", {0, 8});
        timer = add("/", "timer");
        strs(timer, "compatible", {"arm,armv7-timer"});
        cells(timer, "interrupt-parent", {root_phandle});
        // secure, non-secure, virtual, hypervisor (as the binding orders them)
        cells(timer, "interrupts", {3, 0, 3, 1, 3, 3, 3, 2});
    }
    std::string root, timer;
    uint32_t root_phandle;
};

TEST(BoardBuilder, RootControllerDrivesTheCores) {
    TwoLevelDtb d;
    Built built(d.bytes(), test_registry());
    ASSERT_FALSE(built.board.is_error()) << built.error();
    BuiltBoard& b = built.b();
    FakeIntc* root = fake_intc(b, d.root);
    FakeIntc* intc = fake_intc(b, d.intc);
    ASSERT_TRUE(root && intc);
    root->core_irq[1].set(true);
    EXPECT_TRUE(built.cores.pins[1].level[0]);
    root->core_fiq[0].set(true);
    EXPECT_TRUE(built.cores.pins[0].level[1]);
    intc->out.set(true);
    EXPECT_TRUE(root->inputs[8]);
    intc->fiq.set(true); // the undescribed FIQ wire, to the parent's child_fiq_input
    EXPECT_TRUE(root->inputs[99]);
    EXPECT_TRUE(wiring_has(b, d.intc, "FIQ -> root@40000000 FIQ input (FakeRootIntc input 99)"));
    EXPECT_TRUE(wiring_has(b, d.root, "core 1 IRQ, FIQ -> ArmCore 1 IRQ, FIQ pins"));
}

TEST(BoardBuilder, PerCpuTimerLinesFollowTheBindingOrder) {
    TwoLevelDtb d;
    Built built(d.bytes(), test_registry());
    ASSERT_FALSE(built.board.is_error()) << built.error();
    FakeIntc* root = fake_intc(built.b(), d.root);
    // Core 1's virtual timer (binding entry 2, <3 3>) -> input 200 + 16 + 3.
    built.cores.timers[1][kCntv].set(true);
    EXPECT_TRUE(root->inputs[219]);
    EXPECT_EQ(root->inputs.size(), 1u);
    // Core 0's hypervisor timer (binding entry 3, <3 2>) -> input 200 + 2.
    built.cores.timers[0][kCnthp].set(true);
    EXPECT_TRUE(root->inputs[202]);
    EXPECT_TRUE(wiring_has(built.b(), d.timer,
                           "<3 3> -> root@40000000, per CPU (FakeRootIntc inputs "
                           "203, 219)"));
}

TEST(BoardBuilder, MissingCoreLinesAreNotedNotConnected) {
    TwoLevelDtb d;
    VirtualClock clock{1'000'000'000};
    Bus bus{kRam};
    FakeCores one(1); // lines for core 0 only; the board has two cores
    auto board = build_board(d.bytes(), bus, clock, 2, one.lines, test_registry());
    ASSERT_FALSE(board.is_error()) << board.error().message;
    EXPECT_TRUE(wiring_has(board.value(), d.timer, "; no line from core 1: not connected"));
    EXPECT_TRUE(wiring_has(board.value(), d.root, "core 1 IRQ, FIQ: not connected (no core)"));
}

TEST(BoardBuilder, PerCpuSpecifierOnAnOrdinaryDevice) {
    SocDtb d;
    auto dev = d.add(d.soc, "dev@7e001000");
    d.strs(dev, "compatible", {"test,dev1"});
    d.cells(dev, "reg", {0x7e001000, 0x100});
    d.cells(dev, "interrupts", {3, 1});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(), "/soc/dev@7e001000: interrupts entry 0 <3 1> names a per-CPU input "
                             "of intc@7e00b000; only a per-CPU source (timer, PMU) can drive one");
}

TEST(BoardBuilder, SharedSpecifierOnAPerCpuSource) {
    SocDtb d;
    auto pmu = d.add("/", "arm-pmu");
    d.strs(pmu, "compatible", {"arm,cortex-a7-pmu"});
    d.cells(pmu, "interrupts", {1, 9});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(), "/arm-pmu: interrupts entry 0 <1 9> names a shared input of "
                             "intc@7e00b000, but arm,cortex-a7-pmu has one line per CPU");
}

// A late error (here in the wiring) leaves the bus and the cores' lines untouched.
TEST(BoardBuilder, NothingHappensUnlessTheWholeBoardBuilds) {
    TwoLevelDtb d;
    auto dev = d.add(d.soc, "dev@7e001000");
    d.strs(dev, "compatible", {"test,dev1"});
    d.cells(dev, "reg", {0x7e001000, 0x100});
    d.cells(dev, "interrupts", {9, 9});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_TRUE(built.bus.devices().empty());
    EXPECT_FALSE(built.cores.timers[0][kCntv].connected());
}

TEST(BoardBuilder, ResetReachesEveryDevice) {
    SocDtb d;
    auto dev = d.add(d.soc, "dev@7e001000");
    d.strs(dev, "compatible", {"test,dev1"});
    d.cells(dev, "reg", {0x7e001000, 0x100});
    Built built(d.bytes(), test_registry());
    ASSERT_FALSE(built.board.is_error()) << built.error();
    built.b().reset();
    EXPECT_EQ(built.b().find<FakeDevice>(dev)->resets, 1u);
}

// A part node needs an owner model whose window covers its reg.
TEST(BoardBuilder, PartWithoutItsOwner) {
    SocDtb d;
    auto uart = d.add(d.soc, "serial@7e215040");
    d.strs(uart, "compatible", {"brcm,bcm2835-aux-uart"});
    d.cells(uart, "reg", {0x7e215040, 0x40});
    d.cells(uart, "interrupts", {1, 29});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(), "/soc/serial@7e215040: Bcm2835Aux (mini UART) lies inside a "
                             "brcm,bcm2835-aux block, but no brcm,bcm2835-aux model's window "
                             "covers 0x3f215040-0x3f21507f");
}

// The owner's window (0x100 bytes) must hold the whole reg of the part.
TEST(BoardBuilder, PartOutsideItsOwnersWindow) {
    SocDtb d;
    auto aux = d.add(d.soc, "aux@7e215000");
    d.strs(aux, "compatible", {"brcm,bcm2835-aux"});
    d.cells(aux, "reg", {0x7e215000, 0x8});
    auto uart = d.add(d.soc, "serial@7e2150c0");
    d.strs(uart, "compatible", {"brcm,bcm2835-aux-uart"});
    d.cells(uart, "reg", {0x7e2150c0, 0x80});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_NE(built.error().find("covers 0x3f2150c0-0x3f21513f"), std::string::npos)
        << built.error();
}

// A part's interrupts are checked against the lines its entry picks from the owner.
TEST(BoardBuilder, PartInterruptCountMustMatch) {
    SocDtb d;
    auto aux = d.add(d.soc, "aux@7e215000");
    d.strs(aux, "compatible", {"brcm,bcm2835-aux"});
    d.cells(aux, "reg", {0x7e215000, 0x8});
    auto uart = d.add(d.soc, "serial@7e215040");
    d.strs(uart, "compatible", {"brcm,bcm2835-aux-uart"});
    d.cells(uart, "reg", {0x7e215040, 0x40});
    d.cells(uart, "interrupts", {1, 29, 1, 30});
    Built built(d.bytes(), test_registry());
    ASSERT_TRUE(built.board.is_error());
    EXPECT_EQ(built.error(), "/soc/serial@7e215040: interrupts lists 2 specifiers but "
                             "Bcm2835Aux (mini UART) has 1 outputs");
}

TEST(DeviceRegistry, BuiltinEntries) {
    const DeviceRegistry& r = DeviceRegistry::builtin();
    ASSERT_NE(r.find("arm,pl011"), nullptr);
    EXPECT_EQ(r.find("arm,pl011")->model, "Pl011");
    EXPECT_EQ(r.find("arm,primecell"), nullptr);
    EXPECT_NE(r.find_percpu("arm,armv7-timer"), nullptr);
    EXPECT_NE(r.find_percpu("arm,cortex-a7-pmu"), nullptr);
    ASSERT_NE(r.find_part("brcm,bcm2835-aux-uart"), nullptr);
    EXPECT_EQ(r.find_part("brcm,bcm2835-aux-uart")->owner, "brcm,bcm2835-aux");
    EXPECT_EQ(r.find("brcm,bcm2835-aux-uart"), nullptr);
    // The timer entry maps the binding's order onto CoreLines' order.
    FakeCores cores(1);
    auto* t = r.find_percpu("arm,armv7-timer");
    EXPECT_EQ(t->line(cores.lines, 0, 0), &cores.timers[0][kCntps]);
    EXPECT_EQ(t->line(cores.lines, 0, 1), &cores.timers[0][kCntpns]);
    EXPECT_EQ(t->line(cores.lines, 0, 2), &cores.timers[0][kCntv]);
    EXPECT_EQ(t->line(cores.lines, 0, 3), &cores.timers[0][kCnthp]);
    EXPECT_EQ(t->line(cores.lines, 1, 0), nullptr);
}

} // namespace
