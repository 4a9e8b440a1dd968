// attnflow_render_tool: the renderer without the simulator, `attnflow_render_tool ARGS` ==
// `attnflow render ARGS`. Used when the viz directory is configured on its own.
#include <string>
#include <vector>

#include "viz/render.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return attnflow::viz::render_main(args);
}
