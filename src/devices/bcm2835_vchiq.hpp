// BCM2835 VCHIQ doorbells, DT compatible "brcm,bcm2835-vchiq": the doorbell registers
// at 0x3f00b840 (bus address 0x7e00b840, reg size 0x3c) through which the ARM and the
// VideoCore signal each other in the VCHIQ message protocol; interrupt ARMCTRL basic
// bit 2 ("ARM Doorbell 0", BCM2835 ARM Peripherals 7.5; mainline bcm2835-rpi.dtsi:
// `interrupts = <0 2>`), which Raspbian's /proc/interrupts lists as "VCHIQ doorbell".
//
// Broadcom does not document these registers. What is known comes from the only
// driver, Linux's drivers/staging/vc04_services/interface/vchiq_arm/vchiq_2835_arm.c
// (4.14):
//  - BELL0 (offset 0x00) is the ARM's doorbell. The interrupt handler reads it ("Read
//    (and clear) the doorbell") and treats bit 2 (0x4, later named ARM_DS_ACTIVE) as
//    "the doorbell was rung";
//  - BELL2 (offset 0x08) is the VideoCore's doorbell: remote_event_signal() rings it
//    with `writel(0, g_regs + BELL2)` ("trigger vc interrupt"); the value is ignored.
//
// The model: ring_arm_doorbell() (the VideoCore's side) sets the ARM doorbell; the
// interrupt is high while it is set; an ARM read of BELL0 returns 0x4 and clears it (0
// when not rung). An ARM write to BELL2 rings the VideoCore's doorbell, which stays
// rung until take_vc_doorbell() answers it.
//
// NOTE: piemu runs no VideoCore VCHIQ service (the mailbox ignores channel 3 and the
// property tag VCHIQ_INIT), so nothing rings the ARM's doorbell by itself and nothing
// answers the VideoCore's: ring_arm_doorbell() and take_vc_doorbell() exist for tests
// and for a future service. A Linux guest's vchiq driver therefore probes, registers
// "VCHIQ doorbell", and waits for a VideoCore that never connects.
//
// Not modelled (undocumented; Linux never touches them): BELL1 (0x04, ARM doorbell 1 =
// basic bit 3), BELL3 (0x0c) and whatever else lies in the window; BELL0 bits other
// than 2; what an ARM read of BELL2 or a write of BELL0 does. They read as zero and
// ignore writes, logged as unimplemented.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "piemu/device.hpp"

namespace piemu {

class Bcm2835Vchiq final : public Device {
public:
    /// Register offsets (vchiq_2835_arm.c's BELL0 and BELL2).
    enum class Reg : uint32_t {
        Bell0 = 0x00, ///< R 32: bit 2 = the ARM doorbell rung; the read clears it
        Bell2 = 0x08, ///< W 32: any value rings the VideoCore's doorbell
    };
    /// The DT node's reg size: 0x7e00b840-0x7e00b87b, below the mailbox at 0x7e00b880.
    static constexpr uint32_t kMmioSize = 0x3c;
    /// The value of BELL0 while the ARM doorbell is rung.
    static constexpr uint32_t kBell0Rung = 0x4;

    explicit Bcm2835Vchiq(std::string name) : Device(std::move(name)) {}

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// Both doorbells quiet, the ring count 0.
    void reset() override;

    /// {&irq()}: the one line of the DT node's `interrupts`.
    std::vector<IrqLine*> irq_outputs() override { return {&irq_}; }
    /// High while the ARM's doorbell is rung (until the ARM reads BELL0).
    IrqLine& irq() { return irq_; }

    /// The VideoCore's side: rings the ARM's doorbell (BELL0 reads 0x4 once). Ringing a
    /// doorbell already rung changes nothing. Host side: tests, a future VC service.
    void ring_arm_doorbell();
    /// True while the ARM's doorbell is rung.
    bool arm_doorbell_rung() const { return arm_bell_; }

    /// The VideoCore's side: true if the ARM rang BELL2 since the last call, and
    /// quietens it.
    bool take_vc_doorbell();
    /// True while the VideoCore's doorbell is rung and not yet taken.
    bool vc_doorbell_rung() const { return vc_bell_; }
    /// ARM writes to BELL2 since reset, whether or not they were taken.
    uint64_t vc_doorbell_rings() const { return vc_rings_; }

private:
    uint32_t read_reg(uint32_t offset);
    void write_reg(uint32_t offset, uint32_t value);
    void update();

    IrqLine irq_;
    bool arm_bell_ = false;
    bool vc_bell_ = false;
    uint64_t vc_rings_ = 0;
};

} // namespace piemu
