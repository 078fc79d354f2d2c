// vdlab: the command-line entry point. Everything lives in runners/cli.cpp so tests can call it.
#include "runners/cli.h"

int main(int argc, char** argv) { return vdlab::cli_main(argc, argv); }
