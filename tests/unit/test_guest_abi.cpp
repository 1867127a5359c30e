// include/piemu/guest_abi.h is the one source of the guest ABI's numbers. The values
// guest C code sees (guest_abi_values.c, compiled as C) must be the C++ kernel
// model's, and the layouts must be the kernel's.
#include <gtest/gtest.h>

#include "kernel/kernel_model.hpp"
#include "piemu/guest_abi.h"
#include "piemu/kernel/irq_types.hpp"
#include "piemu/kernel/preempt.hpp"
#include "piemu/trace.hpp"

extern "C" const unsigned long piemu_guest_abi_values[];

using namespace piemu::kernel;

TEST(GuestAbi, CValuesEqualTheKernelModels) {
    const unsigned long cxx[] = {
        IRQ_NONE,
        IRQ_HANDLED,
        IRQ_WAKE_THREAD,
        IRQF_TRIGGER_NONE,
        IRQF_TRIGGER_RISING,
        IRQF_TRIGGER_FALLING,
        IRQF_TRIGGER_HIGH,
        IRQF_TRIGGER_LOW,
        IRQF_SHARED,
        IRQF_PROBE_SHARED,
        IRQF_PERCPU,
        IRQF_NOBALANCING,
        IRQF_ONESHOT,
        IRQF_NO_SUSPEND,
        IRQF_NO_THREAD,
        IRQ_TYPE_NONE,
        IRQ_TYPE_EDGE_RISING,
        IRQ_TYPE_EDGE_FALLING,
        IRQ_TYPE_EDGE_BOTH,
        IRQ_TYPE_LEVEL_HIGH,
        IRQ_TYPE_LEVEL_LOW,
        PREEMPT_OFFSET,
        SOFTIRQ_OFFSET,
        HARDIRQ_OFFSET,
        PREEMPT_MASK,
        SOFTIRQ_MASK,
        HARDIRQ_MASK,
        NMI_MASK,
        piemu::trace::TASK_COMM_LEN,
        HI_SOFTIRQ,
        TIMER_SOFTIRQ,
        NET_TX_SOFTIRQ,
        NET_RX_SOFTIRQ,
        BLOCK_SOFTIRQ,
        IRQ_POLL_SOFTIRQ,
        TASKLET_SOFTIRQ,
        SCHED_SOFTIRQ,
        HRTIMER_SOFTIRQ,
        RCU_SOFTIRQ,
        NR_SOFTIRQS,
    };
    for (size_t i = 0; i < std::size(cxx); ++i)
        EXPECT_EQ(piemu_guest_abi_values[i], cxx[i]) << "entry " << i;
}

// arch/arm/kernel/asm-offsets.c of 4.14 for ARMv7 without LPAE.
TEST(GuestAbi, LayoutsAreLinux414s) {
    EXPECT_EQ(TI_PREEMPT, 4);
    EXPECT_EQ(TI_ADDR_LIMIT, 8);
    EXPECT_EQ(TI_CPU_SAVE, 24);
    EXPECT_EQ(TI_CPU_SAVE + 12 * 4, TI_SYSCALL); // cpu_context: r4-r9, sl, fp, sp, pc, extra[2]
    EXPECT_EQ(S_PC, 15 * 4);
    EXPECT_EQ(S_OLD_R0, 17 * 4);
    EXPECT_EQ(PT_REGS_SIZE, 18 * 4);
    EXPECT_EQ(SVC_REGS_SIZE, PT_REGS_SIZE + 8); // + DACR + addr_limit
    EXPECT_EQ(THREAD_SIZE, 0x2000);
    EXPECT_EQ(TASK_SIZE, 0x7f000000); // the reference listing's mov r1, #0x7f000000
}
