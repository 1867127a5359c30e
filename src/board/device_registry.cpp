#include "board/device_registry.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <libfdt.h>

#include "devices/bcm2835_armctrl.hpp"
#include "devices/bcm2835_aux.hpp"
#include "devices/bcm2835_cprman.hpp"
#include "devices/bcm2835_dma.hpp"
#include "devices/bcm2835_mbox.hpp"
#include "devices/bcm2835_mphi.hpp"
#include "devices/bcm2835_pm_wdt.hpp"
#include "devices/bcm2835_sdhci.hpp"
#include "devices/bcm2835_sdhost.hpp"
#include "devices/bcm2835_systimer.hpp"
#include "devices/bcm2835_usb.hpp"
#include "devices/bcm2835_vchiq.hpp"
#include "devices/bcm2836_local_intc.hpp"
#include "devices/pl011.hpp"

namespace piemu {

// ---------------------------------------------------------------------------------------
// DeviceContext

std::optional<uint32_t> DeviceContext::prop_u32(const char* prop) const {
    int len = 0;
    auto* v = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, prop, &len));
    if (!v || len != 4)
        return std::nullopt;
    return fdt32_to_cpu(*v);
}

std::optional<uint64_t> DeviceContext::clock_rate(unsigned index) const {
    int len = 0;
    auto* cells = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "clocks", &len));
    if (!cells || len % 4)
        return std::nullopt;
    // `clocks` is a list of <phandle specifier...>, each specifier #clock-cells long.
    size_t n = size_t(len) / 4, i = 0;
    for (unsigned entry = 0; i < n; ++entry) {
        int provider = fdt_node_offset_by_phandle(fdt, fdt32_to_cpu(cells[i]));
        if (provider < 0)
            return std::nullopt;
        int clen = 0;
        auto* ncells =
            static_cast<const fdt32_t*>(fdt_getprop(fdt, provider, "#clock-cells", &clen));
        uint32_t skip = (ncells && clen == 4) ? fdt32_to_cpu(*ncells) : 0;
        if (entry == index) {
            int flen = 0;
            auto* f =
                static_cast<const fdt32_t*>(fdt_getprop(fdt, provider, "clock-frequency", &flen));
            if (!f || (flen != 4 && flen != 8))
                return std::nullopt;
            return flen == 4 ? uint64_t(fdt32_to_cpu(f[0]))
                             : (uint64_t(fdt32_to_cpu(f[0])) << 32) | fdt32_to_cpu(f[1]);
        }
        i += 1 + skip;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// DeviceEntry, DeviceRegistry

DeviceEntry DeviceEntry::simple(std::string compatible, std::string model,
                                std::function<std::unique_ptr<Device>(const DeviceContext&)> make) {
    DeviceEntry e;
    e.compatible = std::move(compatible);
    e.model = std::move(model);
    e.create = [make = std::move(make)](const DeviceContext& ctx) -> ErrorOr<DeviceInstance> {
        DeviceInstance inst;
        inst.device = make(ctx);
        return inst;
    };
    return e;
}

void DeviceRegistry::add(DeviceEntry entry) {
    for (auto& e : entries_)
        if (e.compatible == entry.compatible) {
            e = std::move(entry);
            return;
        }
    entries_.push_back(std::move(entry));
}

void DeviceRegistry::add_percpu(PercpuEntry entry) {
    for (auto& e : percpu_)
        if (e.compatible == entry.compatible) {
            e = std::move(entry);
            return;
        }
    percpu_.push_back(std::move(entry));
}

void DeviceRegistry::add_part(PartEntry entry) {
    for (auto& e : parts_)
        if (e.compatible == entry.compatible) {
            e = std::move(entry);
            return;
        }
    parts_.push_back(std::move(entry));
}

const DeviceEntry* DeviceRegistry::find(std::string_view compatible) const {
    for (auto& e : entries_)
        if (e.compatible == compatible)
            return &e;
    return nullptr;
}

const PercpuEntry* DeviceRegistry::find_percpu(std::string_view compatible) const {
    for (auto& e : percpu_)
        if (e.compatible == compatible)
            return &e;
    return nullptr;
}

const PartEntry* DeviceRegistry::find_part(std::string_view compatible) const {
    for (auto& e : parts_)
        if (e.compatible == compatible)
            return &e;
    return nullptr;
}

std::vector<std::string> DeviceRegistry::compatibles() const {
    std::vector<std::string> out;
    for (auto& e : entries_)
        out.push_back(e.compatible);
    for (auto& e : percpu_)
        out.push_back(e.compatible);
    for (auto& e : parts_)
        out.push_back(e.compatible);
    std::sort(out.begin(), out.end());
    return out;
}

// ---------------------------------------------------------------------------------------
// The built-in entries

namespace {

DeviceEntry pl011_entry() {
    DeviceEntry e;
    e.compatible = "arm,pl011";
    e.model = "Pl011";
    e.create = [](const DeviceContext& ctx) -> ErrorOr<DeviceInstance> {
        Pl011Config config;
        // UARTCLK from the node's first clock ("uartclk"), when it is a fixed clock.
        // NOTE: arm,primecell-periphid is deliberately not used: it is what Linux should
        // believe, not what the silicon reports (see Pl011Config::periph_id).
        if (auto hz = ctx.clock_rate(0))
            config.uartclk_hz = *hz;
        auto uart = std::make_unique<Pl011>(ctx.name, ctx.clock, config);
        DeviceInstance inst;
        // Pl011 exposes its one combined line as irq(), not through irq_outputs().
        inst.outputs = {&uart->irq()};
        inst.device = std::move(uart);
        return inst;
    };
    return e;
}

DeviceEntry armctrl_entry() {
    DeviceEntry e;
    e.compatible = "brcm,bcm2836-armctrl-ic";
    e.model = "Bcm2835Armctrl";
    e.create = [](const DeviceContext& ctx) -> ErrorOr<DeviceInstance> {
        auto ic = std::make_unique<Bcm2835Armctrl>(ctx.name);
        DeviceInstance inst;
        inst.outputs = {&ic->irq_out()};
        // The FIQ output has no DT description; it goes to the local controller's
        // GPU FIQ input (QA7 4.6: "GPU FIQ").
        inst.fiq_output = &ic->fiq_out();
        inst.controller = ic.get();
        inst.device = std::move(ic);
        return inst;
    };
    e.describe_specifier = [](std::span<const uint32_t> c) {
        return c.size() == 2 ? fmt::format("bank {} bit {}", c[0], c[1]) : std::string("?");
    };
    return e;
}

DeviceEntry local_intc_entry() {
    DeviceEntry e;
    e.compatible = "brcm,bcm2836-l1-intc";
    e.model = "Bcm2836LocalIntc";
    e.create = [](const DeviceContext& ctx) -> ErrorOr<DeviceInstance> {
        if (ctx.cores < 1 || ctx.cores > Bcm2836LocalIntc::kMaxCores)
            return Error{fmt::format("{}: {} cores; the controller serves 1 to {}", ctx.path,
                                     ctx.cores, Bcm2836LocalIntc::kMaxCores)};
        auto ic = std::make_unique<Bcm2836LocalIntc>(ctx.name, ctx.clock, ctx.cores);
        DeviceInstance inst;
        for (unsigned c = 0; c < ctx.cores; ++c)
            inst.cpu_outputs.push_back({&ic->core_irq(c), &ic->core_fiq(c)});
        inst.child_fiq_input = Bcm2836LocalIntc::kInputGpuFiq;
        inst.controller = ic.get();
        inst.device = std::move(ic);
        return inst;
    };
    // Linux's names for the hwirqs (include/linux/irqchip/irq-bcm2836.h).
    e.describe_specifier = [](std::span<const uint32_t> c) -> std::string {
        static constexpr const char* kNames[] = {
            "CNTPSIRQ", "CNTPNSIRQ", "CNTHPIRQ", "CNTVIRQ",  "MAILBOX0", "MAILBOX1",
            "MAILBOX2", "MAILBOX3",  "GPU_FAST", "PMU_FAST", "AXI",      "LOCAL_TIMER"};
        if (c.empty())
            return "?";
        if (c[0] < std::size(kNames))
            return kNames[c[0]];
        return fmt::format("hwirq {}", c[0]);
    };
    return e;
}

// The arm,armv7-timer binding lists secure physical, non-secure physical, virtual and
// hypervisor timer, in that order; CoreLines holds them in the local controller's
// order (CNTPS, CNTPNS, CNTHP, CNTV).
constexpr CoreTimer kTimerBindingOrder[] = {kCntps, kCntpns, kCntv, kCnthp};

PercpuEntry timer_entry(std::string compatible) {
    return {std::move(compatible), "ArmCore generic timer (per CPU)", 4,
            [](const CoreLines& lines, unsigned core, unsigned index) -> IrqLine* {
                if (core >= lines.timers.size() || index >= 4)
                    return nullptr;
                return lines.timers[core][kTimerBindingOrder[index]];
            }};
}

PercpuEntry pmu_entry(std::string compatible) {
    return {std::move(compatible), "ArmCore PMU (per CPU)", 1,
            [](const CoreLines& lines, unsigned core, unsigned) -> IrqLine* {
                return core < lines.pmu.size() ? lines.pmu[core] : nullptr;
            }};
}

/// What the firmware behind the mailbox reports for this board, chosen by the DT's
/// root compatible (Pi 3 "raspberrypi,3-model-b", otherwise a Pi 2).
MboxBoardInfo mbox_board_info(const DeviceContext& ctx) {
    bool pi3 = fdt_node_check_compatible(ctx.fdt, 0, "raspberrypi,3-model-b") == 0;
    MboxBoardInfo info{};
    info.board_revision = pi3 ? 0xa02082 : 0xa21041; // new-style revision codes
    // A fixed serial and a MAC in the Raspberry Pi Foundation's OUI b8:27:eb whose
    // low bytes are the serial's, as the firmware derives it.
    info.serial = 0x00000000'5049454dull; // "PIEM"
    info.mac = {0xb8, 0x27, 0xeb, 0x49, 0x45, 0x4d};
    // gpu_mem=76 (Raspbian's default on 1 GiB boards): the ARM gets 948 MiB and the
    // VideoCore the rest below 1 GiB, where framebuffers are allocated.
    info.arm_mem_base = 0;
    info.arm_mem_size = 0x3b400000;
    info.vc_mem_base = 0x3b400000;
    info.vc_mem_size = 0x04c00000;
    // piemu's own firmware "build time" (a Unix time, as Linux prints it): fixed so
    // that boot logs are reproducible.
    info.firmware_revision = 0x5b0d5d00;
    info.clocks = pi3 ? mbox_clocks_pi3() : mbox_clocks_pi2();
    info.gpio_expander = pi3;
    return info;
}

/// A device that masters the bus (reads and writes guest memory itself): `make`
/// gets the bus; a context without one is a wiring error.
DeviceEntry
bus_master_entry(std::string compatible, std::string model,
                 std::function<std::unique_ptr<Device>(const DeviceContext&, Bus&)> make) {
    DeviceEntry e;
    e.compatible = std::move(compatible);
    e.model = std::move(model);
    e.create = [make = std::move(make),
                model = e.model](const DeviceContext& ctx) -> ErrorOr<DeviceInstance> {
        if (!ctx.bus)
            return Error{fmt::format("{}: {} needs guest memory", ctx.path, model)};
        DeviceInstance inst;
        inst.device = make(ctx, *ctx.bus);
        return inst;
    };
    return e;
}

DeviceEntry mbox_entry() {
    return bus_master_entry(
        "brcm,bcm2835-mbox", "Bcm2835Mbox", [](const DeviceContext& ctx, Bus& bus) {
            return std::make_unique<Bcm2835Mbox>(ctx.name, ctx.clock, bus, mbox_board_info(ctx));
        });
}

DeviceEntry dma_entry() {
    // NOTE: the DT's reg is 0xf00 bytes; the model claims 0x1000 for INT_STATUS
    // (0xfe0) and ENABLE (0xff0), which sit past it on the silicon.
    return bus_master_entry("brcm,bcm2835-dma", "Bcm2835Dma",
                            [](const DeviceContext& ctx, Bus& bus) {
                                return std::make_unique<Bcm2835Dma>(ctx.name, ctx.clock, bus);
                            });
}

// The AUX block: one Bcm2835Aux over the whole 0x100-byte block, made for the aux node
// (whose reg covers only AUX_IRQ and AUX_ENABLES); the uart1 node at +0x40 is part of
// it and carries the shared AUX interrupt (GPU IRQ 29, bcm283x.dtsi).
DeviceEntry aux_entry() {
    return DeviceEntry::simple("brcm,bcm2835-aux", "Bcm2835Aux", [](const DeviceContext& ctx) {
        // The baud generator divides the VPU clock, the aux node's first clock.
        return std::make_unique<Bcm2835Aux>(
            ctx.name, ctx.clock, ctx.clock_rate(0).value_or(Bcm2835Aux::kDefaultCoreClockHz));
    });
}

PartEntry aux_uart_part() {
    return {"brcm,bcm2835-aux-uart", "brcm,bcm2835-aux", "Bcm2835Aux (mini UART)",
            [](Device& owner) -> std::vector<IrqLine*> {
                auto* aux = dynamic_cast<Bcm2835Aux*>(&owner);
                if (!aux)
                    return {};
                return {&aux->irq()};
            }};
}

/// The dwc_otg USB controller, with the root port's hub attached. A node with a second
/// `reg` window (Raspbian's bcm270x.dtsi: reg = <core>, <MPHI>) also gets the MPHI
/// block there, and its interrupts are then <MPHI> <core>, in that node's order.
DeviceEntry usb_entry(std::string compatible) {
    DeviceEntry e;
    e.compatible = std::move(compatible);
    e.model = "Bcm2835Usb";
    e.create = [](const DeviceContext& ctx) -> ErrorOr<DeviceInstance> {
        auto usb = std::make_unique<Bcm2835Usb>(ctx.name, ctx.clock);
        DeviceInstance inst;
        if (ctx.regs.size() >= 2) {
            auto mphi = std::make_unique<Bcm2835Mphi>(ctx.name + ".mphi");
            inst.outputs = {&mphi->irq(), &usb->irq()};
            inst.windows.push_back({1, "Bcm2835Mphi", std::move(mphi)});
        } else {
            inst.outputs = {&usb->irq()};
        }
        inst.device = std::move(usb);
        return inst;
    };
    return e;
}

DeviceRegistry make_builtin() {
    DeviceRegistry r;
    r.add(pl011_entry());
    r.add(armctrl_entry());
    r.add(local_intc_entry());
    r.add(mbox_entry());
    r.add(dma_entry());
    r.add(aux_entry());
    r.add(DeviceEntry::simple("brcm,bcm2835-vchiq", "Bcm2835Vchiq", [](const DeviceContext& ctx) {
        return std::make_unique<Bcm2835Vchiq>(ctx.name);
    }));
    r.add_part(aux_uart_part());
    r.add(DeviceEntry::simple("brcm,bcm2835-cprman", "Bcm2835Cprman", [](const DeviceContext& ctx) {
        return std::make_unique<Bcm2835Cprman>(ctx.name);
    }));
    r.add(DeviceEntry::simple("brcm,bcm2835-sdhost", "Bcm2835Sdhost", [](const DeviceContext& ctx) {
        return std::make_unique<Bcm2835Sdhost>(ctx.name, ctx.clock);
    }));
    r.add(DeviceEntry::simple("brcm,bcm2835-sdhci", "Bcm2835Sdhci", [](const DeviceContext& ctx) {
        return std::make_unique<Bcm2835Sdhci>(ctx.name, ctx.clock);
    }));
    r.add(DeviceEntry::simple("brcm,bcm2835-system-timer", "Bcm2835Systimer",
                              [](const DeviceContext& ctx) {
                                  return std::make_unique<Bcm2835Systimer>(ctx.name, ctx.clock);
                              }));
    // Mainline lists "brcm,bcm2835-pm" first (the power-domain MFD), then the watchdog.
    for (const char* compatible : {"brcm,bcm2835-pm-wdt", "brcm,bcm2835-pm"})
        r.add(DeviceEntry::simple(compatible, "Bcm2835PmWdt", [](const DeviceContext& ctx) {
            return std::make_unique<Bcm2835PmWdt>(ctx.name, ctx.clock);
        }));
    // Mainline's compatible and Raspbian's (whose node adds the MPHI window).
    for (const char* compatible : {"brcm,bcm2835-usb", "brcm,bcm2708-usb"})
        r.add(usb_entry(compatible));
    for (const char* compatible : {"arm,armv7-timer", "arm,armv8-timer"})
        r.add_percpu(timer_entry(compatible));
    for (const char* compatible : {"arm,cortex-a7-pmu", "arm,cortex-a53-pmu", "arm,armv8-pmuv3"})
        r.add_percpu(pmu_entry(compatible));
    return r;
}

} // namespace

const DeviceRegistry& DeviceRegistry::builtin() {
    static const DeviceRegistry registry = make_builtin();
    return registry;
}

} // namespace piemu
