/* Helpers the kernel-model test guests share: the system timer's match 1 (irq 31). */
#ifndef KGUEST_TESTS_COMMON_H
#define KGUEST_TESTS_COMMON_H
#include "piemu/kernel.h"

#define SYSTIMER 0x3f003000u
#define IRQ_SYSTIMER_C1 31

static inline u32 readl(u32 addr) {
    return *(volatile u32*)addr;
}
static inline void writel(u32 val, u32 addr) {
    *(volatile u32*)addr = val;
}
/* Match 1 fires `us` microseconds from now. */
static inline void timer_in(u32 us) {
    writel(readl(SYSTIMER + 0x04) + us, SYSTIMER + 0x10);
}
/* Acknowledges match 1; false if it was not pending. */
static inline int timer_ack(void) {
    if (!(readl(SYSTIMER) & 2))
        return 0;
    writel(2, SYSTIMER);
    return 1;
}
#endif
