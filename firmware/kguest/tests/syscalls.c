/*
 * Each kernel-model syscall's success and error paths, printed one per line; the
 * transcript (tests/expected/km_syscalls.uart) holds the kernel's return values
 * (0 or -errno) and warnings. Ends with kernel_power_off(7): exit status 7.
 */
#include "piemu/kernel.h"

#define IRQ 31 /* system timer match 1: no built-in driver */

static int dev_a, dev_b;

static irqreturn_t handler(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    return IRQ_NONE;
}

static u32 usr_stack[256] __attribute__((aligned(8)));

/* Continues fn in USR mode on its own stack (never returns). */
void to_usr(void (*fn)(void), u32* sp);
__asm__(".text\n"
        ".globl to_usr\n"
        "to_usr:\n"
        "	cps #0x1f\n" /* SYS: shares the user registers */
        "	mov sp, r1\n"
        "	cps #0x10\n"
        "	bx r0\n");

static void from_usr(void) {
    unsigned long cpsr = arch_local_save_flags();
    int ret = printk(KERN_INFO "printk from USR mode (cpsr mode 0x%02lx)\n", cpsr & MODE_MASK);
    printk(KERN_INFO "  = %d; kernel_power_off(7) from USR mode\n", ret);
    kernel_power_off(7);
    for (;;)
        ;
}

static void show(const char* what, int ret) {
    printk(KERN_INFO "%s = %d\n", what, ret);
}

static void depth(void) {
    struct piemu_irq_desc_info info;
    int ret = piemu_irq_desc(IRQ, &info);
    printk(KERN_INFO "  irq_desc %d: ret %d depth %u actions %u\n", IRQ, ret, info.depth,
           info.nr_actions);
}

int init(void) {
    struct piemu_irq_desc_info info;
    const char* name;

    show("request_irq(31, handler, 0, \"a\", &dev_a)", request_irq(IRQ, handler, 0, "a", &dev_a));
    depth();
    show("request_irq(31, handler, 0, \"b\", &dev_b) [busy]",
         request_irq(IRQ, handler, 0, "b", &dev_b));
    show("request_irq(31, handler, IRQF_SHARED, \"b\", &dev_b) [first not shared]",
         request_irq(IRQ, handler, IRQF_SHARED, "b", &dev_b));
    show("request_irq(2000, ...) [no such irq]", request_irq(2000, handler, 0, "c", &dev_b));
    show("request_irq(32, NULL, ...) [no handler]", request_irq(32, 0, 0, "c", &dev_b));
    show("request_irq(32, 0x100, ...) [not guest text]",
         request_irq(32, (irq_handler_t)0x100, 0, "c", &dev_b));
    show("request_irq(32, handler, 0, NULL, ...) [no name]",
         request_irq(32, handler, 0, 0, &dev_b));
    show("request_irq(32, handler, 0, 0xf0000000, ...) [unmapped name]",
         request_irq(32, handler, 0, (const char*)0xf0000000, &dev_b));
    show("request_irq(32, handler, IRQF_SHARED, \"c\", NULL) [shared without dev_id]",
         request_irq(32, handler, IRQF_SHARED, "c", 0));

    show("irq_set_irq_type(31, IRQ_TYPE_LEVEL_HIGH)", irq_set_irq_type(IRQ, IRQ_TYPE_LEVEL_HIGH));
    show("irq_set_irq_type(2000, IRQ_TYPE_LEVEL_HIGH)",
         irq_set_irq_type(2000, IRQ_TYPE_LEVEL_HIGH));

    show("disable_irq(31)", disable_irq(IRQ));
    depth();
    show("disable_irq_nosync(31)", disable_irq_nosync(IRQ));
    depth();
    show("enable_irq(31)", enable_irq(IRQ));
    show("enable_irq(31)", enable_irq(IRQ));
    depth();
    show("enable_irq(31) [unbalanced]", enable_irq(IRQ));
    show("enable_irq(2000)", enable_irq(2000));
    show("disable_irq(2000)", disable_irq(2000));

    show("piemu_irq_desc(2000, &info)", piemu_irq_desc(2000, &info));
    show("piemu_irq_desc(31, 0xf0000000)",
         piemu_irq_desc(IRQ, (struct piemu_irq_desc_info*)0xf0000000));

    show("printk(\"abc\\n\")", printk("abc\n"));
    show("printk(NULL)", piemu_syscall(__NR_printk, 0, 0, 0, 0, 0, 0));
    show("syscall 99", piemu_syscall(99, 0, 0, 0, 0, 0, 0));
    show("syscall 0", piemu_syscall(0, 0, 0, 0, 0, 0, 0));

    name = free_irq(IRQ, &dev_a);
    printk(KERN_INFO "free_irq(31, &dev_a) = \"%s\"\n", name);
    printk(KERN_INFO "free_irq(31, &dev_a) again = %p\n", free_irq(IRQ, &dev_a));

    msleep(10);
    printk(KERN_INFO "msleep(10) returned\n");
    schedule();
    printk(KERN_INFO "schedule() returned\n");
    /* The same calls from USR mode go through vector_swi's user path and
     * ret_to_user. */
    to_usr(from_usr, &usr_stack[256]);
    return 1; /* not reached */
}
