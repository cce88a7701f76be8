# Sources of the checkpoint area: training configs and checkpoint files.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint.cpp
  ${CMAKE_CURRENT_LIST_DIR}/config.cpp
  ${CMAKE_CURRENT_LIST_DIR}/export.cpp
  ${CMAKE_CURRENT_LIST_DIR}/import.cpp
  ${CMAKE_CURRENT_LIST_DIR}/run_dir.cpp
  ${CMAKE_CURRENT_LIST_DIR}/state_dict.cpp
)
