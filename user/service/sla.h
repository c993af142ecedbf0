/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SLO status and reports on `vigil serve`, computed from the store through PromQL (the error-ratio
 * expressions of analytics/slo.h over analytics/storesrc.h):
 *
 *   GET /api/v1/sla                 per SLO: objective, period, compliance over the period so far,
 *                                   error_budget_consumed / _remaining (fractions of the budget),
 *                                   the error ratio and burn rate over every alert window, each
 *                                   alert condition (page, ticket) and whether it holds, and the
 *                                   SLO's alerts the engine has firing (ALERTS{slo=NAME})
 *   GET /api/v1/sla/reports?from&to&format=json|html
 *                                   compliance per SLO per UTC day in [from, to] (default the
 *                                   last 7 days; at most 400 days); html is a printable page
 *                                   with no external assets
 *
 * Times are unix seconds, RFC 3339, `now` or `now-DURATION`. Bad parameters: 400 {"error": ...}.
 * The burn rates are computed from the raw series at request time, so they do not depend on the
 * rule engine having recorded the generated rules for the whole period.
 */
#ifndef VIGIL_SERVICE_SLA_H
#define VIGIL_SERVICE_SLA_H

struct http_server;
struct service;
struct slo_set;
struct sla_api;

/*
 * Registers the routes and an interval hook; takes the SLOs (slos is left empty). The object must
 * outlive the server (free it after http_server__free). NULL + errno.
 */
struct sla_api *sla_api__new(struct service *s, struct http_server *h, struct slo_set *slos);
void sla_api__free(struct sla_api *a); /* NULL-safe */

#endif
