// SPDX-License-Identifier: GPL-2.0
/*
 * cxxalloc: C++ allocations through operator new. vigil_demo::make_widgets() keeps 200 Widgets of
 * 512 B (new) and 100 arrays of 256 ints (new[], 1024 B each); drop_widgets() makes and deletes
 * 300 more. In use at exit: 200 x 512 + 100 x 1024 = 204800 B, all in make_widgets.
 */
#include <cstdio>
#include <cstdlib>

namespace vigil_demo {

struct Widget {
	char payload[512];
};

Widget *volatile widget_sink;
int *volatile array_sink;
static Widget *widgets[200];
static int *arrays[100];

__attribute__((noinline)) void make_widgets()
{
	for (int i = 0; i < 200; i++) {
		widgets[i] = new Widget();
		widget_sink = widgets[i];
	}
	for (int i = 0; i < 100; i++) {
		arrays[i] = new int[256];
		array_sink = arrays[i];
	}
}

__attribute__((noinline)) void drop_widgets()
{
	for (int i = 0; i < 300; i++) {
		Widget *w = new Widget();

		widget_sink = w;
		delete w;
	}
}

} // namespace vigil_demo

int main()
{
	vigil_demo::make_widgets();
	vigil_demo::drop_widgets();
	return 0;
}
