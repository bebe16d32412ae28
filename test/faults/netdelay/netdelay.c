/*
 * netdelay: a packet delayer for the fault suite on kernels without `tc netem`.
 *
 * Runs inside one network namespace and serves one NFQUEUE queue (fed by iptables rules such
 * as `-A OUTPUT -o eth0 -j NFQUEUE --queue-num 0 --queue-bypass`). Each queued packet is
 * dropped with probability loss%, otherwise held for delay + jitter (normal: jitter is the
 * standard deviation, like netem's `distribution normal`; uniform: ±jitter), clamped at 0,
 * and then accepted. Verdicts are issued in release-time order, not arrival order, so jitter
 * reorders packets as netem does.
 *
 * Contract:
 *  - Deterministic decisions: one seeded PRNG (splitmix64) draws, per packet in arrival order,
 *    the loss decision and then the delay. Wall-clock scheduling is not replayable.
 *  - Bounded: at most --max-held packets are held; a packet arriving while the buffer is full
 *    is accepted at once (fail open) and counted as `overflow`. The kernel queue is capped at
 *    the same length with NFQA_CFG_F_FAIL_OPEN, so a full kernel queue accepts too.
 *  - SIGTERM/SIGINT: every held packet is accepted, a one-line summary goes to stdout, exit 0.
 *    If the process dies any other way the kernel drops what it held, and `--queue-bypass`
 *    in the iptables rule lets later packets through unqueued.
 *
 * Usage: netdelay [--queue N] [--delay-ms D] [--jitter-ms J] [--dist normal|uniform]
 *                 [--loss-pct P] [--seed S] [--max-held M] [--check]
 * --check binds and configures the queue, prints "netdelay: queue N ok" and exits 0: a probe
 * that this kernel and namespace support NFQUEUE.
 * Build: gcc -O2 -Wall -o netdelay netdelay.c -lnetfilter_queue -lnfnetlink -lm
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct held {
	uint64_t release_ns;
	uint32_t id;
};

static struct {
	unsigned queue;
	double delay_ms, jitter_ms, loss_pct;
	int uniform;
	uint64_t seed;
	unsigned max_held;
	int check;
} opt = { 0, 50, 20, 0, 0, 1, 4096, 0 };

static struct held *heap;
static unsigned nheld;
static uint64_t rng_state;
static struct nfq_q_handle *qh;
static struct {
	uint64_t packets, dropped, delayed, overflow, verdict_errors;
	unsigned max_held;
} stats;
static volatile sig_atomic_t stop;

static void die(const char *what)
{
	fprintf(stderr, "netdelay: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double unit(void)
{
	return (double)(splitmix64() >> 11) * (1.0 / 9007199254740992.0);
}

/* Held time of one packet in nanoseconds, never negative. */
static uint64_t draw_delay_ns(void)
{
	double d = opt.delay_ms;
	if (opt.jitter_ms > 0) {
		if (opt.uniform) {
			d += (2 * unit() - 1) * opt.jitter_ms;
		} else {
			double u1 = unit(), u2 = unit();
			if (u1 < 1e-300)
				u1 = 1e-300;
			d += opt.jitter_ms * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
		}
	}
	return d <= 0 ? 0 : (uint64_t)(d * 1e6);
}

/* Min-heap on release time. */
static void heap_push(struct held h)
{
	unsigned i = nheld++;
	while (i > 0) {
		unsigned p = (i - 1) / 2;
		if (heap[p].release_ns <= h.release_ns)
			break;
		heap[i] = heap[p];
		i = p;
	}
	heap[i] = h;
}

static struct held heap_pop(void)
{
	struct held top = heap[0], last = heap[--nheld];
	unsigned i = 0;
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, m = i;
		uint64_t mt = last.release_ns;
		if (l < nheld && heap[l].release_ns < mt)
			m = l, mt = heap[l].release_ns;
		if (r < nheld && heap[r].release_ns < mt)
			m = r;
		if (m == i)
			break;
		heap[i] = heap[m];
		i = m;
	}
	if (nheld > 0)
		heap[i] = last;
	return top;
}

