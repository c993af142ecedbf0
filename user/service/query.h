/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus' HTTP query API over the store of `vigil serve`, so Grafana (or promtool, or any
 * Prometheus client) can use Vigil as a Prometheus data source:
 *
 *   GET|POST /api/v1/query?query=EXPR[&time=T]
 *   GET|POST /api/v1/query_range?query=EXPR&start=T&end=T&step=D
 *   GET|POST /api/v1/series?match[]=SELECTOR...[&start=T&end=T]
 *   GET|POST /api/v1/labels, GET /api/v1/label/NAME/values
 *   GET /api/v1/status/buildinfo
 *
 * Same parameters, JSON and errors as Prometheus 2.42 (400 bad_data for bad parameters and
 * expressions, 422 execution for evaluation errors). Expressions are evaluated by analytics/promql.c
 * over analytics/storesrc.c (the store's skipped points put back every interval).
 */
#ifndef VIGIL_SERVICE_QUERY_H
#define VIGIL_SERVICE_QUERY_H

struct http_server;
struct service;
struct query_api;

/* Registers the routes and an interval hook; the returned object must outlive the server (free it
 * after http_server__free). NULL + errno. */
struct query_api *query_api__new(struct service *s, struct http_server *h);
void query_api__free(struct query_api *q); /* NULL-safe */

#endif
