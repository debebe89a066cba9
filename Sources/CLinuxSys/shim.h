#ifndef VIDD_CLINUXSYS_SHIM_H
#define VIDD_CLINUXSYS_SHIM_H
// Linux headers that `import Glibc` does not bring in.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <spawn.h>

// Names the calling thread (shown by top -H, perf and /proc/PID/task/*/comm; 15 bytes at most).
static inline void clinuxsys_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

// accept4 is declared only under _GNU_SOURCE, which turns the sockaddr parameters into a
// transparent union Swift cannot pass; declare it plainly instead.
extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);

// glibc 2.34+, declared only under _GNU_SOURCE: a spawned child closes every descriptor from
// `from` up (tests spawn servers and tools, and a child must not inherit another test's sockets).
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

#endif
