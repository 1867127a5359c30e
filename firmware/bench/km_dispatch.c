/*
 * bench_km_handler and bench_km_thread - workload 4 of the benchmark suite
 * (tools/bench/run): the interrupt load of bench_irq (irq_roundtrip.c: 200,000
 * system timer compare 1 interrupts, 2 us apart) delivered through piemu's kernel
 * model: the vector page (vector_irq, __irq_svc), the C++ genirq
 * (bcm2836_arm_irqchip_handle_irq ... handle_level_irq ... handle_irq_event) and
 *   - bench_km_handler: a guest hard handler (request_irq), which acknowledges the
 *     match and arms the next one;
 *   - bench_km_thread (BENCH_KM_THREAD): a guest IRQ thread "irq/31-bench"
 *     (request_threaded_irq with a NULL handler and IRQF_ONESHOT, as a driver that
 *     does all its work in the thread): the default primary handler wakes it, the
 *     line stays masked until the thread function, which acknowledges and re-arms,
 *     returns; each interrupt is two context switches.
 * init sleeps in wait_for_completion() meanwhile, so the CPU idles in swapper/0's
 * WFI between interrupts, as bench_irq's main does. Not a test.
 *
 * Prints the count and a checksum of the system timer's CS as the handler saw it;
 * returns 0 if every call found the match pending.
 */
#include "../kguest/tests/common.h"

#ifndef BENCH_IRQS
#define BENCH_IRQS 200000u
#endif
#define BENCH_IRQ_PERIOD_US 2u

static int dev;
static DECLARE_COMPLETION(done);
static volatile u32 calls, bad, check = 0x811C9DC5u;

/* Compare 1 BENCH_IRQ_PERIOD_US from the counter's current value; again if it
 * passed meanwhile (irq_roundtrip.c's arm_next). */
static void arm_next(void) {
    u32 next;
    do {
        next = readl(SYSTIMER + 0x04) + BENCH_IRQ_PERIOD_US;
        writel(next, SYSTIMER + 0x10);
    } while ((int)(readl(SYSTIMER + 0x04) - next) >= 0);
}

static irqreturn_t bench_irq(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    u32 cs = readl(SYSTIMER);
    if (!(cs & 2))
        bad++;
    check = (check ^ cs) * 0x01000193u;
    writel(2, SYSTIMER);
    if (++calls < BENCH_IRQS)
        arm_next();
    else
        complete(&done);
    return IRQ_HANDLED;
}

int init(void) {
#ifdef BENCH_KM_THREAD
    int ret = request_threaded_irq(IRQ_SYSTIMER_C1, 0, bench_irq, IRQF_ONESHOT, "bench", &dev);
    const char* how = "thread";
#else
    int ret = request_irq(IRQ_SYSTIMER_C1, bench_irq, 0, "bench", &dev);
    const char* how = "handler";
#endif
    if (ret) {
        printk(KERN_ERR "bench: request_irq = %d\n", ret);
        return 1;
    }
    arm_next();
    wait_for_completion(&done);
    free_irq(IRQ_SYSTIMER_C1, &dev);
    printk(KERN_INFO "bench_km_%s: %u system timer interrupts\n", how, calls);
    printk(KERN_INFO "checksum 0x%08x\n", check);
    if (bad)
        printk(KERN_ERR "bench: %u calls without the match pending\n", bad);
    return bad ? 1 : 0;
}
