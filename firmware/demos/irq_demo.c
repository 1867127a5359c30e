/*
 * piemu's first demo: a tiny guest on the kernel model that registers a shared
 * handler for the system timer's match 1 (ARMCTRL bank 1 bit 1, Linux irq 31), and
 * shows the interrupt context from both sides: in_interrupt() and preempt_count read
 * from thread_info at the base of the kernel stack, exactly as the kernel's macros do
 * (expect 0x00010000 in the handler, as the reference's sdhost patch printed, and 0
 * in init), then what genirq knows about the line.
 *
 * Then it uses two of the built-in drivers, whose interrupts fill the rest of
 * /proc/interrupts: the firmware's board revision through the mailbox
 * (3f00b880.mailbox) and the first block of the SD card through the SD host (mmc0).
 * Run it with --sd IMAGE to give it a card.
 */
#include "piemu/kernel.h"

#define SYSTIMER 0x3f003000u
#define ST_CS 0x00
#define ST_CLO 0x04
#define ST_C1 0x10
#define IRQ_SYSTIMER_C1 31 /* GPU IRQ 1 */

struct demo_dev {
    volatile int fired;
};
static struct demo_dev demo;
static unsigned char block[512];

#define RPI_FIRMWARE_GET_BOARD_REVISION 0x00010002 /* raspberrypi-firmware.h */

static inline u32 readl(u32 addr) {
    return *(volatile u32*)addr;
}
static inline void writel(u32 val, u32 addr) {
    *(volatile u32*)addr = val;
}

static irqreturn_t demo_timer_irq(int irq, void* dev_id) {
    struct demo_dev* dev = dev_id;

    if (!(readl(SYSTIMER + ST_CS) & (1u << 1)))
        return IRQ_NONE; /* shared line: not ours */
    writel(1u << 1, SYSTIMER + ST_CS);
    dev->fired++;
    printk(KERN_INFO "[+] in_interrupt: 0x%08x,preempt_count = 0x%08x, stack=0x%08x\n",
           in_interrupt(), preempt_count(), (u32)current_thread_info());
    printk(KERN_INFO "demo: %s irq %d on %s/%d\n", __func__, irq, current_comm(), current_pid());
    return IRQ_HANDLED;
}

int init(void) {
    struct piemu_irq_desc_info info;
    int ret;

    printk(KERN_INFO "demo: init: in_interrupt: 0x%08x,preempt_count = 0x%08x, stack=0x%08x\n",
           in_interrupt(), preempt_count(), (u32)current_thread_info());
    ret = request_irq(IRQ_SYSTIMER_C1, demo_timer_irq, IRQF_SHARED, "demo-timer", &demo);
    printk(KERN_INFO "demo: request_irq(%d) = %d\n", IRQ_SYSTIMER_C1, ret);
    if (ret)
        return 1;

    /* The timer fires in 1 ms while init spins with IRQs enabled: the IRQ
     * interrupts init (preempt_count 0), not the idle task. */
    writel(readl(SYSTIMER + ST_CLO) + 1000, SYSTIMER + ST_C1);
    while (!demo.fired)
        ;

    ret = piemu_irq_desc(IRQ_SYSTIMER_C1, &info);
    printk(KERN_INFO "demo: irq_desc %u: hwirq %u chip %s flow %s depth %u\n", info.irq, info.hwirq,
           info.chip, info.flow, info.depth);
    printk(KERN_INFO "demo:   count %u actions %u name %s\n", info.count, info.nr_actions,
           info.name);
    printk(KERN_INFO "demo:   handler %pS dev_id 0x%08x\n", (void*)info.handler, info.dev_id);

    /* The mailbox: init sleeps until the VideoCore's answer raises IRQ 23. */
    u32 revision = 0;
    ret = rpi_firmware_property(RPI_FIRMWARE_GET_BOARD_REVISION, &revision, sizeof revision);
    printk(KERN_INFO "demo: firmware: board revision 0x%08x (%d bytes)\n", revision, ret);

    /* The SD host: the card is identified, then block 0 arrives by IRQ 86. */
    ret = piemu_mmc_read(0, 0, 1, block);
    if (ret < 0)
        printk(KERN_INFO "demo: mmc0: no card (%d)\n", ret);
    else
        printk(KERN_INFO "demo: mmc0: block 0: %02x %02x %02x %02x ... %02x %02x\n", block[0],
               block[1], block[2], block[3], block[510], block[511]);

    msleep(20); /* the idle task runs meanwhile */
    printk(KERN_INFO "demo: free_irq returned \"%s\"\n",
           (const char*)free_irq(IRQ_SYSTIMER_C1, &demo));
    return 0;
}
