/*
 * stall_proxy: a TCP proxy that stalls. Usage: stall_proxy PORT BYTES
 *
 * Listens on 127.0.0.1 (a free port), prints that port, and forwards every connection to
 * 127.0.0.1:PORT in both directions, until BYTES bytes have come from the server on that
 * connection. Then it stops forwarding in both directions without closing anything: the server's
 * further bytes are left unread (the server blocks once the socket buffers fill), the client's
 * are read and dropped, so the client sees a connection that is open and silent. A connection
 * ends when the client closes it. Each connection is served by a child process, which dies with
 * the proxy. Tests use it for "a network that stops mid-query" (a scan, a COPY, a login).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Forwards between client and server until the server has sent `budget` bytes, then stalls. */
static void serve(int client, int port, long long budget)
{
    int server = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (server < 0 || connect(server, (struct sockaddr *)&a, sizeof(a)) != 0)
        return;
    char buf[65536];
    bool stalled = budget <= 0;
    for (;;) {
        struct pollfd p[2] = {{client, POLLIN, 0}, {server, stalled ? 0 : POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[0].revents) {
            ssize_t n = read(client, buf, sizeof(buf));
            if (n <= 0)
                return; /* the client went away: so does the server's connection */
            if (!stalled && write_all(server, buf, (size_t)n) != 0)
                return;
        }
        if (!stalled && p[1].revents) {
            size_t want = sizeof(buf) < (size_t)budget ? sizeof(buf) : (size_t)budget;
            ssize_t n = read(server, buf, want);
            if (n <= 0)
                return;
            if (write_all(client, buf, (size_t)n) != 0)
                return;
            budget -= n;
            stalled = budget <= 0;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: stall_proxy PORT BYTES\n");
        return 2;
    }
    char *end1 = NULL, *end2 = NULL;
    long port_l = strtol(argv[1], &end1, 10);
    long long budget = strtoll(argv[2], &end2, 10);
    if (*end1 || end1 == argv[1] || port_l < 0 || port_l > 65535 || *end2 || end2 == argv[2]) {
        fprintf(stderr, "stall_proxy: PORT and BYTES must be numbers\n");
        return 2;
    }
    int port = (int)port_l;
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("stall_proxy");
        return 1;
    }
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    pid_t parent = getpid();
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0)
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(0);
            close(fd);
            serve(c, port, budget);
            _exit(0);
        }
        close(c);
    }
}
