/*
 * Sleeping in atomic context: msleep() in a hard handler (interrupting init with
 * preemption enabled, then disabled) gets the kernel's "BUG: scheduling while
 * atomic: init/1/0x00010001" (0x00010002: schedule()'s own preempt_disable() is
 * counted) with a backtrace; mutex_lock() with IRQs off gets "BUG: sleeping function
 * called from invalid context", at most once a second as ___might_sleep()
 * rate-limits it. The handler does not sleep and the run goes on. With
 * preempt_count 0 and only interrupts off, msleep() sleeps without a report and
 * wait_for_completion() after might_sleep()'s; both return with interrupts on, as
 * schedule() and spin_unlock_irq() leave them, and a free mutex's fast path leaves
 * them off. Also: a kernel thread's comm is cut at 15 characters, kthread_stop()
 * returns its value, a completion and a mutex hand over.
 */
#include "common.h"

static int dev;
static volatile int calls;
static DEFINE_MUTEX(lock);
static DECLARE_COMPLETION(done);

static irqreturn_t km_sleepy(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    timer_ack();
    calls++;
    msleep(1);
    return IRQ_HANDLED;
}

static int worker(void* data) {
    printk(KERN_INFO "%s/%d: data %d\n", current_comm(), current_pid(), (int)(long)data);
    mutex_lock(&lock); /* init holds it: sleeps until init unlocks */
    printk(KERN_INFO "%s: got the mutex\n", current_comm());
    mutex_unlock(&lock);
    complete(&done);
    while (!kthread_should_stop())
        msleep(10);
    return 42;
}

int init(void) {
    struct task_struct* t;
    u32 flags;

    request_irq(IRQ_SYSTIMER_C1, km_sleepy, 0, "km-sleepy", &dev);
    timer_in(200);
    while (calls < 1)
        ;
    preempt_disable();
    timer_in(200);
    local_irq_enable();
    while (calls < 2)
        ;
    preempt_enable();

    local_irq_disable();
    mutex_lock(&lock);
    local_irq_enable();
    __asm__ volatile("mrs %0, cpsr" : "=r"(flags));
    printk(KERN_INFO "init: mutex owner is init: %d\n",
           lock.owner == (unsigned long)current_thread_info()->task);

    t = kthread_run(worker, (void*)7, "km_worker_with_a_long_name");
    msleep(10);
    mutex_unlock(&lock);
    wait_for_completion(&done);
    printk(KERN_INFO "init: completion done, kthread_stop = %d\n", kthread_stop(t));

    /* Within a second of the report: not reported again, the mutex still taken. */
    local_irq_disable();
    mutex_lock(&lock);
    local_irq_enable();
    printk(KERN_INFO "init: no report, mutex owner is init: %d\n",
           lock.owner == (unsigned long)current_thread_info()->task);
    mutex_unlock(&lock);
    /* A second later (HZ jiffies): reported again. */
    msleep(1000);
    local_irq_disable();
    mutex_lock(&lock);
    local_irq_enable();
    mutex_unlock(&lock);

    /* preempt_count 0 and only interrupts off: no bug to the scheduler. msleep()
     * sleeps, and schedule() brings the task back with interrupts on. */
    local_irq_disable();
    msleep(10);
    printk(KERN_INFO "init: msleep with IRQs off slept; IRQs off after: %d\n", irqs_disabled());
    /* wait_for_completion() calls might_sleep() first: reported (more than a second
     * after the last report), then it goes on; its spin_unlock_irq() leaves IRQs on. */
    msleep(1000);
    complete(&done);
    local_irq_disable();
    wait_for_completion(&done);
    printk(KERN_INFO "init: wait_for_completion with IRQs off; IRQs off after: %d\n",
           irqs_disabled());
    /* A free mutex's fast path leaves them off (and the report is not a second old). */
    local_irq_disable();
    mutex_lock(&lock);
    printk(KERN_INFO "init: mutex_lock with IRQs off; IRQs off after: %d\n", irqs_disabled());
    local_irq_enable();
    mutex_unlock(&lock);
    printk(KERN_INFO "init: done\n");
    return 0;
}
