/* The moebench subcommands (contract: ../shared/design/architecture.md section 4). Each takes the
 * arguments after the subcommand name (argv[0] is the subcommand) and returns the exit code. */
#ifndef MOEBENCH_COMMANDS_H
#define MOEBENCH_COMMANDS_H

int mb_cmd_list(int argc, char **argv);      /* app/cmd_list.c */
int mb_cmd_case(int argc, char **argv);      /* app/cmd_case.c */
int mb_cmd_run(int argc, char **argv);       /* app/cmd_run.c */
int mb_cmd_check(int argc, char **argv);     /* app/cmd_run.c */
int mb_cmd_plot(int argc, char **argv);      /* app/cmd_plot.c */
int mb_cmd_compare(int argc, char **argv);   /* app/cmd_compare.c */
int mb_cmd_roofline(int argc, char **argv);  /* app/cmd_roofline.c */
int mb_cmd_dump(int argc, char **argv);      /* app/cmd_dump.c */
int mb_cmd_table(int argc, char **argv);     /* app/cmd_table.c */
int mb_cmd_export(int argc, char **argv);    /* app/cmd_export.c */
int mb_cmd_time(int argc, char **argv);      /* app/cmd_time.c */
int mb_cmd_merge(int argc, char **argv);     /* app/cmd_merge.c */
int mb_cmd_mpi_bench(int argc, char **argv); /* app/cmd_mpi_bench.c */
int mb_cmd_project_ep(int argc, char **argv);/* app/cmd_project_ep.c */

#endif
