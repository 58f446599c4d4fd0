/*
 * replay.c - runs a harness over saved inputs without libFuzzer, so that
 * `make test` replays every corpus and regression input with the normal
 * compiler and flags.
 *
 *   build/fuzz/http_parse_replay fuzz/corpus/http_parse fuzz/regression/...
 *
 * Each argument is a file or a directory (its files, sorted by name, not
 * recursing; names starting with '.' are skipped).  Every input is read
 * into a buffer of exactly its size, so a sanitizer build catches a read
 * past its end.  A crash, a broken invariant or an input that runs longer
 * than REPLAY_TIMEOUT_S names the input on stderr and the process dies
 * with the signal (or the sanitizer's exit code): make sees the failure.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_check.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_SANITIZER 1
#endif

#ifdef REPLAY_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

/* Far above any input's run time; a hang in CI must still end. */
#define REPLAY_TIMEOUT_S 20

/* The input being run, for the crash message; set before each run. */
static const char *current_path = "(none)";

static void say_current(const char *why)
{
    /* Only async-signal-safe calls: this runs in a signal handler. */
    static const char prefix[] = "replay: ";
    static const char middle[] = " while running ";

    (void)!write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
    (void)!write(STDERR_FILENO, why, strlen(why));
    (void)!write(STDERR_FILENO, middle, sizeof(middle) - 1);
    (void)!write(STDERR_FILENO, current_path, strlen(current_path));
    (void)!write(STDERR_FILENO, "\n", 1);
}

static void on_signal(int sig)
{
    say_current(sig == SIGALRM ? "timeout" : "crash");
    if (sig == SIGALRM) {
        sig = SIGABRT;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

#ifdef REPLAY_SANITIZER
static void on_sanitizer_death(void)
{
    say_current("sanitizer report");
}
#endif

static void install_handlers(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS,  SIGFPE,
                               SIGILL,  SIGABRT, SIGALRM};

    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        signal(sigs[i], on_signal);
    }
#ifdef REPLAY_SANITIZER
    __sanitizer_set_death_callback(on_sanitizer_death);
#endif
}

/* Reads the whole file into a buffer of exactly its size (1 if empty). */
static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    struct stat st;

    if (f == NULL || fstat(fileno(f), &st) != 0) {
        goto fail;
    }
    *size = (size_t)st.st_size;
    buf = malloc(*size > 0 ? *size : 1);
    if (buf == NULL || fread(buf, 1, *size, f) != *size) {
        goto fail;
    }
    fclose(f);
    return buf;

fail:
    fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
    free(buf);
    if (f != NULL) {
        fclose(f);
    }
    return NULL;
}

static int run_file(const char *path)
{
    size_t size;
    unsigned char *data = read_file(path, &size);

    if (data == NULL) {
        return -1;
    }
    current_path = path;
    alarm(REPLAY_TIMEOUT_S);
    LLVMFuzzerTestOneInput(data, size);
    alarm(0);
    current_path = "(none)";
    free(data);
    return 0;
}

static int skip_hidden(const struct dirent *de)
{
    return de->d_name[0] != '.';
}

/* Runs every regular file of dir; returns the count or -1. */
static long run_dir(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, skip_hidden, alphasort);
    long ran = 0;

    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path) != 0) {
                ran = -1;
            } else if (ran >= 0) {
                ran++;
            }
        }
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
    long total = 0;
    int status = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    install_handlers();

    for (int i = 1; i < argc; i++) {
        struct stat st;
        long ran;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            status = 1;
            continue;
        }
        ran = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
        if (ran < 0) {
            status = 1;
        } else {
            total += S_ISDIR(st.st_mode) ? ran : 1;
        }
    }

    printf("replay: %s: %ld inputs%s\n", argv[0], total,
           status == 0 ? "" : ", some unreadable");
    return status;
}
