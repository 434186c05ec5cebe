// Hostile programs for sandbox_hostile_test, one per argv[1] (notes §A.11). Each prints
// what it observed, so the test can check the observable besides the verdict.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>

extern char** environ;

namespace {

const char* ErrName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "?";
}

// Prints "<what>=<ERRNO>" or "<what>=OK".
void Report(const char* what, long result) {
  printf("%s=%s\n", what, result < 0 ? ErrName(errno) : "OK");
  fflush(stdout);
}

double Now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

void* Spin(void*) {
  double end = Now() + 2.0;
  while (Now() < end) {
  }
  return nullptr;
}

void* Park(void*) {
  pause();
  return nullptr;
}

int Connect(int family, const sockaddr* addr, socklen_t len) {
  int s = socket(family, SOCK_STREAM, 0);
  if (s < 0) return -1;
  int r = connect(s, addr, len);
  int err = errno;
  close(s);
  errno = err;
  return r;
}

int ConnectInet(const char* ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &a.sin_addr);
  return Connect(AF_INET, reinterpret_cast<sockaddr*>(&a), sizeof(a));
}

int ConnectUnix(const std::string& path, bool abstract) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  socklen_t len = sizeof(a);
  if (abstract) {
    memcpy(a.sun_path + 1, path.data(), path.size());
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + path.size());
  } else {
    strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  }
  return Connect(AF_UNIX, reinterpret_cast<sockaddr*>(&a), len);
}

// A TCP server on 127.0.0.1 and a client in the same process exchange one byte.
int LoopbackWorks() {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(server, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0 || listen(server, 1) < 0 ||
      getsockname(server, reinterpret_cast<sockaddr*>(&a), &len) < 0) {
    return -1;
  }
  int client = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(client, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0) return -1;
  int conn = accept(server, nullptr, nullptr);
  char c = 'x';
  if (conn < 0 || write(client, &c, 1) != 1 || read(conn, &c, 1) != 1) return -1;
  return 0;
}

volatile int g_stop_depth = -1;  // Never reached: recursion ends in SIGSEGV.

int Recurse(int depth) {
  volatile char pad[4096];
  pad[0] = static_cast<char>(depth);
  if (depth == g_stop_depth) return 0;
  return Recurse(depth + 1) + pad[0];
}

