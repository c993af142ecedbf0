// SPDX-License-Identifier: GPL-2.0
/*
 * SVG flame graph: one self-contained file (no external fonts, scripts or links). Root at the bottom,
 * width proportional to weight; frames narrower than MIN_WIDTH_PX are not drawn, their weight still
 * in their parent's width. Hover shows a frame's name, weight and percentage; click zooms; a search
 * (button, Ctrl-F or ?s=REGEX in the URL) highlights matches and shows the matched percentage,
 * counting nested matches once. Kernel, user, process and other frames are coloured apart, each
 * colour a hash of the name, so two runs look alike.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export_merge.h"
#include "hashmap.h"

#define IMAGE_WIDTH 1200
#define FRAME_HEIGHT 16
#define FONT_SIZE 12
#define FONT_WIDTH 0.59
#define XPAD 10
#define YPAD_TOP 60 /* title, subtitle, controls */
#define YPAD_BOTTOM 34 /* details line */
#define MIN_WIDTH_PX 0.1

struct node {
	__u32 name; /* index into merged.names */
	__u64 weight; /* total, children included */
	__u32 first_child, last_child, next_sibling; /* indices into the node array, 0 = none */
};

struct tree {
	struct node *n;
	size_t nr, cap;
	__u32 max_depth;
};

static long new_node(struct tree *t, __u32 name)
{
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct node *n = realloc(t->n, cap * sizeof(*n));

		if (!n)
			return -1;
		t->n = n;
		t->cap = cap;
	}
	t->n[t->nr] = (struct node){ .name = name };
	return (long)t->nr++;
}

/*
 * Stacks arrive sorted by name sequence, so a stack shares its prefix with the previous one: keep the
 * path of the previous stack and only add nodes past the common prefix. Children end up in name
 * order, as in flamegraph.pl.
 */
static int build_tree(struct tree *t, const struct merged *m)
{
	__u32 *path = NULL, *prev = NULL, plen = 0, cap = 0;
	long root = new_node(t, 0);
	int err = -ENOMEM;

	if (root < 0)
		return err;
	for (size_t i = 0; i < m->nr_stacks; i++) {
		const struct merged_stack *s = &m->stacks[i];
		__u32 common = 0;

		if (s->n + 1 > cap) {
			__u32 *np = realloc(path, (s->n + 1) * sizeof(*np));
			__u32 *nq = np ? realloc(prev, (s->n + 1) * sizeof(*nq)) : NULL;

			if (!np)
				goto out;
			path = np;
			if (!nq)
				goto out;
			prev = nq;
			cap = s->n + 1;
		}
		while (common < plen && common < s->n && prev[common] == s->names[common])
			common++;
		t->n[0].weight += s->weight;
		for (__u32 d = 0; d < s->n; d++) {
			long id;

			if (d < common) {
				id = path[d];
			} else {
				__u32 parent = d ? path[d - 1] : 0;

				id = new_node(t, s->names[d]);
				if (id < 0)
					goto out;
				/* Append at the end of the parent's child list (after new_node, which
				 * may move the array). */
				if (t->n[parent].last_child)
					t->n[t->n[parent].last_child].next_sibling = (__u32)id;
				else
					t->n[parent].first_child = (__u32)id;
				t->n[parent].last_child = (__u32)id;
			}
			t->n[id].weight += s->weight;
			path[d] = (__u32)id;
		}
		memcpy(prev, s->names, s->n * sizeof(__u32));
		plen = s->n;
		if (s->n > t->max_depth)
			t->max_depth = s->n;
	}
	err = 0;
out:
	free(path);
	free(prev);
	return err;
}

static void xml_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			/* XML 1.0 forbids most control characters, even escaped. */
			fputc((unsigned char)*s < 0x20 ? ' ' : *s, out);
		}
	}
}

