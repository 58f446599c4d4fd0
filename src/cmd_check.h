/*
 * cmd_check.h - `ingestd check`: verify a spool directory.
 */
#ifndef ING_CMD_CHECK_H
#define ING_CMD_CHECK_H

/*
 * Runs `ingestd check --data-dir DIR` with argv[0] = "check".  Verifies
 * every segment of every partition: its header (magic, base offset equal
 * to its name), every record's framing, CRC and offset (the previous + 1,
 * the first = the base), and that each segment's base follows the previous
 * segment's last offset.  Prints, on stdout, one line per problem (file,
 * byte position, what is wrong), one summary line per partition (segments,
 * records, bytes) and a verdict.  A record still being written at the end
 * of a partition whose lock a running server holds is noted, not counted
 * as damage.
 *
 * Returns the exit status: 0 clean, 1 damaged or unreadable, 2 bad usage.
 * Blocks; reads each file once; call from the main thread.
 */
int ing_cmd_check_main(int argc, char **argv);

#endif
