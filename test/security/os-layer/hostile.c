/* A hostile entry point for the OS-layer tests (test/security/os-layer.test.ts): native code that
 * owns the sandbox process and makes raw syscalls. It runs in place of the sandbox host, inside the
 * real confinement, performs one attack named by argv[1] and prints one JSON line:
 *   {"attack":"...","escaped":true|false,"errno":N,"detail":"..."}
 * "escaped" is true when the attack reached what it aimed at. Built static by the test with gcc.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *attack, int escaped, int err, const char *detail) {
  printf("{\"attack\":\"%s\",\"escaped\":%s,\"errno\":%d,\"detail\":\"", attack, escaped ? "true" : "false", err);
  for (const char *c = detail; *c; c++) {
    if (*c == '"' || *c == '\\') putchar('\\');
    putchar(*c >= 32 ? *c : ' ');
  }
  printf("\"}\n");
  fflush(stdout);
}

/* Opens and reads a file: escaped when any byte comes back. */
static void read_file(const char *attack, const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) { report(attack, 0, errno, strerror(errno)); return; }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  int err = errno;
  close(fd);
  if (n <= 0) { report(attack, 0, err, "read nothing"); return; }
  buf[n] = 0;
  report(attack, 1, 0, buf);
}

/* Creates a file: escaped when the create succeeds. */
static void write_file(const char *attack, const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { report(attack, 0, errno, strerror(errno)); return; }
  ssize_t n = write(fd, "owned\n", 6);
  close(fd);
  report(attack, n == 6, 0, "created");
}

static void list_dir(const char *attack, const char *path) {
  DIR *d = opendir(path);
  if (d == NULL) { report(attack, 0, errno, strerror(errno)); return; }
  char names[4096] = "";
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (strlen(names) + strlen(e->d_name) + 2 < sizeof names) { strcat(names, e->d_name); strcat(names, " "); }
  }
  closedir(d);
  /* Listing succeeds; the test judges what is in it. */
  report(attack, 0, 0, names);
}

static void tcp(const char *attack, int port, int do_bind) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) { report(attack, 0, errno, strerror(errno)); return; }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
  int r = do_bind ? bind(s, (struct sockaddr *)&a, sizeof a) : connect(s, (struct sockaddr *)&a, sizeof a);
  if (r == 0 && do_bind) r = listen(s, 1);
  int err = errno;
  close(s);
  report(attack, r == 0, r == 0 ? 0 : err, r == 0 ? "connected or bound" : strerror(err));
}

static void other_sockets(const char *attack) {
  static const int families[] = {AF_UNIX, AF_INET6, AF_NETLINK, AF_PACKET};
  for (unsigned i = 0; i < sizeof families / sizeof families[0]; i++) {
    int s = socket(families[i], SOCK_DGRAM, 0);
    if (s >= 0) { report(attack, 1, 0, "a socket was created"); return; }
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) { report(attack, 1, 0, "socketpair"); return; }
  report(attack, 0, errno, strerror(errno));
}

static void fork_bomb(const char *attack) {
  long n = 0;
  for (; n < 100000; n++) {
    pid_t p = fork();
    if (p < 0) break;
    if (p == 0) { pause(); _exit(0); }
  }
  int err = errno;
  char detail[64];
  snprintf(detail, sizeof detail, "%ld", n);
  /* Escaped: no limit stopped it before 100000 processes. */
  report(attack, n >= 100000, err, detail);
  kill(-1, SIGKILL);
}

static void big_write(const char *attack) {
  signal(SIGXFSZ, SIG_IGN);
  int fd = open("/tmp/big", O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) { report(attack, 0, errno, strerror(errno)); return; }
  static char chunk[1 << 20];
  memset(chunk, 'x', sizeof chunk);
  long long total = 0;
  const long long goal = 10LL << 30;
  int err = 0;
  while (total < goal) {
    ssize_t n = write(fd, chunk, sizeof chunk);
    if (n <= 0) { err = errno; break; }
    total += n;
  }
  close(fd);
  char detail[64];
  snprintf(detail, sizeof detail, "%lld", total);
  report(attack, total >= goal, err, detail);
}

