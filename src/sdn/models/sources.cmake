# Sources of the models area.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/backbone.cpp
  ${CMAKE_CURRENT_LIST_DIR}/block.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cost.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vgg.cpp
  ${CMAKE_CURRENT_LIST_DIR}/resnet.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wide_resnet.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mobilenet.cpp
  ${CMAKE_CURRENT_LIST_DIR}/registry.cpp
)
