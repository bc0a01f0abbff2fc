// baton-shim: the supervisor between a worker and one process job. It makes a job's processes
// end with the job's claim, whatever happens to the worker.
//
//   baton-shim [--user UID:GID] STATUS_FILE STDIN_FILE DIRECTORY FENCE_MS -- PROGRAM ARG...
//
// With --user (a worker running as root, `baton worker --job-user`), PROGRAM runs as that user
// and group, with no supplementary groups and no_new_privs (no setuid program gives it more);
// the shim stays root, so the job can neither signal it nor read the worker's memory.
//
// The worker starts it with the job's environment, stdout and stderr, and a pipe on stdin that
// carries commands, one per line:
//
//   fence T   the job may run until T (CLOCK_MONOTONIC, milliseconds): the worker renewed its lease
//   stop G    stop the job: SIGTERM to every process of it, SIGKILL to what is left after G ms
//   kill      SIGKILL to every process of the job at once
//
// The shim runs PROGRAM in a session of its own with STDIN_FILE as its standard input, and is
// the child subreaper (PR_SET_CHILD_SUBREAPER) of everything PROGRAM starts: a descendant that
// daemonises (setsid, double fork) is reparented to the shim, not to init, so the shim can
// always find it. "Every process of the job" is every live descendant of the shim, found in
// /proc. Without a fence renewal by the deadline (FENCE_MS, then each `fence`), or when the
// command pipe ends (the worker died: SIGKILL, OOM kill, crash), the shim kills every process
// of the job at once. When PROGRAM exits, whatever it left running is killed too.
//
// When everything is gone the shim writes STATUS_FILE (atomically, by rename) and exits 0:
//   exit CODE LEFTOVERS | signal SIGNAL LEFTOVERS | fenced | orphaned | spawn-error ERRNO MESSAGE
// LEFTOVERS counts the processes that were still running when PROGRAM ended.


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <grp.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/// Live (not zombie) descendants of `root`, from /proc. Returns how many were written to `out`.
static int descendants(pid_t root, pid_t *out, int capacity) {
    int size = 0, cap = 1024;
    pid_t *pids = malloc(sizeof(pid_t) * cap), *parents = malloc(sizeof(pid_t) * cap);
    char *zombie = malloc(cap);
    DIR *proc = opendir("/proc");
    if (!proc || !pids || !parents || !zombie) {
        if (proc) closedir(proc);
        free(pids); free(parents); free(zombie);
        return 0;
    }
    struct dirent *entry;
    while ((entry = readdir(proc))) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0) continue;
        char path[64], buffer[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t n = read(fd, buffer, sizeof buffer - 1);
        close(fd);
        if (n <= 0) continue;
        buffer[n] = '\0';
        // pid (comm) state ppid ...: comm may hold spaces and parentheses, so look from the last ')'.
        char *close_paren = strrchr(buffer, ')');
        char state;
        long ppid;
        if (!close_paren || sscanf(close_paren + 1, " %c %ld", &state, &ppid) != 2) continue;
        if (size == cap) {
            cap *= 2;
            pid_t *p = realloc(pids, sizeof(pid_t) * cap), *q = realloc(parents, sizeof(pid_t) * cap);
            char *z = realloc(zombie, cap);
            if (!p || !q || !z) { free(p ? p : pids); free(q ? q : parents); free(z ? z : zombie); closedir(proc); return 0; }
            pids = p; parents = q; zombie = z;
        }
        pids[size] = (pid_t)pid;
        parents[size] = (pid_t)ppid;
        zombie[size] = state == 'Z' || state == 'X';
        size++;
    }
    closedir(proc);
    // Breadth first from root over the parent links.
    int found = 0, head = 0;
    pid_t *queue = malloc(sizeof(pid_t) * (size + 1));
    if (!queue) { free(pids); free(parents); free(zombie); return 0; }
    int tail = 0;
    queue[tail++] = root;
    while (head < tail) {
        pid_t parent = queue[head++];
        for (int i = 0; i < size; i++) {
            if (parents[i] != parent || pids[i] == root) continue;
            queue[tail++] = pids[i];
            if (!zombie[i] && found < capacity) out[found++] = pids[i];
            if (tail > size) break;
        }
    }
    free(queue); free(pids); free(parents); free(zombie);
    return found;
}

