// Linux calls Swift cannot make directly (prctl is variadic).
#ifndef BATON_SYSTEM_H
#define BATON_SYSTEM_H

/// Makes this process not dumpable: processes of the same user can no longer read its
/// /proc/PID/environ and memory, nor ptrace it. Returns 0, or -1 with errno set.
int baton_set_not_dumpable(void);

#endif
