# Sources of the inference area.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/early_exit.cpp
  ${CMAKE_CURRENT_LIST_DIR}/evaluator.cpp
  ${CMAKE_CURRENT_LIST_DIR}/grad_cam.cpp
  ${CMAKE_CURRENT_LIST_DIR}/trace_builder.cpp
)