static pid_t self;
static pid_t child;
static int child_status = -1;   // wait status of PROGRAM once it has exited

static void reap(void) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == child) child_status = status;
    }
}

static int signal_all(int sig) {
    pid_t pids[4096];
    int n = descendants(self, pids, 4096);
    for (int i = 0; i < n; i++) kill(pids[i], sig);
    return n;
}

/// Whether any child is left (live or not yet reaped): every live descendant is in the subtree
/// of a child, since the orphans of a subreaper become its children.
static int has_children(void) {
    siginfo_t info;
    info.si_pid = 0;
    return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/// SIGKILL to every descendant until none is left (new ones may be forked while we look).
static void kill_all(void) {
    for (int round = 0; round < 3000; round++) {
        reap();
        if (!has_children()) return;
        if (signal_all(SIGKILL) == 0) { reap(); return; }
        usleep(1000);
    }
}

static void write_status(const char *path, const char *text) {
    char temporary[4096];
    snprintf(temporary, sizeof temporary, "%s.tmp", path);
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    ssize_t ignored = write(fd, text, strlen(text));
    (void)ignored;
    close(fd);
    rename(temporary, path);
}

static void finish(const char *status_path, const char *text) {
    write_status(status_path, text);
    exit(0);
}

int main(int argc, char **argv) {
    long run_uid = -1, run_gid = -1;
    if (argc > 2 && strcmp(argv[1], "--user") == 0) {
        char *colon = strchr(argv[2], ':');
        if (colon == NULL || colon == argv[2]) {
            fprintf(stderr, "baton-shim: --user takes UID:GID\n");
            return 64;
        }
        run_uid = strtol(argv[2], NULL, 10);
        run_gid = strtol(colon + 1, NULL, 10);
        argv += 2;
        argc -= 2;
    }
    if (argc < 7 || strcmp(argv[5], "--") != 0) {
        fprintf(stderr, "usage: baton-shim [--user UID:GID] STATUS_FILE STDIN_FILE DIRECTORY FENCE_MS -- PROGRAM ARG...\n"
                        "(started by 'baton worker' for each process job; not meant to be run by hand)\n");
        return 64;
    }
    const char *status_path = argv[1], *stdin_path = argv[2], *directory = argv[3];
    long long fence = atoll(argv[4]);
    char **program = argv + 6;
    self = getpid();

    // Orphaned descendants come to us, not to init: we can always find and end them.
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    // Commands arrive on stdin; the job gets STDIN_FILE instead.
    int commands = fcntl(0, F_DUPFD_CLOEXEC, 3);
    if (commands < 0) { perror("baton-shim: commands"); return 70; }

    sigset_t mask, previous;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, &previous);
    int signals = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signals < 0) { perror("baton-shim: signalfd"); return 70; }

    int exec_error[2];
    if (pipe2(exec_error, O_CLOEXEC) != 0) { perror("baton-shim: pipe"); return 70; }
    child = fork();
    if (child < 0) {
        char text[256];
        snprintf(text, sizeof text, "spawn-error %d fork: %s\n", errno, strerror(errno));
        finish(status_path, text);
    }
    if (child == 0) {
        // Only async-signal-safe calls from here to exec.
        sigprocmask(SIG_SETMASK, &previous, NULL);
        signal(SIGPIPE, SIG_DFL);   // a worker that ignores SIGPIPE must not pass that on
        setsid();
        int in = open(stdin_path, O_RDONLY | O_CLOEXEC);
        if (in >= 0) dup2(in, 0); else close(0);
        if (run_uid >= 0) {
            if (setgroups(0, NULL) != 0 || setgid((gid_t)run_gid) != 0 || setuid((uid_t)run_uid) != 0
                || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
                int error = errno;
                ssize_t ignored = write(exec_error[1], &error, sizeof error);
                (void)ignored;
                _exit(127);
            }
        }
        if (strcmp(directory, "-") != 0 && chdir(directory) != 0) {
            int error = errno;
            ssize_t ignored = write(exec_error[1], &error, sizeof error);
            (void)ignored;
            _exit(127);
        }
        execv(program[0], program);
        int error = errno;
        ssize_t ignored = write(exec_error[1], &error, sizeof error);
        (void)ignored;
        _exit(127);
    }
    close(exec_error[1]);
    int error = 0;
    ssize_t got = read(exec_error[0], &error, sizeof error);
    close(exec_error[0]);
    if (got == (ssize_t)sizeof error) {
        waitpid(child, NULL, 0);
        char text[512];
        if (strcmp(directory, "-") != 0 && access(directory, X_OK) != 0)
            snprintf(text, sizeof text, "spawn-error %d cannot enter %s: %s\n", error, directory, strerror(error));
        else
            snprintf(text, sizeof text, "spawn-error %d cannot start %s: %s\n", error, program[0], strerror(error));
        finish(status_path, text);
    }

    char line[256];
    size_t used = 0;
    long long kill_at = -1;   // after a stop: SIGKILL what is left at this time
    for (;;) {
        if (child_status != -1) {
            // PROGRAM ended: whatever it left behind goes with it.
            pid_t pids[4096];
            int leftovers = has_children() ? descendants(self, pids, 4096) : 0;
            kill_all();
            char text[128];
            if (WIFEXITED(child_status))
                snprintf(text, sizeof text, "exit %d %d\n", WEXITSTATUS(child_status), leftovers);
            else
                snprintf(text, sizeof text, "signal %d %d\n", WTERMSIG(child_status), leftovers);
            finish(status_path, text);
        }
        long long now = now_ms();
        if (now >= fence) {
            kill_all();
            finish(status_path, "fenced\n");
        }
        if (kill_at >= 0 && now >= kill_at) {
            signal_all(SIGKILL);
            kill_at = -1;
        }
        long long wake = fence;
        if (kill_at >= 0 && kill_at < wake) wake = kill_at;
        long long timeout = wake - now;
        if (timeout > 1000) timeout = 1000;
        struct pollfd fds[2] = {{commands, POLLIN, 0}, {signals, POLLIN, 0}};
        int ready = poll(fds, 2, (int)timeout);
        if (ready < 0 && errno != EINTR) { kill_all(); finish(status_path, "orphaned\n"); }
        if (fds[1].revents & POLLIN) {
            struct signalfd_siginfo info;
            while (read(signals, &info, sizeof info) == (ssize_t)sizeof info) {
                if (info.ssi_signo == SIGCHLD) continue;   // reaped below
                // SIGTERM, SIGINT or SIGHUP to the shim itself: stop the job as a kill would.
                signal_all(SIGTERM);
                if (kill_at < 0) kill_at = now_ms() + 10000;
            }
            reap();
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(commands, line + used, sizeof line - 1 - used);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
                // The worker is gone (its end of the pipe closed with it): nobody holds the claim.
                kill_all();
                finish(status_path, "orphaned\n");
            }
            if (n > 0) {
                used += (size_t)n;
                line[used] = '\0';
                char *start = line, *newline;
                while ((newline = strchr(start, '\n'))) {
                    *newline = '\0';
                    if (strncmp(start, "fence ", 6) == 0) {
                        fence = atoll(start + 6);
                    } else if (strncmp(start, "stop ", 5) == 0) {
                        signal_all(SIGTERM);
                        long long at = now_ms() + atoll(start + 5);
                        if (kill_at < 0 || at < kill_at) kill_at = at;
                    } else if (strcmp(start, "kill") == 0) {
                        kill_all();
                    }
                    start = newline + 1;
                }
                used = strlen(start);
                memmove(line, start, used);
                if (used >= sizeof line - 1) used = 0;   // a line this long is no command
            }
        }
        reap();
    }
}
