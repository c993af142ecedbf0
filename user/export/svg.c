// SPDX-License-Identifier: GPL-2.0
/*
 * SVG flame graph in the manner of Brendan Gregg's flamegraph.pl: one self-contained file (no external
 * fonts, scripts or links; it also renders without script, e.g. in an <img>). Root at the bottom,
 * children in name order, width proportional to weight; a frame narrower than 0.1% of the width is not
 * drawn (nor its children), its weight still part of its parent's width.
 *
 * Interaction (script inside the file): hover shows a frame's name, weight with its unit and share;
 * click zooms to a frame (its ancestors stay, dimmed, at full width; clicking one zooms out to it;
 * "Reset Zoom" or Escape returns); a search box (click it or press Ctrl-F, then type; a frame matches
 * when the term, as a regular expression, matches its name, or when the name contains the term as
 * typed, so "foo_[k]" finds itself; ?s=TERM in the URL searches at load) colours matching frames and
 * shows the matched share of the view, a match nested in another counted once.
 * Kernel, user, process and other (unknown, special) frames have palettes of their own; a frame's
 * colour is a hash of its name, so two runs look alike.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export/merge.h"
#include "model/hashmap.h"
#include "export/json.h"

#define IMAGE_WIDTH 1200
#define FRAME_HEIGHT 16
#define FONT_SIZE 12
#define FONT_WIDTH 0.59 /* average glyph width / font size, as flamegraph.pl assumes */
#define XPAD 10
#define YPAD_TOP 56 /* title, subtitle */
#define YPAD_BOTTOM 34 /* details line, matched share */
#define MIN_WIDTH_FRACTION 0.001 /* narrower frames are not drawn */
#define SEARCH_BOX_WIDTH 260

/*
 * XML text with at most max_chars characters (0: all); returns true when it stopped short. Markup
 * characters are escaped, characters XML 1.0 forbids even escaped (most C0 controls) become spaces
 * and bytes that are not UTF-8 become U+FFFD, so no symbol name can break the document.
 */
static bool xml_text(FILE *out, const char *s, size_t max_chars)
{
	size_t chars = 0;

	while (*s) {
		int n = json_utf8_len(s);

		if (max_chars && chars == max_chars)
			return true;
		chars++;
		if (n > 1) {
			/* U+FFFE and U+FFFF are not XML characters either (EF BF BE, EF BF BF). */
			if (n == 3 && (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbf &&
			    (unsigned char)s[2] >= 0xbe)
				fputs("\xef\xbf\xbd", out);
			else
				fwrite(s, 1, n, out);
			s += n;
			continue;
		}
		if (!n) {
			fputs("\xef\xbf\xbd", out);
			s++;
			continue;
		}
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
			fputc((unsigned char)*s < 0x20 ? ' ' : *s, out);
		}
		s++;
	}
	return false;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	while (*s) {
		int k = json_utf8_len(s);

		s += k ? k : 1;
		n++;
	}
	return n;
}

