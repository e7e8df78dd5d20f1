/*
 * netgrade-launch: the setup of one program run, done as pid 1 of the run's
 * new pid and mount namespaces (started by `unshare --pid --fork --mount`).
 *
 * It does what the shell fallback in launch.py does with a dozen commands,
 * with direct system calls, because a program run is started ~150 times per
 * graded submission:
 *
 *   1. mount a fresh /proc (only this run's processes are visible) and /sys
 *      (the run's own network namespace);
 *   2. for each -m MASK: keep an fd on every path to expose under MASK, mount
 *      a private tmpfs over MASK, recreate the paths and bind the fds back;
 *   3. chdir to the work folder;
 *   4. resource limits (-l), then drop every capability from the bounding
 *      set, clear supplementary groups, switch to the run's uid (-u), set
 *      no_new_privs;
 *   5. exec the program.
 *
 *   0. (-g FD, container runs) join the cgroup whose cgroup.procs is open as FD,
 *      so the run is held to the container's memory and process limits;
 *
 * usage: netgrade-launch [-u UID] [-c DIR] [-l cpu,as,fsize,nproc] [-g FD]...
 *                        [-m MASK:MODE]... [-e PATH]... -- PROGRAM [ARGS...]
 * Exits 125 with "netgrade-sandbox: ..." on stderr if the setup fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PATHS 32

static void die(const char *what, const char *arg) {
    fprintf(stderr, "netgrade-sandbox: setup failed: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
    _exit(125);
}

static void mkdirs(const char *path) {
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
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) die("mkdir", buf);
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

int main(int argc, char **argv) {
    const char *masks[MAX_PATHS], *modes[MAX_PATHS], *exposes[MAX_PATHS];
    int nmasks = 0, nexposes = 0, ncgroups = 0, cgroups[8], i;
    long uid = -1;
    const char *cwd = NULL, *limits = NULL;

    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (i + 1 >= argc) { errno = EINVAL; die("option without value", argv[i]); }
        const char *opt = argv[i], *val = argv[++i];
        if (!strcmp(opt, "-u")) uid = strtol(val, NULL, 10);
        else if (!strcmp(opt, "-c")) cwd = val;
        else if (!strcmp(opt, "-l")) limits = val;
        else if (!strcmp(opt, "-g") && ncgroups < 8) cgroups[ncgroups++] = (int)strtol(val, NULL, 10);
        else if (!strcmp(opt, "-m") && nmasks < MAX_PATHS) {
            char *colon = strchr(val, ':');
            if (!colon) { errno = EINVAL; die("mask without mode", val); }
            *colon = 0;
            masks[nmasks] = val;
            modes[nmasks++] = colon + 1;
        } else if (!strcmp(opt, "-e") && nexposes < MAX_PATHS) exposes[nexposes++] = val;
        else { errno = EINVAL; die("bad option", opt); }
    }
    if (i >= argc - 1) { errno = EINVAL; die("no program", NULL); }
    char **program = argv + i + 1;

    /* "0" moves the writer itself; the program inherits the cgroup */
    for (int g = 0; g < ncgroups; g++)
        if (write(cgroups[g], "0", 1) != 1) die("join cgroup", NULL);

    /* nothing the grader had open (the namespace fd) reaches the program */
    for (int fd = 3; fd < 1024; fd++) close(fd);

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
        char opts[64];
        snprintf(opts, sizeof opts, "mode=%s,size=64m", modes[m]);
        if (mount("netgrade", masks[m], "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) die("mount tmpfs", masks[m]);
        for (int j = 0; j < k; j++) {
            char src[64];
            mkdirs(exposes[which[j]]);
            snprintf(src, sizeof src, "/proc/self/fd/%d", fds[j]);
            if (mount(src, exposes[which[j]], NULL, MS_BIND | MS_REC, NULL) != 0) die("bind", exposes[which[j]]);
            close(fds[j]);
        }
    }
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
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs", NULL);
    execvp(program[0], program);
    fprintf(stderr, "netgrade: cannot run %s: %s\n", program[0], strerror(errno));
    return 127;
}
