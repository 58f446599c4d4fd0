/*
 * cmd_read.h - `ingestd read`: print stored events as NDJSON.
 */
#ifndef ING_CMD_READ_H
#define ING_CMD_READ_H

/*
 * Runs `ingestd read --data-dir DIR [--partition N] [--from OFFSET]
 * [--follow]` with argv[0] = "read".  Prints every stored event's payload
 * as one line on stdout: partitions in ascending order, records in offset
 * order, bytes as stored except that CR and LF become a space (in valid
 * JSON they can only be whitespace between tokens, so the value is
 * unchanged and each event stays on one line).  Damage is reported on
 * stderr and reading goes on with the next segment.
 *
 * --follow keeps printing records as they are appended (polling every
 * 100 ms, noticing new segments and partitions) until SIGINT or SIGTERM,
 * for which it installs handlers while it runs.
 *
 * Returns the exit status: 0 done, 1 data directory or partition
 * unreadable, damage met or stdout failed, 2 bad usage.  Blocks; call from
 * the main thread of the `ingestd read` process.
 */
int ing_cmd_read_main(int argc, char **argv);

#endif
