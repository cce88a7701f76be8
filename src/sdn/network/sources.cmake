# Sources of the network area.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/inference_copy.cpp
  ${CMAKE_CURRENT_LIST_DIR}/memory_format.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sdn_network.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network_info.cpp
)