int Main(const std::string& mode, int argc, char** argv) {
  if (mode == "spin") {
    for (;;) {
    }
  }
  if (mode == "sleep") return sleep(3600);
  if (mode == "forkbomb") {
    for (;;) fork();
  }
  if (mode == "threadbomb") {
    int created = 0;
    for (; created < 10000; ++created) {
      pthread_t t;
      int err = pthread_create(&t, nullptr, Park, nullptr);
      if (err != 0) {
        printf("created=%d error=%s\n", created, ErrName(err));
        return 1;
      }
    }
    printf("created=%d\n", created);
    return 0;
  }
  if (mode == "malloc") {
    for (;;) {
      char* p = static_cast<char*>(malloc(1 << 26));
      if (p == nullptr) return 2;
      memset(p, 1, 1 << 26);
    }
  }
  if (mode == "mmap") {
    size_t size = size_t{1} << 40;
    char* p = static_cast<char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    if (p == MAP_FAILED) return 3;
    for (size_t off = 0; off < size; off += 4096) p[off] = 1;
    return 0;
  }
  if (mode == "threads-spin") {
    pthread_t t[16];
    for (pthread_t& x : t) pthread_create(&x, nullptr, Spin, nullptr);
    for (pthread_t& x : t) pthread_join(x, nullptr);
    return 0;
  }
  if (mode == "procs-spin") {  // Four processes, each under RLIMIT_CPU, together over it.
    for (int i = 0; i < 3; ++i) {
      if (fork() == 0) break;
    }
    for (;;) {
    }
  }
  if (mode == "flood-stdout") {
    for (;;) putchar('a');
  }
  if (mode == "flood-stderr") {
    for (;;) fputc('e', stderr);
  }
  if (mode == "diskfill") {
    int fd = open("/tmp/f", O_WRONLY | O_CREAT, 0644);
    signal(SIGXFSZ, SIG_IGN);  // Report EFBIG instead of dying.
    static char block[1 << 16];
    long written = 0;
    ssize_t n;
    while ((n = write(fd, block, sizeof(block))) > 0) written += n;
    printf("written=%ld write=%s\n", written, ErrName(errno));
    int big = open("/box/big", O_WRONLY | O_CREAT, 0644);
    Report("fallocate", fallocate(big, 0, 0, 100LL << 30));
    Report("ftruncate", ftruncate(big, 100LL << 30));
    return 1;
  }
  if (mode == "secrets") {
    for (const char* path : {"/etc/shadow", "/root/.ssh/id_rsa", "/proc/1/environ"}) {
      Report(path, open(path, O_RDONLY));
    }
    for (char** e = environ; *e != nullptr; ++e) printf("env %s\n", *e);
    return 0;
  }
  if (mode == "write-system") {
    Report("create /usr/bin/x", open("/usr/bin/x", O_WRONLY | O_CREAT, 0755));
    Report("truncate /bin/bash", open("/bin/bash", O_WRONLY | O_TRUNC));
    Report("create /etc/x", open("/etc/x", O_WRONLY | O_CREAT, 0644));
    Report("mkdir /lightrl-x", mkdir("/lightrl-x", 0755));
    return 0;
  }
  if (mode == "network") {
    Report("tcp 1.1.1.1:443", ConnectInet("1.1.1.1", 443));
    Report("tcp 169.254.169.254:80", ConnectInet("169.254.169.254", 80));
    Report("tcp host", argc > 2 ? ConnectInet(argv[2], 22) : -1);
    Report("abstract unix", ConnectUnix(argc > 3 ? argv[3] : "none", true));
    Report("docker.sock", ConnectUnix("/var/run/docker.sock", false));
    Report("loopback server", LoopbackWorks());
    return 0;
  }
  if (mode == "killparent") {
    for (int i = 0; i < 3; ++i) {
      if (fork() == 0) {
        pause();
        _exit(0);
      }
    }
    Report("kill -1", kill(-1, SIGKILL));
    int reaped = 0;
    while (waitpid(-1, nullptr, 0) > 0) ++reaped;
    printf("reaped=%d\n", reaped);
    Report("kill ppid", kill(getppid(), SIGKILL));
    fflush(stdout);
    raise(SIGABRT);
    return 0;
  }
  if (mode == "daemon") {
    if (fork() == 0) {
      setsid();
      signal(SIGHUP, SIG_IGN);
      if (fork() == 0) {
        for (;;) pause();
      }
      _exit(0);
    }
    wait(nullptr);
    printf("parent done\n");
    return 0;
  }
  if (mode == "ptrace") return static_cast<int>(ptrace(PTRACE_ATTACH, 1, 0, 0));
  if (mode == "process_vm_readv") {
    char buf[8];
    iovec local{buf, sizeof(buf)}, remote{buf, sizeof(buf)};
    return static_cast<int>(process_vm_readv(1, &local, 1, &remote, 1, 0));
  }
  if (mode == "unshare") return unshare(CLONE_NEWUSER);
  if (mode == "mount") return mount("none", "/mnt", "tmpfs", 0, nullptr);
  if (mode == "tiocsti") {
    char c = 'x';
    Report("TIOCSTI", syscall(SYS_ioctl, 0, TIOCSTI, &c));
    Report("TIOCSTI high bits", syscall(SYS_ioctl, 0, 0x100005412UL, &c));
    return 0;
  }
  if (mode == "int80") {
    long ret;
    asm volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
    return static_cast<int>(ret);
  }
  if (mode == "x32") return static_cast<int>(syscall(SYS_getpid | 0x40000000));
  if (mode == "sidechannels") {
    Report("io_uring_setup", syscall(SYS_io_uring_setup, 8, nullptr));
    Report("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
    Report("socket AF_VSOCK", socket(40, SOCK_STREAM, 0));
    Report("bpf", syscall(SYS_bpf, 0, nullptr, 0));
    Report("perf_event_open", syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0));
    int fd = open("/usr/lib/os-release", O_RDONLY);
    Report("flock", fd < 0 ? fd : flock(fd, LOCK_EX | LOCK_NB));
    return 0;
  }
  if (mode == "links") {
    Report("symlink", symlink("/etc/shadow", "out.txt"));
    Report("inner symlink", symlink("data.txt", "inner.txt"));
    int fd = open("data.txt", O_WRONLY | O_CREAT, 0644);
    Report("data", fd < 0 ? -1 : write(fd, "data", 4));
    Report("hardlink", link("/etc/passwd", "hard.txt"));
    Report("fifo", mkfifo("fifo", 0644));
    Report("dir", mkdir("dir", 0755));
    return 0;
  }
  if (mode == "shm-write") {
    int fd = open("/dev/shm/secret", O_WRONLY | O_CREAT, 0644);
    Report("shm file", fd < 0 ? -1 : write(fd, "s3cret", 6));
    int id = shmget(0x4c52, 4096, IPC_CREAT | 0600);
    Report("sysv shm", id);
    fd = open("/tmp/secret", O_WRONLY | O_CREAT, 0644);
    Report("tmp file", fd < 0 ? -1 : write(fd, "s3cret", 6));
    fd = open("/box/secret", O_WRONLY | O_CREAT, 0644);
    Report("box file", fd < 0 ? -1 : write(fd, "s3cret", 6));
    return 0;
  }
  if (mode == "shm-read") {
    Report("shm file", open("/dev/shm/secret", O_RDONLY));
    Report("sysv shm", shmget(0x4c52, 0, 0));
    Report("tmp file", open("/tmp/secret", O_RDONLY));
    Report("box file", open("/box/secret", O_RDONLY));
    return 0;
  }
  if (mode == "recurse") return Recurse(0);
  if (mode == "raise-limits") {
    rlimit lim;
    getrlimit(RLIMIT_NPROC, &lim);
    lim.rlim_max += 1000;
    lim.rlim_cur = lim.rlim_max;
    Report("raise NPROC", setrlimit(RLIMIT_NPROC, &lim));
    getrlimit(RLIMIT_CPU, &lim);
    lim.rlim_max = RLIM_INFINITY;
    Report("raise CPU", setrlimit(RLIMIT_CPU, &lim));
    return 0;
  }
  fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 100;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 100;
  return Main(argv[1], argc, argv);
}
