# Sources of the app area: what the `sdn` command does beyond the runtime.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/config_file.cpp
  ${CMAKE_CURRENT_LIST_DIR}/explain.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image_grids.cpp
  ${CMAKE_CURRENT_LIST_DIR}/launcher.cpp
  ${CMAKE_CURRENT_LIST_DIR}/serve_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/serve_bench_output.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train_console.cpp
)
