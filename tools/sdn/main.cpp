// The `sdn` command (everything is in tools/sdn/commands.cpp and the cmd_*
// files, so that tests can parse command lines in process).
#include "commands.h"

int main(int argc, char** argv) {
  return sdn::cli::run_command_line(argc, argv);
}
