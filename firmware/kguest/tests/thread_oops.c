/*
 * A kernel thread that hits BUG(): the kernel's Oops report names it, the thread is
 * killed (do_exit(SIGSEGV)) and the rest of the system goes on; init then exits 0.
 */
#include "common.h"

static int doomed(void* data) {
    (void)data;
    printk(KERN_INFO "%s: about to BUG()\n", current_comm());
    BUG();
    return 0;
}

int init(void) {
    struct task_struct* t = kthread_run(doomed, 0, "doomed");
    msleep(10);
    printk(KERN_INFO "init: still running; kthread_stop(doomed) = %d\n", kthread_stop(t));
    return 0;
}
