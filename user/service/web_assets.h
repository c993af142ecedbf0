/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The web view's files, embedded at build time (scripts/embed-assets.py): our page, script and style
 * (user/service/web/) and the chart library vendored from npm (uPlot). Read-only; thread-safe.
 */
#ifndef VIGIL_SERVICE_WEB_ASSETS_H
#define VIGIL_SERVICE_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *url; /* "/" or "/static/NAME" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
};

/* Ended by an entry with url == NULL. */
extern const struct web_asset web_assets[];

#endif