static void verdict(uint32_t id, uint32_t v)
{
	if (nfq_set_verdict(qh, id, v, 0, NULL) < 0)
		stats.verdict_errors++;
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *msg, struct nfq_data *nfa, void *data)
{
	(void)q, (void)msg, (void)data;
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	if (!ph)
		return 0;
	uint32_t id = ntohl(ph->packet_id);
	stats.packets++;
	if (unit() * 100 < opt.loss_pct) {
		stats.dropped++;
		verdict(id, NF_DROP);
		return 0;
	}
	uint64_t hold = draw_delay_ns();
	if (hold == 0 || nheld >= opt.max_held) {
		if (hold != 0)
			stats.overflow++;
		verdict(id, NF_ACCEPT);
		return 0;
	}
	heap_push((struct held){ now_ns() + hold, id });
	stats.delayed++;
	if (nheld > stats.max_held)
		stats.max_held = nheld;
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double num_arg(const char *name, const char *v)
{
	char *end;
	double d = strtod(v, &end);
	if (*v == '\0' || *end != '\0' || d < 0) {
		fprintf(stderr, "netdelay: bad value for %s: %s\n", name, v);
		exit(2);
	}
	return d;
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--check")) {
			opt.check = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "netdelay: %s needs a value\n", a);
			exit(2);
		}
		i++;
		if (!strcmp(a, "--queue"))
			opt.queue = (unsigned)num_arg(a, v);
		else if (!strcmp(a, "--delay-ms"))
			opt.delay_ms = num_arg(a, v);
		else if (!strcmp(a, "--jitter-ms"))
			opt.jitter_ms = num_arg(a, v);
		else if (!strcmp(a, "--loss-pct"))
			opt.loss_pct = num_arg(a, v);
		else if (!strcmp(a, "--seed"))
			opt.seed = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--max-held"))
			opt.max_held = (unsigned)num_arg(a, v);
		else if (!strcmp(a, "--dist") && (!strcmp(v, "normal") || !strcmp(v, "uniform")))
			opt.uniform = !strcmp(v, "uniform");
		else {
			fprintf(stderr, "netdelay: unknown option %s %s\n", a, v);
			exit(2);
		}
	}
	if (opt.loss_pct > 100 || opt.max_held < 1 || opt.max_held > 1000000) {
		fprintf(stderr, "netdelay: --loss-pct must be 0..100 and --max-held 1..1000000\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	rng_state = opt.seed;
	heap = calloc(opt.max_held, sizeof *heap);
	if (!heap)
		die("calloc");

	struct nfq_handle *h = nfq_open();
	if (!h)
		die("nfq_open");
	nfq_bind_pf(h, AF_INET); /* a no-op on current kernels, required on old ones */
	qh = nfq_create_queue(h, (uint16_t)opt.queue, &on_packet, NULL);
	if (!qh)
		die("nfq_create_queue (is another program serving this queue?)");
	if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0)
		die("nfq_set_mode");
	if (nfq_set_queue_maxlen(qh, opt.max_held) < 0)
		die("nfq_set_queue_maxlen");
	uint32_t flags = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;
	if (nfq_set_queue_flags(qh, flags, flags) < 0)
		die("nfq_set_queue_flags");
	if (opt.check) {
		printf("netdelay: queue %u ok\n", opt.queue);
		nfq_destroy_queue(qh);
		nfq_close(h);
		return 0;
	}
	int fd = nfq_fd(h);
	nfnl_rcvbufsiz(nfq_nfnlh(h), 4 << 20);
	int one = 1;
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);

	sigset_t block, empty;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	printf("netdelay: serving queue %u: delay %.1f ms, jitter %.1f ms (%s), loss %.2f%%, seed %llu, max held %u\n",
	       opt.queue, opt.delay_ms, opt.jitter_ms, opt.uniform ? "uniform" : "normal", opt.loss_pct,
	       (unsigned long long)opt.seed, opt.max_held);
	fflush(stdout);

	static char buf[65536] __attribute__((aligned));
	while (!stop) {
		uint64_t t = now_ns();
		while (nheld > 0 && heap[0].release_ns <= t)
			verdict(heap_pop().id, NF_ACCEPT);
		struct timespec ts, *tsp = NULL;
		if (nheld > 0) {
			uint64_t wait = heap[0].release_ns - t;
			ts.tv_sec = (time_t)(wait / 1000000000ull);
			ts.tv_nsec = (long)(wait % 1000000000ull);
			tsp = &ts;
		}
		struct pollfd pfd = { fd, POLLIN, 0 };
		int n = ppoll(&pfd, 1, tsp, &empty);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("ppoll");
		}
		if (n == 0)
			continue;
		/* Drain what is ready without blocking, bounded so that due releases are not starved. */
		for (int k = 0; k < 256; k++) {
			ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
			if (r < 0) {
				if (errno == EINTR || errno == ENOBUFS)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				die("recv");
			}
			nfq_handle_packet(h, buf, (int)r);
		}
	}
	while (nheld > 0)
		verdict(heap_pop().id, NF_ACCEPT);
	printf("netdelay: queue %u: %llu packets, %llu dropped, %llu delayed, %llu overflow, max held %u, %llu verdict errors\n",
	       opt.queue, (unsigned long long)stats.packets, (unsigned long long)stats.dropped,
	       (unsigned long long)stats.delayed, (unsigned long long)stats.overflow, stats.max_held,
	       (unsigned long long)stats.verdict_errors);
	fflush(stdout);
	nfq_destroy_queue(qh);
	nfq_close(h);
	return 0;
}
