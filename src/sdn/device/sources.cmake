# Sources of the device area: where and how LibTorch computes.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/device.cpp
  ${CMAKE_CURRENT_LIST_DIR}/threads.cpp
)
