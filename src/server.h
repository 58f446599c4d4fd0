/*
 * server.h - `ingestd serve`: workers, signals, orderly shutdown.
 */
#ifndef ING_SERVER_H
#define ING_SERVER_H

#include "config.h"

/*
 * Opens the spool partitions and listening sockets, starts one worker
 * thread per cfg->threads, and blocks until SIGTERM or SIGINT; then stops
 * accepting, lets requests in flight finish (bounded by
 * cfg->shutdown_timeout_ms), syncs the spool and returns.  Returns the
 * process exit status: 0 after a clean stop, 1 when start-up failed (the
 * reason is logged).  Call from the main thread, once.
 */
int ing_server_run(const struct ing_config *cfg);

/* `ingestd serve ARGS`: parses flags (argv[0] is "serve") and runs. */
int ing_cmd_serve_main(int argc, char **argv);

#endif