/* Deterministic colour from the name, in the palette of the frame's kind. */
static void colour(const char *name, __u8 kind, char *buf, size_t len)
{
	uint64_t h = hash_bytes(name, strlen(name), 7);
	double v1 = (h & 0xffff) / 65535.0, v2 = ((h >> 16) & 0xffff) / 65535.0,
	       v3 = ((h >> 32) & 0xffff) / 65535.0;
	int r, g, b;

	switch (kind) {
	case FRAME_KERNEL: /* orange, as flamegraph.pl's mixed-mode palettes draw the kernel */
		r = 230 + (int)(25 * v1);
		g = 130 + (int)(50 * v2);
		b = (int)(40 * v3);
		break;
	case FRAME_USER: /* warm reds; green stays well below the kernel's so the two never meet */
		r = 205 + (int)(50 * v3);
		g = (int)(90 * v1);
		b = (int)(55 * v2);
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

/* The script: plain ES5 in CDATA (it holds '<' and '&'); everything it needs is in the document. */
static const char script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"'use strict';\n"
	"var frames, details, matchedtxt, unzoombtn, sbox, sterm, sclear, UNIT;\n"
	"var zoomed = null, term = '', editing = false;\n"
	"function $(id) { return document.getElementById(id); }\n"
	"function num(g, a) { return +g.getAttribute(a); }\n"
	"function init() {\n"
	"  frames = $('frames'); details = $('details'); matchedtxt = $('matched');\n"
	"  unzoombtn = $('unzoom'); sbox = $('sbox'); sterm = $('sterm'); sclear = $('sclear');\n"
	"  UNIT = document.documentElement.getAttribute('data-unit');\n"
	"  frames.addEventListener('click', function (e) { var g = frame_of(e.target); if (g) zoom(g); });\n"
	"  frames.addEventListener('mouseover', function (e) {\n"
	"    var g = frame_of(e.target); if (g) details.textContent = 'Function: ' + g.firstElementChild.textContent; });\n"
	"  frames.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
	"  unzoombtn.addEventListener('click', unzoom);\n"
	"  sclear.addEventListener('click', function (e) { e.stopPropagation(); set_term(''); edit(false); });\n"
	"  document.documentElement.addEventListener('click', function (e) {\n"
	"    var t = e.target; while (t && t.id !== 'searchbox') t = t.parentNode; edit(!!t); });\n"
	"  window.addEventListener('keydown', key);\n"
	"  var s = new URLSearchParams(document.location.search).get('s');\n"
	"  if (s) set_term(s); else show_term();\n"
	"}\n"
	"window.addEventListener('load', init);\n"
	"function frame_of(el) {\n"
	"  while (el && el !== frames) { if (el.tagName === 'g' && el.hasAttribute('data-w')) return el; el = el.parentNode; }\n"
	"  return null;\n"
	"}\n"
	"/* The frame's name: its tooltip less the ' (weight unit, share%)' at the end. */\n"
	"function fname(g) { var t = g.firstElementChild.textContent; return t.substring(0, t.lastIndexOf(' (')); }\n"
	"function fit(g, x, w) {\n"
	"  var r = g.children[1], t = g.children[2], n = fname(g);\n"
	"  var chars = Math.floor((w - 6) / (FONT_SIZE * FONT_WIDTH));\n"
	"  r.setAttribute('x', x.toFixed(1)); r.setAttribute('width', Math.max(w, 0).toFixed(1));\n"
	"  t.setAttribute('x', (x + 3).toFixed(1));\n"
	"  t.textContent = chars < 3 ? '' : (n.length <= chars ? n : n.substring(0, chars - 2) + '..');\n"
	"}\n"
	"function zoom(z) {\n"
	"  var zx = num(z, 'data-x'), zw = num(z, 'data-w'), zd = num(z, 'data-d');\n"
	"  if (zd === 0) { unzoom(); return; }\n"
	"  var gs = frames.querySelectorAll('g[data-w]');\n"
	"  zoomed = z; unzoombtn.classList.remove('hide');\n"
	"  for (var i = 0; i < gs.length; i++) {\n"
	"    var g = gs[i], x = num(g, 'data-x'), w = num(g, 'data-w'), d = num(g, 'data-d');\n"
	"    g.classList.remove('hide'); g.classList.remove('parent');\n"
	"    if (d < zd) {\n"
	"      if (x <= zx && zx < x + w) { g.classList.add('parent'); fit(g, XPAD, FULLW); } else g.classList.add('hide');\n"
	"    } else if (x >= zx && x + w <= zx + zw) {\n"
	"      fit(g, XPAD + (x - zx) / zw * FULLW, w / zw * FULLW);\n"
	"    } else g.classList.add('hide');\n"
	"  }\n"
	"  search();\n"
	"}\n"
	"function unzoom() {\n"
	"  var gs = frames.querySelectorAll('g[data-w]');\n"
	"  zoomed = null; unzoombtn.classList.add('hide');\n"
	"  for (var i = 0; i < gs.length; i++) {\n"
	"    var g = gs[i];\n"
	"    g.classList.remove('hide'); g.classList.remove('parent');\n"
	"    fit(g, XPAD + num(g, 'data-x') / TOTAL * FULLW, num(g, 'data-w') / TOTAL * FULLW);\n"
	"  }\n"
	"  search();\n"
	"}\n"
	"function key(e) {\n"
	"  if (((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F')) || e.key === 'F3') {\n"
	"    e.preventDefault(); edit(true); return;\n"
	"  }\n"
	"  if (!editing) { if (e.key === 'Escape') { set_term(''); unzoom(); } return; }\n"
	"  if (e.ctrlKey || e.metaKey || e.altKey) return;\n"
	"  if (e.key === 'Enter') edit(false);\n"
	"  else if (e.key === 'Escape') { set_term(''); edit(false); }\n"
	"  else if (e.key === 'Backspace') set_term(term.slice(0, -1));\n"
	"  else if (e.key.length === 1) set_term(term + e.key);\n"
	"  else return;\n"
	"  e.preventDefault();\n"
	"}\n"
	"function edit(on) { editing = on; sbox.classList.toggle('editing', on); show_term(); }\n"
	"function show_term() {\n"
	"  var t = term.length > 36 ? '..' + term.slice(-34) : term;\n"
	"  sterm.textContent = t || editing ? t + (editing ? '|' : '') : 'Search (regex), Ctrl-F';\n"
	"  sterm.classList.toggle('placeholder', !t && !editing);\n"
	"  sclear.classList.toggle('hide', !term);\n"
	"}\n"
	"function set_term(t) { term = t; show_term(); search(); }\n"
	"/* Colours the frames whose name matches term; returns the matched share of the view (%). */\n"
	"function search() {\n"
	"  var gs = frames.querySelectorAll('g[data-w]'), hits = [], re = null;\n"
	"  if (term) { try { re = new RegExp(term); } catch (err) { re = null; } }\n"
	"  for (var i = 0; i < gs.length; i++) {\n"
	"    var g = gs[i], n = fname(g), hit = !!term && ((re && re.test(n)) || n.indexOf(term) >= 0);\n"
	"    g.children[1].setAttribute('fill', hit ? 'rgb(230,0,230)' : g.getAttribute('data-f'));\n"
	"    if (hit) hits.push([num(g, 'data-x'), num(g, 'data-w')]);\n"
	"  }\n"
	"  if (!term) { matchedtxt.textContent = ' '; return 0; }\n"
	"  /* The union of the matches' ranges, within the view: nested matches count once. */\n"
	"  var vx = zoomed ? num(zoomed, 'data-x') : 0, vw = zoomed ? num(zoomed, 'data-w') : TOTAL;\n"
	"  hits.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });\n"
	"  var sum = 0, end = vx;\n"
	"  for (var k = 0; k < hits.length; k++) {\n"
	"    var s = Math.max(hits[k][0], end), e = Math.min(hits[k][0] + hits[k][1], vx + vw);\n"
	"    if (e > s) { sum += e - s; end = e; }\n"
	"  }\n"
	"  var pct = vw ? 100 * sum / vw : 0;\n"
	"  matchedtxt.textContent = 'Matched: ' + pct.toFixed(2) + '% (' + sum + ' ' + UNIT +\n"
	"    (zoomed ? ' of the zoomed frame)' : ')');\n"
	"  return pct;\n"
	"}\n"
	"]]></script>\n";

/*
 * Layout works on the merged stacks directly, no tree: they are sorted by name sequence, so the stacks
 * under a frame at depth d form a contiguous range, and its children are the runs of equal names at
 * position d within that range (stacks that end at the frame come first: its self weight, left of
 * its children, as flamegraph.pl lays it out). With prefix sums of the weights, a range's weight is
 * one subtraction, and a run too narrow to draw is skipped whole, children and all.
 */
struct svg_ctx {
	FILE *out; /* NULL: measure only (max_depth) */
	const struct merged *m;
	__u64 *prefix; /* prefix[i]: weight of stacks [0, i) */
	double scale; /* px per unit of weight */
	__u64 total, min_weight;
	const char *unit;
	__u32 height, max_depth;
	/* differential mode (export_svg_diff): the base's weight by frame path, its total, and the
	 * largest change of share among the frames drawn (the colour scale) */
	const struct hashmap *base;
	__u64 base_total;
	double max_change;
};

#define ROOT_PATH 1 /* the path of "all" */

/* A frame's path: the hash of its parent's path and its name, so equal call paths of two profiles
 * meet whatever their name indices. */
static uint64_t path_hash(uint64_t parent, const char *name)
{
	return hash_bytes(name, strlen(name) + 1, parent ^ 0x9e3779b97f4a7c15ULL);
}

static __u64 base_weight(const struct svg_ctx *c, uint64_t path)
{
	uintptr_t v = 0;

	hashmap__get(c->base, (const void *)(uintptr_t)path, &v);
	return v;
}

/* The change of a frame's share of all weight, base to new, in [-1, 1]. */
static double share_change(const struct svg_ctx *c, __u64 weight, uint64_t path)
{
	double now = c->total ? (double)weight / c->total : 0;
	double before = c->base_total ? (double)base_weight(c, path) / c->base_total : 0;

	return now - before;
}

/* Red for a frame whose share grew, blue for one that shrank, deeper the larger the change against
 * the largest one drawn; near white when it did not move (under 1% of that scale). */
static void diff_colour(const struct svg_ctx *c, double change, char *buf, size_t len)
{
	double k = c->max_change > 0 ? fabs(change) / c->max_change : 0;
	int fade;

	if (k > 1)
		k = 1;
	if (k < 0.01) {
		snprintf(buf, len, "rgb(235,235,235)");
		return;
	}
	fade = 60 + (int)lround(160 * (1 - k));
	if (change > 0)
		snprintf(buf, len, "rgb(255,%d,%d)", fade, fade);
	else
		snprintf(buf, len, "rgb(%d,%d,255)", fade, fade);
}

static void frame(const struct svg_ctx *c, const char *name, __u8 kind, __u32 depth, __u64 x,
		  __u64 weight, uint64_t path)
{
	double px = XPAD + x * c->scale, w = weight * c->scale;
	double y = c->height - YPAD_BOTTOM - (depth + 1.0) * FRAME_HEIGHT;
	int chars = (int)((w - 6) / (FONT_SIZE * FONT_WIDTH));
	double change = c->base ? share_change(c, weight, path) : 0;
	char fill[32];

	if (c->base)
		diff_colour(c, change, fill, sizeof(fill));
	else
		colour(name, kind, fill, sizeof(fill));
	fprintf(c->out, "<g data-x=\"%llu\" data-w=\"%llu\" data-d=\"%u\" data-f=\"%s\"",
		(unsigned long long)x, (unsigned long long)weight, depth, fill);
	if (c->base)
		fprintf(c->out, " data-c=\"%.4f\"", 100 * change);
	fputs("><title>", c->out);
	xml_text(c->out, name, 0);
	fprintf(c->out, " (%llu ", (unsigned long long)weight);
	xml_text(c->out, c->unit, 0);
	fprintf(c->out, ", %.2f%%", c->total ? 100.0 * weight / c->total : 0.0);
	if (c->base)
		fprintf(c->out, "; base %llu, %.2f%%; %+.2f points",
			(unsigned long long)base_weight(c, path),
			c->base_total ? 100.0 * base_weight(c, path) / c->base_total : 0.0,
			100 * change);
	fprintf(c->out,
		")</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
		"fill=\"%s\" rx=\"2\" ry=\"2\"/><text x=\"%.1f\" y=\"%.1f\">",
		px, y, w, FRAME_HEIGHT - 1, fill, px + 3, y + FRAME_HEIGHT - 4.5);
	/* The label: the name, cut with ".." to what fits; nothing under 3 characters. */
	if (chars >= 3) {
		if (utf8_chars(name) <= (size_t)chars) {
			xml_text(c->out, name, 0);
		} else {
			xml_text(c->out, name, chars - 2);
			fputs("..", c->out);
		}
	}
	fputs("</text></g>\n", c->out);
}

/*
 * The frame at depth (0: the root, "all") over stacks [lo, hi), starting at weight offset x, then its
 * children: the frame at depth d >= 1 is names[d - 1] of its stacks, its children group on names[d].
 */
static void draw(struct svg_ctx *c, size_t lo, size_t hi, __u32 depth, __u64 x, uint64_t path)
{
	const struct merged *m = c->m;
	__u64 weight = c->prefix[hi] - c->prefix[lo];
	size_t i = lo;

	if (depth > c->max_depth)
		c->max_depth = depth;
	if (c->out) {
		__u32 name = depth ? m->stacks[lo].names[depth - 1] : 0;

		frame(c, depth ? m->names[name] : "all", depth ? m->kinds[name] : FRAME_SPECIAL,
		      depth, x, weight, path);
	} else if (c->base) {
		double change = fabs(share_change(c, weight, path));

		if (change > c->max_change)
			c->max_change = change;
	}
	while (i < hi && m->stacks[i].n <= depth)
		i++;
	x += c->prefix[i] - c->prefix[lo];
	while (i < hi) {
		__u32 name = m->stacks[i].names[depth];
		size_t j = i + 1;
		__u64 w;

		while (j < hi && m->stacks[j].names[depth] == name)
			j++;
		w = c->prefix[j] - c->prefix[i];
		if (w >= c->min_weight)
			draw(c, i, j, depth + 1, x, path_hash(path, m->names[name]));
		x += w;
		i = j;
	}
}

static void header(const struct svg_ctx *c, const char *title, const struct profile_meta *meta,
		   const struct profile_meta *base_meta)
{
	FILE *out = c->out;

	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%u\" viewBox=\"0 0 %d %u\" "
		"xmlns=\"http://www.w3.org/2000/svg\" data-unit=\"",
		IMAGE_WIDTH, c->height, IMAGE_WIDTH, c->height);
	xml_text(out, c->unit, 0);
	fputs("\">\n", out);
	fprintf(out,
		"<style type=\"text/css\">\n"
		"text { font-family: Verdana, sans-serif; font-size: %dpx; fill: rgb(0,0,0); }\n"
		"#title { font-size: 17px; text-anchor: middle; }\n"
		"#subtitle { text-anchor: middle; fill: rgb(100,100,100); }\n"
		"#unzoom, #sclear { cursor: pointer; fill: rgb(0,0,160); }\n"
		"#searchbox { cursor: text; }\n"
		"#sbox { fill: rgb(255,255,255); stroke: rgb(160,160,160); }\n"
		"#sbox.editing { stroke: rgb(0,0,160); stroke-width: 1.5; }\n"
		"#sterm.placeholder { fill: rgb(150,150,150); }\n"
		"#matched { text-anchor: end; }\n"
		"#frames g { cursor: pointer; }\n"
		"#frames g:hover rect { stroke: rgb(0,0,0); stroke-width: 0.5; }\n"
		"#frames text { pointer-events: none; }\n"
		".hide { display: none; }\n"
		".parent { opacity: 0.5; }\n"
		"</style>\n",
		FONT_SIZE);
	fprintf(out,
		"<script type=\"text/ecmascript\">var TOTAL = %llu, FULLW = %d, XPAD = %d, "
		"FONT_SIZE = %d, FONT_WIDTH = %.2f;</script>\n",
		(unsigned long long)(c->total ? c->total : 1), IMAGE_WIDTH - 2 * XPAD, XPAD,
		FONT_SIZE, FONT_WIDTH);
	fputs(script, out);
	fprintf(out,
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%u\" fill=\"rgb(248,248,248)\"/>\n",
		IMAGE_WIDTH, c->height);
	fprintf(out, "<text id=\"title\" x=\"%d\" y=\"24\">", IMAGE_WIDTH / 2);
	xml_text(out, title, 0);
	fprintf(out, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"44\">%s%llu ", IMAGE_WIDTH / 2,
		base_meta ? "new " : "", (unsigned long long)c->total);
	xml_text(out, c->unit, 0);
	if (meta->duration_ns)
		fprintf(out, " in %.2f s", meta->duration_ns / 1e9);
	if (base_meta) {
		fprintf(out, " vs base %llu ", (unsigned long long)c->base_total);
		xml_text(out, c->unit, 0);
		if (base_meta->duration_ns)
			fprintf(out, " in %.2f s", base_meta->duration_ns / 1e9);
		fputs(" &#8212; widths: new; red: share grew, blue: shrank", out);
	}
	fputs(" &#8212; hover for details, click to zoom</text>\n", out);
	fprintf(out, "<text id=\"unzoom\" class=\"hide\" x=\"%d\" y=\"24\">Reset Zoom</text>\n",
		XPAD);
	fprintf(out,
		"<g id=\"searchbox\"><rect id=\"sbox\" x=\"%d\" y=\"8\" width=\"%d\" height=\"22\" "
		"rx=\"3\" ry=\"3\"/><text id=\"sterm\" class=\"placeholder\" x=\"%d\" y=\"23\">"
		"Search (regex), Ctrl-F</text></g>\n",
		IMAGE_WIDTH - XPAD - SEARCH_BOX_WIDTH, SEARCH_BOX_WIDTH,
		IMAGE_WIDTH - XPAD - SEARCH_BOX_WIDTH + 6);
	fprintf(out, "<text id=\"sclear\" class=\"hide\" x=\"%d\" y=\"23\">Clear</text>\n",
		IMAGE_WIDTH - XPAD - SEARCH_BOX_WIDTH - 40);
	fprintf(out, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n", XPAD, c->height - 12);
	fprintf(out, "<text id=\"matched\" x=\"%d\" y=\"%u\"> </text>\n", IMAGE_WIDTH - XPAD,
		c->height - 12);
}

/* Base weights by frame path (the root's under ROOT_PATH), into a new map (*out). */
static int base_paths(const struct profile *base, const struct export_opts *o, struct hashmap **out,
		      __u64 *total)
{
	struct hashmap *h = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	struct merged m;
	int err;

	if (!h)
		return -ENOMEM;
	err = merged__build(&m, base, o);
	if (err) {
		hashmap__free(h);
		return err;
	}
	*total = 0;
	for (size_t i = 0; i < m.nr_stacks && !err; i++) {
		const struct merged_stack *st = &m.stacks[i];
		uint64_t path = ROOT_PATH;

		*total += st->weight;
		for (__u32 d = 0; d <= st->n && !err; d++) {
			uintptr_t v = 0;

			if (d)
				path = path_hash(path, m.names[st->names[d - 1]]);
			hashmap__get(h, (const void *)(uintptr_t)path, &v);
			err = hashmap__set(h, (const void *)(uintptr_t)path, v + st->weight);
		}
	}
	merged__release(&m);
	if (err) {
		hashmap__free(h);
		return err;
	}
	*out = h;
	return 0;
}

/* The flame graph of p; with base, coloured by the change of each frame's share since base. */
static int svg_write(const struct profile *p, const struct profile *base, FILE *out,
		     const struct export_opts *o)
{
	const struct profile_meta *meta = profile__meta(p);
	const char *title = o && o->title ? o->title : meta->title ? meta->title : "vigil";
	struct hashmap *paths = NULL;
	struct svg_ctx c = { 0 };
	struct merged m;
	int err;

	if (base) {
		err = base_paths(base, o, &paths, &c.base_total);
		if (err)
			return err;
		c.base = paths;
	}
	err = merged__build(&m, p, o);
	if (err) {
		hashmap__free(paths);
		return err;
	}
	c.prefix = malloc((m.nr_stacks + 1) * sizeof(*c.prefix));
	if (!c.prefix) {
		err = -ENOMEM;
		goto out;
	}
	c.prefix[0] = 0;
	for (size_t i = 0; i < m.nr_stacks; i++)
		c.prefix[i + 1] = c.prefix[i] + m.stacks[i].weight;
	c.m = &m;
	c.total = c.prefix[m.nr_stacks];
	c.unit = meta->weight_unit ? meta->weight_unit : "samples";
	c.scale = c.total ? (IMAGE_WIDTH - 2.0 * XPAD) / c.total : 0;
	/* The smallest weight drawn: 0.1% of the total, rounded up, at least 1. */
	c.min_weight = (__u64)((double)c.total * MIN_WIDTH_FRACTION);
	if ((double)c.min_weight < (double)c.total * MIN_WIDTH_FRACTION || !c.min_weight)
		c.min_weight++;
	/* A first pass measures the height: the deepest frame that is drawn, not the deepest stack. */
	if (c.total)
		draw(&c, 0, m.nr_stacks, 0, 0, ROOT_PATH);
	c.height = YPAD_TOP + YPAD_BOTTOM + (c.max_depth + 1) * FRAME_HEIGHT;
	c.out = out;

	header(&c, title, meta, base ? profile__meta(base) : NULL);
	fputs("<g id=\"frames\">\n", out);
	if (c.total) {
		draw(&c, 0, m.nr_stacks, 0, 0, ROOT_PATH);
	} else {
		fprintf(out, "<text x=\"%d\" y=\"%u\">(no ", XPAD, c.height - YPAD_BOTTOM - 4);
		xml_text(out, c.unit, 0);
		fputs(")</text>\n", out);
	}
	fputs("</g>\n</svg>\n", out);
	err = ferror(out) ? -EIO : 0;
out:
	free(c.prefix);
	merged__release(&m);
	hashmap__free(paths);
	return err;
}

int export_svg(const struct profile *p, FILE *out, const struct export_opts *o)
{
	return svg_write(p, NULL, out, o);
}

int export_svg_diff(const struct profile *base, const struct profile *p, FILE *out,
		    const struct export_opts *o)
{
	return svg_write(p, base, out, o);
}
