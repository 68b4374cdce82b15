/*
 * cmds.h — subcommands of lpq-eval; each lives in its own cmd-*.c file. A command returns
 * the process exit status: 0 success, 1 failure (message already printed), 2 usage error.
 */
#ifndef LPQ_EVAL_CMDS_H
#define LPQ_EVAL_CMDS_H

int lpq_cmd_env(int argc, char **argv);

#endif
