// BCM2835 VCHIQ doorbells. See bcm2835_vchiq.hpp for the sources and what is not
// modelled.
//
// Modelling choices:
//  - Sub-word accesses act on the containing register, as in the other models: a byte
//    read of BELL0 returns its lane and clears the doorbell; a byte write of BELL2
//    rings. Linux uses readl/writel only.
//  - Ringing is a level held until read, not a count: two rings before a read give one
//    interrupt and one 0x4, as a doorbell "was rung" bit would.
#include "devices/bcm2835_vchiq.hpp"

namespace piemu {

namespace {

constexpr uint32_t off(Bcm2835Vchiq::Reg r) {
    return static_cast<uint32_t>(r);
}

} // namespace

void Bcm2835Vchiq::reset() {
    arm_bell_ = false;
    vc_bell_ = false;
    vc_rings_ = 0;
    update();
}

uint32_t Bcm2835Vchiq::read(uint32_t offset, unsigned size) {
    return read_register_lane(*this, offset, size, kMmioSize,
                              [this](uint32_t aligned) { return read_reg(aligned); });
}

void Bcm2835Vchiq::write(uint32_t offset, uint32_t value, unsigned size) {
    write_register_lane(
        *this, offset, value, size, kMmioSize, [](uint32_t) { return 0u; },
        [this](uint32_t aligned, uint32_t v) { write_reg(aligned, v); });
}

uint32_t Bcm2835Vchiq::read_reg(uint32_t offset) {
    if (offset == off(Reg::Bell0)) {
        uint32_t v = arm_bell_ ? kBell0Rung : 0;
        arm_bell_ = false;
        update();
        return v;
    }
    log_unimplemented(*this, offset, "doorbell register read: reads 0");
    return 0;
}

void Bcm2835Vchiq::write_reg(uint32_t offset, uint32_t) {
    if (offset == off(Reg::Bell2)) {
        vc_bell_ = true;
        ++vc_rings_;
        return;
    }
    log_unimplemented(*this, offset, "doorbell register write ignored");
}

void Bcm2835Vchiq::ring_arm_doorbell() {
    arm_bell_ = true;
    update();
}

bool Bcm2835Vchiq::take_vc_doorbell() {
    bool rung = vc_bell_;
    vc_bell_ = false;
    return rung;
}

void Bcm2835Vchiq::update() {
    irq_.set(arm_bell_);
}

} // namespace piemu
