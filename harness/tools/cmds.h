/*
 * cmds.h — subcommands of lpq-eval; each lives in its own cmd-*.c file. A command returns
 * the process exit status: 0 success, 1 failure (message already printed), 2 usage error.
 */
#ifndef LPQ_EVAL_CMDS_H
#define LPQ_EVAL_CMDS_H

int lpq_cmd_eval(int argc, char **argv);       /* cmd-eval.c: the main job */
int lpq_cmd_env(int argc, char **argv);
int lpq_cmd_run(int argc, char **argv);        /* cmd-run.c */
int lpq_cmd_logits(int argc, char **argv);     /* cmd-logits.c */
int lpq_cmd_compare(int argc, char **argv);    /* cmd-logits.c */

int lpq_cmd_report(int argc, char **argv);     /* cmd-report.c (reports engineer) */
int lpq_cmd_gate(int argc, char **argv);       /* cmd-gate.c (reports engineer) */

#endif
