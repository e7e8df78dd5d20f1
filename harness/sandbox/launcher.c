/*
 * netgrade-launch: the setup of one program run, done as pid 1 of the run's
 * new pid, mount and IPC namespaces (started by `unshare --pid --fork --mount
 * --ipc`).  A program run is started ~150 times per graded submission, so
 * this is C with direct system calls; launch.py computes what to pass.
 *
 * Two views of the file system:
 *
 *  - the confined view (-R), for the programs under test: a new root, built
 *    in a private tmpfs and entered with pivot_root, that holds only
 *      - read-only binds of the system folders (-b: /usr, /etc, /lib...),
 *        with the folders the program must not see hidden again (-H GLOB:
 *        empty read-only tmpfs, e.g. every site-packages, so the interpreter
 *        is a plain Python with its standard library), and single paths
 *        inside a hidden folder bound back (-k: the interpreter binary);
 *      - the run's work folder at /work (-W FD: a detached, size-limited
 *        tmpfs the grader made with fsmount and filled; or -w DIR: a folder,
 *        bound read-write);
 *      - its own /proc (this pid namespace), /sys (this network namespace),
 *        /dev (null, zero, full, random, urandom, tty; a fresh /dev/shm and
 *        /dev/mqueue of this IPC namespace), and fresh /tmp and /var/tmp,
 *        each a tmpfs of at most -R MiB;
 *    nothing else of the machine (no /root, /home, /opt, /run, no grader
 *    files, no other submission) exists there.
 *  - the host view (-m/-e), for our reference programs and an instructor's
 *    --run commands: the machine's folders, with private tmpfs over each -m
 *    MASK and the -e paths under it bound back.
 *
 * Then, in both views: resource limits (-l), every capability dropped from
 * the bounding set, supplementary groups cleared, the run's uid (-u),
 * no_new_privs, and with -S the seccomp filter below; then exec.
 *
 *   0. (-g FD, container runs) join the cgroup whose cgroup.procs is open as FD,
 *      so the run is held to its memory and process limits.
 *
 * usage: netgrade-launch [-u UID] [-c DIR] [-l cpu,as,fsize,nproc] [-g FD]... [-S]
 *                        [-R MIB [-b PATH]... [-H GLOB]... [-k PATH]... (-W FD | -w DIR)]
 *                        [-m MASK:MODE]... [-e PATH]... [-F FD] -- PROGRAM [ARGS...]
 * Exits 125 with "netgrade-sandbox: ..." on stderr, and on FD (-F, closed on exec) if the setup fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <signal.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_PATHS 64
#define MAX_HIDDEN 256
#define STAGE "/tmp"         /* where the new root is assembled (a private tmpfs over it) */
#define WORK "/work"         /* the work folder inside the confined view */

#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

/* -F FD: the grader's status pipe.  Why the setup failed goes there (and to stderr); the fd is
   closed on exec, so the program never holds it and cannot fake a setup failure of its own. */
static int status_fd = -1;

static void die(const char *what, const char *arg) {
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "netgrade-sandbox: setup failed: %s %s: %s\n", what, arg ? arg : "",
                     strerror(errno));
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
    if (status_fd >= 0 && write(status_fd, msg, (size_t)n) < 0) { /* the grader is gone: nothing to tell */ }
    if (write(2, msg, (size_t)n) < 0) { /* no stderr either */ }
    _exit(125);
}

static void mkdirs(const char *path, int last_is_dir) {
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf) { errno = ENAMETOOLONG; die("path", path); }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) die("mkdir", buf);
            *p = '/';
        }
    }
    if (last_is_dir) {
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) die("mkdir", buf);
    } else {
        int fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) die("create", buf);
        if (fd >= 0) close(fd);
    }
}

static int under(const char *path, const char *dir) {
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == 0);
}

static void limit(int resource, const char *value) {
    struct rlimit r;
    r.rlim_cur = r.rlim_max = strtoull(value, NULL, 10);
    if (setrlimit(resource, &r) != 0) die("setrlimit", value);
}

static const char *staged(const char *path) {
    static char buf[8][4096];
    static int next;
    char *b = buf[next++ % 8];
    if ((size_t)snprintf(b, 4096, "%s%s", STAGE, path) >= 4096) { errno = ENAMETOOLONG; die("path", path); }
    return b;
}

