/*
 * cmds.h — subcommands of lpq-quant; each lives in its own cmd-*.c file. A command returns
 * the process exit status: 0 success, 1 failure (message already printed), 2 usage error.
 */
#ifndef LPQ_QUANT_CMDS_H
#define LPQ_QUANT_CMDS_H

int lpq_cmd_info(int argc, char **argv);
int lpq_cmd_quantize(int argc, char **argv);
int lpq_cmd_synth(int argc, char **argv);
int lpq_cmd_convert(int argc, char **argv);
int lpq_cmd_imatrix(int argc, char **argv);

#endif
