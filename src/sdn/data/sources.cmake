# Sources of the data area.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/dataset_info.cpp
)