/* Deterministic colour from the name, in the palette of the frame's kind. */
static void colour(const char *name, __u8 kind, char *buf, size_t len)
{
	uint64_t h = hash_bytes(name, strlen(name), 7);
	double v1 = (h & 0xffff) / 65535.0, v2 = ((h >> 16) & 0xffff) / 65535.0,
	       v3 = ((h >> 32) & 0xffff) / 65535.0;
	int r, g, b;

	switch (kind) {
	case FRAME_KERNEL: /* orange, as in flamegraph.pl's mixed-mode palettes */
		r = 230 + (int)(25 * v1);
		g = 135 + (int)(55 * v2);
		b = (int)(40 * v3);
		break;
	case FRAME_USER: /* red: green stays below the kernel's so the two never meet */
		r = 200 + (int)(55 * v3);
		g = (int)(95 * v1);
		b = (int)(60 * v2);
		break;
	case MERGE_KIND_PROCESS: /* aqua */
		r = 50 + (int)(60 * v1);
		g = 165 + (int)(55 * v1);
		b = 165 + (int)(55 * v1);
		break;
	default: /* unknown and special: grey */
		r = g = b = 170 + (int)(40 * v1);
	}
	snprintf(buf, len, "rgb(%d,%d,%d)", r, g, b);
}

static const char script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"'use strict';\n"
	"var svg, details, matchedtxt, searchbtn, unzoombtn, frames, zoomed = false, searching = null;\n"
	"function init() {\n"
	"  svg = document.documentElement;\n"
	"  frames = document.getElementById('frames');\n"
	"  details = document.getElementById('details').firstChild;\n"
	"  matchedtxt = document.getElementById('matched');\n"
	"  searchbtn = document.getElementById('search');\n"
	"  unzoombtn = document.getElementById('unzoom');\n"
	"  frames.addEventListener('click', function (e) { var g = frame_of(e.target); if (g) zoom(g); });\n"
	"  frames.addEventListener('mouseover', function (e) { var g = frame_of(e.target); if (g) details.nodeValue = describe(g); });\n"
	"  frames.addEventListener('mouseout', function () { details.nodeValue = ' '; });\n"
	"  unzoombtn.addEventListener('click', unzoom);\n"
	"  searchbtn.addEventListener('click', function () { if (searching !== null) reset_search(); else search_prompt(); });\n"
	"  window.addEventListener('keydown', function (e) {\n"
	"    if (e.keyCode === 114 || ((e.ctrlKey || e.metaKey) && e.keyCode === 70)) { e.preventDefault(); search_prompt(); }\n"
	"    else if (e.key === 'Escape') { reset_search(); unzoom(); }\n"
	"  });\n"
	"  var s = new URLSearchParams(document.location.search).get('s');\n"
	"  if (s) search(s);\n"
	"}\n"
	"window.addEventListener('load', init);\n"
	"function frame_of(el) { while (el && el !== frames) { if (el.tagName === 'g' && el.hasAttribute('data-w')) return el; el = el.parentNode; } return null; }\n"
	"function fname(g) { var t = g.firstElementChild.textContent; return t.substring(0, t.lastIndexOf(' (')); }\n"
	"function describe(g) { return 'Function: ' + g.firstElementChild.textContent; }\n"
	"function attr(g, a) { return +g.getAttribute(a); }\n"
	"function fit(g, x, w) {\n"
	"  var r = g.children[1], t = g.children[2], n = fname(g);\n"
	"  r.setAttribute('x', x.toFixed(1)); r.setAttribute('width', Math.max(w, 0).toFixed(1));\n"
	"  t.setAttribute('x', (x + 3).toFixed(1));\n"
	"  var chars = Math.floor((w - 3) / (FONT_SIZE * FONT_WIDTH));\n"
	"  t.textContent = chars < 3 ? '' : (n.length <= chars ? n : n.substring(0, chars - 2) + '..');\n"
	"}\n"
	"function zoom(z) {\n"
	"  var zx = attr(z, 'data-x'), zw = attr(z, 'data-w'), zd = attr(z, 'data-d');\n"
	"  var gs = frames.querySelectorAll('g[data-w]');\n"
	"  zoomed = true; unzoombtn.classList.remove('hide');\n"
	"  for (var i = 0; i < gs.length; i++) {\n"
	"    var g = gs[i], x = attr(g, 'data-x'), w = attr(g, 'data-w'), d = attr(g, 'data-d');\n"
	"    g.classList.remove('hide'); g.classList.remove('parent');\n"
	"    if (d < zd) {\n"
	"      if (x <= zx && zx < x + w) { g.classList.add('parent'); fit(g, XPAD, FULLW); } else g.classList.add('hide');\n"
	"    } else if (x >= zx && x + w <= zx + zw + 1e-9 * zw) {\n"
	"      fit(g, XPAD + (x - zx) / zw * FULLW, w / zw * FULLW);\n"
	"    } else g.classList.add('hide');\n"
	"  }\n"
	"  if (searching !== null) search(searching);\n"
	"}\n"
	"function unzoom() {\n"
	"  var gs = frames.querySelectorAll('g[data-w]');\n"
	"  zoomed = false; unzoombtn.classList.add('hide');\n"
	"  for (var i = 0; i < gs.length; i++) {\n"
	"    var g = gs[i];\n"
	"    g.classList.remove('hide'); g.classList.remove('parent');\n"
	"    fit(g, XPAD + attr(g, 'data-x') / TOTAL * FULLW, attr(g, 'data-w') / TOTAL * FULLW);\n"
	"  }\n"
	"  if (searching !== null) search(searching);\n"
	"}\n"
	"function search_prompt() {\n"
	"  var term = prompt('Search for (regular expression):', searching || '');\n"
	"  if (term) search(term);\n"
	"}\n"
	"function reset_search() {\n"
	"  var gs = frames.querySelectorAll('g[data-w]');\n"
	"  for (var i = 0; i < gs.length; i++) gs[i].children[1].setAttribute('fill', gs[i].getAttribute('data-f'));\n"
	"  searching = null; matchedtxt.textContent = ' '; searchbtn.textContent = 'Search';\n"
	"}\n"
	"function search(term) {\n"
	"  var re; try { re = new RegExp(term); } catch (e) { re = new RegExp(term.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&')); }\n"
	"  var gs = frames.querySelectorAll('g[data-w]'), hits = [];\n"
	"  reset_search();\n"
	"  for (var i = 0; i < gs.length; i++) {\n"
	"    var g = gs[i];\n"
	"    if (g.classList.contains('hide') || !re.test(fname(g))) continue;\n"
	"    g.children[1].setAttribute('fill', 'rgb(230,0,230)');\n"
	"    hits.push([attr(g, 'data-x'), attr(g, 'data-w'), attr(g, 'data-d')]);\n"
	"  }\n"
	"  /* A match inside another match (same x range, deeper) is counted once. */\n"
	"  hits.sort(function (a, b) { return a[0] - b[0] || a[2] - b[2]; });\n"
	"  var sum = 0, end = -1;\n"
	"  for (var k = 0; k < hits.length; k++) {\n"
	"    if (hits[k][0] >= end) { sum += hits[k][1]; end = hits[k][0] + hits[k][1]; }\n"
	"    else if (hits[k][0] + hits[k][1] > end) { sum += hits[k][0] + hits[k][1] - end; end = hits[k][0] + hits[k][1]; }\n"
	"  }\n"
	"  var base = TOTAL;\n"
	"  searching = term; searchbtn.textContent = 'Reset Search';\n"
	"  matchedtxt.textContent = 'Matched: ' + (100 * sum / base).toFixed(2) + '%';\n"
	"  return 100 * sum / base;\n"
	"}\n"
	"]]></script>\n";

