/* SPDX-License-Identifier: GPL-2.0 */
/* Subcommand entry points: argv[0] is the subcommand name; the return value is the exit code. */
#ifndef VIGIL_COMMANDS_H
#define VIGIL_COMMANDS_H

int cmd_profile(int argc, char **argv);
int cmd_offcpu(int argc, char **argv);
int cmd_lat(int argc, char **argv);
int cmd_mem(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_anomaly(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_forecast(int argc, char **argv);
int cmd_rules(int argc, char **argv);
/* vigil rules check (cmd/rules_check.c). */
int cmd_rules_check(int argc, char **argv);
/* vigil rules slo (cmd/rules_slo.c). */
int cmd_rules_slo(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif
