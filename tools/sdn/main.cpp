// The `sdn` command: wires the subcommands, catches every error and turns it
// into one `error: ...` line and a non-zero exit.
#include "commands.h"
#include "sdn/app/config_file.h"

#include "sdn/util/error.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

// c10::Error::what() carries a C++ backtrace; users need only the message.
std::string torch_message(const c10::Error& e) {
  return e.what_without_backtrace();
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "sdn: Shallow-Deep Networks (Kaya et al., ICML 2019) in C++.\n"
      "Train CNNs and SDNs, attach internal classifiers, measure and exploit "
      "early exits, analyse overthinking.",
      "sdn"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", "sdn 0.1.0");
  app.add_option(
         "--threads",
         sdn::cli::global_options().threads,
         "Intra-op threads (default: one per core); the BLAS runs one "
         "thread unless OPENBLAS_NUM_THREADS is set")
      ->check(CLI::NonNegativeNumber);
  sdn::cli::register_commands(app);
  try {
    // Subcommands' --config files (CLI11 reads only the main app's); then
    // CLI11's vector parse, which takes the arguments in reverse order.
    auto args = sdn::app::expand_config_files(
        app, std::vector<std::string>(argv + 1, argv + argc));
    std::reverse(args.begin(), args.end());
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(
        stderr, "error: %s\nRun with --help for more information.\n", e.what());
    return e.get_exit_code() == 0 ? 2 : e.get_exit_code();
  } catch (const sdn::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "error: %s\n", torch_message(e).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