struct svg_ctx {
	FILE *out;
	const struct merged *m;
	const struct tree *t;
	double scale; /* px per unit of weight */
	__u64 total;
	const char *unit;
	__u32 height;
};

/* Draw node id at depth d (the root is depth 0, drawn as "all") and its children. */
static void draw(struct svg_ctx *c, __u32 id, __u32 depth, __u64 x)
{
	const struct node *n = &c->t->n[id];
	const char *name = id ? c->m->names[n->name] : "all";
	double px = XPAD + x * c->scale, w = n->weight * c->scale;
	double y = c->height - YPAD_BOTTOM - (depth + 1.0) * FRAME_HEIGHT;
	int chars = (int)((w - 3) / (FONT_SIZE * FONT_WIDTH));
	char fill[32];

	if (w < MIN_WIDTH_PX)
		return;
	colour(name, id ? c->m->kinds[n->name] : FRAME_SPECIAL, fill, sizeof(fill));
	fprintf(c->out, "<g data-x=\"%llu\" data-w=\"%llu\" data-d=\"%u\" data-f=\"%s\"><title>",
		(unsigned long long)x, (unsigned long long)n->weight, depth, fill);
	xml_escape(c->out, name);
	fprintf(c->out,
		" (%llu %s, %.2f%%)</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\" rx=\"2\" ry=\"2\"/><text x=\"%.1f\" y=\"%.1f\">",
		(unsigned long long)n->weight, c->unit, c->total ? 100.0 * n->weight / c->total : 0,
		px, y, w, FRAME_HEIGHT - 1, fill, px + 3, y + FRAME_HEIGHT - 4.5);
	if (chars >= 3) {
		size_t len = strlen(name);

		if ((int)len <= chars) {
			xml_escape(c->out, name);
		} else {
			char *cut = strndup(name, chars - 2);

			if (cut) {
				xml_escape(c->out, cut);
				fputs("..", c->out);
				free(cut);
			}
		}
	}
	fputs("</text></g>\n", c->out);
	for (__u32 ch = n->first_child; ch; ch = c->t->n[ch].next_sibling) {
		draw(c, ch, depth + 1, x);
		x += c->t->n[ch].weight;
	}
}

