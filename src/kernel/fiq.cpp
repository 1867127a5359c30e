// arch/arm/kernel/fiq.c of Linux 4.14: the FIQ belongs to one driver (claim_fiq(), in
// Irq, names the /proc/interrupts row); that driver puts its handler's code at the FIQ
// vector and its data in FIQ mode's banked registers. enable_fiq() is the irqchip's
// (Bcm2836Irqchip::enable_fiq).
#include "kernel/kernel_model.hpp"

#include <vector>

#include "kernel/vector_page.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/guest_abi.h"

namespace piemu::kernel {

namespace {
constexpr uint32_t FIQ_OFFSET = 0x1c; ///< the FIQ vector's offset in the vector page
} // namespace

void KernelModel::set_fiq_handler(uint32_t start, uint32_t length, std::string name) {
    // memcpy(vectors_page + FIQ_OFFSET, start, length): the branch to the default
    // handler is overwritten and the code runs on into the (otherwise unused) rest of
    // the vectors' page. The page is read-only to the guest, not to the kernel; this
    // runs at boot, before any code of the page is translated.
    auto image = vector_page_image();
    uint32_t from = start - PIEMU_KM_VECTORS;
    std::vector<uint8_t> code(image.begin() + from, image.begin() + from + length);
    cfg_.bus->write_phys(PIEMU_KM_VECTORS + FIQ_OFFSET, code);
    fiq_handler_ = {PIEMU_KM_VECTORS + FIQ_OFFSET, length, std::move(name)};
}

void KernelModel::set_fiq_regs(unsigned cpu, const FiqRegs& regs) {
    // fiqasm.S: switch to FIQ mode (interrupts masked), load r8-r12 and sp, switch back.
    ArmCore& c = *cfg_.cores.at(cpu);
    uint32_t cpsr = c.cpsr(), pc = c.pc();
    c.set_cpsr((cpsr & ~psr::M) | FIQ_MODE | PSR_I_BIT | PSR_F_BIT);
    c.set_reg(8, regs.r8);
    c.set_reg(9, regs.r9);
    c.set_reg(10, regs.r10);
    c.set_reg(11, regs.fp);
    c.set_reg(12, regs.ip);
    c.set_reg(13, regs.sp);
    c.set_cpsr(cpsr);
    c.set_pc(pc, cpsr & psr::T);
}

} // namespace piemu::kernel
