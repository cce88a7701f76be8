# Sources of the analysis area.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/backdoor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/calibration.cpp
  ${CMAKE_CURRENT_LIST_DIR}/confusion.cpp
  ${CMAKE_CURRENT_LIST_DIR}/early_exit.cpp
  ${CMAKE_CURRENT_LIST_DIR}/exit_policy.cpp
  ${CMAKE_CURRENT_LIST_DIR}/exit_trace.cpp
  ${CMAKE_CURRENT_LIST_DIR}/npy.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ood.cpp
  ${CMAKE_CURRENT_LIST_DIR}/overthinking.cpp
)
