# Sources of the train area.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/distributed.cpp
  ${CMAKE_CURRENT_LIST_DIR}/schedules.cpp
  ${CMAKE_CURRENT_LIST_DIR}/trainer.cpp
)