static void raise_limits(const char *attack) {
  static const int resources[] = {RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_FSIZE, RLIMIT_CORE};
  for (unsigned i = 0; i < sizeof resources / sizeof resources[0]; i++) {
    struct rlimit l;
    getrlimit(resources[i], &l);
    struct rlimit up = {RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(resources[i], &up) == 0) { report(attack, 1, 0, "a hard limit was raised"); return; }
  }
  report(attack, 0, errno, strerror(errno));
}

/* Each kernel surface the filter denies: escaped when any call succeeds. */
static void kernel_surfaces(const char *attack) {
  struct { const char *name; long r; } calls[] = {
      {"mount", mount("none", "/tmp", "tmpfs", 0, NULL)},
      {"unshare", unshare(CLONE_NEWUSER)},
      {"unshare-net", unshare(CLONE_NEWNET)},
      {"setns", syscall(SYS_setns, 0, 0)},
      {"clone-newuser", syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)},
      {"keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0)},
      {"add_key", syscall(SYS_add_key, "user", "x", "y", 1, -4)},
      {"bpf", syscall(SYS_bpf, BPF_PROG_LOAD, 0, 0)},
      {"perf_event_open", syscall(SYS_perf_event_open, 0, 0, -1, -1, 0)},
      {"io_uring_setup", syscall(SYS_io_uring_setup, 1, 0)},
      {"userfaultfd", syscall(SYS_userfaultfd, 0)},
      {"memfd_create", syscall(SYS_memfd_create, "x", 0)},
      {"process_vm_readv", syscall(SYS_process_vm_readv, 1, 0, 0, 0, 0, 0)},
      {"init_module", syscall(SYS_init_module, 0, 0, "")},
      {"kexec_load", syscall(SYS_kexec_load, 0, 0, 0, 0)},
      {"chroot", chroot("/tmp")},
      {"setuid-0", setuid(0)},
  };
  char detail[512] = "";
  int escaped = 0;
  for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    if (calls[i].r >= 0) {
      escaped = 1;
      strcat(detail, calls[i].name);
      strcat(detail, " ");
    }
  }
  report(attack, escaped, 0, escaped ? detail : "all denied");
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *attack = argv[1];
  const char *arg = argc > 2 ? argv[2] : "";
  if (strcmp(attack, "read") == 0) read_file(attack, arg);
  else if (strcmp(attack, "write") == 0) write_file(attack, arg);
  else if (strcmp(attack, "list") == 0) list_dir(attack, arg);
  else if (strcmp(attack, "connect") == 0) tcp(attack, atoi(arg), 0);
  else if (strcmp(attack, "bind") == 0) tcp(attack, atoi(arg), 1);
  else if (strcmp(attack, "sockets") == 0) other_sockets(attack);
  else if (strcmp(attack, "exec") == 0) {
    char *args[] = {(char *)arg, "-c", "echo escaped", NULL};
    execv(arg, args);
    report(attack, 0, errno, strerror(errno));
  } else if (strcmp(attack, "fork") == 0) fork_bomb(attack);
  else if (strcmp(attack, "signal") == 0) {
    int r = kill(atoi(arg), 0);
    report(attack, r == 0, r == 0 ? 0 : errno, r == 0 ? "the process exists and may be signalled" : strerror(errno));
  } else if (strcmp(attack, "ptrace") == 0) {
    long r = ptrace(PTRACE_ATTACH, atoi(arg), 0, 0);
    int err = errno;
    long me = ptrace(PTRACE_TRACEME, 0, 0, 0);
    report(attack, r == 0 || me == 0, r == 0 ? 0 : err, r == 0 ? "attached" : me == 0 ? "traceme" : strerror(err));
  } else if (strcmp(attack, "bigwrite") == 0) big_write(attack);
  else if (strcmp(attack, "rlimits") == 0) raise_limits(attack);
  else if (strcmp(attack, "kernel") == 0) kernel_surfaces(attack);
  else if (strcmp(attack, "ids") == 0) {
    char detail[64];
    snprintf(detail, sizeof detail, "%d %d", (int)getuid(), (int)getgid());
    report(attack, getuid() == 0, 0, detail);
  } else return 2;
  return 0;
}