static void tmpfs(const char *where, const char *mode, long mib, unsigned long flags) {
    char opts[64];
    if (mib > 0) snprintf(opts, sizeof opts, "mode=%s,size=%ldm", mode, mib);
    else snprintf(opts, sizeof opts, "mode=%s,size=64k", mode);
    if (mount("netgrade", where, "tmpfs", MS_NOSUID | MS_NODEV | flags, opts) != 0) die("mount tmpfs", where);
}

/* bind the object open as fd at `to` (already created), read-only unless rw */
static void bind_fd(int fd, const char *to, int rw) {
    char src[64];
    snprintf(src, sizeof src, "/proc/self/fd/%d", fd);
    if (mount(src, to, NULL, MS_BIND | MS_REC, NULL) != 0) die("bind", to);
    if (!rw && mount(NULL, to, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0) {
        /* a source mounted nosuid/noexec keeps those flags: retry with them */
        if (mount(NULL, to, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
            die("read-only", to);
    }
}

/* ---------------------------------------------------------------- seccomp
 *
 * What a socket program never needs, refused with EPERM (the one list; the
 * README's sandbox section explains it):
 *   namespaces:      setns; unshare and clone with any CLONE_NEW* flag
 *                    (clone3 gets ENOSYS, so libc falls back to clone);
 *   mounts:          mount, umount2, pivot_root, chroot, open_tree, move_mount,
 *                    fsopen, fsconfig, fsmount, fspick, mount_setattr;
 *   other processes: ptrace, process_vm_readv/writev, pidfd_getfd, kcmp;
 *   kernel keyrings: add_key, request_key, keyctl (not namespaced);
 *   kernel code:     bpf, perf_event_open, init/finit/delete_module,
 *                    kexec_load, kexec_file_load;
 *   the machine:     reboot, swapon, swapoff, acct, quotactl, syslog, iopl,
 *                    ioperm, vhangup;
 *   attack surface:  userfaultfd, io_uring_setup/enter/register,
 *                    open_by_handle_at, name_to_handle_at, fanotify_init.
 * Any other ABI than the native one (x32, 32-bit) is refused as a whole.
 */
#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)
#define DENY(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

static void seccomp_filter(void) {
#ifdef NATIVE_ARCH
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef __x86_64__
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),  /* x32 */
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#endif
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        /* clone(flags, ...) and unshare(flags): no new namespace */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        DENY(__NR_setns), DENY(__NR_mount), DENY(__NR_umount2), DENY(__NR_pivot_root), DENY(__NR_chroot),
        DENY(__NR_open_tree), DENY(__NR_move_mount), DENY(__NR_fsopen), DENY(__NR_fsconfig),
        DENY(__NR_fsmount), DENY(__NR_fspick), DENY(__NR_mount_setattr),
        DENY(__NR_ptrace), DENY(__NR_process_vm_readv), DENY(__NR_process_vm_writev), DENY(__NR_pidfd_getfd),
        DENY(__NR_kcmp),
        DENY(__NR_add_key), DENY(__NR_request_key), DENY(__NR_keyctl),
        DENY(__NR_bpf), DENY(__NR_perf_event_open), DENY(__NR_init_module), DENY(__NR_finit_module),
        DENY(__NR_delete_module), DENY(__NR_kexec_load), DENY(__NR_kexec_file_load),
        DENY(__NR_reboot), DENY(__NR_swapon), DENY(__NR_swapoff), DENY(__NR_acct), DENY(__NR_quotactl),
        DENY(__NR_syslog), DENY(__NR_vhangup),
#ifdef __NR_iopl
        DENY(__NR_iopl), DENY(__NR_ioperm),
#endif
        DENY(__NR_userfaultfd), DENY(__NR_io_uring_setup), DENY(__NR_io_uring_enter),
        DENY(__NR_io_uring_register), DENY(__NR_open_by_handle_at), DENY(__NR_name_to_handle_at),
        DENY(__NR_fanotify_init),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) die("seccomp", NULL);
#else
    errno = ENOSYS;
    die("seccomp", "(no filter for this processor)");
#endif
}

/* ---------------------------------------------------------------- the confined view */

struct root_plan {
    long mib;
    const char *binds[MAX_PATHS]; int nbinds;
    const char *hides[MAX_PATHS]; int nhides;   /* globs */
    const char *keeps[MAX_PATHS]; int nkeeps;
    int work_fd;                                 /* -W: a detached tmpfs */
    const char *work_dir;                        /* -w: a folder */
};

/* an empty read-only tmpfs over `path` (a folder; a file gets /dev/null), the kept paths under it bound back */
static void hide(const char *path, struct root_plan *p, int *keep_fds) {
    struct stat st;
    if (lstat(staged(path), &st) != 0) return;  /* not in the new root anyway */
    if (!S_ISDIR(st.st_mode)) {
        if (mount("/dev/null", staged(path), NULL, MS_BIND, NULL) != 0) die("hide", path);
        return;
    }
    tmpfs(staged(path), "0755", 0, 0);
    for (int k = 0; k < p->nkeeps; k++) {
        if (!under(p->keeps[k], path)) continue;
        struct stat ks;
        if (fstat(keep_fds[k], &ks) != 0) die("stat", p->keeps[k]);
        mkdirs(staged(p->keeps[k]), S_ISDIR(ks.st_mode));
        bind_fd(keep_fds[k], staged(p->keeps[k]), 0);
    }
    if (mount(NULL, staged(path), NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=64k") != 0)
        die("read-only", path);
}

static void build_root(struct root_plan *p) {
    int bind_fds[MAX_PATHS], keep_fds[MAX_PATHS], work_dir_fd = -1;
    char *links[MAX_PATHS] = {0};

    /* everything to bind is opened first: the stage may cover where it lives */
    for (int i = 0; i < p->nbinds; i++) {
        struct stat st;
        bind_fds[i] = -1;
        if (lstat(p->binds[i], &st) != 0) continue;  /* /lib32 and the like: not on this machine */
        if (S_ISLNK(st.st_mode)) {                    /* /bin -> usr/bin: the same link in the new root */
            char target[4096];
            ssize_t n = readlink(p->binds[i], target, sizeof target - 1);
            if (n < 0) die("readlink", p->binds[i]);
            target[n] = 0;
            links[i] = strdup(target);
            continue;
        }
        bind_fds[i] = open(p->binds[i], O_PATH | O_CLOEXEC);
        if (bind_fds[i] < 0) die("open", p->binds[i]);
    }
    for (int i = 0; i < p->nkeeps; i++) {
        keep_fds[i] = open(p->keeps[i], O_PATH | O_CLOEXEC);
        if (keep_fds[i] < 0) die("open", p->keeps[i]);
    }
    /* what to hide, found before the stage covers /tmp (an interpreter may live there) */
    char *hidden[MAX_HIDDEN];
    int nhidden = 0;
    for (int g = 0; g < p->nhides; g++) {
        glob_t found;
        memset(&found, 0, sizeof found);
        if (glob(p->hides[g], GLOB_NOSORT, NULL, &found) == 0)
            for (size_t h = 0; h < found.gl_pathc && nhidden < MAX_HIDDEN; h++) hidden[nhidden++] = strdup(found.gl_pathv[h]);
        globfree(&found);
    }
    if (p->work_dir) {
        work_dir_fd = open(p->work_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (work_dir_fd < 0) die("open", p->work_dir);
    }
    int null_fd = open("/dev/null", O_PATH | O_CLOEXEC);
    if (null_fd < 0) die("open", "/dev/null");
    static const char *devices[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"};
    int dev_fds[6];
    for (int i = 0; i < 6; i++) dev_fds[i] = open(devices[i], O_PATH | O_CLOEXEC);

    /* the new root: a small tmpfs, read-only once assembled */
    tmpfs(STAGE, "0755", 1, 0);
    /* scratch folders of this run only, first: what is bound below them (an interpreter in /tmp) stays */
    static const char *scratch[] = {"/tmp", "/var/tmp"};
    for (int i = 0; i < 2; i++) {
        mkdirs(staged(scratch[i]), 1);
        tmpfs(staged(scratch[i]), "1777", p->mib, 0);
    }
    for (int i = 0; i < p->nbinds; i++) {
        if (links[i]) {
            mkdirs(staged(p->binds[i]), 1);
            rmdir(staged(p->binds[i]));
            if (symlink(links[i], staged(p->binds[i])) != 0) die("symlink", p->binds[i]);
            continue;
        }
        if (bind_fds[i] < 0) continue;
        struct stat st;
        if (fstat(bind_fds[i], &st) != 0) die("stat", p->binds[i]);
        mkdirs(staged(p->binds[i]), S_ISDIR(st.st_mode));
        bind_fd(bind_fds[i], staged(p->binds[i]), 0);
    }
    /* hidden folders: an empty tmpfs over each, with the kept paths under it bound back */
    for (int h = 0; h < nhidden; h++) {
        hide(hidden[h], p, keep_fds);
        free(hidden[h]);
    }

    /* /dev */
    mkdirs(staged("/dev"), 1);
    tmpfs(staged("/dev"), "0755", 0, MS_NOEXEC);
    for (int i = 0; i < 6; i++) {
        if (dev_fds[i] < 0) continue;
        mkdirs(staged(devices[i]), 0);
        char src[64];
        snprintf(src, sizeof src, "/proc/self/fd/%d", dev_fds[i]);
        if (mount(src, staged(devices[i]), NULL, MS_BIND, NULL) != 0) die("bind", devices[i]);
    }
    static const char *fdlinks[][2] = {{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
                                       {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"}};
    for (int i = 0; i < 4; i++)
        if (symlink(fdlinks[i][0], staged(fdlinks[i][1])) != 0) die("symlink", fdlinks[i][1]);
    mkdirs(staged("/dev/shm"), 1);
    mkdirs(staged("/dev/mqueue"), 1);
    tmpfs(staged("/dev/shm"), "1777", p->mib, 0);
    if (mount("mqueue", staged("/dev/mqueue"), "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        die("mount mqueue", NULL);
    if (mount(NULL, staged("/dev"), NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k") != 0)
        die("read-only", "/dev");

    mkdirs(staged("/proc"), 1);
    mkdirs(staged("/sys"), 1);
    if (mount("proc", staged("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) die("mount", "/proc");
    mount("sysfs", staged("/sys"), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);  /* best effort */

    /* the work folder */
    mkdirs(staged(WORK), 1);
    if (p->work_fd >= 0) {
        if (syscall(SYS_move_mount, p->work_fd, "", AT_FDCWD, staged(WORK), MOVE_MOUNT_F_EMPTY_PATH) != 0)
            die("move_mount", WORK);
        close(p->work_fd);
    } else if (work_dir_fd >= 0) {
        bind_fd(work_dir_fd, staged(WORK), 1);
    }

    if (mount(NULL, STAGE, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m") != 0)
        die("read-only", "/");
    /* enter it: the old root is stacked under the new one, then detached */
    if (chdir(STAGE) != 0) die("chdir", STAGE);
    if (syscall(SYS_pivot_root, ".", ".") != 0) die("pivot_root", NULL);
    if (umount2(".", MNT_DETACH) != 0) die("umount", "old root");
    if (chdir("/") != 0) die("chdir", "/");
    for (int i = 0; i < p->nbinds; i++) free(links[i]);
}

/* ---------------------------------------------------------------- the host view */

static void mask_host(const char **masks, const char **modes, int nmasks, const char **exposes, int nexposes) {
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) die("mount", "/proc");
    mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);  /* best effort */
    for (int m = 0; m < nmasks; m++) {
        int fds[MAX_PATHS], which[MAX_PATHS], k = 0;
        for (int e = 0; e < nexposes; e++) {
            if (!under(exposes[e], masks[m])) continue;
            fds[k] = open(exposes[e], O_PATH | O_CLOEXEC);
            if (fds[k] < 0) die("open", exposes[e]);
            which[k++] = e;
        }
        tmpfs(masks[m], modes[m], 64, 0);
        for (int j = 0; j < k; j++) {
            char src[64];
            mkdirs(exposes[which[j]], 1);
            snprintf(src, sizeof src, "/proc/self/fd/%d", fds[j]);
            if (mount(src, exposes[which[j]], NULL, MS_BIND | MS_REC, NULL) != 0) die("bind", exposes[which[j]]);
            close(fds[j]);
        }
    }
}

int main(int argc, char **argv) {
    const char *masks[MAX_PATHS], *modes[MAX_PATHS], *exposes[MAX_PATHS];
    int nmasks = 0, nexposes = 0, ncgroups = 0, cgroups[8], i, confine = 0, filter = 0;
    struct root_plan plan = {.work_fd = -1};
    long uid = -1;
    const char *cwd = NULL, *limits = NULL;

    /* the status fd first, so that every failure below is reported on it */
    for (i = 1; i + 1 < argc && strcmp(argv[i], "--") != 0; i++)
        if (!strcmp(argv[i], "-F")) {
            status_fd = (int)strtol(argv[i + 1], NULL, 10);
            if (fcntl(status_fd, F_SETFD, FD_CLOEXEC) != 0) { status_fd = -1; die("status fd", argv[i + 1]); }
        }
    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (!strcmp(argv[i], "-S")) { filter = 1; continue; }
        if (i + 1 >= argc) { errno = EINVAL; die("option without value", argv[i]); }
        const char *opt = argv[i], *val = argv[++i];
        if (!strcmp(opt, "-u")) uid = strtol(val, NULL, 10);
        else if (!strcmp(opt, "-c")) cwd = val;
        else if (!strcmp(opt, "-l")) limits = val;
        else if (!strcmp(opt, "-g") && ncgroups < 8) cgroups[ncgroups++] = (int)strtol(val, NULL, 10);
        else if (!strcmp(opt, "-R")) { confine = 1; plan.mib = strtol(val, NULL, 10); }
        else if (!strcmp(opt, "-b") && plan.nbinds < MAX_PATHS) plan.binds[plan.nbinds++] = val;
        else if (!strcmp(opt, "-H") && plan.nhides < MAX_PATHS) plan.hides[plan.nhides++] = val;
        else if (!strcmp(opt, "-k") && plan.nkeeps < MAX_PATHS) plan.keeps[plan.nkeeps++] = val;
        else if (!strcmp(opt, "-W")) plan.work_fd = (int)strtol(val, NULL, 10);
        else if (!strcmp(opt, "-w")) plan.work_dir = val;
        else if (!strcmp(opt, "-m") && nmasks < MAX_PATHS) {
            char *colon = strchr(val, ':');
            if (!colon) { errno = EINVAL; die("mask without mode", val); }
            *colon = 0;
            masks[nmasks] = val;
            modes[nmasks++] = colon + 1;
        } else if (!strcmp(opt, "-e") && nexposes < MAX_PATHS) exposes[nexposes++] = val;
        else if (!strcmp(opt, "-F")) continue;  /* read above */
        else { errno = EINVAL; die("bad option", opt); }
    }
    if (i >= argc - 1) { errno = EINVAL; die("no program", NULL); }
    char **program = argv + i + 1;

    /* "0" moves the writer itself; the program inherits the cgroup */
    for (int g = 0; g < ncgroups; g++)
        if (write(cgroups[g], "0", 1) != 1) die("join cgroup", NULL);
    for (int g = 0; g < ncgroups; g++) close(cgroups[g]);

    if (confine) {
        /* /proc of this pid namespace first: the binds go through /proc/self/fd */
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) die("mount", "/proc");
        build_root(&plan);
    } else {
        mask_host(masks, modes, nmasks, exposes, nexposes);
    }
    /* nothing the grader had open (namespace and mount fds) reaches the program */
    for (int fd = 3; fd < 1024; fd++)
        if (fd != status_fd) close(fd);
    if (cwd && chdir(cwd) != 0) die("chdir", cwd);

    if (limits) {  /* cpu,as,fsize,nproc */
        char buf[256], *save = NULL;
        int resources[] = {RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NPROC};
        strncpy(buf, limits, sizeof buf - 1);
        buf[sizeof buf - 1] = 0;
        char *tok = strtok_r(buf, ",", &save);
        for (int r = 0; tok && r < 4; r++, tok = strtok_r(NULL, ",", &save)) limit(resources[r], tok);
        limit(RLIMIT_CORE, "0");
        limit(RLIMIT_NOFILE, "1024");
    }
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++) prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    if (uid >= 0) {
        if (setgroups(0, NULL) != 0) die("setgroups", NULL);
        if (setgid((gid_t)uid) != 0) die("setgid", NULL);
        if (setuid((uid_t)uid) != 0) die("setuid", NULL);
        /* a change of uid clears the parent-death signal that `unshare --kill-child` set: set it
           again, or a run whose grader is killed outright would outlive it */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) die("pdeathsig", NULL);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs", NULL);
    if (filter) seccomp_filter();
    execvp(program[0], program);
    fprintf(stderr, "netgrade: cannot run %s: %s\n", program[0], strerror(errno));
    return 127;
}
