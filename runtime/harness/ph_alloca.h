/* Force-included (-include) into every instrumented source: every alloca also records the new
 * stack pointer, so the host's restore covers dynamically sized frames (QuickJS allocas its
 * JS frames). See the stack section of meter.c. */
#ifndef PH_ALLOCA_H
#define PH_ALLOCA_H
#include <alloca.h>
#include <stdint.h>

extern uintptr_t ph_stack_min;

static inline void *ph_alloca_noted(void *p)
{
    if ((uintptr_t)p < ph_stack_min)
        ph_stack_min = (uintptr_t)p;
    return p;
}

#undef alloca
#define alloca(n) ph_alloca_noted(__builtin_alloca(n))
#endif