int export_svg(const struct profile *p, FILE *out, const struct export_opts *o)
{
	const struct profile_meta *meta = profile__meta(p);
	const char *title = o && o->title ? o->title : meta->title ? meta->title : "Flame Graph";
	struct tree t = { 0 };
	struct svg_ctx c = { .out = out };
	struct merged m;
	int err = merged__build(&m, p, o);

	if (err)
		return err;
	err = build_tree(&t, &m);
	if (err)
		goto out;
	c.m = &m;
	c.t = &t;
	c.total = t.n[0].weight;
	c.unit = meta->weight_unit;
	c.scale = c.total ? (IMAGE_WIDTH - 2.0 * XPAD) / c.total : 0;
	c.height = YPAD_TOP + YPAD_BOTTOM + (t.max_depth + 1) * FRAME_HEIGHT;

	fprintf(out,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%u\" viewBox=\"0 0 %d %u\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n",
		IMAGE_WIDTH, c.height, IMAGE_WIDTH, c.height);
	fprintf(out,
		"<style type=\"text/css\">\n"
		"text { font-family: Verdana, sans-serif; font-size: %dpx; fill: rgb(0,0,0); }\n"
		"#title { font-size: 17px; text-anchor: middle; }\n"
		"#subtitle { text-anchor: middle; fill: rgb(100,100,100); }\n"
		"#search, #unzoom { cursor: pointer; fill: rgb(0,0,160); }\n"
		"#matched { text-anchor: end; }\n"
		"#frames g { cursor: pointer; }\n"
		"#frames g:hover rect { stroke: rgb(0,0,0); stroke-width: 0.5; }\n"
		".hide { display: none; }\n"
		".parent { opacity: 0.5; }\n"
		"</style>\n",
		FONT_SIZE);
	fprintf(out,
		"<script type=\"text/ecmascript\">var TOTAL = %llu, FULLW = %d, XPAD = %d, "
		"FONT_SIZE = %d, FONT_WIDTH = %.2f;</script>\n",
		(unsigned long long)(c.total ? c.total : 1), IMAGE_WIDTH - 2 * XPAD, XPAD,
		FONT_SIZE, FONT_WIDTH);
	fputs(script, out);
	fprintf(out,
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%u\" fill=\"rgb(248,248,248)\"/>\n",
		IMAGE_WIDTH, c.height);
	fprintf(out, "<text id=\"title\" x=\"%d\" y=\"24\">", IMAGE_WIDTH / 2);
	xml_escape(out, title);
	fprintf(out, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"42\">%llu %s", IMAGE_WIDTH / 2,
		(unsigned long long)c.total, c.unit);
	if (meta->duration_ns)
		fprintf(out, " over %.1f s", meta->duration_ns / 1e9);
	fputs(" &#8212; hover for details, click to zoom, Ctrl-F to search</text>\n", out);
	fprintf(out, "<text id=\"unzoom\" class=\"hide\" x=\"%d\" y=\"24\">Reset Zoom</text>\n",
		XPAD);
	fprintf(out, "<text id=\"search\" x=\"%d\" y=\"24\">Search</text>\n",
		IMAGE_WIDTH - XPAD - 100);
	fprintf(out, "<text id=\"matched\" x=\"%d\" y=\"%u\"> </text>\n", IMAGE_WIDTH - XPAD,
		c.height - 12);
	fprintf(out, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n", XPAD, c.height - 12);
	fputs("<g id=\"frames\">\n", out);
	if (c.total)
		draw(&c, 0, 0, 0);
	fputs("</g>\n</svg>\n", out);
	err = ferror(out) ? -EIO : 0;
out:
	free(t.n);
	merged__release(&m);
	return err;
}
