/* What the demo guests share: register access and the system timer's match 1 (GPU
 * IRQ 1, Linux irq 31 on the Pi's irq numbering), a line no built-in driver uses. */
#ifndef PIEMU_DEMO_H
#define PIEMU_DEMO_H
#include "piemu/kernel.h"

#define SYSTIMER 0x3f003000u
#define ST_CS 0x00
#define ST_CLO 0x04
#define ST_C1 0x10
#define IRQ_SYSTIMER_C1 31

static inline u32 readl(u32 addr) {
    return *(volatile u32*)addr;
}
static inline void writel(u32 val, u32 addr) {
    *(volatile u32*)addr = val;
}
/* Match 1 fires `us` microseconds from now. */
static inline void timer_in(u32 us) {
    writel(readl(SYSTIMER + ST_CLO) + us, SYSTIMER + ST_C1);
}
/* Acknowledges match 1; false if it was not pending (a shared line: not ours). */
static inline int timer_ack(void) {
    if (!(readl(SYSTIMER + ST_CS) & (1u << 1)))
        return 0;
    writel(1u << 1, SYSTIMER + ST_CS);
    return 1;
}

#define RPI_FIRMWARE_GET_BOARD_REVISION 0x00010002 /* raspberrypi-firmware.h */
#define RPI_FIRMWARE_GET_FIRMWARE_REVISION 0x00000001
#endif
